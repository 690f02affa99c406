r"""SURF: speeded-up robust features (Bay et al. 2008), detector and descriptor.

The detector approximates the Gaussian second derivatives :math:`L_{xx}, L_{yy}, L_{xy}` by box
filters, each a few look-ups in the integral image whatever its size, so the scale space is
built by growing the filter instead of blurring and subsampling the image. It keeps the 3x3x3
maxima of the approximated Hessian determinant above a threshold and refines them by a 3-D
quadratic fit. Orientation and the 64-D (or 128-D) Haar-wavelet descriptor live in
:mod:`pixlearn.features.surf_descriptor`. Everything is vectorised over pixels and keypoints;
the only Python loops run over octaves and layers.

Keypoints come as :class:`~pixlearn.features.SIFTKeypoints` with the same conventions as
:class:`~pixlearn.features.SIFT` (``x`` = column, ``y`` = row, pixel centres at integers;
``angle`` in degrees counter-clockwise on screen), so both work with
:func:`~pixlearn.features.match_descriptors`. ``sigma`` is the SURF scale
:math:`s = 1.2 L / 9` of a filter of side :math:`L` (OpenCV's SURF ``KeyPoint.size`` is
:math:`L`), ``octave`` counts from 0 and ``response`` is the Hessian determinant on the 0-255
intensity scale.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from pixlearn._core.check import check_int, check_positive, describe
from pixlearn._core.errors import ShapeError, ValueRangeError
from pixlearn.features._taylor import central_differences
from pixlearn.features.integral import integral_image
from pixlearn.features.sift import SIFTKeypoints, _to_gray
from pixlearn.features.surf_descriptor import surf_descriptors, surf_orientations

__all__ = ["SURF", "box_hessian"]

_L0 = 9  # the smallest filter: side 9, lobes of 3, approximating sigma = 1.2
_S0 = 1.2
_W_XY = 0.9  # relative weight of the box D_xy (Frobenius-norm balance of the approximation)
_SCALE = 255.0  # thresholds and responses are on OpenCV's 0-255 intensity scale


def _taylor(det: Tensor, lay: Tensor, row: Tensor, col: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Gradient (d/dx, d/dy, d/dlayer), Hessian ``(M, 3, 3)`` and value of ``det`` at samples,
    by central differences on the ``(layers, rows, cols)`` grid."""
    _, gy, gx = det.shape
    flat = det.reshape(-1)

    def at(dl: int, dy: int, dx: int) -> Tensor:
        return flat[((lay + dl) * gy + row + dy) * gx + col + dx]  # (M,)

    return central_differences(at)


