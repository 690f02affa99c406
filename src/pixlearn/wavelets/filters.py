r"""Wavelet filter banks: Haar, Daubechies, Symlets and Cohen-Daubechies-Feauveau biorthogonal.

A discrete wavelet is four filters: the analysis (decomposition) low-pass and high-pass filters
that split a signal into approximation and detail coefficients, and the synthesis
(reconstruction) pair that puts it back together. The coefficients here are *derived*, not
stored: every family comes from the same half-band polynomial

.. math::
    P_K(y) = \sum_{k=0}^{K-1} \binom{K-1+k}{k} y^k, \qquad y = \sin^2(\omega/2),

which makes :math:`\cos^{2K}(\omega/2) P_K(\sin^2(\omega/2))` a valid product filter
(perfect reconstruction). Splitting that product into two factors gives the filters:

* **Daubechies** ``dbN`` (orthogonal, N vanishing moments): the *minimum-phase* spectral factor
  of :math:`|H(\omega)|^2`, i.e. every zero of :math:`P_N` taken inside the unit circle.
* **Symlets** ``symN``: the same :math:`|H|^2`, but for each zero the root inside or outside the
  unit circle is chosen to make the phase as close to linear as possible (Daubechies' "least
  asymmetric" choice, which is kept in a small table of choices).
* **Biorthogonal** ``biorNr.Nd`` (symmetric, linear phase): the synthesis low-pass gets
  :math:`(1+z^{-1})^{N_r}` and the analysis low-pass gets :math:`(1+z^{-1})^{N_d}` times
  :math:`P_K`, :math:`K = (N_r + N_d)/2` (the B-spline family), except ``bior4.4``,
  ``bior5.5`` and ``bior6.8`` whose zeros of :math:`P_K` are shared between both filters so
  that they are nearly orthogonal (the CDF 9/7 filter of JPEG 2000 is ``bior4.4``).
  ``bior5.5`` is not named after its zeros at :math:`z=-1`: with :math:`K = 5`, the ten zeros of
  :math:`\cos^{10}` are split 6 (synthesis) / 4 (analysis), and of the two conjugate pairs of
  zeros of :math:`P_5` the one with :math:`\operatorname{Re} y < 0` goes to the synthesis
  filter (lengths 11 and 9).
* **Reverse biorthogonal** ``rbioNr.Nd``: the same pair of filters with the roles swapped, the
  analysis low-pass of ``biorNr.Nd`` used for synthesis and vice versa. A decomposition filter
  is the time reverse of the analysis filter it applies, so ``rbio.rec_lo = bior.dec_lo``
  reversed and ``rbio.dec_lo = bior.rec_lo`` reversed; the high-pass pair follows from the
  usual alternating-sign relations.

Filters are laid out exactly as PyWavelets lays them out (zero padded to a common even length),
so that coefficient arrays agree index by index.

Example:
    >>> bank = wavelet_filters("db2")
    >>> [round(v, 4) for v in bank.rec_lo.tolist()]
    [0.483, 0.8365, 0.2241, -0.1294]
    >>> float(bank.dec_lo.sum()) ** 2  # low-pass filters sum to sqrt(2)
    2.0000...

References:
    Daubechies, I. "Ten Lectures on Wavelets." SIAM, 1992 (chapters 6 and 8).
    Cohen, A., Daubechies, I., Feauveau, J.-C. "Biorthogonal bases of compactly supported
    wavelets." Communications on Pure and Applied Mathematics 45 (1992).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from pixlearn._core.errors import ValueRangeError, WrongTypeError

__all__ = ["FilterBank", "wavelet_filters", "wavelist"]

# Symlet root choices: for each group of zeros of P_N (a real zero or a complex-conjugate pair,
# ordered by decreasing real part of y), 0 takes the root inside the unit circle and 1 the root
# outside. These are the least-asymmetric choices tabulated by Daubechies (1992, table 6.3).
_SYMLET_CHOICE: dict[int, tuple[int, ...]] = {
    2: (0,),
    3: (0,),
    4: (1, 0),
    5: (0, 1),
    6: (1, 0, 1),
    7: (0, 0, 1),
    8: (1, 0, 1, 0),
}
_BIORTHOGONAL = (
    "1.1", "1.3", "1.5", "2.2", "2.4", "2.6", "2.8",
    "3.1", "3.3", "3.5", "3.7", "3.9", "4.4", "5.5", "6.8",
)  # fmt: skip
# The non-spline members (Daubechies 1992, section 8.3.4): the zeros at z = -1 of the synthesis
# and analysis low-pass filters, and which groups of zeros of P_K (indices into
# _half_band_roots) go to the synthesis filter; the rest go to the analysis filter.
_BIOR_SPLIT: dict[str, tuple[int, int, tuple[int, ...]]] = {
    "4.4": (4, 4, (1,)),
    "5.5": (6, 4, (1,)),
    "6.8": (6, 8, (1,)),
}


class FilterBank(NamedTuple):
    """The four filters of a discrete wavelet, in PyWavelets' order and layout (float64)."""

    dec_lo: Tensor
    dec_hi: Tensor
    rec_lo: Tensor
    rec_hi: Tensor


