r"""The basic lattice operators of mathematical morphology with flat footprints.

Erosion and dilation (the infimum and supremum over a moving neighbourhood), and what is built from
them: opening, closing, the white and black top-hats, the morphological gradient and the binary
hit-or-miss transform. One code path serves grey and binary images: ``bool`` images are eroded
and dilated as the two-level lattice ``False < True``.

Conventions (those of ``skimage.morphology``, checked in the tests):

* The footprint ``B`` is a 2-D bool tensor; its centre is the element
  ``((h - 1) // 2, (w - 1) // 2)``. For odd sizes that is the middle; an even-sized footprint
  is first padded with a ``False`` row/column at its start (``skimage.morphology.pad_footprint``
  with ``pad_end=False``). Only :func:`hit_or_miss` refuses even sizes (its patterns are placed
  by their middle pixel, as ``scipy.ndimage.binary_hit_or_miss`` does).
* :func:`erosion` and :func:`dilation` look at the *same* neighbourhood ``x + B``:
  :math:`\varepsilon_B f(x) = \min_{b \in B} f(x + b)` and
  :math:`\delta_B f(x) = \max_{b \in B} f(x + b)`, as ``skimage.morphology.erosion`` and
  ``skimage.morphology.dilation``. (``scipy.ndimage.binary_dilation`` and
  ``skimage.morphology.binary_dilation`` reflect the footprint instead, Minkowski addition
  :math:`\max_{b \in B} f(x - b)`: for a symmetric footprint the two agree.) The adjoint of
  :math:`\varepsilon_B` is therefore ``dilation(., mirror(B))``, and opening and closing use the
  mirrored footprint for their second step, so they are the true morphological opening and
  closing for any footprint.
* Borders never erode or dilate into the image: erosion treats pixels outside as the largest
  value of the dtype (+inf for floats), dilation as the smallest (``mode="ignore"`` in
  scikit-image; for symmetric convex footprints this equals its default ``"reflect"``). A
  pixel whose neighbourhood lies wholly outside (a footprint without its centre) gets that
  extreme value.
* The default footprint is the 3x3 cross (``diamond(1)``), as scikit-image's.

Every operator keeps the dtype (bool, uint8, int8/16/32/64, float16/bfloat16/32/64) and works on
the last two dimensions, batched over the leading ones. The implementation splits the footprint
into horizontal runs: one running min/max per distinct run length along rows (log-time doubling:
windows of 1, 2, 4, ... combined), then a running min/max down the columns for runs shared by
consecutive rows, so a rectangle is separable and a disk of radius r costs O(r) whole-image
operations.
"""

from __future__ import annotations

import torch
from torch import Tensor

from pixlearn._core.check import check_tensor, describe
from pixlearn._core.errors import ValueRangeError
from pixlearn.morphology._lattice import _apply, _footprint, _image, _mirror

__all__ = [
    "black_tophat",
    "closing",
    "dilation",
    "erosion",
    "hit_or_miss",
    "morphological_gradient",
    "opening",
    "white_tophat",
]


def erosion(image: Tensor, footprint: Tensor | None = None) -> Tensor:
    r"""Grey or binary erosion: the minimum over the footprint placed at each pixel.

    Args:
        image: shape ``(..., H, W)``; bool, integer or float (finite), not empty (a zero-size
            batch is fine).
        footprint: 2-D bool tensor, any size (centre convention in the module docstring);
            ``None`` for the 3x3 cross.

    Returns:
        The eroded image, same shape and dtype. Exact (a min creates no new values).

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        WrongTypeError: ``image`` not a tensor of a supported dtype; ``footprint`` not bool.
        ShapeError: ``image`` with fewer than 2 dims or empty; ``footprint`` not 2-D.
        ValueRangeError: NaN/Inf in ``image``; ``footprint`` without a True element.

    Notes:
        :math:`\varepsilon_B f(x) = \bigwedge_{b \in B} f(x + b) = \min_{b \in B} f(x + b)`;
        outside the image :math:`f = +\infty`. Equals ``skimage.morphology.erosion(f, B,
        mode="ignore")`` and, for bool images, ``scipy.ndimage.binary_erosion(f, B,
        border_value=1)``.

    Example:
        >>> img = torch.zeros(5, 5, dtype=torch.uint8)
        >>> img[1:4, 1:4] = 7
        >>> erosion(img)[2].tolist()
        [0, 0, 7, 0, 0]

    References:
        Serra, J. *Image Analysis and Mathematical Morphology*, Academic Press 1982;
        van Herk, M. "A fast algorithm for local minimum and maximum filters on rectangular
        and octagonal kernels." Pattern Recognition Letters 13(7), 1992.
    """
    x = _image(image)
    return _apply(x, _footprint(footprint, "footprint"), "min")


