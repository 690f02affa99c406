import math

import pytest
import torch

from pixlearn.filters import (
    FILTER_KINDS,
    bandpass,
    correct_background,
    frequency_response,
    highpass,
    lowpass,
)

# ---------------------------------------------------------------- transfer functions


@pytest.mark.parametrize("kind", FILTER_KINDS)
@pytest.mark.parametrize("boundary", ["circular", "reflect"])
@pytest.mark.parametrize("shape", [(16, 16), (15, 18)])
def test_lowpass_plus_highpass_is_identity(kind, boundary, shape):
    img = torch.rand(2, *shape, dtype=torch.float64)
    kw = dict(kind=kind, order=3, boundary=boundary)
    total = lowpass(img, 0.15, **kw) + highpass(img, 0.15, **kw)
    assert (total - img).abs().max() < 1e-6
    assert not torch.allclose(lowpass(img, 0.15, **kw), img)  # the filter does something


def test_lowpass_plus_bandpass_plus_highpass_is_identity():
    img = torch.rand(17, 20, dtype=torch.float64)
    for kind in FILTER_KINDS:
        parts = lowpass(img, 0.1, kind=kind) + bandpass(img, 0.1, 0.3, kind=kind)
        parts = parts + highpass(img, 0.3, kind=kind)
        assert (parts - img).abs().max() < 1e-10


def test_ideal_lowpass_removes_a_sinusoid_above_the_cutoff_and_keeps_one_below():
    y, x = torch.meshgrid(torch.arange(32.0), torch.arange(40.0), indexing="ij")
    low = torch.cos(2 * math.pi * (2 / 32) * y + 0.3)  # 0.0625 cycles/pixel, along rows
    high = torch.sin(2 * math.pi * (12 / 40) * x)  # 0.3 cycles/pixel, along columns
    out = lowpass(low + high, 0.2)
    assert (out - low).abs().max() < 1e-5
    assert (highpass(low + high, 0.2) - high).abs().max() < 1e-5
    band = bandpass(low + high, 0.1, 0.35)
    assert (band - high).abs().max() < 1e-5


def test_transfer_values_at_the_cutoff_equal_their_closed_forms():
    # on a 40-point grid frequency 0.2 is index 8 along the columns (row frequency 0)
    for order in (1, 2, 5):
        h = frequency_response(40, 0.2, kind="butterworth", order=order, dtype=torch.float64)
        assert h[0, 8].item() == pytest.approx(1 / math.sqrt(2), abs=1e-12)
        # and (D / D0)^(2n) off the cut-off, at D = 0.3
        assert h[0, 12].item() == pytest.approx((1 + 1.5 ** (2 * order)) ** -0.5, abs=1e-12)
    g = frequency_response(40, 0.2, kind="gaussian", dtype=torch.float64)
    assert g[0, 8].item() == pytest.approx(math.exp(-0.5), abs=1e-12)
    assert g[3, 4].item() == pytest.approx(math.exp(-(0.075**2 + 0.1**2) / (2 * 0.04)), abs=1e-12)
    ideal = frequency_response(40, 0.2, kind="ideal", dtype=torch.float64)
    assert ideal[0, 8] == 1 and ideal[0, 9] == 0 and ideal[1, 8] == 0
    hp = frequency_response(40, 0.2, kind="gaussian", highpass=True, dtype=torch.float64)
    assert torch.allclose(hp, 1 - g)


@pytest.mark.parametrize("n", [8, 9])
def test_centered_response_is_symmetric_about_dc_for_odd_and_even_sizes(n):
    h = frequency_response(n, 0.3, kind="gaussian", centered=True, dtype=torch.float64)
    c = n // 2  # fftshift puts DC at n // 2
    assert h[c, c] == 1.0 and h.max() == 1.0
    # symmetric about DC: H(-v) = H(v) wherever -v is on the grid
    lo = 1 if n % 2 == 0 else 0
    sub = h[lo:, lo:]
    assert torch.allclose(sub, sub.flip(0)) and torch.allclose(sub, sub.flip(1))
    one = frequency_response((n, 12), 0.3, kind="gaussian", onesided=True)
    full = frequency_response((n, 12), 0.3, kind="gaussian")
    assert torch.equal(one, full[:, :7])


def test_gaussian_lowpass_matches_the_spatial_gaussian_blur_on_a_period():
    # H = exp(-2 pi^2 sigma^2 D^2) is the DTFT of a sampled Gaussian up to aliasing (tiny here)
    sigma, n = 2.0, 64
    img = torch.rand(n, n, dtype=torch.float64)
    d = torch.arange(n, dtype=torch.float64)
    d = torch.minimum(d, n - d)  # circular distance to 0
    g1 = torch.exp(-0.5 * (d / sigma) ** 2)
    kernel = g1[:, None] * g1[None, :]
    kernel = kernel / kernel.sum()
    spatial = torch.fft.irfft2(torch.fft.rfft2(img) * torch.fft.rfft2(kernel), s=(n, n))
    out = lowpass(img, 1 / (2 * math.pi * sigma), kind="gaussian")
    assert (out - spatial).abs().max() < 1e-6


