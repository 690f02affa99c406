import math

import numpy as np
import pytest
import torch
from skimage import data
from skimage.transform import rescale

from pixlearn.imaging import antialias_filter, downsample, quantize

# ---------------------------------------------------------------------------------------------
# downsample: aliasing and the anti-aliasing filter


def _grating(freq: float, phase: float, width: int = 512, rows: int = 2) -> torch.Tensor:
    """0.5 + 0.4 cos(2 pi freq x + phase) along x, in float64, shape (rows, width)."""
    x = torch.arange(width, dtype=torch.float64)
    return (0.5 + 0.4 * torch.cos(2 * math.pi * freq * x + phase)).expand(rows, width).clone()


def _folded_alias(freq: float, fs: float) -> float:
    """|f - k fs| folded into [0, fs / 2]: the frequency at which sampling at fs shows f."""
    f = freq % fs
    return min(f, fs - f)


@pytest.mark.parametrize(
    ("k", "factor"), [(100, 4), (150, 4), (230, 4), (100, 3), (200, 2), (255, 2)]
)
def test_grating_above_nyquist_appears_at_the_predicted_alias(k, factor):
    width = 512 if factor != 3 else 513  # a whole number of output samples
    freq = k / width  # cycles per input pixel, above the new Nyquist 1 / (2 factor)
    assert freq > 0.5 / factor
    out = downsample(_grating(freq, 0.3, width), (1, factor), antialias=False)[0]
    spectrum = torch.fft.rfft(out - out.mean()).abs()
    peak = int(spectrum.argmax())  # bin, in cycles per output width
    # predicted in cycles per input pixel, converted to cycles per output width
    predicted = _folded_alias(freq, 1.0 / factor) * width
    assert peak == round(predicted)
    assert abs(predicted - round(predicted)) < 1e-9  # the test grid puts the alias on a bin


@pytest.mark.parametrize("freq", [100 / 512, 0.2, 0.37, 0.49])
@pytest.mark.parametrize("phase", [0.0, 0.7, 2.0])
def test_antialias_suppresses_a_grating_above_nyquist(freq, phase):
    g = _grating(freq, phase)
    aliased = downsample(g, (1, 4), antialias=False)
    filtered = downsample(g, (1, 4))
    rms_alias = (aliased - aliased.mean()).pow(2).mean().sqrt()

    def suppression_db(margin: int) -> float:
        res = filtered[:, margin : filtered.shape[-1] - margin] - 0.5
        return float(20 * torch.log10(res.pow(2).mean().sqrt() / rms_alias))

    # measured: -62 to -84 dB beyond 8 output samples (32 input pixels) from the border,
    # -25 to -46 dB over the whole image (the residual rings at the border)
    assert suppression_db(8) < -60.0
    assert suppression_db(0) < -22.0


def test_antialias_suppression_is_exact_for_a_grating_symmetric_about_the_border():
    # phase symmetric about x = -1/2: the mirrored extension is a pure tone, so nothing leaks
    freq = 0.3
    g = _grating(freq, 2 * math.pi * freq * 0.5, width=500)
    assert float((downsample(g, (1, 4)) - 0.5).abs().max()) < 1e-12  # measured ~1e-15


@pytest.mark.parametrize("phase", [0.0, 0.7, 2.0])
def test_grating_below_new_nyquist_keeps_its_amplitude(phase):
    freq = 40 / 512  # below the pass edge (1 - 0.25) / 8 = 48 / 512
    g = _grating(freq, phase)
    out = downsample(g, (1, 4))
    plain = g[:, ::4]
    # measured: <= 5.2e-4 beyond 16 samples (64 input pixels) of the border, 3.5e-3 beyond 8,
    # up to 0.14 at the border sample itself (ringing of the mirrored extension)
    assert float((out - plain)[:, 16:-16].abs().max()) < 1e-3
    amplitude = torch.fft.rfft(out[0] - 0.5).abs().max() * 2 / out.shape[-1]
    assert float(amplitude) == pytest.approx(0.4, abs=5e-3)  # measured 0.4 within 1e-3


