import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pixlearn.measure import curvature, fourier_descriptors, signature, trace_boundary
from pixlearn.segmentation import label


def _circle(radius, k=200, center=(0.0, 0.0), ccw=True, dtype=torch.float64):
    """(row, col) points of a circle, counter-clockwise as seen (rows point down)."""
    t = torch.arange(k, dtype=dtype) * (2 * math.pi / k)
    pts = torch.stack([center[0] - radius * torch.sin(t), center[1] + radius * torch.cos(t)], 1)
    return pts if ccw else pts.flip(0)


def _blob(seed, size=40):
    g = torch.Generator().manual_seed(seed)
    x = F.interpolate(torch.rand(1, 1, 6, 6, generator=g), size=(size, size), mode="bicubic")
    m = F.pad(x[0, 0] > 0.5, (2, 2, 2, 2))
    lab = label(m, connectivity=2)
    return lab == lab[m][0]


def _rot90(pts):
    """Rotate (row, col) points by 90 degrees counter-clockwise (as seen) about the origin."""
    return torch.stack([-pts[:, 1], pts[:, 0]], 1)


# ---------------------------------------------------------------- signature


def test_signature_of_a_square_equals_the_closed_form():
    a = 3.0
    square = torch.tensor([[-a, -a], [-a, a], [a, a], [a, -a]], dtype=torch.float64) + 5.0
    n = 360
    theta = torch.arange(n, dtype=torch.float64) * (2 * math.pi / n)
    expected = a / torch.maximum(theta.cos().abs(), theta.sin().abs())
    torch.testing.assert_close(signature(square, n_angles=n), expected, rtol=0, atol=1e-12)


def test_signature_of_a_circle_is_its_radius():
    r = signature(_circle(7.0, k=400, center=(20.0, 30.0)), n_angles=90)
    assert r.shape == (90,)
    # a regular 400-gon lies between the inscribed and circumscribed radii
    assert bool((r <= 7.0 + 1e-12).all()) and bool((r >= 7.0 * math.cos(math.pi / 400)).all())


def test_signature_is_translation_invariant_and_rotates_with_the_shape():
    pts = trace_boundary(_blob(0)).double()
    ref = signature(pts, n_angles=72)
    torch.testing.assert_close(signature(pts + torch.tensor([13.0, -4.0])), signature(pts))
    # a quarter turn counter-clockwise shifts the signature by a quarter of the angles
    torch.testing.assert_close(
        signature(_rot90(pts), n_angles=72), ref.roll(18), atol=1e-12, rtol=0
    )


def test_signature_with_a_centre_and_slow_reference():
    pts = trace_boundary(_blob(1)).double()
    center = (pts[:, 0].mean().item() + 0.3, pts[:, 1].mean().item() - 0.2)
    ours = signature(pts, n_angles=40, center=center)
    # slow reference: march along each ray, keep the farthest crossing with any edge
    xs, ys = pts[:, 1].numpy(), -pts[:, 0].numpy()
    cx, cy = center[1], -center[0]
    for j in range(40):
        th = 2 * math.pi * j / 40
        u = np.array([math.cos(th), math.sin(th)])
        best = 0.0
        for i in range(len(xs)):
            p = np.array([xs[i], ys[i]])
            q = np.array([xs[(i + 1) % len(xs)], ys[(i + 1) % len(xs)]])
            m = np.array([u, p - q]).T
            if abs(np.linalg.det(m)) < 1e-14:
                continue
            t, s = np.linalg.solve(m, p - np.array([cx, cy]))
            if t >= 0 and -1e-12 <= s <= 1 + 1e-12:
                best = max(best, t)
        assert ours[j].item() == pytest.approx(best, abs=1e-9)


def test_signature_gradcheck():
    # no ray passes through a vertex (there the signature has a kink)
    t = torch.arange(9, dtype=torch.float64) * (2 * math.pi / 9) + 0.1
    pts = torch.stack([-2 * torch.sin(t), 2 + 2 * torch.cos(t)], 1).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: signature(p, n_angles=7), (pts,))
    assert torch.autograd.gradcheck(lambda p: signature(p, n_angles=5, center=(0.1, 2.0)), (pts,))


# ---------------------------------------------------------------- Fourier descriptors