def test_lowpass_batched_non_contiguous_zero_batch_and_dtype():
    x = torch.rand(3, 2, 10, 12)
    out = lowpass(x, 0.2, kind="butterworth")
    assert out.shape == x.shape and out.dtype == torch.float32
    assert torch.allclose(out[1, 0], lowpass(x[1, 0], 0.2, kind="butterworth"), atol=1e-6)
    y = torch.rand(12, 10).t()
    assert torch.allclose(lowpass(y, 0.2), lowpass(y.contiguous(), 0.2))
    assert lowpass(torch.rand(0, 5, 6), 0.2).shape == (0, 5, 6)
    assert lowpass(x.half(), 0.2).dtype == torch.float16
    # the mean (DC) is kept by the low-pass, removed by the high-pass
    assert torch.allclose(out.mean((-2, -1)), x.mean((-2, -1)), atol=1e-6)
    assert highpass(x, 0.2).mean((-2, -1)).abs().max() < 1e-6


def test_lowpass_gradcheck():
    x = torch.rand(2, 6, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: lowpass(t, 0.2, kind="butterworth"), (x,))
    assert torch.autograd.gradcheck(lambda t: lowpass(t, 0.3, boundary="reflect"), (x,))


@pytest.mark.parametrize("bad", [0.0, -0.1, 0.51, float("nan")])
def test_cutoff_outside_the_nyquist_interval_is_refused(bad):
    with pytest.raises(ValueError, match="cutoff"):
        lowpass(torch.rand(8, 8), bad)
    with pytest.raises(ValueError, match="cutoff"):
        frequency_response(8, bad)


def test_filter_errors():
    img = torch.rand(8, 8)
    with pytest.raises(ValueError, match="low must be < high"):
        bandpass(img, 0.3, 0.3)
    with pytest.raises(ValueError, match="high"):
        bandpass(img, 0.1, 0.7)
    with pytest.raises(ValueError, match="image"):
        lowpass(torch.full((4, 4), float("nan")), 0.2)
    with pytest.raises(ValueError, match="image"):
        highpass(torch.rand(0, 4), 0.2)
    with pytest.raises(TypeError, match="image"):
        lowpass(torch.ones(4, 4, dtype=torch.int64), 0.2)
    with pytest.raises(ValueError, match="kind"):
        lowpass(img, 0.2, kind="chebyshev")
    with pytest.raises(ValueError, match="order"):
        lowpass(img, 0.2, kind="butterworth", order=0)
    with pytest.raises(ValueError, match="boundary"):
        lowpass(img, 0.2, boundary="zero")


# ---------------------------------------------------------------- background correction


def _tilted_scene():
    gen = torch.Generator().manual_seed(0)
    y, x = torch.meshgrid(torch.arange(96.0), torch.arange(128.0), indexing="ij")
    spots = (torch.rand(96, 128, generator=gen) > 0.97).double() * 0.5
    objects = torch.nn.functional.max_pool2d(spots[None], 3, 1, 1)[0]  # small 3x3 objects
    illumination = 0.2 + 0.004 * x + 0.002 * y  # a tilted light source
    return objects, illumination, objects + illumination


def test_correct_background_flattens_a_tilted_illumination_and_keeps_the_mean():
    objects, illumination, img = _tilted_scene()
    out = correct_background(img, sigma=10.0)
    assert abs(out.mean() - img.mean()) < 1e-12

    def gradient(t):  # the mean gradient of the background: a least-squares plane fit
        y, x = torch.meshgrid(torch.arange(96.0), torch.arange(128.0), indexing="ij")
        a = torch.stack([x.flatten(), y.flatten(), torch.ones(96 * 128)], 1).double()
        coef = torch.linalg.lstsq(a, t.flatten()[:, None]).solution
        return float(coef[:2].abs().sum())

    before, after = gradient(img), gradient(out)
    assert before > 5e-3 and after < 0.1 * before
    # the objects keep their contrast against the (now flat) background
    residual = out - objects
    assert residual.std() < 0.25 * illumination.std()


def test_correct_background_with_a_cutoff_and_batched():
    _, _, img = _tilted_scene()
    batch = torch.stack([img, 2 * img])
    out = correct_background(batch, cutoff=0.02, kind="butterworth")
    assert torch.allclose(out[1], correct_background(2 * img, cutoff=0.02, kind="butterworth"))
    assert torch.allclose(out.mean((-2, -1)), batch.mean((-2, -1)))
    # sigma is the Gaussian cut-off 1 / (2 pi sigma)
    a = correct_background(img, sigma=5.0)
    b = correct_background(img, cutoff=1 / (2 * math.pi * 5.0), kind="gaussian")
    assert torch.allclose(a, b)


def test_correct_background_errors():
    img = torch.rand(8, 8)
    with pytest.raises(ValueError, match="sigma and cutoff"):
        correct_background(img)
    with pytest.raises(ValueError, match="sigma and cutoff"):
        correct_background(img, sigma=3.0, cutoff=0.1)
    with pytest.raises(ValueError, match="sigma"):
        correct_background(img, sigma=-1.0)
    with pytest.raises(ValueError, match="cutoff"):
        correct_background(img, cutoff=0.9)
    with pytest.raises(TypeError, match="image"):
        correct_background(img.to(torch.uint8), sigma=3.0)
