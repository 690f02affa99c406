"""Architecture-specific choices: LeNet-5 variants, EfficientNet's compound scaling, stems."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from pixlearn.models import create_model
from pixlearn.models.classification.efficientnet import VARIANTS, round_filters, round_repeats
from pixlearn.nn import MBConv, count_parameters


@pytest.mark.parametrize("size", [28, 32, 40, 64])
def test_lenet_accepts_inputs_from_28_and_counts_like_the_paper(size):
    model = create_model("lenet5", num_classes=10, in_chans=1)
    assert model(torch.rand(3, 1, size, size)).shape == (3, 10)
    assert count_parameters(model) == 156 + 2416 + 48120 + 10164 + 850
    assert model.forward_features(torch.rand(1, 1, 32, 32)).shape == (1, 16, 5, 5)


def test_lenet_classic_uses_tanh_and_average_pooling():
    modern = create_model("lenet5")
    classic = create_model("lenet5", classic=True, in_chans=3, num_classes=4)
    kinds = {type(m) for m in classic.modules()}
    assert {nn.Tanh, nn.AvgPool2d} <= kinds and not {nn.ReLU, nn.MaxPool2d} & kinds
    assert {nn.ReLU, nn.MaxPool2d} <= {type(m) for m in modern.modules()}
    assert classic(torch.rand(2, 3, 32, 32)).shape == (2, 4)
    assert classic.forward_head(torch.rand(2, 16, 5, 5), pre_logits=True).shape == (2, 84)


def test_compound_scaling_rules():
    # nearest multiple of 8, never below 90 % of the exact width
    assert [round_filters(c, 1.1) for c in (32, 16, 24, 40, 80, 112, 192, 320)] == [
        32, 16, 24, 48, 88, 120, 208, 352,
    ]  # fmt: skip
    assert round_filters(16, 0.5) == 8 and round_filters(36, 1.0) == 40
    assert round_repeats(1, 1.1) == 2 and round_repeats(4, 3.1) == 13
    # widths and depths grow monotonically with phi; resolution as published
    keys = sorted(VARIANTS)
    assert [VARIANTS[k].resolution for k in keys] == [224, 240, 260, 300, 380, 456, 528, 600]
    for a, b in itertools.pairwise(keys):
        assert VARIANTS[a].width <= VARIANTS[b].width and VARIANTS[a].depth < VARIANTS[b].depth


def test_efficientnet_head_width_depth_and_stochastic_depth_schedule():
    b0, b3 = create_model("efficientnet_b0"), create_model("efficientnet_b3")
    assert b0.num_features == 1280 and b3.num_features == 4 * round_filters(320, 1.2) == 1536
    blocks = [m for m in b3.modules() if isinstance(m, MBConv)]
    assert len(blocks) == sum(round_repeats(n, 1.4) for n in (1, 2, 2, 3, 3, 4, 1)) == 26
    probs = [b.stochastic_depth.p for b in blocks]
    assert probs[0] == 0.0 and probs == sorted(probs)
    assert probs[-1] == pytest.approx(0.2 * 25 / 26)
    assert b3.classifier[0].p == VARIANTS["b3"].dropout == 0.3
    b7 = create_model("efficientnet_b7")
    assert b7.features[0][1].eps == 1e-3  # the TensorFlow-trained B5-B7 settings
    assert b0.features[0][1].eps == 1e-5


def test_small_input_stems():
    r = create_model("resnet50", small_input=True)
    assert r.conv1.stride == (1, 1) and isinstance(r.maxpool, nn.Identity)
    assert r.forward_features(torch.rand(1, 3, 32, 32)).shape == (1, 2048, 4, 4)
    e = create_model("efficientnet_b0", small_input=True)
    assert e.forward_features(torch.rand(1, 3, 32, 32)).shape == (1, 1280, 2, 2)
    a = create_model("alexnet", small_input=True, num_classes=3)
    assert a.features[0].kernel_size == (3, 3) and a(torch.rand(1, 3, 32, 32)).shape == (1, 3)


def test_norm_and_act_injection():
    model = create_model(
        "resnet18", norm_layer=lambda c: nn.GroupNorm(8, c), act_layer=nn.SiLU, num_classes=3
    )
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert any(isinstance(m, nn.SiLU) for m in model.modules())
    assert model(torch.rand(1, 3, 64, 64)).shape == (1, 3)
    eff = create_model("efficientnet_b0", act_layer=nn.ReLU, num_classes=3)
    assert not any(isinstance(m, nn.SiLU) for m in eff.modules())
