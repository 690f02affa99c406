import cv2
import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image

from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError
from pixlearn.metrics import psnr
from pixlearn.restoration import upscale
from pixlearn.transform import resize

CV2 = {"nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}


def _keys(t, a):
    t = np.abs(t)
    return np.where(t <= 1, ((a + 2) * t - (a + 3)) * t * t + 1,
                    np.where(t < 2, ((a * t - 5 * a) * t + 8 * a) * t - 4 * a, 0.0))  # fmt: skip


def _slow_bicubic(x, out_shape, a):
    """Keys' cubic convolution, one output pixel at a time, edge samples replicated."""
    h, w = x.shape
    oh, ow = out_shape
    out = np.zeros(out_shape)
    for i in range(oh):
        cy = (i + 0.5) * h / oh - 0.5
        for j in range(ow):
            cx = (j + 0.5) * w / ow - 0.5
            y0, x0 = int(np.floor(cy)), int(np.floor(cx))
            acc = 0.0
            for yy in range(y0 - 1, y0 + 3):
                for xx in range(x0 - 1, x0 + 3):
                    v = x[min(max(yy, 0), h - 1), min(max(xx, 0), w - 1)]
                    acc += v * _keys(yy - cy, a) * _keys(xx - cx, a)
            out[i, j] = acc
    return out


@pytest.mark.parametrize("factor", [2, 3, 4])
@pytest.mark.parametrize("method", ["nearest", "bilinear"])
def test_equals_opencv_for_nearest_and_bilinear(method, factor):
    rng = np.random.default_rng(factor)
    x = rng.random((13, 17)).astype(np.float32)
    out = upscale(torch.from_numpy(x), factor, method=method)
    assert out.shape == (13 * factor, 17 * factor) and out.dtype == torch.float32
    ref = cv2.resize(x, None, fx=factor, fy=factor, interpolation=CV2[method])
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-6, rtol=0)


def test_non_integer_factor_equals_opencv_exact_nearest_and_linear():
    rng = np.random.default_rng(0)
    x = rng.random((13, 17)).astype(np.float32)
    out = upscale(torch.from_numpy(x), 2.5, method="nearest").numpy()
    assert out.shape == (33, 43)  # round(32.5) = 33, round(42.5) = 43: half up, like OpenCV
    ref = cv2.resize(x, (43, 33), interpolation=cv2.INTER_NEAREST_EXACT)
    np.testing.assert_array_equal(out, ref)
    out = upscale(torch.from_numpy(x), 2.5, method="bilinear").numpy()
    np.testing.assert_allclose(out, cv2.resize(x, (43, 33)), atol=1e-6, rtol=0)


@pytest.mark.parametrize("factor", [2, 3, 2.5])
def test_bicubic_is_keys_a_half_opencv_is_keys_three_quarters(factor):
    rng = np.random.default_rng(1)
    x = rng.random((9, 11))
    out = upscale(torch.from_numpy(x), factor, method="bicubic").numpy()
    np.testing.assert_allclose(out, _slow_bicubic(x, out.shape, -0.5), atol=1e-12, rtol=0)
    # OpenCV's INTER_CUBIC is the same scheme with a = -0.75 (and no match with a = -0.5)
    cv = cv2.resize(x.astype(np.float32), out.shape[::-1], interpolation=cv2.INTER_CUBIC)
    np.testing.assert_allclose(cv, _slow_bicubic(x, out.shape, -0.75), atol=1e-5, rtol=0)
    assert np.abs(out - cv).max() > 1e-2


def test_bicubic_equals_pil_away_from_the_border():
    # PIL's BICUBIC (a = -0.5) drops samples beyond the edge instead of repeating them:
    # equal wherever the kernel stays inside the image
    rng = np.random.default_rng(2)
    x = rng.random((20, 24)).astype(np.float32)
    out = upscale(torch.from_numpy(x), 3, method="bicubic").numpy()
    pil = np.asarray(Image.fromarray(x, mode="F").resize((72, 60), Image.BICUBIC))
    np.testing.assert_allclose(out[6:-6, 6:-6], pil[6:-6, 6:-6], atol=1e-5, rtol=0)


def test_super_resolution_baseline_psnr_order_on_camera():
    cam = torch.from_numpy(skimage.data.camera() / 255.0)  # (512, 512)
    low = resize(cam, 128)  # anti-aliased 4x reduction
    scores = {m: float(psnr(upscale(low, 4, method=m), cam)) for m in CV2}
    # measured: nearest 24.88, bilinear 25.08, bicubic 25.65 dB
    assert scores["nearest"] < scores["bilinear"] <= scores["bicubic"]
    # and against OpenCV's own upscaling of the same low-resolution image
    ref = cv2.resize(low.numpy(), (512, 512), interpolation=cv2.INTER_LINEAR)
    assert abs(scores["bilinear"] - float(psnr(torch.from_numpy(ref), cam))) < 1e-6


def test_properties_batched_layout_and_gradients():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 6, 5, generator=g, dtype=torch.float64)
    for m in CV2:
        out = upscale(x, 2, method=m)
        assert out.shape == (2, 3, 12, 10)
        torch.testing.assert_close(out[1, 2], upscale(x[1, 2], 2, method=m))
        # transposing commutes with upscaling
        torch.testing.assert_close(upscale(x.transpose(-1, -2), 2, method=m),
                                   out.transpose(-1, -2), atol=1e-12, rtol=0)  # fmt: skip
        # constants stay constant; nearest with an integer factor repeats each pixel
        const = torch.full((4, 4), 0.7, dtype=torch.float64)
        torch.testing.assert_close(upscale(const, 3, method=m), torch.full((12, 12), 0.7,
                                   dtype=torch.float64), atol=1e-12, rtol=0)  # fmt: skip
    rep = x.repeat_interleave(3, -2).repeat_interleave(3, -1)
    assert torch.equal(upscale(x, 3, method="nearest"), rep)
    assert torch.equal(upscale(x, 1), x) and upscale(x, 1) is not x
    assert upscale(torch.zeros(0, 4, 4), 2).shape == (0, 8, 8)
    a = torch.rand(4, 5, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: upscale(t, 2.5, method="bicubic"), (a,))


def test_errors():
    x = torch.rand(8, 8)
    with pytest.raises(ValueRangeError, match="factor"):
        upscale(x, 0.5)
    with pytest.raises(ValueRangeError, match="factor"):
        upscale(x, float("inf"))
    with pytest.raises(ValueRangeError, match="method"):
        upscale(x, 2, method="lanczos")
    with pytest.raises(WrongTypeError, match="image"):
        upscale(x.to(torch.uint8), 2)
    with pytest.raises(ShapeError, match="image"):
        upscale(torch.zeros(4, 0), 2)
    with pytest.raises(ValueRangeError, match="image"):
        upscale(torch.full((4, 4), float("nan")), 2)
