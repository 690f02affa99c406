import pytest
import torch
from torch import nn

from pixlearn.interpret import class_saliency


def _tiny(dtype=torch.float64):
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(4 * 5 * 6, 3)
    ).to(dtype)


def _finite_difference(model, x, c, h=1e-6):
    """dS_c / dx by central differences, one pixel at a time: (C, H, W)."""
    grad = torch.zeros_like(x)
    flat, g = x.reshape(-1), grad.reshape(-1)
    with torch.no_grad():
        for i in range(flat.numel()):
            up, down = flat.clone(), flat.clone()
            up[i] += h
            down[i] -= h
            s_up = model(up.view(1, *x.shape))[0, c]
            s_down = model(down.view(1, *x.shape))[0, c]
            g[i] = (s_up - s_down) / (2 * h)
    return grad


@pytest.mark.parametrize("target", [0, 2])
def test_equals_max_abs_finite_difference_gradient(target):
    model = _tiny()
    x = torch.rand(3, 5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    expected = _finite_difference(model, x, target).abs().amax(dim=0)  # (H, W)
    out = class_saliency(model, x, target)
    assert out.shape == (5, 6) and out.dtype == torch.float64
    torch.testing.assert_close(out, expected, rtol=1e-7, atol=1e-9)


def test_linear_model_closed_form():
    # S_c(x) = w_c . x + b: the saliency is max_k |w_c,k,i,j| whatever the image
    torch.manual_seed(2)
    model = nn.Sequential(nn.Flatten(), nn.Linear(2 * 4 * 4, 5))
    w = model[1].weight.detach().view(5, 2, 4, 4)
    for c in range(5):
        out = class_saliency(model, torch.rand(2, 4, 4), c)
        torch.testing.assert_close(out, w[c].abs().amax(dim=0), rtol=0, atol=0)


def test_batched_equals_per_item_and_per_image_targets():
    model = _tiny(torch.float32)
    x = torch.rand(4, 3, 5, 6)
    t = torch.tensor([2, 0, 1, 2])
    out = class_saliency(model, x, t)
    assert out.shape == (4, 5, 6)
    for i in range(4):
        torch.testing.assert_close(out[i], class_saliency(model, x[i], int(t[i])))


def test_non_contiguous_input_and_model_left_as_it_was():
    model = _tiny(torch.float32).train()
    x = torch.rand(3, 6, 5).transpose(-1, -2)
    out = class_saliency(model, x, 1)
    torch.testing.assert_close(out, class_saliency(model, x.contiguous(), 1))
    assert model.training and all(p.grad is None for p in model.parameters())
    xin = torch.rand(3, 5, 6, requires_grad=True)
    class_saliency(model, xin, 0)
    assert xin.grad is None


def test_errors_name_the_argument():
    model = _tiny(torch.float32)
    with pytest.raises(ValueError, match="target must be a class index"):
        class_saliency(model, torch.rand(3, 5, 6), 3)
    with pytest.raises(ValueError, match="target must be >= 0"):
        class_saliency(model, torch.rand(3, 5, 6), -1)
    with pytest.raises(ValueError, match=r"target must be .* shape \(2,\)"):
        class_saliency(model, torch.rand(2, 3, 5, 6), torch.tensor([0, 1, 2]))
    with pytest.raises(TypeError, match="target must be an integer"):
        class_saliency(model, torch.rand(3, 5, 6), 1.5)
    with pytest.raises(ValueError, match="image must have at least 3 dimensions"):
        class_saliency(model, torch.rand(5, 6), 0)
    with pytest.raises(ValueError, match="image must be finite"):
        class_saliency(model, torch.full((3, 5, 6), float("inf")), 0)


class Constant(nn.Module):
    """Scores that do not depend on the image (a learnt prior only)."""

    def __init__(self):
        super().__init__()
        self.prior = nn.Parameter(torch.tensor([0.2, -0.1, 0.5]))

    def forward(self, x):
        return self.prior.expand(x.shape[0], 3)


def test_a_model_that_ignores_the_image_has_zero_saliency():
    out = class_saliency(Constant(), torch.rand(2, 1, 4, 4), 2)
    assert torch.equal(out, torch.zeros(2, 4, 4))
