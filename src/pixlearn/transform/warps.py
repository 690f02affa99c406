r"""Geometric warps: affine, rotation, translation and perspective (homography).

Every warp is backward mapping: for each output pixel the inverse transform gives the point of
the input image it shows, and :func:`pixlearn.transform.sample` interpolates the input there, so
that every output pixel gets exactly one value (forward mapping leaves holes). Points are
``(x, y)`` = (column, row) with pixel centres at integers, as in OpenCV and scikit-image.
Matrices map input to output (OpenCV's ``warpAffine``/``warpPerspective`` without
``WARP_INVERSE_MAP``); the inverse is taken here, in float64.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from pixlearn._core.check import (
    check_choice,
    check_finite,
    check_image,
    check_range,
    describe,
    pair,
)
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError
from pixlearn.transform.interpolation import BORDERS, sample

__all__ = [
    "affine_warp",
    "perspective_warp",
    "rotate",
    "translate",
]


def _matrix(matrix: Any, name: str, shapes: tuple[tuple[int, int], ...]) -> Tensor:
    """A float64 copy of a finite matrix of one of ``shapes``."""
    try:
        m = torch.as_tensor(matrix, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise WrongTypeError(f"{name} must be a real matrix, got {describe(matrix)}") from None
    if tuple(m.shape) not in shapes:
        raise ShapeError(
            f"{name} must have shape {' or '.join(map(str, shapes))}, got {describe(m)}"
        )
    check_finite(m, name)
    return m.cpu()


def _grid(
    shape: tuple[int, int], dtype: torch.dtype, device: torch.device
) -> tuple[Tensor, Tensor]:
    """Output pixel centres ``y`` (H, 1) and ``x`` (1, W)."""
    y = torch.arange(shape[0], dtype=dtype, device=device)[:, None]  # (H, 1)
    x = torch.arange(shape[1], dtype=dtype, device=device)[None, :]  # (1, W)
    return y, x


def _out_shape(image: Tensor, output_shape: Sequence[int] | None) -> tuple[int, int]:
    if output_shape is None:
        return int(image.shape[-2]), int(image.shape[-1])
    return pair(output_shape, "output_shape")


def _invert(m: Tensor, name: str) -> Tensor:
    """Inverse of a 3x3 float64 matrix; refuses a singular one."""
    # a relative determinant test, so that the scale of the matrix does not matter
    if abs(float(torch.linalg.det(m))) <= 1e-12 * float(m.abs().max()) ** 3:
        raise ValueRangeError(f"{name} must be invertible, got a singular matrix {m.tolist()}")
    return torch.linalg.inv(m)


def _affine_coords(
    inv: Tensor, shape: tuple[int, int], device: torch.device
) -> tuple[Tensor, Tensor]:
    """Input coordinates of every output pixel under the inverse affine map ``inv`` (3x3)."""
    y, x = _grid(shape, torch.float64, device)
    a = inv.to(device)
    # (x_in, y_in) = A^{-1} (x, y, 1): two planes of shape (H, W)
    src_x = a[0, 0] * x + a[0, 1] * y + a[0, 2]
    src_y = a[1, 0] * x + a[1, 1] * y + a[1, 2]
    return src_y, src_x


# grid_sample's padding for each border rule: with align_corners=True and bilinear weights,
# clamping (border) or mirroring (reflection) the coordinate equals replicating or mirroring
# (without repeating the edge pixel) each tap's index, and "zeros" drops the outside taps
_GRID_PADDING = {"constant": "zeros", "replicate": "border", "reflect": "reflection"}


def _linear_affine(
    image: Tensor, inv: Tensor, shape: tuple[int, int], border: str, value: float
) -> Tensor | None:
    """Bilinear backward affine warp by ``torch.nn.functional.grid_sample``, or None where it
    does not apply (a dtype it lacks, a one-pixel side, an empty batch).

    The coordinates are those of :func:`_affine_coords`, rescaled to grid_sample's
    ``[-1, 1]`` (``align_corners=True``: -1 and 1 are the centres of the first and last
    pixels) and computed in the image's dtype as a row term plus a column term (the map is
    affine, so each output row is an arithmetic progression): within ~2e-4 pixel for
    float32, ~1e-12 for float64.
    """
    h, w = image.shape[-2:]
    planes = image.numel() // (h * w)
    if image.dtype not in (torch.float32, torch.float64) or min(h, w) < 2 or planes == 0:
        return None
    dtype, device = image.dtype, image.device
    # input coordinates -> grid units: u = 2 x_in / (W - 1) - 1, v = 2 y_in / (H - 1) - 1
    scale = torch.tensor([[2.0 / (w - 1)], [2.0 / (h - 1)]], dtype=torch.float64)
    a = inv[:2] * scale  # (2, 3): u, v as affine functions of the output (x, y)
    a[:, 2] -= 1.0
    ys = torch.arange(shape[0], dtype=torch.float64)
    xs = torch.arange(shape[1], dtype=torch.float64)
    grid = torch.empty(1, shape[0], shape[1], 2, dtype=dtype, device=device)
    for k in range(2):
        # u(x, y) = (a_k0 x) + (a_k1 y + a_k2): a column term plus a row term
        col = (a[k, 0] * xs).to(device=device, dtype=dtype)  # (Wo,)
        row = (a[k, 1] * ys + a[k, 2]).to(device=device, dtype=dtype)  # (Ho,)
        torch.add(col[None, :], row[:, None], out=grid[0, :, :, k])
    shift = value != 0 and border == "constant"
    src = image - value if shift else image
    out = torch.nn.functional.grid_sample(
        src.reshape(1, planes, h, w),
        grid,
        mode="bilinear",
        padding_mode=_GRID_PADDING[border],
        align_corners=True,
    )  # (1, planes, Ho, Wo)
    if shift:
        out = out + value
    return out.reshape(*image.shape[:-2], *shape)


def affine_warp(
    image: Tensor,
    matrix: Tensor | Sequence[Sequence[float]],
    *,
    output_shape: int | Sequence[int] | None = None,
    interpolation: str = "linear",
    border: str = "constant",
    value: float = 0.0,
) -> Tensor:
    r"""Warp images by an affine map of the plane.

    Args:
        image: images, shape ``(..., H, W)``, float, finite, non-empty.
        matrix: the affine map from input to output points ``(x, y)`` (OpenCV's
            ``warpAffine`` convention), shape ``(2, 3)`` or ``(3, 3)`` with last row
            ``(0, 0, 1)``; invertible. A tensor, array or nested list.
        output_shape: ``(h, w)`` of the output; default the input's.
        interpolation: ``"nearest"``, ``"linear"``, ``"cubic"`` or ``"lanczos3"``.
        border: ``"constant"``, ``"replicate"`` or ``"reflect"`` (see
            :func:`pixlearn.transform.sample`).
        value: the constant outside the image.

    Returns:
        The warped images, shape ``image.shape[:-2] + output_shape``, dtype of ``image``,
        differentiable with respect to ``image``.

    Shape:
        ``(..., H, W) -> (..., h, w)``.

    Raises:
        WrongTypeError: an integer image, a matrix that is not numeric.
        ShapeError: an empty image, a matrix of another shape.
        ValueRangeError: NaN/Inf in the image or matrix, a singular matrix, a 3x3 matrix that
            is not affine, an unknown ``interpolation`` or ``border``.

    Notes:
        Output pixel :math:`p` shows the input at :math:`A^{-1} p` (backward mapping):

        .. math::
            g(x, y) = f\!\left(A^{-1} (x, y, 1)^\top\right), \qquad
            A = \begin{pmatrix} a_{11} & a_{12} & t_x \\ a_{21} & a_{22} & t_y \\
            0 & 0 & 1 \end{pmatrix}.

    Example:
        >>> img = torch.arange(9.0).reshape(3, 3)
        >>> affine_warp(img, [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])  # one pixel to the right
        tensor([[0., 0., 1.],
                [0., 3., 4.],
                [0., 6., 7.]])

    References:
        Wolberg, G. *Digital Image Warping*, IEEE CS Press 1990, ch. 3.
    """
    check_image(image, "image", floating=True)
    m = _matrix(matrix, "matrix", ((2, 3), (3, 3)))
    if m.shape[0] == 2:
        m = torch.cat([m, torch.tensor([[0.0, 0.0, 1.0]], dtype=torch.float64)])
    elif not torch.equal(m[2], torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)):
        raise ValueRangeError(
            f"matrix must be affine (last row 0, 0, 1), got {m.tolist()}; "
            "use perspective_warp for a homography"
        )
    shape = _out_shape(image, output_shape)
    src_y, src_x = _affine_coords(_invert(m, "matrix"), shape, image.device)
    return sample(image, src_y, src_x, interpolation=interpolation, border=border, value=value)


def rotate(
    image: Tensor,
    angle: float,
    *,
    center: Sequence[float] | None = None,
    resize: bool = False,
    interpolation: str = "linear",
    border: str = "constant",
    value: float = 0.0,
) -> Tensor:
    r"""Rotate images counter-clockwise (as seen on screen) by ``angle`` degrees.

    Args:
        image: images, shape ``(..., H, W)``, float, finite, non-empty.
        angle: the rotation in degrees, counter-clockwise on screen (row axis pointing down).
        center: the fixed point ``(x, y)``; default the image centre
            ``((W - 1) / 2, (H - 1) / 2)``, as ``skimage.transform.rotate``.
        resize: enlarge the output so that the whole rotated image fits (its size and
            placement are scikit-image's).
        interpolation: ``"nearest"``, ``"linear"``, ``"cubic"`` or ``"lanczos3"``.
        border: ``"constant"``, ``"replicate"`` or ``"reflect"``.
        value: the constant outside the image.

    Returns:
        The rotated images, dtype of ``image``; shape ``(..., H, W)`` or the enlarged one.

    Shape:
        ``(..., H, W) -> (..., H, W)``, or ``(..., H', W')`` with ``resize``.

    Raises:
        WrongTypeError, ShapeError, ValueRangeError: as :func:`affine_warp`; a non-finite
            ``angle`` or ``center`` (ValueRangeError naming it).

    Notes:
        With :math:`c` the centre and :math:`R_\theta` the rotation by :math:`\theta` in the
        ``(x, y)`` frame, output pixel :math:`p` shows the input at

        .. math::
            q = R_\theta\,(p - c) + c, \qquad
            R_\theta = \begin{pmatrix} \cos\theta & -\sin\theta \\
            \sin\theta & \cos\theta \end{pmatrix},

        which turns the content counter-clockwise on screen since :math:`y` points down.
        Bilinear float32/float64 rotations run on ``torch.nn.functional.grid_sample`` with
        coordinates in the image's dtype (float32: within ~2e-4 pixel of the exact map on a
        2048-pixel image; the other interpolations use :func:`pixlearn.transform.sample`
        with float64 coordinates).

    Example:
        >>> img = torch.arange(9.0).reshape(3, 3)
        >>> bool(torch.allclose(rotate(img, 90), torch.rot90(img), atol=1e-6))
        True

    References:
        Gonzalez, R. C., Woods, R. E. *Digital Image Processing*, 4th ed., sec. 2.6.
    """
    check_image(image, "image", floating=True)
    theta = math.radians(check_range(angle, "angle"))
    h, w = image.shape[-2:]
    if center is None:
        cx, cy = (w - 1) / 2, (h - 1) / 2
    else:
        if len(center) != 2:
            raise ShapeError(f"center must be a pair (x, y), got {center!r}")
        cx, cy = check_range(center[0], "center"), check_range(center[1], "center")
    cos, sin = math.cos(theta), math.sin(theta)
    # the inverse map q = R (p - c) + c as a 3x3 matrix
    inv = torch.tensor(
        [
            [cos, -sin, cx - cos * cx + sin * cy],
            [sin, cos, cy - sin * cx - cos * cy],
            [0.0, 0.0, 1.0],
        ],
        dtype=torch.float64,
    )
    shape = (h, w)
    if resize:
        # the forward map of the corners gives the extent of the rotated image
        corners = torch.tensor(
            [[0, 0, 1], [0, h - 1, 1], [w - 1, h - 1, 1], [w - 1, 0, 1]], dtype=torch.float64
        )
        fwd = corners @ torch.linalg.inv(inv).T  # (4, 3)
        lo, hi = fwd[:, :2].amin(0), fwd[:, :2].amax(0)
        shape = (round(float(hi[1] - lo[1]) + 1), round(float(hi[0] - lo[0]) + 1))
        # shift the output so that its top-left corner is the extent's
        shift = torch.tensor([[1, 0, lo[0]], [0, 1, lo[1]], [0, 0, 1]], dtype=torch.float64)
        inv = inv @ shift
    if torch.equal(inv, torch.eye(3, dtype=torch.float64)) and shape == (h, w):
        return image.clone()  # a whole number of turns: exactly the input
    if interpolation == "linear":
        check_choice(border, "border", BORDERS)
        value = check_range(value, "value")
        out = _linear_affine(image, inv, shape, border, value)
        if out is not None:
            return out
    src_y, src_x = _affine_coords(inv, shape, image.device)
    return sample(image, src_y, src_x, interpolation=interpolation, border=border, value=value)


def translate(
    image: Tensor,
    shift: Sequence[float],
    *,
    interpolation: str = "linear",
    border: str = "constant",
    value: float = 0.0,
) -> Tensor:
    r"""Shift images by ``(dy, dx)`` pixels (down and right for positive values).

    Args:
        image: images, shape ``(..., H, W)``, float, finite, non-empty.
        shift: ``(dy, dx)``, real, finite; integer shifts move pixels exactly.
        interpolation: ``"nearest"``, ``"linear"``, ``"cubic"`` or ``"lanczos3"``.
        border: ``"constant"``, ``"replicate"`` or ``"reflect"``.
        value: the constant that fills the uncovered pixels.

    Returns:
        The shifted images, same shape and dtype.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        WrongTypeError, ShapeError, ValueRangeError: as :func:`affine_warp`; a ``shift`` that is
            not a pair of finite numbers.

    Notes:
        :math:`g(y, x) = f(y - d_y, x - d_x)`.

    Example:
        >>> translate(torch.tensor([[1.0, 2.0, 3.0]]), (0, 1))
        tensor([[0., 1., 2.]])
    """
    check_image(image, "image", floating=True)
    if not isinstance(shift, (Sequence, Tensor)) or len(shift) != 2:
        raise ShapeError(f"shift must be a pair (dy, dx), got {shift!r}")
    dy, dx = check_range(shift[0], "shift"), check_range(shift[1], "shift")
    y, x = _grid(tuple(image.shape[-2:]), torch.float64, image.device)
    src_y = (y - dy).expand(-1, image.shape[-1])  # (H, W)
    src_x = (x - dx).expand(image.shape[-2], -1)  # (H, W)
    return sample(image, src_y, src_x, interpolation=interpolation, border=border, value=value)


def perspective_warp(
    image: Tensor,
    homography: Tensor | Sequence[Sequence[float]],
    *,
    output_shape: int | Sequence[int] | None = None,
    interpolation: str = "linear",
    border: str = "constant",
    value: float = 0.0,
) -> Tensor:
    r"""Warp images by a homography (a projective map of the plane).

    Args:
        image: images, shape ``(..., H, W)``, float, finite, non-empty.
        homography: the 3x3 map from input to output points ``(x, y, 1)``, up to scale
            (OpenCV's ``warpPerspective`` convention); invertible.
        output_shape: ``(h, w)`` of the output; default the input's.
        interpolation: ``"nearest"``, ``"linear"``, ``"cubic"`` or ``"lanczos3"``.
        border: ``"constant"``, ``"replicate"`` or ``"reflect"``.
        value: the constant outside the image.

    Returns:
        The warped images, shape ``image.shape[:-2] + output_shape``, dtype of ``image``.
        Output pixels whose preimage lies on or behind the line at infinity (:math:`w \le 0`)
        are treated as outside the image.

    Shape:
        ``(..., H, W) -> (..., h, w)``.

    Raises:
        WrongTypeError, ShapeError, ValueRangeError: as :func:`affine_warp` (a singular
            homography names ``homography``).

    Notes:
        .. math::
            (u, v, w)^\top = H^{-1} (x, y, 1)^\top, \qquad g(x, y) = f(u / w,\; v / w).

    Example:
        >>> img = torch.rand(4, 5)
        >>> bool(torch.equal(perspective_warp(img, torch.eye(3)), img))
        True

    References:
        Hartley, R., Zisserman, A. *Multiple View Geometry in Computer Vision*, 2nd ed. 2004,
        ch. 2.
    """
    check_image(image, "image", floating=True)
    m = _matrix(homography, "homography", ((3, 3),))
    shape = _out_shape(image, output_shape)
    inv = _invert(m, "homography").to(image.device)
    y, x = _grid(shape, torch.float64, image.device)
    u = inv[0, 0] * x + inv[0, 1] * y + inv[0, 2]  # (h, w)
    v = inv[1, 0] * x + inv[1, 1] * y + inv[1, 2]
    wz = inv[2, 0] * x + inv[2, 1] * y + inv[2, 2]
    ahead = wz > 0
    # behind the camera: a point far outside, so that only border/value reaches it
    far = -4.0 - max(image.shape[-2:])
    src_x = torch.where(ahead, u / torch.where(ahead, wz, 1.0), far)
    src_y = torch.where(ahead, v / torch.where(ahead, wz, 1.0), far)
    # clamp far-away points so that integer indices cannot overflow
    limit = 4.0 + 2 * max(image.shape[-2:])
    src_x, src_y = src_x.clamp(-limit, limit), src_y.clamp(-limit, limit)
    return sample(image, src_y, src_x, interpolation=interpolation, border=border, value=value)
