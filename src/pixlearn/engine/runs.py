"""Run folders: ``runs/<task>/<mode>N`` with ``args.yaml``, ``results.csv/png`` and weights.

Every run of ``pixlearn <task> <mode>`` writes one folder::

    runs/classify/train3/
        args.yaml            the resolved keys of the run
        results.csv          one row per epoch (losses, metrics, learning rate)
        results.png          the curves of results.csv
        weights/last.pt      model + optimiser + scheduler + loop + RNG state (resume from it)
        weights/best.pt      model + metadata of the best epoch
        tb/                  TensorBoard event files

A weights file is a ``torch.save`` dict whose ``"pixlearn"`` entry holds the metadata needed to
rebuild and use the model without the run: pixlearn version, model name and keyword arguments,
class names, input normalisation.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import yaml
from torch import nn

import pixlearn
from pixlearn._core.errors import DataFormatError

__all__ = [
    "append_results",
    "find_last_run",
    "load_checkpoint",
    "make_run_dir",
    "model_state",
    "plot_results",
    "read_args",
    "read_results",
    "recover_file",
    "replace_file",
    "resolve_weights",
    "save_weights",
    "weights_metadata",
    "write_args",
    "write_results",
]


def make_run_dir(
    project: str | Path, task: str, mode: str, *, name: str | None = None, exist_ok: bool = False
) -> Path:
    """Create and return the next run folder.

    Without ``name`` the folder is ``<mode>N`` with N one more than the largest existing number.
    With ``name`` it is ``name``, or ``name2``, ``name3``... if taken, unless ``exist_ok``.

    Example:
        >>> import tempfile
        >>> root = tempfile.mkdtemp()
        >>> [make_run_dir(root, "classify", "train").name for _ in range(2)]
        ['train1', 'train2']
    """
    parent = Path(project) / task
    parent.mkdir(parents=True, exist_ok=True)
    if name is None:
        pattern = re.compile(rf"^{re.escape(mode)}(\d+)$")
        numbers = [int(m.group(1)) for p in parent.iterdir() if (m := pattern.match(p.name))]
        path = parent / f"{mode}{max(numbers, default=0) + 1}"
    else:
        path = parent / name
        n = 2
        while path.exists() and not exist_ok:
            path, n = parent / f"{name}{n}", n + 1
    path.mkdir(parents=True, exist_ok=True)
    return path


def find_last_run(project: str | Path, task: str, mode: str = "train") -> Path | None:
    """The most recently modified run folder of ``task`` that holds ``weights/last.pt``."""
    parent = Path(project) / task
    if not parent.is_dir():
        return None
    for p in parent.iterdir():
        recover_file(p / "weights" / "last.pt")  # a crash inside replace_file
    runs = [p for p in parent.iterdir() if (p / "weights" / "last.pt").is_file()]
    return max(runs, key=lambda p: (p / "weights" / "last.pt").stat().st_mtime, default=None)


def write_args(run_dir: Path, args: Mapping[str, Any]) -> Path:
    """Write the resolved keys of a run to ``args.yaml``."""
    path = run_dir / "args.yaml"
    path.write_text(yaml.safe_dump(dict(args), sort_keys=False))
    return path


def read_args(run_dir: Path) -> dict[str, Any]:
    """Read ``args.yaml`` of a run folder (the error names the file)."""
    path = run_dir / "args.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no args.yaml in run folder {run_dir}")
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise DataFormatError(f"{path}: expected a mapping of keys")
    return data


def replace_file(path: Path, write: Callable[[Path], Any]) -> Path:
    """Write ``path`` through ``write(tmp)``: a new file that takes the old one's place.

    ``write`` writes the complete file at the path it is given, ``<path>.tmp`` (created
    afresh); then the old ``path`` is removed and the new file renamed to ``path``. A crash while
    writing leaves the old file whole; a crash between the removal and the rename leaves the
    complete ``.tmp`` (:func:`recover_file` puts it back). Writing into a new file is also the
    fast way on ext4: truncating or renaming over an existing file makes the file system flush
    the new data at once (``auto_da_alloc``), milliseconds per file, more than a small
    network's epoch spends on its checkpoint.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "a.txt"
        >>> _ = replace_file(p, lambda tmp: tmp.write_text("one"))
        >>> _ = replace_file(p, lambda tmp: tmp.write_text("two"))
        >>> p.read_text(), sorted(q.name for q in p.parent.iterdir())
        ('two', ['a.txt'])
    """
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)  # a leftover of a crash: start a new file, never truncate
    write(tmp)
    path.unlink(missing_ok=True)
    os.rename(tmp, path)
    return path


def recover_file(path: Path) -> bool:
    """Put back ``<path>.tmp`` left by a crash inside :func:`replace_file`; ``True`` if it did.

    Only a complete ``.tmp`` can be there without ``path``: the old file is removed after the
    new one is fully written.
    """
    tmp = path.with_name(path.name + ".tmp")
    if path.exists() or not tmp.is_file():
        return False
    os.rename(tmp, path)
    return True


def _header(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    header: list[str] = []
    for row in rows:
        header += [k for k in row if k not in header]
    return header


def write_results(path: Path, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Write ``rows`` (one per epoch) as CSV; the header is the union of the keys, in order.

    Returns the header (what :func:`append_results` needs to add a row later).
    """
    header = _header(rows)

    def write(tmp: Path) -> None:
        with tmp.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=header)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: _fmt(v) for k, v in row.items()})

    replace_file(path, write)
    return header


