r"""The guided filter: edge-preserving smoothing as a local linear regression on a guide image.

In every window the output is fitted as an affine function of the guide (one grey channel, or
the three colour channels with a per-window 3x3 covariance), so the output has an edge only
where the guide has one. All window statistics are box means (cumulative sums), so the cost is
O(1) per pixel whatever the radius. It refines the transmission map of dark-channel dehazing.
"""

from __future__ import annotations

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_int, check_positive, describe
from pixlearn._core.errors import ShapeError

__all__ = ["guided_filter"]


def _box_mean(x: Tensor, r: int) -> Tensor:
    """Mean over the ``(2r+1)^2`` window around each pixel, cut at the border, via cumulative sums.

    ``x`` is ``(..., H, W)``; per axis, with ``S[i] = sum_{j<i} x[j]`` padded by ``r`` copies of
    its first and last values, the window sum is ``S[min(i + r + 1, n)] - S[max(i - r, 0)]``:
    two reads per pixel whatever ``r``. Then divided by the number of pixels in the cut window.
    """
    out = x
    for dim in (-2, -1):
        n = out.shape[dim]
        zero = torch.zeros_like(out.narrow(dim, 0, 1))
        s = torch.cat([zero, out.cumsum(dim)], dim)  # (..., n + 1, ...), S[0] = 0
        last = s.narrow(dim, n, 1)
        # S padded: S[-r..-1] = S[0] = 0 and S[n+1..n+r] = S[n]
        reps = [1] * s.dim()
        reps[dim] = r
        s = torch.cat([zero.repeat(reps), s, last.repeat(reps)], dim)  # (..., n + 1 + 2r, ...)
        out = s.narrow(dim, 2 * r + 1, n) - s.narrow(dim, 0, n)
        i = torch.arange(n, device=x.device)
        count = ((i + r + 1).clamp(max=n) - (i - r).clamp(min=0)).to(x.dtype)  # window length
        out = out / (count[:, None] if dim == -2 else count)
    return out


def _grey(i: Tensor, p: Tensor, r: int, eps: float) -> Tensor:
    """The grey-guide filter on float64 ``(..., H, W)`` tensors of one shape."""
    # the four window means in one pass: mean(I), mean(p), mean(I p), mean(I^2)
    mean_i, mean_p, mean_ip, mean_ii = _box_mean(torch.stack([i, p, i * p, i * i]), r)
    # cov(I, p) = mean(I p) - mean(I) mean(p); var(I) = mean(I^2) - mean(I)^2
    cov_ip = mean_ip - mean_i * mean_p
    var_i = mean_ii - mean_i * mean_i
    # a = cov / (var + eps), b = mean(p) - a mean(I)
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    # q = mean(a) I + mean(b)
    mean_a, mean_b = _box_mean(torch.stack([a, b]), r)
    return mean_a * i + mean_b


def _colour(i: Tensor, p: Tensor, r: int, eps: float) -> Tensor:
    """The colour-guide filter: ``i`` float64 ``(3, ..., H, W)``, ``p`` float64 ``(..., H, W)``."""
    pairs = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]  # the 6 entries of a symmetric 3x3
    # 13 window means in one pass: mean(I_c), mean(p), mean(I_c p), mean(I_c I_d)
    stats = torch.cat([i, p[None], i * p, torch.stack([i[c] * i[d] for c, d in pairs])])
    means = _box_mean(stats, r)  # (13, ..., H, W)
    mu, mean_p, mean_ip, mean_ii = means[:3], means[3], means[4:7], means[7:]
    # cov(I, p)_k = mean(I p) - mu mean(p), a 3-vector per window
    cov = mean_ip - mu * mean_p  # (3, ..., H, W)
    # Sigma_k + eps U = mean(I I^T) - mu mu^T + eps U, its 6 distinct entries
    s00, s01, s02, s11, s12, s22 = (
        mean_ii[n] - mu[c] * mu[d] + (eps if c == d else 0.0) for n, (c, d) in enumerate(pairs)
    )
    # (Sigma + eps U)^-1 = adj / det: the cofactors of a symmetric 3x3 matrix, for all
    # windows at once (the matrix is positive definite, det >= eps^3 > 0)
    c00 = s11 * s22 - s12 * s12
    c01 = s02 * s12 - s01 * s22
    c02 = s01 * s12 - s02 * s11
    c11 = s00 * s22 - s02 * s02
    c12 = s01 * s02 - s00 * s12
    c22 = s00 * s11 - s01 * s01
    det = s00 * c00 + s01 * c01 + s02 * c02
    # a_k = (Sigma_k + eps U)^-1 cov(I, p)_k
    adj = torch.stack([c00, c01, c02, c01, c11, c12, c02, c12, c22]).unflatten(0, (3, 3))
    a = (adj * cov[None]).sum(1) / det  # (3, ..., H, W)
    # b_k = mean(p) - a_k^T mu_k
    b = mean_p - (a * mu).sum(0)
    # q_i = mean(a)_i^T I_i + mean(b)_i
    mean_ab = _box_mean(torch.cat([a, b[None]]), r)  # (4, ..., H, W)
    return (mean_ab[:3] * i).sum(0) + mean_ab[3]


