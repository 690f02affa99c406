"""Pooling: global pooling and anti-aliased (blur) pooling; max/average pooling re-exported."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn import AvgPool2d, MaxPool2d

from pixlearn._core.check import check_choice, check_image, check_int

__all__ = [
    "AvgPool2d",
    "BlurPool2d",
    "GlobalPool2d",
    "MaxBlurPool2d",
    "MaxPool2d",
    "binomial_kernel",
    "blur_pool2d",
    "global_pool2d",
]


def global_pool2d(x: Tensor, *, mode: str = "avg", flatten: bool = False) -> Tensor:
    r"""Pool each channel over the whole image: ``"avg"``, ``"max"`` or ``"avgmax"`` (mean of both).

    Args:
        x: feature map ``(..., C, H, W)``.
        mode: the reduction.
        flatten: drop the two trailing size-1 dimensions.

    Returns:
        ``(..., C, 1, 1)``, or ``(..., C)`` with ``flatten``.

    Notes:
        Global average pooling :math:`z_c = \frac{1}{HW}\sum_{ij} x_{cij}` replaces the big
        fully connected layers of AlexNet/VGG (Network-in-Network, GoogLeNet, ResNet) and makes
        the classifier independent of the input size.

    Example:
        >>> global_pool2d(torch.arange(8.0).reshape(2, 2, 2), flatten=True)
        tensor([1.5000, 5.5000])
    """
    check_image(x, "x", min_dims=3, floating=True, finite=False)
    check_choice(mode, "mode", ("avg", "max", "avgmax"))
    if mode == "avg":
        out = x.mean(dim=(-2, -1), keepdim=True)
    elif mode == "max":
        out = x.amax(dim=(-2, -1), keepdim=True)
    else:
        out = 0.5 * (x.mean(dim=(-2, -1), keepdim=True) + x.amax(dim=(-2, -1), keepdim=True))
    return out.flatten(-3) if flatten else out


class GlobalPool2d(nn.Module):
    """Module form of :func:`global_pool2d`."""

    def __init__(self, mode: str = "avg", *, flatten: bool = False) -> None:
        super().__init__()
        self.mode = check_choice(mode, "mode", ("avg", "max", "avgmax"))
        self.flatten = flatten

    def forward(self, x: Tensor) -> Tensor:
        return global_pool2d(x, mode=self.mode, flatten=self.flatten)


def binomial_kernel(
    size: int, *, dtype: torch.dtype | None = None, device: torch.device | str | None = None
) -> Tensor:
    """The normalised 2-D binomial filter of ``size`` taps (outer product of Pascal's row).

    Example:
        >>> binomial_kernel(3) * 16
        tensor([[1., 2., 1.],
                [2., 4., 2.],
                [1., 2., 1.]])
    """
    n = check_int(size, "size", min_value=1)
    row = torch.tensor([math.comb(n - 1, k) for k in range(n)], dtype=dtype, device=device)
    k2 = row[:, None] * row[None, :]
    return k2 / k2.sum()


def blur_pool2d(x: Tensor, *, kernel_size: int = 3, stride: int = 2) -> Tensor:
    r"""Low-pass filter with a binomial kernel, then subsample: anti-aliased downsampling.

    Args:
        x: feature map ``(..., C, H, W)``, float.
        kernel_size: taps of the binomial filter (1 is plain subsampling, 3 = [1, 2, 1]/4).
        stride: subsampling factor.

    Returns:
        ``(..., C, ceil(H / stride), ceil(W / stride))`` (reflection padding keeps the borders).

    Notes:
        Strided pooling and convolution subsample without a low-pass filter, so by Nyquist a
        signal above half the new sampling rate aliases: a one-pixel shift of the input can
        change the output completely. Blurring first, :math:`y = (x * b)\downarrow_s`,
        restores (approximate) shift-equivariance.

    Example:
        >>> blur_pool2d(torch.rand(1, 4, 8, 8)).shape
        torch.Size([1, 4, 4, 4])

    References:
        Zhang, R. "Making convolutional networks shift-invariant again." ICML 2019.
    """
    check_image(x, "x", min_dims=3, floating=True, finite=False)
    k = check_int(kernel_size, "kernel_size", min_value=1)
    s = check_int(stride, "stride", min_value=1)
    lead, (c, h, w) = x.shape[:-3], x.shape[-3:]
    x4 = x.reshape(-1, c, h, w)  # (N, C, H, W)
    kernel = binomial_kernel(k, dtype=x.dtype, device=x.device).expand(c, 1, k, k)
    lo, hi = (k - 1) // 2, k // 2
    if k > 1:
        mode = "reflect" if min(h, w) > max(lo, hi) else "replicate"
        x4 = F.pad(x4, (lo, hi, lo, hi), mode=mode)
    out = F.conv2d(x4, kernel, stride=s, groups=c)  # depthwise blur + subsample
    return out.reshape(*lead, c, out.shape[-2], out.shape[-1])


class BlurPool2d(nn.Module):
    """Module form of :func:`blur_pool2d` (anti-aliased strided subsampling)."""

    def __init__(self, kernel_size: int = 3, stride: int = 2) -> None:
        super().__init__()
        self.kernel_size = check_int(kernel_size, "kernel_size", min_value=1)
        self.stride = check_int(stride, "stride", min_value=1)

    def forward(self, x: Tensor) -> Tensor:
        return blur_pool2d(x, kernel_size=self.kernel_size, stride=self.stride)


class MaxBlurPool2d(nn.Module):
    """Anti-aliased max pooling: dense max (stride 1) then :func:`blur_pool2d` (Zhang 2019).

    ``MaxPool2d(k, stride=s)`` is max-then-subsample; this inserts the low-pass in between.

    Example:
        >>> MaxBlurPool2d(2)(torch.rand(1, 3, 8, 8)).shape
        torch.Size([1, 3, 4, 4])
    """

    def __init__(self, kernel_size: int = 2, stride: int = 2, *, blur_size: int = 3) -> None:
        super().__init__()
        self.kernel_size = check_int(kernel_size, "kernel_size", min_value=1)
        self.stride = check_int(stride, "stride", min_value=1)
        self.blur_size = check_int(blur_size, "blur_size", min_value=1)

    def forward(self, x: Tensor) -> Tensor:
        k = self.kernel_size
        # "same"-size dense max so the blur-subsample grid matches MaxPool2d's
        x = F.pad(x, ((k - 1) // 2, k // 2, (k - 1) // 2, k // 2), mode="replicate")
        x = F.max_pool2d(x, k, stride=1)
        return blur_pool2d(x, kernel_size=self.blur_size, stride=self.stride)
