import itertools
import math

import numpy as np
import pytest
import pywt
import torch

from pixlearn._core.errors import ValueRangeError
from pixlearn.compression import WaveletCompressed, jpeg_decode, jpeg_encode, wavelet_compress
from pixlearn.data import sample
from pixlearn.metrics import psnr


def _pywt_reference(img: np.ndarray, keep: float, wavelet: str, level: int, mode: str):
    """The slow way: PyWavelets' transform, a global magnitude threshold, its inverse."""
    coeffs = pywt.wavedec2(img, wavelet, mode=mode, level=level)
    total = coeffs[0].size + sum(d.size for level in coeffs[1:] for d in level)
    # coeffs_to_array pads with zeros where the bands do not tile: those never win
    arr, slices = pywt.coeffs_to_array(coeffs)
    k = math.ceil(keep * total)
    order = np.argsort(-np.abs(arr), axis=None, kind="stable")
    kept = np.zeros(arr.size)
    kept[order[:k]] = arr.ravel()[order[:k]]
    back = pywt.array_to_coeffs(kept.reshape(arr.shape), slices, output_format="wavedec2")
    return pywt.waverec2(back, wavelet, mode=mode)[: img.shape[0], : img.shape[1]], k


@pytest.mark.parametrize(
    ("wavelet", "mode", "size", "level"),
    [
        ("db2", "periodization", (64, 64), 3),
        ("haar", "periodization", (40, 56), 2),
        ("db4", "symmetric", (45, 38), 2),
        ("bior2.2", "zero", (33, 50), 2),
    ],
)
@pytest.mark.parametrize("keep", [0.03, 0.2, 0.5])
def test_equals_pywavelets_threshold_reference(wavelet, mode, size, level, keep):
    img = np.random.default_rng(3).random(size)
    ref, k = _pywt_reference(img, keep, wavelet, level, mode)
    out = wavelet_compress(torch.from_numpy(img), keep, wavelet=wavelet, level=level, mode=mode)
    assert out.kept == k
    np.testing.assert_allclose(out.image.numpy(), ref, atol=1e-6, rtol=0)


def test_real_image_equals_pywavelets_reference():
    img = sample("camera", dtype=torch.float64)[0, ::2, ::2]  # 256 x 256
    ref, k = _pywt_reference(img.numpy(), 0.05, "db2", 4, "periodization")
    out = wavelet_compress(img, 0.05, level=4)
    assert out.kept == k
    np.testing.assert_allclose(out.image.numpy(), ref, atol=1e-6, rtol=0)
    # float32 input stays float32 and agrees to float32 precision
    out32 = wavelet_compress(img.float(), 0.05, level=4)
    assert out32.image.dtype == torch.float32
    np.testing.assert_allclose(out32.image.numpy(), ref, atol=1e-4, rtol=0)


