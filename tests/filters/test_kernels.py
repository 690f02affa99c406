import numpy as np
import pytest
import scipy.ndimage as ndi
import torch

from pixlearn.filters import box_kernel, gaussian_kernel1d, gaussian_kernel2d, sobel_kernels


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.3])
@pytest.mark.parametrize("order", [0, 1, 2])
def test_gaussian_kernel1d_matches_scipy_impulse_response(sigma, order):
    k = gaussian_kernel1d(sigma, truncate=3.0, order=order, dtype=torch.float64)
    r = int(3.0 * sigma + 0.5)
    impulse = np.zeros(4 * r + 3)
    impulse[2 * r + 1] = 1.0
    ref = ndi.gaussian_filter1d(impulse, sigma, order=order, truncate=3.0, mode="constant")
    # the response to an impulse is the convolution kernel itself
    np.testing.assert_allclose(k.numpy(), ref[r + 1 : 3 * r + 2], atol=1e-14)


def test_gaussian_kernel2d_is_outer_product_and_sums_to_one():
    k = gaussian_kernel2d((1.0, 2.0), dtype=torch.float64)
    ky, kx = (
        gaussian_kernel1d(1.0, dtype=torch.float64),
        gaussian_kernel1d(2.0, dtype=torch.float64),
    )
    assert torch.allclose(k, torch.outer(ky, kx), atol=0)
    assert k.sum().item() == pytest.approx(1.0, abs=1e-12)
    # rank one: a separable kernel has a single non-zero singular value
    s = torch.linalg.svdvals(k)
    assert s[1] < 1e-12 * s[0]


def test_box_and_sobel_kernels():
    assert torch.allclose(box_kernel((2, 3)), torch.full((2, 3), 1 / 6))
    s = sobel_kernels(dtype=torch.float64)
    assert torch.equal(s[0], s[1].t())
    assert s.shape == (2, 3, 3) and s.sum().item() == 0.0
    assert box_kernel(3, dtype=torch.float64).dtype == torch.float64


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_sigma_must_be_positive(bad):
    with pytest.raises(ValueError, match="sigma"):
        gaussian_kernel1d(bad)


def test_bad_order_truncate_size():
    with pytest.raises(ValueError, match="order"):
        gaussian_kernel1d(1.0, order=3)
    with pytest.raises(ValueError, match="truncate"):
        gaussian_kernel1d(1.0, truncate=0)
    with pytest.raises(ValueError, match="size"):
        box_kernel(0)
    with pytest.raises(ValueError, match="sigma"):
        gaussian_kernel2d((1.0, 2.0, 3.0))
