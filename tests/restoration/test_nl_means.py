import numpy as np
import pytest
import skimage.data
import skimage.restoration as skr
import torch

from pixlearn.metrics import psnr
from pixlearn.restoration import denoise_nl_means


@pytest.fixture(scope="module")
def noisy():
    cam = skimage.data.camera()[100:164, 100:180] / 255.0  # (64, 80) float64
    rng = np.random.default_rng(0)
    return cam, cam + 0.1 * rng.standard_normal(cam.shape)


@pytest.mark.parametrize(
    ("s", "d", "h", "sigma"),
    [(7, 11, 0.1, 0.0), (5, 6, 0.08, 0.1), (3, 2, 0.05, 0.0), (1, 3, 0.1, 0.0), (9, 3, 0.3, 0.0)],
)
def test_equals_skimage_fast_mode_on_camera(noisy, s, d, h, sigma):
    x = noisy[1]
    ref = skr.denoise_nl_means(x, s, d, h, sigma=sigma, fast_mode=True)
    t = torch.from_numpy(x)
    out = denoise_nl_means(t, s, d, h, sigma=sigma, approximate_exp=True)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-9)  # measured: 5e-11
    out32 = denoise_nl_means(t.float(), s, d, h, sigma=sigma, approximate_exp=True)
    assert out32.dtype == torch.float32
    np.testing.assert_allclose(out32.numpy(), ref, atol=1e-4)  # measured: 1.4e-6
    exact = denoise_nl_means(t, s, d, h, sigma=sigma)  # exact exp: skimage's approximation
    np.testing.assert_allclose(exact.numpy(), ref, atol=5e-3)  # measured: up to 3.4e-3


@pytest.mark.parametrize("seed", range(2))
def test_random_small_images_and_colour_equal_skimage(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(3, 20, size=2)
    x = rng.random((h, w))
    ref = skr.denoise_nl_means(x, 3, 4, 0.3)
    out = denoise_nl_means(torch.from_numpy(x), 3, 4, 0.3, approximate_exp=True)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-9)
    rgb = rng.random((h, w, 3))
    ref = skr.denoise_nl_means(rgb, 5, 3, 0.2, channel_axis=-1)
    t = torch.from_numpy(rgb).permute(2, 0, 1)
    out = denoise_nl_means(t, 5, 3, 0.2, channel_axis=0, approximate_exp=True)
    np.testing.assert_allclose(out.permute(1, 2, 0).numpy(), ref, atol=1e-9)


def test_improves_psnr_on_camera_with_noise():
    cam = torch.from_numpy(skimage.data.camera()[::4, ::4] / 255.0)
    g = torch.Generator().manual_seed(0)
    x = cam + 0.1 * torch.randn(cam.shape, generator=g, dtype=cam.dtype)
    out = denoise_nl_means(x, 5, 6, 0.08, sigma=0.1)
    assert float(psnr(out, cam, data_range=1.0) - psnr(x, cam, data_range=1.0)) > 3.0


def test_tiny_h_returns_the_input_and_constant_stays_constant():
    x = torch.rand(2, 10, 12, dtype=torch.float64)
    assert torch.allclose(denoise_nl_means(x, 3, 2, 1e-6), x, atol=1e-12)
    const = torch.full((9, 9), 0.3, dtype=torch.float64)
    assert torch.allclose(denoise_nl_means(const, 5, 3, 0.1), const, atol=1e-15)


def test_batched_equals_per_item_layout_and_empty():
    x = torch.rand(2, 3, 11, 13, dtype=torch.float64)
    out = denoise_nl_means(x, 3, 2, 0.2)
    assert torch.allclose(out[1, 2], denoise_nl_means(x[1, 2], 3, 2, 0.2), atol=1e-14)
    joint = denoise_nl_means(x, 3, 2, 0.2, channel_axis=1)
    assert torch.allclose(joint[0], denoise_nl_means(x[0], 3, 2, 0.2, channel_axis=0))
    y = torch.rand(13, 11, dtype=torch.float64)
    assert torch.allclose(
        denoise_nl_means(y.t(), 3, 2, 0.2), denoise_nl_means(y.t().contiguous(), 3, 2, 0.2)
    )
    assert denoise_nl_means(torch.zeros(0, 4, 4), 3, 1, 0.1).shape == (0, 4, 4)


def test_gradcheck():
    x = torch.rand(6, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: denoise_nl_means(t, 3, 1, 2.0), (x,))


def test_errors():
    with pytest.raises(ValueError, match="patch_size"):
        denoise_nl_means(torch.rand(8, 8), 4)
    with pytest.raises(ValueError, match="image"):
        denoise_nl_means(torch.tensor([[0.0, float("nan")], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="h must"):
        denoise_nl_means(torch.rand(8, 8), 3, 2, 0.0)
    with pytest.raises(ValueError, match="sigma"):
        denoise_nl_means(torch.rand(8, 8), 3, 2, 0.1, sigma=-1.0)
    with pytest.raises(ValueError, match="patch_distance"):
        denoise_nl_means(torch.rand(8, 8), 3, -1)
    with pytest.raises(TypeError, match="image"):
        denoise_nl_means(torch.ones(5, 5, dtype=torch.int32))