def dilation(image: Tensor, footprint: Tensor | None = None) -> Tensor:
    r"""Grey or binary dilation: the maximum over the footprint placed at each pixel.

    Args:
        image: shape ``(..., H, W)``; bool, integer or float (finite), not empty.
        footprint: 2-D bool tensor; ``None`` for the 3x3 cross.

    Returns:
        The dilated image, same shape and dtype.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        As :func:`erosion`.

    Notes:
        :math:`\delta_B f(x) = \bigvee_{b \in B} f(x + b)`, outside the image
        :math:`f = -\infty`: the neighbourhood ``x + B`` of ``skimage.morphology.dilation``
        (not reflected). The Minkowski dilation :math:`\max_{b} f(x - b)` of
        ``scipy.ndimage.binary_dilation`` is ``dilation(f, footprint.flip(0, 1))`` for an
        odd-sized footprint, and ``dilation(., mirror B)`` is the adjoint of
        :math:`\varepsilon_B`: :math:`\delta_{\check B} f \le g \iff f \le \varepsilon_B g`.

    Example:
        >>> img = torch.zeros(3, 5, dtype=torch.bool)
        >>> img[1, 2] = True
        >>> dilation(img).int()
        tensor([[0, 0, 1, 0, 0],
                [0, 1, 1, 1, 0],
                [0, 0, 1, 0, 0]], dtype=torch.int32)

    References:
        Serra, J. *Image Analysis and Mathematical Morphology*, Academic Press 1982.
    """
    x = _image(image)
    return _apply(x, _footprint(footprint, "footprint"), "max")


def opening(image: Tensor, footprint: Tensor | None = None) -> Tensor:
    r"""Morphological opening: erosion, then dilation with the mirrored footprint.

    Removes bright structures that the footprint does not fit into; anti-extensive
    (``opening(f) <= f``), increasing and idempotent.

    Args:
        image: shape ``(..., H, W)``; bool, integer or float (finite), not empty.
        footprint: 2-D bool tensor; ``None`` for the 3x3 cross.

    Returns:
        The opened image, same shape and dtype.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        As :func:`erosion`.

    Notes:
        :math:`\gamma_B f(x) = \max_{b \in B} \varepsilon_B f(x - b)`: the largest value of the
        minima over all translates of ``B`` that contain ``x``. Equals
        ``skimage.morphology.opening(f, B, mode="ignore")``.

    Example:
        >>> img = torch.zeros(5, 7)
        >>> img[1:4, 1:4] = 1.0  # a 3x3 square survives ...
        >>> img[2, 5] = 1.0  # ... a lone pixel does not
        >>> opening(img, torch.ones(3, 3, dtype=torch.bool)).sum().item()
        9.0

    References:
        Serra, J. *Image Analysis and Mathematical Morphology*, Academic Press 1982.
    """
    x = _image(image)
    fp = _footprint(footprint, "footprint")
    return _apply(_apply(x, fp, "min"), _mirror(fp), "max")


