r"""Interpolation kernels and the sampler that evaluates an image at real coordinates.

An image is a grid of samples at integer positions (pixel centres): pixel ``(i, j)`` lies at
``y = i``, ``x = j``. Interpolation reconstructs a continuous image from them with a kernel
:math:`k`, separable in the two axes,

.. math::
    f(y, x) = \sum_{i, j} f[i, j]\; k(y - i)\; k(x - j),

and every geometric transform in :mod:`pixlearn.transform` is this formula evaluated at the
coordinates that the inverse map gives for each output pixel. The kernels here are functions of
the distance ``t`` (in pixels) and all four are interpolating (:math:`k(0) = 1`,
:math:`k(n) = 0` for other integers) and a partition of unity (:math:`\sum_n k(t - n) = 1`;
Lanczos only within 1e-2, so the sampler normalises its weights).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from pixlearn._core.check import (
    check_choice,
    check_image,
    check_range,
    check_tensor,
    describe,
)
from pixlearn._core.errors import ShapeError, WrongTypeError

__all__ = [
    "BORDERS",
    "INTERPOLATIONS",
    "KERNEL_SUPPORT",
    "cubic",
    "kernel",
    "lanczos3",
    "linear",
    "nearest",
    "sample",
]

INTERPOLATIONS = ("nearest", "linear", "cubic", "lanczos3")
BORDERS = ("constant", "replicate", "reflect")


def nearest(t: Tensor) -> Tensor:
    r"""The box (nearest-neighbour) kernel: 1 on :math:`[-1/2, 1/2)`, 0 elsewhere.

    Half-open, so that exactly one integer lies in the support of every shift (a partition of
    unity): a point half-way between two pixels takes the one to its right/below, as
    ``floor(t + 0.5)`` rounds.

    Args:
        t: distances in pixels, any shape, float.

    Returns:
        The kernel values, same shape and dtype.

    Example:
        >>> nearest(torch.tensor([-0.5, 0.0, 0.49, 0.5]))
        tensor([1., 1., 1., 0.])
    """
    return ((t >= -0.5) & (t < 0.5)).to(t.dtype)


def linear(t: Tensor) -> Tensor:
    r"""The triangle (linear) kernel :math:`k(t) = \max(0, 1 - |t|)`, support 1.

    Args:
        t: distances in pixels, any shape, float.

    Returns:
        The kernel values, same shape and dtype.

    Example:
        >>> linear(torch.tensor([0.0, 0.25, -0.5, 1.5]))
        tensor([1.0000, 0.7500, 0.5000, 0.0000])
    """
    return (1 - t.abs()).clamp_min(0)


def cubic(t: Tensor, a: float = -0.5) -> Tensor:
    r"""Keys' cubic convolution kernel, support 2.

    Args:
        t: distances in pixels, any shape, float.
        a: the free parameter; -0.5 (the default, PIL's ``BICUBIC``, MATLAB ``imresize``) makes
            the interpolant third-order accurate. OpenCV and PyTorch use -0.75.

    Returns:
        The kernel values, same shape and dtype.

    Notes:
        .. math::
            k(t) = \begin{cases}
            (a + 2)|t|^3 - (a + 3)|t|^2 + 1 & |t| \le 1 \\
            a|t|^3 - 5a|t|^2 + 8a|t| - 4a & 1 < |t| < 2 \\
            0 & \text{otherwise.}
            \end{cases}

    Example:
        >>> cubic(torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0]))
        tensor([ 1.0000,  0.5625,  0.0000, -0.0625,  0.0000])

    References:
        Keys, R. "Cubic convolution interpolation for digital image processing." IEEE TASSP 1981.
    """
    s = t.abs()
    inner = ((a + 2) * s - (a + 3)) * s * s + 1  # |t| <= 1
    outer = ((a * s - 5 * a) * s + 8 * a) * s - 4 * a  # 1 < |t| < 2
    return torch.where(s <= 1, inner, torch.where(s < 2, outer, torch.zeros_like(s)))


def lanczos3(t: Tensor) -> Tensor:
    r"""The Lanczos kernel with three lobes, support 3.

    Args:
        t: distances in pixels, any shape, float.

    Returns:
        The kernel values, same shape and dtype.

    Notes:
        A sinc windowed by the central lobe of a wider sinc,
        :math:`k(t) = \operatorname{sinc}(t)\,\operatorname{sinc}(t / 3)` for :math:`|t| < 3`,
        0 elsewhere, with :math:`\operatorname{sinc}(t) = \sin(\pi t) / (\pi t)`.

    Example:
        >>> lanczos3(torch.tensor([0.0, 0.5, 3.0]))
        tensor([1.0000, 0.6079, 0.0000])

    References:
        Duchon, C. E. "Lanczos filtering in one and two dimensions." J. Appl. Meteorology 1979.
    """
    # sinc(t) sinc(t / 3) = 3 sin(pi t) sin(pi t / 3) / (pi t)^2, with its limit 1 at t = 0
    value = torch.sinc(t) * torch.sinc(t / 3)
    return torch.where(t.abs() < 3, value, torch.zeros_like(t))


# half-width of each kernel's support, in pixels
KERNEL_SUPPORT: dict[str, float] = {"nearest": 0.5, "linear": 1.0, "cubic": 2.0, "lanczos3": 3.0}
_KERNELS: dict[str, Callable[[Tensor], Tensor]] = {
    "nearest": nearest,
    "linear": linear,
    "cubic": cubic,
    "lanczos3": lanczos3,
}


def kernel(name: str) -> Callable[[Tensor], Tensor]:
    """The kernel function called ``name``, one of :data:`INTERPOLATIONS`.

    Example:
        >>> kernel("linear") is linear
        True
    """
    return _KERNELS[check_choice(name, "interpolation", INTERPOLATIONS)]


def border_index(index: Tensor, n: int, border: str) -> tuple[Tensor, Tensor | None]:
    """Map integer sample indices onto ``[0, n)`` by the border rule.

    Returns the mapped indices and, for ``constant``, the mask of those that were inside (the
    others take the constant value); ``None`` otherwise.
    """
    if border == "constant":
        inside = (index >= 0) & (index < n)
        return index.clamp(0, n - 1), inside
    if border == "replicate" or n == 1:
        return index.clamp(0, n - 1), None
    # reflect about the edge sample without repeating it (period 2 (n - 1)), NumPy 'reflect'
    period = 2 * (n - 1)
    m = index.remainder(period)
    return torch.where(m < n, m, period - m), None


def _taps(coords: Tensor, name: str, n: int, border: str) -> tuple[list[Tensor], list[Tensor]]:
    """Indices and weights of the samples that a kernel reaches from each coordinate."""
    if name == "nearest":
        # the one sample within [-1/2, 1/2): i = floor(c + 1/2)
        idx = torch.floor(coords + 0.5)
        index, inside = border_index(idx.long(), n, border)
        w = torch.ones_like(coords) if inside is None else inside.to(coords.dtype)
        return [index], [w]
    fn = _KERNELS[name]
    r = int(KERNEL_SUPPORT[name])
    base = torch.floor(coords)  # the sample at or left of each coordinate
    indices, weights = [], []
    raw = []
    if name == "linear":
        # the triangle kernel at distances f and 1 - f, without evaluating it: 1 - f and f
        frac = coords - base
        raw = [1 - frac, frac]
        first = base.long()
        indices = [first, first + 1]
    else:
        for o in range(1 - r, r + 1):  # 2r taps: base - r + 1, ..., base + r
            idx = base + o
            raw.append(fn(coords - idx))  # k(c - i)
            indices.append(idx.long())
    if name == "lanczos3":
        # Lanczos is not exactly a partition of unity: normalise, so constants stay constant
        total = torch.stack(raw).sum(0)
        raw = [w / total for w in raw]
    for t, w in enumerate(raw):
        index, inside = border_index(indices[t], n, border)
        indices[t] = index
        weights.append(w if inside is None else w * inside)
    return indices, weights


def sample(
    image: Tensor,
    coords_y: Tensor,
    coords_x: Tensor,
    *,
    interpolation: str = "linear",
    border: str = "constant",
    value: float = 0.0,
) -> Tensor:
    r"""Evaluate an image at real coordinates by separable kernel interpolation.

    The sampler of every warp: for each output pixel, the ``2r x 2r`` samples within the
    kernel's support (``r`` = 1 for linear, 2 for cubic, 3 for Lanczos-3, one sample for
    nearest) are gathered at once for all output pixels and the whole batch, and summed with
    the kernel weights. Differentiable with respect to the image (and the coordinates, where
    the kernel is differentiable).

    Args:
        image: the image, shape ``(..., H, W)``, float, finite, non-empty.
        coords_y: row coordinates (pixel centres at integers), shape ``(Ho, Wo)`` shared by
            the whole batch, or ``image.shape[:-2] + (Ho, Wo)`` one grid per image; floating.
        coords_x: column coordinates, same shape as ``coords_y``.
        interpolation: ``"nearest"``, ``"linear"``, ``"cubic"`` (Keys, a = -0.5) or
            ``"lanczos3"``.
        border: how the image continues beyond its edge, index by index: ``"constant"``
            (``value``), ``"replicate"`` (the edge pixel) or ``"reflect"`` (mirrored about
            the edge pixel, not repeating it: NumPy ``'reflect'``, OpenCV
            ``BORDER_REFLECT_101``, scikit-image ``mode='reflect'``).
        value: the constant outside the image for ``border="constant"``.

    Returns:
        The sampled image, shape ``image.shape[:-2] + (Ho, Wo)``, dtype of ``image``.

    Shape:
        ``(..., H, W), (Ho, Wo), (Ho, Wo) -> (..., Ho, Wo)``.

    Raises:
        WrongTypeError: an integer image or integer coordinates.
        ShapeError: an empty image, coordinates of different or unsuitable shapes.
        ValueRangeError: NaN/Inf in the image or ``value``, an unknown ``interpolation`` or
            ``border``.

    Notes:
        .. math::
            g(p) = \sum_{i, j} \tilde f[i, j]\; k(y_p - i)\; k(x_p - j),

        where :math:`\tilde f` is the image extended by ``border``. The six Lanczos weights
        of each axis are normalised to sum 1 (as PIL and OpenCV do). Non-finite coordinates
        are not refused: their output is undefined (NaN).

    Example:
        >>> img = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
        >>> sample(img, torch.tensor([[0.5]]), torch.tensor([[0.5]]))
        tensor([[1.5000]])
    """
    check_image(image, "image", floating=True)
    check_choice(interpolation, "interpolation", INTERPOLATIONS)
    check_choice(border, "border", BORDERS)
    value = check_range(value, "value")
    for name, c in (("coords_y", coords_y), ("coords_x", coords_x)):
        check_tensor(c, name)
        if not c.is_floating_point():
            raise WrongTypeError(f"{name} must be a floating-point tensor, got {describe(c)}")
    if coords_y.shape != coords_x.shape:
        raise ShapeError(
            f"coords_x must have the shape of coords_y {tuple(coords_y.shape)}, "
            f"got {describe(coords_x)}"
        )
    lead, (h, w) = image.shape[:-2], image.shape[-2:]
    shared = coords_y.dim() == 2
    if not shared and coords_y.shape[:-2] != lead:
        raise ShapeError(
            f"coords_y must be (Ho, Wo) or image.shape[:-2] + (Ho, Wo) = {tuple(lead)} + "
            f"(Ho, Wo), got {describe(coords_y)}"
        )
    out_hw = coords_y.shape[-2:]
    cy = coords_y.to(image.device)
    cx = coords_x.to(image.device)
    iy, wy = _taps(cy, interpolation, h, border)  # lists of (..., Ho, Wo)
    ix, wx = _taps(cx, interpolation, w, border)
    # coordinates stay in float64 for exact taps; the weights only need the image's precision
    wy = [t.to(image.dtype) for t in wy]
    wx = [t.to(image.dtype) for t in wx]
    # value outside: g = sum w (f - v) + v, with the out-of-image taps' weights set to zero
    shift = value != 0 and border == "constant"
    src = image - value if shift else image
    flat = src.reshape(-1, h * w)  # (B, H W)
    n_out = out_hw.numel()
    out = None
    for ty, wy_t in zip(iy, wy, strict=True):
        row = ty * w
        for tx, wx_t in zip(ix, wx, strict=True):
            weight = wy_t * wx_t  # (..., Ho, Wo)
            if shared:
                gathered = flat.index_select(1, (row + tx).reshape(-1))  # (B, Ho Wo)
                term = gathered * weight.reshape(1, n_out)
            else:
                gathered = flat.gather(1, (row + tx).reshape(-1, n_out))  # (B, Ho Wo)
                term = gathered * weight.reshape(-1, n_out)
            out = term if out is None else out + term
    assert out is not None
    if shift:
        out = out + value
    return out.reshape(*lead, *out_hw)