def test_two_dimensional_grating_is_removed_on_both_axes():
    y, x = torch.meshgrid(
        torch.arange(128, dtype=torch.float64),
        torch.arange(128, dtype=torch.float64),
        indexing="ij",
    )
    g = 0.5 + 0.4 * torch.cos(2 * math.pi * (0.3 * x + 0.35 * y) + 1.0)
    # residuals measured 16 samples away from the borders: 1e-4 to 5e-4
    out = downsample(g, 2)
    assert float((out[16:-16, 16:-16] - 0.5).abs().max()) < 1e-3
    # filtering along x alone removes it too (|nu_x| = 0.3 > 1/4); factor 1 along y
    assert float((downsample(g, (1, 2))[:, 16:-16] - 0.5).abs().max()) < 1e-3
    # but a factor along y alone keeps a grating with nu_y = 0.15 < 3/16 (pass-band)
    g2 = 0.5 + 0.4 * torch.cos(2 * math.pi * (0.3 * x + 0.15 * y) + 1.0)
    assert float((downsample(g2, (2, 1)) - g2[::2])[16:-16].abs().max()) < 1e-3


def test_without_antialias_is_plain_slicing():
    x = torch.rand(2, 3, 17, 22)
    for f in [1, 2, 3, (2, 5), (4, 1), 30]:
        fy, fx = (f, f) if isinstance(f, int) else f
        assert torch.equal(downsample(x, f, antialias=False), x[..., ::fy, ::fx])


def test_output_shape_and_sample_positions():
    x = torch.rand(7, 10, dtype=torch.float64)
    assert downsample(x, (2, 3)).shape == (4, 4)
    assert downsample(x, 20).shape == (1, 1)
    assert torch.equal(downsample(x, 1), x)  # factor 1: nothing to filter


def test_constant_image_is_unchanged():
    x = torch.full((2, 13, 18), 0.3, dtype=torch.float64)
    assert torch.allclose(downsample(x, 3), torch.full((2, 5, 6), 0.3, dtype=torch.float64))


def test_close_to_skimage_rescale_on_a_real_image():
    cam = torch.from_numpy(data.camera() / 255.0)  # (512, 512), float64
    # rescale(1/3) samples at input pixel 3 i + 1 (block centre); ours at 3 i: shift by one
    ref = rescale(cam.numpy(), 1 / 3, anti_aliasing=True)
    ours = downsample(cam[1:, 1:], 3).numpy()
    plain = downsample(cam[1:, 1:], 3, antialias=False).numpy()
    assert ref.shape == ours.shape == (171, 171)

    def psnr(a: np.ndarray) -> float:
        return float(10 * np.log10(1.0 / ((a - ref) ** 2).mean()))

    # they differ in the filter (Gaussian sigma 1 there, raised-cosine low-pass here):
    # measured 32.4 dB, and 27.5 dB without anti-aliasing
    assert psnr(ours) > 31.0
    assert psnr(ours) > psnr(plain) + 3.0


def test_dtypes():
    x = torch.rand(12, 12)
    for dtype in [torch.float16, torch.bfloat16, torch.float32, torch.float64]:
        out = downsample(x.to(dtype), 2)
        assert out.dtype == dtype and out.shape == (6, 6)
    ref = downsample(x.double(), 2)
    assert torch.allclose(downsample(x, 2).double(), ref, atol=1e-6)
    assert torch.allclose(downsample(x.half(), 2).double(), ref, atol=5e-3)


def test_batched_equals_per_item_and_zero_size_batch():
    x = torch.rand(3, 2, 20, 24, dtype=torch.float64)
    out = downsample(x, (2, 3))
    assert out.shape == (3, 2, 10, 8)
    for i in range(3):
        assert torch.allclose(out[i], downsample(x[i], (2, 3)), atol=1e-14)
    empty = torch.rand(0, 3, 20, 24)
    assert downsample(empty, 2).shape == (0, 3, 10, 12)
    assert antialias_filter(empty, 2).shape == (0, 3, 20, 24)


def test_non_contiguous_input_and_input_unchanged():
    x = torch.rand(3, 24, 20, dtype=torch.float64)
    t = x.transpose(-1, -2)
    assert not t.is_contiguous()
    before = t.clone()
    assert torch.allclose(downsample(t, 2), downsample(t.contiguous(), 2), atol=1e-14)
    assert torch.equal(t, before)
    e = torch.rand(1, 16, 16).expand(4, 16, 16)
    assert torch.allclose(downsample(e, 2)[3], downsample(e[0], 2), atol=1e-6)


def test_gradcheck():
    x = torch.rand(2, 9, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: downsample(t, (2, 3)), (x,))
    assert torch.autograd.gradcheck(lambda t: downsample(t, 2, antialias=False), (x,))


def test_antialias_filter_is_linear_and_has_unit_dc_gain():
    a, b = torch.rand(2, 15, 16, dtype=torch.float64)
    lhs = antialias_filter(2 * a - 3 * b, 3)
    rhs = 2 * antialias_filter(a, 3) - 3 * antialias_filter(b, 3)
    assert torch.allclose(lhs, rhs, atol=1e-13)
    assert torch.allclose(antialias_filter(a, 3).mean(), a.mean(), atol=1e-13)


