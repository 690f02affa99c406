"""Saving and loading :class:`~pixlearn.features.DeformablePartModel` as ``.npz`` files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from pixlearn._core.errors import DataFormatError

if TYPE_CHECKING:
    from pixlearn.features.dpm import DeformablePartModel

__all__ = ["load_dpm", "save_dpm"]

_ARRAYS = ("root", "parts", "anchors", "deformation")


def save_dpm(model: DeformablePartModel, path: str | Path) -> None:
    """Write a fitted model: its options as a JSON string, its filters and springs as arrays."""
    config = {
        "window": list(model.window),
        "n_parts": model.n_parts,
        "part_size": list(model.part_size),
        "orientations": model.orientations,
        "pixels_per_cell": list(model.pixels_per_cell),
        "cells_per_block": list(model.cells_per_block),
        "block_norm": model.block_norm,
        "C": model.C,
        "min_deformation": model.min_deformation,
    }
    arrays = {k: getattr(model, k + "_").cpu().numpy() for k in _ARRAYS}
    with open(path, "wb") as fh:
        np.savez(
            fh, config=np.array(json.dumps(config)), intercept=np.array(model.intercept_), **arrays
        )


def load_dpm(cls: type[DeformablePartModel], path: str | Path) -> DeformablePartModel:
    """Read a model written by :func:`save_dpm`; a malformed file raises ``DataFormatError``.

    Example:
        >>> import tempfile, os
        >>> from pixlearn.features.dpm import DeformablePartModel
        >>> bad = os.path.join(tempfile.mkdtemp(), "bad.npz")
        >>> _ = open(bad, "wb").write(b"junk")
        >>> load_dpm(DeformablePartModel, bad)
        Traceback (most recent call last):
        ...
        pixlearn._core.errors.DataFormatError: ...bad.npz is not a saved DeformablePartModel: ...
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            config: dict[str, Any] = json.loads(str(data["config"]))
            model = cls(**config)
            arrays = {k: torch.from_numpy(data[k].copy()) for k in (*_ARRAYS, "intercept")}
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataFormatError(f"{path} is not a saved DeformablePartModel: {err}") from err
    model.root_, model.parts_ = arrays["root"], arrays["parts"]
    model.anchors_, model.deformation_ = arrays["anchors"], arrays["deformation"]
    model.intercept_ = float(arrays["intercept"])
    return model
