"""Regenerate ``timm_keys.json.gz``: state-dict layout and logits of timm's SE networks.

timm is not a dependency; the reference was made once from timm 1.0.31's own model files:

    pip download timm --no-deps -d /tmp/timm
    cd /tmp/timm && mkdir src && cd src && unzip -q ../timm-1.0.31-py3-none-any.whl
    # timm imports torchvision: use the stubbed copy make_torchvision_keys.py describes
    PIXLEARN_ACCEPT=1 PYTHONPATH=/tmp/timm/src:/path/to/stubbed/torchvision \\
        python tests/models/data/make_timm_keys.py

It writes ``{pixlearn name: [[name, shape], ...]}`` for ``seresnet50`` and ``senet154``
(1000 classes), and ``"logits"``: ``seresnet50``'s 10-class eval-mode output with the weights
of ``make_torchvision_keys.fill_`` on its seeded 64x64 input.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import sys
from pathlib import Path

import torch

HERE = Path(__file__).parent
MODELS = {"se_resnet50": "seresnet50", "senet154": "senet154"}


def main() -> None:
    if os.environ.get("PIXLEARN_ACCEPT") != "1":
        sys.exit("set PIXLEARN_ACCEPT=1 to overwrite the reference")
    import timm

    spec = importlib.util.spec_from_file_location("tvkeys", HERE / "make_torchvision_keys.py")
    assert spec is not None and spec.loader is not None
    tvkeys = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tvkeys)
    out: dict[str, object] = {}
    for ours, theirs in MODELS.items():
        model = timm.create_model(theirs)
        out[ours] = [[k, list(v.shape)] for k, v in model.state_dict().items()]
        print(ours, sum(p.numel() for p in model.parameters()))
    model = tvkeys.fill_(timm.create_model("seresnet50", num_classes=10)).eval()
    with torch.no_grad():
        out["logits"] = {"se_resnet50": model(tvkeys.test_input()).tolist()}
    path = HERE / "timm_keys.json.gz"
    with gzip.open(path, "wt") as f:
        json.dump(out, f, separators=(",", ":"))
    print("wrote", path, path.stat().st_size, "bytes")


if __name__ == "__main__":
    main()
