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

__all__ = ["best_regression_stump", "best_stump", "boosted_stage"]


def _tie_mask(values_sorted: Tensor) -> Tensor:
    """``(F, N)`` bool: True where a split would fall between two equal values."""
    same = torch.zeros(values_sorted.shape, dtype=torch.bool)
    same[:, :-1] = values_sorted[:, 1:] == values_sorted[:, :-1]
    return same


def best_stump(
    values_sorted: Tensor,
    order: Tensor,
    weights: Tensor,
    labels: Tensor,
    *,
    ties: Tensor | None = None,
) -> tuple[int, float, int, float]:
    """The stump of least weighted error over all features (values pre-sorted per feature).

    Args:
        values_sorted: ``(F, N)`` feature values, each row sorted increasingly.
        order: ``(F, N)`` int64, the sample index of each sorted value.
        weights: ``(N,)`` sample weights summing to 1.
        labels: ``(N,)`` 1 for a positive, 0 for a negative.
        ties: the mask of :func:`_tie_mask` (computed here when ``None``; a stage computes it
            once for all its rounds).

    Returns:
        ``(feature, threshold, polarity, error)``; the stump says "face" when
        ``polarity * x < polarity * threshold``.

    Notes:
        Splitting feature :math:`f` after its :math:`j`-th smallest value, with :math:`S^+_j,
        S^-_j` the positive / negative weight at or below the split and :math:`T^+` the total
        positive weight, polarity +1 (faces below) errs by :math:`e = S^-_j + T^+ - S^+_j`;
        polarity -1 errs by :math:`1 - e`. One cumulative sum of :math:`w^- - w^+` gives all
        :math:`F N` errors at once.
    """
    # signed weight: +w for a negative, -w for a positive, in each feature's sorted order
    signed = (weights * (1 - 2 * labels))[order]  # (F, N)
    t_pos = float((weights * labels).sum())
    # e_below = S^-_j - S^+_j + T^+ (polarity +1), e_above = 1 - e_below (polarity -1), so the
    # error min(e_below, 1 - e_below) = 1/2 - |e_below - 1/2|: the best split maximises
    # dev = |e_below - 1/2| (computed in place, the (F, N) arrays are the large ones)
    dev = signed.cumsum(1).add_(t_pos - 0.5)  # (F, N): e_below - 1/2
    dev.abs_()
    # splitting between equal values is impossible: forbid those positions
    dev.masked_fill_(_tie_mask(values_sorted) if ties is None else ties, -1.0)
    flat = int(dev.argmax())
    f, j = divmod(flat, dev.shape[1])
    err = 0.5 - float(dev[f, j])
    # polarity +1 when e_below <= 1/2 at the chosen split (one row re-summed for the sign)
    pol = 1 if float(signed[f, : j + 1].sum()) + t_pos <= 0.5 else -1
    v = values_sorted[f]
    thr = float(v[j] + v[j + 1]) / 2 if j + 1 < v.numel() else float(v[j]) + 1e-3
    return f, thr, pol, err


def best_regression_stump(
    values_sorted: Tensor, order: Tensor, weights: Tensor, y: Tensor, *, ties: Tensor
) -> tuple[int, float, float, float]:
    r"""The regression stump of least weighted squared error (Gentle AdaBoost's weak learner).

    Args:
        values_sorted, order, ties: as :func:`best_stump`.
        weights: ``(N,)`` sample weights summing to 1.
        y: ``(N,)`` targets, +1 for a positive, -1 for a negative.

    Returns:
        ``(feature, threshold, a, b)``: the stump answers ``a`` below the threshold and ``b``
        above it, each the weighted mean of ``y`` on its side.

    Notes:
        With :math:`W_L, S_L` the weight and the weighted sum of :math:`y` at or below a split
        (:math:`W_R = 1 - W_L`, :math:`S_R = S - S_L` above it), the weighted squared error
        :math:`\sum_i w_i (y_i - f(x_i))^2 = 1 - S_L^2 / W_L - S_R^2 / W_R` is least where
        :math:`S_L^2 / W_L + S_R^2 / W_R` is largest; cumulative sums give it for all splits.
    """
    w = weights[order]  # (F, N)
    s_left = (weights * y)[order].cumsum(1)  # (F, N)
    w_left = w.cumsum(1)
    s_total = float((weights * y).sum())
    w_right = (1.0 - w_left).clamp_(min=1e-300)
    gain = s_left.square() / w_left.clamp(min=1e-300)
    gain.add_((s_total - s_left).square_().div_(w_right))
    gain.masked_fill_(ties, -1.0)
    gain[:, -1] = -1.0  # every sample on one side: a constant, not a split
    flat = int(gain.argmax())
    f, j = divmod(flat, gain.shape[1])
    wl, sl = float(w_left[f, j]), float(s_left[f, j])
    a, b = sl / max(wl, 1e-300), (s_total - sl) / max(1.0 - wl, 1e-300)
    v = values_sorted[f]
    return f, float(v[j] + v[j + 1]) / 2, a, b


