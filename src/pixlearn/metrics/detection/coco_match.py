r"""COCO's greedy detection-to-ground-truth matching, vectorised over all images and categories.

pycocotools matches one (image, category) group at a time in Python. Here every group is matched
at once: the (detection, ground truth) pairs of all groups sit in flat arrays, and the greedy
loop steps over the detection *rank* inside its group (0 .. maxDet - 1), which is the only
sequential part; all groups, all IoU thresholds and all area ranges advance together.

Notes:
    Within a group, detections are visited by descending score (stable). Detection :math:`d`
    at IoU threshold :math:`t` takes, among the ground truths still free (crowd regions are
    never used up) with :math:`\mathrm{IoU}(d, g) \ge \min(t, 1 - 10^{-10})`, the one of
    highest IoU (the last one on ties); ground truths that are not ignored (not crowd, area in
    range) are preferred, ignored ones are tried only when none of those fits. A detection
    matched to an ignored ground truth is ignored; an unmatched detection whose area is outside
    the range is ignored too.

References:
    Lin, T.-Y. et al. "Microsoft COCO: Common Objects in Context." ECCV 2014.
"""

from __future__ import annotations

import numpy as np

__all__ = ["box_iou_pairs", "match_detections", "sort_detections"]


def box_iou_pairs(
    det_box: np.ndarray,
    gt_box: np.ndarray,
    gt_crowd: np.ndarray,
    pair_det: np.ndarray,
    pair_gt: np.ndarray,
) -> np.ndarray:
    r"""IoU of ``[x, y, w, h]`` boxes for the listed pairs, as COCO computes it.

    Notes:
        :math:`\mathrm{IoU} = |D \cap G| / (|D| + |G| - |D \cap G|)`, with the union replaced by
        :math:`|D|` for a crowd ground truth. Evaluated in the same floating-point order as
        pycocotools' C code, so the doubles are identical.

    Example:
        >>> d = np.array([[0.0, 0.0, 2.0, 2.0]]); g = np.array([[1.0, 0.0, 2.0, 2.0]])
        >>> box_iou_pairs(d, g, np.array([False]), np.array([0]), np.array([0]))
        array([0.333...])
    """
    d, g = det_box[pair_det], gt_box[pair_gt]  # (P, 4) each
    # overlap width and height: min of the right edges minus max of the left edges
    w = np.minimum(d[:, 2] + d[:, 0], g[:, 2] + g[:, 0]) - np.maximum(d[:, 0], g[:, 0])
    h = np.minimum(d[:, 3] + d[:, 1], g[:, 3] + g[:, 1]) - np.maximum(d[:, 1], g[:, 1])
    overlap = (w > 0) & (h > 0)
    inter = w * h
    da, ga = d[:, 2] * d[:, 3], g[:, 2] * g[:, 3]
    union = np.where(gt_crowd[pair_gt], da, da + ga - inter)
    return np.where(overlap, inter / np.where(overlap, union, 1.0), 0.0)


