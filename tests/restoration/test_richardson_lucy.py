import numpy as np
import pytest
import skimage.data
import skimage.restoration as skr
import torch
from scipy.signal import convolve

from pixlearn.imaging import blur, defocus_psf, gaussian_psf, poisson_noise
from pixlearn.metrics import psnr
from pixlearn.restoration import richardson_lucy


@pytest.fixture(scope="module")
def blurred_camera():
    cam = skimage.data.camera()[::4, ::4] / 255.0  # (128, 128)
    psf = gaussian_psf(7, 1.5, dtype=torch.float64).numpy()
    noisy = convolve(cam, psf, mode="same") + 0.01 * np.random.default_rng(0).standard_normal(
        cam.shape
    )
    return noisy, psf


@pytest.mark.parametrize("clip", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_equals_skimage_on_camera(blurred_camera, dtype, clip):
    image, psf = (a.astype(dtype) for a in blurred_camera)
    ref = skr.richardson_lucy(image, psf, 20, clip=clip)
    out = richardson_lucy(torch.from_numpy(image), torch.from_numpy(psf), 20, clip=clip)
    assert out.dtype == torch.from_numpy(image).dtype
    tol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(out.numpy(), ref, atol=tol, rtol=0)
    assert clip == bool(out.max() <= 1)


def test_filter_epsilon_equals_skimage(blurred_camera):
    image, psf = blurred_camera
    ref = skr.richardson_lucy(image, psf, 10, filter_epsilon=0.05)
    out = richardson_lucy(torch.from_numpy(image), torch.from_numpy(psf), 10, filter_epsilon=0.05)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-10, rtol=0)
    assert not np.allclose(ref, skr.richardson_lucy(image, psf, 10))  # the option acts


@pytest.mark.parametrize("seed", range(4))
def test_random_inputs_and_psf_shapes_equal_skimage(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(9, 30, size=2)
    ph, pw = 2 * rng.integers(0, 4, size=2) + 1  # odd, as scipy's "same" centres them alike
    image = rng.random((h, w)).astype(np.float32)
    psf = rng.random((ph, pw)).astype(np.float32)
    psf /= psf.sum()
    ref = skr.richardson_lucy(image, psf, 15, clip=False)
    out = richardson_lucy(torch.from_numpy(image), torch.from_numpy(psf), 15, clip=False)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-4, rtol=1e-4)


def test_even_psf_is_centred_on_h_half():
    # pixlearn centres an even PSF on (h // 2, w // 2); one zero row/column appended at the end
    # keeps that centre and makes it odd, where scipy's "same" mode agrees
    rng = np.random.default_rng(5)
    image = rng.random((20, 24))
    psf = rng.random((4, 6))
    padded = np.pad(psf, ((0, 1), (0, 1)))
    ref = skr.richardson_lucy(image, padded, 8, clip=False)
    out = richardson_lucy(torch.from_numpy(image), torch.from_numpy(psf), 8, clip=False)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-10)


def _circular_rl_loop(y, psf, num_iter):
    """Slow reference: RL with circular convolutions written as sums of shifted images."""
    cy, cx = psf.shape[0] // 2, psf.shape[1] // 2
    taps = [(i - cy, j - cx, psf[i, j]) for i in range(psf.shape[0]) for j in range(psf.shape[1])]

    def conv(a, sign):
        return sum(v * np.roll(a, (sign * dy, sign * dx), (0, 1)) for dy, dx, v in taps)

    x = np.full_like(y, 0.5)
    for _ in range(num_iter):
        x = x * conv(y / (conv(x, 1) + 1e-12), -1)
    return x


def test_circular_boundary_equals_slow_loop_and_preserves_flux():
    rng = np.random.default_rng(7)
    y = rng.random((17, 22)) + 0.1
    psf = rng.random((5, 3))
    psf /= psf.sum()
    out = richardson_lucy(
        torch.from_numpy(y), torch.from_numpy(psf), 12, clip=False, boundary="circular"
    )
    np.testing.assert_allclose(out.numpy(), _circular_rl_loop(y, psf, 12), atol=1e-10)
    # EM with a periodic model and a unit-sum PSF keeps the total number of photons
    assert float(out.sum()) == pytest.approx(y.sum(), rel=1e-10)


