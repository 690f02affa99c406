import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal
import torch

from pixlearn.data import sample
from pixlearn.filters import (
    GaussianBlur2d,
    box_blur2d,
    convolve2d,
    correlate2d,
    gaussian_blur2d,
    gaussian_kernel1d,
    gaussian_kernel2d,
)

SCIPY_MODE = {
    "reflect": "mirror",
    "replicate": "nearest",
    "constant": "constant",
    "circular": "wrap",
}
BORDERS = list(SCIPY_MODE)


@pytest.fixture(scope="module")
def camera():
    return sample("camera", dtype=torch.float32)[0, ::2, ::2].contiguous()  # (256, 256)


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("kshape", [(3, 3), (4, 2), (2, 5), (5, 4), (1, 6)])
def test_convolve_and_correlate_match_scipy_ndimage(border, kshape):
    f = torch.rand(9, 11, dtype=torch.float64)
    k = torch.randn(kshape, dtype=torch.float64)
    kw = dict(mode=SCIPY_MODE[border], cval=0.7)
    out = convolve2d(f, k, border=border, value=0.7).numpy()
    np.testing.assert_allclose(out, ndi.convolve(f.numpy(), k.numpy(), **kw), atol=1e-12)
    out = correlate2d(f, k, border=border, value=0.7).numpy()
    np.testing.assert_allclose(out, ndi.correlate(f.numpy(), k.numpy(), **kw), atol=1e-12)


@pytest.mark.parametrize("border", BORDERS)
def test_kernel_larger_than_image(border):
    # reflect repeats the mirroring (NumPy 'reflect' semantics for wide pads)
    f = torch.rand(3, 4, dtype=torch.float64)
    k = torch.rand(9, 7, dtype=torch.float64)
    np_mode = {
        "reflect": "reflect",
        "replicate": "edge",
        "constant": "constant",
        "circular": "wrap",
    }
    padded = np.pad(f.numpy(), ((4, 4), (3, 3)), mode=np_mode[border])
    ref = scipy.signal.correlate2d(padded, k.numpy(), mode="valid")
    np.testing.assert_allclose(correlate2d(f, k, border=border).numpy(), ref, atol=1e-12)


def test_convolve_matches_scipy_signal_zero_border():
    f, k = torch.rand(12, 10, dtype=torch.float64), torch.rand(5, 3, dtype=torch.float64)
    ref = scipy.signal.convolve2d(f.numpy(), k.numpy(), mode="same", boundary="fill")
    np.testing.assert_allclose(convolve2d(f, k, border="constant").numpy(), ref, atol=1e-12)


@pytest.mark.parametrize("kshape", [(3, 5), (1, 7)])
def test_convolution_is_correlation_with_flipped_kernel(kshape):
    f, k = torch.rand(2, 10, 12), torch.rand(kshape)
    assert torch.allclose(convolve2d(f, k), correlate2d(f, k.flip(0, 1)), atol=1e-6)


def test_even_kernel_centre():
    # convolve: k[kh//2, kw//2] lands on the impulse position
    img = torch.zeros(8, 8, dtype=torch.float64)
    img[4, 4] = 1.0
    k = torch.rand(4, 4, dtype=torch.float64)
    out = convolve2d(img, k, border="constant")
    assert torch.equal(out[2:6, 2:6], k)


@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("sigma", [1.0, (2.5, 0.8), 3.0])
def test_gaussian_matches_scipy_on_camera(camera, border, sigma):
    ref = ndi.gaussian_filter(camera.double().numpy(), sigma, truncate=3.5, mode=SCIPY_MODE[border])
    out = gaussian_blur2d(camera, sigma, truncate=3.5, border=border)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-5)


def test_gaussian_matches_scipy_on_random_odd_sizes():
    # sizes not a multiple of the 32-row blocks, long kernels on both passes
    f = torch.rand(3, 77, 45, dtype=torch.float64)
    ref = ndi.gaussian_filter(f.numpy(), (0, 4.0, 2.0), mode="mirror")
    np.testing.assert_allclose(gaussian_blur2d(f, (4.0, 2.0)).numpy(), ref, atol=1e-12)


