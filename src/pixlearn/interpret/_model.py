"""Shared plumbing of the interpretation tools: finding a layer, evaluation mode, batching."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from pixlearn._core.check import check_image, check_int, check_tensor, describe
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = ["as_batch", "class_scores", "eval_mode", "resolve_layer", "targets_for"]


def resolve_layer(model: nn.Module, layer: str | nn.Module) -> nn.Module:
    """The sub-module of ``model`` named ``layer`` (a dotted name of ``named_modules``)."""
    if not isinstance(model, nn.Module):
        raise WrongTypeError(f"model must be a torch.nn.Module, got {describe(model)}")
    if isinstance(layer, nn.Module):
        if not any(m is layer for m in model.modules()):
            raise ValueRangeError("layer must be a sub-module of model, got a module outside it")
        return layer
    if not isinstance(layer, str):
        raise WrongTypeError(
            f"layer must be a module name (str) or a module, got {describe(layer)}"
        )
    modules = dict(model.named_modules())
    if layer not in modules or layer == "":
        names = [n for n in modules if n]
        shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
        raise ValueRangeError(f"layer {layer!r} is not a module of the model; its layers: {shown}")
    return modules[layer]


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Run ``model`` in evaluation mode inside the block and restore its modes afterwards."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, training in modes:
            m.training = training


def as_batch(image: Tensor, name: str = "image") -> tuple[Tensor, bool]:
    """A ``(C, H, W)`` or ``(B, C, H, W)`` float image as ``(B, C, H, W)``, and if it was single."""
    check_image(image, name, min_dims=3, max_dims=4, floating=True, allow_empty=False)
    single = image.dim() == 3
    return (image.unsqueeze(0) if single else image), single


def targets_for(target: int | Tensor, batch: int, device: torch.device) -> Tensor:
    """A class index per image: ``int`` -> repeated; an int tensor ``(B,)`` is checked."""
    if isinstance(target, Tensor) and target.dim() > 0:
        check_tensor(target, "target")
        if target.is_floating_point() or target.dtype == torch.bool or target.shape != (batch,):
            raise ShapeError(
                f"target must be an int or an integer tensor of shape ({batch},), "
                f"got {describe(target)}"
            )
        return target.to(device=device, dtype=torch.long)
    t = check_int(target, "target", min_value=0)
    return torch.full((batch,), t, dtype=torch.long, device=device)


def class_scores(model: nn.Module, x: Tensor, target: Tensor) -> Tensor:
    """The model's raw score (logit) of class ``target[b]`` for each image ``b``: ``(B,)``."""
    out = model(x)
    if not isinstance(out, Tensor) or out.dim() != 2 or out.shape[0] != x.shape[0]:
        raise ShapeError(
            f"model must return class scores of shape (B, num_classes) = ({x.shape[0]}, K), "
            f"got {describe(out)}"
        )
    k = out.shape[1]
    if bool(((target < 0) | (target >= k)).any()):
        raise ValueRangeError(
            f"target must be a class index in [0, {k - 1}], got {target.tolist()}"
        )
    return out.gather(1, target[:, None])[:, 0]  # (B,)
