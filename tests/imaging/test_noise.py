import numpy as np
import pytest
import torch
from scipy import stats
from skimage import data

from pixlearn.imaging import gaussian_noise, poisson_noise, salt_and_pepper, uniform_noise

# Statistical tests draw with fixed seeds, so they are deterministic; the thresholds are those a
# correct sampler passes with probability ~0.999 (p > 1e-3, means within ~4 standard errors), and
# a wrong scale, shift or rate (by a few percent) fails them.


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


NOISES = {
    "gaussian": lambda x, g: gaussian_noise(x, 0.1, generator=g),
    "poisson": lambda x, g: poisson_noise(x, 50.0, generator=g),
    "salt_and_pepper": lambda x, g: salt_and_pepper(x, 0.1, generator=g),
    "uniform": lambda x, g: uniform_noise(x, -0.05, 0.1, generator=g),
}

# ---------------------------------------------------------------------------------------------
# statistics against theory


@pytest.mark.parametrize("sigma", [0.01, 0.2, 1.5])
def test_gaussian_noise_is_normal_with_the_given_sigma(sigma):
    x = torch.full((256, 256), 0.3, dtype=torch.float64)
    n = (gaussian_noise(x, sigma, generator=_gen(1)) - x).flatten().numpy()
    assert stats.kstest(n, stats.norm(loc=0, scale=sigma).cdf).pvalue > 1e-3
    se = sigma / 256  # standard error of the mean of 65536 draws
    assert abs(n.mean()) < 4 * se
    assert n.var() == pytest.approx(sigma**2, rel=0.03)  # sd of the variance estimate: 0.55%


def test_gaussian_noise_ks_rejects_a_wrong_sigma():
    # the KS check above can fail: 3 % too wide is detected
    x = torch.zeros(256, 256, dtype=torch.float64)
    n = gaussian_noise(x, 0.103, generator=_gen(1)).flatten().numpy()
    assert stats.kstest(n, stats.norm(loc=0, scale=0.1).cdf).pvalue < 1e-3


def test_gaussian_noise_sigma_zero_is_the_identity():
    x = torch.rand(8, 8)
    assert torch.equal(gaussian_noise(x, 0.0), x)


@pytest.mark.parametrize(("level", "photons"), [(0.05, 100.0), (0.5, 20.0), (0.9, 1000.0)])
def test_poisson_noise_mean_and_variance(level, photons):
    x = torch.full((256, 256), level, dtype=torch.float64)
    y = poisson_noise(x, photons, generator=_gen(2))
    counts = (y * photons).round()
    assert torch.allclose(counts, y * photons, atol=1e-9)  # integer photon counts
    m = float(y.mean())
    var_theory = level / photons  # Var[k / N] = N x / N^2
    assert m == pytest.approx(level, abs=4 * (var_theory / y.numel()) ** 0.5)
    assert float(y.var()) == pytest.approx(var_theory, rel=0.04)


def test_poisson_counts_follow_the_poisson_law_chi_square():
    rate = 4.0  # photons * intensity
    x = torch.full((200, 200), 0.4, dtype=torch.float64)
    k = (poisson_noise(x, 10.0, generator=_gen(3)) * 10).round().long().flatten().numpy()
    top = 12  # bins 0..11 and ">= 12"
    observed = np.bincount(np.minimum(k, top), minlength=top + 1)
    expected = stats.poisson(rate).pmf(np.arange(top)) * k.size
    expected = np.append(expected, stats.poisson(rate).sf(top - 1) * k.size)
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_poisson_noise_on_a_real_image_is_unbiased_with_signal_dependent_variance():
    cam = torch.from_numpy(data.camera() / 255.0)  # (512, 512), float64
    photons = 30.0
    y = poisson_noise(cam.expand(4, 512, 512), photons, generator=_gen(4))
    resid = y - cam  # E = 0, Var = cam / photons at every pixel
    z = resid / (cam / photons).clamp_min(1e-12).sqrt()
    z = z[:, cam > 0.05]  # standardised residuals where there is light
    assert abs(float(z.mean())) < 4 / z.numel() ** 0.5
    assert float(z.var()) == pytest.approx(1.0, rel=0.02)
    assert torch.equal(y[:, cam == 0], torch.zeros_like(y[:, cam == 0]))  # no light, no photons


