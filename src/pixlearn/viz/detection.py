"""Figures for detection: boxes over an image, precision-recall curves, the confusion matrix.

Every function returns a :class:`matplotlib.figure.Figure` built with the object-oriented API
(no pyplot); save it with ``fig.savefig("x.png")``. :func:`draw_boxes` can also draw into an
existing axes, so panels such as "before NMS" / "after NMS" share one figure.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import Tensor

from pixlearn._core.check import check_finite, check_image, check_tensor, describe
from pixlearn._core.errors import ShapeError

__all__ = ["draw_boxes", "plot_confusion_matrix", "plot_pr_curve"]


def _np(x: Tensor) -> np.ndarray:
    return x.detach().to("cpu", torch.float64).numpy()


def _color(k: int) -> tuple[float, float, float, float]:
    from matplotlib import colormaps

    return colormaps["tab10"](k % 10)


def draw_boxes(
    image: Tensor,
    boxes: Tensor,
    labels: Tensor | None = None,
    scores: Tensor | None = None,
    class_names: Sequence[str] | None = None,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    linewidth: float = 1.5,
) -> Figure:
    """Draw boxes, coloured by class, with "name score" captions, over an image.

    Args:
        image: ``(C, H, W)`` (C = 1 or 3) or ``(H, W)`` float in [0, 1].
        boxes: ``(N, 4)`` xyxy in pixels (continuous: pixel ``i`` spans ``[i, i + 1)``).
        labels: ``(N,)`` int class indices (colour and caption), or ``None`` (one colour).
        scores: ``(N,)`` scores shown after the name, or ``None``.
        class_names: names indexed by label; ``None`` shows the label numbers.
        ax: draw into this axes (its figure is returned); ``None`` makes a new figure.
        title: axes title.
        linewidth: box edge width in points.

    Returns:
        The figure.

    Raises:
        ShapeError: wrong shapes, or ``labels``/``scores`` not one per box.

    Example:
        >>> fig = draw_boxes(torch.rand(3, 32, 48), torch.tensor([[2.0, 3, 20, 30]]),
        ...                  labels=torch.tensor([1]), scores=torch.tensor([0.9]),
        ...                  class_names=["bg", "digit"])
        >>> len(fig.axes[0].patches), fig.axes[0].texts[0].get_text()
        (1, 'digit 0.90')
    """
    check_image(image, "image", min_dims=2, max_dims=3, floating=True)
    check_tensor(boxes, "boxes")
    if boxes.dim() != 2 or boxes.shape[-1] != 4:
        raise ShapeError(f"boxes must be (N, 4) xyxy, got {describe(boxes)}")
    check_finite(boxes, "boxes")
    n = boxes.shape[0]
    for name, v in (("labels", labels), ("scores", scores)):
        if v is not None and (check_tensor(v, name).shape != (n,)):
            raise ShapeError(f"{name} must have shape ({n},) (one per box), got {describe(v)}")
    img = _np(image.clamp(0, 1))
    if img.ndim == 3:
        if img.shape[0] not in (1, 3):
            raise ShapeError(f"image must have 1 or 3 channels, got {describe(image)}")
        img = img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)
    h, w = img.shape[:2]
    if ax is None:
        fig = Figure(figsize=(6.0, 6.0 * h / w + 0.4), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure  # type: ignore[assignment]
    # pixel i covers [i, i + 1): the extent puts pixel edges on integer coordinates
    ax.imshow(img, cmap="gray", vmin=0, vmax=1, extent=(0, w, h, 0), interpolation="nearest")
    b = _np(boxes)
    for i in range(n):
        k = int(labels[i]) if labels is not None else 0
        x1, y1, x2, y2 = b[i]
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, lw=linewidth, ec=_color(k)))
        parts = []
        if labels is not None:
            parts.append(class_names[k] if class_names is not None else str(k))
        if scores is not None:
            parts.append(f"{float(scores[i]):.2f}")
        if parts:
            inside = y1 < 0.05 * h  # no room above the box: caption inside its top edge
            ax.text(
                x1, y1, " ".join(parts), fontsize=8, color="white", ha="left",
                va="top" if inside else "bottom",
                bbox={"facecolor": _color(k), "alpha": 0.8, "pad": 1, "edgecolor": "none"},
                clip_on=True,
            )  # fmt: skip
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
    return fig


def plot_pr_curve(
    recall: Tensor | Sequence[Tensor],
    precision: Tensor | Sequence[Tensor],
    labels: Sequence[str] | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Precision against recall, one curve per class, with the interpolated envelope dashed.

    Args:
        recall: ``(K,)`` float, or a list of them (one per curve).
        precision: the same shape(s) as ``recall``.
        labels: one legend entry per curve (e.g. ``"cat  AP 0.71"``), or ``None``.
        title: axes title.

    Returns:
        The figure (one axes, recall and precision both on [0, 1]).

    Raises:
        ShapeError: lists of different lengths, or a curve whose recall and precision differ
            in shape or are not 1-D.

    Example:
        >>> fig = plot_pr_curve(torch.tensor([0.5, 0.5, 1.0]), torch.tensor([1.0, 0.5, 0.67]),
        ...                     ["digit"])
        >>> fig.axes[0].get_xlabel()
        'recall'
    """
    rs = [recall] if isinstance(recall, Tensor) else list(recall)
    ps = [precision] if isinstance(precision, Tensor) else list(precision)
    if len(rs) != len(ps) or (labels is not None and len(labels) != len(rs)):
        raise ShapeError(
            f"recall, precision and labels must have one entry per curve, got {len(rs)}, "
            f"{len(ps)} and {None if labels is None else len(labels)}"
        )
    fig = Figure(figsize=(5.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for i, (r, p) in enumerate(zip(rs, ps, strict=True)):
        check_tensor(r, f"recall[{i}]")
        check_tensor(p, f"precision[{i}]")
        if r.dim() != 1 or r.shape != p.shape:
            raise ShapeError(
                f"recall[{i}] and precision[{i}] must be 1-D of one length, got "
                f"{describe(r)} and {describe(p)}"
            )
        rr, pp = _np(r), _np(p)
        color = _color(i)
        ax.plot(rr, pp, color=color, lw=1.2, label=None if labels is None else labels[i])
        if rr.size:
            # interpolated precision max_{r' >= r} p(r'), the curve AP integrates
            env = np.maximum.accumulate(pp[::-1])[::-1]
            ax.step(np.r_[0, rr], np.r_[env[0], env], where="pre", color=color, lw=0.8, ls="--")
    ax.set_xlim(0, 1.0)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.grid(alpha=0.3)
    if labels is not None:
        ax.legend(loc="lower left", fontsize=8)
    ax.set_title(title if title is not None else "precision-recall (dashed: interpolated)")
    return fig


def plot_confusion_matrix(
    matrix: Tensor,
    class_names: Sequence[str],
    normalize: bool = True,
    *,
    title: str | None = None,
) -> Figure:
    """Show a detection confusion matrix (rows predicted, columns true, background last).

    Args:
        matrix: ``(K + 1, K + 1)`` counts from
            :func:`~pixlearn.metrics.detection.detection_confusion_matrix`.
        class_names: ``K`` names (``"background"`` is appended) or ``K + 1`` names.
        normalize: divide each column by its sum (the fraction of each true class predicted
            as each class; an empty column stays 0), else show counts.
        title: axes title.

    Returns:
        The figure, every cell annotated with its value.

    Raises:
        ShapeError: a non-square matrix or a wrong number of names.

    Example:
        >>> m = torch.tensor([[5, 1, 2], [0, 3, 1], [1, 0, 0]])
        >>> fig = plot_confusion_matrix(m, ["cat", "dog"])
        >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
        ['cat', 'dog', 'background']
    """
    check_tensor(matrix, "matrix")
    if matrix.dim() != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 2:
        raise ShapeError(f"matrix must be square (K + 1, K + 1), got {describe(matrix)}")
    k = matrix.shape[0] - 1
    names = list(class_names)
    if len(names) == k:
        names.append("background")
    if len(names) != k + 1:
        raise ShapeError(f"class_names must hold {k} or {k + 1} names, got {len(names)}")
    m = _np(matrix)
    if normalize:
        col = m.sum(0, keepdims=True)
        # fraction of each true class (column) predicted as each class (row)
        m = np.divide(m, col, out=np.zeros_like(m), where=col > 0)
    side = max(4.0, 0.55 * (k + 1) + 2.0)
    fig = Figure(figsize=(side + 1.0, side), layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(m, cmap="Blues", vmin=0, vmax=1 if normalize else max(m.max(), 1))
    fig.colorbar(im, ax=ax, shrink=0.8)
    threshold = 0.5 * (1 if normalize else max(m.max(), 1))
    if k + 1 <= 30:
        for (i, j), v in np.ndenumerate(m):
            text = f"{v:.2f}" if normalize else f"{int(v)}"
            color = "white" if v > threshold else "black"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=color)
    ax.set_xticks(range(k + 1), names, rotation=45, ha="right")
    ax.set_yticks(range(k + 1), names)
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    ax.set_title(title if title is not None else "detection confusion matrix")
    return fig