def _valid_grid(h: int, w: int, size: int, st: int) -> tuple[int, int, int, int, int] | None:
    """The grid ``(y0, x0, st, ny, nx)`` of centres ``i st`` where a filter of side ``size``
    fits inside an ``h x w`` image (``r <= i st <= h - 1 - r``), or None."""
    r = (size - 1) // 2
    i0, i1 = -(-r // st), (h - 1 - r) // st
    j0, j1 = -(-r // st), (w - 1 - r) // st
    if i1 < i0 or j1 < j0:
        return None
    return i0 * st, j0 * st, st, i1 - i0 + 1, j1 - j0 + 1


def _hessian_on(
    ii: Tensor, size: int, grid: tuple[int, int, int, int, int]
) -> tuple[Tensor, Tensor, Tensor]:
    """``(dxx, dyy, dxy)`` of side ``size`` at the centres of ``grid`` (all must fit), each
    ``(ny, nx)``. Each box is a difference of strip sums: rows first, then columns."""
    y0, x0, st, ny, nx = grid
    r, l = (size - 1) // 2, size // 3
    m = (l - 1) // 2  # the middle lobe spans [-m, m]

    def rows(t: Tensor, a: int) -> Tensor:  # t[y + a] for every centre row y
        return t[y0 + a : y0 + a + st * (ny - 1) + 1 : st]

    def cols(t: Tensor, c: int) -> Tensor:  # t[..., x + c] for every centre column x
        return t[:, x0 + c : x0 + c + st * (nx - 1) + 1 : st]

    # D_xx = left - 2 middle + right = (whole box) - 3 middle, over the 2l - 1 rows [-(l-1), l-1]
    strip = rows(ii, l) - rows(ii, -(l - 1))  # (ny, W + 1), cumulative along x
    dxx = cols(strip, r + 1) - cols(strip, -r) - 3 * (cols(strip, m + 1) - cols(strip, -m))
    # D_yy: the same with rows and columns swapped
    strip = cols(ii, l) - cols(ii, -(l - 1))  # (H + 1, nx), cumulative along y
    dyy = rows(strip, r + 1) - rows(strip, -r) - 3 * (rows(strip, m + 1) - rows(strip, -m))
    # D_xy = + top-left - top-right - bottom-left + bottom-right (rows point down), l x l
    # squares one pixel off the axes: (top strip - bottom strip) over left minus right columns
    top = rows(ii, 0) - rows(ii, -l)  # rows [y - l, y)
    bottom = rows(ii, l + 1) - rows(ii, 1)  # rows [y + 1, y + l + 1)
    diff = top - bottom
    dxy = cols(diff, 0) - cols(diff, -l) - (cols(diff, l + 1) - cols(diff, 1))
    inv_area = 1.0 / (size * size)
    return dxx * inv_area, dyy * inv_area, dxy * inv_area


def box_hessian(ii: Tensor, size: int, *, step: int = 1) -> tuple[Tensor, Tensor, Tensor]:
    r"""SURF's box-filter approximations of :math:`L_{xx}, L_{yy}, L_{xy}` on a pixel grid.

    Args:
        ii: a zero-padded integral image, shape ``(H + 1, W + 1)`` (see
            :func:`pixlearn.features.integral_image`).
        size: the filter side :math:`L`, an odd multiple of 3 that is >= 9 (9, 15, 21, ...).
        step: the grid spacing in pixels, >= 1.

    Returns:
        ``(dxx, dyy, dxy)``, each of shape ``(ceil(H / step), ceil(W / step))``, dtype of
        ``ii``: the responses centred on the pixels ``(i * step, j * step)``, divided by the
        filter area :math:`L^2`; 0 where the filter does not fit inside the image.

    Shape:
        ``(H + 1, W + 1) -> 3 x (ceil(H / step), ceil(W / step))``.

    Raises:
        ShapeError: ``ii`` not 2-D.
        ValueRangeError: a ``size`` that is not an odd multiple of 3 >= 9, ``step`` < 1.

    Notes:
        With lobes of :math:`l = L / 3` pixels, :math:`D_{xx}` is three :math:`l \times
        (2l - 1)` boxes side by side weighted :math:`+1, -2, +1` (computed as the whole
        :math:`3l \times (2l - 1)` box minus 3 times the middle one), :math:`D_{yy}` its
        transpose, and :math:`D_{xy}` four :math:`l \times l` squares weighted
        :math:`+1, -1, -1, +1` in the quadrants around the centre, one pixel from each
        axis. The filter of side 9 approximates Gaussian derivatives of :math:`\sigma = 1.2`;
        side :math:`L` matches :math:`s = 1.2 L / 9`. Dividing by :math:`L^2` makes the
        responses of a scaled image equal at matching scales, and
        :math:`\det H_{approx} = D_{xx} D_{yy} - (0.9 D_{xy})^2`.

    Example:
        >>> from pixlearn.features import integral_image
        >>> yy, xx = torch.meshgrid(torch.arange(20.0), torch.arange(20.0), indexing="ij")
        >>> dxx, dyy, dxy = box_hessian(integral_image(xx**2 / 2), 9)  # L_xx = 1 everywhere
        >>> # D_xx * L^2 = 5 rows x sum_x w(x) x^2 / 2 = 5 x (29 - 2) = 135
        >>> dxx.shape, round(float(dxx[10, 10]) * 81, 4), float(dyy[10, 10]), float(dxy[10, 10])
        (torch.Size([20, 20]), 135.0, 0.0, 0.0)

    References:
        Bay, H., Ess, A., Tuytelaars, T., Van Gool, L. "Speeded-up robust features (SURF)."
        CVIU 110(3), 2008, sec. 3.
    """
    if ii.dim() != 2:
        raise ShapeError(f"ii must be a 2-D integral image (H + 1, W + 1), got {describe(ii)}")
    size = check_int(size, "size", min_value=_L0)
    if size % 6 != 3:
        raise ValueRangeError(f"size must be an odd multiple of 3 (9, 15, 21, ...), got {size}")
    st = check_int(step, "step", min_value=1)
    h, w = ii.shape[0] - 1, ii.shape[1] - 1
    out = [ii.new_zeros(-(-h // st), -(-w // st)) for _ in range(3)]
    grid = _valid_grid(h, w, size, st)
    if grid is not None:
        y0, x0, _, ny, nx = grid
        i0, j0 = y0 // st, x0 // st
        for o, t in zip(out, _hessian_on(ii, size, grid), strict=True):
            o[i0 : i0 + ny, j0 : j0 + nx] = t
    return out[0], out[1], out[2]


class SURF:
    r"""The SURF keypoint detector and Haar-wavelet descriptor (64-D, or 128-D extended).

    Args:
        hessian_threshold: keep maxima of the approximated Hessian determinant above this,
            on the 0-255 intensity scale with responses divided by the filter area (OpenCV's
            ``hessianThreshold``; the image is in [0, 1], so in its own units the threshold
            is ``hessian_threshold / 255**2``), >= 0. Larger values give fewer, stronger
            keypoints.
        n_octaves: the most octaves searched, >= 1 (fewer when the filters outgrow the
            image). Octave :math:`o` uses filter sides growing by :math:`6 \cdot 2^o` from
            the second side of the octave before (9, 15, 21, 27 / 15, 27, 39, 51 /
            27, 51, 75, 99 / ...), sampled every :math:`2^o` pixels.
        n_layers: layers searched per octave, >= 1 (each octave has ``n_layers + 2`` filter
            sizes; 2 is the paper's 4 sizes per octave).
        extended: 128-D descriptors instead of 64-D.
        upright: U-SURF, skip orientation assignment (every angle is 0): faster and more
            distinctive when the camera does not rotate, not rotation invariant.
        max_features: keep only the ``max_features`` keypoints of largest response
            (``None``: all).

    Example:
        >>> yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
        >>> img = 0.2 + 0.6 * torch.exp(-((yy - 30) ** 2 + (xx - 33) ** 2) / (2 * 4.0**2))
        >>> kp, desc = SURF().detect_and_compute(img)
        >>> desc.shape[1], round(float(kp.x[0])), round(float(kp.y[0]))
        (64, 33, 30)

    References:
        Bay, H., Ess, A., Tuytelaars, T., Van Gool, L. "Speeded-up robust features (SURF)."
        Computer Vision and Image Understanding 110(3), 2008.
    """

    def __init__(
        self,
        hessian_threshold: float = 100.0,
        n_octaves: int = 4,
        n_layers: int = 2,
        *,
        extended: bool = False,
        upright: bool = False,
        max_features: int | None = None,
    ) -> None:
        self.hessian_threshold = check_positive(
            hessian_threshold, "hessian_threshold", strict=False
        )
        self.n_octaves = check_int(n_octaves, "n_octaves", min_value=1)
        self.n_layers = check_int(n_layers, "n_layers", min_value=1)
        self.extended = bool(extended)
        self.upright = bool(upright)
        self.max_features = (
            None if max_features is None else check_int(max_features, "max_features", min_value=1)
        )

    def __repr__(self) -> str:
        return (
            f"SURF(hessian_threshold={self.hessian_threshold}, n_octaves={self.n_octaves}, "
            f"n_layers={self.n_layers}, extended={self.extended}, upright={self.upright})"
        )

    @property
    def descriptor_size(self) -> int:
        """64, or 128 for the extended descriptor."""
        return 128 if self.extended else 64

    def detect_and_compute(self, image: Tensor) -> tuple[SIFTKeypoints, Tensor]:
        r"""Detect keypoints and compute their descriptors.

        Args:
            image: one image, shape ``(H, W)``, ``(1, H, W)`` or ``(3, H, W)`` (RGB, converted
                to BT.601 luma), float in [0, 1], finite, at least 9 x 9 (the smallest
                filter; an image under 29 px has no room for a 3x3x3 search and gives no
                keypoints).

        Returns:
            ``(keypoints, descriptors)``: a :class:`~pixlearn.features.SIFTKeypoints` of
            ``N`` keypoints sorted by decreasing response (``sigma`` holds the SURF scale
            :math:`s`, ``octave`` counts from 0), and the descriptors, shape ``(N, 64)`` or
            ``(N, 128)``, unit L2 norm, dtype of ``image``.

        Shape:
            ``(H, W) -> N keypoints, (N, 64)``.

        Raises:
            WrongTypeError: not a floating tensor.
            ShapeError: more than 3 dimensions, a channel count other than 1 or 3, a side
                under 9 pixels.
            ValueRangeError: NaN/Inf values.

        Notes:
            At every sample of every filter size the determinant of the approximated Hessian

            .. math::
                \det H_{approx} = D_{xx} D_{yy} - (0.9 D_{xy})^2

            (box responses divided by the filter area, see :func:`box_hessian`) measures
            blob strength; the factor 0.9 balances the box approximation of :math:`L_{xy}`
            against those of :math:`L_{xx}, L_{yy}`. A keypoint is a sample that is >= its
            26 neighbours in (x, y, layer) and above the threshold; the quadratic Taylor fit
            :math:`\hat{\mathbf x} = -\mathbf H^{-1} \nabla D` on the sample grid (kept when
            every offset is below 1 step) places it between samples and between filter
            sizes, and its scale is :math:`s = 1.2 L / 9`. (That is the paper's convention,
            which also sizes the descriptor window; measured on Gaussian blobs of std
            :math:`t`, the box det peaks at :math:`L \approx 5.25 t`, i.e. :math:`s \approx
            0.7 t`.) The box filters are not isotropic and coarser octaves are sampled every
            :math:`2^o` pixels, so SURF repeats fewer keypoints than SIFT under rotations
            off multiples of 90 degrees; its threshold is absolute, so a contrast gain
            :math:`a` scales every response by :math:`a^2`.
        """
        gray = _to_gray(image)
        h, w = gray.shape
        if min(h, w) < _L0:
            raise ShapeError(
                f"image must be at least {_L0}x{_L0} (the smallest SURF box filter), "
                f"got {describe(image)}"
            )
        work = gray.to(torch.float64) * _SCALE  # OpenCV's 0-255 scale, float64 box sums
        ii = integral_image(work)  # (H + 1, W + 1)
        dt = torch.float64 if image.dtype == torch.float64 else torch.float32
        found = [self._octave(ii, o, dt) for o in range(self.n_octaves)]
        parts = [f for f in found if f is not None]
        if not parts:
            return self._empty(image.dtype, image.device)
        octave, x, y, s, response = (torch.cat(t) for t in zip(*parts, strict=True))
        if self.max_features is not None and response.numel() > self.max_features:
            top = response.topk(self.max_features).indices
            octave, x, y, s, response = (t[top] for t in (octave, x, y, s, response))
        order = torch.argsort(response, descending=True, stable=True)
        octave, x, y, s, response = (t[order] for t in (octave, x, y, s, response))
        # replicate-pad so that every wavelet of every window reads image values:
        # the descriptor window reaches 10 sqrt(2) s + s < 16 s from the keypoint
        pad = math.ceil(16 * float(s.max())) + 2
        padded = F.pad(work[None, None], (pad, pad, pad, pad), mode="replicate")[0, 0]
        ii_pad = integral_image(padded)
        xp, yp = x + pad, y + pad
        theta = torch.zeros_like(s) if self.upright else surf_orientations(ii_pad, xp, yp, s)
        desc = surf_descriptors(ii_pad, xp, yp, s, theta, extended=self.extended)
        # internal angles are atan2(dy, dx) with rows pointing down: on screen that is clockwise
        angle = torch.remainder(-torch.rad2deg(theta), 360.0)
        angle = torch.where(angle >= 360.0, angle - 360.0, angle)
        dt = image.dtype
        kp = SIFTKeypoints(
            x.to(dt), y.to(dt), s.to(dt), angle.to(dt), response.to(dt), octave.to(image.device)
        )
        return kp, desc.to(dt)

    def _octave(self, ii: Tensor, o: int, dtype: torch.dtype) -> tuple[Tensor, ...] | None:
        """Refined maxima of octave ``o``: (octave, x, y, s, response), or None.

        Box sums are differences of large float64 table entries; the determinants are then
        formed in ``dtype`` (float32 unless the image is float64)."""
        h, w = ii.shape[0] - 1, ii.shape[1] - 1
        st = 2**o
        # first size and increment: 9 and 6, then each octave starts at the previous
        # octave's second size and doubles the increment
        first, inc = _L0, 6
        for _ in range(o):
            first, inc = first + inc, 2 * inc
        sizes = [first + i * inc for i in range(self.n_layers + 2)]
        # every layer on the grid where the largest filter fits; the samples of its outer
        # ring are only neighbours, so every candidate has its 26 neighbours
        grid = _valid_grid(h, w, sizes[-1], st)
        if grid is None or min(grid[3], grid[4]) < 3:
            return None
        y0, x0, _, gy, gx = grid
        dets = []
        for size in sizes:
            dxx, dyy, dxy = (t.to(dtype) for t in _hessian_on(ii, size, grid))
            # det H_approx = Dxx Dyy - (0.9 Dxy)^2
            dets.append(dxx * dyy - (_W_XY * dxy) ** 2)
        det = torch.stack(dets)  # (n_layers + 2, gy, gx)
        cand = torch.zeros_like(det, dtype=torch.bool)
        cand[1:-1, 1:-1, 1:-1] = det[1:-1, 1:-1, 1:-1] > self.hessian_threshold
        lay, row, col = cand.nonzero(as_tuple=True)
        # 3x3x3 non-maximum suppression, only at the (few) samples above the threshold
        d = torch.arange(-1, 2, device=det.device)
        dl, dy, dx = torch.meshgrid(d, d, d, indexing="ij")
        nb = ((dl * gy + dy) * gx + dx).reshape(-1)  # (27,) flat offsets of the cube
        centre = (lay * gy + row) * gx + col  # (M,)
        cube = det.reshape(-1)[centre[:, None] + nb]  # (M, 27)
        is_max = cube.max(1).values == cube[:, 13]
        lay, row, col = lay[is_max], row[is_max], col[is_max]
        if lay.numel() == 0:
            return None
        g, hess, v = _taylor(det, lay, row, col)
        # x_hat = -H^-1 grad, kept when it stays within one sample (and one layer)
        sol, info = torch.linalg.solve_ex(hess, -g[..., None])
        off = sol[..., 0]  # (M, 3) as (dx, dy, d_layer), in samples and layers
        ok = (info == 0) & torch.isfinite(off).all(1) & (off.abs() < 1).all(1)
        if not bool(ok.any()):
            return None
        lay, row, col, off, v = lay[ok], row[ok], col[ok], off[ok], v[ok]
        x = x0 + (col.to(det.dtype) + off[:, 0]) * st
        y = y0 + (row.to(det.dtype) + off[:, 1]) * st
        size = first + (lay.to(det.dtype) + off[:, 2]) * inc
        # s = 1.2 L / 9: the Gaussian scale the box filter of side L stands for
        s = _S0 * size / _L0
        octave = torch.full_like(lay, o)
        return octave, x, y, s, v

    def _empty(self, dtype: torch.dtype, device: torch.device) -> tuple[SIFTKeypoints, Tensor]:
        e = torch.zeros(0, dtype=dtype, device=device)
        kp = SIFTKeypoints(e, e, e, e, e, torch.zeros(0, dtype=torch.long, device=device))
        return kp, torch.zeros(0, self.descriptor_size, dtype=dtype, device=device)
