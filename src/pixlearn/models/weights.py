"""Load weights files: plain state dicts (torchvision, timm) and pixlearn checkpoints."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NamedTuple

import torch
from torch import Tensor, nn

from pixlearn._core.errors import DataFormatError, WrongTypeError

__all__ = ["LoadResult", "load_weights"]

_PREFIXES = ("module.", "_orig_mod.", "model.")


class LoadResult(NamedTuple):
    """What :func:`load_weights` did not load: keys the model lacks in the file, keys the file
    has that the model does not, and keys whose shapes differ (``name: file vs model``)."""

    missing_keys: list[str]
    unexpected_keys: list[str]
    mismatched_keys: list[str]


def _state_dict_of(obj: object, path: str) -> dict[str, Tensor]:
    # A pixlearn checkpoint nests the weights under "model" (or Lightning's "state_dict").
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model", "model_state_dict"):
            inner = obj.get(key)
            if isinstance(inner, Mapping) and any(isinstance(v, Tensor) for v in inner.values()):
                obj = inner
                break
    if not isinstance(obj, Mapping) or not obj:
        raise DataFormatError(
            f"{path}: expected a state dict (name -> tensor) or a checkpoint holding one under "
            f"'state_dict' or 'model', got {type(obj).__name__}"
        )
    tensors = {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, Tensor)}
    if not tensors:
        raise DataFormatError(f"{path}: holds no tensors; keys are {sorted(map(str, obj))[:10]}")
    return tensors


def _strip_prefixes(state: dict[str, Tensor], wanted: set[str]) -> dict[str, Tensor]:
    # "module." comes from DistributedDataParallel, "_orig_mod." from torch.compile, "model."
    # from a LightningModule holding the network as ``self.model``; strip a prefix only when
    # every key has it and the model itself does not use it.
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if all(k.startswith(prefix) for k in state) and not any(
                k.startswith(prefix) for k in wanted
            ):
                state = {k[len(prefix) :]: v for k, v in state.items()}
                changed = True
    return state


def _listing(keys: list[str], limit: int = 10) -> str:
    more = f" (+{len(keys) - limit} more)" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def load_weights(
    model: nn.Module, path: str | os.PathLike[str], *, strict: bool = True
) -> LoadResult:
    """Load a ``.pt``/``.pth`` weights file into ``model`` in place.

    Args:
        model: the network; its parameters keep their device and dtype.
        path: a file holding a plain state dict (torchvision/timm releases), or a dict with
            the weights under ``"state_dict"`` or ``"model"`` (pixlearn and Lightning
            checkpoints). ``module.`` (DDP), ``_orig_mod.`` (``torch.compile``) and ``model.``
            prefixes are stripped when every key has them.
        strict: require the file's keys and shapes to match the model's exactly. With
            ``strict=False`` matching entries are loaded and the rest reported (e.g. a new
            classifier with another number of classes, for fine-tuning).

    Returns:
        A :class:`LoadResult`; all lists are empty after a strict load.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        DataFormatError: the file cannot be read, holds no state dict, or (strict) its keys or
            shapes differ from the model's; the message names the file and lists the keys.

    Example:
        >>> import tempfile, pathlib
        >>> net = nn.Linear(3, 2)
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "w.pt"
        >>> torch.save({"model": nn.Linear(3, 2).state_dict(), "epoch": 3}, f)
        >>> load_weights(net, f)
        LoadResult(missing_keys=[], unexpected_keys=[], mismatched_keys=[])
    """
    if not isinstance(model, nn.Module):
        raise WrongTypeError(f"model must be an nn.Module, got {type(model).__name__}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"weights file not found: {path}")
    try:
        # weights_only: never run code from a file (tensors, numbers, strings, containers only)
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise DataFormatError(f"{path}: cannot be read as a PyTorch weights file ({err})") from err
    own = model.state_dict()
    state = _strip_prefixes(_state_dict_of(obj, path), set(own))
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [
        f"{k}: {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in own.items()
        if k in state and state[k].shape != v.shape
    ]
    if strict and (missing or unexpected or mismatched):
        parts = []
        if missing:
            parts.append(f"missing keys ({len(missing)}): {_listing(missing)}")
        if unexpected:
            parts.append(f"unexpected keys ({len(unexpected)}): {_listing(unexpected)}")
        if mismatched:
            parts.append(f"shape mismatches, file vs model: {_listing(mismatched)}")
        raise DataFormatError(
            f"{path} does not fit {type(model).__name__}: "
            + "; ".join(parts)
            + " (pass strict=False to load what matches)"
        )
    bad = {m.split(":")[0] for m in mismatched}
    model.load_state_dict(
        {k: v for k, v in state.items() if k in own and k not in bad}, strict=False
    )
    return LoadResult(missing, unexpected, mismatched)
