import math

import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.data
import skimage.filters
import torch

from pixlearn.filters import gabor_filter_bank, gabor_kernel

PARAMS = [
    dict(frequency=0.1, theta=0.0),
    dict(frequency=0.25, theta=0.7, offset=0.4),
    dict(frequency=0.05, theta=2.0, bandwidth=1.5),
    dict(frequency=0.2, theta=-1.0, sigma_x=2.0, sigma_y=5.0, n_stds=2),
    dict(frequency=0.3, theta=math.pi / 2, sigma_x=1.5),
]


@pytest.mark.parametrize("params", PARAMS)
def test_gabor_kernel_matches_scikit_image(params):
    ref = skimage.filters.gabor_kernel(**params)
    out = gabor_kernel(**params, dtype=torch.complex128)
    assert out.shape == ref.shape and out.dtype == torch.complex128
    np.testing.assert_allclose(out.numpy(), ref, rtol=0, atol=1e-12)
    out32 = gabor_kernel(**params)  # default complex64
    assert out32.dtype == torch.complex64
    np.testing.assert_allclose(out32.numpy(), ref, rtol=0, atol=1e-6)


def test_gabor_kernel_is_a_gaussian_times_a_sinusoid():
    f, sx, sy, psi = 0.15, 2.0, 3.0, 0.5
    g = gabor_kernel(f, 0.0, sigma_x=sx, sigma_y=sy, offset=psi, dtype=torch.complex128)
    h, w = g.shape
    y = torch.arange(h, dtype=torch.float64)[:, None] - h // 2
    x = torch.arange(w, dtype=torch.float64)[None, :] - w // 2
    gauss = torch.exp(-(x**2) / (2 * sx**2) - y**2 / (2 * sy**2)) / (2 * math.pi * sx * sy)
    # the modulus is the Gaussian envelope, the real/imaginary parts are cos/sin carriers
    assert torch.allclose(g.abs(), gauss, atol=1e-15)
    assert torch.allclose(g.real, gauss * torch.cos(2 * math.pi * f * x + psi), atol=1e-15)
    assert torch.allclose(g.imag, gauss * torch.sin(2 * math.pi * f * x + psi), atol=1e-15)
    # rotating by 90 degrees turns the carrier to vary along the rows
    g90 = gabor_kernel(f, math.pi / 2, sigma_x=sx, sigma_y=sy, dtype=torch.complex128)
    assert torch.allclose(
        g90.abs().t(), gabor_kernel(f, 0.0, sigma_x=sx, sigma_y=sy).abs().double(), atol=1e-7
    )


BANK_F, BANK_T = [0.08, 0.2], [0.0, 0.8, 2.1]


def test_bank_matches_scikit_image_gabor_magnitudes():
    img = skimage.data.camera()[::8, ::8].astype(np.float64) / 255.0  # (64, 64)
    out = gabor_filter_bank(torch.from_numpy(img), BANK_F, BANK_T)
    assert out.shape == (6, 64, 64)
    for i, (f, t) in enumerate([(f, t) for f in BANK_F for t in BANK_T]):
        re, im = skimage.filters.gabor(img, f, t, mode="mirror")
        np.testing.assert_allclose(out[i].numpy(), np.hypot(re, im), atol=1e-10)


def test_bank_circular_boundary_matches_wrapped_convolution():
    rng = np.random.default_rng(0)
    img = rng.random((20, 24))
    out = gabor_filter_bank(torch.from_numpy(img), [0.3], [0.5], boundary="circular")
    g = skimage.filters.gabor_kernel(0.3, 0.5)
    re = ndi.convolve(img, g.real, mode="wrap")
    im = ndi.convolve(img, g.imag, mode="wrap")
    np.testing.assert_allclose(out[0].numpy(), np.hypot(re, im), atol=1e-10)


