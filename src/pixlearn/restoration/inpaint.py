r"""Biharmonic inpainting: fill masked pixels with the smoothest surface through the known ones.

A damaged region (scratches, text, a removed object) is filled by a function :math:`u` whose
bilaplacian vanishes inside the region, :math:`\Delta^2 u = 0`, and which equals the image on the
known pixels around it: the "thin plate" that bends least while touching the known values. In
contrast to harmonic filling (:math:`\Delta u = 0`, a membrane), it continues gradients smoothly
across the region's edge, not only values. Discretised with a 13-point stencil, it is one sparse
linear system with one unknown per masked pixel.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import spsolve
from torch import Tensor

from pixlearn._core.check import check_image, check_int, check_tensor, describe
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = ["inpaint_biharmonic"]

_RADIUS = 2  # the bilaplacian stencil reaches two pixels along each axis


def _axis_stencils(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per position of an axis of length ``n``: the 1-D second difference and its square.

    Returns ``(d1, d2)``, each ``(n, 5)``: ``d1[r, 2 + o]`` is the weight of sample ``r + o`` in
    the second difference at ``r``, ``d2`` the same for the fourth difference (the second
    difference applied twice). Near the ends the window is cut to the samples inside the axis,
    ``[max(r - 2, 0), min(r + 2, n - 1)]``, and the second difference reflects about the window's
    edge (the sample beyond the edge repeats the edge sample), which makes the first and last
    rows of the window's difference matrix ``[-1, 1]`` and ``[1, -1]``.
    """
    d1 = np.zeros((n, 5))
    d2 = np.zeros((n, 5))
    # away from the ends: [1, -2, 1] and its square [1, -4, 6, -4, 1]
    d1[:, 1:4] = [1.0, -2.0, 1.0]
    d2[:] = [1.0, -4.0, 6.0, -4.0, 1.0]
    for r in sorted({*range(min(n, _RADIUS)), *range(max(n - _RADIUS, 0), n)}):
        lo, hi = max(r - _RADIUS, 0), min(r + _RADIUS, n - 1)
        m, k = hi - lo + 1, r - lo
        # L: second difference on the window with edge reflection (m x m)
        lap = np.diag(np.full(m, -2.0)) + np.diag(np.ones(m - 1), 1) + np.diag(np.ones(m - 1), -1)
        lap[0, 0] += 1.0
        lap[m - 1, m - 1] += 1.0
        col1 = lap[:, k]  # L e_k: the weights around r
        col2 = lap @ col1  # L^2 e_k
        d1[r], d2[r] = 0.0, 0.0
        d1[r, lo - r + _RADIUS : hi - r + _RADIUS + 1] = col1
        d2[r, lo - r + _RADIUS : hi - r + _RADIUS + 1] = col2
    return d1, d2


