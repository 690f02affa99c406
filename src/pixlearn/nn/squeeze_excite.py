"""Squeeze-and-excitation: re-weight channels by gates computed from their global averages."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from pixlearn._core.check import check_int

__all__ = ["SqueezeExcite"]


class SqueezeExcite(nn.Module):
    r"""Squeeze (global average) -> excite (two 1x1 convs) -> scale the input's channels.

    Args:
        channels: channels of the input (and output).
        rd_channels: width of the bottleneck between the two 1x1 convs; default
            ``channels // 16`` (the paper's reduction ratio r = 16), at least 1.
        act_layer: activation between the convs (ReLU in SENet, SiLU in EfficientNet).
        gate_layer: the gating function (sigmoid).

    Shape:
        ``(B, C, H, W) -> (B, C, H, W)``.

    Notes:
        With :math:`z_c = \frac{1}{HW}\sum_{i,j} x_{c,i,j}` the squeezed descriptor,
        the gates are :math:`s = \sigma(W_2\, \delta(W_1 z + b_1) + b_2)` and the output is
        :math:`y_c = s_c\, x_c`: a channel's importance depends on the whole image, which a
        convolution's local receptive field cannot see. Names ``fc1``/``fc2`` (1x1 convs with
        bias) follow torchvision's ``SqueezeExcitation`` and timm's ``SEModule``.

    Example:
        >>> se = SqueezeExcite(32)
        >>> x = torch.rand(2, 32, 7, 7)
        >>> se(x).shape
        torch.Size([2, 32, 7, 7])

    References:
        Hu, J., Shen, L., Sun, G. "Squeeze-and-excitation networks." CVPR 2018.
    """

    def __init__(
        self,
        channels: int,
        rd_channels: int | None = None,
        *,
        act_layer: Callable[..., nn.Module] = nn.ReLU,
        gate_layer: Callable[..., nn.Module] = nn.Sigmoid,
    ) -> None:
        super().__init__()
        check_int(channels, "channels", min_value=1)
        rd = max(1, channels // 16) if rd_channels is None else rd_channels
        check_int(rd, "rd_channels", min_value=1)
        self.fc1 = nn.Conv2d(channels, rd, 1)
        self.act = act_layer()
        self.fc2 = nn.Conv2d(rd, channels, 1)
        self.gate = gate_layer()

    def gates(self, x: Tensor) -> Tensor:
        """The channel weights :math:`s`, ``(B, C, 1, 1)``, each in (0, 1)."""
        z = torch.mean(x, dim=(-2, -1), keepdim=True)  # (B, C, 1, 1)  squeeze
        return self.gate(self.fc2(self.act(self.fc1(z))))  # (B, C, 1, 1)  excite

    def forward(self, x: Tensor) -> Tensor:
        # y_c = s_c * x_c
        return x * self.gates(x)
