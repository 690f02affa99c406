r"""COCO accumulation: precision at 101 recall points and recall, per category, area and maxDet.

Notes:
    For one category, the detections of all images are sorted by descending score (stable:
    image order, then rank), true and false positives are summed cumulatively,
    :math:`\mathrm{rc}_i = TP_i / N_{gt}` and
    :math:`\mathrm{pr}_i = TP_i / (TP_i + FP_i + \epsilon)`.
    Precision is made monotone, :math:`\mathrm{pr}_i \leftarrow \max_{j \ge i} \mathrm{pr}_j`,
    and read at the recall points :math:`r \in \{0, 0.01, \dots, 1\}` at the first index with
    :math:`\mathrm{rc}_i \ge r` (0 past the last detection). AP is the mean over recall points,
    thresholds and categories; -1 marks a setting without ground truth.

References:
    Lin, T.-Y. et al. "Microsoft COCO: Common Objects in Context." ECCV 2014.
"""

from __future__ import annotations

import numpy as np

__all__ = ["accumulate", "summarize"]


def accumulate(
    det_category: np.ndarray,
    det_image: np.ndarray,
    det_rank: np.ndarray,
    det_score: np.ndarray,
    tp: np.ndarray,
    fp: np.ndarray,
    n_positive: np.ndarray,
    recall_thresholds: np.ndarray,
    max_dets: list[int],
) -> tuple[np.ndarray, np.ndarray]:
    """Precision ``(T, R, K, A, M)`` and recall ``(T, K, A, M)`` arrays, as ``COCOeval.eval``.

    Args:
        det_category: ``(D,)`` category index of each kept detection.
        det_image: ``(D,)`` image index (images in ascending id order).
        det_rank: ``(D,)`` rank inside its (image, category) group.
        det_score: ``(D,)`` scores.
        tp: ``(A, T, D)`` bool, matched and not ignored.
        fp: ``(A, T, D)`` bool, unmatched and not ignored.
        n_positive: ``(K, A)`` number of ground truths that are not ignored.
        recall_thresholds: ``(R,)``.
        max_dets: ``M`` sorted detection limits per image.
    """
    a_n, t_n, _ = tp.shape
    k_n, r_n, m_n = n_positive.shape[0], len(recall_thresholds), len(max_dets)
    precision = -np.ones((t_n, r_n, k_n, a_n, m_n))
    recall = -np.ones((t_n, k_n, a_n, m_n))
    # one sort for everything: category, then descending score, then image, then rank
    order = np.lexsort((det_rank, det_image, -det_score, det_category))
    cat_sorted = det_category[order]
    bounds = np.searchsorted(cat_sorted, np.arange(k_n + 1))
    rows = np.arange(a_n * t_n)
    for k in range(k_n):
        npig = n_positive[k]  # (A,)
        valid = npig > 0
        if not valid.any():
            continue
        seg = order[bounds[k] : bounds[k + 1]]
        # recall values reachable with v true positives: v / npig, computed as rc below is
        denom = np.where(valid, npig, 1).astype(np.float64)
        for m, max_det in enumerate(max_dets):
            idx = seg[det_rank[seg] < max_det]
            n = len(idx)
            if n == 0:
                recall[:, k, valid, m] = 0.0
                precision[:, :, k, valid, m] = 0.0
                continue
            tp_int = np.cumsum(tp[:, :, idx], axis=2)  # (A, T, n) int
            tp_sum = tp_int.astype(np.float64)
            fp_sum = np.cumsum(fp[:, :, idx], axis=2).astype(np.float64)
            # rc = TP / N_gt, pr = TP / (FP + TP + eps)
            rc_last = tp_sum[:, :, -1] / denom[:, None]  # (A, T)
            pr = tp_sum / (fp_sum + tp_sum + np.spacing(1))
            # monotone precision: the running max from the right
            pr = np.maximum.accumulate(pr[:, :, ::-1], axis=2)[:, :, ::-1]
            q = _sample(
                tp_int.reshape(a_n * t_n, n),
                pr.reshape(a_n * t_n, n),
                npig,
                t_n,
                recall_thresholds,
                rows,
            )  # (A*T, R)
            q = q.reshape(a_n, t_n, r_n)
            recall[:, k, valid, m] = rc_last[valid].T
            precision[:, :, k, valid, m] = q[valid].transpose(1, 2, 0)
    return precision, recall


