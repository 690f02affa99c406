"""Image moments: raw, central, normalised and Hu's seven invariants."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_int, check_tensor, describe
from pixlearn._core.errors import ShapeError

__all__ = ["moments", "moments_central", "moments_hu", "moments_normalized"]


def _as_float(image: Tensor) -> Tensor:
    """Floating images keep their dtype; integer and bool images are summed in float64."""
    return image if image.is_floating_point() else image.to(torch.float64)


def _powers(n: int, order: int, center: Tensor | None, like: Tensor) -> Tensor:
    """``(..., n, order + 1)`` table of ``(x - center)^k`` for ``x = 0 .. n - 1``."""
    x = torch.arange(n, dtype=like.dtype, device=like.device)  # (n,)
    if center is not None:
        x = x - center[..., None]  # (..., n)
    k = torch.arange(order + 1, dtype=like.dtype, device=like.device)
    return x[..., None] ** k  # (..., n, order + 1)


def moments(image: Tensor, order: int = 3) -> Tensor:
    r"""Raw image moments up to ``order`` along each axis.

    Args:
        image: intensities (or a mask), shape ``(..., H, W)``, any real dtype, finite.
        order: the largest power of each coordinate, ``>= 0``.

    Returns:
        ``M`` with ``M[..., p, q]`` the moment of row power ``p`` and column power ``q``,
        in the image's dtype (float64 for integer and bool images).

    Shape:
        ``(..., H, W) -> (..., order + 1, order + 1)``.

    Notes:
        :math:`M_{pq} = \sum_{r, c} r^p c^q I(r, c)`, with ``r`` the row index and ``c`` the
        column index counted from 0, the index convention of ``skimage.measure.moments``.
        So ``M[0, 0]`` is the area (mass) and the centroid is
        ``(M[1, 0] / M[0, 0], M[0, 1] / M[0, 0])`` in ``(row, col)``.
        Differentiable with respect to ``image``.

    Example:
        >>> img = torch.zeros(20, 20, dtype=torch.float64)
        >>> img[13:17, 13:17] = 1
        >>> M = moments(img)
        >>> (M[1, 0] / M[0, 0]).item(), (M[0, 1] / M[0, 0]).item()
        (14.5, 14.5)

    References:
        Hu, M.-K. "Visual pattern recognition by moment invariants." IRE Trans. Information
        Theory 8(2), 1962.
    """
    check_image(image, "image", allow_empty=True)
    order = check_int(order, "order", min_value=0)
    img = _as_float(image)
    rows = _powers(img.shape[-2], order, None, img)  # (H, order + 1)
    cols = _powers(img.shape[-1], order, None, img)  # (W, order + 1)
    # M[p, q] = sum_r sum_c r^p c^q I[r, c]
    return torch.einsum("...rc,rp,cq->...pq", img, rows, cols)


def moments_central(
    image: Tensor, center: Sequence[float] | Tensor | None = None, order: int = 3
) -> Tensor:
    r"""Central image moments: raw moments about ``center`` (the centroid by default).

    Args:
        image: intensities, shape ``(..., H, W)``, any real dtype, finite.
        center: ``(row, col)`` of the origin, a pair of numbers or a tensor shaped
            ``(..., 2)`` (one centre per image); ``None`` is each image's centroid.
        order: the largest power of each coordinate, ``>= 0``.

    Returns:
        ``mu`` shaped like :func:`moments`. As in ``skimage.measure.moments_central``, with
        ``center=None`` only the moments of total order ``p + q <= order`` are filled (the
        others are 0) and the first-order ones are exactly 0; with an explicit ``center``
        every ``p, q <= order`` is computed.

    Shape:
        ``(..., H, W) -> (..., order + 1, order + 1)``.

    Notes:
        :math:`\mu_{pq} = \sum_{r, c} (r - \bar r)^p (c - \bar c)^q I(r, c)`, with the centroid
        :math:`(\bar r, \bar c) = (M_{10} / M_{00}, M_{01} / M_{00})`. Central moments do
        not change when the image content is translated.

    Example:
        >>> img = torch.zeros(20, 20, dtype=torch.float64)
        >>> img[13:17, 13:17] = 1
        >>> moments_central(img, (14.5, 14.5))
        tensor([[16.,  0., 20.,  0.],
                [ 0.,  0.,  0.,  0.],
                [20.,  0., 25.,  0.],
                [ 0.,  0.,  0.,  0.]], dtype=torch.float64)

    References:
        Hu, M.-K. "Visual pattern recognition by moment invariants." IRE Trans. Information
        Theory 8(2), 1962.
    """
    check_image(image, "image", allow_empty=True)
    order = check_int(order, "order", min_value=0)
    img = _as_float(image)
    batch = img.shape[:-2]
    if center is None:
        raw = moments(img, order=max(order, 1))
        # centroid (r, c) = (M10 / M00, M01 / M00), one per image
        ctr = torch.stack([raw[..., 1, 0], raw[..., 0, 1]], dim=-1) / raw[..., :1, 0]
    else:
        ctr = _center(center, batch, img)
    rows = _powers(img.shape[-2], order, ctr[..., 0], img)  # (..., H, order + 1)
    cols = _powers(img.shape[-1], order, ctr[..., 1], img)  # (..., W, order + 1)
    # mu[p, q] = sum_r sum_c (r - r0)^p (c - c0)^q I[r, c]
    mu = torch.einsum("...rc,...rp,...cq->...pq", img, rows, cols)
    if center is None:
        p = torch.arange(order + 1, device=img.device)
        keep = (p[:, None] + p[None, :]) <= order  # (order + 1, order + 1)
        if order >= 1:  # first-order central moments are 0 by definition
            keep[1, 0] = keep[0, 1] = False
        mu = mu * keep.to(mu.dtype)
    return mu


def _center(center: Sequence[float] | Tensor, batch: torch.Size, like: Tensor) -> Tensor:
    """``center`` as a ``(..., 2)`` tensor broadcast to the image batch."""
    if isinstance(center, Tensor):
        ctr = center.to(like.dtype)
    else:
        try:
            ctr = torch.tensor([float(v) for v in center], dtype=like.dtype)
        except (TypeError, ValueError):
            raise ShapeError(
                f"center must be a pair (row, col) or a tensor (..., 2), got {describe(center)}"
            ) from None
    if ctr.shape[-1:] != (2,):
        raise ShapeError(
            f"center must be a pair (row, col) or a tensor (..., 2), got {describe(center)}"
        )
    return ctr.to(like.device).expand(*batch, 2)


def moments_normalized(mu: Tensor, order: int = 3) -> Tensor:
    r"""Scale-normalised central moments.

    Args:
        mu: central moments from :func:`moments_central`, shape ``(..., m, m)`` with
            ``m > order``, floating.
        order: the largest power of each coordinate.

    Returns:
        ``nu``, the same shape and dtype as ``mu``: entries with ``p + q < 2`` are NaN (they
        carry no shape information), entries with ``p`` or ``q > order`` are 0, as
        ``skimage.measure.moments_normalized``.

    Shape:
        ``(..., m, m) -> (..., m, m)``.

    Notes:
        :math:`\eta_{pq} = \mu_{pq} / \mu_{00}^{(p + q) / 2 + 1}`. Scaling the shape by
        :math:`s` multiplies :math:`\mu_{pq}` by :math:`s^{p + q + 2}` and :math:`\mu_{00}`
        by :math:`s^2`, so :math:`\eta_{pq}` is unchanged: translation and scale invariant.

    Example:
        >>> img = torch.zeros(20, 20, dtype=torch.float64)
        >>> img[13:17, 13:17] = 1
        >>> moments_normalized(moments_central(img))[2, 0].item()
        0.078125

    References:
        Hu, M.-K. "Visual pattern recognition by moment invariants." IRE Trans. Information
        Theory 8(2), 1962.
    """
    check_tensor(mu, "mu")
    order = check_int(order, "order", min_value=0)
    if mu.dim() < 2 or mu.shape[-1] != mu.shape[-2] or mu.shape[-1] <= order:
        raise ShapeError(
            f"mu must be square moments shaped (..., m, m) with m > order = {order}, "
            f"got {describe(mu)}"
        )
    m = _as_float(mu)
    p = torch.arange(m.shape[-1], dtype=m.dtype, device=m.device)
    total = p[:, None] + p[None, :]  # (m, m), p + q
    # eta_pq = mu_pq / mu_00^((p + q) / 2 + 1)
    nu = m / m[..., :1, :1] ** (total / 2 + 1)
    inside = (p[:, None] <= order) & (p[None, :] <= order)
    nu = torch.where(inside, nu, torch.zeros_like(nu))
    return torch.where(total < 2, torch.full_like(nu, float("nan")), nu)


def moments_hu(nu: Tensor) -> Tensor:
    r"""Hu's seven moment invariants from normalised central moments.

    Args:
        nu: normalised central moments (:func:`moments_normalized`), shape ``(..., m, m)``
            with ``m >= 4``.

    Returns:
        The invariants :math:`\phi_1 .. \phi_7`, shape ``(..., 7)``, equal to
        ``skimage.measure.moments_hu``.

    Shape:
        ``(..., m, m) -> (..., 7)``.

    Notes:
        With :math:`a = \eta_{30} + \eta_{12}`, :math:`b = \eta_{21} + \eta_{03}`,
        :math:`u = \eta_{30} - 3\eta_{12}` and :math:`v = 3\eta_{21} - \eta_{03}`:

        .. math::
            \phi_1 &= \eta_{20} + \eta_{02}, \quad
            \phi_2 = (\eta_{20} - \eta_{02})^2 + 4\eta_{11}^2, \quad
            \phi_3 = u^2 + v^2, \quad \phi_4 = a^2 + b^2, \\
            \phi_5 &= u a (a^2 - 3b^2) + v b (3a^2 - b^2), \quad
            \phi_6 = (\eta_{20} - \eta_{02})(a^2 - b^2) + 4\eta_{11} a b, \\
            \phi_7 &= v a (a^2 - 3b^2) - u b (3a^2 - b^2).

        :math:`\phi_1 .. \phi_6` are invariant to translation, scale and rotation;
        :math:`\phi_7` changes sign under a reflection (it tells mirror images apart).

    Example:
        >>> img = torch.zeros(20, 20, dtype=torch.float64)
        >>> img[13:17, 13:17] = 0.5
        >>> img[10:12, 10:12] = 1
        >>> moments_hu(moments_normalized(moments_central(img))).round(decimals=4)
        tensor([0.7454, 0.3512, 0.1040, 0.0406, 0.0026, 0.0241, 0.0000], dtype=torch.float64)

    References:
        Hu, M.-K. "Visual pattern recognition by moment invariants." IRE Trans. Information
        Theory 8(2), 1962.
    """
    check_tensor(nu, "nu")
    if nu.dim() < 2 or nu.shape[-1] != nu.shape[-2] or nu.shape[-1] < 4:
        raise ShapeError(
            f"nu must be normalised moments shaped (..., m, m) with m >= 4, got {describe(nu)}"
        )
    n = _as_float(nu)
    n20, n02, n11 = n[..., 2, 0], n[..., 0, 2], n[..., 1, 1]
    n30, n03, n21, n12 = n[..., 3, 0], n[..., 0, 3], n[..., 2, 1], n[..., 1, 2]
    a, b = n30 + n12, n21 + n03
    u, v = n30 - 3 * n12, 3 * n21 - n03
    d = n20 - n02
    p1 = a * a - 3 * b * b  # a^2 - 3 b^2
    p2 = 3 * a * a - b * b  # 3 a^2 - b^2
    return torch.stack(
        [
            n20 + n02,
            d * d + 4 * n11 * n11,
            u * u + v * v,
            a * a + b * b,
            u * a * p1 + v * b * p2,
            d * (a * a - b * b) + 4 * n11 * a * b,
            v * a * p1 - u * b * p2,
        ],
        dim=-1,
    )
