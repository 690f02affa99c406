import math

import numpy as np
import pytest
import torch

from pixlearn.data.samples import sample
from pixlearn.wavelets.scattering import littlewood_paley, morlet_filter_bank, scattering2d


def _camera(n=128):
    return sample("camera", dtype=torch.float64).squeeze()[::2, ::2][:n, :n]


@pytest.mark.parametrize(("J", "L"), [(1, 4), (2, 8), (3, 6)])
def test_output_shape(J, L):
    s = scattering2d(torch.rand(2, 32, 32), J, L)
    assert s.shape == (2, 1 + J * L + L * L * J * (J - 1) // 2, 32 // 2**J, 32 // 2**J)
    assert scattering2d(torch.rand(32, 32), J, L, max_order=1).shape[0] == 1 + J * L


def test_littlewood_paley_bounded():
    psi, phi = morlet_filter_bank((64, 64), 3, 8, dtype=torch.float64)
    assert psi[..., 0, 0].abs().max() < 1e-12  # zero-mean wavelets
    lp = littlewood_paley(psi, phi)
    assert float(lp.max()) == pytest.approx(1.0, abs=1e-12)
    assert float(lp.min()) > 0.55  # measured 0.61: the bank is a frame with A ~ 0.61, B = 1


def _morlet_reference(n, J, L):
    """Kymatio's default Morlet bank written from its formula (NumPy), before any scaling."""
    w = 2 * np.pi * np.fft.fftfreq(n)
    wy, wx = np.meshgrid(w, w, indexing="ij")

    def gauss(cy, cx, sigma, theta, slant):
        out = np.zeros((n, n))
        for ky in (-1, 0, 1):  # periodised over the 3x3 neighbouring periods
            for kx in (-1, 0, 1):
                y, x = wy - cy + 2 * np.pi * ky, wx - cx + 2 * np.pi * kx
                u, v = np.cos(theta) * x + np.sin(theta) * y, -np.sin(theta) * x + np.cos(theta) * y
                out += np.exp(-0.5 * sigma**2 * (u**2 + slant**2 * v**2))
        return out

    psi = np.zeros((J, L, n, n))
    for j in range(J):
        sigma, xi = 0.8 * 2**j, 3 * np.pi / 4 / 2**j
        for ell in range(L):
            theta = np.pi * ell / L
            gabor = gauss(xi * np.sin(theta), xi * np.cos(theta), sigma, theta, 4 / L)
            envelope = gauss(0, 0, sigma, theta, 4 / L)
            psi[j, ell] = gabor - gabor[0, 0] / envelope[0, 0] * envelope
    return psi, gauss(0, 0, 0.8 * 2 ** (J - 1), 0.0, 1.0)


@pytest.mark.parametrize(
    ("J", "L", "before", "after"),
    [(1, 8, 0.291, 0.552), (2, 8, 0.314, 0.594), (3, 8, 0.320, 0.612), (4, 8, 0.322, 0.630),
     (3, 6, 0.499, 0.637), (3, 12, 0.156, 0.505), (3, 4, 0.402, 0.451)],
)  # fmt: skip
def test_littlewood_paley_lower_bound_before_and_after_the_two_step_scaling(J, L, before, after):
    psi_ref, phi_ref = _morlet_reference(64, J, L)
    psi, phi = morlet_filter_bank((64, 64), J, L, dtype=torch.float64)
    # the same filters up to one constant for the wavelets and one for the low-pass
    c_psi, c_phi = float(psi.abs().max()) / psi_ref.max(), float(phi[0, 0]) / phi_ref[0, 0]
    np.testing.assert_allclose(psi.numpy(), c_psi * psi_ref, atol=1e-12)
    np.testing.assert_allclose(phi.numpy(), c_phi * phi_ref, atol=1e-12)
    # before: the raw bank divided by one constant (the old scaling); after: the two steps.
    # The lower bound over the covered frequencies, the Nyquist disc |omega| <= pi (with few
    # orientations the corners beyond it fall between the finest wavelets: 0.36 for L = 6)
    lp_raw = littlewood_paley(torch.from_numpy(psi_ref), torch.from_numpy(phi_ref))
    lp_raw = lp_raw / lp_raw.max()
    lp = littlewood_paley(psi, phi)
    w = 2 * np.pi * np.fft.fftfreq(64)
    disc = torch.from_numpy(np.hypot(*np.meshgrid(w, w, indexing="ij")) <= np.pi)
    assert float(lp.max()) == pytest.approx(1.0, abs=1e-12)
    assert float(lp_raw[disc].min()) == pytest.approx(before, abs=0.005)
    assert float(lp[disc].min()) == pytest.approx(after, abs=0.005)
    if L >= 6:
        assert float(lp[disc].min()) > 0.5  # A >= 0.5 for the usual orientation counts
    if L == 8:
        assert float(lp.min()) == float(lp[disc].min())  # the whole grid is covered


def test_energy_is_roughly_conserved_by_first_layer():
    x = _camera(64)
    x = x - x.mean()
    psi, phi = morlet_filter_bank((64, 64), 3, 8, dtype=torch.float64)
    xh = torch.fft.fft2(x)
    # Parseval with the LP sum: ||x*phi||^2 + 1/2 sum ||x*psi||^2 in [A ||x||^2, ||x||^2]
    e = (xh.abs() ** 2 * littlewood_paley(psi, phi)).sum() / (xh.abs() ** 2).sum()
    assert 0.61 < float(e) <= 1.0  # A = 0.61 for this bank; measured 0.84


@pytest.mark.parametrize("shift", [1, 2])
def test_stable_under_small_translations(shift):
    x = _camera()
    xs = torch.roll(x, shift, dims=-1)
    s, ss = scattering2d(x, 3, 8), scattering2d(xs, 3, 8)
    rel_s = float((ss - s).norm() / s.norm())
    rel_x = float((xs - x).norm() / x.norm())
    # measured: 0.035 vs 0.128 (1 px), 0.069 vs 0.189 (2 px)
    assert rel_s < 0.5 * rel_x


def test_rotation_by_90_degrees_permutes_orientations():
    x = _camera()
    s1 = scattering2d(x, 3, 8, max_order=1)[1:].mean((-2, -1)).reshape(3, 8)
    r1 = scattering2d(torch.rot90(x, 1, (-2, -1)), 3, 8, max_order=1)[1:].mean((-2, -1))
    r1 = r1.reshape(3, 8)
    scale = s1.abs().max()
    # measured 8.6e-4: the fftfreq grid has one Nyquist row, so rot90 is not exact on it
    assert (r1 - torch.roll(s1, 4, dims=1)).abs().max() / scale < 1e-3
    assert (r1 - s1).abs().max() / scale > 0.05  # not trivially invariant


def test_batched_and_gradcheck():
    x = torch.rand(3, 16, 16, dtype=torch.float64)
    torch.testing.assert_close(scattering2d(x, 2, 4)[1], scattering2d(x[1], 2, 4))
    xg = (torch.rand(8, 8, dtype=torch.float64) + 0.5).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: scattering2d(t, 1, 2, max_order=1), (xg,))


def test_errors():
    with pytest.raises(ValueError, match="multiples of 2\\^J"):
        scattering2d(torch.rand(30, 32), 2)
    with pytest.raises(ValueError, match="J must be >= 1"):
        scattering2d(torch.rand(32, 32), 0)
    with pytest.raises(ValueError, match="max_order"):
        scattering2d(torch.rand(32, 32), 2, max_order=3)
    with pytest.raises(ValueError, match="image must be finite"):
        scattering2d(torch.full((32, 32), math.nan), 2)