@pytest.mark.parametrize(("amount", "svp"), [(0.05, 0.5), (0.3, 0.2), (1.0, 0.9), (0.2, 0.0)])
def test_salt_and_pepper_fractions(amount, svp):
    x = torch.full((256, 256), 0.5, dtype=torch.float64)
    y = salt_and_pepper(x, amount, svp, generator=_gen(5))
    n = y.numel()
    changed = int((y != 0.5).sum())
    salt = int((y == 1).sum())
    assert int((y == 0).sum()) + salt == changed  # only 0 and 1 are written
    # binomial tests: fraction changed = amount; salt share of the changed = salt_vs_pepper
    assert stats.binomtest(changed, n, amount).pvalue > 1e-3
    if changed > 0 and 0 < svp < 1:
        assert stats.binomtest(salt, changed, svp).pvalue > 1e-3
    else:
        assert salt == round(svp * changed)


def test_salt_and_pepper_amount_zero_is_the_identity_and_keeps_other_pixels():
    x = torch.rand(3, 32, 32)
    assert torch.equal(salt_and_pepper(x, 0.0), x)
    y = salt_and_pepper(x, 0.3, generator=_gen(6))
    kept = (y != 0) & (y != 1)
    assert torch.equal(y[kept], x[kept])


@pytest.mark.parametrize(("low", "high"), [(-0.1, 0.1), (0.0, 0.5), (-2.0, -1.0)])
def test_uniform_noise_is_uniform(low, high):
    x = torch.full((256, 256), 0.25, dtype=torch.float64)
    n = (uniform_noise(x, low, high, generator=_gen(7)) - x).flatten().numpy()
    assert n.min() >= low - 1e-12 and n.max() < high + 1e-12
    assert stats.kstest(n, stats.uniform(loc=low, scale=high - low).cdf).pvalue > 1e-3
    se = (high - low) / 12**0.5 / 256
    assert abs(n.mean() - (low + high) / 2) < 4 * se
    assert n.var() == pytest.approx((high - low) ** 2 / 12, rel=0.03)


def test_uniform_noise_degenerate_interval_is_a_shift():
    x = torch.rand(8, 8, dtype=torch.float64)
    assert torch.allclose(uniform_noise(x, 0.2, 0.2), x + 0.2, atol=1e-15)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, g: gaussian_noise(x, 0.5, clip=True, generator=g),
        lambda x, g: poisson_noise(x, 2.0, clip=True, generator=g),
        lambda x, g: uniform_noise(x, -0.5, 0.5, clip=True, generator=g),
    ],
)
def test_clip_keeps_values_in_the_unit_range(fn):
    y = fn(torch.rand(64, 64), _gen(8))
    assert float(y.min()) >= 0 and float(y.max()) <= 1
    assert float(y.max()) == 1.0  # the noise is strong enough to reach the bounds


# ---------------------------------------------------------------------------------------------
# reproducibility, layout, batching, gradients


@pytest.mark.parametrize("name", NOISES)
def test_same_seed_is_bit_identical_different_seeds_differ(name):
    fn = NOISES[name]
    x = torch.rand(2, 3, 16, 16)
    a, b, c = fn(x, _gen(11)), fn(x, _gen(11)), fn(x, _gen(12))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    # the global generator is used when none is given
    torch.manual_seed(5)
    d = fn(x, None)
    torch.manual_seed(5)
    assert torch.equal(fn(x, None), d)


@pytest.mark.parametrize("name", NOISES)
def test_input_is_not_modified_and_non_contiguous_input(name):
    fn = NOISES[name]
    x = torch.rand(3, 20, 16)
    t = x.transpose(-1, -2)
    before = t.clone()
    out = fn(t, _gen(13))
    assert torch.equal(t, before)
    assert out.shape == t.shape and out.dtype == t.dtype
    # noise is drawn in the row-major order of the result, whatever the input's strides
    assert torch.equal(out, fn(t.contiguous(), _gen(13)))
    e = torch.rand(1, 8, 8).expand(4, 8, 8)
    assert fn(e, _gen(13)).shape == (4, 8, 8)


