"""Output sizes, receptive fields (VGG's 3x3 argument) and parameter counts."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from pixlearn.nn import conv_output_size, count_parameters, layer_geometry, receptive_field


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "dilation"),
    [
        c
        for c in itertools.product((1, 5, 8, 13, 32), (1, 2, 3, 5), (1, 2, 3), (0, 1, 2), (1, 2))
        if c[3] <= c[1] // 2 * c[4]
    ],
)
def test_conv_output_size_equals_conv2d_and_pooling(size, kernel, stride, padding, dilation):
    x = torch.zeros(1, 1, size, size + 1)
    conv = nn.Conv2d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation)
    expected = conv_output_size(size, kernel, stride=stride, padding=padding, dilation=dilation)
    if expected == 0:
        with pytest.raises(RuntimeError):
            conv(x)
        return
    assert conv(x).shape[-2] == expected
    assert conv(x).shape[-1] == conv_output_size(
        size + 1, kernel, stride=stride, padding=padding, dilation=dilation
    )
    # pooling also needs padding <= kernel // 2
    for ceil_mode in (False, True) if padding <= kernel // 2 else ():
        pool = nn.MaxPool2d(kernel, stride, padding, dilation=dilation, ceil_mode=ceil_mode)
        got = pool(x).shape[-2]
        ours = conv_output_size(
            size, kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
        )
        assert got == ours


def test_receptive_field_of_an_impulse_matches_the_formula():
    # The receptive field is the support of the gradient of one output unit.
    net = nn.Sequential(
        nn.Conv2d(1, 1, 3), nn.MaxPool2d(2), nn.Conv2d(1, 1, 3, dilation=2), nn.Conv2d(1, 1, 5)
    )
    for p in net.parameters():
        nn.init.constant_(p, 0.1)
    x = torch.rand(1, 1, 48, 48, requires_grad=True)
    out = net(x)
    out[0, 0, out.shape[-2] // 2, out.shape[-1] // 2].backward()
    rows = (x.grad[0, 0].abs().sum(1) > 0).nonzero()
    support = int(rows.max() - rows.min() + 1)
    assert receptive_field(net) == (support, 2)
    assert support == 1 + 2 + 1 * 1 + 2 * 2 * 2 + 4 * 2  # r_l = r + d (k - 1) j


def test_two_stacked_3x3_see_5x5_with_fewer_parameters():
    c = 64
    stack = nn.Sequential(nn.Conv2d(c, c, 3, bias=False), nn.ReLU(), nn.Conv2d(c, c, 3, bias=False))
    single = nn.Conv2d(c, c, 5, bias=False)
    assert receptive_field(stack) == receptive_field(single) == (5, 1)
    assert count_parameters(stack) == 2 * 9 * c * c < count_parameters(single) == 25 * c * c
    # three 3x3 = one 7x7 (27 C^2 < 49 C^2)
    assert receptive_field([(3, 1)] * 3) == receptive_field([(7, 1)]) == (7, 1)


def test_tuples_and_modules_agree_and_alexnet_stem_is_known():
    # 11 -> 11 + 2*4 = 19 -> 19 + 4*8 = 51 -> 51 + 2*8 = 67; jumps 4, 8, 8, 16
    assert receptive_field([(11, 4), (3, 2), (5, 1), (3, 2)]) == (67, 16)
    layers = [nn.Conv2d(3, 1, 11, 4), nn.MaxPool2d(3, 2), nn.Conv2d(1, 1, 5), nn.MaxPool2d(3, 2)]
    assert receptive_field(layers) == (67, 16)
    assert layer_geometry(nn.ReLU()) is None
    assert layer_geometry(nn.AvgPool2d(2)) == (2, 2, 1)


def test_count_parameters_trainable_and_shared():
    lin = nn.Linear(4, 3)
    net = nn.Sequential(lin, nn.ReLU(), lin)  # the same layer twice counts once
    assert count_parameters(net) == 15
    lin.bias.requires_grad_(False)
    assert count_parameters(net, trainable_only=True) == 12


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="stride"):
        conv_output_size(10, 3, stride=0)
    with pytest.raises(ValueError, match="kernel_size"):
        conv_output_size(10, 0)
    with pytest.raises(TypeError, match="size"):
        conv_output_size(10.5, 3)
    with pytest.raises(TypeError, match="layers"):
        receptive_field(["conv"])
    with pytest.raises(TypeError, match="model"):
        count_parameters("resnet")
