import pytest
import torch
from torch import nn

from pixlearn.robustness import fgsm, pgd, robust_accuracy


def _linear(seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(2 * 5 * 4, 3)).to(dtype)


def _ce_gradient_of_linear(model, x, y):
    """Closed form: for s = W x + b, d CE / dx = W^T (softmax(s) - onehot(y))."""
    lin = model[1]
    w = lin.weight.detach()  # (K, D)
    s = x.flatten(1) @ w.T + lin.bias.detach()  # (B, K)
    p = torch.softmax(s, dim=1) - nn.functional.one_hot(y, w.shape[0]).to(x.dtype)
    return (p @ w).view_as(x)  # (B, C, H, W)


@pytest.mark.parametrize("eps", [0.0, 0.03, 0.25])
def test_fgsm_is_exactly_eps_sign_of_the_gradient_clamped(eps):
    model = _linear()
    g = torch.Generator().manual_seed(1)
    x = torch.rand(6, 2, 5, 4, dtype=torch.float64, generator=g)
    y = torch.randint(0, 3, (6,), generator=g)
    grad = _ce_gradient_of_linear(model, x, y)
    adv = fgsm(model, x, y, eps)
    assert adv.shape == x.shape and adv.dtype == x.dtype and not adv.requires_grad
    assert torch.equal(adv, (x + eps * grad.sign()).clamp(0, 1))
    assert float((adv - x).abs().max()) <= eps + 1e-15
    assert bool((adv >= 0).all()) and bool((adv <= 1).all())
    unclamped = fgsm(model, x, y, eps, clamp=None)
    assert torch.equal(unclamped, x + eps * grad.sign())
    assert torch.equal(fgsm(model, x, y, eps, clamp=(0.2, 0.7)), unclamped.clamp(0.2, 0.7))


def test_fgsm_raises_the_loss_and_leaves_model_and_input_alone():
    model = _linear(2, torch.float32).train()
    x = torch.rand(8, 2, 5, 4)
    y = torch.randint(0, 3, (8,))
    x_before = x.clone()
    adv = fgsm(model, x, y, 0.05, clamp=None)
    ce = nn.functional.cross_entropy
    with torch.no_grad():
        assert float(ce(model(adv), y)) > float(ce(model(x), y))
    assert torch.equal(x, x_before) and model.training
    assert all(p.grad is None for p in model.parameters())
    assert fgsm(model, x[:0], y[:0], 0.05).shape == (0, 2, 5, 4)  # an empty batch


def test_pgd_one_full_step_without_random_start_is_fgsm():
    model = _linear(3)
    x = torch.rand(5, 2, 5, 4, dtype=torch.float64)
    y = torch.randint(0, 3, (5,))
    one_step = pgd(model, x, y, 0.1, 0.1, 1, random_start=False)
    assert torch.equal(one_step, fgsm(model, x, y, 0.1))
    assert torch.equal(pgd(model, x, y, 0.1, 0.1, 0, random_start=False), x)


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_pgd_stays_in_the_eps_ball_and_the_valid_range(norm):
    model = _linear(4)
    g = torch.Generator().manual_seed(5)
    x = torch.rand(7, 2, 5, 4, dtype=torch.float64, generator=g)
    y = torch.randint(0, 3, (7,), generator=g)
    eps = 0.08 if norm == "linf" else 0.5
    adv = pgd(model, x, y, eps, eps / 3, 6, norm=norm, generator=g)
    delta = (adv - x).flatten(1)
    size = delta.abs().amax(dim=1) if norm == "linf" else delta.norm(dim=1)
    assert bool((size <= eps + 1e-12).all())
    assert bool((size > 0.5 * eps).all())  # the attack used its budget
    assert bool((adv >= 0).all()) and bool((adv <= 1).all())
    # the random start itself lies in the ball and is reproducible from the generator
    start = pgd(model, x, y, eps, 0.01, 0, norm=norm, generator=torch.Generator().manual_seed(9))
    again = pgd(model, x, y, eps, 0.01, 0, norm=norm, generator=torch.Generator().manual_seed(9))
    assert torch.equal(start, again) and not torch.equal(start, x)
    d0 = (start - x).flatten(1)
    assert bool(((d0.abs().amax(1) if norm == "linf" else d0.norm(dim=1)) <= eps + 1e-12).all())


