import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.data
import skimage.morphology as skm
import skimage.segmentation as sks
import torch

from pixlearn.morphology import clear_border, fill_holes, reconstruction

CROSS = torch.tensor([[0, 1, 0], [1, 1, 1], [0, 1, 0]], dtype=torch.bool)


@pytest.fixture(scope="module")
def camera():
    return skimage.data.camera()[::4, ::4].copy()  # (128, 128) uint8


def _sk(seed, mask, method, footprint=None):
    fp = None if footprint is None else footprint.numpy()
    return skm.reconstruction(seed, mask, method=method, footprint=fp)


@pytest.mark.parametrize("footprint", [None, CROSS])
@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.float32, np.float64])
def test_dilation_equals_skimage_on_camera(camera, dtype, footprint):
    mask = camera.astype(dtype)
    seed = np.clip(camera.astype(np.int32) - 60, 0, None).astype(dtype)
    out = reconstruction(torch.from_numpy(seed), torch.from_numpy(mask), footprint=footprint)
    assert out.dtype == torch.from_numpy(mask).dtype
    np.testing.assert_array_equal(out.numpy(), _sk(seed, mask, "dilation", footprint))


@pytest.mark.parametrize("footprint", [None, CROSS])
@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_erosion_equals_skimage_on_camera(camera, dtype, footprint):
    mask = camera.astype(dtype)
    seed = np.clip(camera.astype(np.int32) + 60, None, 255).astype(dtype)
    out = reconstruction(
        torch.from_numpy(seed), torch.from_numpy(mask), "erosion", footprint=footprint
    )
    np.testing.assert_array_equal(out.numpy(), _sk(seed, mask, "erosion", footprint))


@pytest.mark.parametrize("seed_id", range(4))
def test_random_inputs_equal_skimage(seed_id):
    rng = np.random.default_rng(seed_id)
    h, w = rng.integers(1, 40, size=2)
    mask = rng.random((h, w)).astype(np.float32)
    seed = mask * (rng.random((h, w)) < 0.05)  # a few markers
    out = reconstruction(torch.from_numpy(seed), torch.from_numpy(mask))
    np.testing.assert_array_equal(out.numpy(), _sk(seed, mask, "dilation"))
    seed_e = np.maximum(mask, rng.random((h, w)).astype(np.float32))
    out = reconstruction(torch.from_numpy(seed_e), torch.from_numpy(mask), "erosion")
    np.testing.assert_array_equal(out.numpy(), _sk(seed_e, mask, "erosion"))


def test_spiral_path_needs_many_passes():
    # a one-pixel corridor that winds back and forth: the value must travel along it all
    mask = np.zeros((21, 21), np.uint8)
    for r in range(1, 20, 2):
        mask[r, 1:20] = 9
        mask[r + 1 if r + 1 < 20 else r, 19 if r % 4 == 1 else 1] = 9
    seed = np.zeros_like(mask)
    seed[1, 1] = 5
    out = reconstruction(torch.from_numpy(seed), torch.from_numpy(mask), footprint=CROSS)
    np.testing.assert_array_equal(out.numpy(), _sk(seed, mask, "dilation", CROSS))
    assert out.max() == 5 and int((out == 5).sum()) > 150


def test_idempotent_and_increasing():
    g = torch.Generator().manual_seed(0)
    mask = torch.rand(3, 30, 30, generator=g)
    f1 = mask * (torch.rand(3, 30, 30, generator=g) < 0.1)
    f2 = torch.minimum(mask, f1 + 0.2 * torch.rand(3, 30, 30, generator=g))  # f1 <= f2
    r1 = reconstruction(f1, mask)
    assert torch.equal(reconstruction(r1, mask), r1)
    assert bool((reconstruction(f2, mask) >= r1).all())
    assert bool((r1 <= mask).all()) and bool((r1 >= f1).all())


def test_batched_equals_per_item_and_does_not_modify_input():
    g = torch.Generator().manual_seed(1)
    mask = torch.rand(2, 3, 17, 19, generator=g)
    seed = mask * (torch.rand(2, 3, 17, 19, generator=g) < 0.1)
    copy = seed.clone()
    out = reconstruction(seed, mask)
    assert out.shape == mask.shape
    assert torch.equal(out[1, 2], reconstruction(seed[1, 2], mask[1, 2]))
    assert torch.equal(seed, copy)
    empty = reconstruction(seed[:0], mask[:0])
    assert empty.shape == (0, 3, 17, 19)


def test_non_contiguous_input():
    g = torch.Generator().manual_seed(2)
    mask = torch.rand(20, 15, generator=g).t()
    seed = mask * (torch.rand(15, 20, generator=g) < 0.1)
    assert torch.equal(
        reconstruction(seed, mask), reconstruction(seed.contiguous(), mask.contiguous())
    )


def test_errors():
    m = torch.rand(5, 5)
    with pytest.raises(ValueError, match="seed"):
        reconstruction(m + 0.1, m)
    with pytest.raises(ValueError, match="seed"):
        reconstruction(m - 0.1, m, "erosion")
    with pytest.raises(ValueError, match=r"seed.*mask"):
        reconstruction(m, torch.rand(5, 6))
    nan = m.clone()
    nan[1, 1] = float("nan")
    with pytest.raises(ValueError, match="mask"):
        reconstruction(m * 0, nan)
    with pytest.raises(ValueError, match="seed"):
        reconstruction(torch.zeros(0, 5), torch.zeros(0, 5))
    with pytest.raises(ValueError, match="method"):
        reconstruction(m, m, "opening")
    with pytest.raises(ValueError, match="footprint"):
        reconstruction(m, m, footprint=torch.ones(5, 5))
    with pytest.raises(TypeError, match="seed"):
        reconstruction(m.numpy(), m)


