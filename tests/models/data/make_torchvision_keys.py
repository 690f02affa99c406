"""Regenerate ``torchvision_keys.json.gz``: state-dict names and shapes of torchvision's models.

torchvision is not a dependency (its wheel does not load on a CPU-only torch build), so the
reference is made once, by hand, from torchvision's own Python model files:

    pip download torchvision --no-deps -d /tmp/tv
    cd /tmp/tv && mkdir src && cd src && unzip -q ../torchvision-0.29.2-*.whl
    PIXLEARN_ACCEPT=1 python tests/models/data/make_torchvision_keys.py /tmp/tv/src

The script copies the extracted package to a temporary folder, empties
``torchvision/_meta_registrations.py`` (it registers fake kernels for the compiled C++ ops,
which fail without the extension; no model needs them), imports ``torchvision.models`` and
writes ``{model: [[name, shape], ...]}`` for each architecture pixlearn also has (1000 classes).

It also records torchvision's logits (10 classes, eval mode) for the models in ``NUMERIC``, with
every state-dict entry set by :func:`fill_` (seeded, independent of either library's
initialisation) and a seeded 64x64 input, under the key ``"logits"``: the tests fill pixlearn's
model the same way and must reproduce them.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import torch

MODELS = [
    "alexnet",
    "vgg11",
    "vgg13",
    "vgg16",
    "vgg19",
    "vgg11_bn",
    "vgg13_bn",
    "vgg16_bn",
    "vgg19_bn",
    "googlenet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    *[f"efficientnet_b{i}" for i in range(8)],
]

NUMERIC = ["alexnet", "vgg11_bn", "googlenet", "resnet18", "resnet50", "efficientnet_b0"]
SIZE = 64


def fill_(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Overwrite every floating state-dict entry, in order, from one seeded generator."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            if name.endswith("running_var") or (t.dim() == 1 and name.endswith("weight")):
                t.copy_(0.5 + torch.rand(t.shape, generator=g))  # variances, BN gammas
            elif t.dim() == 1:
                t.copy_(0.1 * torch.randn(t.shape, generator=g))  # biases, means
            else:
                fan_in = t[0].numel()
                t.copy_(torch.randn(t.shape, generator=g) * (1.0 / fan_in) ** 0.5)
    return model


def test_input() -> torch.Tensor:
    return torch.rand(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))


def main(src: str) -> None:
    if os.environ.get("PIXLEARN_ACCEPT") != "1":
        sys.exit("set PIXLEARN_ACCEPT=1 to overwrite the reference")
    tmp = Path(tempfile.mkdtemp())
    shutil.copytree(Path(src) / "torchvision", tmp / "torchvision")
    (tmp / "torchvision" / "_meta_registrations.py").write_text("")
    sys.path.insert(0, str(tmp))
    import torchvision.models as tvm

    out: dict[str, list] = {}
    for name in MODELS:
        kw = {"init_weights": False} if name.startswith(("googlenet", "vgg")) else {}
        if name == "googlenet":
            # torchvision's googlenet() builder has aux_logits=True by default (needed to load
            # its own checkpoint, which holds aux1/aux2); record both layouts.
            model = getattr(tvm, name)(aux_logits=True, **kw)
            out["googlenet_aux"] = [[k, list(v.shape)] for k, v in model.state_dict().items()]
            model = getattr(tvm, name)(aux_logits=False, **kw)
        else:
            model = getattr(tvm, name)(**kw)
        out[name] = [[k, list(v.shape)] for k, v in model.state_dict().items()]
        print(name, sum(p.numel() for p in model.parameters()))
    logits = {}
    for name in NUMERIC:
        kw = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
        model = fill_(getattr(tvm, name)(num_classes=10, **kw)).eval()
        if name == "googlenet":
            model.transform_input = False
        with torch.no_grad():
            logits[name] = model(test_input()).tolist()
    out["logits"] = logits  # type: ignore[assignment]
    path = Path(__file__).with_name("torchvision_keys.json.gz")
    with gzip.open(path, "wt") as f:
        json.dump(out, f, separators=(",", ":"))
    print("wrote", path, path.stat().st_size, "bytes")


if __name__ == "__main__":
    main(sys.argv[1])
