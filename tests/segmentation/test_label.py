import importlib

import numpy as np
import pytest
import skimage.measure as skm
import skimage.morphology as skmo
import torch

from pixlearn.data import sample
from pixlearn.segmentation import label, remove_small_objects, threshold_otsu


def _sk_label(x, connectivity, background=0):
    return skm.label(x.numpy(), connectivity=connectivity, background=background)


@pytest.fixture(scope="module")
def coins_mask():
    img = sample("coins", dtype=torch.float64)
    img = img if img.dim() == 2 else img[0]
    return img > threshold_otsu(img)


@pytest.mark.parametrize("connectivity", [1, 2])
@pytest.mark.parametrize("density", [0.1, 0.4, 0.5, 0.6, 0.9])
def test_equals_skimage_on_random_masks(connectivity, density):
    g = torch.Generator().manual_seed(int(density * 100) + connectivity)
    for shape in [(64, 48), (1, 30), (30, 1), (7, 9)]:
        m = torch.rand(shape, generator=g) < density
        ours, num = label(m, connectivity=connectivity, return_num=True)
        ref, ref_num = skm.label(m.numpy(), connectivity=connectivity, return_num=True)
        assert ours.dtype == torch.int64
        np.testing.assert_array_equal(ours.numpy(), ref)
        assert num == ref_num and isinstance(num, int)


@pytest.mark.parametrize("connectivity", [1, 2])
def test_equals_skimage_on_thresholded_coins(coins_mask, connectivity):
    for m in (coins_mask, ~coins_mask):
        np.testing.assert_array_equal(
            label(m, connectivity=connectivity).numpy(), _sk_label(m, connectivity)
        )


@pytest.mark.parametrize("connectivity", [1, 2])
@pytest.mark.parametrize("background", [0, 2, -1])
@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8])
def test_equals_skimage_on_integer_images(connectivity, background, dtype):
    g = torch.Generator().manual_seed(7)
    x = torch.randint(0, 4, (40, 33), generator=g).to(dtype)
    np.testing.assert_array_equal(
        label(x, connectivity=connectivity, background=background).numpy(),
        _sk_label(x, connectivity, background),
    )


def test_checkerboard_counts():
    yy, xx = torch.meshgrid(torch.arange(12), torch.arange(12), indexing="ij")
    board = ((yy // 2 + xx // 2) % 2).to(torch.int64)  # 6x6 squares of side 2, values 0 / 1
    # 4-connectivity: every square is its own component (background=-1 keeps both colours)
    assert label(board, connectivity=1, background=-1, return_num=True)[1] == 36
    # 8-connectivity: squares of one colour touch at corners, one component per colour
    assert label(board, connectivity=2, background=-1, return_num=True)[1] == 2
    assert label(board.bool(), connectivity=2, return_num=True)[1] == 1


def test_ring_is_one_component_and_hole_is_not_part_of_it():
    yy, xx = torch.meshgrid(torch.arange(21), torch.arange(21), indexing="ij")
    r2 = (yy - 10) ** 2 + (xx - 10) ** 2
    ring = (r2 <= 81) & (r2 >= 36)
    for c in (1, 2):
        lab, n = label(ring, connectivity=c, return_num=True)
        assert n == 1 and bool((lab > 0).eq(ring).all())
    # the complement: the outside and the hole are separate components
    assert label(~ring, connectivity=1, return_num=True)[1] == 2


def test_idempotent_up_to_numbering_and_partition_preserved():
    g = torch.Generator().manual_seed(3)
    m = torch.rand(50, 50, generator=g) < 0.55
    for c in (1, 2):
        lab = label(m, connectivity=c)
        assert torch.equal(label(lab, connectivity=c), lab)  # raster numbering is canonical
        perm = torch.cat(
            [torch.zeros(1, dtype=torch.int64), torch.randperm(int(lab.max()), generator=g) + 1]
        )
        assert torch.equal(label(perm[lab], connectivity=c), lab)


def test_batched_equals_per_item_empty_and_layout():
    g = torch.Generator().manual_seed(4)
    m = torch.rand(2, 3, 25, 31, generator=g) < 0.5
    lab, num = label(m, connectivity=2, return_num=True)
    assert lab.shape == m.shape and num.shape == (2, 3) and num.dtype == torch.int64
    for i in range(2):
        for j in range(3):
            single, n = label(m[i, j], connectivity=2, return_num=True)
            assert torch.equal(lab[i, j], single) and num[i, j].item() == n
    assert label(torch.zeros(0, 5, 5, dtype=torch.bool)).shape == (0, 5, 5)
    assert label(torch.zeros(3, 0, dtype=torch.bool), return_num=True)[1] == 0
    assert label(torch.zeros(4, 4, dtype=torch.bool), return_num=True)[1] == 0
    mt = m[0, 0].t()  # non-contiguous
    assert torch.equal(label(mt), label(mt.contiguous()))
    before = m.clone()
    label(m)
    assert torch.equal(m, before)


@pytest.mark.parametrize("connectivity", [1, 2])
@pytest.mark.parametrize("min_size", [0, 1, 3, 10])
def test_remove_small_objects_equals_skimage_on_masks(connectivity, min_size):
    g = torch.Generator().manual_seed(min_size)
    m = torch.rand(2, 40, 45, generator=g) < 0.45
    out = remove_small_objects(m, min_size, connectivity=connectivity)
    assert out.dtype == torch.bool and out.shape == m.shape
    for i in range(2):
        # skimage >= 0.26: objects of size <= max_size go, i.e. < min_size for integer sizes
        # (its deprecated min_size= keyword is mapped onto max_size and removes size == min_size)
        ref = skmo.remove_small_objects(
            m[i].numpy(), max_size=min_size - 1, connectivity=connectivity
        )
        np.testing.assert_array_equal(out[i].numpy(), ref)


def test_remove_small_objects_on_label_images_equals_skimage():
    g = torch.Generator().manual_seed(9)
    lab = torch.randint(0, 30, (30, 30), generator=g)
    out = remove_small_objects(lab, 35)
    ref = skmo.remove_small_objects(lab.numpy(), max_size=34)
    assert out.dtype == lab.dtype
    np.testing.assert_array_equal(out.numpy(), ref)
    # labels of exactly 35 pixels are kept, fewer are removed: the case has all three
    sizes = torch.bincount(lab.reshape(-1))
    assert bool((sizes == 35).any()) and bool((sizes < 35).any()) and bool((sizes > 35).any())


def test_remove_small_objects_on_coins(coins_mask):
    out = remove_small_objects(coins_mask, 50, connectivity=2)
    sizes = torch.bincount(label(out, connectivity=2).reshape(-1))[1:]
    assert bool((sizes >= 50).all()) and bool(out.le(coins_mask).all())


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: label(torch.zeros(5, dtype=torch.bool)), ValueError, "image"),
        (lambda: label(torch.rand(4, 4)), TypeError, "image"),
        (lambda: label(torch.tensor([[0.0, float("nan")]])), TypeError, "image"),
        (
            lambda: label(torch.ones(3, 3, dtype=torch.bool), connectivity=3),
            ValueError,
            "connectivity",
        ),
        (
            lambda: label(torch.ones(3, 3, dtype=torch.bool), connectivity=0),
            ValueError,
            "connectivity",
        ),
        (
            lambda: label(torch.ones(3, 3, dtype=torch.bool), background=0.5),
            TypeError,
            "background",
        ),
        (lambda: label([[1, 0]]), TypeError, "image"),
        (
            lambda: remove_small_objects(torch.ones(3, 3, dtype=torch.bool), -1),
            ValueError,
            "min_size",
        ),
        (lambda: remove_small_objects(torch.rand(3, 3), 2), TypeError, "image"),
        (lambda: remove_small_objects(torch.tensor([[1, -2]]), 2), ValueError, "image"),
        (
            lambda: remove_small_objects(torch.ones(3, 3, dtype=torch.bool), 2, connectivity=4),
            ValueError,
            "connectivity",
        ),
    ],
)
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def _label_module():
    # the package re-exports the function ``label``, which hides the module of the same name
    return importlib.import_module("pixlearn.segmentation.label")


