"""Squeeze-and-excitation, Maxout, activations, global and blur pooling."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pixlearn.nn import (
    BlurPool2d,
    GlobalPool2d,
    MaxBlurPool2d,
    Maxout,
    SqueezeExcite,
    binomial_kernel,
    blur_pool2d,
    get_act_layer,
    global_pool2d,
    maxout,
)


def test_se_output_is_input_times_sigmoid_of_the_gates_seen_by_hooks():
    torch.manual_seed(0)
    se = SqueezeExcite(32, 4)
    seen = {}
    se.fc2.register_forward_hook(lambda m, i, o: seen.__setitem__("pre_gate", o))
    x = torch.randn(3, 32, 6, 5)
    out = se(x)
    gates = torch.sigmoid(seen["pre_gate"])  # (B, C, 1, 1)
    assert seen["pre_gate"].shape == (3, 32, 1, 1)
    assert torch.allclose(out, x * gates)
    # the gates are a function of the channel means only (the squeeze)
    z = x.mean((-2, -1), keepdim=True)
    assert torch.allclose(gates, torch.sigmoid(se.fc2(torch.relu(se.fc1(z)))))
    # so re-arranging pixels within each channel re-arranges the output the same way
    perm = torch.randperm(30)
    xp = x.flatten(2)[..., perm].reshape_as(x)
    assert torch.allclose(se(xp), out.flatten(2)[..., perm].reshape_as(x), atol=1e-6)
    assert SqueezeExcite(64).fc1.out_channels == 4  # r = 16 by default


def test_se_gradcheck_and_bad_channels():
    se = SqueezeExcite(4, 2).double()
    x = torch.randn(2, 4, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(se, (x,))
    with pytest.raises(ValueError, match="channels"):
        SqueezeExcite(0)


def test_maxout_matches_a_loop_and_module_shapes():
    x = torch.randn(2, 12, 3, 3)
    out = maxout(x, 3)
    ref = torch.stack([x[:, 3 * i : 3 * i + 3].max(1).values for i in range(4)], 1)
    assert torch.equal(out, ref)
    assert torch.equal(maxout(x.movedim(1, -1), 3, dim=-1), ref.movedim(1, -1))
    # ReLU is maxout over (z, 0)
    z = torch.randn(5, 7)
    assert torch.equal(
        maxout(torch.stack([z, torch.zeros_like(z)], -1).flatten(-2), 2, dim=-1), z.relu()
    )
    assert Maxout(8, 5, pieces=4)(torch.rand(3, 8)).shape == (3, 5)
    assert Maxout(8, 5, pieces=2, conv=True)(torch.rand(3, 8, 4, 4)).shape == (3, 5, 4, 4)
    m = Maxout(3, 2, pieces=2).double()
    assert torch.autograd.gradcheck(
        m, (torch.randn(4, 3, dtype=torch.float64, requires_grad=True),)
    )
    with pytest.raises(ValueError, match="pieces"):
        maxout(x, 5)
    with pytest.raises(ValueError, match="pieces"):
        maxout(x, 0)


def test_activation_names():
    assert get_act_layer("leaky_relu") is nn.LeakyReLU
    assert torch.equal(get_act_layer("sigmoid")()(torch.zeros(2)), torch.full((2,), 0.5))
    with pytest.raises(ValueError, match="name"):
        get_act_layer("sigmoidal")


def test_global_pool_modes_against_torch():
    x = torch.randn(2, 3, 5, 7)
    assert torch.allclose(global_pool2d(x), F.adaptive_avg_pool2d(x, 1))
    assert torch.equal(global_pool2d(x, mode="max"), F.adaptive_max_pool2d(x, 1))
    both = global_pool2d(x, mode="avgmax", flatten=True)
    assert torch.allclose(both, 0.5 * (x.mean((-2, -1)) + x.amax((-2, -1))))
    assert GlobalPool2d("max", flatten=True)(x).shape == (2, 3)
    with pytest.raises(ValueError, match="mode"):
        global_pool2d(x, mode="median")
    with pytest.raises(ValueError, match="x"):
        global_pool2d(torch.rand(4, 4))


def test_blur_pool_equals_a_loop_reference():
    x = torch.rand(2, 3, 9, 8, dtype=torch.float64)
    out = blur_pool2d(x)
    k = torch.tensor([1.0, 2.0, 1.0], dtype=torch.float64) / 4
    padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
    ref = torch.zeros(2, 3, 5, 4, dtype=torch.float64)
    for i in range(5):
        for j in range(4):
            win = padded[..., 2 * i : 2 * i + 3, 2 * j : 2 * j + 3]
            ref[..., i, j] = (win * k[:, None] * k[None, :]).sum((-2, -1))
    assert torch.allclose(out, ref, atol=1e-12)
    assert binomial_kernel(5).sum().item() == pytest.approx(1.0)
    assert torch.equal(blur_pool2d(x, kernel_size=1), x[..., ::2, ::2])
    assert BlurPool2d()(x[0]).shape == (3, 5, 4)  # unbatched
    # a constant image stays constant
    assert torch.allclose(blur_pool2d(torch.full((1, 1, 6, 6), 0.3)), torch.full((1, 1, 3, 3), 0.3))
    assert torch.autograd.gradcheck(
        lambda t: blur_pool2d(t, kernel_size=3), (x[:1, :1, :5, :5].clone().requires_grad_(),)
    )


def test_blur_pooling_is_closer_to_shift_invariant_than_max_pooling():
    # Stripes two pixels wide, two apart: stride-2 max pooling gives alternate columns of
    # ones and zeros, and after a one-pixel shift every window holds a stripe (all ones), so
    # half the output flips. Blurring before subsampling changes far less.
    cols = torch.arange(32)
    stripes = (cols % 4 < 2).float().expand(1, 1, 32, 32)
    shifted = torch.roll(stripes, 1, dims=-1)
    maxpool, blur = nn.MaxPool2d(2), MaxBlurPool2d(2, blur_size=5)

    def change(pool: nn.Module) -> float:
        a, b = pool(stripes), pool(shifted)
        return float((a - b).abs().mean())

    assert change(maxpool) > 0.4
    assert change(blur) < 0.5 * change(maxpool)


def test_blur_pool_errors_name_the_argument():
    with pytest.raises(ValueError, match="kernel_size"):
        blur_pool2d(torch.rand(1, 4, 4), kernel_size=0)
    with pytest.raises(TypeError, match="x"):
        blur_pool2d(torch.ones(1, 4, 4, dtype=torch.uint8))


def test_layout_non_contiguous_channels_last_and_empty_batch():
    x = torch.rand(2, 4, 10, 12)
    ref = blur_pool2d(x)
    assert torch.allclose(blur_pool2d(x.contiguous(memory_format=torch.channels_last)), ref)
    xt = torch.rand(2, 4, 12, 10).transpose(-1, -2)  # non-contiguous
    assert torch.allclose(blur_pool2d(xt), blur_pool2d(xt.contiguous()))
    assert blur_pool2d(torch.rand(0, 4, 10, 12)).shape == (0, 4, 5, 6)
    se = SqueezeExcite(4, 2)
    assert torch.allclose(se(x.contiguous(memory_format=torch.channels_last)), se(x), atol=1e-6)
    assert torch.equal(maxout(xt, 2), maxout(xt.contiguous(), 2))
    assert torch.equal(global_pool2d(xt, mode="max"), global_pool2d(xt.contiguous(), mode="max"))
    # batched == per item
    assert torch.allclose(blur_pool2d(x)[1], blur_pool2d(x[1]))
