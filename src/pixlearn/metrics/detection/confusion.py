"""The detection confusion matrix: which class each object was detected as, or missed.

A classification confusion matrix needs one prediction per sample; a detector makes any number
of predictions per image. Boxes are first matched one-to-one by IoU, ignoring classes; matched
pairs count in the class cells, unmatched ground truth in the background row (missed) and
unmatched predictions in the background column (false alarms). The layout and matching are
those of Ultralytics YOLO's ``ConfusionMatrix``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from pixlearn._core.check import check_int, check_range
from pixlearn._core.errors import ShapeError, ValueRangeError
from pixlearn.metrics.detection.ap import _check_image_dicts, _pairwise_iou

__all__ = ["detection_confusion_matrix"]


def _first_of_each(ids: Tensor) -> Tensor:
    """Positions of the first occurrence of each distinct value of ``ids``, increasing."""
    _, inverse = torch.unique(ids, return_inverse=True)
    rank = torch.arange(ids.numel(), device=ids.device)  # (P,)
    first = torch.full((int(inverse.max()) + 1,), ids.numel(), device=ids.device)
    return first.scatter_reduce(0, inverse, rank, reduce="amin").sort().values


def _match(iou: Tensor, iou_threshold: float) -> tuple[Tensor, Tensor]:
    """One-to-one (gt, prediction) pairs with IoU > threshold, best IoU first."""
    gi, pi = (iou > iou_threshold).nonzero(as_tuple=True)  # candidate pairs
    if gi.numel() == 0:
        return gi, pi
    v = iou[gi, pi]
    # best IoU first; ties keep (gt, prediction) order, so the result is deterministic
    order = torch.argsort(v, descending=True, stable=True)
    gi, pi = gi[order], pi[order]
    # each prediction keeps its best pair, then each ground truth keeps its best remaining pair
    keep = _first_of_each(pi)
    gi, pi = gi[keep], pi[keep]
    keep = _first_of_each(gi)
    return gi[keep], pi[keep]


def detection_confusion_matrix(
    predictions: Sequence[dict[str, Tensor]],
    targets: Sequence[dict[str, Tensor]],
    num_classes: int,
    *,
    iou_threshold: float = 0.5,
    score_threshold: float = 0.25,
) -> Tensor:
    r"""Count, over a data set, which class each object was detected as.

    Args:
        predictions: one dict per image: ``boxes`` ``(M, 4)`` xyxy float, ``labels``
            ``(M,)`` int in ``0..num_classes-1``, ``scores`` ``(M,)``.
        targets: one dict per image (same order): ``boxes`` ``(N, 4)``, ``labels`` ``(N,)``.
        num_classes: number of object classes ``K`` (background not included), >= 1.
        iou_threshold: a pair matches when IoU > this, in [0, 1).
        score_threshold: predictions with score > this take part, in [0, 1).

    Returns:
        ``(K + 1, K + 1)`` int64 counts, indexed ``[predicted, true]`` (the Ultralytics layout):
        ``[p, t]`` for ``p, t < K`` counts ground truth of class ``t`` matched by a prediction
        of class ``p`` (the diagonal holds the correct ones); ``[K, t]``: ground truth of class
        ``t`` not matched (background predicted, a miss); ``[p, K]``: predictions of class ``p``
        matched to nothing (a false alarm); ``[K, K]`` is always 0.

    Shape:
        ``-> (K + 1, K + 1)``.

    Raises:
        ShapeError, WrongTypeError, ValueRangeError: malformed inputs (named by image index and
            key), a label outside ``0..K-1``, thresholds out of range.

    Notes:
        In each image, the candidate pairs are those with :math:`\mathrm{IoU}(g, p) > t`
        (classes ignored). Sorted by decreasing IoU (ties: ground-truth index, then prediction
        index), each prediction keeps its first pair, then each ground truth its first
        remaining pair: every box is in at most one pair. Ultralytics sorts with NumPy's
        unstable sort, so ties may pair differently there; and some Ultralytics versions skip
        the false alarms of an image in which nothing matched, which are counted here. Column
        sums are the ground-truth counts per class: :math:`\sum_p M_{p,t} = N_t`.

    Example:
        >>> tgt = [{"boxes": torch.tensor([[0.0, 0, 10, 10], [20.0, 0, 30, 10]]),
        ...         "labels": torch.tensor([0, 1])}]
        >>> pred = [{"boxes": torch.tensor([[0.0, 0, 10, 10], [50.0, 50, 60, 60]]),
        ...          "labels": torch.tensor([1, 0]), "scores": torch.tensor([0.9, 0.8])}]
        >>> detection_confusion_matrix(pred, tgt, 2)
        tensor([[0, 0, 1],
                [1, 0, 0],
                [0, 1, 0]])

    References:
        Jocher, G. et al. Ultralytics YOLO, ``ultralytics/utils/metrics.py``
        (``ConfusionMatrix.process_batch``), 2023.
    """
    k = check_int(num_classes, "num_classes", min_value=1)
    t = check_range(iou_threshold, "iou_threshold", 0.0, 1.0, high_inclusive=False)
    s = check_range(score_threshold, "score_threshold", 0.0, 1.0, high_inclusive=False)
    preds = _check_image_dicts(predictions, "predictions", with_scores=True)
    tgts = _check_image_dicts(targets, "targets", with_scores=False)
    if len(preds) != len(tgts):
        raise ShapeError(
            f"predictions and targets must list the same images, got {len(preds)} and {len(tgts)}"
        )
    matrix = torch.zeros(k + 1, k + 1, dtype=torch.int64)
    for i, (p, g) in enumerate(zip(preds, tgts, strict=True)):
        for name, lab in (
            (f"predictions[{i}]['labels']", p["labels"]),
            (f"targets[{i}]['labels']", g["labels"]),
        ):
            if lab.numel() and (int(lab.min()) < 0 or int(lab.max()) >= k):
                raise ValueRangeError(
                    f"{name} must be in 0..{k - 1} (num_classes={k}), got {lab.tolist()}"
                )
        keep = p["scores"] > s
        pb, pl = p["boxes"][keep], p["labels"][keep].cpu()  # (M', 4), (M',)
        gb, gl = g["boxes"], g["labels"].cpu()  # (N, 4), (N,)
        iou = _pairwise_iou(gb.to(torch.float64), pb.to(torch.float64).to(gb.device))  # (N, M')
        gi, pi = (x.cpu() for x in _match(iou, t))
        # matched pairs: [predicted class, true class]
        matrix.index_put_((pl[pi], gl[gi]), torch.ones_like(gi), accumulate=True)
        missed = torch.ones(gl.numel(), dtype=torch.bool)
        missed[gi] = False
        # unmatched ground truth: background predicted
        matrix[k].index_add_(0, gl[missed], torch.ones_like(gl[missed]))
        spurious = torch.ones(pl.numel(), dtype=torch.bool)
        spurious[pi] = False
        # unmatched predictions: background is the truth
        matrix[:, k].index_add_(0, pl[spurious], torch.ones_like(pl[spurious]))
    return matrix
