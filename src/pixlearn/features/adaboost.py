"""AdaBoost with decision stumps, as the stages of an attentional cascade (Viola & Jones).

A stump thresholds one feature; AdaBoost picks, round after round, the stump of least weighted
error, gives it the vote :math:`\\alpha = \\log(1/\\beta)` with :math:`\\beta = e / (1 - e)`, and
down-weights the samples it classified correctly. A cascade stage then lowers its threshold until
it keeps the wanted fraction of the positives.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

__all__ = ["best_stump", "boosted_stage"]


def best_stump(
    values_sorted: Tensor, order: Tensor, weights: Tensor, labels: Tensor
) -> tuple[int, float, int, float]:
    """The stump of least weighted error over all features (values pre-sorted per feature).

    Returns ``(feature, threshold, polarity, error)``; the stump says "face" when
    ``polarity * x < polarity * threshold``.
    """
    wp = (weights * labels)[order]  # (F, N) positive weights in sorted order
    wn = (weights * (1 - labels))[order]  # (F, N)
    s_pos, s_neg = wp.cumsum(1), wn.cumsum(1)  # weight at or below each split
    t_pos, t_neg = s_pos[:, -1:], s_neg[:, -1:]
    # polarity +1 (faces below): errors are negatives below + positives above
    e_below = s_neg + (t_pos - s_pos)
    # polarity -1 (faces above): positives below + negatives above
    e_above = s_pos + (t_neg - s_neg)
    err = torch.minimum(e_below, e_above)  # (F, N): split after sorted position j
    # splitting between equal values is impossible: forbid those positions
    same = torch.zeros_like(err, dtype=torch.bool)
    same[:, :-1] = values_sorted[:, 1:] == values_sorted[:, :-1]
    err = err.masked_fill(same, math.inf)
    flat = int(err.argmin())
    f, j = divmod(flat, err.shape[1])
    pol = 1 if e_below[f, j] <= e_above[f, j] else -1
    v = values_sorted[f]
    thr = float(v[j] + v[j + 1]) / 2 if j + 1 < v.numel() else float(v[j]) + 1e-3
    return f, thr, pol, float(err[f, j])


def boosted_stage(
    feats: Tensor,
    labels: Tensor,
    *,
    max_features: int,
    detection_rate: float,
    false_positive_rate: float,
) -> dict[str, Any]:
    """One AdaBoost stage of a cascade on the feature matrix ``(N, F)``; labels 1 face / 0 other.

    Stumps are added (AdaBoost with the weight update ``w <- w beta^(1 - e)``) until the stage,
    its threshold lowered so that it keeps ``detection_rate`` of the faces, passes at most
    ``false_positive_rate`` of the others, or ``max_features`` stumps are in it.

    Returns:
        ``{"feature": (T,) int64, "threshold", "polarity", "alpha": (T,) float64,
        "stage_threshold": float}``.

    Example:
        >>> x = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
        >>> st = boosted_stage(x, torch.tensor([1, 1, 0, 0]), max_features=1,
        ...                    detection_rate=1.0, false_positive_rate=0.5)
        >>> st["feature"].tolist(), st["threshold"].tolist(), st["polarity"].tolist()
        ([0], [1.5], [1.0])
    """
    n_pos = float(labels.sum())
    n_neg = labels.numel() - n_pos
    lab = labels.to(torch.float64)
    # w_i = 1/(2P) for faces, 1/(2N) for non-faces
    weights = torch.where(labels.bool(), 1 / (2 * n_pos), 1 / (2 * n_neg)).to(torch.float64)
    values_sorted, order = feats.T.sort(1)  # (F, N) each
    picks: list[tuple[int, float, int, float]] = []
    score = torch.zeros(labels.numel(), dtype=torch.float64)
    stage_thr = 0.0
    for _ in range(max_features):
        weights = weights / weights.sum()
        f, thr, pol, err = best_stump(values_sorted, order, weights, lab)
        err = min(max(err, 1e-10), 1 - 1e-10)
        # beta = e / (1 - e), alpha = log(1 / beta)
        beta = err / (1 - err)
        alpha = math.log(1 / beta)
        h = (pol * feats[:, f] < pol * thr).to(torch.float64)  # (N,)
        # correctly classified samples are down-weighted: w <- w beta^(1 - e_i)
        weights = weights * torch.where(h == lab, beta, 1.0)
        score = score + alpha * h
        picks.append((f, thr, pol, alpha))
        # lower the stage threshold until the detection target holds on the faces
        pos_scores = score[labels.bool()].sort().values
        k = math.floor((1 - detection_rate) * pos_scores.numel())
        stage_thr = float(pos_scores[k]) - 1e-9
        fp = float((score[~labels.bool()] >= stage_thr).double().mean())
        if fp <= false_positive_rate:
            break
    return {
        "feature": torch.tensor([p[0] for p in picks], dtype=torch.int64),
        "threshold": torch.tensor([p[1] for p in picks], dtype=torch.float64),
        "polarity": torch.tensor([p[2] for p in picks], dtype=torch.float64),
        "alpha": torch.tensor([p[3] for p in picks], dtype=torch.float64),
        "stage_threshold": stage_thr,
    }
