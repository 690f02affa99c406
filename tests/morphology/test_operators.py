import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.morphology as skm
import torch

from pixlearn.data import sample
from pixlearn.morphology import (
    black_tophat,
    closing,
    diamond,
    dilation,
    disk,
    erosion,
    hit_or_miss,
    line,
    morphological_gradient,
    opening,
    rectangle,
    square,
    white_tophat,
)

OPS = {
    "erosion": erosion,
    "dilation": dilation,
    "opening": opening,
    "closing": closing,
    "white_tophat": white_tophat,
    "black_tophat": black_tophat,
}


def _random_fp(shape, seed):
    g = torch.Generator().manual_seed(seed)
    fp = torch.rand(shape, generator=g) < 0.5
    fp[0, -1] = True  # surely asymmetric
    fp[-1, 0] = False
    return fp


FOOTPRINTS = {
    **{f"disk{r}": disk(r) for r in range(1, 6)},
    "square3": square(3),
    "square4": square(4),  # even: centre at index 1, padded as skimage
    "rect3x7": rectangle(3, 7),
    "diamond2": diamond(2),
    "line7_30": line(7, 30),
    "random5x5": _random_fp((5, 5), 0),
    "random4x3": _random_fp((4, 3), 1),
}


def _sk(name, img, fp):
    fn = getattr(skm, name)
    return fn(img) if fp is None else fn(img, fp.numpy(), mode="ignore")


@pytest.fixture(scope="module")
def camera_u8():
    return (sample("camera")[0, ::2, ::2] * 255).round().to(torch.uint8)  # (256, 256)


@pytest.mark.parametrize("fp_name", list(FOOTPRINTS))
@pytest.mark.parametrize("name", list(OPS))
def test_equal_skimage_on_camera(camera_u8, name, fp_name):
    fp = FOOTPRINTS[fp_name]
    for img in (camera_u8, camera_u8.float() / 255):
        out = OPS[name](img, fp)
        assert out.dtype == img.dtype and out.shape == img.shape
        np.testing.assert_array_equal(out.numpy(), _sk(name, img.numpy(), fp))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int16, torch.int32, torch.float64])
@pytest.mark.parametrize("name", list(OPS))
def test_equal_skimage_on_random_images(name, dtype):
    g = torch.Generator().manual_seed(3)
    img = torch.randint(-50 if dtype != torch.uint8 else 0, 200, (23, 31), generator=g)
    img = img.to(dtype)
    for fp in (None, disk(2), _random_fp((3, 5), 2), line(5, 120)):
        out = OPS[name](img, fp)
        np.testing.assert_array_equal(out.numpy(), _sk(name, img.numpy(), fp))
        # int64 is not compared with skimage (its int64 border value overflows): same values
        assert torch.equal(OPS[name](img.long(), fp), out.long())


def test_default_footprint_is_the_cross():
    img = torch.rand(9, 11, generator=torch.Generator().manual_seed(0))
    assert torch.equal(erosion(img), erosion(img, diamond(1)))
    np.testing.assert_array_equal(dilation(img).numpy(), skm.dilation(img.numpy(), mode="ignore"))


def test_dilation_is_not_reflected_on_an_asymmetric_footprint():
    # skimage's convention: dilation looks at x + B, like erosion
    img = torch.zeros(7, 7)
    img[3, 3] = 1.0
    fp = torch.zeros(3, 3, dtype=torch.bool)
    fp[0, 2] = True  # offset (-1, +1)
    out = dilation(img, fp)
    assert out[4, 2] == 1.0 and (out == 1.0).sum() == 1
    # pixels whose neighbourhood lies wholly outside get the dtype's extreme, as skimage's
    assert bool((out[0] == float("-inf")).all()) and bool((out[:, -1] == float("-inf")).all())


@pytest.mark.parametrize("fp", [None, disk(2), _random_fp((5, 5), 4), square(3)])
def test_binary_ops_equal_scipy(fp):
    g = torch.Generator().manual_seed(5)
    img = torch.rand(30, 27, generator=g) < 0.6
    s = (diamond(1) if fp is None else fp).numpy()
    a = img.numpy()
    ero = erosion(img, fp)
    assert ero.dtype == torch.bool
    # skimage's border convention: outside is foreground for erosion, background for dilation
    np.testing.assert_array_equal(ero.numpy(), ndi.binary_erosion(a, s, border_value=1))
    # scipy reflects the footprint in dilation (Minkowski sum): compare with the mirror
    np.testing.assert_array_equal(dilation(img, fp).numpy(), ndi.binary_dilation(a, s[::-1, ::-1]))
    # opening and closing from scipy's binary ops, mirroring as scipy's dilation does
    m = s[::-1, ::-1]
    ref_open = ndi.binary_dilation(ndi.binary_erosion(a, s, border_value=1), s)
    ref_close = ndi.binary_erosion(ndi.binary_dilation(a, m), m, border_value=1)
    np.testing.assert_array_equal(opening(img, fp).numpy(), ref_open)
    np.testing.assert_array_equal(closing(img, fp).numpy(), ref_close)
    np.testing.assert_array_equal(white_tophat(img, fp).numpy(), a & ~ref_open)
    np.testing.assert_array_equal(black_tophat(img, fp).numpy(), ref_close & ~a)


