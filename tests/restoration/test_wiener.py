import numpy as np
import pytest
import skimage.data
import skimage.restoration as skr
import torch

from pixlearn.imaging import blur, defocus_psf, gaussian_noise, gaussian_psf, psf2otf
from pixlearn.metrics import psnr
from pixlearn.restoration import unsupervised_wiener, wiener


@pytest.fixture(scope="module")
def camera():
    return skimage.data.camera()[::2, ::2] / 255.0  # (256, 256) float64


def _degrade(cam, psf, sigma=0.01, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(cam)
    return gaussian_noise(blur(x, psf.to(x.dtype)), sigma, generator=g)


@pytest.mark.parametrize("clip", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("balance", [1e-3, 0.01, 1.0])
def test_equals_skimage_on_camera(camera, dtype, clip, balance):
    psf = gaussian_psf(9, 1.5, dtype=torch.float64)
    image = _degrade(camera, psf).numpy().astype(dtype)
    p = psf.numpy().astype(dtype)
    ref = skr.wiener(image, p, balance, clip=clip)
    out = wiener(torch.from_numpy(image), torch.from_numpy(p), balance, clip=clip)
    assert out.dtype == torch.from_numpy(image).dtype
    tol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(out.numpy(), ref, atol=tol, rtol=0)


@pytest.mark.parametrize("seed", range(3))
def test_random_inputs_regularisers_and_transfer_functions_equal_skimage(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(8, 30, size=2)
    image = rng.random((h, w))
    psf = rng.random((5, 3))
    reg = rng.standard_normal((3, 3))  # any sign; point-symmetric, since scikit-image keeps
    reg = reg + reg[::-1, ::-1]  # only the real part of the regulariser's transfer function
    out = wiener(torch.from_numpy(image), torch.from_numpy(psf), 0.1, reg=torch.from_numpy(reg))
    np.testing.assert_allclose(out.numpy(), skr.wiener(image, psf, 0.1, reg=reg), atol=1e-10)
    # a symmetric PSF given as its (real) transfer function, half or full spectrum
    sym = gaussian_psf(5, 1.0, dtype=torch.float64)
    ref = skr.wiener(image, sym.numpy(), 0.05, clip=False)
    for is_real in (True, False):
        tf = psf2otf(sym, (h, w), onesided=is_real)
        out = wiener(torch.from_numpy(image), tf, 0.05, is_real=is_real, clip=False)
        np.testing.assert_allclose(out.numpy(), ref, atol=1e-10)


def test_balance_zero_inverts_a_noise_free_circular_blur(camera):
    x = torch.from_numpy(camera)
    psf = gaussian_psf(7, 1.0, dtype=torch.float64)  # |H| >= 7e-3 on this grid: no zeros
    out = wiener(blur(x, psf), psf, 0.0, clip=False)
    assert float((out - x).abs().max()) < 1e-6
    out32 = wiener(blur(x.float(), psf.float()), psf.float(), 0.0, clip=False)
    assert float((out32.double() - x).abs().max()) < 1e-3  # float32: 1/|H| amplifies rounding


def test_psf_gain_is_undone():
    x = torch.rand(16, 16, dtype=torch.float64)
    psf = 2.0 * gaussian_psf(5, 0.8, dtype=torch.float64)  # sums to 2
    assert torch.allclose(wiener(blur(x, psf), psf, 0.0, clip=False), x, atol=1e-8)


@pytest.mark.parametrize("psf", [gaussian_psf(15, 2.0), defocus_psf(11, 4.0)])
def test_improves_psnr_on_camera(camera, psf):
    cam = torch.from_numpy(camera).float()
    degraded = _degrade(camera, psf).float()
    restored = wiener(degraded, psf, 0.01)
    gain = float(psnr(restored, cam) - psnr(degraded, cam))
    assert gain > 1.0  # measured: +1.6 dB (Gaussian), +2.3 dB (defocus)


def test_batched_broadcast_non_contiguous_and_empty():
    x = torch.rand(2, 3, 16, 20)
    psf = gaussian_psf(5, 1.0)
    out = wiener(x, psf, 0.1)
    assert out.shape == x.shape
    assert torch.allclose(out[1, 2], wiener(x[1, 2], psf, 0.1), atol=1e-6)
    psfs = torch.stack([gaussian_psf(5, s) for s in (0.5, 1.0, 1.5)])  # one per channel
    out = wiener(x, psfs, 0.1)
    assert torch.allclose(out[0, 2], wiener(x[0, 2], psfs[2], 0.1), atol=1e-6)
    t = torch.rand(20, 16).t()
    assert torch.allclose(wiener(t, psf, 0.1), wiener(t.contiguous(), psf, 0.1), atol=1e-7)
    assert wiener(torch.rand(0, 8, 8), psf, 0.1).shape == (0, 8, 8)


def test_gradcheck():
    y = torch.rand(6, 7, dtype=torch.float64, requires_grad=True)
    psf = gaussian_psf(3, 1.0, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(lambda t, p: wiener(t, p, 0.1, clip=False), (y, psf))


def test_bad_inputs():
    x, psf = torch.rand(8, 8), gaussian_psf(5, 1.0)
    with pytest.raises(ValueError, match="psf must not be larger than the image"):
        wiener(x, gaussian_psf(9, 1.0), 0.1)
    with pytest.raises(ValueError, match="psf must be non-negative"):
        wiener(x, psf - 0.1, 0.1)
    with pytest.raises(ValueError, match="image must be finite"):
        wiener(x.clone().fill_(float("nan")), psf, 0.1)
    with pytest.raises(ValueError, match="balance must be >= 0"):
        wiener(x, psf, -1.0)
    with pytest.raises(ValueError, match=r"psf given as a transfer function must end in \(8, 5\)"):
        wiener(x, psf2otf(psf, (8, 8)), 0.1)  # a full spectrum where the half is expected
    with pytest.raises(ValueError, match="reg must not be larger"):
        wiener(x, psf, 0.1, reg=torch.rand(9, 9))
    with pytest.raises(ValueError, match="psf leading dims must broadcast"):
        wiener(torch.rand(3, 8, 8), torch.rand(2, 3, 3), 0.1)


# ---- unsupervised_wiener: a Gibbs sampler, compared with scikit-image's statistically ----


@pytest.fixture(scope="module")
def unsupervised_case(camera):
    psf = gaussian_psf(9, 1.5, dtype=torch.float64)
    degraded = _degrade(camera, psf, sigma=0.02, seed=3)
    out, chains = unsupervised_wiener(degraded, psf, generator=torch.Generator().manual_seed(0))
    ref, ref_chains = skr.unsupervised_wiener(degraded.numpy(), psf.numpy(), rng=0)
    return camera, degraded, out, chains, ref, ref_chains


def test_unsupervised_matches_skimage_statistically(unsupervised_case):
    cam, degraded, out, chains, ref, ref_chains = unsupervised_case
    cam_t = torch.from_numpy(cam)
    ours, theirs = float(psnr(out, cam_t)), float(psnr(torch.from_numpy(ref), cam_t))
    assert abs(ours - theirs) < 0.5  # measured: 0.024 dB
    # two posterior means from ~20 samples each differ by the sampling noise: measured 0.015
    assert float((out - torch.from_numpy(ref)).abs().mean()) < 0.03
    # noise precision (mean of the chain after burn-in) within 5 %; measured 0.04 %
    gn, ref_gn = float(chains["noise"][16:].mean()), float(np.mean(ref_chains["noise"][16:]))
    assert gn == pytest.approx(ref_gn, rel=0.05)
    gx, ref_gx = float(chains["prior"][16:].mean()), float(np.mean(ref_chains["prior"][16:]))
    assert gx == pytest.approx(ref_gx, rel=0.1)  # measured 6.2 %
    # and the estimated noise level is the true one, 0.02, within 10 %
    assert gn**-0.5 == pytest.approx(0.02, rel=0.1)  # measured 0.01999
    assert ours > float(psnr(degraded, cam_t)) + 0.8  # and it restores: measured +1.2 dB


def test_unsupervised_chains_shape_seed_and_callback():
    y = torch.rand(2, 24, 24)
    psf = gaussian_psf(5, 1.0)
    seen = []
    params = {"max_num_iter": 25, "min_num_iter": 20, "callback": seen.append}
    out, chains = unsupervised_wiener(
        y, psf, user_params=params, generator=torch.Generator().manual_seed(1)
    )
    assert out.shape == y.shape and out.dtype == y.dtype
    t = chains["noise"].shape[-1] - 1
    assert chains["noise"].shape == chains["prior"].shape == (2, t + 1)
    assert 20 < t <= 25 and len(seen) == t and seen[0].shape == y.shape
    again, _ = unsupervised_wiener(
        y, psf, user_params=params, generator=torch.Generator().manual_seed(1)
    )
    assert torch.equal(out, again)  # reproducible from the generator


def test_unsupervised_bad_inputs():
    x, psf = torch.rand(8, 8), gaussian_psf(3, 1.0)
    with pytest.raises(ValueError, match="user_params keys must be among"):
        unsupervised_wiener(x, psf, user_params={"max_iter": 3})
    with pytest.raises(ValueError, match="max_num_iter"):
        unsupervised_wiener(x, psf, user_params={"max_num_iter": 10, "burnin": 15})
    with pytest.raises(ValueError, match="psf must not be larger"):
        unsupervised_wiener(x, gaussian_psf(9, 1.0))
    with pytest.raises(ValueError, match="image must be finite"):
        unsupervised_wiener(x.clone().fill_(float("inf")), psf)
    with pytest.raises(ValueError, match="image must be at least 2x2"):
        unsupervised_wiener(torch.rand(1, 5), torch.ones(1, 1))


def test_unsupervised_stopping_rule():
    g = torch.Generator().manual_seed(0)
    y = blur(torch.rand(20, 22, generator=g, dtype=torch.float64), gaussian_psf(5, 1.0))
    psf = gaussian_psf(5, 1.0, dtype=torch.float64)
    params = {"burnin": 5, "min_num_iter": 10, "max_num_iter": 40}

    def length(threshold):
        _, chains = unsupervised_wiener(
            y, psf, user_params={**params, "threshold": threshold}, generator=torch.Generator()
        )
        return chains["noise"].shape[-1]

    # threshold 0 never stops early; a huge one stops at the first check, iteration
    # min_num_iter + 1 (chains: the start value and min_num_iter + 2 samples)
    assert length(0.0) == 41 and length(1e30) == 13
    # the same chain (same seed) stops later for a smaller threshold: measured lengths 13, 15,
    # 21, 29 for 3e-3, 1e-3, 1.5e-4, 3e-5
    lengths = [length(t) for t in (3e-3, 1e-3, 1.5e-4, 3e-5)]
    assert lengths == sorted(lengths) and lengths[0] == 13 and 13 < lengths[2] < lengths[3] < 41


def test_unsupervised_float32_float64_and_batched_psf_agree_statistically(camera):
    psf = gaussian_psf(9, 1.5, dtype=torch.float64)
    degraded = _degrade(camera[64:192, 64:192].copy(), psf, sigma=0.02, seed=4)
    cam = torch.from_numpy(camera[64:192, 64:192].copy())
    ref = skr.unsupervised_wiener(degraded.numpy(), psf.numpy(), rng=1)[0]
    ref_psnr = float(psnr(torch.from_numpy(ref), cam))
    for dtype in (torch.float64, torch.float32):
        out, chains = unsupervised_wiener(
            degraded.to(dtype), psf.to(dtype), generator=torch.Generator().manual_seed(1)
        )
        assert out.dtype == dtype
        assert abs(float(psnr(out.double(), cam)) - ref_psnr) < 0.3  # measured 0.010 dB
        assert float(chains["noise"][16:].mean()) ** -0.5 == pytest.approx(0.02, rel=0.1)
    # a batch of two PSFs: each item restored with its own
    psfs = torch.stack([psf, gaussian_psf(9, 1.0, dtype=torch.float64)])
    images = torch.stack([degraded, _degrade(cam.numpy(), psfs[1], sigma=0.02, seed=5)])
    outs, chains = unsupervised_wiener(images, psfs, generator=torch.Generator().manual_seed(2))
    assert outs.shape == (2, 128, 128) and chains["noise"].shape[0] == 2
    for k in range(2):
        assert float(psnr(outs[k], cam)) > float(psnr(images[k], cam)) + 0.5
        assert float(chains["noise"][k, 16:].mean()) ** -0.5 == pytest.approx(0.02, rel=0.1)
