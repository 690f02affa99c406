"""The inception module: parallel 1x1, 3x3, 5x5 and pooling branches, concatenated."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from pixlearn.nn.conv import BasicConv2d

__all__ = ["Inception", "InceptionNaive"]


class InceptionNaive(nn.Module):
    r"""The naive inception module: 1x1, 3x3 and 5x5 convs and a 3x3 max-pool side by side.

    Args:
        in_chs: input channels.
        ch1x1: outputs of the 1x1 branch.
        ch3x3: outputs of the 3x3 branch.
        ch5x5: outputs of the 5x5 branch.

    Shape:
        ``(B, in_chs, H, W) -> (B, ch1x1 + ch3x3 + ch5x5 + in_chs, H, W)``.

    Notes:
        Every branch keeps the size, so the outputs concatenate along channels. The pooling
        branch passes all ``in_chs`` channels through, so the width grows at every module, and
        the 3x3/5x5 convs on the full input cost :math:`(9 + 25)\, C_{in} C_{out}` weights:
        the problem the 1x1 bottlenecks of :class:`Inception` solve.

    Example:
        >>> InceptionNaive(16, 8, 8, 8)(torch.rand(1, 16, 10, 10)).shape
        torch.Size([1, 40, 10, 10])

    References:
        Szegedy, C. et al. "Going deeper with convolutions." CVPR 2015 (figure 2a).
    """

    def __init__(self, in_chs: int, ch1x1: int, ch3x3: int, ch5x5: int) -> None:
        super().__init__()
        self.branch1 = BasicConv2d(in_chs, ch1x1, kernel_size=1)
        self.branch2 = BasicConv2d(in_chs, ch3x3, kernel_size=3, padding=1)
        self.branch3 = BasicConv2d(in_chs, ch5x5, kernel_size=5, padding=2)
        self.branch4 = nn.MaxPool2d(3, stride=1, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([b(x) for b in branches], dim=1)  # (B, sum of widths, H, W)


class Inception(nn.Module):
    r"""Inception module with dimension reduction: 1x1 convs before the 3x3/5x5 and after the pool.

    Args:
        in_chs: input channels.
        ch1x1: outputs of the 1x1 branch.
        ch3x3red: 1x1 reduction before the 3x3 conv.
        ch3x3: outputs of the 3x3 branch.
        ch5x5red: 1x1 reduction before the "5x5" conv.
        ch5x5: outputs of the "5x5" branch.
        pool_proj: 1x1 projection after the 3x3 max-pool.
        branch3_kernel: kernel of the "5x5" branch. The paper uses 5; torchvision's GoogLeNet
            (and its ImageNet weights) use 3, a long-standing deviation kept for compatibility,
            so :func:`~pixlearn.models.googlenet` passes 3.
        conv_layer: the conv-BN-ReLU unit (default :class:`~pixlearn.nn.BasicConv2d`).

    Shape:
        ``(B, in_chs, H, W) -> (B, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)``.

    Notes:
        A 1x1 convolution mixes channels at each pixel; placed before a :math:`k \times k`
        conv it cuts its weights from :math:`k^2 C_{in} C_{out}` to
        :math:`C_{in} r + k^2 r C_{out}` with :math:`r \ll C_{in}` ("network in network").

    Example:
        >>> block = Inception(192, 64, 96, 128, 16, 32, 32)
        >>> block(torch.rand(1, 192, 28, 28)).shape
        torch.Size([1, 256, 28, 28])

    References:
        Szegedy, C. et al. "Going deeper with convolutions." CVPR 2015 (figure 2b).
    """

    def __init__(
        self,
        in_chs: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        *,
        branch3_kernel: int = 5,
        conv_layer: Callable[..., nn.Module] = BasicConv2d,
    ) -> None:
        super().__init__()
        k = branch3_kernel
        self.branch1 = conv_layer(in_chs, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(
            conv_layer(in_chs, ch3x3red, kernel_size=1),
            conv_layer(ch3x3red, ch3x3, kernel_size=3, padding=1),
        )
        self.branch3 = nn.Sequential(
            conv_layer(in_chs, ch5x5red, kernel_size=1),
            conv_layer(ch5x5red, ch5x5, kernel_size=k, padding=k // 2),
        )
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
            conv_layer(in_chs, pool_proj, kernel_size=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([b(x) for b in branches], dim=1)  # (B, sum of widths, H, W)
