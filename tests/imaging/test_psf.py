import math

import numpy as np
import pytest
import scipy.integrate
import scipy.special
import torch

from pixlearn.imaging import airy_psf, defocus_psf, gaussian_psf, motion_psf

SIZES = [7, 8, (9, 6), (6, 11)]
AIRY = {"wavelength": 0.5, "na": 0.8, "pixel_size": 0.1}


def _all_kinds(size, dtype=torch.float64):
    return {
        "gaussian": gaussian_psf(size, 1.3, dtype=dtype),
        "airy": airy_psf(size, **AIRY, dtype=dtype),
        "defocus": defocus_psf(size, 2.2, dtype=dtype),
        "motion": motion_psf(size, 4.5, 30.0, dtype=dtype),
    }


def _offsets(n):
    return np.arange(n) - n // 2


# ---- shared properties: shape, dtype, unit sum, centre ---------------------------------------


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_every_kind_sums_to_one_and_is_centred(size, dtype):
    h, w = (size, size) if isinstance(size, int) else size
    for name, p in _all_kinds(size, dtype).items():
        assert p.shape == (h, w) and p.dtype == dtype, name
        tol = 1e-6 if dtype == torch.float32 else 1e-14
        assert abs(float(p.double().sum()) - 1.0) < tol, name
        assert float(p.min()) >= 0.0, name
        # the centroid is the centre pixel (h // 2, w // 2): every kind here is point-symmetric
        # about it apart from the window's truncation, which a big enough window makes tiny
        big = {"gaussian": gaussian_psf, "defocus": defocus_psf}
        if name in big:
            q = big[name]((h + 20, w + 20), 1.3 if name == "gaussian" else 2.2, dtype=dtype)
            yy, xx = np.meshgrid(_offsets(h + 20), _offsets(w + 20), indexing="ij")
            qn = q.double().numpy()
            assert abs((qn * yy).sum()) < 1e-6 and abs((qn * xx).sum()) < 1e-6, name
        # the peak is at the centre pixel (the disk's flat top ties with it)
        assert float(p[h // 2, w // 2]) >= float(p.max()) * (1 - 1e-6), name


def test_default_dtype_is_float32():
    for p in _all_kinds(5, torch.float32).values():
        assert p.dtype == torch.float32
    assert gaussian_psf(5, 1.0).dtype == torch.float32


# ---- Gaussian --------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [9, 10, (7, 12)])
def test_gaussian_equals_sampled_closed_form(size):
    h, w = (size, size) if isinstance(size, int) else size
    y, x = np.meshgrid(_offsets(h), _offsets(w), indexing="ij")
    ref = np.exp(-(y**2) / (2 * 1.5**2) - x**2 / (2 * 0.8**2))
    ref /= ref.sum()
    got = gaussian_psf(size, (1.5, 0.8), dtype=torch.float64).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-16)


# ---- Airy ------------------------------------------------------------------------------------


def _airy_reference(h, w, *, wavelength, na, pixel_size, oversample):
    """Gauss-Legendre integration of (2 J1(v) / v)^2 over each pixel, with SciPy's J1."""
    t, wt = scipy.special.roots_legendre(oversample)
    sub, wt = t / 2, wt / 2
    y = (_offsets(h)[:, None] + sub[None, :]).reshape(-1) * pixel_size
    x = (_offsets(w)[:, None] + sub[None, :]).reshape(-1) * pixel_size
    v = 2 * np.pi * na / wavelength * np.hypot(y[:, None], x[None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        i = np.where(v > 0, (2 * scipy.special.j1(v) / v) ** 2, 1.0)
    i = (i.reshape(h, oversample, w, oversample) * wt[:, None, None] * wt).sum((1, 3))
    return i / i.sum()


@pytest.mark.parametrize("size", [15, (12, 17)])
def test_airy_matches_scipy_bessel_reference(size):
    # torch.special.bessel_j1 is off by up to 4.7e-7 (absolute) for 5 < v < 25 in float64
    # (measured against scipy.special.j1): the PSF agrees to 1e-6 of its peak (measured 1.1e-6
    # relative, 5e-9 absolute)
    h, w = (size, size) if isinstance(size, int) else size
    for n in (1, 4):
        got = airy_psf(size, **AIRY, oversample=n, dtype=torch.float64).numpy()
        ref = _airy_reference(h, w, **AIRY, oversample=n)
        np.testing.assert_allclose(got, ref, rtol=0, atol=5e-6 * ref.max())


@pytest.mark.parametrize(
    "optics",
    [
        {"wavelength": 0.5, "na": 1.2, "pixel_size": 0.25},  # Airy disk ~1 px: coarse pixels
        {"wavelength": 0.5, "na": 1.4, "pixel_size": 1.0},  # disk well inside one pixel
    ],
)
def test_airy_default_oversampling_integrates_over_the_pixel(optics):
    # the default node count agrees with a 96-node integration to 2e-5 of the peak (measured
    # 6e-6 and 7e-7); point sampling (oversample=1) is off by more than 1e-2
    ref = _airy_reference(9, 9, **optics, oversample=96)
    got = airy_psf(9, **optics, dtype=torch.float64).numpy()
    point = airy_psf(9, **optics, oversample=1, dtype=torch.float64).numpy()
    assert np.abs(got - ref).max() < 2e-5 * ref.max()
    assert np.abs(point - ref).max() > 1e-2 * ref.max()


def test_airy_first_zero_is_at_the_rayleigh_radius():
    # 0.61 lambda / NA = 0.381 um = 38.1 px of 10 nm: the profile along a row has its minimum there
    p = airy_psf((1, 101), wavelength=0.5, na=0.8, pixel_size=0.01, oversample=1)
    row = p[0, 50:].double()
    first_min = int(torch.argmin(row[:50]))
    assert abs(first_min - 0.6098 * 0.5 / 0.8 / 0.01) <= 1


# ---- defocus ---------------------------------------------------------------------------------


def _disk_coverage(y0, y1, x0, x1, r):
    """Area of the disk of radius r inside [x0, x1] x [y0, y1], by adaptive quadrature in y."""

    def chord(y):
        c = math.sqrt(max(r * r - y * y, 0.0))
        return max(0.0, min(x1, c) - max(x0, -c))

    lo, hi = max(y0, -r), min(y1, r)
    if hi <= lo:
        return 0.0
    return scipy.integrate.quad(chord, lo, hi, epsabs=1e-13, epsrel=1e-13, limit=200)[0]


@pytest.mark.parametrize(("size", "radius"), [(9, 3.3), ((8, 11), 2.5), (5, 0.4), (7, 5.0)])
def test_defocus_is_the_exact_pixel_coverage_of_the_disk(size, radius):
    h, w = (size, size) if isinstance(size, int) else size
    ref = np.array(
        [
            [_disk_coverage(i - 0.5, i + 0.5, j - 0.5, j + 0.5, radius) for j in _offsets(w)]
            for i in _offsets(h)
        ]
    )
    got = defocus_psf(size, radius, dtype=torch.float64).numpy()
    np.testing.assert_allclose(got, ref / ref.sum(), atol=1e-11)


def test_defocus_inner_pixel_holds_one_over_disk_area():
    p = defocus_psf(21, 6.0, dtype=torch.float64)
    assert float(p[10, 10]) == pytest.approx(1 / (math.pi * 36), rel=1e-12)
    assert torch.allclose(p, p.flip(0), atol=1e-16) and torch.allclose(p, p.t(), atol=1e-16)


# ---- motion ----------------------------------------------------------------------------------


def _motion_reference(h, w, length, angle, n=200_001):
    """Dense sampling of the segment, each sample split bilinearly over its 4 pixels."""
    t = np.linspace(0, 1, n)
    th = np.radians(angle)
    y = (t - 0.5) * length * -np.sin(th) + h // 2
    x = (t - 0.5) * length * np.cos(th) + w // 2
    out = np.zeros((h + 2, w + 2))
    iy, ix = np.floor(y).astype(int), np.floor(x).astype(int)
    fy, fx = y - iy, x - ix
    wt = np.full(n, 1.0 / (n - 1))
    wt[[0, -1]] /= 2  # trapezoid rule
    for oy, wy in ((0, 1 - fy), (1, fy)):
        for ox, wx in ((0, 1 - fx), (1, fx)):
            np.add.at(out, (iy + oy + 1, ix + ox + 1), wt * wy * wx)
    out = out[1:-1, 1:-1]
    return out / out.sum()


def test_motion_horizontal_matches_closed_form():
    # a segment of length 5 along x drawn with the tent kernel: 1/8, 7/8, 1, 1, 1, 7/8, 1/8
    p = motion_psf(9, 5.0, 0.0, dtype=torch.float64)
    expected = torch.tensor([0.125, 0.875, 1, 1, 1, 0.875, 0.125], dtype=torch.float64) / 5
    assert torch.allclose(p[4, 1:8], expected, atol=1e-15)
    assert float(p.sum() - p[4].sum()) == 0.0
    assert torch.allclose(motion_psf(9, 5.0, 90.0, dtype=torch.float64), p.t(), atol=1e-15)
    assert torch.allclose(motion_psf(9, 5.0, 180.0, dtype=torch.float64), p, atol=1e-15)


@pytest.mark.parametrize(
    ("size", "length", "angle"), [(15, 7.3, 30.0), ((12, 16), 9.0, -20.0), (11, 6.0, 45.0)]
)
def test_motion_matches_dense_sampling(size, length, angle):
    h, w = (size, size) if isinstance(size, int) else size
    got = motion_psf(size, length, angle, dtype=torch.float64).numpy()
    np.testing.assert_allclose(got, _motion_reference(h, w, length, angle), atol=1e-7)


def test_motion_centroid_and_direction():
    p = motion_psf(21, 12.0, 30.0, dtype=torch.float64).numpy()
    yy, xx = np.meshgrid(_offsets(21), _offsets(21), indexing="ij")
    assert abs((p * yy).sum()) < 1e-13 and abs((p * xx).sum()) < 1e-13
    # second moments: the principal axis points at 30 degrees (up and right on screen); the
    # tent kernel is not isotropic, which tilts it by 0.006 degrees (measured)
    cov = np.array([[(p * xx * xx).sum(), -(p * xx * yy).sum()], [0, (p * yy * yy).sum()]])
    cov[1, 0] = cov[0, 1]
    vec = np.linalg.eigh(cov)[1][:, -1]
    assert abs(math.degrees(math.atan2(vec[1], vec[0])) % 180 - 30.0) < 0.02


def test_motion_longer_than_window_is_clipped_and_renormalised():
    p = motion_psf(5, 20.0, 0.0, dtype=torch.float64)
    assert torch.allclose(p[2], torch.full((5,), 0.2, dtype=torch.float64), atol=1e-15)


# ---- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_positive_parameters_are_checked(bad):
    with pytest.raises(ValueError, match="sigma"):
        gaussian_psf(5, bad)
    with pytest.raises(ValueError, match="sigma"):
        gaussian_psf(5, (1.0, bad))
    with pytest.raises(ValueError, match="radius"):
        defocus_psf(5, bad)
    with pytest.raises(ValueError, match="length"):
        motion_psf(5, bad, 0.0)
    for name in AIRY:
        with pytest.raises(ValueError, match=name):
            airy_psf(5, **{**AIRY, name: bad})


def test_size_dtype_angle_and_oversample_are_checked():
    with pytest.raises(ValueError, match="size"):
        gaussian_psf(0, 1.0)
    with pytest.raises(ValueError, match="size"):
        defocus_psf((3, 4, 5), 1.0)
    with pytest.raises(TypeError, match="size"):
        motion_psf(3.5, 1.0, 0.0)
    with pytest.raises(TypeError, match="dtype"):
        gaussian_psf(5, 1.0, dtype=torch.int32)
    with pytest.raises(ValueError, match="angle"):
        motion_psf(5, 2.0, float("nan"))
    with pytest.raises(ValueError, match="oversample"):
        airy_psf(5, **AIRY, oversample=0)
    with pytest.raises(TypeError, match="sigma"):
        gaussian_psf(5, (1.0, 2.0, 3.0))
