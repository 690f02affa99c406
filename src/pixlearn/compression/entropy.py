r"""Empirical entropy: the lower bound, in bits per symbol, of any symbol-by-symbol code."""

from __future__ import annotations

import numpy as np
from torch import Tensor

from pixlearn._core.check import describe
from pixlearn._core.errors import WrongTypeError

__all__ = ["entropy"]


def entropy(symbols: bytes | np.ndarray | Tensor) -> float:
    r"""Shannon entropy of the histogram of ``symbols``, in bits per symbol.

    Args:
        symbols: ``bytes``, or a NumPy array / tensor of any shape and dtype (every distinct
            value is one symbol; floats are compared exactly).

    Returns:
        :math:`H \ge 0` as a Python float; 0 for empty input or a single repeated symbol.

    Raises:
        WrongTypeError: ``symbols`` is not bytes, an array nor a tensor.

    Notes:
        With :math:`p_s = n_s / N` the relative frequency of symbol :math:`s`,

        .. math::
            H = -\sum_s p_s \log_2 p_s ,

        the least mean code length of a prefix code for these frequencies (Shannon's source
        coding theorem); a Huffman code stays below :math:`H + 1`.

    Example:
        >>> entropy(b"aabb"), entropy(b"abcd"), entropy(b"")
        (1.0, 2.0, 0.0)

    References:
        Shannon, C. E. "A mathematical theory of communication." Bell Syst. Tech. J. 27, 1948.
    """
    if isinstance(symbols, (bytes, bytearray, memoryview)):
        arr = np.frombuffer(bytes(symbols), np.uint8)
    elif isinstance(symbols, Tensor):
        arr = symbols.detach().cpu().numpy()
    elif isinstance(symbols, np.ndarray):
        arr = symbols
    else:
        raise WrongTypeError(
            f"symbols must be bytes, an ndarray or a tensor, got {describe(symbols)}"
        )
    if arr.size == 0:
        return 0.0
    _, counts = np.unique(arr.reshape(-1), return_counts=True)
    p = counts / arr.size  # (n_distinct,)
    # H = -sum p log2 p
    return float(max(0.0, -(p * np.log2(p)).sum()))
