r"""The Viola-Jones image pyramid: each level the anti-aliased linear resize of the image.

Every level is exactly :func:`pixlearn.transform.resize` of the image (the same taps, the same
products and the same sums in the same order, so the same values to the last bit); only the
bookkeeping is cheaper for a pyramid scanned again and again: the taps of an axis are computed
once per ``(input, output)`` length, and each tap's products go into reused buffers. Along one
axis of scale :math:`s = n / m`, output sample :math:`i` at :math:`c_i = (i + 1/2) s - 1/2` is

.. math::
    g_i = \sum_t w_{it} f_{j_{it}}, \qquad
    w_{it} \propto k\big((j_{it} - c_i) / \max(s, 1)\big),

with the triangle kernel :math:`k` stretched by :math:`s` when shrinking (see
:mod:`pixlearn.transform.resize`).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from pixlearn.transform import resize
from pixlearn.transform.resize import _axis_taps

__all__: list[str] = []  # private: used by features.viola_jones


@lru_cache(maxsize=512)
def _taps(n_in: int, n_out: int, dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """Source rows ``(m, T)`` and weights ``(m, T)`` (in the image's dtype) of one axis,
    without the taps whose weight is 0 for every output sample (adding ``0 * x`` changes no
    sum, up to the sign of a zero)."""
    idx, w = _axis_taps(n_in, n_out, "linear", True, torch.device("cpu"))
    w = w.to(getattr(torch, dtype))
    used = (w != 0).any(0)  # (T,)
    return np.ascontiguousarray(idx[:, used].numpy()), np.ascontiguousarray(w[:, used].numpy())


def _rows(x: np.ndarray, n_out: int) -> np.ndarray:
    """Resize along the first axis: ``out[i] = sum_t w[i, t] x[idx[i, t]]``, taps in order."""
    idx, w = _taps(x.shape[0], n_out, str(x.dtype))
    out = np.take(x, idx[:, 0], axis=0)  # (m, W)
    out *= w[:, :1]
    term = np.empty_like(out)
    for t in range(1, idx.shape[1]):
        np.take(x, idx[:, t], axis=0, out=term)
        term *= w[:, t : t + 1]
        out += term
    return out


def resize_levels(image: Tensor, sizes: Sequence[tuple[int, int]]) -> list[Tensor]:
    """``resize(image, size)`` of a grey ``(H, W)`` image for each size, bitwise; the levels
    that resize the columns first share one transposed copy of the image, and a level may be
    a transposed (column-major) view."""
    if image.device.type != "cpu" or image.dtype not in (torch.float32, torch.float64):
        return [resize(image, size) for size in sizes]
    x = image.detach().numpy()
    h, w = x.shape
    xt: np.ndarray | None = None  # the image transposed, made when first needed
    out = []
    for out_h, out_w in sizes:
        if (out_h, out_w) == (h, w):
            out.append(image.clone())
            continue
        if out_w == w:  # rows only
            out.append(torch.from_numpy(_rows(x, out_h)))
            continue
        # the axis that shrinks more first (as resize does); columns are resized as the rows
        # of the transposed image
        if out_h == h or out_w / w < out_h / h:  # columns first
            if xt is None:
                xt = np.ascontiguousarray(x.T)
            y = _rows(xt, out_w)  # (out_w, H)
            if out_h != h:
                y = _rows(np.ascontiguousarray(y.T), out_h).T  # (out_w, out_h) view
        else:
            y = _rows(np.ascontiguousarray(_rows(x, out_h).T), out_w)  # (out_w, out_h)
        out.append(torch.from_numpy(y.T))  # (out_h, out_w)
    return out
