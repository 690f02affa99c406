r"""Resizing an image by separable kernel interpolation, anti-aliased when shrinking.

Output pixel ``i`` of an axis resized from ``n`` to ``m`` samples sits at input coordinate
:math:`c_i = (i + 1/2)\,n/m - 1/2` (pixel centres aligned, the half-pixel convention of
``cv2.resize``, PIL and ``align_corners=False``). Shrinking by :math:`s = n/m > 1` with a kernel
of the original width aliases every frequency above the new Nyquist limit back into the image;
with ``antialias`` the kernel is stretched by :math:`s` (and its height divided by :math:`s`), a
low-pass filter at the new Nyquist frequency built into the interpolation: PIL's
``Image.resize`` convention, also torchvision's ``antialias=True``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from pixlearn._core.check import check_choice, check_image, pair
from pixlearn.transform.interpolation import INTERPOLATIONS, KERNEL_SUPPORT, kernel

__all__ = ["resize"]


def _axis_taps(
    n_in: int, n_out: int, interpolation: str, antialias: bool, device: torch.device
) -> tuple[Tensor, Tensor]:
    """Source indices ``(m, T)`` and float64 weights ``(m, T)`` of one axis."""
    scale = n_in / n_out
    i = torch.arange(n_out, dtype=torch.float64, device=device)  # (m,)
    # c_i = (i + 1/2) n / m - 1/2: the output pixel centre in input coordinates
    c = (i + 0.5) * scale - 0.5
    if interpolation == "nearest":
        # the sample within [-1/2, 1/2) of c: floor(c + 1/2) (OpenCV INTER_NEAREST_EXACT)
        idx = torch.floor(c + 0.5).long().clamp(0, n_in - 1)
        return idx[:, None], torch.ones(n_out, 1, dtype=torch.float64, device=device)
    fn = kernel(interpolation)
    # stretch factor of the kernel: s when shrinking with anti-aliasing, otherwise 1
    stretch = max(scale, 1.0) if antialias else 1.0
    support = KERNEL_SUPPORT[interpolation] * stretch
    taps = math.ceil(2 * support) + 1
    start = torch.floor(c - support) + 1  # first sample strictly inside the support
    j = start[:, None] + torch.arange(taps, dtype=torch.float64, device=device)  # (m, T)
    # w_ij = k((j - c_i) / s) / s, normalised below so each row sums to 1
    w = fn((j - c[:, None]) / stretch)
    if antialias:
        # PIL: samples outside the image are dropped and the window renormalised
        w = w * ((j >= 0) & (j <= n_in - 1))
    # otherwise (OpenCV, PyTorch) the clamped index below replicates the edge sample
    w = w / w.sum(dim=1, keepdim=True)
    return j.long().clamp(0, n_in - 1), w


def _apply(x: Tensor, idx: Tensor, w: Tensor, dim: int) -> Tensor:
    """``out[.., i, ..] = sum_t w[i, t] x[.., idx[i, t], ..]`` along ``dim`` (-2 or -1)."""
    w = w.to(x.dtype)
    shape = (-1, 1) if dim == -2 else (-1,)
    out = None
    for t in range(idx.shape[1]):
        term = x.index_select(dim, idx[:, t]) * w[:, t].reshape(shape)
        out = term if out is None else out + term
    assert out is not None
    return out


def resize(
    image: Tensor,
    size: int | Sequence[int],
    *,
    interpolation: str = "linear",
    antialias: bool = True,
) -> Tensor:
    r"""Resize images to ``size`` by separable interpolation, anti-aliased when shrinking.

    Args:
        image: images, shape ``(..., H, W)``, float, finite, non-empty.
        size: the output ``(h, w)``, or one int for a square output; each >= 1.
        interpolation: ``"linear"`` (triangle kernel), ``"nearest"``, ``"cubic"`` (Keys,
            a = -0.5) or ``"lanczos3"``.
        antialias: stretch the kernel by the shrink factor along each shrinking axis, and
            drop samples beyond the edge renormalising the weights (both PIL's ``resize``).
            ``False``: the kernel keeps its width and the edge sample is replicated
            (``cv2.resize`` and ``torch.nn.functional.interpolate``). ``"nearest"`` ignores it.

    Returns:
        The resized images, shape ``image.shape[:-2] + (h, w)``, dtype of ``image``;
        differentiable with respect to ``image``. An axis whose size does not change is
        copied exactly.

    Shape:
        ``(..., H, W) -> (..., h, w)``.

    Raises:
        WrongTypeError: an integer image, a non-integer ``size``.
        ShapeError: an empty image, a ``size`` that is not an int or a pair.
        ValueRangeError: NaN/Inf in ``image``, ``size`` <= 0, an unknown ``interpolation``.

    Notes:
        Along one axis, with scale :math:`s = n / m`, stretch :math:`\sigma = \max(s, 1)`
        when anti-aliasing (else 1) and kernel :math:`k`:

        .. math::
            g_i = \frac{\sum_j f_j\, k\!\left(\frac{j - c_i}{\sigma}\right)}
                       {\sum_j k\!\left(\frac{j - c_i}{\sigma}\right)}, \qquad
            c_i = \left(i + \tfrac12\right)s - \tfrac12.

        Nearest takes :math:`f_{\lfloor c_i + 1/2 \rfloor}` (``cv2.INTER_NEAREST_EXACT``; the
        legacy ``INTER_NEAREST`` takes :math:`\lfloor i s \rfloor`, not centre-aligned).
        The axis that shrinks more is resized first.

    Example:
        >>> img = torch.arange(16.0).reshape(1, 4, 4)
        >>> resize(img, 2, antialias=False)  # the mean of each 2x2 block
        tensor([[[ 2.5000,  4.5000],
                 [10.5000, 12.5000]]])
        >>> resize(img, 2).shape  # anti-aliased: a triangle 4 pixels wide
        torch.Size([1, 2, 2])

    References:
        Keys, R. "Cubic convolution interpolation for digital image processing." IEEE TASSP
        1981; Wolberg, G. *Digital Image Warping*, IEEE CS Press 1990, ch. 5 and 6.
    """
    check_image(image, "image", floating=True)
    out_h, out_w = pair(size, "size")
    check_choice(interpolation, "interpolation", INTERPOLATIONS)
    h, w = image.shape[-2:]
    x = image
    steps = []
    if out_h != h:
        steps.append((-2, _axis_taps(h, out_h, interpolation, antialias, image.device)))
    if out_w != w:
        steps.append((-1, _axis_taps(w, out_w, interpolation, antialias, image.device)))
    if not steps:
        return image.clone()
    # the axis with the smaller out/in ratio first: the second pass then has less to read
    if len(steps) == 2 and out_w / w < out_h / h:
        steps.reverse()
    for dim, (idx, weights) in steps:
        x = _apply(x, idx, weights, dim)
    return x