def test_raw_coefficients_equal_numpy_fft():
    pts = trace_boundary(_blob(2)).double()
    z = pts[:, 1].numpy() - 1j * pts[:, 0].numpy()  # x = col, y = -row
    ref = np.fft.fft(z) / len(z)
    ours = fourier_descriptors(pts, normalize=False)
    np.testing.assert_allclose(ours.numpy(), ref, rtol=0, atol=1e-10)
    n = 5
    cut = fourier_descriptors(pts, n=n, normalize=False)
    np.testing.assert_allclose(cut.numpy(), np.r_[ref[: n + 1], ref[-n:]], atol=1e-10)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_normalised_descriptors_invariances_on_coordinates(seed):
    pts = trace_boundary(_blob(seed)).double()
    ref = fourier_descriptors(pts)
    assert ref.shape == (len(pts) - 1,) and ref[0].item() == pytest.approx(1.0)
    variants = {
        "translation": pts + torch.tensor([17.5, -3.25], dtype=torch.float64),
        "rotation 90": _rot90(pts),
        "rotation 180": -pts,
        "rotation 30": pts @ torch.tensor([[0.8660254, -0.5], [0.5, 0.8660254]]).double(),
        "scaling": 2.5 * pts,
        "start point": pts.roll(7, 0),
        "direction": pts.flip(0),
        "mirror image": pts * torch.tensor([1.0, -1.0], dtype=torch.float64),
    }
    for name, other in variants.items():
        torch.testing.assert_close(fourier_descriptors(other), ref, rtol=0, atol=1e-12, msg=name)