def test_binary_ops_commute_with_thresholding():
    img = torch.rand(20, 20, generator=torch.Generator().manual_seed(6))
    fp = _random_fp((5, 3), 7)
    for op in OPS.values():
        if op in (white_tophat, black_tophat):
            continue
        assert torch.equal(op(img > 0.5, fp), op(img, fp) > 0.5)


@pytest.mark.parametrize("seed", range(4))
def test_erosion_and_dilation_are_adjoint(seed):
    g = torch.Generator().manual_seed(seed)
    fp = _random_fp((5, 5), seed + 10) if seed % 2 else disk(2)
    mirror = fp.flip(0, 1)
    a = torch.randint(0, 50, (16, 18), generator=g)
    b = dilation(a, mirror) + torch.randint(0, 3, a.shape, generator=g)
    assert bool((dilation(a, mirror) <= b).all()) and bool((a <= erosion(b, fp)).all())
    c = erosion(b, fp) - torch.randint(0, 3, a.shape, generator=g)
    assert bool((dilation(c, mirror) <= b).all()) and bool((c <= erosion(b, fp)).all())
    for _ in range(20):  # random pairs: the two sides agree either way
        x = torch.randint(0, 5, (6, 7), generator=g)
        y = torch.randint(0, 5, (6, 7), generator=g)
        left = bool((dilation(x, mirror) <= y).all())
        assert left == bool((x <= erosion(y, fp)).all())
    if fp is not None and torch.equal(fp, mirror):  # symmetric: plain dilation is the adjoint
        assert bool((dilation(a, fp) <= b).all())


@pytest.mark.parametrize("fp", [disk(2), _random_fp((5, 5), 8), line(5, 60)])
def test_opening_closing_lattice_properties(fp):
    g = torch.Generator().manual_seed(9)
    f = torch.rand(2, 24, 26, generator=g, dtype=torch.float64)
    h = f + torch.rand(f.shape, generator=g, dtype=torch.float64)  # f <= h
    op, cl = opening(f, fp), closing(f, fp)
    assert bool((op <= f).all()) and bool((cl >= f).all())
    assert torch.equal(opening(op, fp), op) and torch.equal(closing(cl, fp), cl)
    assert bool((opening(h, fp) >= op).all()) and bool((closing(h, fp) >= cl).all())
    assert bool((white_tophat(f, fp) >= 0).all()) and bool((black_tophat(f, fp) >= 0).all())
    assert torch.equal(morphological_gradient(f, fp), dilation(f, fp) - erosion(f, fp))
    # duality: closing(f) = -opening(-f)
    assert torch.equal(closing(f, fp), -opening(-f, fp))


def test_gradient_on_bool_and_uint8():
    img = torch.zeros(7, 7, dtype=torch.uint8)
    img[2:5, 2:5] = 9
    grad = morphological_gradient(img, square(3))
    assert grad.dtype == torch.uint8
    assert torch.equal(grad, dilation(img, square(3)) - erosion(img, square(3)))
    assert grad[3, 3] == 0 and grad[1, 1] == 9
    b = morphological_gradient(img > 0, square(3))
    assert torch.equal(b, grad > 0)


@pytest.mark.parametrize("name", list(OPS))
def test_batched_equals_per_item_and_empty_batch(name):
    op = OPS[name]
    x = torch.randint(0, 255, (2, 3, 12, 13), generator=torch.Generator().manual_seed(1))
    x = x.to(torch.uint8)
    out = op(x, disk(2))
    assert out.shape == x.shape
    assert torch.equal(out[1, 2], op(x[1, 2], disk(2)))
    empty = op(torch.zeros(0, 3, 8, 8), disk(1))
    assert empty.shape == (0, 3, 8, 8) and empty.dtype == torch.float32


@pytest.mark.parametrize("name", list(OPS))
def test_non_contiguous_and_channels_last_and_input_untouched(name):
    op = OPS[name]
    base = torch.rand(3, 14, 11, generator=torch.Generator().manual_seed(2))
    nc = base.transpose(-1, -2)
    assert not nc.is_contiguous()
    keep = nc.clone()
    assert torch.equal(op(nc, _random_fp((3, 5), 3)), op(nc.contiguous(), _random_fp((3, 5), 3)))
    assert torch.equal(nc, keep)
    cl = torch.rand(2, 3, 9, 10).contiguous(memory_format=torch.channels_last)
    assert torch.equal(op(cl, disk(1)), op(cl.contiguous(), disk(1)))
    expanded = torch.rand(1, 9, 10).expand(3, 9, 10)
    assert torch.equal(op(expanded, disk(1))[2], op(expanded[0].contiguous(), disk(1)))