def test_pgd_l2_step_is_the_normalised_gradient():
    model = _linear(6)
    x = torch.rand(3, 2, 5, 4, dtype=torch.float64) * 0.5 + 0.25
    y = torch.tensor([0, 1, 2])
    grad = _ce_gradient_of_linear(model, x, y)
    unit = grad / grad.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    adv = pgd(model, x, y, 10.0, 0.1, 1, random_start=False, norm="l2")  # a ball never reached
    torch.testing.assert_close(adv, x + 0.1 * unit, rtol=0, atol=1e-14)


def test_pgd_is_at_least_as_strong_as_fgsm_on_trained_lenet(lenet_digits, digits_test):
    x, y = digits_test[0][:160], digits_test[1][:160]
    g = torch.Generator().manual_seed(0)
    acc_fgsm = robust_accuracy(lenet_digits, (x, y), "fgsm", eps=0.1)
    acc_pgd = robust_accuracy(lenet_digits, (x, y), "pgd", eps=0.1, alpha=0.025, steps=10,
                              generator=g)  # fmt: skip
    assert acc_pgd <= acc_fgsm  # measured: 0.21 against 0.34


def test_fgsm_at_eps_0_1_drops_lenet5_accuracy_below_half(lenet_digits, digits_test):
    # the quality point: a network that reads digits well is fooled by a perturbation
    # of 0.1 per pixel (a tenth of the value range)
    clean = robust_accuracy(lenet_digits, digits_test, None)
    attacked = robust_accuracy(lenet_digits, digits_test, "fgsm", eps=0.1)
    assert clean >= 0.97
    assert attacked < 0.5


def test_errors_name_the_argument():
    model = _linear(0, torch.float32)
    x, y = torch.rand(2, 2, 5, 4), torch.tensor([0, 1])
    with pytest.raises(ValueError, match="eps must be >= 0"):
        fgsm(model, x, y, -0.1)
    with pytest.raises(ValueError, match="eps"):
        pgd(model, x, y, float("nan"), 0.1, 3)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        pgd(model, x, y, 0.1, 0.0, 3)
    with pytest.raises(ValueError, match="steps must be >= 0"):
        pgd(model, x, y, 0.1, 0.1, -1)
    with pytest.raises(TypeError, match="steps must be an integer"):
        pgd(model, x, y, 0.1, 0.1, 2.5)
    with pytest.raises(ValueError, match="norm must be one of 'linf', 'l2'"):
        pgd(model, x, y, 0.1, 0.1, 3, norm="l1")
    with pytest.raises(ValueError, match="clamp must be a pair"):
        fgsm(model, x, y, 0.1, clamp=(1.0, 0.0))
    with pytest.raises(ValueError, match=r"labels must be an integer tensor of shape \(2,\)"):
        fgsm(model, x, torch.tensor([0.0, 1.0]), 0.1)
    with pytest.raises(ValueError, match="labels must"):
        fgsm(model, x, torch.tensor([0, 1, 2]), 0.1)
    with pytest.raises(ValueError, match="images must have at least 4 dimensions"):
        fgsm(model, x[0], y, 0.1)
    with pytest.raises(TypeError, match=r"images must be a floating-point"):
        fgsm(model, (x * 255).to(torch.uint8), y, 0.1)
    with pytest.raises(ValueError, match="images must be finite"):
        fgsm(model, torch.full_like(x, float("nan")), y, 0.1)
    with pytest.raises(ValueError, match="model must return class scores"):
        fgsm(nn.Identity(), x, y, 0.1)


class Constant(nn.Module):
    """Scores that do not depend on the image: no gradient to follow."""

    def __init__(self):
        super().__init__()
        self.prior = nn.Parameter(torch.tensor([0.2, -0.1, 0.5]))

    def forward(self, x):
        return self.prior.expand(x.shape[0], 3)


def test_a_model_that_ignores_the_image_is_not_attacked():
    x, y = torch.rand(3, 1, 4, 4), torch.tensor([0, 1, 2])
    assert torch.equal(fgsm(Constant(), x, y, 0.1), x)
    assert torch.equal(pgd(Constant(), x, y, 0.1, 0.05, 3, random_start=False), x)