def sort_detections(
    group: np.ndarray, score: np.ndarray, max_det: int
) -> tuple[np.ndarray, np.ndarray]:
    """Detections sorted by group then descending score (stable), cut to ``max_det`` per group.

    Returns:
        ``(order, rank)``: indices into the detections and each one's rank in its group.
    """
    order = np.lexsort((-score, group))  # lexsort is stable, like pycocotools' mergesort
    g = group[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if len(g) else np.zeros(0, np.int64)
    counts = np.diff(np.r_[starts, len(g)])
    rank = np.arange(len(g)) - np.repeat(starts, counts)
    keep = rank < max_det
    return order[keep], rank[keep]


def match_detections(
    det_group: np.ndarray,
    det_rank: np.ndarray,
    det_area: np.ndarray,
    gt_group: np.ndarray,
    gt_area: np.ndarray,
    gt_crowd: np.ndarray,
    iou_fn: object,
    iou_thresholds: np.ndarray,
    area_ranges: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy matching of all groups at once.

    Args:
        det_group: ``(D,)`` group key of each detection, sorted, ranks ascending inside a group.
        det_rank: ``(D,)`` rank of each detection inside its group.
        det_area: ``(D,)`` detection areas.
        gt_group: ``(G,)`` group key of each ground truth, sorted (file order inside a group).
        gt_area: ``(G,)`` the ground truths' ``area`` fields.
        gt_crowd: ``(G,)`` crowd flags.
        iou_fn: ``iou_fn(pair_det, pair_gt) -> (P,)`` IoU of the listed pairs.
        iou_thresholds: ``(T,)``.
        area_ranges: ``(A, 2)`` inclusive ``[lo, hi]`` area ranges.

    Returns:
        ``(matched, ignored, gt_ignored)``: ``(A, T, D)`` bool, ``(A, T, D)`` bool (dtIgnore)
        and ``(A, G)`` bool (gtIgnore).
    """
    n_det, n_gt = len(det_group), len(gt_group)
    lo, hi = area_ranges[:, 0:1], area_ranges[:, 1:2]  # (A, 1)
    gt_ign = gt_crowd[None] | (gt_area[None] < lo) | (gt_area[None] > hi)  # (A, G)
    thr = np.minimum(iou_thresholds, 1 - 1e-10)[None, :, None]  # (1, T, 1)
    a_n, t_n = len(area_ranges), len(iou_thresholds)
    matched = np.zeros((a_n, t_n, n_det), dtype=bool)
    via_ignored = np.zeros((a_n, t_n, n_det), dtype=bool)

    # every (detection, ground truth) pair of the same group, ordered by (rank, det, gt)
    g_lo = np.searchsorted(gt_group, det_group, "left")
    n_pairs = np.searchsorted(gt_group, det_group, "right") - g_lo  # (D,)
    total = int(n_pairs.sum())
    if total:
        by_rank = np.argsort(det_rank, kind="stable")
        np_sorted = n_pairs[by_rank]
        pair_det = np.repeat(by_rank, np_sorted)  # (P,)
        offsets = np.arange(total) - np.repeat(np.cumsum(np_sorted) - np_sorted, np_sorted)
        pair_gt = g_lo[pair_det] + offsets  # (P,)
        iou = iou_fn(pair_det, pair_gt)  # (P,)
        pair_rank = det_rank[pair_det]
        rank_bounds = np.searchsorted(pair_rank, np.arange(int(pair_rank[-1]) + 2))
        gt_used = np.zeros((a_n, t_n, n_gt), dtype=bool)
        for r in range(len(rank_bounds) - 1):
            s, e = rank_bounds[r], rank_bounds[r + 1]
            if s == e:
                continue
            _match_step(
                pair_det[s:e],
                pair_gt[s:e],
                iou[s:e],
                thr,
                gt_ign,
                gt_crowd,
                gt_used,
                matched,
                via_ignored,
            )
    # an unmatched detection outside the area range is ignored as well
    det_out = (det_area[None] < lo) | (det_area[None] > hi)  # (A, D)
    ignored = via_ignored | (~matched & det_out[:, None, :])
    return matched, ignored, gt_ign


def _match_step(
    pdet: np.ndarray,
    pgt: np.ndarray,
    piou: np.ndarray,
    thr: np.ndarray,
    gt_ign: np.ndarray,
    gt_crowd: np.ndarray,
    gt_used: np.ndarray,
    matched: np.ndarray,
    via_ignored: np.ndarray,
) -> None:
    """Match the detections of one rank (one per group) in every group, threshold and range."""
    n = len(pdet)
    starts = np.flatnonzero(np.r_[True, pdet[1:] != pdet[:-1]])  # one segment per detection
    counts = np.diff(np.r_[starts, n])
    pos = np.arange(n)
    # a ground truth is free if not used yet at this (range, threshold), or if it is a crowd
    free = ~gt_used[:, :, pgt] | gt_crowd[pgt]  # (A, T, n)
    fits = free & (piou >= thr)  # (A, T, n)
    ign = gt_ign[:, None, pgt]  # (A, 1, n)
    best = []
    for cand in (fits & ~ign, fits & ign):  # regular ground truths first, then ignored ones
        val = np.where(cand, piou, -1.0)
        top = np.maximum.reduceat(val, starts, axis=2)  # (A, T, ndet)
        at_top = cand & (val == np.repeat(top, counts, axis=2))
        # the last ground truth reaching the best IoU, as pycocotools' ``>=`` update keeps it
        best.append(np.maximum.reduceat(np.where(at_top, pos, -1), starts, axis=2))
    regular, ignored = best
    choice = np.where(regular >= 0, regular, ignored)  # (A, T, ndet) pair position or -1
    hit = choice >= 0
    dets = pdet[starts]
    matched[:, :, dets] = hit
    via_ignored[:, :, dets] = (regular < 0) & hit
    ai, ti, di = np.nonzero(hit)
    gt_used[ai, ti, pgt[choice[ai, ti, di]]] = True