@pytest.mark.parametrize("name", NOISES)
def test_batched_shapes_statistics_and_zero_size_batch(name):
    fn = NOISES[name]
    x = torch.full((4, 3, 64, 64), 0.5, dtype=torch.float64)
    y = fn(x, _gen(14))
    assert y.shape == x.shape and y.dtype == torch.float64
    # every item carries noise of the same distribution (items are not copies of each other)
    stds = (y - x).flatten(1).std(dim=1)
    assert torch.allclose(stds, stds.mean().expand(4), rtol=0.1)
    assert not torch.equal(y[0], y[1])
    assert fn(torch.rand(0, 3, 8, 8), _gen(14)).shape == (0, 3, 8, 8)


def test_per_item_equals_batched_when_drawn_in_sequence_for_uniform_draws():
    # documented consumption: one uniform per element, row-major over the whole batch
    x = torch.rand(3, 15, 17)
    for fn in [
        lambda t, g: uniform_noise(t, 0.0, 0.1, generator=g),
        lambda t, g: salt_and_pepper(t, 0.3, 0.4, generator=g),
    ]:
        g = _gen(15)
        items = torch.stack([fn(x[i], g) for i in range(3)])
        assert torch.equal(fn(x, _gen(15)), items)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("name", NOISES)
def test_dtypes_are_kept(name, dtype):
    x = torch.rand(8, 8).to(dtype)
    assert NOISES[name](x, _gen(16)).dtype == dtype


def test_gradcheck_with_fixed_noise():
    x = torch.rand(2, 5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: gaussian_noise(t, 0.3, generator=_gen(17)), (x,))
    assert torch.autograd.gradcheck(lambda t: uniform_noise(t, -0.1, 0.2, generator=_gen(17)), (x,))
    assert torch.autograd.gradcheck(lambda t: salt_and_pepper(t, 0.3, generator=_gen(17)), (x,))


def test_poisson_noise_carries_no_gradient():
    x = torch.rand(4, 4, dtype=torch.float64, requires_grad=True)
    assert not poisson_noise(x, 10.0).requires_grad


# ---------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize("name", NOISES)
def test_bad_images_are_refused(name):
    fn = NOISES[name]
    with pytest.raises(ValueError, match=r"image.*finite"):
        fn(torch.tensor([[0.5, float("nan")], [0.5, 0.5]]), None)
    with pytest.raises(ValueError, match=r"image.*finite"):
        fn(torch.tensor([[0.5, float("inf")], [0.5, 0.5]]), None)
    with pytest.raises(TypeError, match=r"image.*float"):
        fn(torch.ones(4, 4, dtype=torch.uint8), None)
    with pytest.raises(ValueError, match=r"image.*empty"):
        fn(torch.ones(2, 0, 4), None)
    with pytest.raises(ValueError, match=r"image.*dimensions"):
        fn(torch.ones(4), None)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_sigma_must_be_non_negative(bad):
    with pytest.raises(ValueError, match="sigma"):
        gaussian_noise(torch.rand(4, 4), bad)


@pytest.mark.parametrize("bad", [0.0, -5.0, float("nan"), float("inf")])
def test_photons_must_be_positive(bad):
    with pytest.raises(ValueError, match="photons"):
        poisson_noise(torch.rand(4, 4), bad)


def test_poisson_refuses_negative_intensities():
    with pytest.raises(ValueError, match=r"image.*non-negative"):
        poisson_noise(torch.tensor([[0.5, -0.01]]), 10.0)


@pytest.mark.parametrize("bad", [-0.1, 1.1, float("nan")])
def test_amount_and_salt_vs_pepper_in_unit_interval(bad):
    with pytest.raises(ValueError, match="amount"):
        salt_and_pepper(torch.rand(4, 4), bad)
    with pytest.raises(ValueError, match="salt_vs_pepper"):
        salt_and_pepper(torch.rand(4, 4), 0.1, bad)


def test_uniform_bounds():
    with pytest.raises(ValueError, match="high"):
        uniform_noise(torch.rand(4, 4), 0.5, 0.1)
    with pytest.raises(ValueError, match="low"):
        uniform_noise(torch.rand(4, 4), float("-inf"), 0.1)
    with pytest.raises(TypeError, match="sigma"):
        gaussian_noise(torch.rand(4, 4), "0.1")