def wavelist() -> list[str]:
    """The names :func:`wavelet_filters` knows.

    Example:
        >>> wavelist()[:4]
        ['haar', 'db1', 'db2', 'db3']
    """
    return (
        ["haar"]
        + [f"db{n}" for n in range(1, 9)]
        + [f"sym{n}" for n in range(2, 9)]
        + [f"bior{s}" for s in _BIORTHOGONAL]
        + [f"rbio{s}" for s in _BIORTHOGONAL]
    )


def wavelet_filters(
    name: str, *, dtype: torch.dtype | None = None, device: torch.device | str | None = None
) -> FilterBank:
    """The filter bank of a named wavelet.

    Args:
        name: one of :func:`wavelist` (``"haar"``, ``"db1"``-``"db8"``, ``"sym2"``-``"sym8"``,
            ``"bior1.1"``-``"bior6.8"``, ``"rbio1.1"``-``"rbio6.8"``).
        dtype: dtype of the returned tensors (default float64).
        device: device of the returned tensors.

    Returns:
        ``FilterBank(dec_lo, dec_hi, rec_lo, rec_hi)``, four 1-D tensors of one even length.

    Shape:
        Each filter: ``(L,)``, ``L`` = 2 for Haar, 2N for dbN and symN.

    Example:
        >>> wavelet_filters("bior2.2").rec_lo * 2**0.5
        tensor([0.0000, 0.5000, 1.0000, 0.5000, 0.0000, 0.0000], dtype=torch.float64)
    """
    if not isinstance(name, str):
        raise WrongTypeError(f"wavelet must be a str naming a wavelet, got {name!r}")
    if name not in wavelist():
        raise ValueRangeError(f"wavelet must be one of {', '.join(wavelist())}; got {name!r}")
    bank = _bank(name)
    kw = {"dtype": torch.float64 if dtype is None else dtype, "device": device}
    return FilterBank(*(torch.tensor(f, **kw) for f in bank))


@functools.cache
def _bank(name: str) -> tuple[tuple[float, ...], ...]:
    if name in ("haar", "db1"):
        rec_lo = _daubechies(1)
        dec_lo = rec_lo[::-1]
    elif name.startswith("db"):
        rec_lo = _daubechies(int(name[2:]))
        dec_lo = rec_lo[::-1]
    elif name.startswith("sym"):
        n = int(name[3:])
        rec_lo = _spectral_factor(n, _SYMLET_CHOICE[n])
        dec_lo = rec_lo[::-1]
    elif name.startswith("bior"):
        dec_lo, rec_lo = _biorthogonal(name[4:])
    else:
        # reverse biorthogonal: synthesis with bior's analysis filter and vice versa; a
        # decomposition filter is the time reverse of the filter it applies
        bior_dec, bior_rec = _biorthogonal(name[4:])
        dec_lo, rec_lo = bior_rec[::-1], bior_dec[::-1]
    # the high-pass filters are the alternating-sign (quadrature mirror) partners:
    # dec_hi[k] = (-1)^(k+1) rec_lo[k],  rec_hi[k] = (-1)^k dec_lo[k]
    sign = (-1.0) ** np.arange(len(rec_lo))
    dec_hi = -sign * rec_lo
    rec_hi = sign * dec_lo
    return tuple(tuple(float(v) for v in f) for f in (dec_lo, dec_hi, rec_lo, rec_hi))


