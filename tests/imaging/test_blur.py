import cv2
import numpy as np
import pytest
import scipy.signal
import skimage.data
import torch
import torch.nn.functional as F

from pixlearn.imaging import Blur, blur, defocus_psf, gaussian_psf, motion_psf

BOUNDARIES = ["circular", "reflect", "zero"]
NP_MODE = {"circular": "wrap", "reflect": "reflect", "zero": "constant"}


def _slow_blur(f, h, boundary):
    """g(x) = sum_s f(x - s) h(s), s counted from the PSF centre, by explicit loops."""
    H, W = f.shape
    ph, pw = h.shape
    g = np.zeros((H, W))
    for y in range(H):
        for x in range(W):
            acc = 0.0
            for i in range(ph):
                for j in range(pw):
                    yy, xx = y - (i - ph // 2), x - (j - pw // 2)
                    if boundary == "circular":
                        yy, xx = yy % H, xx % W
                    elif boundary == "reflect":
                        yy, xx = _mirror(yy, H), _mirror(xx, W)
                    elif not (0 <= yy < H and 0 <= xx < W):
                        continue
                    acc += f[yy, xx] * h[i, j]
            g[y, x] = acc
    return g


def _mirror(i, n):
    if n == 1:
        return 0
    p = 2 * (n - 1)
    i %= p
    return i if i < n else p - i


def _scipy_blur(f, h, boundary):
    """SciPy reference; an even PSF gets a zero row/column at the end so its centre
    (h // 2, w // 2) is the centre SciPy's 'same' mode uses."""
    ph, pw = h.shape
    if boundary == "reflect":
        padded = np.pad(f, ((ph - 1 - ph // 2, ph // 2), (pw - 1 - pw // 2, pw // 2)), "reflect")
        return scipy.signal.convolve2d(padded, h, mode="valid")
    h = np.pad(h, ((0, 1 - ph % 2), (0, 1 - pw % 2)))
    mode = "wrap" if boundary == "circular" else "fill"
    return scipy.signal.convolve2d(f, h, mode="same", boundary=mode)


@pytest.fixture(scope="module")
def camera():
    return skimage.data.camera()[::2, ::2].astype(np.float64) / 255.0  # (256, 256)


# ---- references ------------------------------------------------------------------------------


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize(
    ("image_shape", "psf_shape"),
    [((7, 9), (3, 3)), ((6, 5), (4, 2)), ((5, 8), (2, 5)), ((4, 3), (7, 6)), ((1, 1), (3, 4))],
)
def test_matches_slow_loop(boundary, image_shape, psf_shape):
    # includes even and non-square PSFs, a PSF larger than the image, and a 1x1 image
    f = torch.rand(image_shape, dtype=torch.float64)
    h = torch.rand(psf_shape, dtype=torch.float64)
    ref = _slow_blur(f.numpy(), h.numpy(), boundary)
    np.testing.assert_allclose(blur(f, h, boundary=boundary).numpy(), ref, atol=1e-13)


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("psf_shape", [(5, 5), (6, 6), (4, 7)])
@pytest.mark.parametrize("image_shape", [(32, 40), (37, 29)])  # FFT-friendly and prime sizes
def test_matches_scipy_on_random_images(boundary, psf_shape, image_shape):
    gen = torch.Generator().manual_seed(1)
    f = torch.rand(image_shape, generator=gen, dtype=torch.float64)
    h = torch.rand(psf_shape, generator=gen, dtype=torch.float64)
    ref = _scipy_blur(f.numpy(), h.numpy(), boundary)
    np.testing.assert_allclose(blur(f, h, boundary=boundary).numpy(), ref, atol=1e-13)
    # float32, PSF normalised as a real one: measured max error 3e-7
    h1 = (h / h.sum()).float()
    got32 = blur(f.float(), h1, boundary=boundary)
    assert got32.dtype == torch.float32
    ref32 = _scipy_blur(f.numpy(), h1.double().numpy(), boundary)
    np.testing.assert_allclose(got32.numpy(), ref32, atol=1e-5)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_matches_scipy_on_camera(camera, boundary):
    for psf in (motion_psf((9, 12), 9.0, 30.0, dtype=torch.float64), defocus_psf(10, 3.5)):
        psf = psf.double()
        ref = _scipy_blur(camera, psf.numpy(), boundary)
        img = torch.from_numpy(camera)
        np.testing.assert_allclose(blur(img, psf, boundary=boundary).numpy(), ref, atol=1e-12)
        got32 = blur(img.float(), psf.float(), boundary=boundary).double().numpy()
        assert np.abs(got32 - ref).max() < 1e-5  # measured 4e-7


def test_reflect_matches_opencv_filter2d(camera):
    # filter2D correlates: flip the kernel, and anchor it so that the PSF centre lines up
    psf = motion_psf((8, 11), 7.0, -40.0)
    ph, pw = psf.shape
    anchor = (pw - 1 - pw // 2, ph - 1 - ph // 2)  # (x, y)
    img = camera.astype(np.float32)
    ref = cv2.filter2D(
        img, -1, psf.flip(0, 1).numpy(), anchor=anchor, borderType=cv2.BORDER_REFLECT_101
    )
    got = blur(torch.from_numpy(img), psf, boundary="reflect").numpy()
    assert np.abs(got - ref).max() < 1e-5


@pytest.mark.parametrize("boundary", ["circular", "reflect", "zero"])
def test_matches_direct_spatial_convolution_with_torch_conv2d(boundary):
    f = torch.rand(2, 3, 20, 24, dtype=torch.float64)
    h = gaussian_psf((5, 7), (1.0, 2.0), dtype=torch.float64)
    mode = {"circular": "circular", "reflect": "reflect", "zero": "constant"}[boundary]
    padded = F.pad(f.reshape(6, 1, 20, 24), (3, 3, 2, 2), mode=mode)
    direct = F.conv2d(padded, h.flip(0, 1)[None, None]).reshape(2, 3, 20, 24)
    assert torch.allclose(blur(f, h, boundary=boundary), direct, atol=1e-13, rtol=0)


def test_point_source_images_as_the_psf():
    for shape in [(7, 7), (8, 6)]:
        p = torch.rand(shape, dtype=torch.float64)
        img = torch.zeros(16, 16, dtype=torch.float64)
        img[8, 8] = 1.0
        out = blur(img, p, boundary="zero")
        h, w = shape
        assert torch.allclose(out[8 - h // 2 : 8 - h // 2 + h, 8 - w // 2 : 8 - w // 2 + w], p)


# ---- LSI properties --------------------------------------------------------------------------


def test_linearity_and_shift_invariance():
    gen = torch.Generator().manual_seed(3)
    g1, g2 = torch.rand(2, 48, 50, generator=gen, dtype=torch.float64)
    h = motion_psf(11, 8.0, 20.0, dtype=torch.float64)
    a, b = 2.5, -0.75
    lhs = blur(a * g1 + b * g2, h)
    assert (lhs - (a * blur(g1, h) + b * blur(g2, h))).abs().max() < 1e-13
    for shift in [(5, -7), (-13, 21)]:
        rolled = blur(torch.roll(g1, shift, dims=(0, 1)), h)
        assert (rolled - torch.roll(blur(g1, h), shift, dims=(0, 1))).abs().max() < 1e-13
    # shift invariance holds away from the border for the other boundaries
    for boundary in ["zero", "reflect"]:
        out = blur(g1, h, boundary=boundary)
        moved = blur(torch.roll(g1, (3, 4), dims=(0, 1)), h, boundary=boundary)
        assert (moved[14:-6, 14:-6] - out[11:-9, 10:-10]).abs().max() < 1e-13


def test_convolution_theorem_with_the_otf():
    from pixlearn.imaging import psf2otf

    f = torch.rand(24, 30, dtype=torch.float64)
    h = defocus_psf(7, 2.5, dtype=torch.float64)
    via_otf = torch.fft.ifft2(torch.fft.fft2(f) * psf2otf(h, f.shape)).real
    assert torch.allclose(blur(f, h), via_otf, atol=1e-14)


def test_normalised_psf_keeps_constant_images_and_the_mean():
    h = gaussian_psf(9, 2.0, dtype=torch.float64)
    for boundary in BOUNDARIES[:2]:
        out = blur(torch.full((20, 17), 0.3, dtype=torch.float64), h, boundary=boundary)
        assert (out - 0.3).abs().max() < 1e-14
    f = torch.rand(20, 17, dtype=torch.float64)
    assert abs(float(blur(f, h).mean() - f.mean())) < 1e-14


def test_one_by_one_images():
    img = torch.tensor([[0.4]], dtype=torch.float64)
    h = torch.rand(3, 4, dtype=torch.float64)
    assert blur(img, h).item() == pytest.approx(0.4 * float(h.sum()), rel=1e-14)
    assert blur(img, h, boundary="reflect").item() == pytest.approx(0.4 * float(h.sum()))
    assert blur(img, h, boundary="zero").item() == pytest.approx(0.4 * float(h[1, 2]))


# ---- cardinality, layout, dtype --------------------------------------------------------------


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_batched_equals_per_item_and_psf_broadcasts(boundary):
    x = torch.rand(2, 3, 17, 20, dtype=torch.float64)
    h = gaussian_psf(5, 1.2, dtype=torch.float64)
    out = blur(x, h, boundary=boundary)
    assert out.shape == x.shape
    for b in range(2):
        for c in range(3):
            assert torch.allclose(out[b, c], blur(x[b, c], h, boundary=boundary), atol=1e-15)
    # one PSF per channel, (C, h, w) against (B, C, H, W)
    hs = torch.stack([h, defocus_psf(5, 2.0).double(), motion_psf(5, 3.0, 45.0).double()])
    per_channel = blur(x, hs, boundary=boundary)
    for c in range(3):
        assert torch.allclose(per_channel[:, c], blur(x[:, c], hs[c], boundary=boundary))
    # a bank of PSFs on one image: the output takes the PSF's leading dims
    assert blur(x[0, 0], hs, boundary=boundary).shape == (3, 17, 20)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_zero_size_batch(boundary):
    out = blur(torch.rand(0, 3, 8, 9), gaussian_psf(3, 1.0), boundary=boundary)
    assert out.shape == (0, 3, 8, 9) and out.dtype == torch.float32


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_non_contiguous_and_channels_last(boundary):
    h = motion_psf(6, 4.0, 60.0, dtype=torch.float64)
    x = torch.rand(3, 21, 16, dtype=torch.float64)
    t = x.transpose(-1, -2)
    assert torch.allclose(blur(t, h, boundary=boundary), blur(t.contiguous(), h, boundary=boundary))
    e = x[:1].expand(4, -1, -1)
    assert torch.allclose(blur(e, h, boundary=boundary)[3], blur(x[0], h, boundary=boundary))
    y = torch.rand(2, 3, 12, 10, dtype=torch.float64)
    cl = y.to(memory_format=torch.channels_last)
    assert torch.allclose(blur(cl, h, boundary=boundary), blur(y, h, boundary=boundary))
    ht = h.t()
    assert torch.allclose(
        blur(x, ht, boundary=boundary), blur(x, ht.contiguous(), boundary=boundary)
    )
    # the input is never modified
    x0 = x.clone()
    blur(x, h, boundary=boundary)
    assert torch.equal(x, x0)


def test_half_precision_is_computed_in_float32():
    x = torch.rand(16, 16)
    h = gaussian_psf(5, 1.0)
    out = blur(x.half(), h)
    assert out.dtype == torch.float16
    assert (out.float() - blur(x.half().float(), h)).abs().max() < 1e-3


# ---- gradients -------------------------------------------------------------------------------


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_gradcheck_image_and_psf(boundary):
    x = torch.rand(2, 6, 7, dtype=torch.float64, requires_grad=True)
    h = (torch.rand(3, 4, dtype=torch.float64) + 0.1).requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: blur(a, b, boundary=boundary), (x, h))
    big = (torch.rand(9, 8, dtype=torch.float64) + 0.1).requires_grad_()  # larger than the image
    assert torch.autograd.gradcheck(lambda a, b: blur(a, b, boundary=boundary), (x, big))


# ---- module ----------------------------------------------------------------------------------


def test_module_equals_function_and_holds_the_psf_as_a_buffer():
    h = defocus_psf(7, 2.5)
    m = Blur(h, boundary="reflect")
    x = torch.rand(2, 20, 20)
    assert torch.equal(m(x), blur(x, h, boundary="reflect"))
    assert "psf" in dict(m.named_buffers()) and "psf" in m.state_dict()
    assert list(m.parameters()) == []
    assert torch.equal(m.double()(x.double()), blur(x.double(), h.double(), boundary="reflect"))
    h[0, 0] = 5.0  # the module keeps its own copy
    assert float(m.psf[0, 0]) != 5.0
    with pytest.raises(ValueError, match="boundary"):
        Blur(h, boundary="wrap")
    with pytest.raises(ValueError, match="psf"):
        Blur(-h)


# ---- bad input -------------------------------------------------------------------------------


def test_bad_images_are_refused_naming_image():
    h = gaussian_psf(3, 1.0)
    for bad in (float("nan"), float("inf"), -float("inf")):
        x = torch.rand(2, 8, 8)
        x[1, 3, 4] = bad
        with pytest.raises(ValueError, match=r"image.*finite"):
            blur(x, h)
    with pytest.raises(ValueError, match=r"image.*finite"):  # huge but the sum overflows
        blur(torch.tensor([[3e38, 3e38], [float("nan"), 0.0]]), h)
    # huge but finite values whose sum overflows float32 are computed on a rescaled copy
    huge = blur(torch.full((4, 4), 3e38), h, boundary="circular")
    assert torch.isfinite(huge).all() and (huge / 3e38 - 1).abs().max() < 1e-5
    with pytest.raises(ValueError, match=r"image.*empty"):
        blur(torch.rand(0, 5), h)
    with pytest.raises(ValueError, match=r"image.*dimensions"):
        blur(torch.rand(5), h)
    with pytest.raises(TypeError, match=r"image.*float"):
        blur(torch.ones(5, 5, dtype=torch.uint8), h)
    with pytest.raises(TypeError, match="image"):
        blur(np.ones((5, 5)), h)


def test_bad_psfs_and_options_are_refused():
    x = torch.rand(8, 8)
    with pytest.raises(ValueError, match=r"psf.*non-negative"):
        blur(x, torch.tensor([[0.2, -0.5], [0.3, 1.0]]))
    with pytest.raises(ValueError, match=r"psf.*sum"):
        blur(x, torch.zeros(3, 3))
    with pytest.raises(ValueError, match=r"psf.*finite"):
        blur(x, torch.tensor([[1.0, float("nan")]]))
    with pytest.raises(ValueError, match=r"psf.*dimensions"):
        blur(x, torch.ones(3))
    with pytest.raises(TypeError, match=r"psf.*float"):
        blur(x, torch.ones(3, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"psf.*broadcast"):
        blur(torch.rand(2, 8, 8), torch.ones(3, 3, 3))
    with pytest.raises(ValueError, match="boundary"):
        blur(x, torch.ones(3, 3), boundary="wrap")
