"""FFT convolution against SciPy and the direct sum."""

import numpy as np
import pytest
import scipy.signal
import torch

from pixlearn.filters import fft_convolve

MODES = ["full", "same", "valid"]


def _slow_convolve_full(f, k):
    """g(y, x) = sum_{u, v} f(y - u, x - v) k(u, v), by explicit loops (the 'full' result)."""
    H, W = f.shape
    h, w = k.shape
    g = np.zeros((H + h - 1, W + w - 1))
    for y in range(H + h - 1):
        for x in range(W + w - 1):
            for u in range(h):
                for v in range(w):
                    if 0 <= y - u < H and 0 <= x - v < W:
                        g[y, x] += f[y - u, x - v] * k[u, v]
    return g


# ---------------------------------------------------------------- fft_convolve


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ksize", [(3, 3), (4, 6), (7, 2), (1, 1)])
def test_fft_convolve_matches_scipy_float32(mode, ksize):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((2, 21, 24)).astype(np.float32)
    k = rng.standard_normal(ksize).astype(np.float32)
    ref = scipy.signal.fftconvolve(a, k[None], mode=mode, axes=(-2, -1))
    out = fft_convolve(torch.from_numpy(a), torch.from_numpy(k), mode=mode)
    assert out.dtype == torch.float32 and out.shape == ref.shape
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-5, rtol=1e-5)


def test_fft_convolve_kernel_larger_than_image_in_full_and_same():
    rng = np.random.default_rng(2)
    a, k = rng.standard_normal((5, 6)), rng.standard_normal((9, 8))
    for mode in ("full", "same"):
        ref = scipy.signal.fftconvolve(a, k, mode=mode)
        out = fft_convolve(torch.from_numpy(a), torch.from_numpy(k), mode=mode)
        np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)


def test_fft_convolve_matches_the_direct_sum():
    rng = np.random.default_rng(3)
    f, k = rng.standard_normal((9, 11)), rng.standard_normal((4, 3))
    full = _slow_convolve_full(f, k)
    out = fft_convolve(torch.from_numpy(f), torch.from_numpy(k), mode="full")
    np.testing.assert_allclose(out.numpy(), full, atol=1e-12)
    valid = fft_convolve(torch.from_numpy(f), torch.from_numpy(k), mode="valid")
    np.testing.assert_allclose(valid.numpy(), full[3:9, 2:11], atol=1e-12)


def test_fft_convolve_batched_kernels_broadcast_and_equal_per_item():
    x = torch.randn(3, 2, 12, 13, dtype=torch.float64)
    k = torch.randn(2, 3, 5, dtype=torch.float64)  # one kernel per channel
    out = fft_convolve(x, k, mode="same")
    assert out.shape == (3, 2, 12, 13)
    for b in range(3):
        for c in range(2):
            assert torch.allclose(out[b, c], fft_convolve(x[b, c], k[c], mode="same"))


def test_fft_convolve_zero_batch_non_contiguous_and_half():
    k = torch.rand(3, 3)
    assert fft_convolve(torch.rand(0, 8, 9), k).shape == (0, 10, 11)
    x = torch.rand(20, 16)
    assert torch.allclose(fft_convolve(x.t(), k), fft_convolve(x.t().contiguous(), k))
    out = fft_convolve(x.half(), k)
    assert out.dtype == torch.float16
    assert torch.allclose(out.float(), fft_convolve(x.half().float(), k), atol=1e-2)


def test_fft_convolve_gradcheck():
    x = torch.rand(1, 6, 7, dtype=torch.float64, requires_grad=True)
    k = torch.rand(3, 2, dtype=torch.float64, requires_grad=True)
    for mode in MODES:
        assert torch.autograd.gradcheck(lambda a, b, m=mode: fft_convolve(a, b, mode=m), (x, k))


def test_fft_convolve_errors():
    with pytest.raises(ValueError, match="kernel"):
        fft_convolve(torch.rand(4, 4), torch.rand(5, 3), mode="valid")
    with pytest.raises(ValueError, match="mode"):
        fft_convolve(torch.rand(4, 4), torch.rand(3, 3), mode="circular")
    with pytest.raises(ValueError, match="kernel"):
        fft_convolve(torch.rand(2, 4, 4), torch.rand(3, 3, 3))
    with pytest.raises(ValueError, match="image"):
        fft_convolve(torch.tensor([[1.0, float("nan")]]), torch.rand(3, 3))
    with pytest.raises(ValueError, match="kernel"):
        fft_convolve(torch.rand(4, 4), torch.rand(0, 3))
    with pytest.raises(TypeError, match="image"):
        fft_convolve(torch.ones(4, 4, dtype=torch.uint8), torch.rand(3, 3))
