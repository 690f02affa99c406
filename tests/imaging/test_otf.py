import math

import numpy as np
import pytest
import torch

from pixlearn.imaging import (
    airy_psf,
    cutoff_frequency,
    defocus_psf,
    gaussian_psf,
    motion_psf,
    mtf,
    otf2psf,
    psf2otf,
    radial_profile,
)


def _psf2otf_reference(p, shape):
    """DFT of the PSF with its centre (h // 2, w // 2) as origin, by the definition (slow)."""
    h, w = p.shape
    n, m = shape
    y = (np.arange(h) - h // 2)[:, None, None, None]
    x = (np.arange(w) - w // 2)[None, :, None, None]
    k = np.arange(n)[None, None, :, None]
    l = np.arange(m)[None, None, None, :]
    phase = np.exp(-2j * np.pi * (k * y / n + l * x / m))  # (h, w, n, m)
    return (p[:, :, None, None] * phase).sum((0, 1))


def _freq2(n, m):
    fy = torch.fft.fftfreq(n, dtype=torch.float64)
    fx = torch.fft.fftfreq(m, dtype=torch.float64)
    return fy[:, None] ** 2 + fx[None, :] ** 2  # (n, m), cycles per pixel squared


# ---- psf2otf / otf2psf -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("psf_shape", "shape"), [((5, 5), (12, 12)), ((4, 6), (9, 10)), ((3, 8), (8, 8)), ((1, 1), 4)]
)
def test_psf2otf_equals_the_dft_definition(psf_shape, shape):
    p = torch.rand(psf_shape, dtype=torch.float64)
    n, m = (shape, shape) if isinstance(shape, int) else shape
    ref = _psf2otf_reference(p.numpy(), (n, m))
    got = psf2otf(p, shape)
    np.testing.assert_allclose(got.numpy(), ref, atol=1e-12)
    half = psf2otf(p, shape, onesided=True)
    assert half.shape == (n, m // 2 + 1)
    np.testing.assert_allclose(half.numpy(), ref[:, : m // 2 + 1], atol=1e-12)
    assert abs(complex(got[0, 0]) - float(p.sum())) < 1e-12


def test_psf_larger_than_the_grid_is_folded_exactly():
    p = torch.rand(9, 7, dtype=torch.float64)
    np.testing.assert_allclose(
        psf2otf(p, (4, 5)).numpy(), _psf2otf_reference(p.numpy(), (4, 5)), atol=1e-12
    )


@pytest.mark.parametrize("psf_shape", [(5, 5), (4, 4), (3, 6), (7, 2)])
def test_otf2psf_inverts_psf2otf(psf_shape):
    p = torch.rand(2, 3, *psf_shape, dtype=torch.float64)
    for shape in [psf_shape, (16, 17)]:
        back = otf2psf(psf2otf(p, shape), psf_shape)
        assert back.shape == p.shape and back.dtype == torch.float64
        assert torch.allclose(back, p, atol=1e-14, rtol=0)
    p32 = p.float()
    assert torch.allclose(otf2psf(psf2otf(p32, (16, 16)), psf_shape), p32, atol=1e-6)


def test_symmetric_psf_has_real_otf_and_batched_equals_per_item():
    p = torch.stack([gaussian_psf(7, 1.5, dtype=torch.float64), defocus_psf(7, 2.0).double()])
    otf = psf2otf(p, (16, 16))
    assert otf.imag.abs().max() < 1e-15
    for i in range(2):
        assert torch.allclose(otf[i], psf2otf(p[i], (16, 16)), atol=1e-15)
    assert psf2otf(torch.rand(0, 3, 3), (4, 4)).shape == (0, 4, 4)


def test_non_contiguous_psf():
    p = torch.rand(6, 5, dtype=torch.float64)
    assert torch.allclose(psf2otf(p.t(), (8, 8)), psf2otf(p.t().contiguous(), (8, 8)))


def test_gradcheck_psf2otf():
    p = (torch.rand(3, 4, dtype=torch.float64) + 0.1).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: psf2otf(t, (6, 5)), (p,))
    assert torch.autograd.gradcheck(lambda t: psf2otf(t, (2, 3)), (p,))  # folded


# ---- OTF(0) = 1 and closed forms for the PSF kinds ------------------------------------------


@pytest.mark.parametrize("size", [9, 10, (8, 13)])
def test_otf_at_zero_is_one_for_every_kind(size):
    psfs = [
        gaussian_psf(size, 1.5),
        airy_psf(size, wavelength=0.5, na=0.8, pixel_size=0.1),
        defocus_psf(size, 3.0),
        motion_psf(size, 6.0, 25.0),
    ]
    for p in psfs:
        for dtype, tol in [(torch.float32, 1e-6), (torch.float64, 1e-6)]:
            otf = psf2otf(p.to(dtype), (32, 32))
            assert abs(complex(otf[0, 0]) - 1.0) < tol
            assert float(mtf(p.to(dtype), (32, 32)).max()) <= 1.0 + tol


@pytest.mark.parametrize("n", [64, 65])
def test_gaussian_otf_equals_its_closed_form(n):
    # exp(-2 pi^2 sigma^2 f^2): sigma = 2 px leaves only aliasing, exp(-pi^2 sigma^2 / 2) ~ 3e-9
    # (measured 2.7e-9 and 1.5e-9)
    f2 = _freq2(n, n)
    otf = psf2otf(gaussian_psf(n, 2.0, dtype=torch.float64), (n, n))
    assert (otf - torch.exp(-2 * math.pi**2 * 4.0 * f2)).abs().max() < 1e-8
    # sigma = 1 px aliases visibly (7e-3); adding the aliases f -/+ 1 restores 1e-12
    fy = torch.fft.fftfreq(n, dtype=torch.float64)
    s1 = sum(torch.exp(-2 * math.pi**2 * (fy + k) ** 2) for k in (-2, -1, 0, 1, 2))
    otf1 = psf2otf(gaussian_psf(n, 1.0, dtype=torch.float64), (n, n))
    assert (otf1 - torch.exp(-2 * math.pi**2 * f2)).abs().max() > 1e-3
    assert (otf1 - s1[:, None] * s1[None, :] / (s1[0] ** 2)).abs().max() < 1e-12


@pytest.mark.parametrize(("n", "bound"), [(64, 5e-4), (128, 1e-4)])
def test_airy_otf_vanishes_beyond_the_cutoff(n, bound):
    # lambda = 0.5, NA = 0.8: f_c = 3.2 cycles/um = 0.32 cycles/px at 0.1 um pixels. Beyond
    # 1.05 f_c the measured max |OTF| is 1.6e-4 (n = 64) and 3.8e-5 (n = 128): what is left
    # is the truncation of the Airy tails to the window.
    fc = cutoff_frequency(wavelength=0.5, na=0.8) * 0.1
    assert fc == pytest.approx(0.32)
    m = mtf(airy_psf(n, wavelength=0.5, na=0.8, pixel_size=0.1, dtype=torch.float64), (n, n))
    f = _freq2(n, n).sqrt()
    assert float(m[f > 1.05 * fc].max()) < bound
    assert float(m[f < 0.5 * fc].min()) > 0.3  # well inside the pass band


def test_airy_mtf_is_the_pixel_integrated_chat_function():
    # the incoherent OTF of a circular pupil, (2/pi)(acos q - q sqrt(1 - q^2)), q = f / f_c,
    # times the pixel's sinc(fy) sinc(fx). Measured max difference 9.2e-3, at the lowest
    # frequencies: the window drops the r^-3 Airy tails, which make the cusp of the chat
    # function at f = 0, and renormalising the truncated PSF shifts the whole curve by ~5e-3
    n = 128
    fc = cutoff_frequency(wavelength=0.5, na=0.8) * 0.1
    otf = psf2otf(airy_psf(n, wavelength=0.5, na=0.8, pixel_size=0.1, dtype=torch.float64), n)
    fy = torch.fft.fftfreq(n, dtype=torch.float64)
    q = (_freq2(n, n).sqrt() / fc).clamp(max=1.0)
    chat = 2 / math.pi * (torch.acos(q) - q * torch.sqrt(1 - q**2))
    expected = chat * torch.sinc(fy)[:, None] * torch.sinc(fy)[None, :]
    assert (otf.real - expected).abs().max() < 1.2e-2


def test_defocus_otf_matches_the_jinc_closed_form():
    # a uniform disk of radius R: OTF = 2 J1(2 pi R f) / (2 pi R f), blurred by the pixel
    # coverage; at low frequencies the two agree to the pixel's sinc (measured 4e-3 below 0.1)
    n, radius = 128, 8.0
    otf = psf2otf(defocus_psf(n, radius, dtype=torch.float64), n).real
    fy = torch.fft.fftfreq(n, dtype=torch.float64)
    v = 2 * math.pi * radius * _freq2(n, n).sqrt()
    safe = torch.where(v > 0, v, torch.ones_like(v))
    jinc = torch.where(v > 0, 2 * torch.special.bessel_j1(safe) / safe, torch.ones_like(v))
    expected = jinc * torch.sinc(fy)[:, None] * torch.sinc(fy)[None, :]
    low = _freq2(n, n).sqrt() < 0.1
    assert (otf - expected)[low].abs().max() < 1e-2


# ---- mtf, cutoff_frequency, radial_profile ---------------------------------------------------


def test_mtf_is_the_modulus_of_the_otf():
    p = motion_psf(9, 5.0, 30.0, dtype=torch.float64)
    assert torch.equal(mtf(p, (16, 16)), psf2otf(p, (16, 16)).abs())


def test_cutoff_frequency():
    assert cutoff_frequency(wavelength=0.52, na=1.4) == pytest.approx(2 * 1.4 / 0.52, rel=1e-15)
    with pytest.raises(ValueError, match="na"):
        cutoff_frequency(wavelength=0.5, na=0.0)
    with pytest.raises(ValueError, match="wavelength"):
        cutoff_frequency(wavelength=-1.0, na=1.0)


@pytest.mark.parametrize("shape", [(9, 9), (8, 11), (1, 1), (1, 6)])
def test_radial_profile_matches_a_loop(shape):
    img = torch.rand(2, *shape, dtype=torch.float64)
    h, w = shape
    sums, counts = {}, {}
    for i in range(h):
        for j in range(w):
            k = round(math.hypot(i - h // 2, j - w // 2))
            sums[k] = sums.get(k, 0.0) + img[1, i, j].item()
            counts[k] = counts.get(k, 0) + 1
    ref = torch.tensor([sums[k] / counts[k] for k in range(max(sums) + 1)], dtype=torch.float64)
    got = radial_profile(img)
    assert got.shape == (2, len(ref))
    assert torch.allclose(got[1], ref, atol=1e-14)


def test_radial_mtf_of_a_gaussian():
    n = 64
    m = torch.fft.fftshift(mtf(gaussian_psf(n, 2.0, dtype=torch.float64), (n, n)))
    prof = radial_profile(m)[: n // 2]
    closed = torch.fft.fftshift(torch.exp(-2 * math.pi**2 * 4 * _freq2(n, n)))
    assert prof[0] == pytest.approx(1.0, abs=1e-12)
    assert bool((prof[1:] < prof[:-1]).all())  # monotone fall-off
    assert (prof - radial_profile(closed)[: n // 2]).abs().max() < 1e-8


# ---- bad input -------------------------------------------------------------------------------


def test_bad_psfs_are_refused_naming_psf():
    with pytest.raises(ValueError, match=r"psf.*non-negative"):
        psf2otf(torch.tensor([[0.5, -0.1], [0.3, 0.3]]), (4, 4))
    with pytest.raises(ValueError, match=r"psf.*sum"):
        psf2otf(torch.zeros(3, 3), (4, 4))
    with pytest.raises(ValueError, match=r"psf.*sum"):
        mtf(torch.stack([torch.ones(3, 3), torch.zeros(3, 3)]), (4, 4))
    with pytest.raises(ValueError, match=r"psf.*finite"):
        psf2otf(torch.tensor([[float("nan"), 1.0]]), (4, 4))
    with pytest.raises(TypeError, match=r"psf.*float"):
        psf2otf(torch.ones(3, 3, dtype=torch.int64), (4, 4))
    with pytest.raises(ValueError, match=r"psf.*dimensions"):
        psf2otf(torch.ones(3), (4, 4))
    with pytest.raises(ValueError, match=r"psf.*empty"):
        psf2otf(torch.ones(0, 3), (4, 4))
    with pytest.raises(TypeError, match="psf"):
        psf2otf(np.ones((3, 3)), (4, 4))
    with pytest.raises(ValueError, match="shape"):
        psf2otf(torch.ones(3, 3), (0, 4))
    # rounding noise (an OTF round trip leaves about -1e-17 in the zero corners) is accepted
    p = defocus_psf(9, 4.0, dtype=torch.float64)
    p[0, 0] = -1e-17
    assert abs(complex(psf2otf(p, 16)[0, 0]) - 1.0) < 1e-15


def test_bad_otf2psf_input_is_refused():
    otf = psf2otf(torch.rand(3, 3), (8, 8))
    with pytest.raises(ValueError, match="psf_shape"):
        otf2psf(otf, (9, 3))
    with pytest.raises(ValueError, match=r"otf.*finite"):
        otf2psf(otf * float("nan"), (3, 3))
    with pytest.raises(TypeError, match="otf"):
        otf2psf(torch.ones(8, 8, dtype=torch.int32), (3, 3))
    with pytest.raises(ValueError, match="otf"):
        otf2psf(otf[0], (3, 3))
    with pytest.raises(TypeError, match=r"image.*float"):
        radial_profile(torch.ones(4, 4, dtype=torch.uint8))