@pytest.mark.parametrize("seed_id", range(4))
def test_fill_holes_equals_scipy(seed_id):
    rng = np.random.default_rng(seed_id)
    b = rng.random((2, 40, 33)) < 0.55
    out = fill_holes(torch.from_numpy(b))
    assert out.dtype == torch.bool
    for i in range(2):
        np.testing.assert_array_equal(out[i].numpy(), ndi.binary_fill_holes(b[i]))
    s8 = np.ones((3, 3), bool)
    np.testing.assert_array_equal(
        fill_holes(torch.from_numpy(b[0]), connectivity=2).numpy(),
        ndi.binary_fill_holes(b[0], structure=s8),
    )


def test_fill_holes_on_camera_and_errors(camera):
    b = camera > 100
    np.testing.assert_array_equal(fill_holes(torch.from_numpy(b)).numpy(), ndi.binary_fill_holes(b))
    with pytest.raises(ValueError, match="binary"):
        fill_holes(torch.tensor([[0, 2], [1, 0]]))
    with pytest.raises(ValueError, match="connectivity"):
        fill_holes(torch.ones(3, 3, dtype=torch.bool), connectivity=3)


@pytest.mark.parametrize("buffer_size", [0, 1, 3])
@pytest.mark.parametrize("seed_id", range(3))
def test_clear_border_equals_skimage(seed_id, buffer_size):
    rng = np.random.default_rng(seed_id)
    labels = rng.integers(0, 4, size=(25, 30)) * (rng.random((25, 30)) < 0.5)
    out = clear_border(torch.from_numpy(labels), buffer_size=buffer_size)
    np.testing.assert_array_equal(out.numpy(), sks.clear_border(labels, buffer_size=buffer_size))
    b = labels > 0
    outb = clear_border(torch.from_numpy(b), buffer_size=buffer_size)
    assert outb.dtype == torch.bool
    np.testing.assert_array_equal(outb.numpy(), sks.clear_border(b, buffer_size=buffer_size))


def test_clear_border_touching_labels_are_separate_objects():
    lab = torch.tensor([[0, 0, 0, 0, 0], [2, 2, 3, 3, 0], [0, 0, 3, 3, 0], [0, 0, 0, 0, 0]])
    expected = lab.clone()
    expected[lab == 2] = 0
    assert torch.equal(clear_border(lab), expected)  # 3 touches 2, not the border


def test_clear_border_batched_and_errors():
    rng = np.random.default_rng(5)
    labels = torch.from_numpy(rng.integers(0, 3, size=(3, 12, 14)))
    out = clear_border(labels, buffer_size=1)
    assert torch.equal(out[2], clear_border(labels[2], buffer_size=1))
    with pytest.raises(ValueError, match="labels"):
        clear_border(torch.tensor([[0, -1], [1, 0]]))
    with pytest.raises(TypeError, match="labels"):
        clear_border(torch.rand(4, 4))
    with pytest.raises(ValueError, match="buffer_size"):
        clear_border(labels, buffer_size=-1)
    with pytest.raises(ValueError, match="labels"):
        clear_border(torch.zeros(0, 3, dtype=torch.int64))


@pytest.mark.parametrize(
    "footprint",
    [
        None,
        CROSS,
        torch.tensor([[0, 0, 0], [1, 1, 1], [0, 0, 0]], dtype=torch.bool),  # along rows only
        torch.tensor([[0, 1, 0], [0, 1, 0], [0, 1, 0]], dtype=torch.bool),  # along columns only
        torch.tensor([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=torch.bool),  # diagonals only
    ],
)
def test_many_shapes_and_footprints_equal_skimage(footprint):
    # the row-skipping sweeps on shapes from 1 pixel up, integer plateaus (ties) and floats
    rng = np.random.default_rng(8)
    for i in range(40):
        h, w = rng.integers(1, 25, size=2)
        mask = rng.integers(0, 6, size=(h, w)).astype(np.int32 if i % 2 else np.float64)
        seed = np.where(rng.random((h, w)) < 0.1, mask, 0).astype(mask.dtype)
        out = reconstruction(torch.from_numpy(seed), torch.from_numpy(mask), footprint=footprint)
        np.testing.assert_array_equal(out.numpy(), _sk(seed, mask, "dilation", footprint))
        seed_e = np.where(rng.random((h, w)) < 0.1, mask, 6).astype(mask.dtype)
        out = reconstruction(
            torch.from_numpy(seed_e), torch.from_numpy(mask), "erosion", footprint=footprint
        )
        np.testing.assert_array_equal(out.numpy(), _sk(seed_e, mask, "erosion", footprint))


def test_torch_path_equals_numpy_path(camera):
    # the code other devices run (torch row operations) on the CPU: bfloat16 takes it, and
    # holds the integers 0..255 exactly
    mask = torch.from_numpy(camera)
    seed = (mask.int() - 50).clamp(min=0).to(torch.uint8)
    for fp in (None, CROSS):
        want = reconstruction(seed, mask, footprint=fp)
        out = reconstruction(seed.bfloat16(), mask.bfloat16(), footprint=fp)
        assert out.dtype == torch.bfloat16
        assert torch.equal(out.to(torch.uint8), want)
    high = (mask.int() + 50).clamp(max=255).to(torch.uint8)
    want = reconstruction(high, mask, "erosion")
    assert torch.equal(reconstruction(high.bfloat16(), mask.bfloat16(), "erosion").byte(), want)
