r"""The discrete wavelet transform, 1-D and 2-D, single and multilevel, as strided convolutions.

One analysis step filters a signal with the low-pass :math:`h` and the high-pass :math:`g`
decomposition filters and keeps every second sample; one synthesis step upsamples both halves,
filters them with the reconstruction pair and adds. Iterating on the approximation gives the
multiresolution (Mallat) pyramid; in 2-D the separable step along rows and columns gives the
approximation and the horizontal, vertical and diagonal details.

Everything here follows PyWavelets' conventions exactly (same coefficient arrays, same output
lengths, same ``[cA_n, (cH_n, cV_n, cD_n), ..., (cH_1, cV_1, cD_1)]`` structure), and works on
batched tensors along the last axis (1-D) or the last two axes (2-D), on the input's device and
dtype, with autograd. The filtering itself (polyphase sums of strided views, one boundary
extension per pass, no transposes) lives in :mod:`pixlearn.wavelets._polyphase`.

Boundary modes (how the signal is continued past its ends):

* ``"symmetric"`` (default): half-sample mirror, ``... x1 x0 | x0 x1 ... xn | xn xn-1 ...``;
* ``"zero"``: zeros outside;
* ``"periodization"``: periodic, with ``ceil(N/2)`` coefficients so that the transform of an
  even-length signal is exactly critically sampled (an odd signal first repeats its last
  sample).

For ``"symmetric"`` and ``"zero"`` a level of ``N`` samples gives ``floor((N + L - 1)/2)``
coefficients, ``L`` the filter length.

Example:
    >>> x = torch.arange(8.0, dtype=torch.float64)
    >>> cA, cD = dwt(x, "haar")  # pairwise sums and differences, divided by sqrt(2)
    >>> (cA * 2**0.5).round().tolist(), (cD * 2**0.5).round().tolist()
    ([1.0, 5.0, 9.0, 13.0], [-1.0, -1.0, -1.0, -1.0])

References:
    Mallat, S. "A theory for multiresolution signal decomposition: the wavelet
    representation." IEEE TPAMI 11(7), 1989.
"""

from __future__ import annotations

import math

from torch import Tensor

from pixlearn._core.check import check_choice, check_image, check_int, check_tensor, describe
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError
from pixlearn.wavelets._polyphase import analysis_step, synthesis_step
from pixlearn.wavelets.filters import wavelet_filters

__all__ = [
    "MODES",
    "dwt",
    "dwt2",
    "dwt_max_level",
    "idwt",
    "idwt2",
    "wavedec",
    "wavedec2",
    "waverec",
    "waverec2",
]

MODES = ("symmetric", "zero", "periodization")
Coeffs2 = tuple[Tensor, Tensor, Tensor]


def dwt_max_level(data_len: int, filter_len: int | str) -> int:
    r"""The deepest useful decomposition level (PyWavelets' rule).

    Args:
        data_len: number of samples along the transformed axis.
        filter_len: the filter length, or a wavelet name (its filter length is used).

    Returns:
        :math:`\lfloor \log_2(N / (L - 1)) \rfloor`, or 0 when ``N < L - 1``: the last level at
        which a coefficient still sees one full filter's worth of the signal.

    Example:
        >>> dwt_max_level(512, "db2"), dwt_max_level(512, 2), dwt_max_level(2, "db4")
        (7, 9, 0)
    """
    n = check_int(data_len, "data_len", min_value=0)
    if isinstance(filter_len, str):
        filter_len = len(wavelet_filters(filter_len).dec_lo)
    length = check_int(filter_len, "filter_len", min_value=2)
    if n < length - 1:
        return 0
    return math.floor(math.log2(n / (length - 1)))


# ---------------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------------


def _check_signal(x: Tensor, name: str, dims: int) -> Tensor:
    check_tensor(x, name)
    if x.dim() < dims:
        raise ShapeError(f"{name} must have at least {dims} dimension(s), got {describe(x)}")
    if not x.is_floating_point():
        raise WrongTypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    if dims == 1:
        if x.shape[-1] == 0:
            raise ShapeError(f"{name} must not be empty along its last axis, got {describe(x)}")
        return check_image(x[..., None], name, min_dims=2)
    return check_image(x, name, min_dims=2)


