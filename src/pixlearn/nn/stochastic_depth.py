"""Stochastic depth: drop whole residual branches at random while training."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from pixlearn._core.check import check_choice, check_range

__all__ = ["StochasticDepth", "stochastic_depth"]


def stochastic_depth(
    x: Tensor,
    p: float,
    *,
    training: bool = True,
    mode: str = "row",
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Zero ``x`` per sample (``"row"``) or for the whole batch (``"batch"``) with probability p.

    Args:
        x: the residual branch's output, ``(B, ...)``.
        p: drop probability in ``[0, 1]``.
        training: identity when ``False`` (evaluation).
        mode: ``"row"`` draws one keep/drop per sample, ``"batch"`` one for the batch.
        generator: random source.

    Returns:
        ``x * m / (1 - p)`` with :math:`m \sim \text{Bernoulli}(1 - p)`, same shape.

    Notes:
        The survivors are rescaled by :math:`1/(1-p)` so the expectation is unchanged:
        :math:`E[y] = x`, and evaluation uses the full network without rescaling.

    Example:
        >>> x = torch.ones(4, 3)
        >>> torch.equal(stochastic_depth(x, 0.5, training=False), x)
        True

    References:
        Huang, G. et al. "Deep networks with stochastic depth." ECCV 2016.
    """
    check_range(p, "p", 0.0, 1.0)
    check_choice(mode, "mode", ("row", "batch"))
    if not training or p == 0.0:
        return x
    keep = 1.0 - p
    shape = [x.shape[0]] + [1] * (x.dim() - 1) if mode == "row" else [1] * x.dim()
    mask = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(keep, generator=generator)
    if keep > 0.0:
        mask = mask / keep
    return x * mask


class StochasticDepth(nn.Module):
    """Module form of :func:`stochastic_depth`; active only in training mode."""

    def __init__(self, p: float, mode: str = "row") -> None:
        super().__init__()
        self.p = check_range(p, "p", 0.0, 1.0)
        self.mode = check_choice(mode, "mode", ("row", "batch"))

    def forward(self, x: Tensor) -> Tensor:
        return stochastic_depth(x, self.p, training=self.training, mode=self.mode)

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"