def _lobed(scale, size):
    """A digitised three-lobed shape r <= scale (1 + 0.25 cos 3 theta), centred."""
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    dy, dx = (yy - size // 2).double(), (xx - size // 2).double()
    return torch.hypot(dx, dy) <= scale * (1 + 0.25 * torch.cos(3 * torch.atan2(dy, dx)))


def test_normalised_descriptors_invariance_on_rasterised_shapes():
    m = _blob(6)
    ref = fourier_descriptors(trace_boundary(m).double(), n=8)
    # a quarter turn of the image: exactly the same boundary pixels, rotated
    turned = fourier_descriptors(trace_boundary(torch.rot90(m)).double(), n=8)
    torch.testing.assert_close(turned, ref, rtol=0, atol=1e-12)
    # digitised at two scales: a different set of pixels, the same shape (measured: 0.0034)
    small = fourier_descriptors(trace_boundary(_lobed(20, 64)).double(), n=4)
    large = fourier_descriptors(trace_boundary(_lobed(40, 128)).double(), n=4)
    assert (small - large).abs().max().item() < 0.01
    # and clearly unlike a disk's: the lobes show in the harmonics 4 and -2 (measured: 0.15)
    disk = fourier_descriptors(trace_boundary(_disk(20, 64)).double(), n=4)
    assert (small - disk).abs().max().item() > 0.1


def _disk(radius, size):
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    return (yy - size // 2) ** 2 + (xx - size // 2) ** 2 <= radius**2


def test_descriptors_tell_shapes_apart():
    circle = fourier_descriptors(_circle(5.0, k=64), n=4)
    torch.testing.assert_close(circle, torch.tensor([1.0] + [0.0] * 7, dtype=torch.float64))
    ellipse = _circle(5.0, k=64) * torch.tensor([1.0, 2.0], dtype=torch.float64)
    assert fourier_descriptors(ellipse, n=4)[-1].item() == pytest.approx(1 / 3)


def test_fourier_descriptors_gradcheck():
    pts = (_circle(3.0, k=8) + 0.1 * torch.rand(8, 2, dtype=torch.float64)).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: fourier_descriptors(p, n=3), (pts,))
    assert torch.autograd.gradcheck(
        lambda p: torch.view_as_real(fourier_descriptors(p, normalize=False)), (pts,)
    )


def test_closed_polyline_repeating_its_start_is_the_same_curve():
    pts = _circle(4.0, k=30)
    closed = torch.cat([pts, pts[:1]])
    torch.testing.assert_close(fourier_descriptors(closed), fourier_descriptors(pts))
    torch.testing.assert_close(curvature(closed), curvature(pts))


# ---------------------------------------------------------------- curvature


@pytest.mark.parametrize("radius", [2.0, 7.5, 40.0])
def test_curvature_of_a_circle_is_one_over_its_radius(radius):
    k, sigma = 400, 2.0
    circle = _circle(radius, k=k, center=(3.0, -8.0))
    np.testing.assert_allclose(curvature(circle, sigma=0.0).numpy(), 1 / radius, rtol=1e-10)
    # the Gaussian shrinks the circle by exp(-sigma^2 w^2 / 2), w = 2 pi / K: closed form
    gain = math.exp((sigma * 2 * math.pi / k) ** 2 / 2)
    np.testing.assert_allclose(curvature(circle, sigma=sigma).numpy(), gain / radius, rtol=1e-10)
    assert abs(gain - 1) < 1e-3  # so kappa = 1/r within 0.1 %
    # clockwise traversal flips the sign
    np.testing.assert_allclose(
        curvature(_circle(radius, k=k, ccw=False), sigma=0.0).numpy(), -1 / radius, rtol=1e-10
    )


def test_total_curvature_of_a_simple_closed_curve_is_two_pi():
    t = torch.arange(300, dtype=torch.float64) * (2 * math.pi / 300)
    r = 10 + 2 * torch.cos(3 * t)  # a three-lobed curve with concave parts
    pts = torch.stack([-r * torch.sin(t), r * torch.cos(t)], 1)
    kappa = curvature(pts, sigma=1.0)
    assert bool((kappa < 0).any()) and bool((kappa > 0).any())
    # sum kappa |r'| dt = 2 pi; |r'| from the same spectral derivative
    x, y = pts[:, 1], -pts[:, 0]
    w = 2 * math.pi * torch.fft.fftfreq(300, dtype=torch.float64)
    g = 1j * w * torch.exp(-0.5 * w**2)
    speed = torch.hypot(
        torch.fft.ifft(torch.fft.fft(x) * g).real, torch.fft.ifft(torch.fft.fft(y) * g).real
    )
    assert (kappa * speed).sum().item() == pytest.approx(2 * math.pi, rel=1e-9)


def test_curvature_of_a_digital_disk():
    yy, xx = torch.meshgrid(torch.arange(61), torch.arange(61), indexing="ij")
    disk = (yy - 30) ** 2 + (xx - 30) ** 2 <= 20**2
    pts = trace_boundary(disk)  # clockwise as seen: negative curvature
    kappa = curvature(pts, sigma=3.0)
    assert kappa.dtype == torch.float64
    # boundary pixels are not evenly spaced (diagonal steps are longer), so only the mean
    # (measured: 3.3 % above 1/20)
    assert -kappa.mean().item() == pytest.approx(1 / 20, rel=0.05)


def test_curvature_gradcheck_and_dtype():
    pts = (_circle(3.0, k=10) + 0.05 * torch.rand(10, 2, dtype=torch.float64)).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: curvature(p, sigma=1.0), (pts,))
    assert curvature(_circle(3.0, k=10, dtype=torch.float32)).dtype == torch.float32


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("fn", [signature, fourier_descriptors, curvature])
@pytest.mark.parametrize(
    ("coords", "error", "match"),
    [
        (torch.rand(5, 3), ValueError, "boundary_coords.*\\(K, 2\\)"),
        (torch.rand(2, 2), ValueError, "boundary_coords.*at least 3"),
        (torch.tensor([[0.0, 0.0], [1.0, float("inf")], [2.0, 0.0]]), ValueError, "finite"),
        (torch.ones(4, 2, dtype=torch.bool), TypeError, "boundary_coords"),
        ([[0, 0], [1, 1], [2, 0]], TypeError, "boundary_coords"),
    ],
)
def test_bad_boundaries(fn, coords, error, match):
    with pytest.raises(error, match=match):
        fn(coords)


def test_bad_options():
    pts = _circle(3.0, k=10)
    with pytest.raises(ValueError, match="n_angles"):
        signature(pts, n_angles=0)
    with pytest.raises(ValueError, match="center"):
        signature(pts, center=(float("nan"), 0.0))
    with pytest.raises(ValueError, match="n must"):
        fourier_descriptors(pts, n=5)
    pentagon = _circle(3.0, k=5)
    star = torch.cat([pentagon[::2], pentagon[1::2]])  # a pentagram, wound twice: only F_2
    with pytest.raises(ValueError, match="F_1"):
        fourier_descriptors(star)
    with pytest.raises(ValueError, match="sigma"):
        curvature(pts, sigma=-1.0)