@pytest.mark.parametrize(("wavelet", "mode"), [("db2", "periodization"), ("sym4", "symmetric")])
def test_keep_one_reconstructs_exactly(wavelet, mode):
    x = torch.rand(2, 37, 50, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    out = wavelet_compress(x, 1.0, wavelet=wavelet, mode=mode)
    assert out.kept == out.total and out.fraction == 1.0
    torch.testing.assert_close(out.image, x, atol=1e-10, rtol=0)
    assert out.psnr.shape == (2,) and bool((out.psnr > 150).all())


@pytest.mark.parametrize(
    ("keep", "shape"), [(0.05, (64, 64)), (0.1, (10, 10)), (0.3, (4, 6)), (1e-6, (8, 8))]
)
def test_number_kept_is_ceil_of_keep_times_total(keep, shape):
    x = torch.rand(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    out = wavelet_compress(x, keep, wavelet="haar", level=1)
    assert out.total == math.prod(shape)  # Haar + periodization: critically sampled
    assert out.kept == math.ceil(keep * out.total)
    assert out.fraction == pytest.approx(out.kept / out.total)
    # exactly `kept` coefficients survive: transform the reconstruction and count
    arr = pywt.coeffs_to_array(pywt.wavedec2(out.image.numpy(), "haar", "periodization", 1))[0]
    assert int((np.abs(arr) > 1e-12).sum()) == out.kept


def test_psnr_increases_with_keep_on_camera():
    img = sample("camera")[0]  # 512 x 512 float32
    keeps = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5]
    values = [float(wavelet_compress(img, k).psnr) for k in keeps]
    assert all(b > a for a, b in itertools.pairwise(values)), values
    assert values[2] > 28  # 5% of db2 coefficients already give a usable image
    # the reported PSNR is pixlearn.metrics.psnr of the reconstruction
    out = wavelet_compress(img, 0.05)
    assert float(out.psnr) == pytest.approx(float(psnr(out.image, img, data_range=1.0)))


def test_orthogonal_wavelet_error_is_the_dropped_energy():
    # Parseval: with an orthonormal basis the squared error is the energy of what was dropped
    x = torch.rand(64, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    arr = pywt.coeffs_to_array(pywt.wavedec2(x.numpy(), "db3", "periodization", 3))[0]
    k = math.ceil(0.1 * arr.size)
    dropped = np.sort(np.abs(arr), axis=None)[: arr.size - k]
    out = wavelet_compress(x, 0.1, wavelet="db3", level=3)
    err = float(((out.image - x) ** 2).sum())
    assert err == pytest.approx(float((dropped**2).sum()), rel=1e-9)


def _significance_bits(kept: int, total: int, value_bits: int = 12) -> float:
    """A rate estimate for the kept coefficients: where they are (the entropy of the binary
    significance map) plus each value quantised to ``value_bits`` bits."""
    p = kept / total
    h = 0.0 if p >= 1 else -(p * math.log2(p) + (1 - p) * math.log2(1 - p))
    return total * h + kept * value_bits


def test_compared_with_jpeg_at_comparable_sizes(capsys):
    img = sample("camera")[0]  # (512, 512)
    rows = []
    for quality in (10, 30, 60, 90):
        stream = jpeg_encode(img, quality)
        jpeg_psnr = float(psnr(jpeg_decode(stream)[..., :512, :512].reshape(img.shape), img))
        # the keep fraction whose estimated rate matches JPEG's bits
        budget = stream.num_bits
        keep = 0.5
        for i in range(40):  # bisection on keep
            step = 0.5 / 2 ** (i + 1)
            bits = _significance_bits(math.ceil(keep * img.numel()), img.numel())
            keep += -step if bits > budget else step
        out = wavelet_compress(img, keep)
        rows.append((quality, stream.bits_per_pixel, jpeg_psnr, out.fraction, float(out.psnr)))
        assert math.isfinite(jpeg_psnr) and float(out.psnr) > 20
    with capsys.disabled():
        print("\nquality  bpp    JPEG dB  wavelet keep  wavelet dB (db2, periodization)")
        for q, bpp, pj, f, pw in rows:
            print(f"{q:7d}  {bpp:5.3f}  {pj:7.2f}  {f:12.4f}  {pw:10.2f}")


def test_batched_equals_per_item_and_layouts():
    x = torch.rand(3, 2, 32, 40, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    out = wavelet_compress(x, 0.1)
    assert isinstance(out, WaveletCompressed)
    assert out.image.shape == x.shape and out.psnr.shape == (3, 2)
    one = wavelet_compress(x[1, 0], 0.1)
    torch.testing.assert_close(out.image[1, 0], one.image, atol=1e-12, rtol=0)
    torch.testing.assert_close(out.psnr[1, 0], one.psnr)
    xt = x.transpose(-1, -2)  # non-contiguous
    torch.testing.assert_close(
        wavelet_compress(xt, 0.1).image, wavelet_compress(xt.contiguous(), 0.1).image
    )
    cl = x.contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(wavelet_compress(cl, 0.1).image, out.image)
    empty = wavelet_compress(torch.zeros(0, 16, 16), 0.5, level=2)
    assert empty.image.shape == (0, 16, 16) and empty.psnr.shape == (0,)
    before = x.clone()
    wavelet_compress(x, 0.1)
    assert torch.equal(x, before)  # the input is left alone


def test_gradcheck():
    # with the set of kept coefficients fixed, compression is linear: its Jacobian is exact
    x = torch.rand(12, 12, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: wavelet_compress(t, 0.3, level=2).image, (x,))


@pytest.mark.parametrize("keep", [0.0, -0.1, 1.01, float("nan")])
def test_keep_outside_unit_interval_raises(keep):
    with pytest.raises(ValueRangeError, match="keep"):
        wavelet_compress(torch.rand(16, 16), keep)


def test_other_bad_inputs():
    with pytest.raises(ValueError, match="level must be <= "):
        wavelet_compress(torch.rand(16, 16), 0.1, level=9)
    with pytest.raises(ValueError, match="wavelet must be one of"):
        wavelet_compress(torch.rand(16, 16), 0.1, wavelet="db99")
    with pytest.raises(ValueError, match="mode"):
        wavelet_compress(torch.rand(16, 16), 0.1, mode="reflect")
    with pytest.raises(TypeError, match="image"):
        wavelet_compress(torch.ones(16, 16, dtype=torch.uint8), 0.1)
    with pytest.raises(ValueError, match="image must be finite"):
        wavelet_compress(torch.full((8, 8), float("nan")), 0.1)
