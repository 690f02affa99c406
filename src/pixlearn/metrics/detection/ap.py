r"""Pascal VOC average precision: the area under the precision-recall curve, per class.

Detections of a class are ranked by score over the whole data set; each one is a true positive
(TP) when it overlaps a still unmatched ground-truth box of its class with
:math:`\mathrm{IoU} \ge t`, else a false positive (FP). After the :math:`k` best detections

.. math::
    \mathrm{recall}_k = \frac{\mathrm{TP}_k}{N_{gt}}, \qquad
    \mathrm{precision}_k = \frac{\mathrm{TP}_k}{\mathrm{TP}_k + \mathrm{FP}_k},

and AP summarises the curve (:func:`average_precision`); mAP is the mean over classes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from pixlearn._core.check import check_choice, check_finite, check_range, check_tensor, describe
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = ["AP_METHODS", "VOCResult", "average_precision", "voc_evaluate"]

AP_METHODS = ("all", "11point")


def average_precision(recall: Tensor, precision: Tensor, *, method: str = "all") -> Tensor:
    r"""Average precision of one precision-recall curve, VOC 2007 or VOC 2010+ style.

    Args:
        recall: recall after each ranked detection, shape ``(K,)``, float in [0, 1],
            non-decreasing.
        precision: precision after each ranked detection, shape ``(K,)``, float in [0, 1].
        method: ``"all"``: every recall change point (VOC 2010 and later); ``"11point"``:
            11 recall levels 0, 0.1, ..., 1 (VOC 2007).

    Returns:
        AP as a 0-dim tensor of the input dtype; 0 for an empty curve.

    Shape:
        ``(K,), (K,) -> ()``.

    Raises:
        WrongTypeError: not floating tensors.
        ShapeError: not 1-D or different lengths.
        ValueRangeError: NaN/Inf, values outside [0, 1], decreasing recall, unknown ``method``.

    Notes:
        Both first make precision monotone: the interpolated precision at recall :math:`r` is
        :math:`p_{interp}(r) = \max_{\tilde r \ge r} p(\tilde r)`.

        11-point: :math:`AP = \frac{1}{11} \sum_{t \in \{0, 0.1, \dots, 1\}} p_{interp}(t)`
        (0 where no recall reaches :math:`t`). The levels are the floats nearest to
        :math:`k/10`; ``np.arange(0, 1.1, 0.1)`` in py-faster-rcnn's copy holds
        0.30000000000000004 and so drops a recall of exactly 0.3 at that level.

        All-point: with :math:`r_0 = 0` and the curve's recalls :math:`r_1 \le \dots \le r_K`,
        :math:`AP = \sum_{k=1}^{K} (r_k - r_{k-1})\, p_{interp}(r_k)`, the exact area under the
        monotone envelope.

    Example:
        >>> r = torch.tensor([0.5, 0.5, 1.0])
        >>> p = torch.tensor([1.0, 0.5, 2 / 3])
        >>> average_precision(r, p)  # 0.5 * 1 + 0.5 * 2/3
        tensor(0.8333)

    References:
        Everingham, M. et al. "The Pascal Visual Object Classes (VOC) Challenge." IJCV 2010;
        the VOC 2012 development kit, ``VOCevaldet.m``.
    """
    for name, x in (("recall", recall), ("precision", precision)):
        check_tensor(x, name)
        if not x.is_floating_point():
            raise WrongTypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
        if x.dim() != 1:
            raise ShapeError(f"{name} must be 1-D (K,), got {describe(x)}")
        check_finite(x, name)
        if x.numel() and (x.min() < 0 or x.max() > 1):
            raise ValueRangeError(
                f"{name} must be in [0, 1], got values in [{float(x.min())}, {float(x.max())}]"
            )
    if recall.shape != precision.shape:
        raise ShapeError(
            f"recall and precision must have the same length, got {describe(recall)} "
            f"and {describe(precision)}"
        )
    check_choice(method, "method", AP_METHODS)
    if recall.numel() > 1 and bool((recall[1:] < recall[:-1]).any()):
        raise ValueRangeError("recall must be non-decreasing (detections ranked by score)")
    precision = precision.to(recall.dtype)
    if recall.numel() == 0:
        return recall.new_zeros(())
    # p_interp(r_k) = max_{j >= k} p_j: a cumulative max from the end
    envelope = precision.flip(0).cummax(0).values.flip(0)  # (K,)
    if method == "11point":
        levels = torch.linspace(0, 1, 11, dtype=torch.float64).to(recall.dtype)  # (11,)
        # the first k with r_k >= t has the largest p_interp among those (envelope decreases)
        first = torch.searchsorted(recall.contiguous(), levels.to(recall.device))  # (11,)
        reached = first < recall.numel()
        p = torch.where(reached, envelope[first.clamp(max=recall.numel() - 1)], 0.0)
        # AP = (1/11) sum_t p_interp(t)
        return p.sum() / 11
    # AP = sum_k (r_k - r_{k-1}) p_interp(r_k), r_0 = 0
    steps = torch.diff(recall, prepend=recall.new_zeros(1))  # (K,)
    return (steps * envelope).sum()


def _pairwise_iou(a: Tensor, b: Tensor) -> Tensor:
    """IoU of every box of ``a`` ``(N, 4)`` with every box of ``b`` ``(M, 4)``, xyxy -> (N, M)."""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])  # (N,)
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # (M,)
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])  # (N, M, 2)
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])  # (N, M, 2)
    wh = (rb - lt).clamp(min=0)  # (N, M, 2)
    inter = wh[..., 0] * wh[..., 1]  # (N, M)
    union = area_a[:, None] + area_b[None, :] - inter
    # IoU = |A ∩ B| / |A ∪ B|; two zero-area boxes have IoU 0
    return torch.where(union > 0, inter / union.clamp(min=torch.finfo(a.dtype).tiny), 0.0)


def _boxes(x: object, name: str) -> Tensor:
    check_tensor(x, name)
    assert isinstance(x, Tensor)
    if x.dim() != 2 or x.shape[1] != 4 or not x.is_floating_point():
        raise ShapeError(f"{name} must be a float (N, 4) xyxy tensor, got {describe(x)}")
    check_finite(x, name)
    if x.numel() and bool(((x[:, 2] < x[:, 0]) | (x[:, 3] < x[:, 1])).any()):
        k = int(((x[:, 2] < x[:, 0]) | (x[:, 3] < x[:, 1])).nonzero()[0, 0])
        raise ValueRangeError(f"{name}: box {k} has x2 < x1 or y2 < y1: {x[k].tolist()}")
    return x


def _vector(x: object, name: str, n: int) -> Tensor:
    check_tensor(x, name)
    assert isinstance(x, Tensor)
    if x.shape != (n,):
        raise ShapeError(f"{name} must have shape ({n},) (one per box), got {describe(x)}")
    return x


def _check_image_dicts(items: object, name: str, with_scores: bool) -> list[dict[str, Tensor]]:
    """Validate a list of per-image dicts of boxes/labels(/scores/difficult)."""
    if not isinstance(items, Sequence) or isinstance(items, (str, dict)):
        raise ShapeError(f"{name} must be a list with one dict per image, got {describe(items)}")
    out = []
    for i, d in enumerate(items):
        where = f"{name}[{i}]"
        if not isinstance(d, dict) or "boxes" not in d or "labels" not in d:
            raise ShapeError(f"{where} must be a dict with 'boxes' and 'labels'")
        boxes = _boxes(d["boxes"], f"{where}['boxes']")
        n = boxes.shape[0]
        labels = _vector(d["labels"], f"{where}['labels']", n)
        if labels.is_floating_point() or labels.dtype == torch.bool:
            raise ShapeError(f"{where}['labels'] must be an integer tensor, got {labels.dtype}")
        item = {"boxes": boxes, "labels": labels.long()}
        if with_scores:
            if "scores" not in d:
                raise ShapeError(f"{where} must have 'scores'")
            scores = _vector(d["scores"], f"{where}['scores']", n)
            check_finite(scores, f"{where}['scores']")
            item["scores"] = scores
        else:
            diff = d.get("difficult")
            diff = boxes.new_zeros(n, dtype=torch.bool) if diff is None else diff
            item["difficult"] = _vector(diff, f"{where}['difficult']", n).bool()
        out.append(item)
    return out


@dataclass
class VOCResult:
    """What :func:`voc_evaluate` returns.

    Attributes:
        ap: per class label, the AP; NaN for a class with no (non-difficult) ground truth.
        map: mean AP over the classes with ground truth (NaN when there are none).
        recall: per class label, recall after each counted detection (ranked by score).
        precision: per class label, the matching precision.
        num_positives: per class label, the number of ground-truth boxes that count.
    """

    ap: dict[int, float]
    map: float
    recall: dict[int, Tensor] = field(repr=False)
    precision: dict[int, Tensor] = field(repr=False)
    num_positives: dict[int, int] = field(repr=False)


def voc_evaluate(
    gt: Sequence[dict[str, Tensor]],
    detections: Sequence[dict[str, Tensor]],
    *,
    iou_threshold: float = 0.5,
    use_difficult: bool = False,
    method: str = "all",
) -> VOCResult:
    r"""Per-class AP and mAP by the Pascal VOC protocol.

    Args:
        gt: one dict per image: ``boxes`` ``(N, 4)`` xyxy float, ``labels`` ``(N,)`` int,
            optional ``difficult`` ``(N,)`` bool.
        detections: one dict per image (same order): ``boxes`` ``(M, 4)``, ``labels``
            ``(M,)``, ``scores`` ``(M,)`` (a detector's eval output).
        iou_threshold: least IoU of a true positive, in (0, 1]; a match needs
            :math:`\mathrm{IoU} \ge t` (the MATLAB devkit; py-faster-rcnn's copy uses ``>``).
        use_difficult: count difficult boxes as ordinary ones (VOC ignores them).
        method: ``"all"`` or ``"11point"``, see :func:`average_precision`.

    Returns:
        A :class:`VOCResult`. Classes are the labels present in ``gt`` or ``detections``.

    Raises:
        ShapeError, WrongTypeError, ValueRangeError: malformed inputs, named by image index and
            key (``detections[3]['boxes']``), lists of different lengths.

    Notes:
        Detections of a class are taken in decreasing score (ties: image order, then input
        order; the devkit's sort is not stable). Each is compared with every ground-truth box
        of its class in its image; with :math:`j^* = \arg\max_j \mathrm{IoU}_j`:

        - :math:`\mathrm{IoU}_{j^*} < t`: FP;
        - :math:`j^*` difficult: neither TP nor FP (the detection is dropped);
        - :math:`j^*` not yet matched: TP, and :math:`j^*` becomes matched; else FP.

        The devkit's "+1" pixel areas equal pixlearn's continuous areas after
        :func:`~pixlearn.data.formats.read_voc`'s conversion, so the IoUs agree.

    Example:
        >>> gt = [{"boxes": torch.tensor([[0.0, 0, 10, 10]]), "labels": torch.tensor([1])}]
        >>> det = [{"boxes": torch.tensor([[0.0, 0, 10, 10], [20.0, 20, 30, 30]]),
        ...         "labels": torch.tensor([1, 1]), "scores": torch.tensor([0.5, 0.9])}]
        >>> voc_evaluate(gt, det).map  # FP first, then TP: precision 1/2 at recall 1
        0.5

    References:
        Everingham, M. et al. "The Pascal Visual Object Classes (VOC) Challenge." IJCV 2010.
    """
    gts = _check_image_dicts(gt, "gt", with_scores=False)
    dets = _check_image_dicts(detections, "detections", with_scores=True)
    if len(gts) != len(dets):
        raise ShapeError(
            f"gt and detections must list the same images, got {len(gts)} and {len(dets)}"
        )
    t = check_range(iou_threshold, "iou_threshold", 0.0, 1.0, low_inclusive=False)
    check_choice(method, "method", AP_METHODS)
    labels = set()
    for d in (*gts, *dets):
        labels.update(d["labels"].tolist())
    result = VOCResult({}, math.nan, {}, {}, {})
    for c in sorted(labels):
        # per image: IoU of this class's detections with this class's ground truth
        scores, best_iou, best_gt, gt_hard, n_pos = [], [], [], [], 0
        for img, (g, d) in enumerate(zip(gts, dets, strict=True)):
            gm, dm = g["labels"] == c, d["labels"] == c
            gb, hard = g["boxes"][gm], g["difficult"][gm]
            if use_difficult:
                hard = torch.zeros_like(hard)
            n_pos += int((~hard).sum())
            db = d["boxes"][dm].to(torch.float64)
            scores.append(d["scores"][dm].to(torch.float64))
            if gb.shape[0] == 0:
                best_iou.append(db.new_zeros(db.shape[0]))
                best_gt.append(torch.full((db.shape[0],), -1, dtype=torch.long))
                gt_hard.append(torch.zeros(db.shape[0], dtype=torch.bool))
                continue
            iou = _pairwise_iou(db, gb.to(torch.float64).to(db.device))  # (M_c, N_c)
            ov, j = iou.max(1)  # best ground truth per detection (first on ties)
            best_iou.append(ov)
            # a global id for (image, gt box) so one sort handles the whole data set
            best_gt.append((j + img * (1 << 32)).cpu())
            gt_hard.append(hard.to(j.device)[j].cpu())
        score = torch.cat(scores).cpu()
        order = torch.argsort(score, descending=True, stable=True)  # (M,)
        ov = torch.cat(best_iou).cpu()[order]
        key, hard = torch.cat(best_gt)[order], torch.cat(gt_hard)[order]
        hit = ov >= t
        keep = ~(hit & hard)  # a hit on a difficult box is neither TP nor FP
        hit, key = hit[keep], key[keep]
        # TP: the first (highest-scored) hit on each ground-truth box; later hits are FP
        tp = torch.zeros_like(hit)
        if bool(hit.any()):
            idx = hit.nonzero()[:, 0]  # ranks of the hits, increasing
            uniq, inverse = torch.unique(key[idx], return_inverse=True)
            first = torch.full((uniq.numel(),), hit.numel(), dtype=torch.long)
            first = first.scatter_reduce(0, inverse, idx, reduce="amin")
            tp[first] = True
        tp_cum = tp.cumsum(0).to(torch.float64)  # (M',)
        fp_cum = (~tp).cumsum(0).to(torch.float64)
        # precision_k = TP_k / (TP_k + FP_k), recall_k = TP_k / N_gt
        precision = tp_cum / (tp_cum + fp_cum).clamp(min=1)
        recall = tp_cum / max(n_pos, 1)
        result.recall[c], result.precision[c], result.num_positives[c] = recall, precision, n_pos
        result.ap[c] = (
            float(average_precision(recall, precision, method=method)) if n_pos else (math.nan)
        )
    valid = [a for a in result.ap.values() if not math.isnan(a)]
    result.map = sum(valid) / len(valid) if valid else math.nan
    return result