def append_results(path: Path, row: Mapping[str, Any], header: Sequence[str]) -> bool:
    """Append one epoch's ``row`` to a ``results.csv`` written with ``header``.

    An append costs a few microseconds, a rewrite of the whole file a few milliseconds. Returns
    ``False`` (and writes nothing) when the row has a key the header lacks: then the file must
    be rewritten with :func:`write_results`.
    """
    if any(k not in header for k in row):
        return False
    buf = io.StringIO()
    csv.DictWriter(buf, fieldnames=list(header)).writerow({k: _fmt(v) for k, v in row.items()})
    with path.open("a", newline="") as f:
        f.write(buf.getvalue())
    return True


def _fmt(v: Any) -> Any:
    return f"{v:.6g}" if isinstance(v, float) else v


def read_results(path: Path) -> list[dict[str, float]]:
    """Read a ``results.csv`` back as numbers (empty cells are dropped)."""
    if not path.is_file():
        return []
    with path.open(newline="") as f:
        return [
            {k: float(v) for k, v in row.items() if v not in ("", None)}
            for row in csv.DictReader(f)
        ]


def plot_results(rows: Sequence[Mapping[str, float]], path: Path) -> Path:
    """Plot every column of ``rows`` against the epoch, one panel per quantity."""
    from matplotlib.figure import Figure

    keys = [k for k in (rows[0] if rows else {}) if k != "epoch"]
    for row in rows:
        keys += [k for k in row if k not in keys and k != "epoch"]
    cols = max(1, min(4, len(keys)))
    nrows = max(1, -(-len(keys) // cols))
    fig = Figure(figsize=(3.2 * cols, 2.6 * nrows))  # no pyplot: the user's backend is untouched
    axes = fig.subplots(nrows, cols, squeeze=False)
    for ax, key in zip(axes.flat, keys, strict=False):
        pts = [(r["epoch"], r[key]) for r in rows if key in r and "epoch" in r]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=".")
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(keys) :]:
        ax.axis("off")
    # fixed margins: tight_layout would measure every label, most of the cost of this figure
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.1, top=0.93, wspace=0.35, hspace=0.55)
    fig.savefig(path, dpi=90)
    return path


def weights_metadata(
    *,
    task: str,
    model_name: str,
    model_args: Mapping[str, Any],
    meta: Mapping[str, Any],
    epoch: int | None = None,
    metrics: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The ``"pixlearn"`` entry of a weights file.

    ``meta`` is the task's data description (class names, channels, image size, normalisation).
    """
    return {
        "version": pixlearn.__version__,
        "task": task,
        "model": model_name,
        "model_args": dict(model_args),
        **dict(meta),
        "epoch": epoch,
        "metrics": dict(metrics or {}),
    }


def save_weights(path: Path, model: nn.Module, metadata: Mapping[str, Any]) -> Path:
    """Save ``{"model": state_dict, "pixlearn": metadata}`` (plain tensors, loadable anywhere)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    return replace_file(
        path, lambda tmp: torch.save({"model": state, "pixlearn": dict(metadata)}, tmp)
    )


def resolve_weights(spec: str | Path) -> Path:
    """A weights file from a path, or from a run folder (``weights/best.pt``, else ``last.pt``)."""
    path = Path(spec)
    if path.is_dir():
        for name in ("best.pt", "last.pt"):
            recover_file(path / "weights" / name)  # a crash inside replace_file
        for cand in (path / "weights" / "best.pt", path / "weights" / "last.pt", path / "best.pt"):
            if cand.is_file():
                return cand
        raise FileNotFoundError(f"weights: no weights/best.pt or weights/last.pt in {path}")
    if not path.is_file():
        raise FileNotFoundError(f"weights: file not found: {path}")
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a weights file written by pixlearn (``best.pt`` or the resumable ``last.pt``)."""
    path = resolve_weights(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # a truncated or foreign file
        raise DataFormatError(
            f"weights: cannot read {path} ({type(err).__name__}: {err})"
        ) from None
    if not isinstance(ckpt, dict) or "pixlearn" not in ckpt:
        raise DataFormatError(f"weights: {path} is not a pixlearn weights file (no metadata)")
    return ckpt


def model_state(ckpt: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """The model's state dict from a loaded weights file (either kind)."""
    if "model" in ckpt:
        return dict(ckpt["model"])
    # a Lightning checkpoint of the TaskModule: the model's keys carry the prefix "model."
    return {k[6:]: v for k, v in ckpt["state_dict"].items() if k.startswith("model.")}