def guided_filter(
    guide: Tensor, src: Tensor, radius: int, eps: float, *, color_guide: bool = False
) -> Tensor:
    r"""The guided filter: edge-preserving smoothing of ``src`` steered by a grey or colour guide.

    Args:
        guide: the guidance images, float, finite: grey, shape ``(..., H, W)``, or with
            ``color_guide=True`` colour, shape ``(..., 3, H, W)``.
        src: the images to filter, shape ``(..., H, W)``; its leading dims broadcast against
            the guide's (those before the channel dim for a colour guide).
        radius: the window is ``(2 radius + 1)^2`` pixels, cut at the border; >= 0.
        eps: the regularisation :math:`\epsilon > 0`: edges with local variance well above it
            are kept, flatter regions are smoothed.
        color_guide: the guide's dim ``-3`` holds 3 colour channels, used jointly (a 3x3
            covariance per window), so edges between colours of equal brightness are kept
            too. Explicit, because a grey guide ``(B, 3, H, W)`` is a valid batch.

    Returns:
        The filtered images, shape ``(*broadcast(lead, src.shape[:-2]), H, W)`` with ``lead``
        the guide's leading dims, dtype of ``src`` (computed in float64: cumulative sums in
        float32 lose digits on large images). Differentiable.

    Shape:
        Grey: ``(..., H, W), (..., H, W) -> (..., H, W)``; colour:
        ``(..., 3, H, W), (..., H, W) -> (..., H, W)``.

    Raises:
        WrongTypeError: ``guide``/``src`` not floating, ``radius`` not an int.
        ShapeError: empty images, spatial shapes that differ, leading dims not broadcasting,
            a colour guide without 3 channels.
        ValueRangeError: NaN/Inf, ``radius < 0``, ``eps <= 0``.

    Notes:
        In each window :math:`\omega_k` the output is a linear function of the guide,
        :math:`q_i = a_k I_i + b_k`, fitted to :math:`p` by ridge regression:

        .. math::
            a_k = \frac{\overline{Ip}_k - \mu_k \bar p_k}{\sigma_k^2 + \epsilon}, \qquad
            b_k = \bar p_k - a_k \mu_k, \qquad
            q_i = \bar a_i I_i + \bar b_i,

        where bars are window means (computed with box filters, O(1) per pixel) and
        :math:`\bar a_i, \bar b_i` average the coefficients of the windows covering :math:`i`.
        Since :math:`\nabla q \approx \bar a \nabla I`, edges of the guide pass to the output.
        With a colour guide :math:`I_i \in \mathbb{R}^3` and :math:`a_k` is a 3-vector:

        .. math::
            a_k = (\Sigma_k + \epsilon U)^{-1}
            \left(\overline{I p}_k - \mu_k \bar p_k\right), \qquad
            b_k = \bar p_k - a_k^\top \mu_k, \qquad
            q_i = \bar a_i^\top I_i + \bar b_i,

        with :math:`\Sigma_k` the 3x3 covariance of :math:`I` in :math:`\omega_k` and
        :math:`U` the identity; the 3x3 systems of all windows are solved at once in closed
        form (cofactors over the determinant).

    Example:
        >>> step = torch.zeros(8, 8)
        >>> step[:, 4:] = 1
        >>> out = guided_filter(step, step, 2, 1e-4)  # the guide's own edge is preserved
        >>> bool((out - step).abs().max() < 1e-2)
        True
        >>> rgb = torch.zeros(3, 8, 8)
        >>> rgb[0, :, 4:] = 0.5  # red | green halves of equal brightness: an edge in colour only
        >>> rgb[1, :, :4] = 0.5
        >>> out = guided_filter(rgb, step, 2, 1e-4, color_guide=True)
        >>> bool((out - step).abs().max() < 1e-2)
        True

    References:
        He, K., Sun, J., Tang, X. "Guided image filtering." ECCV 2010 (and IEEE TPAMI 35, 2013).
    """
    check_image(guide, "guide", min_dims=3 if color_guide else 2, floating=True)
    check_image(src, "src", floating=True)
    r = check_int(radius, "radius", min_value=0)
    e = check_positive(eps, "eps")
    if color_guide and guide.shape[-3] != 3:
        raise ShapeError(
            f"guide must have 3 colour channels (..., 3, H, W) with color_guide=True, "
            f"got {describe(guide)}"
        )
    if guide.shape[-2:] != src.shape[-2:]:
        raise ShapeError(
            f"src must have the guide's spatial shape {tuple(guide.shape[-2:])}, "
            f"got {describe(src)}"
        )
    lead = guide.shape[:-3] if color_guide else guide.shape[:-2]
    try:
        shape = torch.broadcast_shapes((*lead, *guide.shape[-2:]), src.shape)
    except RuntimeError:
        raise ShapeError(
            f"src must broadcast against the guide {describe(guide)}, got {describe(src)}"
        ) from None
    if 0 in shape:
        return src.new_zeros(shape)
    p = src.to(torch.float64).expand(shape)  # p, (..., H, W)
    if not color_guide:
        q = _grey(guide.to(torch.float64).expand(shape), p, r, e)
    else:
        # the channels first, so that each is one (..., H, W) slice: (3, ..., H, W)
        i = guide.to(torch.float64).movedim(-3, 0)  # (3, *lead, H, W)
        i = i.reshape(3, *(1,) * (len(shape) - i.dim() + 1), *i.shape[1:]).expand(3, *shape)
        q = _colour(i, p, r, e)
    return q.to(src.dtype)
