"""What a classification run writes besides weights: plots and the prediction writer.

``plot_confusion`` draws the row-normalised confusion matrix (row = true class), the counts
written in the cells; ``plot_misclassified`` shows a grid of wrongly classified images with their
true and predicted classes; ``predict_files`` classifies image files and writes an annotated copy
of each, ``predictions.csv`` and ``predictions.json``.
"""

from __future__ import annotations

import csv
import glob
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "IMAGE_SUFFIXES",
    "collect_sources",
    "plot_confusion",
    "plot_misclassified",
    "predict_files",
]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp")


def _subplots(*args: Any, figsize: tuple[float, float], **kwargs: Any) -> tuple[Any, Any]:
    """A figure and its axes, without pyplot's global state (the user's backend is left alone)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots(*args, **kwargs)


def plot_confusion(confusion: Tensor, classes: Sequence[str], path: Path) -> Path:
    """Row-normalised confusion matrix (rows: true class, columns: predicted), counts in cells."""
    cm = confusion.to(torch.float64)  # (K, K)
    # fraction of the true class c predicted as j: C[c, j] / sum_j C[c, j]
    frac = cm / cm.sum(dim=1, keepdim=True).clamp_min(1)
    k = len(classes)
    side = min(12.0, 2.5 + 0.45 * k)
    fig, ax = _subplots(figsize=(side, side))
    ax.imshow(frac.numpy(), cmap="Blues", vmin=0, vmax=1)
    if k <= 30:
        ax.set_xticks(range(k), classes, rotation=90 if k > 10 else 0, fontsize=8)
        ax.set_yticks(range(k), classes, fontsize=8)
        for i in range(k):
            for j in range(k):
                if cm[i, j] > 0:
                    color = "white" if frac[i, j] > 0.5 else "black"
                    ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7, color=color)
    acc = float(cm.diag().sum() / cm.sum().clamp_min(1))
    ax.set(xlabel="predicted", ylabel="true", title=f"confusion matrix (accuracy {acc:.2%})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def plot_misclassified(
    wrong: Sequence[tuple[Tensor, int, int]], classes: Sequence[str], path: Path
) -> Path:
    """A grid of (image, true, predicted) triples; a single note when there are none.

    The grid is one mosaic image in one axes (tiles separated by a white gap, each labelled
    above): a figure of 36 axes costs about a second to lay out, this one a tenth of that.
    """
    n = len(wrong)
    cols = max(1, min(6, n))
    rows = max(1, -(-n // cols))
    fig, ax = _subplots(figsize=(1.8 * cols, 2.0 * rows))
    ax.axis("off")
    if n == 0:
        ax.text(0.5, 0.5, "no misclassified images", ha="center", va="center")
    else:
        h, w = wrong[0][0].shape[-2:]
        gap_x, gap_y = max(2, w // 8), max(2, h // 2)  # room for two lines of label above a tile
        mosaic = torch.ones(rows * (h + gap_y), cols * (w + gap_x), 3)  # (H, W, RGB), white
        for k, (image, true, pred) in enumerate(wrong):
            img = image.float()[:, :h, :w]
            img = (img - img.min()) / (img.max() - img.min()).clamp_min(1e-12)
            rgb = img[:3].permute(1, 2, 0) if img.shape[0] >= 3 else img[:1].permute(1, 2, 0)
            top, left = (k // cols) * (h + gap_y) + gap_y, (k % cols) * (w + gap_x)
            mosaic[top : top + img.shape[1], left : left + img.shape[2]] = rgb  # gray broadcasts
            label = f"true {classes[true]}\npred {classes[pred]}"
            ax.text(
                left + w / 2, top - 1, label, ha="center", va="bottom", fontsize=8, color="crimson"
            )
        ax.imshow(mosaic.numpy(), interpolation="nearest")
    fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.99)
    fig.savefig(path, dpi=100)
    return path


def collect_sources(sources: Sequence[str]) -> list[Path]:
    """Image files named by ``sources``: files, folders (their images, sorted) or globs."""
    files: list[Path] = []
    for src in sources:
        path = Path(src).expanduser()
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file():
            files.append(path)
        else:
            matches = sorted(glob.glob(str(path), recursive=True))
            if not matches:
                raise FileNotFoundError(f"source: no file, folder or glob match for {src!r}")
            files += [Path(m) for m in matches if Path(m).suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise FileNotFoundError(f"source: no image files in {', '.join(map(str, sources))}")
    return files


def _load(path: Path, in_chans: int, size: int) -> Tensor:
    from pixlearn.io import read_image

    image = read_image(path, mode="gray" if in_chans == 1 else "rgb")  # (C, H, W) in [0, 1]
    if image.shape[0] != in_chans:
        image = image[:1].expand(in_chans, -1, -1)
    image = image[None]  # (1, C, H, W)
    if image.shape[-2:] != (size, size):
        image = F.interpolate(image, size=(size, size), mode="bilinear", antialias=True)
    return image[0]


def predict_files(
    model: nn.Module,
    meta: dict[str, Any],
    sources: Sequence[str],
    out: Path,
    *,
    batch: int = 32,
    topk: int = 5,
) -> list[dict[str, Any]]:
    """Classify image files; write annotated images and ``predictions.csv``/``.json`` to ``out``.

    Args:
        model: the network, taking normalised ``(B, C, H, W)`` images.
        meta: weights metadata: ``classes``, ``in_chans``, ``imgsz``, ``mean``, ``std``.
        sources: files, folders or globs.
        out: output folder.
        batch: images per forward pass.
        topk: classes listed per image.

    Returns:
        One dict per image: ``file``, ``class``, ``label``, ``confidence``, ``top`` (list of
        ``[class, probability]``).
    """
    files = collect_sources(sources)
    classes = meta["classes"]
    mean = torch.tensor(meta["mean"])[:, None, None]
    std = torch.tensor(meta["std"])[:, None, None]
    p0 = next(model.parameters(), None)
    device = p0.device if p0 is not None else torch.device("cpu")
    model.eval()
    results: list[dict[str, Any]] = []
    out.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(files), batch):
        chunk = files[start : start + batch]
        images = torch.stack([_load(p, meta["in_chans"], meta["imgsz"]) for p in chunk])
        with torch.no_grad():
            logits = model(((images - mean) / std).to(device)).float().cpu()  # (b, K)
        prob = logits.softmax(dim=-1)
        top_p, top_i = prob.topk(min(topk, prob.shape[-1]), dim=-1)
        for path, image, ps, ids in zip(chunk, images, top_p, top_i, strict=True):
            row = {
                "file": str(path),
                "class": classes[int(ids[0])],
                "label": int(ids[0]),
                "confidence": float(ps[0]),
                "top": [[classes[int(i)], float(p)] for p, i in zip(ps, ids, strict=True)],
            }
            results.append(row)
            fig, ax = _subplots(figsize=(3, 3.3))
            shown = image[0] if image.shape[0] == 1 else image[:3].permute(1, 2, 0)
            ax.imshow(shown.numpy(), cmap="gray" if image.shape[0] == 1 else None)
            ax.set_title(f"{row['class']} ({row['confidence']:.1%})", fontsize=10)
            ax.axis("off")
            fig.tight_layout()
            fig.savefig(out / f"{len(results):04d}_{path.stem}.png", dpi=80)
    with (out / "predictions.csv").open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "class", "label", "confidence"])
        for r in results:
            writer.writerow([r["file"], r["class"], r["label"], f"{r['confidence']:.6f}"])
    (out / "predictions.json").write_text(json.dumps(results, indent=1))
    return results
