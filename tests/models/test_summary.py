"""summarize: rows, totals, FLOPs by hand, receptive fields through shortcuts and branches."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pixlearn.models import create_model, summarize
from pixlearn.nn import count_parameters, receptive_field


def test_single_conv_flops_params_and_shape_by_hand():
    conv = nn.Conv2d(3, 8, 5, stride=2, padding=2, groups=1)
    s = summarize(conv, (2, 3, 20, 20))
    (row,) = s.rows
    # 8 * (3 * 25 + 1) parameters; each of 2 * 8 * 10 * 10 outputs costs 3 * 25 multiply-adds
    assert row.params == 8 * 76 == s.total_params
    assert row.output_shape == (2, 8, 10, 10) == s.output_shape
    assert row.flops == 2 * 8 * 10 * 10 * 75 == s.total_flops
    assert (row.receptive_field, row.jump) == (5, 2)
    dw = summarize(nn.Conv2d(8, 8, 3, groups=8), (1, 8, 6, 6)).rows[0]
    assert dw.flops == 8 * 4 * 4 * 9
    lin = summarize(nn.Linear(7, 3), (4, 7)).rows[0]
    assert lin.flops == 4 * 3 * 7 and lin.receptive_field is None


@pytest.mark.parametrize(
    ("name", "size", "kw"),
    [("lenet5", 32, {"in_chans": 1}), ("resnet18", 64, {}), ("efficientnet_b0", 64, {})],
)
def test_totals_equal_count_parameters_and_mode_is_restored(name, size, kw):
    model = create_model(name, **kw).train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    s = summarize(model, (1, kw.get("in_chans", 3), size, size))
    assert sum(r.params for r in s.rows) == s.total_params == count_parameters(model)
    assert s.trainable_params == s.total_params
    assert model.training  # restored
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # BN untouched
    assert str(s.total_params) in s.table().replace(",", "")
    assert len(s) == len(list(s))


def test_lenet_flops_and_receptive_fields_by_hand():
    s = summarize(create_model("lenet5"), (1, 1, 32, 32))
    convs = [r for r in s.rows if r.type in ("Conv2d", "MaxPool2d")]
    assert [(r.receptive_field, r.jump) for r in convs] == [(5, 1), (6, 2), (14, 2), (16, 4)]
    assert convs[0].flops == 6 * 28 * 28 * 25
    assert convs[2].flops == 16 * 10 * 10 * 6 * 25
    linear = [r.flops for r in s.rows if r.type == "Linear"]
    assert linear == [400 * 120, 120 * 84, 84 * 10]


def test_receptive_field_follows_shortcuts_not_call_order():
    # In a ResNet the 1x1 stride-2 shortcut runs beside the main path; the last conv's field
    # must equal the main chain's field computed by receptive_field.
    model = create_model("resnet18")
    s = summarize(model, (1, 3, 64, 64))
    last = [r for r in s.rows if r.type == "Conv2d" and "downsample" not in r.name][-1]
    chain = [model.conv1, model.maxpool]
    for layer in (model.layer1, model.layer2, model.layer3, model.layer4):
        for block in layer:
            chain += [block.conv1, block.conv2]
    assert (last.receptive_field, last.jump) == receptive_field(chain) == (435, 32)
    down = next(r for r in s.rows if r.name == "layer2.0.downsample.0")
    assert down.jump == 8


def test_inception_branches_take_the_widest_field():
    from pixlearn.nn import Inception

    s = summarize(Inception(4, 2, 2, 2, 2, 2, 2), (1, 4, 9, 9))
    fields = {r.name: r.receptive_field for r in s.rows if r.receptive_field}
    assert fields["branch1.conv"] == 1 and fields["branch3.1.conv"] == 5
    assert fields["branch4.0"] == 3


def test_bad_input_size():
    with pytest.raises(ValueError, match="input_size"):
        summarize(nn.Linear(2, 2), (0, 2))
    with pytest.raises(TypeError, match="model"):
        summarize("resnet18")
