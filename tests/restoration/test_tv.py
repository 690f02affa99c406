import numpy as np
import pytest
import skimage.data
import skimage.restoration as skr
import torch

from pixlearn.metrics import psnr
from pixlearn.restoration import denoise_tv


@pytest.fixture(scope="module")
def noisy():
    cam = skimage.data.camera()[::2, ::2] / 255.0  # (256, 256) float64
    rng = np.random.default_rng(0)
    return cam, cam + 0.1 * rng.standard_normal(cam.shape)


def _tv(u):
    return float(u.diff(dim=-1).abs().sum() + u.diff(dim=-2).abs().sum())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weight", [0.02, 0.1, 0.3, 1.0])
def test_equals_skimage_on_camera(noisy, dtype, weight):
    x = noisy[1].astype(dtype)
    ref = skr.denoise_tv_chambolle(x, weight=weight)
    out = denoise_tv(torch.from_numpy(x), weight)
    assert out.dtype == torch.from_numpy(x).dtype
    tol = 1e-12 if dtype == np.float64 else 1e-5  # measured: 6e-15 and 3e-6
    np.testing.assert_allclose(out.numpy(), ref, atol=tol, rtol=0)


@pytest.mark.parametrize("seed", range(3))
def test_random_images_and_fixed_iterations_equal_skimage(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(2, 40, size=2)
    x = rng.random((h, w))
    for kw in ({}, {"max_num_iter": 5}, {"eps": 0.0, "max_num_iter": 30}):
        ref = skr.denoise_tv_chambolle(x, weight=0.2, **kw)
        out = denoise_tv(torch.from_numpy(x), 0.2, **kw)
        np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)


def test_batched_equals_per_item_each_stopping_on_its_own():
    rng = np.random.default_rng(1)
    x = rng.random((2, 3, 20, 24)) * np.array([1.0, 0.1, 3.0])[:, None, None]
    out = denoise_tv(torch.from_numpy(x), 0.2)
    for i in range(2):
        for j in range(3):
            ref = skr.denoise_tv_chambolle(x[i, j], weight=0.2)
            np.testing.assert_allclose(out[i, j].numpy(), ref, atol=1e-12)
    assert denoise_tv(torch.zeros(0, 5, 6), 0.1).shape == (0, 5, 6)


def test_reduces_total_variation_and_improves_psnr(noisy):
    clean, x = (torch.from_numpy(a).float() for a in noisy)
    out = denoise_tv(x, 0.1)
    assert _tv(out) < 0.5 * _tv(x)
    gain = float(psnr(out, clean, data_range=1.0) - psnr(x, clean, data_range=1.0))
    assert gain > 5.0  # measured: about +8 dB


def test_weight_zero_one_iteration_and_constant_image_return_the_input():
    x = torch.rand(2, 9, 11, dtype=torch.float64)
    assert torch.equal(denoise_tv(x, 0.0), x)
    assert torch.equal(denoise_tv(x, 0.3, max_num_iter=1), x)
    const = torch.full((7, 8), 0.4)
    assert torch.equal(denoise_tv(const, 0.5), const)


def test_coupled_channels_one_channel_equals_planes_and_colour_is_jointly_smoothed():
    x = torch.rand(2, 1, 12, 13, dtype=torch.float64)
    assert torch.allclose(denoise_tv(x, 0.2, channel_axis=1), denoise_tv(x, 0.2), atol=1e-14)
    rgb = torch.rand(3, 16, 16, dtype=torch.float64)
    joint = denoise_tv(rgb, 0.2, channel_axis=0)
    assert joint.shape == rgb.shape
    assert not torch.allclose(joint, denoise_tv(rgb, 0.2))
    batched = denoise_tv(torch.stack([rgb, rgb.flip(-1)]), 0.2, channel_axis=-3)
    assert torch.allclose(batched[0], joint, atol=1e-14)
    assert torch.allclose(batched[1], denoise_tv(rgb.flip(-1), 0.2, channel_axis=0), atol=1e-14)


def test_non_contiguous_float16_and_input_untouched():
    x = torch.rand(20, 16, dtype=torch.float64)
    copy = x.clone()
    assert torch.allclose(denoise_tv(x.t(), 0.1), denoise_tv(x.t().contiguous(), 0.1))
    assert torch.equal(x, copy)
    half = denoise_tv(x.half(), 0.1)
    assert half.dtype == torch.float16


def test_gradcheck():
    x = torch.rand(5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: denoise_tv(t, 0.3, eps=0.0, max_num_iter=6), (x,))


def test_errors():
    with pytest.raises(ValueError, match="weight"):
        denoise_tv(torch.rand(5, 5), -0.1)
    with pytest.raises(ValueError, match="image"):
        denoise_tv(torch.tensor([[0.0, float("nan")], [0.0, 0.0]]), 0.1)
    with pytest.raises(ValueError, match="max_num_iter"):
        denoise_tv(torch.rand(5, 5), 0.1, max_num_iter=0)
    with pytest.raises(ValueError, match="eps"):
        denoise_tv(torch.rand(5, 5), 0.1, eps=-1.0)
    with pytest.raises(TypeError, match="image"):
        denoise_tv(torch.ones(5, 5, dtype=torch.uint8), 0.1)
    with pytest.raises(ValueError, match="channel_axis"):
        denoise_tv(torch.rand(3, 5, 5), 0.1, channel_axis=-1)