def test_bank_combinations_equal_explicit_reductions():
    img = torch.rand(2, 3, 24, 20, dtype=torch.float64)
    bank = gabor_filter_bank(img, BANK_F, BANK_T)
    assert bank.shape == (2, 3, 6, 24, 20) and bank.dtype == torch.float64
    assert torch.equal(gabor_filter_bank(img, BANK_F, BANK_T, combine="max"), bank.amax(-3))
    assert torch.allclose(gabor_filter_bank(img, BANK_F, BANK_T, combine="sum"), bank.sum(-3))
    assert torch.allclose(gabor_filter_bank(img, BANK_F, BANK_T, combine="mean"), bank.mean(-3))
    # frequency-major order: entry i_f * T + i_theta is the single-filter bank (f, theta)
    single = gabor_filter_bank(img, [BANK_F[1]], [BANK_T[2]])
    assert torch.allclose(bank[..., 5:6, :, :], single)


def test_bank_picks_the_orientation_of_a_grating():
    y, _ = torch.meshgrid(torch.arange(48.0), torch.arange(48.0), indexing="ij")
    stripes = torch.cos(2 * math.pi * 0.2 * y)  # varies along rows: theta = pi/2
    out = gabor_filter_bank(stripes, [0.2], [0.0, math.pi / 4, math.pi / 2])
    energy = out[:, 12:36, 12:36].mean((-2, -1))
    assert int(energy.argmax()) == 2 and energy[2] > 5 * energy[0]


def test_bank_batched_non_contiguous_zero_batch_and_float32():
    img = torch.rand(3, 30, 26)
    out = gabor_filter_bank(img, [0.1], [0.0, 1.0])
    assert out.dtype == torch.float32
    assert torch.allclose(out[2], gabor_filter_bank(img[2], [0.1], [0.0, 1.0]), atol=1e-6)
    t = torch.rand(26, 30).t()
    assert torch.allclose(
        gabor_filter_bank(t, [0.1], [0.3]), gabor_filter_bank(t.contiguous(), [0.1], [0.3])
    )
    assert gabor_filter_bank(torch.rand(0, 9, 9), [0.1], [0.0, 1.0]).shape == (0, 2, 9, 9)
    # a small image with a kernel much larger than itself (the reflection is repeated)
    assert torch.isfinite(gabor_filter_bank(torch.rand(5, 4), [0.02], [0.3])).all()


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        (dict(frequency=0.0), ValueError, "frequency"),
        (dict(frequency=-0.1), ValueError, "frequency"),
        (dict(frequency=0.1, sigma_x=0.0), ValueError, "sigma_x"),
        (dict(frequency=0.1, sigma_y=float("nan")), ValueError, "sigma_y"),
        (dict(frequency=0.1, bandwidth=0.0), ValueError, "bandwidth"),
        (dict(frequency=0.1, n_stds=-1), ValueError, "n_stds"),
        (dict(frequency=0.1, theta=float("inf")), ValueError, "theta"),
        (dict(frequency=0.1, dtype=torch.float32), TypeError, "dtype"),
    ],
)
def test_gabor_kernel_errors(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        gabor_kernel(**kwargs)


def test_bank_errors():
    img = torch.rand(8, 8)
    with pytest.raises(ValueError, match="frequencies"):
        gabor_filter_bank(img, [], [0.0])
    with pytest.raises(ValueError, match="thetas"):
        gabor_filter_bank(img, [0.1], [])
    with pytest.raises(ValueError, match="combine"):
        gabor_filter_bank(img, [0.1], [0.0], combine="median")
    with pytest.raises(ValueError, match="boundary"):
        gabor_filter_bank(img, [0.1], [0.0], boundary="zero")
    with pytest.raises(ValueError, match="frequency"):
        gabor_filter_bank(img, [0.1, 0.0], [0.0])
    with pytest.raises(TypeError, match="image"):
        gabor_filter_bank(img.to(torch.uint8), [0.1], [0.0])
    with pytest.raises(ValueError, match="image"):
        gabor_filter_bank(torch.full((8, 8), float("nan")), [0.1], [0.0])
    with pytest.raises(ValueError, match="image"):
        gabor_filter_bank(torch.rand(0, 8), [0.1], [0.0])