def test_gaussian_is_separable_2d_kernel_equals_two_passes():
    f = torch.rand(2, 40, 33, dtype=torch.float64)
    k2 = gaussian_kernel2d((1.5, 2.0), dtype=torch.float64)
    assert torch.allclose(gaussian_blur2d(f, (1.5, 2.0)), convolve2d(f, k2), atol=1e-12)
    k1 = gaussian_kernel1d(1.5, dtype=torch.float64)
    two = convolve2d(convolve2d(f, k1[:, None]), gaussian_kernel1d(2.0, dtype=torch.float64)[None])
    assert torch.allclose(gaussian_blur2d(f, (1.5, 2.0)), two, atol=1e-12)


def test_gaussian_of_constant_is_constant():
    f = torch.full((3, 20, 17), 0.37, dtype=torch.float64)
    for border in BORDERS[:2] + BORDERS[3:]:
        assert torch.allclose(gaussian_blur2d(f, 2.0, border=border), f, atol=1e-14)


def test_box_blur_matches_scipy_uniform_filter():
    f = torch.rand(31, 40, dtype=torch.float64)
    ref = ndi.uniform_filter(f.numpy(), (3, 9), mode="mirror")
    np.testing.assert_allclose(box_blur2d(f, (3, 9)).numpy(), ref, atol=1e-12)


def test_batched_equals_per_item_zero_batch_and_module():
    x = torch.rand(2, 3, 40, 36)
    out = gaussian_blur2d(x, 1.7)
    assert torch.allclose(out[1, 2], gaussian_blur2d(x[1, 2], 1.7), atol=1e-6)
    assert torch.equal(GaussianBlur2d(1.7)(x), out)
    assert gaussian_blur2d(torch.rand(0, 3, 8, 8), 1.0).shape == (0, 3, 8, 8)
    assert convolve2d(torch.rand(0, 8, 8), torch.ones(3, 3)).shape == (0, 8, 8)
    assert box_blur2d(torch.rand(0, 8, 8), 3).shape == (0, 8, 8)


def test_non_contiguous_and_channels_last():
    x = torch.rand(2, 3, 20, 24)
    cl = x.to(memory_format=torch.channels_last)
    assert torch.allclose(gaussian_blur2d(cl, 1.0), gaussian_blur2d(x, 1.0), atol=1e-6)
    t = torch.rand(24, 20).t()
    k = torch.rand(3, 3)
    assert torch.allclose(convolve2d(t, k), convolve2d(t.contiguous(), k), atol=1e-6)
    x0 = x.clone()
    gaussian_blur2d(x, 2.0)
    assert torch.equal(x, x0)  # input untouched


def test_float16_and_float64_keep_dtype():
    x = torch.rand(10, 10)
    assert gaussian_blur2d(x.half(), 1.0).dtype == torch.float16
    assert torch.allclose(
        gaussian_blur2d(x.half(), 1.0).float(), gaussian_blur2d(x, 1.0), atol=2e-3
    )


def test_gradcheck():
    x = torch.rand(1, 9, 8, dtype=torch.float64, requires_grad=True)
    k = torch.rand(3, 2, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda t: convolve2d(t, k, border="replicate"), (x,))
    assert torch.autograd.gradcheck(lambda t: gaussian_blur2d(t, 0.8), (x,))
    y = torch.rand(40, 9, dtype=torch.float64, requires_grad=True)  # the banded-matrix path
    assert torch.autograd.gradcheck(lambda t: gaussian_blur2d(t, (2.0, 0.5)), (y,))


def test_bad_inputs():
    img = torch.rand(8, 8)
    with pytest.raises(ValueError, match="kernel"):
        convolve2d(img, torch.ones(3))
    with pytest.raises(ValueError, match="kernel"):
        correlate2d(img, torch.ones(1, 3, 3))
    with pytest.raises(ValueError, match="border"):
        convolve2d(img, torch.ones(3, 3), border="mirror")
    with pytest.raises(ValueError, match="sigma"):
        gaussian_blur2d(img, 0.0)
    with pytest.raises(ValueError, match="sigma"):
        gaussian_blur2d(img, (1.0, -2.0))
    with pytest.raises(ValueError, match="image"):
        gaussian_blur2d(torch.tensor([[1.0, float("nan")]]), 1.0)
    with pytest.raises(ValueError, match="image"):
        gaussian_blur2d(torch.rand(0, 5), 1.0)
    with pytest.raises(TypeError, match=r"image.*float"):
        convolve2d(torch.ones(4, 4, dtype=torch.uint8), torch.ones(3, 3))
    with pytest.raises(ValueError, match="kernel"):
        convolve2d(img, torch.tensor([[float("inf")]]))
    with pytest.raises(ValueError, match="size"):
        box_blur2d(img, 0)