def boosted_stage(
    feats: Tensor,
    labels: Tensor,
    *,
    max_features: int,
    detection_rate: float,
    false_positive_rate: float,
    threshold_slack: float = 0.0,
    boosting: str = "discrete",
) -> dict[str, Any]:
    """One AdaBoost stage of a cascade on the feature matrix ``(N, F)``; labels 1 face / 0 other.

    Stumps are added (AdaBoost with the weight update ``w <- w beta^(1 - e)``) until the stage,
    its threshold lowered so that it keeps ``detection_rate`` of the faces, passes at most
    ``false_positive_rate`` of the others, or ``max_features`` stumps are in it. A
    ``threshold_slack`` ``m > 0`` lowers the threshold further by ``m sum_t alpha_t``: a safety
    margin for faces not seen in training, paid for with more stumps.

    ``boosting="gentle"`` uses Gentle AdaBoost instead (Friedman, Hastie and Tibshirani 2000):
    each round fits the regression stump of :func:`best_regression_stump` to the targets
    :math:`y = \\pm 1` and updates :math:`w \\leftarrow w e^{-y f(x)}`; the stump answers
    :math:`a` or :math:`b`, kept as the vote :math:`|a - b|` on the side of the larger one
    (the constant :math:`\\min(a, b)` adds the same to every score, so the threshold chosen on
    the faces' scores absorbs it).

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
    is_pos = labels.bool()
    y = 2 * lab - 1  # +1 face, -1 other (Gentle AdaBoost's targets)
    # w_i = 1/(2P) for faces, 1/(2N) for non-faces
    weights = torch.where(is_pos, 1 / (2 * n_pos), 1 / (2 * n_neg)).to(torch.float64)
    values_sorted, order = feats.T.sort(1)  # (F, N) each
    ties = _tie_mask(values_sorted)  # (F, N), the same for every round
    picks: list[tuple[int, float, int, float]] = []
    score = torch.zeros(labels.numel(), dtype=torch.float64)
    stage_thr = 0.0
    for _ in range(max_features):
        weights = weights / weights.sum()
        if boosting == "gentle":
            f, thr, a, b = best_regression_stump(values_sorted, order, weights, y, ties=ties)
            # f(x) = b + (a - b) [x < thr]: a vote alpha = |a - b| on the side of the larger
            # answer (the constant part shifts every score alike and so drops out of the
            # stage threshold, which is chosen on the faces' scores)
            pol, alpha = (1, a - b) if a >= b else (-1, b - a)
            h = (pol * feats[:, f] < pol * thr).to(torch.float64)  # (N,)
            # w <- w exp(-y f(x))
            weights = weights * torch.exp(-y * torch.where(feats[:, f] < thr, a, b))
        else:
            f, thr, pol, err = best_stump(values_sorted, order, weights, lab, ties=ties)
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
        pos_scores = score[is_pos].sort().values
        k = math.floor((1 - detection_rate) * pos_scores.numel())
        stage_thr = float(pos_scores[k]) - 1e-9 - threshold_slack * sum(p[3] for p in picks)
        fp = float((score[~is_pos] >= stage_thr).double().mean())
        if fp <= false_positive_rate:
            break
    return {
        "feature": torch.tensor([p[0] for p in picks], dtype=torch.int64),
        "threshold": torch.tensor([p[1] for p in picks], dtype=torch.float64),
        "polarity": torch.tensor([p[2] for p in picks], dtype=torch.float64),
        "alpha": torch.tensor([p[3] for p in picks], dtype=torch.float64),
        "stage_threshold": stage_thr,
    }
