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


def resize_level(image: Tensor, size: tuple[int, int]) -> Tensor:
    """``resize(image, size)`` (linear, anti-aliased) of a grey ``(H, W)`` image, bitwise."""
    if image.device.type != "cpu" or image.dtype not in (torch.float32, torch.float64):
        return resize(image, size)
    x = image.detach().numpy()
    (h, w), (out_h, out_w) = x.shape, size
    axes = [a for a, n, m in ((0, h, out_h), (1, w, out_w)) if n != m]
    if not axes:
        return image.clone()
    # the axis that shrinks more first (as resize does)
    if len(axes) == 2 and out_w / w < out_h / h:
        axes.reverse()
    for a in axes:
        if a == 0:
            x = _rows(x, out_h)
        else:  # columns: the same sums on the transposed image
            x = np.ascontiguousarray(_rows(np.ascontiguousarray(x.T), out_w).T)
    return torch.from_numpy(x)