@pytest.mark.parametrize("connectivity", [1, 2])
def test_torch_path_for_other_devices_equals_skimage(connectivity):
    # CPU tensors take the NumPy path; other devices the torch one, checked here on the CPU
    g = torch.Generator().manual_seed(11)
    torch_label = _label_module()._label_torch
    for x, bg in [
        (torch.rand(3, 33, 29, generator=g) < 0.5, 0),
        (torch.randint(0, 4, (2, 26, 31), generator=g), 2),
    ]:
        out, counts = torch_label(x, connectivity, bg)
        for i in range(x.shape[0]):
            ref, n = skm.label(
                x[i].numpy(), connectivity=connectivity, background=bg, return_num=True
            )
            np.testing.assert_array_equal(out[i].numpy(), ref)
            assert counts[i].item() == n


@pytest.mark.parametrize("connectivity", [1, 2])
def test_thin_batched_images_and_long_chains(connectivity):
    g = torch.Generator().manual_seed(12)
    for shape in [(3, 1, 9), (3, 9, 1), (2, 1, 1), (4, 2, 2)]:
        m = torch.rand(shape, generator=g) < 0.5
        out = label(m, connectivity=connectivity)
        for i in range(shape[0]):
            np.testing.assert_array_equal(out[i].numpy(), _sk_label(m[i], connectivity))
    # a spiral and a zig-zag: one component whose runs chain over many rows and merges
    spiral = torch.zeros(41, 41, dtype=torch.bool)
    for k in range(0, 20, 2):
        spiral[k, k : 41 - k] = spiral[k : 41 - k, 40 - k] = spiral[40 - k, k + 2 : 41 - k] = True
        spiral[k + 2 : 41 - k, k] = True
    zigzag = torch.zeros(30, 30, dtype=torch.bool)
    zigzag[torch.arange(30), torch.arange(30) % 6 * 5 // 5] = True  # diagonal steps only
    for m in (spiral, ~spiral, zigzag, torch.eye(30, dtype=torch.bool).flip(1)):
        np.testing.assert_array_equal(
            label(m, connectivity=connectivity).numpy(), _sk_label(m, connectivity)
        )


@pytest.mark.parametrize("connectivity", [1, 2])
@pytest.mark.parametrize("background", [1, -1, 2])
def test_bool_masks_with_another_background(connectivity, background):
    # a bool mask is labelled as the integer image 0 / 1 (scikit-image instead takes
    # bool(background), so it agrees only for background 0 and 1)
    g = torch.Generator().manual_seed(13)
    m = torch.rand(2, 23, 19, generator=g) < 0.5
    out = label(m, connectivity=connectivity, background=background)
    assert torch.equal(out, label(m.long(), connectivity=connectivity, background=background))
    if background == 1:
        for i in range(2):
            np.testing.assert_array_equal(out[i].numpy(), _sk_label(m[i], connectivity, 1))
    else:  # True and False regions are all objects: every pixel is labelled
        assert bool((out > 0).all())
