"""Sizes of a CNN: output sizes, receptive fields and parameter counts."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from torch import nn

from pixlearn._core.check import check_int
from pixlearn._core.errors import WrongTypeError

__all__ = ["conv_output_size", "count_parameters", "layer_geometry", "receptive_field"]


def conv_output_size(
    size: int,
    kernel_size: int,
    *,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    r"""Output length of a convolution or pooling along one axis.

    Args:
        size: input length.
        kernel_size: kernel length :math:`k`.
        stride: step :math:`s`.
        padding: zeros added on each side :math:`p`.
        dilation: tap spacing :math:`d`.
        ceil_mode: round up as pooling with ``ceil_mode=True`` does (a last window that starts
            inside the input or left padding is kept).

    Returns:
        The output length (0 when the kernel does not fit).

    Notes:
        .. math:: n_{out} = \left\lfloor \frac{n + 2p - d(k - 1) - 1}{s} \right\rfloor + 1

    Example:
        >>> conv_output_size(224, 7, stride=2, padding=3)
        112
        >>> conv_output_size(32, 5)  # LeNet's first layer
        28
    """
    n = check_int(size, "size", min_value=0)
    k = check_int(kernel_size, "kernel_size", min_value=1)
    s = check_int(stride, "stride", min_value=1)
    p = check_int(padding, "padding", min_value=0)
    d = check_int(dilation, "dilation", min_value=1)
    # the span of the dilated kernel is d (k - 1) + 1
    span = n + 2 * p - d * (k - 1) - 1
    if span < 0:
        return 0
    if not ceil_mode:
        return span // s + 1
    out = math.ceil(span / s) + 1
    # PyTorch's rule: the last window must start inside the input or the left padding
    if (out - 1) * s >= n + p:
        out -= 1
    return out


def layer_geometry(module: nn.Module) -> tuple[int, int, int] | None:
    """``(kernel, stride, dilation)`` along the height of a conv/pool layer, else ``None``.

    Adaptive and global pooling, whose window depends on the input, return ``None``.

    Example:
        >>> layer_geometry(nn.Conv2d(3, 8, 5, stride=2))
        (5, 2, 1)
    """

    def first(v: int | Sequence[int]) -> int:
        return int(v[0]) if isinstance(v, (tuple, list)) else int(v)

    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        return first(module.kernel_size), first(module.stride), first(module.dilation)
    if isinstance(module, (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)):
        return first(module.kernel_size), first(module.stride), first(module.dilation)
    if isinstance(module, (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)):
        return first(module.kernel_size), first(module.stride), 1
    return None


def receptive_field(
    layers: Iterable[nn.Module | tuple[int, int] | tuple[int, int, int]],
) -> tuple[int, int]:
    r"""Receptive field and jump (cumulative stride) of a chain of conv/pool layers.

    Args:
        layers: the layers in order: modules (``nn.Sequential`` containers are walked; layers
            without a spatial kernel, such as norms and activations, change nothing) or tuples
            ``(kernel, stride)`` / ``(kernel, stride, dilation)``.

    Returns:
        ``(r, j)``: one output unit sees ``r x r`` input pixels and adjacent output units are
        ``j`` input pixels apart.

    Notes:
        Starting from :math:`r_0 = 1, j_0 = 1`, a layer with kernel :math:`k`, stride :math:`s`
        and dilation :math:`d` gives
        :math:`r_l = r_{l-1} + d (k - 1)\, j_{l-1}` and :math:`j_l = j_{l-1} s`.
        Two stacked 3x3 convs see 5x5, three see 7x7 (VGG's argument).

    Example:
        >>> receptive_field([(3, 1), (3, 1)])
        (5, 1)
        >>> receptive_field(nn.Sequential(nn.Conv2d(3, 8, 7, stride=2), nn.MaxPool2d(3, 2)))
        (11, 4)

    References:
        Araujo, A., Norris, W., Sim, J. "Computing receptive fields of convolutional neural
        networks." Distill 2019.
    """
    r, j = 1, 1

    def visit(layer: object) -> None:
        nonlocal r, j
        if isinstance(layer, nn.Sequential):
            for child in layer:
                visit(child)
            return
        if isinstance(layer, nn.Module):
            geom = layer_geometry(layer)
            if geom is None:
                return
            k, s, d = geom
        elif isinstance(layer, (tuple, list)) and len(layer) in (2, 3):
            k = check_int(layer[0], "kernel_size", min_value=1)
            s = check_int(layer[1], "stride", min_value=1)
            d = check_int(layer[2], "dilation", min_value=1) if len(layer) == 3 else 1
        else:
            raise WrongTypeError(
                "layers must hold nn.Modules or (kernel, stride[, dilation]) tuples, "
                f"got {type(layer).__name__} {layer!r}"
            )
        # r_l = r_{l-1} + d (k - 1) j_{l-1};  j_l = j_{l-1} s
        r += d * (k - 1) * j
        j *= s

    if isinstance(layers, nn.Module):
        visit(layers)
    else:
        for layer in layers:
            visit(layer)
    return r, j


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of parameters (shared tensors counted once; buffers such as BN statistics not).

    Example:
        >>> count_parameters(nn.Conv2d(3, 8, 3))  # 8 * 3 * 3 * 3 weights + 8 biases
        224
    """
    if not isinstance(model, nn.Module):
        raise WrongTypeError(f"model must be an nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
