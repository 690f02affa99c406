import numpy as np
import pytest
import skimage.data
import torch

from pixlearn.imaging import blur, defocus_psf, gaussian_noise, gaussian_psf, psf2otf
from pixlearn.metrics import psnr
from pixlearn.restoration import inverse_filter


@pytest.fixture(scope="module")
def camera():
    return torch.from_numpy(skimage.data.camera()[::2, ::2] / 255.0).float()  # (256, 256)


def _numpy_reference(image, psf, threshold):
    otf = psf2otf(psf.double(), image.shape).numpy()  # full spectrum
    keep = np.abs(otf) >= threshold * np.abs(otf).max()
    gain = np.where(keep, 1 / np.where(keep, otf, 1), 0)
    return np.fft.ifft2(np.fft.fft2(image.double().numpy()) * gain).real


@pytest.mark.parametrize("threshold", [0.0, 0.05, 0.3])
def test_equals_numpy_pseudo_inverse(threshold):
    rng = np.random.default_rng(0)
    image = torch.from_numpy(rng.random((19, 24)))
    psf = defocus_psf(7, 2.5, dtype=torch.float64)
    out = inverse_filter(image, psf, threshold=threshold)
    np.testing.assert_allclose(out.numpy(), _numpy_reference(image, psf, threshold), atol=1e-9)


def test_exact_without_noise():
    x = torch.rand(3, 32, 32, dtype=torch.float64)
    psf = gaussian_psf(5, 0.8, dtype=torch.float64)
    assert torch.allclose(inverse_filter(blur(x, psf), psf, threshold=0.0), x, atol=1e-9)


@pytest.mark.parametrize("psf", [gaussian_psf(15, 2.0), defocus_psf(11, 4.0)])
def test_blows_up_without_threshold_and_is_fine_with_it(camera, psf):
    degraded = gaussian_noise(blur(camera, psf), 0.01, generator=torch.Generator().manual_seed(0))
    base = float(psnr(degraded, camera))
    plain = inverse_filter(degraded, psf, threshold=0.0)
    # 1 / |H| reaches 1e6 (Gaussian) and 1e2 (defocus) where the noise is not attenuated
    assert float(plain.abs().max()) > 50.0  # measured: 3.7e6 and 82
    assert float(psnr(plain, camera)) < base - 40  # measured: -119 dB and -28 dB vs +22 dB
    kept = inverse_filter(degraded, psf)  # threshold 0.1
    assert float(kept.abs().max()) < 1.5
    assert float(psnr(kept, camera)) > base + 1.0  # measured: +1.3 dB and +1.7 dB


def test_batched_broadcast_non_contiguous_and_empty():
    x = torch.rand(4, 12, 10)
    psf = gaussian_psf(3, 1.0)
    out = inverse_filter(x, psf)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.allclose(out[2], inverse_filter(x[2], psf), atol=1e-6)
    t = x.transpose(-1, -2)
    assert torch.allclose(inverse_filter(t, psf), inverse_filter(t.contiguous(), psf), atol=1e-6)
    assert inverse_filter(torch.rand(0, 5, 5), psf).shape == (0, 5, 5)


def test_gradcheck():
    y = torch.rand(6, 5, dtype=torch.float64, requires_grad=True)
    psf = gaussian_psf(3, 1.0, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda t: inverse_filter(t, psf, threshold=0.2), (y,))


def test_bad_inputs():
    x, psf = torch.rand(8, 8), gaussian_psf(5, 1.0)
    with pytest.raises(ValueError, match="psf must not be larger than the image"):
        inverse_filter(x, gaussian_psf((3, 9), 1.0))
    with pytest.raises(ValueError, match="psf must be non-negative"):
        inverse_filter(x, -psf)
    with pytest.raises(ValueError, match="image must be finite"):
        inverse_filter(x.clone().fill_(float("nan")), psf)
    with pytest.raises(ValueError, match="threshold must be in"):
        inverse_filter(x, psf, threshold=1.5)
    with pytest.raises(TypeError, match="psf must be a floating"):
        inverse_filter(x, psf2otf(psf, (8, 8)))
