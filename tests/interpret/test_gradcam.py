import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pixlearn.interpret import grad_cam


class ConvLinear(nn.Module):
    """conv (the explained layer) -> flatten -> linear: y_c = sum_kij W_c,kij A_kij + b_c."""

    def __init__(self, k=3, h=6, w=5, classes=4, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(2, k, 3, padding=1, stride=stride)
        hh, ww = (h + 1) // stride if stride > 1 else h, (w + 1) // stride if stride > 1 else w
        self.fc = nn.Linear(k * hh * ww, classes)

    def forward(self, x):
        return self.fc(self.conv(x).flatten(1))


def _by_hand(model, x, c):
    """alpha_k = mean_ij W_c[k, i, j] (the gradient of a linear head); L = ReLU(sum alpha A)."""
    acts = model.conv(x).detach()  # (B, K, h, w)
    b, k, h, w = acts.shape
    wc = model.fc.weight[c].detach().reshape(k, h, w)
    cams = torch.zeros(b, h, w, dtype=x.dtype)
    for n in range(b):
        for kk in range(k):
            alpha = sum(float(wc[kk, i, j]) for i in range(h) for j in range(w)) / (h * w)
            cams[n] += alpha * acts[n, kk]
    return cams.clamp_min(0)


@pytest.mark.parametrize("seed", range(3))
def test_equals_the_closed_form_of_a_linear_head(seed):
    torch.manual_seed(seed)
    model = ConvLinear().double()
    x = torch.rand(2, 2, 6, 5, dtype=torch.float64)
    expected = _by_hand(model, x, 1)
    expected = expected / expected.amax(dim=(-2, -1), keepdim=True)
    out = grad_cam(model, x, 1, "conv")
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)


def test_strided_layer_is_upsampled_bilinearly():
    torch.manual_seed(3)
    model = ConvLinear(h=8, w=8, stride=2).double()
    with torch.no_grad():  # positive weights and image: a map with positive evidence
        model.conv.weight.abs_()
        model.fc.weight.abs_()
    x = torch.rand(1, 2, 8, 8, dtype=torch.float64)
    cam = _by_hand(model, x, 2)  # (1, 4, 4)
    up = F.interpolate(cam[:, None], size=(8, 8), mode="bilinear", align_corners=False)[:, 0]
    expected = up / up.max()
    out = grad_cam(model, x[0], 2, model.conv)
    assert out.shape == (8, 8)
    torch.testing.assert_close(out, expected[0], rtol=0, atol=1e-12)


class HalfModel(nn.Module):
    """A bright and a dark detector (1x1 conv, the explained layer), then ReLU; both classes
    are read from one half of the image only: y_1 = mean over that half of ReLU(A^0) + ReLU(A^1),
    y_0 = -y_1."""

    def __init__(self, half):
        super().__init__()
        self.half = half
        self.conv = nn.Conv2d(1, 2, 1)
        with torch.no_grad():
            self.conv.weight.copy_(torch.tensor([1.0, -1.0]).view(2, 1, 1, 1))
            self.conv.bias.copy_(torch.tensor([-0.5, 0.5]))  # A^0 = x - 0.5, A^1 = 0.5 - x

    def forward(self, x):
        a = torch.relu(self.conv(x))  # (B, 2, H, W)
        w = x.shape[-1] // 2
        part = a[..., :w] if self.half == "left" else a[..., w:]
        y = part.mean(dim=(1, 2, 3))
        return torch.stack([-y, y], dim=1)


@pytest.mark.parametrize("half", ["left", "right"])
@pytest.mark.parametrize("bright_side", ["left", "right"])
def test_highlights_the_half_the_class_depends_on(half, bright_side):
    # one half bright, the other dark: both halves excite a detector, but only the half the
    # model reads may light up, whichever detector fires there
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 1, 16, 16, generator=g) * 0.2  # dark, < 0.5
    side = slice(0, 8) if bright_side == "left" else slice(8, 16)
    x[..., side] += 0.8  # bright, > 0.5
    cam = grad_cam(HalfModel(half), x, 1, "conv")  # (3, 16, 16)
    read, other = (cam[..., :8], cam[..., 8:]) if half == "left" else (cam[..., 8:], cam[..., :8])
    assert bool((read.mean(dim=(1, 2)) > 0.3).all())
    assert bool((other == 0).all())
    # every feature the model reads pushes the opposite class down: no evidence for it there
    cam0 = grad_cam(HalfModel(half), x, 0, "conv")
    assert bool(((cam0[..., :8] if half == "left" else cam0[..., 8:]) == 0).all())


def test_range_shape_batch_and_per_item_targets():
    torch.manual_seed(1)
    model = ConvLinear()
    x = torch.rand(4, 2, 6, 5)
    t = torch.tensor([0, 1, 2, 3])
    out = grad_cam(model, x, t, "conv")
    assert out.shape == (4, 6, 5) and out.dtype == torch.float32
    assert bool((out >= 0).all()) and bool((out <= 1).all())
    for i in range(4):
        torch.testing.assert_close(out[i], grad_cam(model, x[i], int(t[i]), "conv"))


def test_non_contiguous_input_and_model_state_untouched():
    torch.manual_seed(2)
    model = ConvLinear(h=5, w=6).train()
    x = torch.rand(2, 2, 6, 5).transpose(-1, -2)
    out = grad_cam(model, x, 0, "conv")
    torch.testing.assert_close(out, grad_cam(model, x.contiguous(), 0, "conv"))
    assert model.training and all(p.grad is None for p in model.parameters())
    assert not model.conv._forward_hooks  # the hook is removed


def test_errors_name_the_argument():
    model = ConvLinear()
    x = torch.rand(2, 6, 5)
    with pytest.raises(ValueError, match=r"layer 'nope'.*conv, fc"):
        grad_cam(model, x, 0, "nope")
    with pytest.raises(ValueError, match="layer must output activation maps"):
        grad_cam(model, x, 0, "fc")
    with pytest.raises(ValueError, match=r"target must be a class index in \[0, 3\]"):
        grad_cam(model, x, 4, "conv")
    with pytest.raises(ValueError, match="target"):
        grad_cam(model, x[None], torch.tensor([0, 1]), "conv")
    with pytest.raises(ValueError, match="image"):
        grad_cam(model, torch.rand(6, 5), 0, "conv")
    with pytest.raises(TypeError, match=r"image.*float"):
        grad_cam(model, torch.ones(2, 6, 5, dtype=torch.uint8), 0, "conv")
    with pytest.raises(ValueError, match="image must be finite"):
        grad_cam(model, torch.full((2, 6, 5), float("nan")), 0, "conv")
    with pytest.raises(ValueError, match="model must return class scores"):
        grad_cam(nn.Sequential(nn.Conv2d(2, 3, 1)), x, 0, "0")


def test_a_layer_the_score_ignores_gives_an_empty_map():
    class TwoBranches(nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.unused = nn.Conv2d(1, 2, 3), nn.Conv2d(1, 2, 3)

        def forward(self, x):
            self.unused(x)  # computed, but not part of the score
            return self.used(x).mean(dim=(2, 3))

    cam = grad_cam(TwoBranches(), torch.rand(1, 6, 6), 0, "unused")
    assert torch.equal(cam, torch.zeros(6, 6))
    net = nn.Sequential(_NoGrad(), nn.Flatten(), nn.Linear(36, 2))
    with pytest.raises(ValueError, match="layer must lie on the path"):
        grad_cam(net, torch.rand(1, 6, 6), 0, "0")  # its output is cut from the graph


class _NoGrad(nn.Module):
    def forward(self, x):
        return x.detach()