def _bank(wavelet: str, like: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    bank = wavelet_filters(wavelet, dtype=like.dtype, device=like.device)
    return bank.dec_lo, bank.dec_hi, bank.rec_lo, bank.rec_hi


def dwt(x: Tensor, wavelet: str, *, mode: str = "symmetric") -> tuple[Tensor, Tensor]:
    r"""One level of the 1-D discrete wavelet transform along the last axis.

    Args:
        x: signals, shape ``(..., N)``, float.
        wavelet: a name from :func:`pixlearn.wavelets.wavelist`.
        mode: ``"symmetric"``, ``"zero"`` or ``"periodization"``.

    Returns:
        ``(cA, cD)``: approximation and detail coefficients.

    Shape:
        ``(..., M)`` each, ``M = floor((N + L - 1)/2)`` (``ceil(N/2)`` for periodization).

    Notes:
        :math:`c_A[o] = \sum_j h[j]\, \tilde x[2o + 1 - j]` and
        :math:`c_D[o] = \sum_j g[j]\, \tilde x[2o + 1 - j]`, :math:`\tilde x` the extended signal.

    Example:
        >>> cA, cD = dwt(torch.ones(5, dtype=torch.float64), "db2")
        >>> cA.shape, bool(cD.abs().max() < 1e-12)  # a constant has no detail
        (torch.Size([4]), True)

    References:
        Mallat, S. "A Wavelet Tour of Signal Processing." 3rd ed., Academic Press, 2009.
    """
    _check_signal(x, "x", 1)
    check_choice(mode, "mode", MODES)
    dec_lo, dec_hi, _, _ = _bank(wavelet, x)
    out = analysis_step(x.unsqueeze(-2), dec_lo, dec_hi, mode, -1)  # (..., 2, 1, M)
    return out[..., 0, 0, :], out[..., 1, 0, :]


def idwt(cA: Tensor, cD: Tensor, wavelet: str, *, mode: str = "symmetric") -> Tensor:
    """Invert one level of :func:`dwt` (PyWavelets' ``idwt``).

    Args:
        cA: approximation coefficients, ``(..., M)``.
        cD: detail coefficients, same shape.
        wavelet: the wavelet used for the analysis.
        mode: the boundary mode used for the analysis.

    Returns:
        The signal, ``(..., 2M - L + 2)`` (``(..., 2M)`` for periodization).

    Example:
        >>> x = torch.rand(3, 10, dtype=torch.float64)
        >>> bool(torch.allclose(idwt(*dwt(x, "db3"), "db3"), x))
        True
    """
    _check_signal(cA, "cA", 1)
    _check_signal(cD, "cD", 1)
    if cA.shape != cD.shape:
        raise ShapeError(f"cA and cD must have one shape, got {describe(cA)} and {describe(cD)}")
    check_choice(mode, "mode", MODES)
    _, _, rec_lo, rec_hi = _bank(wavelet, cA)
    if mode != "periodization" and 2 * cA.shape[-1] < rec_lo.shape[0] - 2:
        raise ShapeError(
            f"cA must have at least {(rec_lo.shape[0] - 1) // 2} coefficients for {wavelet}, "
            f"got {describe(cA)}"
        )
    return synthesis_step(cA, cD, rec_lo, rec_hi, mode, -1)


def dwt2(image: Tensor, wavelet: str, *, mode: str = "symmetric") -> tuple[Tensor, Coeffs2]:
    """One level of the separable 2-D wavelet transform along the last two axes.

    Args:
        image: images, shape ``(..., H, W)``, float.
        wavelet: a name from :func:`pixlearn.wavelets.wavelist`.
        mode: ``"symmetric"``, ``"zero"`` or ``"periodization"``.

    Returns:
        ``(cA, (cH, cV, cD))``: approximation, then horizontal (low-pass along W, high-pass
        along H), vertical (high along W, low along H) and diagonal details.

    Shape:
        Each ``(..., H', W')`` with the 1-D length rule applied to each axis.

    Example:
        >>> cA, (cH, cV, cD) = dwt2(torch.rand(2, 3, 16, 16), "haar")
        >>> cA.shape
        torch.Size([2, 3, 8, 8])
    """
    check_image(image, "image", min_dims=2, floating=True)
    check_choice(mode, "mode", MODES)
    dec_lo, dec_hi, _, _ = _bank(wavelet, image)
    # separable: filter the rows (along W), then the columns (along H) of both bands
    rows = analysis_step(image, dec_lo, dec_hi, mode, -1)  # (..., 2w, H, Wo)
    both = analysis_step(rows, dec_lo, dec_hi, mode, -2)  # (..., 2w, 2h, Ho, Wo)
    # band index 0 = low-pass, 1 = high-pass along that axis; each band a contiguous block
    return both[..., 0, 0, :, :], (
        both[..., 0, 1, :, :],
        both[..., 1, 0, :, :],
        both[..., 1, 1, :, :],
    )


def idwt2(
    cA: Tensor, details: Coeffs2 | tuple[Tensor, ...], wavelet: str, *, mode: str = "symmetric"
) -> Tensor:
    """Invert one level of :func:`dwt2`.

    Args:
        cA: approximation, ``(..., H', W')``.
        details: ``(cH, cV, cD)``, each shaped like ``cA``.
        wavelet: the wavelet used for the analysis.
        mode: the boundary mode used for the analysis.

    Returns:
        The image, ``(..., H, W)`` with the 1-D :func:`idwt` length rule on each axis.

    Example:
        >>> x = torch.rand(7, 9, dtype=torch.float64)
        >>> y = idwt2(*dwt2(x, "sym3"), "sym3")
        >>> bool(torch.allclose(y[:7, :9], x))
        True
    """
    check_image(cA, "cA", min_dims=2, floating=True)
    if not isinstance(details, (tuple, list)) or len(details) != 3:
        raise ShapeError(f"details must be a tuple (cH, cV, cD), got {describe(details)}")
    for name, d in zip(("cH", "cV", "cD"), details, strict=True):
        check_image(d, name, min_dims=2, floating=True)
        if d.shape != cA.shape:
            raise ShapeError(
                f"{name} must have the shape of cA {tuple(cA.shape)}, got {describe(d)}"
            )
    check_choice(mode, "mode", MODES)
    _, _, rec_lo, rec_hi = _bank(wavelet, cA)
    cH, cV, cD = details
    # undo the column step for each row band (low then high along W), then the row step
    low_w = synthesis_step(cA, cH, rec_lo, rec_hi, mode, -2)  # (..., H, Wo)
    high_w = synthesis_step(cV, cD, rec_lo, rec_hi, mode, -2)  # (..., H, Wo)
    return synthesis_step(low_w, high_w, rec_lo, rec_hi, mode, -1)  # (..., H, W)


def _check_level(level: int | None, sizes: tuple[int, ...], wavelet: str) -> int:
    length = len(wavelet_filters(wavelet).dec_lo)
    max_level = min(dwt_max_level(n, length) for n in sizes)
    if level is None:
        return max_level
    level = check_int(level, "level", min_value=0)
    if level > max_level:
        raise ValueRangeError(
            f"level must be <= {max_level} (dwt_max_level for size {sizes} and {wavelet}, "
            f"filter length {length}), got {level}"
        )
    return level


def wavedec(
    x: Tensor, wavelet: str, *, mode: str = "symmetric", level: int | None = None
) -> list[Tensor]:
    """Multilevel 1-D wavelet decomposition along the last axis (PyWavelets' ``wavedec``).

    Args:
        x: signals, ``(..., N)``, float.
        wavelet: a name from :func:`pixlearn.wavelets.wavelist`.
        mode: ``"symmetric"``, ``"zero"`` or ``"periodization"``.
        level: number of levels; ``None`` for :func:`dwt_max_level`. Deeper levels raise.

    Returns:
        ``[cA_n, cD_n, ..., cD_1]``, coarsest first.

    Example:
        >>> [c.shape[-1] for c in wavedec(torch.rand(64), "db2", level=3)]
        [10, 10, 18, 33]
    """
    _check_signal(x, "x", 1)
    check_choice(mode, "mode", MODES)
    level = _check_level(level, (x.shape[-1],), wavelet)
    coeffs: list[Tensor] = []
    a = x
    for _ in range(level):
        a, d = dwt(a, wavelet, mode=mode)
        coeffs.append(d)
    return [a, *coeffs[::-1]]


def waverec(coeffs: list[Tensor], wavelet: str, *, mode: str = "symmetric") -> Tensor:
    """Invert :func:`wavedec`.

    Args:
        coeffs: ``[cA_n, cD_n, ..., cD_1]``.
        wavelet: the wavelet used for the analysis.
        mode: the boundary mode used for the analysis.

    Returns:
        The signal (one sample longer than the original when a level had odd length, as in
        PyWavelets).

    Example:
        >>> x = torch.rand(2, 50, dtype=torch.float64)
        >>> bool(torch.allclose(waverec(wavedec(x, "bior2.2"), "bior2.2"), x))
        True
    """
    if not isinstance(coeffs, (list, tuple)) or len(coeffs) < 1:
        raise ShapeError(f"coeffs must be a non-empty list [cA_n, cD_n, ...], got {coeffs!r}")
    a = coeffs[0]
    for d in coeffs[1:]:
        # the reconstructed approximation may be one sample longer than the next detail
        a = idwt(a[..., : d.shape[-1]], d, wavelet, mode=mode)
    return a


def wavedec2(
    image: Tensor, wavelet: str, *, mode: str = "symmetric", level: int | None = None
) -> list[Tensor | Coeffs2]:
    """Multilevel 2-D wavelet decomposition along the last two axes (PyWavelets' ``wavedec2``).

    Args:
        image: images, ``(..., H, W)``, float (any leading batch/channel axes).
        wavelet: a name from :func:`pixlearn.wavelets.wavelist`.
        mode: ``"symmetric"``, ``"zero"`` or ``"periodization"``.
        level: number of levels; ``None`` for the smaller :func:`dwt_max_level` of H and W.
            Deeper levels raise.

    Returns:
        ``[cA_n, (cH_n, cV_n, cD_n), ..., (cH_1, cV_1, cD_1)]``, coarsest first.

    Example:
        >>> coeffs = wavedec2(torch.rand(3, 64, 64), "db2", level=3)
        >>> coeffs[0].shape, coeffs[-1][0].shape
        (torch.Size([3, 10, 10]), torch.Size([3, 33, 33]))
    """
    check_image(image, "image", min_dims=2, floating=True)
    check_choice(mode, "mode", MODES)
    level = _check_level(level, tuple(image.shape[-2:]), wavelet)
    details: list[Coeffs2] = []
    a = image
    for _ in range(level):
        a, d = dwt2(a, wavelet, mode=mode)
        details.append(d)
    return [a, *details[::-1]]


def waverec2(coeffs: list[Tensor | Coeffs2], wavelet: str, *, mode: str = "symmetric") -> Tensor:
    """Invert :func:`wavedec2`.

    Args:
        coeffs: ``[cA_n, (cH_n, cV_n, cD_n), ..., (cH_1, cV_1, cD_1)]``.
        wavelet: the wavelet used for the analysis.
        mode: the boundary mode used for the analysis.

    Returns:
        The image (one row/column longer where a level had odd size, as in PyWavelets).

    Example:
        >>> x = torch.rand(33, 40, dtype=torch.float64)
        >>> y = waverec2(wavedec2(x, "db4", level=2), "db4")
        >>> bool(torch.allclose(y[:33, :40], x))
        True
    """
    if not isinstance(coeffs, (list, tuple)) or len(coeffs) < 1:
        raise ShapeError(
            f"coeffs must be a non-empty list [cA_n, (cH_n, cV_n, cD_n), ...], got {coeffs!r}"
        )
    a = coeffs[0]
    if not isinstance(a, Tensor):
        raise WrongTypeError(f"coeffs[0] must be the approximation tensor, got {describe(a)}")
    for d in coeffs[1:]:
        if not isinstance(d, (tuple, list)) or len(d) != 3:
            raise ShapeError(f"coeffs details must be tuples (cH, cV, cD), got {describe(d)}")
        h, w = d[0].shape[-2:]
        a = idwt2(a[..., :h, :w], tuple(d), wavelet, mode=mode)
    return a