@pytest.mark.parametrize("bad", [0, -2, (2, 0), 1.5, (1, 2, 3)])
def test_factor_must_be_a_positive_integer(bad):
    with pytest.raises((ValueError, TypeError), match="factor"):
        downsample(torch.rand(8, 8), bad)


@pytest.mark.parametrize("bad", [-0.1, 1.0, float("nan")])
def test_rolloff_must_be_in_range(bad):
    with pytest.raises(ValueError, match="rolloff"):
        downsample(torch.rand(8, 8), 2, rolloff=bad)


@pytest.mark.parametrize("fn", [lambda x: downsample(x, 2), lambda x: quantize(x, 4)])
def test_bad_images_are_refused(fn):
    with pytest.raises(ValueError, match=r"image.*finite"):
        fn(torch.tensor([[0.0, float("nan")], [0.0, 0.0]]))
    with pytest.raises(ValueError, match=r"image.*finite"):
        fn(torch.tensor([[0.0, float("inf")], [0.0, 0.0]]))
    with pytest.raises(TypeError, match=r"image.*float"):
        fn(torch.ones(4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"image.*dimensions"):
        fn(torch.ones(4))
    with pytest.raises(ValueError, match=r"image.*empty"):
        fn(torch.ones(3, 0, 4))
    with pytest.raises(TypeError, match="image"):
        fn(np.ones((4, 4)))


# ---------------------------------------------------------------------------------------------
# quantize


@pytest.mark.parametrize("bits", [1, 2, 3, 5, 8, 12])
def test_quantize_gives_exactly_2_to_the_bits_levels_on_a_ramp(bits):
    ramp = torch.linspace(0, 1, 20001, dtype=torch.float64)[None]
    q = quantize(ramp, bits)
    levels = torch.unique(q)
    assert levels.numel() == 2**bits
    assert torch.allclose(levels, torch.linspace(0, 1, 2**bits, dtype=torch.float64))


@pytest.mark.parametrize("bits", [1, 3, 8])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_quantize_error_bound_and_idempotence(bits, dtype):
    x = torch.rand(64, 64, dtype=dtype)
    q = quantize(x, bits)
    bound = 1 / (2 * (2**bits - 1))
    eps = torch.finfo(dtype).eps
    assert float((q - x).abs().max()) <= bound + 4 * eps
    assert torch.equal(quantize(q, bits), q)
    # the levels are k / L for integer k
    k = q * (2**bits - 1)
    assert torch.allclose(k, k.round(), atol=1e-4 if dtype == torch.float32 else 1e-10)


def test_quantize_matches_a_slow_loop_and_clips():
    x = torch.tensor([[-0.3, 0.0, 0.1, 0.49, 0.5, 0.51, 0.99, 1.0, 1.7]], dtype=torch.float64)
    expected = [min(max(v, 0.0), 1.0) for v in x[0].tolist()]
    expected = [round(v * 7) / 7 for v in expected]  # Python's round is also half-to-even
    assert quantize(x, 3)[0].tolist() == expected


def test_quantize_matches_uint8_conversion_on_a_real_image():
    cam = data.camera()
    x = torch.from_numpy(cam / 255.0)
    assert torch.equal(quantize(x, 8), x)  # already on the 8-bit grid
    q4 = quantize(x, 4).numpy()
    assert np.unique(q4).size == 16
    assert np.allclose(q4 * 15, np.round(cam / 255.0 * 15))


def test_quantize_batched_zero_size_non_contiguous_input_unchanged():
    x = torch.rand(3, 2, 9, 7)
    assert torch.equal(quantize(x, 3)[1], quantize(x[1], 3))
    assert quantize(torch.rand(0, 9, 7), 3).shape == (0, 9, 7)
    t = x.transpose(-1, -2)
    before = t.clone()
    assert torch.equal(quantize(t, 3), quantize(t.contiguous(), 3))
    assert torch.equal(t, before)


@pytest.mark.parametrize("bad", [0, -1, 25])
def test_bits_out_of_range(bad):
    with pytest.raises(ValueError, match="bits"):
        quantize(torch.rand(4, 4), bad)


@pytest.mark.parametrize("bad", [2.0, "8", True])
def test_bits_must_be_an_integer(bad):
    with pytest.raises(TypeError, match="bits"):
        quantize(torch.rand(4, 4), bad)