def closing(image: Tensor, footprint: Tensor | None = None) -> Tensor:
    r"""Morphological closing: dilation, then erosion with the mirrored footprint.

    Fills dark structures that the footprint does not fit into; extensive
    (``closing(f) >= f``), increasing and idempotent.

    Args:
        image: shape ``(..., H, W)``; bool, integer or float (finite), not empty.
        footprint: 2-D bool tensor; ``None`` for the 3x3 cross.

    Returns:
        The closed image, same shape and dtype.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        As :func:`erosion`.

    Notes:
        :math:`\phi_B f(x) = \min_{b \in B} \delta_B f(x - b)`; the dual of the opening,
        :math:`\phi_B f = -\gamma_B(-f)`. Equals ``skimage.morphology.closing(f, B,
        mode="ignore")``.

    Example:
        >>> img = torch.ones(5, 5)
        >>> img[2, 2] = 0.0  # a one-pixel hole is filled
        >>> closing(img).min().item()
        1.0

    References:
        Serra, J. *Image Analysis and Mathematical Morphology*, Academic Press 1982.
    """
    x = _image(image)
    fp = _footprint(footprint, "footprint")
    return _apply(_apply(x, fp, "max"), _mirror(fp), "min")


def white_tophat(image: Tensor, footprint: Tensor | None = None) -> Tensor:
    r"""White top-hat: the image minus its opening (bright details smaller than the footprint).

    With a large footprint this is the morphological background correction of the syllabus'
    extrema example: the opening estimates the background, the top-hat keeps the objects.

    Args:
        image: shape ``(..., H, W)``; bool, integer or float (finite), not empty.
        footprint: 2-D bool tensor; ``None`` for the 3x3 cross.

    Returns:
        ``f - opening(f)``, same shape and dtype, ``>= 0`` (for bool: ``f & ~opening(f)``).

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        As :func:`erosion`.

    Notes:
        :math:`\mathrm{WTH}_B f = f - \gamma_B f`. Equals
        ``skimage.morphology.white_tophat(f, B, mode="ignore")``.

    Example:
        >>> img = torch.full((5, 5), 2.0)
        >>> img[2, 2] = 5.0
        >>> white_tophat(img)[2].tolist()
        [0.0, 0.0, 3.0, 0.0, 0.0]

    References:
        Meyer, F. "Contrast feature extraction." Quantitative Analysis of Microstructures in
        Material Sciences, Biology and Medicine, 1977.
    """
    x = _image(image)
    opened = opening(x, footprint)
    return x & ~opened if x.dtype == torch.bool else x - opened


def black_tophat(image: Tensor, footprint: Tensor | None = None) -> Tensor:
    r"""Black top-hat: the closing minus the image (dark details smaller than the footprint).

    Args:
        image: shape ``(..., H, W)``; bool, integer or float (finite), not empty.
        footprint: 2-D bool tensor; ``None`` for the 3x3 cross.

    Returns:
        ``closing(f) - f``, same shape and dtype, ``>= 0`` (for bool: ``closing(f) & ~f``).

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        As :func:`erosion`.

    Notes:
        :math:`\mathrm{BTH}_B f = \phi_B f - f`. Equals
        ``skimage.morphology.black_tophat(f, B, mode="ignore")``.

    Example:
        >>> img = torch.full((5, 5), 2.0)
        >>> img[2, 2] = 0.5
        >>> black_tophat(img)[2].tolist()
        [0.0, 0.0, 1.5, 0.0, 0.0]

    References:
        Meyer, F. "Contrast feature extraction." 1977.
    """
    x = _image(image)
    closed = closing(x, footprint)
    return closed & ~x if x.dtype == torch.bool else closed - x