def test_one_pixel_image_and_bool_dtype_kept():
    one = torch.tensor([[5]], dtype=torch.int64)
    for op in OPS.values():
        assert op(one, disk(3)).dtype == torch.int64
    assert erosion(one, disk(3)).item() == 5 and dilation(one, disk(3)).item() == 5


# ------------------------------------------------------------------------------------------------
# hit-or-miss
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(3))
def test_hit_or_miss_equals_scipy(seed):
    g = torch.Generator().manual_seed(seed)
    img = torch.rand(2, 25, 22, generator=g) < 0.5
    hit = torch.rand(3, 5, generator=g) < 0.4
    miss = (torch.rand(3, 5, generator=g) < 0.4) & ~hit
    out = hit_or_miss(img, hit, miss)
    assert out.dtype == torch.bool and out.shape == img.shape
    for k in range(2):
        ref = ndi.binary_hit_or_miss(img[k].numpy(), hit.numpy(), miss.numpy())
        np.testing.assert_array_equal(out[k].numpy(), ref)
    # 0/1 integer input gives the same answer
    assert torch.equal(hit_or_miss(img.to(torch.uint8), hit, miss), out)


def test_hit_or_miss_finds_isolated_pixels_and_corners():
    img = torch.zeros(8, 8, dtype=torch.bool)
    img[1, 1] = True
    img[4:7, 3:7] = True
    centre = torch.zeros(3, 3, dtype=torch.bool)
    centre[1, 1] = True
    assert hit_or_miss(img, centre, ~centre).nonzero().tolist() == [[1, 1]]
    # upper-left corners: centre and right/down are foreground, up/left background
    hit = torch.tensor([[0, 0, 0], [0, 1, 1], [0, 1, 0]], dtype=torch.bool)
    miss = torch.tensor([[0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=torch.bool)
    assert hit_or_miss(img, hit, miss).nonzero().tolist() == [[4, 3]]
    # an all-False miss: the hit pattern alone (erosion with a background border)
    np.testing.assert_array_equal(
        hit_or_miss(img, hit, torch.zeros(3, 3, dtype=torch.bool)).numpy(),
        ndi.binary_erosion(img.numpy(), hit.numpy(), border_value=0),
    )


def test_hit_or_miss_errors():
    img = torch.zeros(5, 5, dtype=torch.bool)
    c = torch.ones(3, 3, dtype=torch.bool)
    with pytest.raises(ValueError, match="binary"):
        hit_or_miss(torch.full((5, 5), 2.0), c, ~c)
    with pytest.raises(ValueError, match=r"hit.*odd"):
        hit_or_miss(img, torch.ones(2, 3, dtype=torch.bool), ~c)
    with pytest.raises(ValueError, match=r"miss.*odd"):
        hit_or_miss(img, c, torch.zeros(3, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="hit and miss"):
        hit_or_miss(img, ~c, ~c)
    with pytest.raises(TypeError, match="miss"):
        hit_or_miss(img, c, torch.zeros(3, 3))
    with pytest.raises(ValueError, match="binary"):
        hit_or_miss(torch.zeros(0, 5, dtype=torch.bool), c, ~c)


# ------------------------------------------------------------------------------------------------
# errors
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [*OPS, "morphological_gradient"])
def test_errors_name_the_argument(name):
    op = OPS.get(name, morphological_gradient)
    img = torch.rand(6, 6)
    with pytest.raises(ValueError, match=r"footprint.*2-D"):
        op(img, torch.ones(3, dtype=torch.bool))
    with pytest.raises(TypeError, match=r"footprint.*bool"):
        op(img, torch.ones(3, 3))
    with pytest.raises(TypeError, match="footprint"):
        op(img, np.ones((3, 3), bool))
    with pytest.raises(ValueError, match=r"footprint.*True"):
        op(img, torch.zeros(3, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"image.*empty"):
        op(torch.zeros(0, 4), disk(1))
    with pytest.raises(ValueError, match=r"image.*dimensions"):
        op(torch.zeros(4), disk(1))
    bad = img.clone()
    bad[2, 3] = float("nan")
    with pytest.raises(ValueError, match=r"image.*NaN"):
        op(bad, disk(1))
    with pytest.raises(TypeError, match="image"):
        op(img.numpy(), disk(1))
    with pytest.raises(TypeError, match="image"):
        op(img.to(torch.complex64), disk(1))
