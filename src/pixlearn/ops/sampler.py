r"""Balanced sampling of positive and negative training examples for a detector.

An image yields thousands of anchors, almost all background. Training on all of them would let
the easy negatives dominate the loss, so each image contributes a fixed-size mini-batch with at
most a given fraction of positives, the rest filled with negatives (Faster R-CNN: 256 anchors,
up to half positive; Fast R-CNN: 128 RoIs, up to a quarter positive).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from pixlearn._core.check import check_int, check_range, check_tensor
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = ["BalancedSampler"]


class BalancedSampler:
    r"""Pick at most ``batch_size_per_image`` examples per image, balanced positives/negatives.

    Args:
        batch_size_per_image: the most examples sampled from one image, >= 0.
        positive_fraction: the largest share of positives in that sample, in ``[0, 1]``.

    Notes:
        The input is the output of :class:`pixlearn.ops.Matcher`: an index ``>= 0`` is a
        positive, ``-1`` a negative (background), ``-2`` ignored (never sampled). (torchvision's
        sampler takes labels instead, ``>= 1`` positive, ``0`` negative, ``-1`` ignored.) With
        :math:`B` the batch size, :math:`f` the fraction and :math:`P, N` the numbers of
        positives and negatives available in an image:

        .. math::
            n_+ = \min(P, \lfloor B f \rfloor), \qquad n_- = \min(N, B - n_+),

        and each set is a uniformly random subset of that size (the first entries of a random
        permutation), so every subset of positives (negatives) is equally likely.

    Example:
        >>> matched = [torch.tensor([0, -1, -1, 2, -2, -1, -1, 1])]
        >>> pos, neg = BalancedSampler(4, 0.25)(matched, generator=torch.Generator().manual_seed(0))
        >>> int(pos[0].sum()), int(neg[0].sum()), bool((pos[0] | neg[0])[4])
        (1, 3, False)

    References:
        Ren, S., He, K., Girshick, R., Sun, J. "Faster R-CNN: Towards real-time object
        detection with region proposal networks." NeurIPS 2015, sec. 3.1.3.
    """

    def __init__(self, batch_size_per_image: int, positive_fraction: float) -> None:
        self.batch_size_per_image = check_int(
            batch_size_per_image, "batch_size_per_image", min_value=0
        )
        self.positive_fraction = check_range(positive_fraction, "positive_fraction", 0.0, 1.0)

    def __repr__(self) -> str:
        return (
            f"BalancedSampler(batch_size_per_image={self.batch_size_per_image}, "
            f"positive_fraction={self.positive_fraction})"
        )

    def __call__(
        self, matched_idxs: Sequence[Tensor], generator: torch.Generator | None = None
    ) -> tuple[list[Tensor], list[Tensor]]:
        """Sample positives and negatives in each image.

        Args:
            matched_idxs: one ``(N_i,)`` integer tensor per image, values ``>= -2``
                (a :class:`pixlearn.ops.Matcher` result).
            generator: the source of randomness; the same seeded generator gives the same
                sample. Its device is used for the random permutations (the indices are then
                moved to the device of the input).

        Returns:
            ``(pos_masks, neg_masks)``: two lists with one ``(N_i,)`` bool mask per image, on
            the device of that image's input; the two masks never overlap and are ``False``
            at every ignored (``-2``) entry.

        Raises:
            WrongTypeError: ``matched_idxs`` not a list/tuple of integer tensors.
            ShapeError: an entry that is not 1-D (the entry is named).
            ValueRangeError: a value below -2 (the entry is named).
        """
        if isinstance(matched_idxs, Tensor) or not isinstance(matched_idxs, (list, tuple)):
            raise WrongTypeError(
                f"matched_idxs must be a list of (N_i,) integer tensors, one per image, "
                f"got {type(matched_idxs).__name__}"
            )
        if generator is not None and not isinstance(generator, torch.Generator):
            raise WrongTypeError(
                f"generator must be a torch.Generator or None, got {type(generator).__name__}"
            )
        num_pos_max = int(self.batch_size_per_image * self.positive_fraction)
        pos_masks, neg_masks = [], []
        for i, matched in enumerate(matched_idxs):
            name = f"matched_idxs[{i}]"
            check_tensor(matched, name)
            if matched.is_floating_point() or matched.is_complex() or matched.dtype == torch.bool:
                raise WrongTypeError(f"{name} must be an integer tensor, got {matched.dtype}")
            if matched.dim() != 1:
                raise ShapeError(f"{name} must have shape (N,), got shape {tuple(matched.shape)}")
            if matched.numel() and int(matched.min()) < -2:
                raise ValueRangeError(
                    f"{name} must hold match indices >= 0, -1 (background) or -2 (ignore), "
                    f"got {int(matched.min())}"
                )
            positive = torch.nonzero(matched >= 0).flatten()  # (P,)
            negative = torch.nonzero(matched == -1).flatten()  # (N,)
            # n+ = min(P, floor(B f)),  n- = min(N, B - n+)
            num_pos = min(positive.numel(), num_pos_max)
            num_neg = min(negative.numel(), self.batch_size_per_image - num_pos)
            pos_masks.append(self._mask(positive, num_pos, matched, generator))
            neg_masks.append(self._mask(negative, num_neg, matched, generator))
        return pos_masks, neg_masks

    @staticmethod
    def _mask(
        candidates: Tensor, k: int, matched: Tensor, generator: torch.Generator | None
    ) -> Tensor:
        """A bool mask over ``matched`` with ``k`` uniformly chosen ``candidates`` set."""
        device = generator.device if generator is not None else matched.device
        perm = torch.randperm(candidates.numel(), generator=generator, device=device)[:k]
        mask = torch.zeros(matched.shape, dtype=torch.bool, device=matched.device)  # (N_i,)
        mask[candidates[perm.to(matched.device)]] = True
        return mask
