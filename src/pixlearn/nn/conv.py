"""Conv-norm-act: the convolution, normalisation, activation unit every CNN is built from."""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from pixlearn._core.check import check_int

__all__ = ["BasicConv2d", "ConvNormAct"]

LayerFactory = Callable[..., nn.Module]


def _make_act(act_layer: LayerFactory | None) -> nn.Module | None:
    if act_layer is None:
        return None
    # In-place activations save memory; the input of the activation is the norm's fresh output.
    try:
        return act_layer(inplace=True)
    except TypeError:
        return act_layer()


class ConvNormAct(nn.Sequential):
    r"""``Conv2d -> norm -> activation`` as a ``Sequential`` indexed ``0``, ``1``, ``2``.

    Args:
        in_chs: input channels.
        out_chs: output channels.
        kernel_size: square kernel size.
        stride: convolution stride.
        padding: zero padding; ``None`` gives "same" padding ``(k - 1) // 2 * dilation``, so a
            stride-1 layer keeps the size.
        dilation: spacing of the kernel taps.
        groups: channel groups (``groups == in_chs`` is a depthwise convolution).
        bias: give the conv a bias; off by default because the norm that follows has one.
        norm_layer: normalisation factory called with ``out_chs`` (``None``: no norm, and the
            conv then gets a bias).
        act_layer: activation factory (``None``: no activation).

    Shape:
        ``(B, in_chs, H, W) -> (B, out_chs, H', W')`` with
        ``H' = floor((H + 2p - d (k - 1) - 1) / s) + 1``.

    Notes:
        The index layout (``0.weight``, ``1.running_mean``) is torchvision's
        ``Conv2dNormActivation``, so EfficientNet weights load unchanged.

    Example:
        >>> layer = ConvNormAct(3, 8, 3, stride=2)
        >>> layer(torch.rand(1, 3, 32, 32)).shape
        torch.Size([1, 8, 16, 16])
    """

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        kernel_size: int = 3,
        *,
        stride: int = 1,
        padding: int | None = None,
        dilation: int = 1,
        groups: int = 1,
        bias: bool | None = None,
        norm_layer: LayerFactory | None = nn.BatchNorm2d,
        act_layer: LayerFactory | None = nn.ReLU,
    ) -> None:
        k = check_int(kernel_size, "kernel_size", min_value=1)
        d = check_int(dilation, "dilation", min_value=1)
        pad = (k - 1) // 2 * d if padding is None else check_int(padding, "padding", min_value=0)
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_chs,
                out_chs,
                k,
                stride=stride,
                padding=pad,
                dilation=d,
                groups=groups,
                bias=norm_layer is None if bias is None else bias,
            )
        ]
        if norm_layer is not None:
            layers.append(norm_layer(out_chs))
        act = _make_act(act_layer)
        if act is not None:
            layers.append(act)
        super().__init__(*layers)
        self.out_channels = out_chs


class BasicConv2d(nn.Module):
    """``Conv2d -> BatchNorm2d(eps=1e-3) -> ReLU`` with named parts ``conv`` and ``bn``.

    The GoogLeNet/Inception unit (torchvision's names), used by
    :class:`~pixlearn.nn.Inception`. Keyword arguments go to ``nn.Conv2d``.

    Example:
        >>> BasicConv2d(3, 4, kernel_size=3, padding=1)(torch.rand(1, 3, 8, 8)).shape
        torch.Size([1, 4, 8, 8])
    """

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        *,
        norm_layer: LayerFactory | None = None,
        act_layer: LayerFactory = nn.ReLU,
        **conv_kwargs: object,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_chs, out_chs, bias=False, **conv_kwargs)  # type: ignore[arg-type]
        self.bn = (
            norm_layer(out_chs) if norm_layer is not None else nn.BatchNorm2d(out_chs, eps=1e-3)
        )
        self.act = _make_act(act_layer) or nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.act(self.bn(self.conv(x)))
