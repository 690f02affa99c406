"""Export a trained model to ONNX or TorchScript, and check the export against PyTorch.

The exported graph includes the input normalisation, so it takes the same ``(B, C, H, W)``
images in [0, 1] that ``pixlearn classify predict`` reads. After writing, the file is loaded back
(ONNX with onnxruntime, TorchScript with ``torch.jit.load``) and run on a random batch; the
maximum absolute difference from the PyTorch model is returned (and printed by the command).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from pixlearn._core.errors import ValueRangeError

__all__ = ["Normalized", "export_model"]


class Normalized(nn.Module):
    """``model((x - mean) / std)``: a model that takes images in [0, 1].

    Example:
        >>> m = Normalized(nn.Identity(), [0.5], [0.25])
        >>> m(torch.ones(1, 1, 2, 2)).flatten().tolist()
        [2.0, 2.0, 2.0, 2.0]
    """

    def __init__(self, model: nn.Module, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32)[:, None, None])
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32)[:, None, None])

    def forward(self, x: Tensor) -> Tensor:
        # (B, C, H, W) -> per-channel standardised -> logits
        return self.model((x - self.mean) / self.std)


def export_model(
    model: nn.Module,
    path: str | Path,
    *,
    fmt: str,
    in_chans: int,
    imgsz: int,
    mean: Sequence[float],
    std: Sequence[float],
    batch: int = 2,
    seed: int = 0,
) -> tuple[Path, float]:
    """Write ``model`` (with its normalisation) as ONNX or TorchScript and verify it.

    Args:
        model: the plain network.
        path: output file (``.onnx`` or ``.torchscript``).
        fmt: ``"onnx"`` or ``"torchscript"``.
        in_chans: input channels.
        imgsz: input side (the ONNX graph keeps height and width dynamic).
        mean: per-channel normalisation mean.
        std: per-channel normalisation standard deviation.
        batch: size of the random check batch.
        seed: seed of the check batch.

    Returns:
        ``(path, max_abs_diff)``: the written file and the largest absolute difference between
        the exported model's outputs and PyTorch's on the check batch.

    Example:
        >>> import tempfile, os
        >>> net = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
        >>> p, diff = export_model(net, os.path.join(tempfile.mkdtemp(), "m.torchscript"),
        ...                        fmt="torchscript", in_chans=1, imgsz=4, mean=[0.5], std=[0.5])
        >>> diff < 1e-5
        True
    """
    if fmt not in ("onnx", "torchscript"):
        raise ValueRangeError(f"format must be onnx or torchscript, got {fmt!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wrapped = Normalized(model, mean, std).eval().cpu()
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, in_chans, imgsz, imgsz, generator=g)  # (B, C, H, W)
    with torch.no_grad():
        ref = wrapped(x).numpy()
    if fmt == "torchscript":
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(wrapped, x)
            traced.save(str(path))
            loaded = torch.jit.load(str(path))
            got = loaded(x).numpy()
    else:
        import onnxruntime as ort

        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapped,
                (x,),
                str(path),
                input_names=["images"],
                output_names=["logits"],
                dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
                dynamo=False,
            )
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        got = session.run(None, {"images": x.numpy()})[0]
    return path, float(np.abs(got - ref).max())
