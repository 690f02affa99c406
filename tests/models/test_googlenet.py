"""GoogLeNet's auxiliary classifiers: used in training mode only."""

from __future__ import annotations

import torch

from pixlearn.models import create_model
from pixlearn.models.classification import GoogLeNetOutputs


def test_aux_heads_present_in_train_absent_in_eval():
    torch.manual_seed(0)
    model = create_model("googlenet", num_classes=5, small_input=True)
    calls = []
    model.aux1.register_forward_hook(lambda *a: calls.append("aux1"))
    model.aux2.register_forward_hook(lambda *a: calls.append("aux2"))
    x = torch.rand(2, 3, 32, 32)
    out = model.train()(x)
    assert isinstance(out, GoogLeNetOutputs) and calls == ["aux1", "aux2"]
    assert [t.shape for t in out] == [(2, 5)] * 3
    calls.clear()
    model.eval()
    with torch.no_grad():
        logits = model(x)
        features = model.forward_features(x)
    assert isinstance(logits, torch.Tensor) and logits.shape == (2, 5) and calls == []
    assert torch.allclose(model.forward_head(features), logits)
    # the aux heads change nothing in the main path: eval logits == train-mode main logits
    # when dropout and batch statistics are out of the way
    model.dropout.p = 0.0
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.track_running_stats = False
            m.running_mean = m.running_var = None
    assert torch.allclose(model.train()(x).logits, model.eval()(x), atol=1e-5)


def test_without_aux_heads_training_returns_plain_logits():
    model = create_model("googlenet", num_classes=3, aux_logits=False, small_input=True)
    assert model.aux1 is None and model.aux2 is None
    assert model.train()(torch.rand(2, 3, 32, 32)).shape == (2, 3)
