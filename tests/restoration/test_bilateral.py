import numpy as np
import pytest
import skimage.data
import skimage.restoration as skr
import torch

from pixlearn.restoration import denoise_bilateral


@pytest.fixture(scope="module")
def noisy():
    cam = skimage.data.camera()[100:164, 100:180] / 255.0
    rng = np.random.default_rng(0)
    return np.clip(cam + 0.1 * rng.standard_normal(cam.shape), 0, 1)


def _slow(x, win, sc, ss, bins, mode, cval):
    """The textbook filter with scikit-image's tabulated range weight, one pixel at a time."""
    e = (win - 1) // 2
    xp = np.pad(x, e, mode=mode, **({"constant_values": cval} if mode == "constant" else {}))
    out = np.empty_like(x)
    top = x.max()
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            q = xp[i : i + 2 * e + 1, j : j + 2 * e + 1]
            rr, cc = np.mgrid[-e : e + 1, -e : e + 1]
            gs = np.exp(-0.5 * (rr**2 + cc**2) / ss**2)
            lvl = np.minimum(np.floor(np.abs(q - x[i, j]) * bins / top), bins - 1)
            wgt = gs * np.exp(-0.5 * (lvl * top / bins) ** 2 / sc**2)
            out[i, j] = (wgt * q).sum() / wgt.sum()
    return out


@pytest.mark.parametrize("mode", ["constant", "edge", "symmetric", "reflect", "wrap"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_equals_skimage_with_a_flat_spatial_kernel(noisy, mode, dtype):
    # skimage 0.26 scrambles its spatial table (see the docstring): compared where it is flat
    x = noisy.astype(dtype)
    ref = skr.denoise_bilateral(x, 5, 0.1, 1e4, mode=mode, cval=0.3)
    out = denoise_bilateral(torch.from_numpy(x), 5, 0.1, 1e4, mode=mode, cval=0.3)
    assert out.dtype == torch.from_numpy(x).dtype
    tol = 1e-8 if dtype == np.float64 else 1e-5  # measured: 2e-9, 3e-7
    np.testing.assert_allclose(out.numpy(), ref, atol=tol)


def test_default_sigma_color_bins_and_colour_equal_skimage(noisy):
    ref = skr.denoise_bilateral(noisy, win_size=7, sigma_spatial=1e4, bins=50)
    out = denoise_bilateral(torch.from_numpy(noisy), 7, None, 1e4, bins=50)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-8)
    rgb = skimage.data.astronaut()[100:130, 100:140] / 255.0
    ref = skr.denoise_bilateral(rgb, 5, 0.05, 1e4, channel_axis=-1)
    t = torch.from_numpy(rgb).permute(2, 0, 1)
    out = denoise_bilateral(t, 5, 0.05, 1e4, channel_axis=0).permute(1, 2, 0)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-5)  # measured: 7e-7


@pytest.mark.parametrize("mode", ["constant", "reflect"])
def test_equals_slow_loop_with_a_gaussian_spatial_kernel(mode):
    x = np.random.default_rng(3).random((9, 12))
    ref = _slow(x, 5, 0.2, 1.5, 100, mode, 0.1)
    out = denoise_bilateral(torch.from_numpy(x), 5, 0.2, 1.5, bins=100, mode=mode, cval=0.1)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)


def test_edge_kept_constant_unchanged_and_huge_sigma_color_is_a_gaussian_blur():
    step = torch.zeros(10, 10, dtype=torch.float64)
    step[:, 5:] = 1.0
    assert torch.allclose(denoise_bilateral(step, 5, 0.1, 2.0, mode="edge"), step, atol=1e-9)
    const = torch.full((6, 7), 0.25)
    assert torch.equal(denoise_bilateral(const), const)
    x = torch.rand(12, 12, dtype=torch.float64)
    out = denoise_bilateral(x, 3, 1e6, 1.0, bins=None, mode="wrap")
    k = torch.exp(-0.5 * torch.tensor([[2.0, 1, 2], [1, 0, 1], [2, 1, 2]], dtype=x.dtype))
    k = k / k.sum()
    ref = sum(k[i, j] * x.roll((1 - i, 1 - j), (0, 1)) for i in range(3) for j in range(3))
    assert torch.allclose(out, ref, atol=1e-10)


def test_batched_equals_per_item_layout_and_empty():
    x = torch.rand(2, 3, 10, 9, dtype=torch.float64)
    out = denoise_bilateral(x, 5, 0.2)
    assert torch.allclose(out[1, 0], denoise_bilateral(x[1, 0], 5, 0.2), atol=1e-14)
    y = torch.rand(13, 11)
    assert torch.allclose(
        denoise_bilateral(y.t(), 5, 0.2), denoise_bilateral(y.t().contiguous(), 5, 0.2)
    )
    assert denoise_bilateral(torch.zeros(0, 4, 4)).shape == (0, 4, 4)


def test_gradcheck_exact_range_kernel():
    x = torch.rand(5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: denoise_bilateral(t, 3, 0.3, 1.0, bins=None), (x,))
    c = torch.rand(2, 4, 5, dtype=torch.float64, requires_grad=True)
    f = lambda t: denoise_bilateral(t, 3, 0.3, 1.0, bins=None, channel_axis=0)  # noqa: E731
    assert torch.autograd.gradcheck(f, (c,))


def test_errors():
    with pytest.raises(ValueError, match="sigma_spatial"):
        denoise_bilateral(torch.rand(8, 8), sigma_spatial=-1.0)
    with pytest.raises(ValueError, match="sigma_color"):
        denoise_bilateral(torch.rand(8, 8), sigma_color=0.0)
    with pytest.raises(ValueError, match="image"):
        denoise_bilateral(torch.tensor([[0.0, float("nan")], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="mode"):
        denoise_bilateral(torch.rand(8, 8), mode="mirror")
    with pytest.raises(ValueError, match="win_size"):
        denoise_bilateral(torch.rand(8, 8), 0)
    with pytest.raises(ValueError, match="bins"):
        denoise_bilateral(torch.rand(8, 8), bins=0)
