"""Every registered classifier: parameter counts, torchvision state-dict layout, forward/backward.

The reference layout (names and shapes, in order) and logits come from torchvision 0.29's own
model files; see ``data/make_torchvision_keys.py`` for how they were produced.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import pytest
import torch

from pixlearn.models import create_model, list_models, model_entry
from pixlearn.nn import count_parameters

DATA = Path(__file__).with_name("data")
with gzip.open(DATA / "torchvision_keys.json.gz", "rt") as _f:
    TV = json.load(_f)
with gzip.open(DATA / "timm_keys.json.gz", "rt") as _f:
    TIMM = json.load(_f)  # se_resnet50 and senet154 follow timm's layout
LAYOUT = {**TV, **TIMM}
LOGITS = {**TV["logits"], **TIMM["logits"]}

_spec = importlib.util.spec_from_file_location("_tvkeys", DATA / "make_torchvision_keys.py")
assert _spec is not None and _spec.loader is not None
_tvkeys = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_tvkeys)

# torchvision's documented counts at 1000 classes (googlenet without its auxiliary heads),
# plus timm's seresnet50 and the ZFNet / LeNet-5 counts worked out by hand in the docstrings.
PARAMS = {
    "alexnet": 61_100_840,
    "zfnet": 62_357_608,
    "lenet5": 61_706,
    "googlenet": 6_624_904,
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
    "se_resnet50": 28_088_024,
    "senet154": 115_088_984,
    "vgg11": 132_863_336,
    "vgg13": 133_047_848,
    "vgg16": 138_357_544,
    "vgg19": 143_667_240,
    "vgg11_bn": 132_868_840,
    "vgg13_bn": 133_053_736,
    "vgg16_bn": 138_365_992,
    "vgg19_bn": 143_678_248,
    "efficientnet_b0": 5_288_548,
    "efficientnet_b1": 7_794_184,
    "efficientnet_b2": 9_109_994,
    "efficientnet_b3": 12_233_232,
    "efficientnet_b4": 19_341_616,
    "efficientnet_b5": 30_389_784,
    "efficientnet_b6": 43_040_704,
    "efficientnet_b7": 66_347_960,
}
# The small-input run: (extra builder kwargs, input size); forward + backward, batch 2.
SMALL: dict[str, tuple[dict, int]] = {"lenet5": ({"in_chans": 1}, 32)}
for _n in PARAMS:
    if _n.startswith(("resnet", "se")):
        # the bottleneck nets are heavy at 32x32 with the stride-1 stem: 16x16 still ends 2x2
        SMALL[_n] = ({"small_input": True}, 16 if _n[-2:] in ("50", "01", "52", "54") else 32)
    elif _n.startswith(("alexnet", "zfnet", "googlenet")):
        SMALL[_n] = ({"small_input": True}, 32)
    elif _n == "efficientnet_b0":
        SMALL[_n] = ({"small_input": True}, 16)  # the stride-1 stem: 16x16 ends 1x1
    elif _n.startswith("efficientnet"):
        # depthwise convs are slow to differentiate on CPU: the stride-2 stem (final map 1x1)
        SMALL[_n] = ({}, 32)
    elif _n.startswith("vgg"):
        SMALL[_n] = ({}, 32)  # the smallest input five 2x2 pools admit


def test_every_registered_classifier_is_covered():
    assert set(list_models(task="classify")) == set(PARAMS)


# Grouped-conv backward is ~10 s on one CPU core for SENet-154: its small run is forward only
# (training mode); the grouped bottleneck's gradients are checked in tests/nn/test_blocks.py.
NO_BACKWARD = {"senet154"}


def _forward_backward(
    model: torch.nn.Module, size: int, chans: int, classes: int, *, backward: bool = True
) -> None:
    model.train()
    x = torch.rand(2, chans, size, size, requires_grad=True)
    if not backward:
        with torch.no_grad():
            assert model(x).shape == (2, classes)
        return
    out = model(x)
    logits = out[0] if isinstance(out, tuple) else out
    assert logits.shape == (2, classes)
    loss = sum(o.square().mean() for o in out) if isinstance(out, tuple) else out.square().mean()
    loss.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_parameter_count_layout_and_forward_backward_at_two_sizes(name):
    kw = {"aux_logits": False} if name == "googlenet" else {}
    model = create_model(name, **kw)
    assert count_parameters(model) == PARAMS[name]
    if name in LAYOUT:
        mine = [[k, list(v.shape)] for k, v in model.state_dict().items()]
        assert mine == LAYOUT[name]
    # ImageNet size, batch 1, forward only (backward at 224 is too slow for the big ones)
    size, chans = (32, 1) if name == "lenet5" else (224, 3)
    model.eval()
    with torch.no_grad():
        out = model(torch.rand(1, chans, size, size))
    assert out.shape == (1, 1000 if name != "lenet5" else 10)
    assert torch.isfinite(out).all()
    # the small size, batch 2, forward and backward (rebuilt only when the stem changes)
    extra, small = SMALL[name]
    if set(extra) - {"in_chans"}:
        model = create_model(name, num_classes=7, **extra)
        _forward_backward(
            model, small, extra.get("in_chans", 3), 7, backward=name not in NO_BACKWARD
        )
    else:
        _forward_backward(model, small, chans, 10 if name == "lenet5" else 1000)


def test_googlenet_with_aux_heads_has_torchvision_default_layout():
    model = create_model("googlenet")
    assert count_parameters(model) == 13_004_888
    assert [[k, list(v.shape)] for k, v in model.state_dict().items()] == TV["googlenet_aux"]


@pytest.mark.parametrize("name", sorted(LOGITS))
def test_logits_equal_torchvision_given_the_same_weights(name):
    kw = {"aux_logits": False} if name == "googlenet" else {}
    model = _tvkeys.fill_(create_model(name, num_classes=10, **kw)).eval()
    with torch.no_grad():
        out = model(_tvkeys.test_input())
    ref = torch.tensor(LOGITS[name])
    assert torch.allclose(out, ref, rtol=1e-4, atol=1e-4 * ref.abs().max().item())


@pytest.mark.parametrize(
    "name", ["lenet5", "resnet18", "vgg11", "alexnet", "googlenet", "efficientnet_b0"]
)
def test_feature_and_head_split(name):
    kw = {"in_chans": 1} if name == "lenet5" else {}
    model = create_model(name, num_classes=5, **kw).eval()
    x = torch.rand(1, kw.get("in_chans", 3), 64, 64)
    with torch.no_grad():
        feats = model.forward_features(x)
        assert feats.shape[1] == model.num_features
        assert torch.allclose(model.forward_head(feats), model(x))
        assert model.forward_head(feats, pre_logits=True).dim() == 2


def test_in_chans_num_classes_and_drop_rate_are_honoured():
    model = create_model("resnet18", num_classes=10, in_chans=1, small_input=True)
    assert model.conv1.weight.shape == (64, 1, 3, 3)
    assert create_model("efficientnet_b0", drop_rate=0.5).classifier[0].p == 0.5
    assert create_model("vgg11", drop_rate=0.1).classifier[2].p == 0.1
    # every classifier accepts the same core options (ignored where meaningless)
    for name in PARAMS:
        entry = model_entry(name)
        assert entry.summary
    for name in ("lenet5", "vgg11"):
        assert create_model(name, small_input=True, drop_rate=0.0, in_chans=2, num_classes=3)


@pytest.mark.parametrize("bad", [{"num_classes": -1}, {"in_chans": 0}, {"drop_rate": 1.5}])
@pytest.mark.parametrize("name", ["lenet5", "alexnet", "resnet18", "googlenet", "efficientnet_b0"])
def test_bad_options_name_the_argument(bad, name):
    key = next(iter(bad))
    with pytest.raises(ValueError, match=key):
        create_model(name, **bad)


def test_resnet_without_classifier_returns_pooled_features():
    model = create_model("resnet18", num_classes=0).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 3, 64, 64)).shape == (1, 512)
