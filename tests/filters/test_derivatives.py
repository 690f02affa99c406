import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.filters
import torch

from pixlearn.data import sample
from pixlearn.filters import (
    difference_of_gaussians,
    gaussian_derivative2d,
    laplacian_of_gaussian,
    sobel,
)


@pytest.fixture(scope="module")
def camera():
    return sample("camera", dtype=torch.float64)[0, ::2, ::2].contiguous()  # (256, 256)


@pytest.mark.parametrize("order", [(0, 1), (1, 0), (2, 0), (0, 2), (1, 1), (2, 2), (1, 2)])
def test_derivatives_match_scipy(camera, order):
    ref = ndi.gaussian_filter(camera.numpy(), (1.5, 2.0), order=order, mode="mirror")
    out = gaussian_derivative2d(camera, (1.5, 2.0), order)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)
    out32 = gaussian_derivative2d(camera.float(), (1.5, 2.0), order)
    np.testing.assert_allclose(out32.numpy(), ref, atol=1e-5)


def test_log_matches_scipy_gaussian_laplace():
    f = torch.rand(2, 30, 41, dtype=torch.float64)
    ref = np.stack([ndi.gaussian_laplace(i, 2.0, mode="mirror") for i in f.numpy()])
    np.testing.assert_allclose(laplacian_of_gaussian(f, 2.0).numpy(), ref, atol=1e-12)
    assert torch.allclose(
        laplacian_of_gaussian(f, 2.0, normalize=True), 4 * laplacian_of_gaussian(f, 2.0)
    )


def test_dog_matches_skimage_and_approximates_log(camera):
    ref = skimage.filters.difference_of_gaussians(
        camera.numpy(), 2.0, 3.2, mode="mirror", truncate=4.0
    )
    np.testing.assert_allclose(difference_of_gaussians(camera, 2.0).numpy(), ref, atol=1e-12)
    dog = difference_of_gaussians(camera, 2.0, 3.2).flatten()
    # G(k s) - G(s) = integral over t in [s, k s] of t * LoG_t dt: compare with the LoG at
    # the geometric mean scale s * sqrt(k)
    log = laplacian_of_gaussian(camera, 2.0 * 1.6**0.5).flatten()
    corr = torch.corrcoef(torch.stack([dog, -log]))[0, 1]
    assert corr > 0.95


def test_derivative_of_ramp_is_its_slope():
    y, x = torch.meshgrid(torch.arange(40.0), torch.arange(50.0), indexing="ij")
    ramp = (0.3 * x - 0.7 * y).double()
    # truncate=6: the sampled kernel's second moment equals sigma^2 to ~1e-8
    inner = (slice(15, 25), slice(15, 35))
    dx = gaussian_derivative2d(ramp, 2.0, (0, 1), truncate=6.0)[inner]
    dy = gaussian_derivative2d(ramp, 2.0, (1, 0), truncate=6.0)[inner]
    assert torch.allclose(dx, torch.full_like(dx, 0.3), atol=1e-6)
    assert torch.allclose(dy, torch.full_like(dy, -0.7), atol=1e-6)
    assert gaussian_derivative2d(ramp, 2.0, (0, 2), truncate=6.0)[inner].abs().max() < 1e-6
    # Sobel (scikit-image normalisation) gives twice the slope
    assert torch.allclose(sobel(ramp, axis=-1)[inner], torch.full_like(dx, 0.6), atol=1e-12)


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_sobel_matches_skimage(camera, axis):
    ref = skimage.filters.sobel(camera.numpy(), axis=axis, mode="mirror")
    np.testing.assert_allclose(sobel(camera, axis=axis).numpy(), ref, atol=1e-12)
    ref32 = skimage.filters.sobel(camera.float().numpy(), axis=axis, mode="mirror")
    np.testing.assert_allclose(sobel(camera.float(), axis=axis).numpy(), ref32, atol=1e-6)


@pytest.mark.parametrize(
    ("border", "mode"), [("replicate", "nearest"), ("circular", "wrap"), ("constant", "constant")]
)
def test_sobel_borders(border, mode):
    f = np.random.rand(13, 17)
    ref = skimage.filters.sobel(f, mode=mode)
    np.testing.assert_allclose(sobel(torch.from_numpy(f), border=border).numpy(), ref, atol=1e-12)


def test_batched_zero_batch_layout():
    x = torch.rand(2, 3, 20, 18)
    assert torch.allclose(sobel(x)[1, 0], sobel(x[1, 0]))
    assert torch.allclose(
        gaussian_derivative2d(x, 1.0, (1, 1))[0, 2], gaussian_derivative2d(x[0, 2], 1.0, (1, 1))
    )
    assert sobel(torch.rand(0, 5, 5)).shape == (0, 5, 5)
    assert laplacian_of_gaussian(torch.rand(0, 5, 5), 1.0).shape == (0, 5, 5)
    cl = x.to(memory_format=torch.channels_last)
    assert torch.allclose(sobel(cl), sobel(x))
    t = torch.rand(18, 20).t()
    assert torch.allclose(laplacian_of_gaussian(t, 1.0), laplacian_of_gaussian(t.contiguous(), 1.0))


def test_gradcheck():
    x = torch.rand(1, 8, 9, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: gaussian_derivative2d(t, 0.7, (1, 2)), (x,))
    assert torch.autograd.gradcheck(lambda t: laplacian_of_gaussian(t, 0.7), (x,))
    assert torch.autograd.gradcheck(lambda t: difference_of_gaussians(t, 0.5), (x,))
    assert torch.autograd.gradcheck(lambda t: sobel(t), (x,))
    assert torch.autograd.gradcheck(lambda t: sobel(t, axis=0, border="circular"), (x,))


def test_bad_inputs():
    img = torch.rand(8, 8)
    with pytest.raises(ValueError, match="sigma"):
        gaussian_derivative2d(img, -1.0)
    with pytest.raises(ValueError, match="order"):
        gaussian_derivative2d(img, 1.0, (3, 0))
    with pytest.raises(ValueError, match="sigma_high"):
        difference_of_gaussians(img, 2.0, 1.0)
    with pytest.raises(ValueError, match="sigma_low"):
        difference_of_gaussians(img, 0.0)
    with pytest.raises(ValueError, match="axis"):
        sobel(img, axis=2)
    with pytest.raises(ValueError, match="border"):
        sobel(img, border="symmetric")
    with pytest.raises(ValueError, match="image"):
        sobel(torch.tensor([[float("nan"), 1.0]]))
    with pytest.raises(ValueError, match="image"):
        laplacian_of_gaussian(torch.rand(4, 0), 1.0)
    with pytest.raises(TypeError, match=r"image.*float"):
        sobel(torch.ones(4, 4, dtype=torch.uint8))


@pytest.mark.parametrize("border", ["reflect", "replicate", "constant", "circular"])
@pytest.mark.parametrize("axis", [None, 0, -1])
def test_sobel_block_path_equals_autograd_path(monkeypatch, border, axis):
    # without autograd the blocked path runs; small blocks force bands, ragged ends, batches
    import pixlearn.filters.derivatives as deriv

    monkeypatch.setattr(deriv, "_SOBEL_BLOCK", 200)
    g = torch.Generator().manual_seed(5)
    for shape in [(3, 2, 13, 11), (1, 40, 9), (2, 1, 7), (2, 6, 1)]:
        x = torch.rand(shape, generator=g, dtype=torch.float64)
        slow = sobel(x.requires_grad_(), axis=axis, border=border).detach()
        fast = sobel(x.detach(), axis=axis, border=border)
        assert torch.allclose(fast, slow, rtol=0, atol=1e-15), (shape, border)
