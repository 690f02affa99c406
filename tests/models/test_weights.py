"""load_weights: plain state dicts, pixlearn/Lightning/DDP checkpoints, and clear errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from pixlearn.models import create_model, load_weights


def _net() -> nn.Module:
    return create_model("lenet5", num_classes=10, in_chans=1)


def _same(a: nn.Module, b: nn.Module) -> bool:
    pairs = zip(a.state_dict().values(), b.state_dict().values(), strict=True)
    return all(torch.equal(x, y) for x, y in pairs)


@pytest.mark.parametrize(
    "wrap",
    [
        lambda sd: sd,
        lambda sd: {"model": sd, "epoch": 3, "names": ["a", "b"], "version": "0.1"},
        lambda sd: {"state_dict": {f"model.{k}": v for k, v in sd.items()}},
        lambda sd: {f"module.{k}": v for k, v in sd.items()},
        lambda sd: {f"_orig_mod.{k}": v for k, v in sd.items()},
    ],
    ids=["plain", "pixlearn", "lightning", "ddp", "compiled"],
)
def test_round_trip(tmp_path, wrap):
    src, dst = _net(), _net()
    assert not _same(src, dst)
    path = tmp_path / "w.pth"
    torch.save(wrap(src.state_dict()), path)
    result = load_weights(dst, path)
    assert _same(src, dst)
    assert result == ([], [], [])


def test_resnet_round_trip_keeps_buffers_and_device_dtype(tmp_path):
    src = create_model("resnet18", num_classes=4, small_input=True)
    src.bn1.running_mean.uniform_()
    torch.save(src.state_dict(), tmp_path / "r.pt")
    dst = create_model("resnet18", num_classes=4, small_input=True).double()
    load_weights(dst, tmp_path / "r.pt")
    assert dst.conv1.weight.dtype == torch.float64
    assert torch.allclose(dst.bn1.running_mean, src.bn1.running_mean.double())


def test_strict_mismatch_lists_keys_and_names_the_file(tmp_path):
    path = tmp_path / "other.pt"
    state = _net().state_dict()
    state["extra.weight"] = torch.zeros(1)
    del state["features.0.bias"]
    state["classifier.5.weight"] = torch.zeros(3, 84)
    torch.save(state, path)
    with pytest.raises(ValueError, match=r"other\.pt") as err:
        load_weights(_net(), path)
    msg = str(err.value)
    assert "features.0.bias" in msg and "extra.weight" in msg and "classifier.5.weight" in msg
    dst = _net()
    before = dst.classifier[5].weight.clone()
    result = load_weights(dst, path, strict=False)
    assert result.missing_keys == ["features.0.bias"]
    assert result.unexpected_keys == ["extra.weight"]
    assert result.mismatched_keys == ["classifier.5.weight: (3, 84) vs (10, 84)"]
    assert torch.equal(dst.classifier[5].weight, before)  # left alone
    assert torch.equal(dst.features[0].weight, state["features.0.weight"])


def test_missing_corrupt_and_wrong_content(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.pt"):
        load_weights(_net(), tmp_path / "nope.pt")
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match=r"corrupt\.pt"):
        load_weights(_net(), bad)
    listing = tmp_path / "list.pt"
    torch.save([1, 2, 3], listing)
    with pytest.raises(ValueError, match=r"list\.pt.*state dict"):
        load_weights(_net(), listing)
    with pytest.raises(TypeError, match="model"):
        load_weights("lenet5", listing)
