r"""The Viola-Jones sliding-window scan of one pyramid level, stage by stage.

A window at ``(y, x)`` reads the integral image at ``(y + dy, x + dx)`` for a fixed set of
corner offsets ``(dy, dx)`` per feature. While most windows are still alive (the first,
cheap stages), every window is evaluated at once: the entries ``ii[y + dy, x + dx]`` of all
windows on the stride-``step`` grid are one strided view of the table, so a feature is a
handful of whole-grid additions, with no index arrays. Once few windows survive, only those
are evaluated, by gathering their entries (flat index ``base + offset``). The grid is scanned in
bands of rows, so every temporary stays cache-sized.

Each window is variance-normalised before its features are read: with the window's mean
:math:`\mu`, standard deviation :math:`\sigma` (from the tables of :math:`I` and
:math:`I^2`) and :math:`A_f` the feature's response to a constant window of ones,

.. math::
    f\big((I - \mu) / \sigma\big) = \big(f(I) - \mu A_f\big) / \sigma.

A stage accepts a window when its margin
:math:`(\sum_t \alpha_t h_t - \theta_s) / \sum_t \alpha_t \geq 0`, with the stumps
:math:`h_t = [p_t f_t < p_t \tau_t]`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from pixlearn.features.integral import integral_image
from pixlearn.features.viola_jones_train import compact_corners

__all__: list[str] = []  # private: used by features.viola_jones

#: evaluate every window (strided views) while more than this fraction of them is alive
_DENSE_FRACTION = 0.4
#: windows per band of grid rows (see :func:`scan_level`)
_BAND = 8192


def signed_area(coords: Tensor) -> Tensor:
    """``sum_k sign_k |R_k|`` per feature ``(F, 4, 4)``: its response to a window of ones."""
    x1, y1, x2, y2 = coords.to(torch.float64).unbind(-1)  # (F, 4)
    sign = torch.tensor([-1.0, 1.0, -1.0, 1.0], dtype=torch.float64)
    return ((x2 - x1) * (y2 - y1) * sign).sum(-1)  # (F,)


def stage_margin(f: Tensor, st: dict[str, Any]) -> Tensor:
    """A stage's margin of features ``f`` ``(N, k)`` (its ``k`` stumps): ``(N,)`` float64."""
    h = (st["polarity"] * f < st["polarity"] * st["threshold"]).to(torch.float64)  # (N, k)
    return (h @ st["alpha"] - st["stage_threshold"]) / st["alpha"].sum()


