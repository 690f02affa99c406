"""The exact Euclidean distance transform, by the separable lower envelope of parabolas."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_positive, describe
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = ["distance_transform_edt"]


def distance_transform_edt(
    binary: Tensor,
    *,
    sampling: float | Sequence[float] | None = None,
    return_indices: bool = False,
    dtype: torch.dtype | None = None,
) -> Tensor | tuple[Tensor, Tensor]:
    r"""Exact Euclidean distance from every foreground pixel to the nearest background pixel.

    Args:
        binary: shape ``(..., H, W)``, bool or 0/1 numbers; nonzero is foreground. Leading
            dimensions are independent images.
        sampling: the pixel spacing, one number or ``(row, col)``; ``None`` is ``1``.
        return_indices: also return, per pixel, the (row, col) of its nearest background pixel.
        dtype: floating dtype of the distances; ``None`` is ``torch.get_default_dtype()``.
            Squared distances are always computed in float64 and rounded once.

    Returns:
        The distances (0 on the background), shape ``(..., H, W)``; with ``return_indices``,
        also an int64 tensor ``(..., 2, H, W)`` of the nearest background coordinates. Where
        two background pixels are equally near, either may be returned. An image with no
        background follows SciPy: distances and indices refer to the virtual pixel
        ``(-1, 0)`` just above the top-left corner.

    Shape:
        ``(..., H, W) -> (..., H, W)`` and ``(..., 2, H, W)``.

    Raises:
        ValueRangeError: values other than 0/1, a non-positive ``sampling``.
        ShapeError: an empty image, a ``sampling`` that is not one or two numbers.
        WrongTypeError: a non-floating ``dtype``.

    Notes:
        :math:`D(p) = \min_{q : b(q) = 0} \lVert p - q \rVert` is separable:
        :math:`D^2(i, j) = \min_{j'} \left( s_c^2 (j - j')^2 + G^2(i, j') \right)` where
        :math:`G(i, j') = s_r \min_{i' : b(i', j') = 0} |i - i'|` is the 1-D distance along the
        column. Each row of the second step is the lower envelope of the parabolas
        :math:`y = s_c^2 (x - j')^2 + G^2(i, j')`; two parabolas at :math:`p < q` cross at
        :math:`x^* = \frac{(G_q^2 + s_c^2 q^2) - (G_p^2 + s_c^2 p^2)}{2 s_c^2 (q - p)}`, and a
        stack of visible parabolas is built left to right in one pass (all rows at once; this
        loop runs in NumPy on the host, the result returns to the input's device).
        Where every column holds background and distances are short, the envelope is
        replaced by a bounded search: :math:`D \le G` at each pixel, so only the columns
        with :math:`s_c |j - j'| < G(i, j)` can win, tried by increasing offset (work
        :math:`\sum G / s_c`, in cache-sized blocks of rows). Equals
        ``scipy.ndimage.distance_transform_edt``.

    Example:
        >>> b = torch.tensor([[0, 1, 1, 1, 1]])
        >>> distance_transform_edt(b)
        tensor([[0., 1., 2., 3., 4.]])

    References:
        Felzenszwalb, P. F. and Huttenlocher, D. P. "Distance transforms of sampled functions."
        Theory of Computing 8, 2012. Meijster, A., Roerdink, J. B. T. M. and Hesselink, W. H.
        "A general algorithm for computing distance transforms in linear time." ISMM 2000.
    """
    check_image(binary, "binary")
    if binary.is_complex():
        raise WrongTypeError(f"binary must be bool or real, got {binary.dtype}")
    if binary.dtype != torch.bool and bool(((binary != 0) & (binary != 1)).any()):
        raise ValueRangeError(f"binary must be binary (bool or 0/1), got {describe(binary)}")
    out_dtype = torch.get_default_dtype() if dtype is None else dtype
    if not out_dtype.is_floating_point:
        raise WrongTypeError(f"dtype must be a floating dtype, got {out_dtype}")
    s_row, s_col = _sampling(sampling)
    shape = binary.shape
    H, W = shape[-2:]
    fg = (binary != 0).reshape(-1, H, W)  # (B, H, W)
    B = fg.shape[0]
    dev = binary.device

    # short distances (the usual case): a search bounded by the column distance
    quick = _bounded_search(fg.cpu().numpy(), s_row, s_col, return_indices)
    if quick is not None:
        d2, row, col = quick
        # D = s_r sqrt(D^2 / s_r^2), rounded once to the output dtype
        root = np.sqrt(d2, dtype=np.float64)
        if s_row != 1.0:
            root *= s_row
        dist = torch.from_numpy(root).to(device=dev, dtype=out_dtype).reshape(shape)
        if not return_indices:
            return dist
        indices = torch.from_numpy(np.stack([row, col], axis=1)).to(dev)  # (B, 2, H, W)
        return dist, indices.reshape(*shape[:-2], 2, H, W)
    if B > 1:  # each image on its own, so that a batch gives what its items give
        parts = [
            distance_transform_edt(f, sampling=(s_row, s_col), return_indices=True, dtype=dtype)
            for f in fg
        ]
        dist = torch.stack([p[0] for p in parts]).reshape(shape)
        if not return_indices:
            return dist
        return dist, torch.stack([p[1] for p in parts]).reshape(*shape[:-2], 2, H, W)

    # otherwise the lower envelope; step 1, along each column: the nearest background row
    # above (cummax) and below (cummin)
    rows = torch.arange(H, device=dev, dtype=torch.int32).view(1, H, 1)
    none = 2 * H + 1  # "no background" marker, farther than any real row
    above = torch.where(fg, -none, rows).cummax(dim=1).values  # (B, H, W)
    below = torch.where(fg, none, rows).flip(1).cummin(dim=1).values.flip(1)
    nearest_row = torch.where(rows - above <= below - rows, above, below)  # (B, H, W)
    found = (nearest_row >= 0) & (nearest_row < H)
    # G^2 = (s_r * (i - i'))^2, +inf where the column holds no background at all
    g2 = ((rows - nearest_row).double() * s_row) ** 2
    g2 = torch.where(found, g2, torch.inf)

    # step 2, along each row: lower envelope of the parabolas, all B*H rows together
    d2, col = _lower_envelope(g2.reshape(B * H, W), s_col * s_col)  # (B*H, W) each
    d2, col = d2.view(B, H, W), col.view(B, H, W)
    # (B, H, W), the row of the winning column's background
    row = nearest_row.gather(2, col).long()

    # an image without background: SciPy's convention, the virtual pixel (-1, 0)
    empty = ~(~fg).flatten(1).any(1)  # (B,)
    if bool(empty.any()):
        ii = torch.arange(H, device=dev, dtype=torch.float64).view(H, 1)
        jj = torch.arange(W, device=dev, dtype=torch.float64).view(1, W)
        virtual = ((ii + 1) * s_row) ** 2 + (jj * s_col) ** 2  # (H, W)
        d2 = torch.where(empty.view(B, 1, 1), virtual, d2)
        row = torch.where(empty.view(B, 1, 1), -1, row)
        col = torch.where(empty.view(B, 1, 1), 0, col)
    dist = d2.sqrt().to(out_dtype).reshape(shape)
    if not return_indices:
        return dist
    indices = torch.stack([row, col], dim=1)  # (B, 2, H, W)
    return dist, indices.reshape(*shape[:-2], 2, H, W)


def _sampling(sampling: float | Sequence[float] | None) -> tuple[float, float]:
    if sampling is None:
        return 1.0, 1.0
    if isinstance(sampling, (tuple, list)):
        if len(sampling) != 2:
            raise ShapeError(f"sampling must be a number or a pair (row, col), got {sampling!r}")
        return check_positive(sampling[0], "sampling"), check_positive(sampling[1], "sampling")
    v = check_positive(sampling, "sampling")
    return v, v


def _lower_envelope(f: Tensor, c: float) -> tuple[Tensor, Tensor]:
    """Per row of ``f (R, W)``: ``min_j c (x - j)^2 + f[j]`` and its argmin ``j``, for each x.

    ``f`` is float64, ``+inf`` where a column offers no parabola; rows without any finite
    value give ``+inf`` and index 0. The left-to-right construction is one loop over the
    columns, vectorised over the rows; it runs in NumPy on the host, whose per-call cost on
    short vectors is a fraction of torch's, and the result goes back to ``f``'s device.
    """
    R, W = f.shape
    fn = f.cpu().numpy()
    v = np.zeros((R, W), dtype=np.int64)  # apex of the k-th visible parabola
    z = np.full((R, W + 1), np.inf)  # left boundary of the k-th visible parabola
    k = np.full(R, -1, dtype=np.int64)  # index of the last one, -1: none yet
    finite = np.isfinite(fn)
    for q in range(W):
        ok = np.flatnonzero(finite[:, q])  # rows with a parabola at column q
        if ok.size == 0:
            continue
        fq = fn[ok, q] + c * q * q
        s = np.full(ok.size, -np.inf)  # a row whose stack is empty starts it at -inf
        pos = np.flatnonzero(k[ok] >= 0)  # positions (in ok) of rows with a stack
        while pos.size:
            rows = ok[pos]
            kk = k[rows]
            p = v[rows, kk]  # apex of the parabola on top of the stack
            # x* where parabola q overtakes parabola p
            x = (fq[pos] - (fn[rows, p] + c * p * p)) / (2 * c * (q - p))
            s[pos] = x
            hidden = x <= z[rows, kk]  # p is never the lowest any more: pop it
            k[rows[hidden]] -= 1
            pos = pos[hidden]
        k[ok] += 1
        v[ok, k[ok]] = q
        z[ok, k[ok]] = s
    # evaluation: parabola j is the lowest on [z[j], z[j+1]); boundaries past the top are +inf
    z[np.arange(W + 1)[None, :] > k[:, None]] = np.inf
    xs = np.arange(W, dtype=np.float64)
    # the number of boundaries z[1..k] at or left of x is the index of the lowest parabola
    bounds = torch.from_numpy(np.ascontiguousarray(z[:, 1:]))
    j = torch.searchsorted(
        bounds, torch.from_numpy(xs).expand(R, W).contiguous(), right=True
    ).numpy()
    col = np.take_along_axis(v, np.minimum(j, W - 1), axis=1)  # (R, W)
    # D^2(x) = c (x - j')^2 + f[j']
    d2 = c * (xs[None, :] - col) ** 2 + np.take_along_axis(fn, col, axis=1)
    none = k < 0
    d2[none] = np.inf
    col[none] = 0
    return torch.from_numpy(d2).to(f.device), torch.from_numpy(col).to(f.device)


def _bounded_search(
    fg: np.ndarray, s_row: float, s_col: float, return_indices: bool
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None] | None:
    """The squared distances ``(B, H, W)`` of the foreground ``fg (B, H, W)``, and with
    ``return_indices`` the nearest background's row and column (int64); ``None`` where a
    column holds no background or the search would be long (then the lower envelope runs).

    Step 1 gives ``g``, the distance along the column, by a forward and a backward scan
    (vectorised over all columns). Step 2 needs no envelope: ``D <= s_r g`` at every
    pixel, so only columns with ``s_c |x - j| < s_r g(x)`` can improve on the pixel's own,
    and the search tries the offsets ``d = 1, 2, ...`` on the pixels whose bound allows
    them; sorted by that bound, those are a prefix of one list at every ``d``. The work is
    ``sum(g / s_c)`` gathers, linear in the shape's area times its thickness.
    """
    B, H, W = fg.shape
    none = H + 2  # farther than any real row distance
    # step 1: the distance to the nearest background above (forward scan), then below
    up = fg * np.int32(none)  # (B, H, W), 0 on the background
    tmp = np.empty((B, W), np.int32)
    for i in range(1, H):
        np.add(up[:, i - 1], 1, out=tmp)
        np.minimum(up[:, i], tmp, out=up[:, i])
    g = up.copy() if return_indices else up  # (B, H, W)
    for i in range(H - 2, -1, -1):
        np.add(g[:, i + 1], 1, out=tmp)
        np.minimum(g[:, i], tmp, out=g[:, i])
    if bool((g >= none).any()):  # a column without background: no bound
        return None
    iso = s_row == s_col
    # in units of s_r: D^2 / s_r^2 = min_j g(j)^2 + c (x - j)^2 with c = (s_c / s_r)^2;
    # integers (exact) for square pixels, float64 otherwise
    c = 1 if iso else (s_col / s_row) ** 2
    g2 = g * g if iso else np.square(g, dtype=np.float64)  # (B, H, W)
    # the largest offset worth trying: c d^2 < g^2
    steps = (g - 1 if iso else np.ceil(g / np.sqrt(c)).astype(np.int32) - 1).reshape(-1)
    P = int(steps.max())
    if int(np.maximum(steps, 0).sum(dtype=np.int64)) > 48 * steps.size:
        return None  # long searches: the envelope is linear whatever the distances
    d2 = g2.reshape(-1).copy()
    off = np.zeros(d2.size, np.int32)  # column of the winner, less the pixel's
    if P >= 1:
        Wp = W + 2 * P
        padded = np.full((B * H, Wp), np.inf if not iso else 2**30, dtype=g2.dtype)
        padded[:, P : P + W] = g2.reshape(B * H, W)
        # blocks of rows small enough to stay in the cache while every offset is tried
        rows = max(1, 2**18 // Wp)
        for r0 in range(0, B * H, rows):
            r1 = min(r0 + rows, B * H)
            _search_rows(padded[r0:r1].reshape(-1), P, W, c, steps, d2, off, r0, r1, return_indices)
    d2 = d2.reshape(B, H, W)
    if not return_indices:
        return d2, None, None
    # the winner's column, then the row of its nearest background (above if up == g)
    jj = np.arange(W, dtype=np.int64) + off.reshape(B, H, W)  # (B, H, W)
    ii = np.arange(H, dtype=np.int64)[:, None]
    near = np.where(up == g, ii - g, ii + g)  # (B, H, W), per column
    rr = np.take_along_axis(near, jj, axis=2)
    return d2, rr, jj


def _search_rows(
    a: np.ndarray,
    P: int,
    W: int,
    c: float,
    steps: np.ndarray,
    d2: np.ndarray,
    off: np.ndarray,
    r0: int,
    r1: int,
    track: bool,
) -> None:
    """Step 2 of :func:`_bounded_search` on rows ``r0:r1``, in place in ``d2`` and ``off``.

    ``a`` holds these rows of ``g^2``, each padded by ``P`` columns of ``+inf`` on both sides.
    """
    s = steps[r0 * W : r1 * W]
    Pb = int(s.max())
    if Pb < 1:
        return
    # the pixels by decreasing bound: those that try offset d are the first n_at[Pb - d]
    key = (Pb - np.maximum(s, 0)).astype(np.uint16 if Pb < 65535 else np.int32)
    order = np.argsort(key, kind="stable")
    n_at = np.bincount(key[order], minlength=Pb + 1).cumsum()  # (Pb + 1,)
    flat = order[: n_at[Pb - 1]]  # (n,), indices (in the block) of the pixels to search
    row, col = np.divmod(flat, W)
    q = row * (W + 2 * P) + col  # index in the padded block, less P
    flat += r0 * W
    best = d2[flat]  # (n,), starting from the pixel's own column
    lo_buf, hi_buf = np.empty_like(best), np.empty_like(best)
    best_off = np.zeros(best.size, np.int32)
    for d in range(1, Pb + 1):
        n = int(n_at[Pb - d])
        lo, hi, b = lo_buf[:n], hi_buf[:n], best[:n]
        np.take(a[P - d :], q[:n], out=lo, mode="clip")  # g^2 at column x - d
        np.take(a[P + d :], q[:n], out=hi, mode="clip")  # and at x + d
        if track:
            side = np.where(hi < lo, d, -d)
            np.minimum(lo, hi, out=lo)
            lo += c * d * d
            np.copyto(best_off[:n], side, where=lo < b)
        else:
            np.minimum(lo, hi, out=lo)
            # a candidate: c d^2 + min(g^2(x - d), g^2(x + d))
            lo += c * d * d
        np.minimum(b, lo, out=b)
    d2[flat] = best
    off[flat] = best_off
