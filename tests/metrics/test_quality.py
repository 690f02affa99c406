import numpy as np
import pytest
import skimage.data
import torch
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

from pixlearn.metrics import mse, psnr, ssim


@pytest.fixture(scope="module")
def camera_pair():
    cam = skimage.data.camera()[::2, ::2] / 255.0  # (256, 256) float64
    rng = np.random.default_rng(0)
    return np.clip(cam + 0.1 * rng.standard_normal(cam.shape), 0, 1), cam


def _sk_ssim(a, b, **kw):
    kw.setdefault("data_range", 1.0)
    kw.setdefault("gaussian_weights", True)
    kw.setdefault("use_sample_covariance", False)
    return structural_similarity(a, b, **kw)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_psnr_mse_ssim_equal_skimage_on_camera(camera_pair, dtype):
    noisy, cam = (a.astype(dtype) for a in camera_pair)
    a, b = torch.from_numpy(noisy), torch.from_numpy(cam)
    tol = 1e-10 if dtype == np.float64 else 1e-5
    assert float(mse(a, b)) == pytest.approx(mean_squared_error(cam, noisy), rel=tol)
    assert float(psnr(a, b)) == pytest.approx(peak_signal_noise_ratio(cam, noisy), abs=tol)
    assert abs(float(ssim(a, b)) - _sk_ssim(noisy, cam)) < tol


@pytest.mark.parametrize("seed", range(3))
def test_ssim_options_equal_skimage_on_random_inputs(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(12, 40, size=2)
    ref = rng.random((h, w))
    img = np.clip(ref + 0.2 * rng.standard_normal((h, w)), -1, 1)
    a, b = torch.from_numpy(img), torch.from_numpy(ref)
    for kw in [
        {},
        {"sigma": 0.8},
        {"win_size": 7},
        {"gaussian_weights": False, "use_sample_covariance": True},
        {"gaussian_weights": False, "win_size": 5, "use_sample_covariance": False},
        {"data_range": 2.0},
    ]:
        value, smap = ssim(a, b, full=True, **kw)
        ref_value, ref_map = _sk_ssim(img, ref, full=True, **kw)
        assert abs(float(value) - ref_value) < 1e-12, kw
        np.testing.assert_allclose(smap.numpy(), ref_map, atol=1e-12)


def test_psnr_data_range_rule_follows_skimage():
    rng = np.random.default_rng(3)
    ref = rng.uniform(-1, 1, (20, 20))  # negative values: the range is 2
    img = ref + 0.05 * rng.standard_normal((20, 20))
    out = psnr(torch.from_numpy(img), torch.from_numpy(ref))
    assert float(out) == pytest.approx(peak_signal_noise_ratio(ref, img), abs=1e-10)
    out = psnr(torch.from_numpy(img), torch.from_numpy(ref), data_range=7.0)
    expected = peak_signal_noise_ratio(ref, img, data_range=7.0)
    assert float(out) == pytest.approx(expected, abs=1e-10)


def test_colour_image_equals_skimage_channel_axis():
    ast = skimage.data.astronaut()[::4, ::4] / 255.0  # (128, 128, 3)
    noisy = np.clip(ast + 0.05 * np.random.default_rng(1).standard_normal(ast.shape), 0, 1)
    a = torch.from_numpy(noisy).permute(2, 0, 1)  # (3, H, W), non-contiguous
    b = torch.from_numpy(ast).permute(2, 0, 1)
    ref = _sk_ssim(noisy, ast, channel_axis=2)
    assert abs(float(ssim(a, b)) - ref) < 1e-12
    assert abs(float(ssim(a.contiguous(), b.contiguous())) - ref) < 1e-12
    assert float(psnr(a, b)) == pytest.approx(peak_signal_noise_ratio(ast, noisy), abs=1e-10)


def test_batched_values_with_dim_equal_per_item():
    ref = torch.rand(4, 2, 24, 24, dtype=torch.float64)
    img = (ref + 0.1 * torch.randn_like(ref)).clamp(0, 1)
    per_image = ssim(img, ref, dim=(-3, -2, -1))
    assert per_image.shape == (4,)
    for i in range(4):
        assert torch.allclose(per_image[i], ssim(img[i], ref[i]), atol=1e-14)
        assert torch.allclose(psnr(img, ref, dim=(-3, -2, -1))[i], psnr(img[i], ref[i]))
    assert mse(img, ref, dim=(-2, -1)).shape == (4, 2)


def test_properties_identity_symmetry_and_monotonicity():
    ref = torch.rand(32, 32, dtype=torch.float64)
    noise = torch.randn(32, 32, dtype=torch.float64)
    assert float(ssim(ref, ref)) == pytest.approx(1.0, abs=1e-12)
    assert float(psnr(ref, ref)) == float("inf")
    a = (ref + 0.1 * noise).clamp(0, 1)
    assert float(ssim(a, ref)) == pytest.approx(float(ssim(ref, a)), abs=1e-14)
    values = [float(ssim(ref + s * noise, ref)) for s in (0.02, 0.1, 0.3)]
    assert values[0] > values[1] > values[2]
    # PSNR drops by 20 log10(2) = 6.02 dB when the error doubles
    diff = psnr(ref + 0.01 * noise, ref, data_range=1.0) - psnr(
        ref + 0.02 * noise, ref, data_range=1.0
    )
    assert float(diff) == pytest.approx(20 * np.log10(2), abs=1e-9)


def test_gradcheck():
    ref = torch.rand(12, 13, dtype=torch.float64)
    img = (ref + 0.1 * torch.randn(12, 13, dtype=torch.float64)).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: ssim(t, ref, win_size=7), (img,))
    assert torch.autograd.gradcheck(lambda t: psnr(t, ref, data_range=1.0), (img,))
    assert torch.autograd.gradcheck(lambda t: mse(t, ref), (img,))


def test_bad_inputs():
    a = torch.rand(16, 16)
    with pytest.raises(ValueError, match="same shape"):
        ssim(a, torch.rand(16, 15))
    with pytest.raises(ValueError, match="image must be finite"):
        psnr(a.clone().fill_(float("nan")), a)
    with pytest.raises(TypeError, match=r"reference.*floating"):
        mse(a, torch.ones(16, 16, dtype=torch.uint8))
    with pytest.raises(ValueError, match="win_size must be odd"):
        ssim(a, a, win_size=4)
    with pytest.raises(ValueError, match="win_size must be at most"):
        ssim(torch.rand(8, 8), torch.rand(8, 8))  # the Gaussian window is 11 wide
    with pytest.raises(ValueError, match="data_range must be given"):
        psnr(a * 255, a * 255)
    with pytest.raises(ValueError, match="data_range must be > 0"):
        psnr(a, a, data_range=0)
    with pytest.raises(ValueError, match="sigma"):
        ssim(a, a, sigma=-1.0)
