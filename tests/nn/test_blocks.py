"""Residual, inception, conv-norm-act and MBConv blocks: shapes, identities, layouts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pixlearn.nn import (
    BasicBlock,
    BasicConv2d,
    Bottleneck,
    ConvNormAct,
    Inception,
    InceptionNaive,
    MBConv,
    StochasticDepth,
    count_parameters,
    stochastic_depth,
)


def _zero_last_bn(block: nn.Module, name: str) -> nn.Module:
    nn.init.zeros_(getattr(block, name).weight)
    nn.init.zeros_(getattr(block, name).bias)
    return block.eval()


def test_residual_blocks_with_a_zero_branch_are_relu_of_the_identity():
    x = torch.randn(2, 16, 8, 8)
    assert torch.equal(_zero_last_bn(BasicBlock(16, 16), "bn2")(x), x.relu())
    assert torch.equal(_zero_last_bn(Bottleneck(16, 4), "bn3")(x), x.relu())


def test_residual_blocks_equal_a_hand_written_forward():
    torch.manual_seed(0)
    block = BasicBlock(8, 16, stride=2).eval()
    x = torch.randn(2, 8, 9, 9)
    f = block.bn2(block.conv2(block.bn1(block.conv1(x)).relu()))
    assert torch.allclose(block(x), (f + block.downsample(x)).relu())
    assert block(x).shape == (2, 16, 5, 5)
    b = Bottleneck(8, 4, stride=2).eval()
    assert b(x).shape == (2, 16, 5, 5)
    assert [n for n, _ in b.named_children()] == [
        "conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "relu", "downsample",
    ]  # fmt: skip


def test_bottleneck_costs_less_than_two_full_width_3x3():
    c = 64
    plain = nn.Sequential(nn.Conv2d(4 * c, 4 * c, 3, bias=False), nn.Conv2d(4 * c, 4 * c, 3))
    convs = [m for m in Bottleneck(4 * c, c).modules() if isinstance(m, nn.Conv2d)]
    assert sum(m.weight.numel() for m in convs) == 17 * c * c < count_parameters(plain)


def test_conv_norm_act_layout_same_padding_and_options():
    layer = ConvNormAct(3, 8, 5, stride=1, dilation=2)
    assert [type(m) for m in layer] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]
    assert layer[0].bias is None and layer(torch.rand(1, 3, 11, 12)).shape == (1, 8, 11, 12)
    bare = ConvNormAct(3, 8, 1, norm_layer=None, act_layer=None)
    assert len(bare) == 1 and bare[0].bias is not None
    assert isinstance(ConvNormAct(3, 3, act_layer=nn.Sigmoid)[2], nn.Sigmoid)
    with pytest.raises(ValueError, match="kernel_size"):
        ConvNormAct(3, 8, 0)


def test_inception_modules_concatenate_branches_and_bottlenecks_save_weights():
    x = torch.rand(2, 192, 12, 12)
    naive = InceptionNaive(192, 64, 128, 32)
    reduced = Inception(192, 64, 96, 128, 16, 32, 32)
    assert naive(x).shape == (2, 64 + 128 + 32 + 192, 12, 12)
    assert reduced(x).shape == (2, 64 + 128 + 32 + 32, 12, 12)
    assert count_parameters(reduced) < count_parameters(naive) / 2
    # each branch's output is a slice of the concatenation
    reduced.eval()
    out = reduced(x)
    assert torch.equal(out[:, :64], reduced.branch1(x))
    assert torch.equal(out[:, -32:], reduced.branch4(x))
    assert reduced.branch3[1].conv.kernel_size == (5, 5)
    assert Inception(8, 1, 1, 1, 1, 1, 1, branch3_kernel=3).branch3[1].conv.kernel_size == (3, 3)
    assert BasicConv2d(3, 4, kernel_size=1).bn.eps == 1e-3


def test_mbconv_layout_shortcut_and_expansion():
    block = MBConv(16, 16, kernel_size=5, expand_ratio=6).eval()
    names = [k for k in block.state_dict() if not k.endswith("num_batches_tracked")]
    assert names[0] == "block.0.0.weight" and "block.2.fc1.weight" in names
    assert block.block[1][0].groups == 96  # depthwise
    assert block.block[0][0].weight.shape == (96, 16, 1, 1)
    x = torch.rand(2, 16, 8, 8)
    assert torch.allclose(block(x), block.block(x) + x)
    no_expand = MBConv(16, 24, expand_ratio=1, stride=2)
    assert not no_expand.use_res_connect and no_expand(x).shape == (2, 24, 4, 4)
    assert len(no_expand.block) == 3  # depthwise, SE, project
    with pytest.raises(ValueError, match="expand_ratio"):
        MBConv(4, 4, expand_ratio=0)


def test_stochastic_depth_drops_whole_samples_and_keeps_the_mean():
    x = torch.ones(4000, 3, 2, 2)
    g = torch.Generator().manual_seed(0)
    y = stochastic_depth(x, 0.25, generator=g)
    per_sample = y.flatten(1)
    assert torch.allclose(per_sample.unique(), torch.tensor([0.0, 1 / 0.75]))
    assert bool((per_sample == per_sample[:, :1]).all())  # one decision per sample
    assert abs(y.mean().item() - 1.0) < 0.05
    batch = stochastic_depth(x, 0.5, mode="batch", generator=g)
    assert batch.unique().numel() == 1
    module = StochasticDepth(0.9).eval()
    assert torch.equal(module(x), x)
    assert torch.equal(stochastic_depth(x, 1.0), torch.zeros_like(x))
    with pytest.raises(ValueError, match="p"):
        stochastic_depth(x, 1.5)
    with pytest.raises(ValueError, match="mode"):
        StochasticDepth(0.1, "col")


def test_blocks_gradcheck_in_float64():
    torch.manual_seed(0)
    # SENet-154's grouped bottleneck in miniature: width 4 in 2 groups, first 1x1 halved
    grouped = Bottleneck(8, 4, stride=2, groups=2, base_width=32, reduce_first=2)
    assert grouped.conv1.out_channels == 2 and grouped.conv2.weight.shape == (4, 1, 3, 3)
    assert Bottleneck(8, 4, stride=2, down_kernel_size=3).downsample[0].kernel_size == (3, 3)
    for block in (BasicBlock(2, 3, stride=2), MBConv(2, 2, expand_ratio=2), grouped):
        block = block.double().eval()
        c = block.conv1.in_channels if isinstance(block, Bottleneck) else 2
        x = torch.randn(1, c, 5, 5, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(block, (x,))