def _half_band_roots(k: int) -> list[np.ndarray]:
    """Zeros of P_K(y), grouped as real zeros and conjugate pairs, by decreasing real part."""
    if k < 2:
        return []
    coeffs = [math.comb(k - 1 + i, i) for i in range(k)]
    roots = np.roots(coeffs[::-1])
    roots = roots[np.argsort(-roots.real, kind="stable")]
    groups: list[np.ndarray] = []
    for r in roots:
        if r.imag < -1e-12:
            continue  # the partner of a pair already taken with its upper half-plane member
        groups.append(np.array([r, r.conjugate()]) if r.imag > 1e-12 else np.array([r.real]))
    return groups


def _y_factor(y0: complex) -> np.ndarray:
    """Coefficients in z of (y - y0) with y = (2 - z - 1/z)/4, up to a shift: [-1, 2 - 4 y0, -1]."""
    return np.array([-1.0, 2.0 - 4.0 * y0, -1.0]) / 4.0


def _normalise(p: np.ndarray) -> np.ndarray:
    # a low-pass filter of a wavelet basis satisfies H(1) = sum h = sqrt(2)
    p = np.real_if_close(p, tol=1e6).real
    return p / p.sum() * math.sqrt(2.0)


def _spectral_factor(n: int, choice: tuple[int, ...]) -> np.ndarray:
    # H(z) = sqrt(2) ((1 + z^-1)/2)^N Q(z) with |Q|^2 = P_N(sin^2(w/2)); each zero y0 of P_N
    # gives the two z-roots of z^2 - (2 - 4 y0) z + 1 = 0, one inside and one outside |z| = 1
    p = np.array([1.0])
    for _ in range(n):
        p = np.convolve(p, [1.0, 1.0])
    for group, outside in zip(_half_band_roots(n), choice, strict=True):
        for y0 in group:
            z = sorted(np.roots([1.0, -(2.0 - 4.0 * y0), 1.0]), key=abs)[outside]
            p = np.convolve(p, [1.0, -z])
    return _normalise(p)


def _daubechies(n: int) -> np.ndarray:
    return _spectral_factor(n, (0,) * len(_half_band_roots(n)))


def _binomial_filter(n: int) -> np.ndarray:
    return np.array([math.comb(n, i) for i in range(n + 1)], dtype=np.float64)


def _biorthogonal(order: str) -> tuple[np.ndarray, np.ndarray]:
    nr, nd = (int(c) for c in order.split("."))
    if order in _BIOR_SPLIT:
        nr, nd = _BIOR_SPLIT[order][:2]
    k = (nr + nd) // 2
    groups = _half_band_roots(k)
    rec, dec = _binomial_filter(nr), _binomial_filter(nd)
    if order not in _BIOR_SPLIT:
        # B-spline family: the analysis filter carries all of P_K(y), written in z as
        # sum_i C(K-1+i, i) y^i with the powers of y centred on a common middle tap
        poly = np.zeros(2 * k - 1)
        y_pow = np.array([1.0])
        for i in range(k):
            pad = k - 1 - i
            poly += math.comb(k - 1 + i, i) * np.pad(y_pow, (pad, pad))
            y_pow = np.convolve(y_pow, [-0.25, 0.5, -0.25])
        dec = np.convolve(dec, poly)
    else:
        # both filters get (1 + z^-1)^N and share the zeros of P_K:
        # H_rec(z) H_dec(z^-1) is then still the perfect-reconstruction product filter
        for i, group in enumerate(groups):
            for y0 in group:
                if i in _BIOR_SPLIT[order][2]:
                    rec = np.convolve(rec, _y_factor(y0))
                else:
                    dec = np.convolve(dec, _y_factor(y0))
    rec, dec = _normalise(rec), _normalise(dec)
    return _place(dec, rec)


def _place(dec: np.ndarray, rec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero-pad both symmetric filters to PyWavelets' common even length and alignment."""
    length = max(len(dec), len(rec))
    length += length % 2
    out = []
    for f, shift in ((dec, 0), (rec, 1)):
        # odd length: centred on tap L/2 (analysis) or L/2 - 1 (synthesis);
        # even length: centred between taps L/2 - 1 and L/2
        odd = len(f) % 2
        start = length // 2 - shift - len(f) // 2 if odd else (length - len(f)) // 2
        g = np.zeros(length)
        g[start : start + len(f)] = f
        out.append(g)
    return out[0], out[1]