class _Lookups:
    """A stage's table reads, independent of the level: the distinct corner offsets
    ``(dy_j, dx_j)`` of all its features and, per offset, the features that read it and with
    which coefficient: the raw feature ``f`` of a window at ``(y, x)`` is
    ``sum_j C[j, f] ii[y + dy_j, x + dx_j]``."""

    def __init__(self, st: dict[str, Any]) -> None:
        coords = st["coords"]  # (k, 4, 4)
        width = int(coords[..., [0, 2]].max()) + 1  # any stride wider than the window
        offsets, coef = compact_corners(coords, width)  # (k, n) each
        feat = torch.arange(coords.shape[0])[:, None].expand_as(offsets)
        used = coef != 0
        uniq, j = torch.unique(offsets[used], return_inverse=True)  # (u,), (nnz,)
        self.dy, self.dx = (uniq // width).tolist(), (uniq % width).tolist()  # u each
        # per offset j: the (feature, coefficient) pairs that read it
        self.uses: list[list[tuple[int, float]]] = [[] for _ in range(uniq.numel())]
        for jj, f, c in zip(j.tolist(), feat[used].tolist(), coef[used].tolist(), strict=True):
            self.uses[jj].append((f, c))
        self.k = coords.shape[0]
        # the same per feature, for many windows at once: feature f reads the distinct
        # offsets rows[f, :] (padded with coefficient 0) with coefficients coef[f, :]
        rows = torch.searchsorted(uniq, offsets).clamp(max=uniq.numel() - 1)  # (k, n)
        self.rows = rows.numpy()
        self.coef = torch.where(used, coef, 0).numpy()[:, :, None]  # (k, n, 1)
        self.dy_arr, self.dx_arr = np.array(self.dy), np.array(self.dx)  # (u,)
        self.area = signed_area(coords).numpy()[:, None]  # (k, 1)
        self.polarity = st["polarity"].numpy()[:, None]  # (k, 1)
        self.bound = (st["polarity"] * st["threshold"]).numpy()[:, None]  # (k, 1)
        self.alpha, self.theta = st["alpha"].numpy()[:, None], float(st["stage_threshold"])

    def margin(self, raw: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        """Stage margins ``(P,)`` of raw features ``(k, P)`` of windows of ``mean``, ``std``."""
        # f((I - m) / s) = (f(I) - m A_f) / s, rounded to float32 as in training
        f = ((raw - self.area * mean) / std).astype(np.float32)  # (k, P)
        votes = (self.alpha * (self.polarity * f < self.bound)).sum(0)  # (P,) sum_t alpha_t h_t
        return (votes - self.theta) / self.alpha.sum()


def stage_lookups(stages: list[dict[str, Any]]) -> list[_Lookups]:
    """The :class:`_Lookups` of every stage (built once per scan of an image)."""
    return [_Lookups(st) for st in stages]


def _accumulate(raw: np.ndarray, uses: list[tuple[int, float]], values: np.ndarray) -> None:
    """``raw[f] += c * values`` for every ``(f, c)`` of ``uses``, in place (``c = +-1``: no
    product)."""
    for f, c in uses:
        if c == 1:
            raw[f] += values
        elif c == -1:
            raw[f] -= values
        else:
            raw[f] += c * values


def _integral(x: np.ndarray) -> np.ndarray:
    """The zero-padded summed-area table ``(H + 1, W + 1)`` of ``x``, float64."""
    return integral_image(torch.from_numpy(x)).numpy()


def scan_level(
    level: np.ndarray, window: tuple[int, int], step: int, lookups: list[_Lookups], eps_std: float
) -> tuple[np.ndarray, np.ndarray]:
    """Windows of one grey level ``(H, W)`` (float64) that every stage accepts.

    The window grid is scanned in bands of rows of about :data:`_BAND` windows, so every
    temporary stays small (cache-sized, and reused by the allocator instead of fresh pages).

    Args:
        level: the pyramid level, ``(H, W)`` float64, at least the window.
        window: ``(h, w)``; step: the stride in pixels; lookups: from :func:`stage_lookups`;
        eps_std: the floor of each window's standard deviation.

    Returns:
        ``boxes`` ``(P, 4)`` float64 ``xyxy`` in level pixels and their ``(P,)`` margins (the
        smallest stage margin of each window).
    """
    h, w = window
    ii, ii2 = _integral(level), _integral(level * level)  # (H + 1, W + 1)
    ny, nx = (level.shape[0] - h) // step + 1, (level.shape[1] - w) // step + 1
    rows = max(1, _BAND // nx)  # grid rows per band
    found = [
        _scan_band(ii, ii2, r0, min(rows, ny - r0), nx, window, step, lookups, eps_std)
        for r0 in range(0, ny, rows)
    ]
    yy = np.concatenate([f[0] for f in found])  # (P,) level pixels
    xx = np.concatenate([f[1] for f in found])
    margin = np.concatenate([f[2] for f in found])
    boxes = np.stack([xx, yy, xx + w, yy + h], -1).astype(np.float64)  # (P, 4)
    return boxes, margin


def _scan_band(
    ii: np.ndarray,
    ii2: np.ndarray,
    r0: int,
    ny: int,
    nx: int,
    window: tuple[int, int],
    step: int,
    lookups: list[_Lookups],
    eps_std: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The accepted windows of grid rows ``r0 .. r0 + ny - 1``: their ``y``, ``x`` (level
    pixels) and margins, in grid order."""
    h, w = window
    stride = ii.shape[1]
    top = r0 * step  # table row of the band's first window corner

    def grid(table: np.ndarray, dy: int, dx: int) -> np.ndarray:
        """``table[y + dy, x + dx]`` for every window corner ``(y, x)``: a ``(ny, nx)`` view."""
        y0 = top + dy
        return table[y0 : y0 + step * (ny - 1) + 1 : step, dx : dx + step * (nx - 1) + 1 : step]

    def box_sum(table: np.ndarray) -> np.ndarray:
        """Sum of the table's image over every window: four corners, ``D - B - C + A``."""
        return grid(table, h, w) - grid(table, 0, w) - grid(table, h, 0) + grid(table, 0, 0)

    # window mean and std from the two tables: var = E[I^2] - E[I]^2
    mean = (box_sum(ii) / (h * w)).reshape(-1)  # (ny nx,)
    var = box_sum(ii2).reshape(-1) / (h * w) - mean**2
    std = np.maximum(np.sqrt(np.maximum(var, 0)), eps_std)
    margin = np.full(mean.shape, np.inf)
    alive = np.ones(mean.shape, dtype=bool)
    todo = list(lookups)
    # dense phase: every window, each feature a sum of strided views of the table
    while todo and np.count_nonzero(alive) > _DENSE_FRACTION * alive.size:
        lk = todo.pop(0)
        raw = np.zeros((lk.k, ny, nx))  # (k, ny, nx)
        for dy, dx, uses in zip(lk.dy, lk.dx, lk.uses, strict=True):
            _accumulate(raw, uses, grid(ii, dy, dx))
        m = lk.margin(raw.reshape(lk.k, -1), mean, std)  # (ny nx,)
        np.minimum(margin, m, out=margin)
        alive &= m >= 0
    # sparse phase: gather the table entries of the surviving windows only
    idx = np.flatnonzero(alive)  # (P,) windows in grid order
    margin, mean, std = margin[idx], mean[idx], std[idx]
    yy, xx = top + idx // nx * step, idx % nx * step  # (P,) level pixels
    flat = ii.reshape(-1)
    base = yy * stride + xx  # (P,) table index of each window's top-left corner
    for lk in todo:
        vals = flat[(lk.dy_arr * stride + lk.dx_arr)[:, None] + base[None, :]]  # (u, P)
        # raw[f] = sum_i coef[f, i] vals[rows[f, i]]: row copies and one sum, no BLAS (its
        # thread pool, woken for every small product, stalls badly on busy cores)
        raw = vals[lk.rows[:, 0]] * lk.coef[:, 0]  # (k, P)
        for i in range(1, lk.rows.shape[1]):
            raw += vals[lk.rows[:, i]] * lk.coef[:, i]
        m = lk.margin(raw, mean, std)  # (P,)
        ok = m >= 0
        base, mean, std = base[ok], mean[ok], std[ok]
        yy, xx, margin = yy[ok], xx[ok], np.minimum(margin[ok], m[ok])
    return yy, xx, margin
