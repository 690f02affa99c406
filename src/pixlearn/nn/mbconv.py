"""MBConv: the inverted-residual block with squeeze-and-excitation of MobileNetV2/EfficientNet."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from torch import Tensor, nn

from pixlearn._core.check import check_int, check_positive
from pixlearn.nn.conv import ConvNormAct
from pixlearn.nn.squeeze_excite import SqueezeExcite
from pixlearn.nn.stochastic_depth import StochasticDepth

__all__ = ["MBConv"]


class MBConv(nn.Module):
    r"""Expand (1x1) -> depthwise kxk -> squeeze-excite -> project (1x1), plus a shortcut.

    Args:
        in_chs: input channels.
        out_chs: output channels.
        kernel_size: depthwise kernel size (3 or 5 in EfficientNet).
        stride: depthwise stride.
        expand_ratio: width of the hidden layer relative to ``in_chs`` (1: no expansion conv).
        se_ratio: SE bottleneck width relative to ``in_chs`` (0: no SE).
        drop_path: stochastic-depth probability of the residual branch.
        norm_layer: normalisation factory (default BatchNorm2d).
        act_layer: activation factory (default SiLU, "swish").

    Shape:
        ``(B, in_chs, H, W) -> (B, out_chs, ceil(H / stride), ceil(W / stride))``.

    Notes:
        The block is "inverted": it is thin at its ends and wide (``expand_ratio`` times) in
        the middle, where a depthwise conv costs only :math:`k^2 C` weights instead of
        :math:`k^2 C^2`. The projection has no activation (a linear bottleneck, which keeps
        information in the thin representation). When the shapes agree the output is
        :math:`y = x + \text{SD}_p(\text{block}(x))` with stochastic depth
        :math:`\text{SD}_p`. Layout ``block.{0,1,2,3}``, ``stochastic_depth`` is torchvision's.

    Example:
        >>> block = MBConv(16, 16, expand_ratio=6)
        >>> block(torch.rand(2, 16, 8, 8)).shape
        torch.Size([2, 16, 8, 8])

    References:
        Sandler, M. et al. "MobileNetV2: Inverted residuals and linear bottlenecks." CVPR 2018.
        Tan, M., Le, Q. "EfficientNet: Rethinking model scaling for CNNs." ICML 2019.
    """

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        *,
        kernel_size: int = 3,
        stride: int = 1,
        expand_ratio: float = 6.0,
        se_ratio: float = 0.25,
        drop_path: float = 0.0,
        norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d,
        act_layer: Callable[..., nn.Module] = nn.SiLU,
    ) -> None:
        super().__init__()
        check_int(in_chs, "in_chs", min_value=1)
        check_int(stride, "stride", min_value=1)
        check_positive(expand_ratio, "expand_ratio")
        check_positive(se_ratio, "se_ratio", strict=False)
        self.use_res_connect = stride == 1 and in_chs == out_chs
        hidden = int(in_chs * expand_ratio)
        cna = partial(ConvNormAct, norm_layer=norm_layer, act_layer=act_layer)
        layers: list[nn.Module] = []
        if hidden != in_chs:
            layers.append(cna(in_chs, hidden, 1))  # (B, hidden, H, W)  expand
        # depthwise: one kxk filter per channel
        layers.append(cna(hidden, hidden, kernel_size, stride=stride, groups=hidden))
        if se_ratio > 0:
            layers.append(
                SqueezeExcite(hidden, max(1, int(in_chs * se_ratio)), act_layer=act_layer)
            )
        # linear bottleneck: no activation after the projection
        layers.append(ConvNormAct(hidden, out_chs, 1, norm_layer=norm_layer, act_layer=None))
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(drop_path, "row")
        self.out_channels = out_chs

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        if self.use_res_connect:
            out = self.stochastic_depth(out) + x
        return out