def _system(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The bilaplacian rows of the masked pixels, as COO triplets over the whole image.

    Returns ``(rows, cols, coefs, masked)``: for masked pixel number ``rows[k]`` (raster order),
    the coefficient ``coefs[k]`` of pixel ``cols[k]`` (a flat index into the image), and the flat
    indices ``masked`` of the masked pixels.
    """
    h, w = mask.shape
    rr, cc = np.nonzero(mask)  # (N,), (N,) raster order
    masked = rr * w + cc
    r1, r2 = _axis_stencils(h)
    c1, c2 = _axis_stencils(w)
    offsets = np.arange(-_RADIUS, _RADIUS + 1)
    centre = (offsets == 0).astype(float)  # (5,)
    # (Lr + Lc)^2 = Lr^2 (x) I + 2 Lr (x) Lc + I (x) Lc^2, at each masked pixel (N, 5, 5)
    coef = (
        r2[rr][:, :, None] * centre[None, None, :]
        + 2.0 * r1[rr][:, :, None] * c1[cc][:, None, :]
        + centre[None, :, None] * c2[cc][:, None, :]
    )
    k, i, j = np.nonzero(coef)  # only the taps inside the image are non-zero
    rows = k
    cols = (rr[k] + offsets[i]) * w + (cc[k] + offsets[j])
    return rows, cols, coef[k, i, j], masked


def _solve(values: np.ndarray, mask: np.ndarray, split: bool) -> np.ndarray:
    """Inpaint ``values`` ``(K, H, W)`` float64 sharing one ``mask`` ``(H, W)``; a new array."""
    kk, h, w = values.shape
    flat = values.reshape(kk, h * w).T.copy()  # (H W, K)
    rows, cols, coefs, masked = _system(mask)
    n = masked.size
    position = np.full(h * w, -1)
    position[masked] = np.arange(n)
    unknown = position[cols] >= 0
    # A u = b: the unknown taps form A (N x N) ...
    a = sparse.csr_array((coefs[unknown], (rows[unknown], position[cols[unknown]])), shape=(n, n))
    # ... the known taps move to the right-hand side, b = -sum_known coef * f (N, K)
    b = np.zeros((n, kk))
    np.add.at(b, rows[~unknown], -coefs[~unknown, None] * flat[cols[~unknown]])
    if split:
        # masked pixels that share no stencil form independent (block-diagonal) systems
        n_regions, region = connected_components(a, directed=False)
        solution = np.empty((n, kk))
        order = np.argsort(region, kind="stable")
        bounds = np.searchsorted(region[order], np.arange(n_regions + 1))
        for g in range(n_regions):
            idx = order[bounds[g] : bounds[g + 1]]
            sub = sparse.csc_array(a[idx][:, idx])
            solution[idx] = spsolve(sub, b[idx]).reshape(idx.size, kk)
    else:
        solution = spsolve(sparse.csc_array(a), b).reshape(n, kk)
    flat[masked] = solution
    return flat.T.reshape(kk, h, w)


def _check_mask(mask: Any, shape: tuple[int, ...]) -> Tensor:
    check_tensor(mask, "mask")
    if mask.dtype != torch.bool and not bool(((mask == 0) | (mask == 1)).all()):
        raise WrongTypeError(
            f"mask must be a bool tensor (or 0/1 values), got {describe(mask)} with other values"
        )
    if mask.dim() < 2 or tuple(mask.shape[-2:]) != shape[-2:]:
        raise ShapeError(
            f"mask must have the image's spatial shape {shape[-2:]} (H, W), got {describe(mask)}"
        )
    try:
        torch.broadcast_shapes(tuple(mask.shape), shape)
    except RuntimeError:
        raise ShapeError(
            f"mask must broadcast against the image of shape {shape}, got {describe(mask)}"
        ) from None
    return mask.bool()


def inpaint_biharmonic(
    image: Tensor,
    mask: Tensor,
    *,
    split_into_regions: bool = False,
    channel_axis: int | None = None,
) -> Tensor:
    r"""Fill the masked pixels by solving the biharmonic equation with the known pixels fixed.

    Args:
        image: images, shape ``(..., H, W)`` (channels are a leading dim, as everywhere in
            pixlearn), float, finite; the masked pixels' values are ignored.
        mask: the pixels to fill (``True``/1), bool or 0/1 values, shape ``(H, W)`` (one mask
            for every image and channel: one factorisation, many right-hand sides) or
            ``(..., H, W)`` broadcasting against the image (items with equal masks still share
            one solve). Every image must keep at least one known pixel.
        split_into_regions: solve each group of masked pixels that share no stencil separately
            (smaller systems, same result to rounding).
        channel_axis: ``None`` for the ``(..., C, H, W)`` layout; otherwise the axis of
            ``image`` holding channels (e.g. ``-1`` for a scikit-image style ``(H, W, C)``
            tensor): it is moved in front of the two spatial axes and back.

    Returns:
        The inpainted images, shape and dtype of ``image`` (computed in float64); known pixels
        are unchanged. Each image is clipped to the range of its known pixels. Not
        differentiable (a sparse direct solve in SciPy).

    Shape:
        ``(..., H, W), (H, W) -> (..., H, W)``.

    Raises:
        WrongTypeError: ``image`` not floating, ``mask`` not a tensor or with values other
            than 0/1, ``channel_axis`` not an int.
        ShapeError: ``mask``'s shape not ``(..., H, W)`` of the image or not broadcasting;
            ``channel_axis`` out of range or given for an image without a third axis.
        ValueRangeError: NaN/Inf in ``image``; an image whose pixels are all masked.

    Notes:
        With :math:`\Omega` the masked pixels, the discrete problem is

        .. math::
            (\Delta^2 u)(p) = 0 \quad (p \in \Omega), \qquad u(q) = f(q) \quad (q \notin \Omega),

        :math:`\Delta` the 5-point Laplacian, so :math:`\Delta^2` is the 13-point stencil
        (centre 20, axis neighbours -8, diagonal 2, distance-two axis neighbours 1). Splitting
        the stencil's taps into unknown and known pixels gives the sparse system
        :math:`A u_\Omega = -B f_{\bar\Omega}`, one row per masked pixel. Within two pixels of
        the image border the stencil is computed on the window cut to the image, with each
        Laplacian reflecting about the window's edge (a sample beyond the edge repeats the
        edge sample); these are exactly the conventions of
        ``skimage.restoration.inpaint_biharmonic``, including the final clipping to the known
        range (the biharmonic equation has no maximum principle and can overshoot).

    Example:
        >>> y, x = torch.meshgrid(torch.arange(8.0), torch.arange(8.0), indexing="ij")
        >>> plane = (y + 2 * x) / 21  # a plane is biharmonic: it is filled exactly
        >>> mask = torch.zeros(8, 8, dtype=torch.bool)
        >>> mask[3:5, 2:6] = True
        >>> out = inpaint_biharmonic(plane, mask)
        >>> bool(torch.allclose(out, plane, atol=1e-12))
        True

    References:
        Damelin, S. B., Hoang, N. S. "On surface completion and image inpainting by biharmonic
        functions: numerical aspects." Int. J. Math. Math. Sci. 2018, 3950312.
        Chui, C. K., Mhaskar, H. N. "MRA contextual-recovery extension of smooth functions on
        manifolds." Appl. Comput. Harmon. Anal. 28 (2010).
    """
    check_image(image, "image", floating=True, allow_empty=True)
    moved = channel_axis is not None
    if moved:
        axis = check_int(channel_axis, "channel_axis")
        nd = image.dim()
        if nd < 3:
            raise ShapeError(f"image must have a channel axis, got {describe(image)}")
        if not -nd <= axis < nd:
            raise ShapeError(f"channel_axis must be in [{-nd}, {nd}), got {channel_axis}")
        axis %= nd
        image = image.movedim(axis, -3)  # (..., C, H, W)
    m = _check_mask(mask, tuple(image.shape))
    shape = tuple(image.shape)
    h, w = shape[-2:]
    lead = shape[:-2]
    out = image.detach().to(torch.float64).cpu().numpy().reshape(-1, h, w).copy()  # (B, H, W)
    masks = m.expand(*lead, h, w).reshape(-1, h * w).cpu()  # (B, H W)
    if out.shape[0] and h * w:
        # group the images by mask: each distinct mask is one system, its images the columns
        unique, group = torch.unique(masks, dim=0, return_inverse=True)
        if bool(unique.all(dim=1).any()):
            raise ValueRangeError(
                "mask must leave at least one known pixel in every image, got a mask that "
                f"covers all {h * w} pixels"
            )
        group_np = group.numpy()
        for g in range(unique.shape[0]):
            mk = unique[g].numpy().reshape(h, w)
            if not mk.any():
                continue
            items = np.flatnonzero(group_np == g)
            vals = out[items]  # (K, H, W)
            known = vals[:, ~mk]  # (K, n_known)
            lo, hi = known.min(axis=1), known.max(axis=1)
            filled = _solve(vals, mk, split_into_regions)
            # no maximum principle: clip to the known range, as scikit-image does
            out[items] = np.clip(filled, lo[:, None, None], hi[:, None, None])
    result = torch.from_numpy(out.reshape(shape)).to(device=image.device, dtype=image.dtype)
    if moved:
        result = result.movedim(-3, axis)
    return result