def _sample(
    tp_int: np.ndarray,
    pr: np.ndarray,
    npig: np.ndarray,
    t_n: int,
    recall_thresholds: np.ndarray,
    rows: np.ndarray,
) -> np.ndarray:
    """``pr`` at the first index where ``tp / npig >= r`` for every recall point ``r``."""
    n = tp_int.shape[1]
    # the least v with v / npig >= r (same float division as the recall values themselves)
    need = np.empty((len(npig), len(recall_thresholds)), dtype=np.int64)  # (A, R)
    for a, npg in enumerate(npig.tolist()):
        vals = np.arange(max(npg, 0) + 1, dtype=np.float64) / max(npg, 1)
        need[a] = np.searchsorted(vals, recall_thresholds, side="left")
    need = np.minimum(np.repeat(need, t_n, axis=0), n + 1)  # (A*T, R)
    # rows are nondecreasing integers <= n; shift row j by j * (n + 2) to search all at once
    shift = (rows * (n + 2))[:, None]
    flat = (tp_int + shift).ravel()
    idx = np.searchsorted(flat, (need + shift).ravel(), side="left").reshape(need.shape)
    idx -= (rows * n)[:, None]
    inside = idx < n
    return np.where(inside, np.take_along_axis(pr, np.minimum(idx, n - 1), axis=1), 0.0)


def summarize(
    precision: np.ndarray,
    recall: np.ndarray,
    iou_thresholds: np.ndarray,
    area_labels: list[str],
    max_dets: list[int],
) -> tuple[np.ndarray, list[str]]:
    """The 12 standard numbers and their printed lines, with pycocotools' ``summarize`` rules.

    Entries whose setting does not exist (a missing area label, maxDet or threshold) are -1.
    """
    lines: list[str] = []

    def one(ap: bool, iou: float | None = None, area: str = "all", md: int = 100) -> float:
        aind = [i for i, lbl in enumerate(area_labels) if lbl == area]
        mind = [i for i, m in enumerate(max_dets) if m == md]
        s = precision if ap else recall
        if iou is not None:
            s = s[np.where(iou == iou_thresholds)[0]]
        s = s[:, :, :, aind, mind] if ap else s[:, :, aind, mind]
        mean_s = -1.0 if len(s[s > -1]) == 0 else float(np.mean(s[s > -1]))
        title = "Average Precision" if ap else "Average Recall"
        iou_str = (
            f"{iou_thresholds[0]:0.2f}:{iou_thresholds[-1]:0.2f}" if iou is None else f"{iou:0.2f}"
        )
        lines.append(
            f" {title:<18} {'(AP)' if ap else '(AR)'} @[ IoU={iou_str:<9} | area={area:>6s} "
            f"| maxDets={md:>3d} ] = {mean_s:0.3f}"
        )
        return mean_s

    md = [max_dets[i] if i < len(max_dets) else -1 for i in range(3)]
    stats = np.array(
        [
            one(True),
            one(True, 0.5, md=md[2]),
            one(True, 0.75, md=md[2]),
            one(True, area="small", md=md[2]),
            one(True, area="medium", md=md[2]),
            one(True, area="large", md=md[2]),
            one(False, md=md[0]),
            one(False, md=md[1]),
            one(False, md=md[2]),
            one(False, area="small", md=md[2]),
            one(False, area="medium", md=md[2]),
            one(False, area="large", md=md[2]),
        ]
    )
    return stats, lines
