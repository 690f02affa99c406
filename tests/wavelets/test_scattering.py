import math

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
    assert float(lp.min()) > 0.3  # measured 0.32: the bank is a frame with A ~ 0.32, B = 1


def test_energy_is_roughly_conserved_by_first_layer():
    x = _camera(64)
    x = x - x.mean()
    psi, phi = morlet_filter_bank((64, 64), 3, 8, dtype=torch.float64)
    xh = torch.fft.fft2(x)
    # Parseval with the LP sum: ||x*phi||^2 + 1/2 sum ||x*psi||^2 in [A ||x||^2, ||x||^2]
    e = (xh.abs() ** 2 * littlewood_paley(psi, phi)).sum() / (xh.abs() ** 2).sum()
    assert 0.3 < float(e) <= 1.0


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
    assert (r1 - torch.roll(s1, 4, dims=1)).abs().max() / scale < 1e-3  # measured 3e-6
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
