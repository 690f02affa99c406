"""Check a classification data set before training on it: counts, problems, a labelled mosaic.

:func:`check_dataset` loads every split of a spec, reads every image once and reports

- the number of items per class and split, and the classes with no item at all;
- unreadable files (corrupt, truncated, not an image), each with its path and the reason;
- identical images in two splits (a leak that inflates test accuracy), found by hashing pixels;
- images whose size or number of channels differs from the most common one (they cannot be
  batched without a resize);

and writes ``mosaic.png``: a few training images of each class in a row, labelled with its name.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from pixlearn._core.errors import ImageFileError, ValueRangeError
from pixlearn.data.datasets.base import ImageDataset
from pixlearn.data.datasets.load import load_dataset

__all__ = ["DatasetReport", "check_dataset"]

_MAX_LISTED = 20  # problems of one kind listed one by one; the rest are counted


@dataclass
class DatasetReport:
    """What :func:`check_dataset` found.

    Attributes:
        spec: the data-set spec checked.
        classes: the class names.
        counts: ``counts[split][k]`` items of class ``k`` in each split that exists.
        problems: one human-readable line per problem; empty when the set is clean.
        shapes: how many images have each ``(C, H, W)``.
        mosaic: the mosaic PNG written, or ``None``.
    """

    spec: str
    classes: list[str]
    counts: dict[str, list[int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    shapes: dict[tuple[int, ...], int] = field(default_factory=dict)
    mosaic: Path | None = None

    @property
    def ok(self) -> bool:
        """``True`` when no problem was found."""
        return not self.problems


def _name(ds: ImageDataset, i: int) -> str:
    return str(ds.paths[i]) if ds.paths is not None else f"item {i}"


def check_dataset(
    spec: str,
    *,
    out: str | os.PathLike[str] | None = None,
    splits: tuple[str, ...] = ("train", "val", "test"),
    per_class: int = 8,
    **kw: Any,
) -> DatasetReport:
    """Count, validate and preview a classification data set.

    Args:
        spec: a data-set spec (see :func:`~pixlearn.data.datasets.load.load_dataset`).
        out: folder for ``mosaic.png`` (created), or ``None`` to write no mosaic.
        splits: the splits to look for; those the set does not have (e.g. ``"val"`` of MNIST)
            are skipped.
        per_class: images per class row in the mosaic.
        **kw: passed to :func:`load_dataset` (not ``transform``: raw images are checked).

    Returns:
        A :class:`DatasetReport`.

    Raises:
        ValueRangeError: an unknown spec, or none of ``splits`` exists.

    Example:
        >>> report = check_dataset("faces")
        >>> report.counts["test"], report.ok
        ([20, 20], True)
    """
    loaded: dict[str, ImageDataset] = {}
    for split in splits:
        try:
            loaded[split] = load_dataset(spec, split, **kw)
        except (ValueRangeError, FileNotFoundError) as err:
            if "split" not in str(err):
                raise
    if not loaded:
        raise ValueRangeError(f"splits must name at least one split of {spec!r}, got {splits!r}")
    first = next(iter(loaded.values()))
    report = DatasetReport(spec=spec, classes=list(first.classes))
    shapes: Counter[tuple[int, ...]] = Counter()
    where: dict[tuple[int, ...], list[str]] = {}
    owner: dict[bytes, tuple[str, str]] = {}  # pixel hash -> (split, item) first seen
    unreadable: list[str] = []
    leaks: list[str] = []
    samples: dict[int, list[torch.Tensor]] = {k: [] for k in range(len(first.classes))}
    for split, ds in loaded.items():
        report.counts[split] = torch.bincount(ds.targets, minlength=ds.num_classes).tolist()
        if list(ds.classes) != report.classes:
            report.problems.append(
                f"split {split!r} has classes {list(ds.classes)}, "
                f"split {next(iter(loaded))!r} has {report.classes}"
            )
        for i in range(len(ds)):
            try:
                image = ds.load_image(i)
            except (ImageFileError, OSError) as err:
                unreadable.append(f"unreadable image in {split}: {err}")
                continue
            shape = tuple(image.shape)
            shapes[shape] += 1
            where.setdefault(shape, []).append(f"{split}: {_name(ds, i)}")
            # identical pixels hash alike whatever the file name or format
            digest = hashlib.blake2b(image.contiguous().numpy().tobytes(), digest_size=16)
            key = digest.digest() + repr(shape).encode()
            seen = owner.setdefault(key, (split, _name(ds, i)))
            if seen[0] != split:
                leaks.append(
                    f"identical image in {seen[0]} and {split}: {seen[1]} == {_name(ds, i)}"
                )
            label = int(ds.targets[i])
            if split == next(iter(loaded)) and len(samples[label]) < per_class:
                samples[label].append(image)
    report.shapes = dict(shapes)
    for kind, lines in (("unreadable", unreadable), ("duplicate", leaks)):
        report.problems += lines[:_MAX_LISTED]
        if len(lines) > _MAX_LISTED:
            report.problems.append(f"... and {len(lines) - _MAX_LISTED} more {kind} items")
    totals = [sum(c[k] for c in report.counts.values()) for k in range(len(report.classes))]
    empty = [name for name, n in zip(report.classes, totals, strict=True) if n == 0]
    if empty:
        report.problems.append(f"empty classes (no image in any split): {', '.join(empty)}")
    if len(shapes) > 1:
        common = shapes.most_common(1)[0][0]
        odd = [f"{w} has shape {s}" for s, ws in where.items() if s != common for w in ws]
        report.problems.append(
            f"image sizes/channels differ: {len(shapes)} shapes (C, H, W), the most common "
            f"is {common}; "
            + "; ".join(odd[:_MAX_LISTED])
            + (" ..." if len(odd) > _MAX_LISTED else "")
        )
    if out is not None:
        report.mosaic = _write_mosaic(Path(out) / "mosaic.png", samples, report.classes, spec)
    return report


def _write_mosaic(
    path: Path, samples: dict[int, list[torch.Tensor]], classes: list[str], title: str
) -> Path:
    """Draw one row per class (at most 20 rows) of its first images, the class name at left."""
    from matplotlib.figure import Figure

    rows = [k for k in samples if samples[k]][:20] or [0]
    cols = max(1, max(len(samples.get(k, [])) for k in rows))
    fig = Figure(figsize=(1.1 * cols + 1.2, 1.1 * len(rows) + 0.4))  # no pyplot state
    axes = fig.subplots(len(rows), cols, squeeze=False)
    for r, k in enumerate(rows):
        for c in range(cols):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            items = samples.get(k, [])
            if c < len(items):
                img = items[c].clamp(0, 1)
                if img.shape[0] < 3:  # gray (+ alpha)
                    ax.imshow(img[0].numpy(), cmap="gray", vmin=0.0, vmax=1.0)
                else:
                    ax.imshow(img[:3].permute(1, 2, 0).numpy())
        axes[r][0].set_ylabel(classes[k] if k < len(classes) else "", rotation=0, ha="right")
    fig.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    return path
