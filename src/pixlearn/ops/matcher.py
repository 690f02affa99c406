r"""Matching predictions (anchors, proposals) to ground-truth boxes by IoU thresholds.

Each prediction is assigned the ground-truth box it overlaps most, and is then labelled by
that best IoU: a foreground match, background, or "ignore" in between (neither a positive nor
a negative training example). This is the assignment rule of Faster R-CNN's RPN and box head.
"""

from __future__ import annotations

import torch
from torch import Tensor

from pixlearn._core.check import check_finite, check_range, check_tensor
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = ["Matcher"]


class Matcher:
    r"""Assign each prediction the index of its best ground-truth box, or -1 / -2.

    Args:
        high_threshold: a best IoU ``>= high_threshold`` is a match (finite).
        low_threshold: a best IoU ``< low_threshold`` is background, ``-1``; a best IoU in
            ``[low_threshold, high_threshold)`` is ignored, ``-2``. Must be
            ``<= high_threshold``; equal thresholds leave no ignore band.
        allow_low_quality_matches: also match, for every ground-truth box, the predictions
            that overlap it most (all of them when several tie), even below
            ``low_threshold``, so that no ground truth is left without a prediction (Faster
            R-CNN's rule (i) for RPN anchors).

    Notes:
        For an IoU matrix :math:`Q \in \mathbb{R}^{M \times N}` (ground truth x predictions),
        :math:`m_j = \arg\max_i Q_{ij}` (the first, smallest :math:`i` on ties) and
        :math:`q_j = \max_i Q_{ij}`:

        .. math::
            \text{match}_j = \begin{cases}
                m_j & q_j \ge t_{high} \\
                -2  & t_{low} \le q_j < t_{high} \\
                -1  & q_j < t_{low}.
            \end{cases}

        With low-quality matches, every :math:`j` with :math:`Q_{ij} = \max_k Q_{ik}` for some
        :math:`i` gets :math:`m_j` back: its own best ground truth, which is :math:`i` unless
        another ground truth overlaps :math:`j` as much or more. As in torchvision and
        Detectron2, a ground truth that overlaps no prediction at all (its best IoU is 0)
        restores every prediction with IoU 0 to it; anchors that cover the image avoid this.
        Boundaries and tie rules are those of torchvision's ``Matcher``.

    Example:
        >>> iou = torch.tensor([[0.9, 0.5, 0.1, 0.35],
        ...                     [0.2, 0.6, 0.3, 0.0]])
        >>> Matcher(0.7, 0.3)(iou)
        tensor([ 0, -2, -2, -2])
        >>> Matcher(0.7, 0.4)(iou)
        tensor([ 0, -2, -1, -1])
        >>> Matcher(0.7, 0.4, allow_low_quality_matches=True)(iou)
        tensor([ 0,  1, -1, -1])

    References:
        Ren, S., He, K., Girshick, R., Sun, J. "Faster R-CNN: Towards real-time object
        detection with region proposal networks." NeurIPS 2015, sec. 3.1.2.
    """

    #: label of a prediction whose best IoU is below ``low_threshold`` (background)
    BELOW_LOW_THRESHOLD = -1
    #: label of a prediction whose best IoU is in ``[low_threshold, high_threshold)`` (ignore)
    BETWEEN_THRESHOLDS = -2

    def __init__(
        self,
        high_threshold: float,
        low_threshold: float,
        allow_low_quality_matches: bool = False,
    ) -> None:
        self.high_threshold = check_range(high_threshold, "high_threshold")
        self.low_threshold = check_range(low_threshold, "low_threshold")
        if self.low_threshold > self.high_threshold:
            raise ValueRangeError(
                f"low_threshold must be <= high_threshold ({high_threshold!r}), "
                f"got {low_threshold!r}"
            )
        if not isinstance(allow_low_quality_matches, bool):
            raise WrongTypeError(
                f"allow_low_quality_matches must be a bool, got {allow_low_quality_matches!r}"
            )
        self.allow_low_quality_matches = allow_low_quality_matches

    def __repr__(self) -> str:
        return (
            f"Matcher(high_threshold={self.high_threshold}, low_threshold={self.low_threshold}, "
            f"allow_low_quality_matches={self.allow_low_quality_matches})"
        )

    def __call__(self, iou_matrix: Tensor) -> Tensor:
        """Match the predictions (columns) of ``iou_matrix`` to its ground truths (rows).

        Args:
            iou_matrix: ``iou[i, j]`` between ground truth ``i`` and prediction ``j``, shape
                ``(M, N)``, float, finite (usually :func:`pixlearn.ops.box_iou` of the ground
                truth and the predictions; any match quality where larger is better works).

        Returns:
            Shape ``(N,)`` int64 on the device of ``iou_matrix``: the matched ground-truth
            index in ``[0, M)``, ``-1`` (background) or ``-2`` (ignore). With no ground truth
            (``M == 0``) every prediction is background, ``-1``; with no predictions
            (``N == 0``) the result is empty. (torchvision raises on both.)

        Shape:
            ``(M, N) -> (N,)``.

        Raises:
            WrongTypeError: not a floating tensor.
            ShapeError: not 2-D.
            ValueRangeError: NaN or Inf values.
        """
        check_tensor(iou_matrix, "iou_matrix")
        if not iou_matrix.is_floating_point():
            raise WrongTypeError(
                f"iou_matrix must be a floating-point tensor, got {iou_matrix.dtype}"
            )
        if iou_matrix.dim() != 2:
            raise ShapeError(
                f"iou_matrix must have shape (M ground truth, N predictions), "
                f"got shape {tuple(iou_matrix.shape)}"
            )
        check_finite(iou_matrix, "iou_matrix")
        m, n = iou_matrix.shape
        if m == 0 or n == 0:
            background = self.BELOW_LOW_THRESHOLD
            return torch.full((n,), background, dtype=torch.int64, device=iou_matrix.device)
        # q_j = max_i Q_ij and m_j = its first argmax: the best ground truth of each prediction
        best_iou, best_gt = iou_matrix.max(dim=0)  # (N,), (N,)
        matches = best_gt.clone()
        matches[best_iou < self.low_threshold] = self.BELOW_LOW_THRESHOLD
        between = (best_iou >= self.low_threshold) & (best_iou < self.high_threshold)
        matches[between] = self.BETWEEN_THRESHOLDS
        if self.allow_low_quality_matches:
            # every prediction that reaches max_k Q_ik for some ground truth i (all ties)
            best_per_gt = iou_matrix.max(dim=1).values  # (M,)
            is_best = (iou_matrix == best_per_gt[:, None]).any(dim=0)  # (N,)
            matches = torch.where(is_best, best_gt, matches)
        return matches