def morphological_gradient(image: Tensor, footprint: Tensor | None = None) -> Tensor:
    r"""Beucher's morphological gradient: dilation minus erosion.

    Args:
        image: shape ``(..., H, W)``; bool, integer or float (finite), not empty.
        footprint: 2-D bool tensor; ``None`` for the 3x3 cross. When it holds its centre the
            result is ``>= 0``; otherwise unsigned integers wrap around as in NumPy.

    Returns:
        ``dilation(f) - erosion(f)``, same shape and dtype (for bool: ``dil & ~ero``, the
        inner and outer boundary pixels).

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        As :func:`erosion`.

    Notes:
        :math:`\rho_B f = \delta_B f - \varepsilon_B f`: large where the image changes within
        the footprint, zero on flat regions; the usual relief for a watershed.

    Example:
        >>> img = torch.zeros(1, 6)
        >>> img[0, 3:] = 1.0
        >>> morphological_gradient(img)[0].tolist()
        [0.0, 0.0, 1.0, 1.0, 0.0, 0.0]

    References:
        Beucher, S. and Lantuejoul, C. "Use of watersheds in contour detection." 1979.
    """
    x = _image(image)
    fp = _footprint(footprint, "footprint")
    dil, ero = _apply(x, fp, "max"), _apply(x, fp, "min")
    return dil & ~ero if x.dtype == torch.bool else dil - ero


def hit_or_miss(binary: Tensor, hit: Tensor, miss: Tensor) -> Tensor:
    r"""Binary hit-or-miss transform: where ``hit`` fits the foreground and ``miss`` the background.

    Args:
        binary: shape ``(..., H, W)``; bool, or any dtype holding only 0 and 1; not empty.
        hit: 2-D bool tensor of odd sizes: offsets that must be foreground.
        miss: 2-D bool tensor of odd sizes: offsets that must be background (may be all False,
            but ``hit`` and ``miss`` together need a True element).

    Returns:
        A bool tensor of the shape of ``binary``. A pixel whose patterns reach outside the image
        never matches, as ``scipy.ndimage.binary_hit_or_miss``.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        ValueRangeError: values other than 0/1 in ``binary``; an even-sized ``hit`` or
            ``miss`` (their middle pixel is placed on the pixel tested); both empty.
        ShapeError, WrongTypeError: as for :func:`erosion`, naming ``hit`` or ``miss``.

    Notes:
        :math:`f \circledast (B_1, B_2) = \varepsilon_{B_1} f \wedge \varepsilon_{B_2} f^c`,
        with both erosions taking the outside of the image as 0.

    Example:
        >>> img = torch.zeros(5, 5, dtype=torch.bool)
        >>> img[2, 2] = True  # an isolated pixel: hit the centre, miss its 8 neighbours
        >>> hit = torch.zeros(3, 3, dtype=torch.bool)
        >>> hit[1, 1] = True
        >>> hit_or_miss(img, hit, ~hit).nonzero().tolist()
        [[2, 2]]

    References:
        Serra, J. *Image Analysis and Mathematical Morphology*, Academic Press 1982, ch. II.
    """
    x = _image(binary, "binary")
    if x.dtype != torch.bool:
        if x.numel() and not bool(((x == 0) | (x == 1)).all()):
            raise ValueRangeError(
                f"binary must hold only 0 and 1 (or be a bool tensor), got {describe(x)} "
                f"with values in [{x.min().item()}, {x.max().item()}]"
            )
        x = x != 0
    hit_fp = _checked_pattern(hit, "hit")
    miss_fp = _checked_pattern(miss, "miss")
    if hit_fp is None and miss_fp is None:
        raise ValueRangeError("hit and miss must together hold at least one True element")
    out = torch.ones_like(x)
    if hit_fp is not None:
        out = out & _apply(x, hit_fp, "min", fill=False)
    if miss_fp is not None:
        out = out & _apply(~x, miss_fp, "min", fill=False)
    return out


def _checked_pattern(pattern: Tensor, name: str) -> Tensor | None:
    """An odd-sized bool pattern, or ``None`` if it has no True element."""
    check_tensor(pattern, name)
    if pattern.dim() == 2 and pattern.dtype == torch.bool and pattern.numel() and not pattern.any():
        if pattern.shape[0] % 2 == 0 or pattern.shape[1] % 2 == 0:
            raise ValueRangeError(
                f"{name} must have odd sizes (a centre pixel is needed), "
                f"got shape {tuple(pattern.shape)}"
            )
        return None
    return _footprint(pattern, name, odd=True)