def test_psf_scale_does_not_matter():
    y = torch.rand(16, 16, dtype=torch.float64)
    psf = gaussian_psf(5, 1.0, dtype=torch.float64)
    a = richardson_lucy(y, psf, 5, clip=False)
    assert torch.allclose(richardson_lucy(y, 3.0 * psf, 5, clip=False), a, atol=1e-10)


@pytest.mark.parametrize("boundary", ["circular", "zero"])
@pytest.mark.parametrize("psf", [gaussian_psf(9, 1.5), defocus_psf(9, 3.0)])
def test_improves_psnr_on_camera_with_poisson_noise(psf, boundary):
    cam = torch.from_numpy(skimage.data.camera()[::2, ::2] / 255.0).float()
    g = torch.Generator().manual_seed(0)
    degraded = poisson_noise(blur(cam, psf, boundary=boundary), 300.0, generator=g)
    restored = richardson_lucy(degraded, psf, 10, boundary=boundary)
    inner = (slice(12, -12), slice(12, -12))
    gain = float(psnr(restored[inner], cam[inner]) - psnr(degraded[inner], cam[inner]))
    assert gain > 1.0  # measured: +1.6 dB (Gaussian), +1.8 dB (defocus), both boundaries
    if boundary == "circular":
        assert float(psnr(restored, cam) - psnr(degraded, cam)) > 1.0
    else:
        # the documented border effect of the "zero" model (scikit-image's): the correction
        # there is at most sum of the PSF inside the image < 1, so the border darkens
        assert float(restored[:, 0].mean()) < 0.8 * float(cam[:, 0].mean())


def test_batched_broadcast_and_non_contiguous():
    x = torch.rand(3, 2, 15, 18)
    psf = gaussian_psf(5, 1.0)
    out = richardson_lucy(x, psf, 4)
    assert out.shape == x.shape
    assert torch.allclose(out[1, 0], richardson_lucy(x[1, 0], psf, 4), atol=1e-6)
    psfs = torch.stack([gaussian_psf(5, s) for s in (0.6, 1.0)])  # (2, 5, 5), one per channel
    out = richardson_lucy(x, psfs, 4)
    assert torch.allclose(out[2, 1], richardson_lucy(x[2, 1], psfs[1], 4), atol=1e-6)
    t = torch.rand(18, 15).t()
    assert torch.allclose(richardson_lucy(t, psf, 4), richardson_lucy(t.contiguous(), psf, 4))
    assert richardson_lucy(torch.rand(0, 8, 8), psf, 2).shape == (0, 8, 8)
    assert not x.requires_grad and x.shape == (3, 2, 15, 18)  # input untouched


def test_float16_input_keeps_its_dtype():
    x = torch.rand(12, 12)
    out = richardson_lucy(x.half(), gaussian_psf(3, 1.0), 3)
    assert out.dtype == torch.float16
    assert torch.allclose(
        out.float(), richardson_lucy(x.half().float(), gaussian_psf(3, 1.0), 3), atol=1e-3
    )


def test_gradcheck():
    y = torch.rand(5, 6, dtype=torch.float64, requires_grad=True)
    psf = gaussian_psf(3, 1.0, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda t: richardson_lucy(t, psf, 2, clip=False), (y,))


def test_bad_inputs():
    x, psf = torch.rand(8, 8), gaussian_psf(5, 1.0)
    with pytest.raises(ValueError, match="psf must not be larger than the image"):
        richardson_lucy(x, gaussian_psf(9, 1.0))
    with pytest.raises(ValueError, match="psf must be non-negative"):
        richardson_lucy(x, psf - 0.1)
    with pytest.raises(ValueError, match="psf must have a positive sum"):
        richardson_lucy(x, torch.zeros(3, 3))
    with pytest.raises(ValueError, match="num_iter must be >= 1"):
        richardson_lucy(x, psf, 0)
    with pytest.raises(TypeError, match="num_iter must be an integer"):
        richardson_lucy(x, psf, 2.5)
    with pytest.raises(ValueError, match="image must be finite"):
        richardson_lucy(x.clone().fill_(float("nan")), psf)
    with pytest.raises(ValueError, match="filter_epsilon"):
        richardson_lucy(x, psf, filter_epsilon=-1.0)
    with pytest.raises(ValueError, match="boundary"):
        richardson_lucy(x, psf, boundary="reflect")
    with pytest.raises(TypeError, match="image must be a floating"):
        richardson_lucy(torch.ones(8, 8, dtype=torch.uint8), psf)
