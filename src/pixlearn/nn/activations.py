"""Activations: ReLU, leaky ReLU, sigmoid and tanh (torch's), and Maxout."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn
from torch.nn import LeakyReLU, ReLU, Sigmoid, SiLU, Tanh

from pixlearn._core.check import check_choice, check_int, check_tensor
from pixlearn._core.errors import ShapeError

__all__ = [
    "LeakyReLU",
    "Maxout",
    "ReLU",
    "SiLU",
    "Sigmoid",
    "Tanh",
    "get_act_layer",
    "maxout",
]

_ACTS: dict[str, Callable[..., nn.Module]] = {
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "silu": SiLU,
    "swish": SiLU,
    "gelu": nn.GELU,
    "identity": nn.Identity,
}


def get_act_layer(name: str) -> Callable[..., nn.Module]:
    """The activation class for a name a user can type (``"relu"``, ``"leaky_relu"``, ...).

    Example:
        >>> get_act_layer("tanh")()(torch.zeros(1))
        tensor([0.])
    """
    return _ACTS[check_choice(name, "name", tuple(_ACTS))]


def maxout(x: Tensor, pieces: int, *, dim: int = 1) -> Tensor:
    r"""Maxout: the maximum over groups of ``pieces`` consecutive features along ``dim``.

    Args:
        x: pre-activations; ``x.shape[dim]`` must be a multiple of ``pieces``.
        pieces: number of linear pieces k per output unit.
        dim: the feature dimension (channels are ``1`` for ``(B, C, H, W)``).

    Returns:
        ``x`` with ``x.shape[dim] // pieces`` features along ``dim``.

    Notes:
        :math:`h_i = \max_{j \in [1, k]} z_{ik}` with :math:`z = W x + b` computed by the
        preceding layer: a learned, piecewise-linear convex activation (ReLU is the case
        :math:`k = 2` with one piece fixed at 0).

    Example:
        >>> maxout(torch.tensor([[1.0, 3.0, -2.0, -5.0]]), 2)
        tensor([[ 3., -2.]])

    References:
        Goodfellow, I. et al. "Maxout networks." ICML 2013.
    """
    check_tensor(x, "x")
    k = check_int(pieces, "pieces", min_value=1)
    d = dim % x.dim() if x.dim() else 0
    n = x.shape[d] if x.dim() else 0
    if x.dim() == 0 or n % k:
        raise ShapeError(
            f"x must have a multiple of pieces={k} features along dim {dim}, "
            f"got shape {tuple(x.shape)}"
        )
    # (..., n, ...) -> (..., n / k, k, ...) then max over the k pieces
    grouped = x.unflatten(d, (n // k, k))
    return grouped.amax(dim=d + 1)


class Maxout(nn.Module):
    """A linear (or 1x1-conv) layer to ``out_features * pieces`` units followed by :func:`maxout`.

    Args:
        in_features: input features (channels for ``conv=True``).
        out_features: output units.
        pieces: linear pieces per unit.
        conv: use a 1x1 convolution on ``(B, C, H, W)`` maps instead of a linear layer.

    Example:
        >>> Maxout(8, 4, pieces=3)(torch.rand(2, 8)).shape
        torch.Size([2, 4])
    """

    def __init__(
        self, in_features: int, out_features: int, *, pieces: int = 2, conv: bool = False
    ) -> None:
        super().__init__()
        self.pieces = check_int(pieces, "pieces", min_value=1)
        width = check_int(out_features, "out_features", min_value=1) * self.pieces
        self.proj = nn.Conv2d(in_features, width, 1) if conv else nn.Linear(in_features, width)
        self.dim = 1 if conv else -1

    def forward(self, x: Tensor) -> Tensor:
        return maxout(self.proj(x), self.pieces, dim=self.dim)
