r"""The generalised distance transform of a sampled function (Felzenszwalb and Huttenlocher).

For a function :math:`f` on a grid and a separable quadratic cost, the transform finds, for
every position :math:`p`, the best trade-off :math:`\min_q f(q) + \text{cost}(q - p)`. With
:math:`f = 0` on a set and :math:`+\infty` elsewhere it is the squared Euclidean distance
transform; with :math:`f = -R` for a filter response :math:`R` it is the best placement of a
deformable part near every anchor, the inner maximisation of a deformable part model.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_tensor, describe
from pixlearn._core.errors import ShapeError, ValueRangeError

__all__ = ["distance_transform_generalized"]


def _envelope_1d(f: Tensor, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    r"""1-D transform along the last axis of ``f`` ``(M, n)`` with per-row costs ``a, b`` ``(M,)``.

    Returns ``(D, argmin)``, both ``(M, n)``: :math:`D(p) = \min_q f(q) + a(q - p) + b(q - p)^2`
    and the minimising ``q``. Rows with ``b > 0`` use the lower envelope of parabolas; rows with
    ``b == 0`` a linear cost, whose minimiser is the same ``q`` for every ``p``.
    """
    m, n = f.shape
    dev, dt = f.device, f.dtype
    q_all = torch.arange(n, device=dev, dtype=dt)  # (n,)
    quad = b > 0
    bb = torch.where(quad, b, torch.ones_like(b))[:, None]  # (M, 1), dummy 1 on linear rows
    # each q is a parabola b (p - r_q)^2 + const with root r_q = q + a / 2b; two of them, q > v,
    # cross at s = (y_q - y_v) / (2 b (q - v)) with y_q = f(q) + b q^2 + a q
    y = (f + bb * q_all**2 + a[:, None] * q_all).reshape(-1)  # (M n,), row-major
    two_b = 2 * bb[:, 0]  # (M,)
    # flat storage (one gather/scatter per step): stack v of envelope parabolas and z of the
    # abscissae where each starts to be the lowest; z[0] = -inf, unused slots +inf
    v = torch.zeros(m * n, dtype=torch.int64, device=dev)
    z = torch.full((m * (n + 1),), torch.inf, dtype=dt, device=dev)
    z[:: n + 1] = -torch.inf
    base_v = torch.arange(m, device=dev) * n  # (M,) first slot of each row
    base_z = torch.arange(m, device=dev) * (n + 1)
    k = torch.zeros(m, dtype=torch.int64, device=dev)  # top of each row's stack
    for q in range(1, n):
        yq = y.index_select(0, base_v + q)  # (M,)
        while True:
            top = v.index_select(0, base_v + k)  # (M,)
            # s = (y_q - y_top) / (2 b (q - top)): where parabola q overtakes the top one
            s = (yq - y.index_select(0, base_v + top)) / (two_b * (q - top))
            # z[0] = -inf, so the bottom parabola is never dropped and k stays >= 0
            pop = s <= z.index_select(0, base_z + k)  # the top is hidden by q everywhere
            if not bool(pop.any()):
                break
            k = k - pop.long()  # drop it and compare q with the one below
        k = k + 1
        v.index_copy_(0, base_v + k, torch.full_like(k, q))
        z.index_copy_(0, base_z + k, s)
    v, z = v.reshape(m, n), z.reshape(m, n + 1)
    # boundaries beyond each row's stack are stale: the segment of p is the count of z[1:] < p
    slot = torch.arange(n + 1, device=dev)
    z = torch.where(slot[None, 1:] > k[:, None], torch.inf, z[:, 1:])  # (M, n)
    p = q_all.expand(m, n).contiguous()
    seg = torch.searchsorted(z, p)  # (M, n)
    arg = v.gather(1, seg)  # (M, n)
    # linear rows: min_q f(q) + a q - a p, the same q for every p
    lin = (f + a[:, None] * q_all).argmin(1, keepdim=True).expand(m, n)  # (M, n)
    arg = torch.where(quad[:, None], arg, lin)
    # D(p) = f(q*) + a (q* - p) + b (q* - p)^2, evaluated at the minimiser itself
    dq = arg.to(dt) - p
    out = f.gather(1, arg) + a[:, None] * dq + b[:, None] * dq**2
    return out, arg


def distance_transform_generalized(
    f: Tensor,
    *,
    weights: Sequence[float] | Tensor = (0.0, 1.0, 0.0, 1.0),
    return_argmin: bool = True,
) -> Tensor | tuple[Tensor, Tensor]:
    r"""Generalised distance transform with linear and quadratic costs, per axis.

    Args:
        f: the sampled function, ``(..., H, W)`` float32 or float64, finite (use a large
            value such as ``1e10`` rather than ``inf`` for "nowhere").
        weights: ``(a, b, c, d)``: the cost of a displacement :math:`(dx, dy) = q - p` is
            :math:`a\,dx + b\,dx^2 + c\,dy + d\,dy^2`, with ``b, d >= 0``. A tensor
            ``(..., 4)`` gives every image of the batch its own weights (broadcast over the
            leading dimensions of ``f``), as a deformable part model's parts need.
        return_argmin: also return the minimising displacement.

    Returns:
        ``D`` (same shape and dtype as ``f``) and, with ``return_argmin``, the displacement
        ``(dy, dx) = q^* - p`` of a minimiser, int64 ``(..., 2, H, W)``.

    Shape:
        ``(..., H, W) -> (..., H, W)`` and ``(..., 2, H, W)``.

    Raises:
        WrongTypeError: a non-floating ``f``. ShapeError: fewer than 2 dimensions, weights
            not of length 4 or not broadcastable. ValueRangeError: NaN/Inf values, a negative
            quadratic weight.

    Notes:
        .. math::
            D(p) = \min_q\; f(q) + a\,dx + b\,dx^2 + c\,dy + d\,dy^2,
            \quad (dx, dy) = q - p.

        The cost is separable, so the 2-D transform is a 1-D transform along each row, then
        along each column of the result. In 1-D, each :math:`q` contributes the parabola
        :math:`p \mapsto f(q) + a(q - p) + b(q - p)^2`; all have the same shape, so their
        lower envelope is built left to right in :math:`O(n)`, keeping a stack of the
        parabolas it is made of and the abscissae where they meet (two parabolas
        :math:`q > v` meet at :math:`s = \frac{(f(q) + bq^2 + aq) - (f(v) + bv^2 + av)}
        {2b(q - v)}`), then read at every :math:`p`. The stack loop runs along the axis and is
        vectorised across all rows. With ``b = 0`` the cost is linear and one :math:`q`
        minimises for every :math:`p`. With ``(a, b, c, d) = (0, 1, 0, 1)`` and :math:`f`
        equal to 0 on a set and large elsewhere, :math:`D` is the squared Euclidean distance
        to the set.

    Example:
        >>> f = torch.full((1, 5), 100.0)
        >>> f[0, 2] = 0.0
        >>> d, arg = distance_transform_generalized(f)
        >>> d
        tensor([[4., 1., 0., 1., 4.]])
        >>> arg[1]  # dx: every position's minimiser is column 2
        tensor([[ 2,  1,  0, -1, -2]])

    References:
        Felzenszwalb, P. F. and Huttenlocher, D. P. "Distance transforms of sampled
        functions." Theory of Computing 8, 2012.
    """
    check_image(f, "f", floating=True, allow_empty=True)
    if f.dtype not in (torch.float32, torch.float64):
        raise ValueRangeError(f"f must be float32 or float64, got {f.dtype}")
    lead, (h, w) = f.shape[:-2], f.shape[-2:]
    if not isinstance(weights, Tensor):
        if len(weights) != 4:
            raise ShapeError(f"weights must hold 4 values (a, b, c, d), got {weights!r}")
        weights = torch.tensor([float(x) for x in weights], dtype=torch.float64)
    check_tensor(weights, "weights")
    if weights.dim() < 1 or weights.shape[-1] != 4:
        raise ShapeError(f"weights must have a last dimension of 4, got {describe(weights)}")
    wt = weights.to(device=f.device, dtype=f.dtype)
    if not bool(torch.isfinite(wt).all()):
        raise ValueRangeError("weights must be finite, got NaN or Inf")
    if bool((wt[..., 1] < 0).any()) or bool((wt[..., 3] < 0).any()):
        raise ValueRangeError(
            f"weights must have quadratic terms b, d >= 0, got {weights.tolist()}"
        )
    try:
        wt = torch.broadcast_to(wt, (*lead, 4))
    except RuntimeError:
        raise ShapeError(
            f"weights must broadcast to the leading dimensions {tuple(lead)} of f plus 4, "
            f"got {describe(weights)}"
        ) from None
    if f.numel() == 0:
        out = f.clone()
        disp = torch.zeros(*lead, 2, h, w, dtype=torch.int64, device=f.device)
        return (out, disp) if return_argmin else out
    m = f[..., 0, 0].numel()
    x = f.reshape(m, h, w)
    wt = wt.reshape(m, 4)
    # rows: g(y, p_x) = min_{q_x} f(y, q_x) + a dx + b dx^2, every row of every image at once
    a, b = wt[:, 0].repeat_interleave(h), wt[:, 1].repeat_interleave(h)  # (M H,)
    g, arg_x = _envelope_1d(x.reshape(m * h, w), a, b)  # (M H, W)
    g, arg_x = g.reshape(m, h, w), arg_x.reshape(m, h, w)
    # columns: D(p_y, p_x) = min_{q_y} g(q_y, p_x) + c dy + d dy^2
    c, d = wt[:, 2].repeat_interleave(w), wt[:, 3].repeat_interleave(w)  # (M W,)
    cols = g.transpose(1, 2).reshape(m * w, h)  # (M W, H)
    out, arg_y = _envelope_1d(cols, c, d)
    out = out.reshape(m, w, h).transpose(1, 2)  # (M, H, W)
    arg_y = arg_y.reshape(m, w, h).transpose(1, 2)  # (M, H, W): best q_y per p
    # the best q_x is the row pass's minimiser on row q_y
    arg_x = arg_x.gather(1, arg_y)  # (M, H, W)
    out = out.reshape(*lead, h, w)
    if not return_argmin:
        return out
    py = torch.arange(h, device=f.device)[:, None]
    px = torch.arange(w, device=f.device)[None, :]
    disp = torch.stack([arg_y - py, arg_x - px], dim=1)  # (M, 2, H, W)
    return out, disp.reshape(*lead, 2, h, w)
