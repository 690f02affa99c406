"""Residual blocks: the basic (two 3x3) and bottleneck (1x1-3x3-1x1) blocks of ResNet."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

__all__ = ["BasicBlock", "Bottleneck"]

LayerFactory = Callable[..., nn.Module]


def _shortcut(
    in_chs: int, out_chs: int, stride: int, norm_layer: LayerFactory, kernel_size: int = 1
) -> nn.Module | None:
    # Identity when the shapes already agree; else a strided projection ("option B"): a 1x1
    # conv, or a kxk one (SENet-154) that sees every input pixel instead of one in ``stride``.
    if stride == 1 and in_chs == out_chs:
        return None
    k = 1 if stride == 1 else kernel_size
    return nn.Sequential(
        nn.Conv2d(in_chs, out_chs, k, stride=stride, padding=k // 2, bias=False),
        norm_layer(out_chs),
    )


class BasicBlock(nn.Module):
    r"""Two 3x3 conv-BN layers with an identity (or projection) shortcut.

    Args:
        in_chs: input channels.
        chs: output channels (``expansion = 1``).
        stride: stride of the first 3x3 conv (2 halves the resolution).
        norm_layer: normalisation factory called with a channel count (default BatchNorm2d).
        act_layer: activation factory (default ReLU).

    Shape:
        ``(B, in_chs, H, W) -> (B, chs, ceil(H / stride), ceil(W / stride))``.

    Notes:
        The block learns a residual :math:`\mathcal{F}` and outputs
        :math:`y = \sigma(\mathcal{F}(x) + W_s x)`, where :math:`W_s` is the identity or a
        strided 1x1 projection when the shapes differ. Identity paths let gradients reach
        early layers unchanged, which is what makes 100+-layer networks trainable.
        Parameter names (``conv1``, ``bn1``, ``conv2``, ``bn2``, ``downsample.0/1``) follow
        torchvision's so its weights load unchanged.

    Example:
        >>> block = BasicBlock(16, 32, stride=2)
        >>> block(torch.rand(2, 16, 8, 8)).shape
        torch.Size([2, 32, 4, 4])

    References:
        He, K. et al. "Deep residual learning for image recognition." CVPR 2016.
    """

    expansion = 1

    def __init__(
        self,
        in_chs: int,
        chs: int,
        *,
        stride: int = 1,
        norm_layer: LayerFactory = nn.BatchNorm2d,
        act_layer: LayerFactory = nn.ReLU,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_chs, chs, 3, stride=stride, padding=1, bias=False)
        self.bn1 = norm_layer(chs)
        self.relu = act_layer(inplace=True) if act_layer is nn.ReLU else act_layer()
        self.conv2 = nn.Conv2d(chs, chs, 3, padding=1, bias=False)
        self.bn2 = norm_layer(chs)
        self.downsample = _shortcut(in_chs, chs, stride, norm_layer)
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        # y = relu(F(x) + shortcut(x))
        return self.relu(out + shortcut)


class Bottleneck(nn.Module):
    r"""1x1 reduce, 3x3, 1x1 expand (x4) with a shortcut: the block of ResNet-50/101/152.

    Args:
        in_chs: input channels.
        chs: width of the 3x3 conv; the block outputs ``chs * 4`` channels.
        stride: stride of the 3x3 conv (torchvision's "ResNet v1.5" places it there, not on
            the first 1x1 as in the paper, which is more accurate).
        norm_layer: normalisation factory (default BatchNorm2d).
        act_layer: activation factory (default ReLU).
        attn_layer: optional channel-attention factory called with ``chs * 4`` (e.g. the
            squeeze-and-excitation block), applied before the addition, as SENet does.
        groups: groups of the 3x3 conv (the cardinality of ResNeXt/SENet-154).
        base_width: width per group at ``chs = 64``; the 3x3 conv has
            ``floor(chs * base_width / 64) * groups`` channels (64 and 1: ``chs``).
        reduce_first: divide the first 1x1 conv's width by this (2 in SENet-154).
        down_kernel_size: kernel of a strided projection shortcut (1, or 3 in SENet-154).

    Shape:
        ``(B, in_chs, H, W) -> (B, 4 chs, ceil(H / stride), ceil(W / stride))``.

    Notes:
        The 1x1 convolutions shrink the channels before the expensive 3x3 and restore them
        after: with :math:`C = 4c` channels a bottleneck costs :math:`(4c \cdot c + 9c^2 + c
        \cdot 4c)` weights, :math:`17c^2`, against :math:`2 \cdot 9 (4c)^2 = 288 c^2` for two
        full-width 3x3 convs.

    Example:
        >>> block = Bottleneck(64, 16)
        >>> block(torch.rand(1, 64, 8, 8)).shape
        torch.Size([1, 64, 8, 8])

    References:
        He, K. et al. "Deep residual learning for image recognition." CVPR 2016.
    """

    expansion = 4

    def __init__(
        self,
        in_chs: int,
        chs: int,
        *,
        stride: int = 1,
        norm_layer: LayerFactory = nn.BatchNorm2d,
        act_layer: LayerFactory = nn.ReLU,
        attn_layer: LayerFactory | None = None,
        groups: int = 1,
        base_width: int = 64,
        reduce_first: int = 1,
        down_kernel_size: int = 1,
    ) -> None:
        super().__init__()
        out_chs = chs * self.expansion
        width = int(chs * base_width / 64) * groups
        first = width // reduce_first
        self.conv1 = nn.Conv2d(in_chs, first, 1, bias=False)
        self.bn1 = norm_layer(first)
        self.conv2 = nn.Conv2d(first, width, 3, stride=stride, padding=1, groups=groups, bias=False)
        self.bn2 = norm_layer(width)
        self.conv3 = nn.Conv2d(width, out_chs, 1, bias=False)
        self.bn3 = norm_layer(out_chs)
        self.se = attn_layer(out_chs) if attn_layer is not None else None
        self.relu = act_layer(inplace=True) if act_layer is nn.ReLU else act_layer()
        self.downsample = _shortcut(in_chs, out_chs, stride, norm_layer, down_kernel_size)
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))  # (B, w / reduce_first, H, W)
        out = self.relu(self.bn2(self.conv2(out)))  # (B, w, H/s, W/s)
        out = self.bn3(self.conv3(out))  # (B, 4c, H/s, W/s)
        if self.se is not None:
            out = self.se(out)
        return self.relu(out + shortcut)
