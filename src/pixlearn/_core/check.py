"""Argument checks shared by every op.

Each check raises a :mod:`pixlearn._core.errors` exception whose message names the argument,
what was expected and what came, so a user never has to read a traceback from deep inside torch.

Example:
    >>> check_positive(-1.0, "sigma")
    Traceback (most recent call last):
    ...
    pixlearn._core.errors.ValueRangeError: sigma must be > 0, got -1.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import Tensor

from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = [
    "check_choice",
    "check_finite",
    "check_image",
    "check_int",
    "check_interval",
    "check_positive",
    "check_range",
    "check_tensor",
    "describe",
    "pair",
]


def describe(x: Any) -> str:
    """A short description of ``x`` for error messages: shape and dtype for tensors."""
    if isinstance(x, Tensor):
        return f"a tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"an array of shape {tuple(x.shape)} and dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}"


def check_tensor(x: Any, name: str) -> Tensor:
    """Refuse anything that is not a ``torch.Tensor``."""
    if not isinstance(x, Tensor):
        raise WrongTypeError(
            f"{name} must be a torch.Tensor, got {describe(x)}"
            + (" (convert with pixlearn.io.to_tensor)" if hasattr(x, "__array__") else "")
        )
    return x


def check_finite(x: Tensor, name: str) -> Tensor:
    """Refuse a floating tensor holding NaN or Inf."""
    # One cheap reduction first: the sum of finite values is finite unless it overflows, and
    # only then (or with a real NaN/Inf) is the element-wise test needed.
    if (
        x.is_floating_point()
        and x.numel()
        and not bool(torch.isfinite(x.sum()))
        and not bool(torch.isfinite(x).all())
    ):
        n_nan = int(torch.isnan(x).sum())
        n_inf = int(torch.isinf(x).sum())
        raise ValueRangeError(
            f"{name} must be finite, got {n_nan} NaN and {n_inf} Inf values in {describe(x)}"
        )
    return x


def check_image(
    x: Any,
    name: str,
    *,
    min_dims: int = 2,
    max_dims: int | None = None,
    floating: bool = False,
    finite: bool = True,
    allow_empty: bool = False,
    min_size: int = 1,
) -> Tensor:
    """Check an image tensor shaped ``(..., H, W)`` or ``(..., C, H, W)``.

    Args:
        x: the candidate image.
        name: the argument's name, used in the message.
        min_dims: the least number of dimensions (2 for ``(H, W)``, 3 for ``(C, H, W)``).
        max_dims: the most number of dimensions, or ``None`` for no limit.
        floating: require a floating dtype (float16/bfloat16/32/64).
        finite: refuse NaN and Inf values.
        allow_empty: accept a zero-size image (H or W equal to 0).
        min_size: the least height and width when the image is not empty.

    Returns:
        ``x`` itself, so the check can be chained.

    Example:
        >>> check_image(torch.zeros(3, 4), "image").shape
        torch.Size([3, 4])
        >>> check_image(torch.zeros(3, 4, dtype=torch.uint8), "image", floating=True)
        Traceback (most recent call last):
        ...
        pixlearn._core.errors.WrongTypeError: image must be a floating-point tensor, got ...
    """
    check_tensor(x, name)
    if x.dim() < min_dims:
        raise ShapeError(
            f"{name} must have at least {min_dims} dimensions "
            f"({_layout(min_dims)}), got {describe(x)}"
        )
    if max_dims is not None and x.dim() > max_dims:
        raise ShapeError(f"{name} must have at most {max_dims} dimensions, got {describe(x)}")
    if floating and not x.is_floating_point():
        raise WrongTypeError(
            f"{name} must be a floating-point tensor, got {x.dtype} "
            "(convert with image.float() or pixlearn.io.to_tensor)"
        )
    h, w = x.shape[-2], x.shape[-1]
    if h == 0 or w == 0:
        if not allow_empty:
            raise ShapeError(f"{name} must not be empty, got {describe(x)}")
    elif h < min_size or w < min_size:
        raise ShapeError(f"{name} must be at least {min_size}x{min_size}, got {describe(x)}")
    if finite:
        check_finite(x, name)
    return x


def _layout(n: int) -> str:
    return {2: "(H, W)", 3: "(C, H, W)", 4: "(B, C, H, W)"}.get(n, f"{n}-D")


def _as_real(value: Any, name: str) -> float:
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ShapeError(f"{name} must be a scalar, got {describe(value)}")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WrongTypeError(f"{name} must be a real number, got {describe(value)}")
    return float(value)


def check_positive(value: Any, name: str, *, strict: bool = True) -> float:
    """Return ``value`` as a float after checking it is finite and > 0 (>= 0 if not strict)."""
    v = _as_real(value, name)
    ok = math.isfinite(v) and (v > 0 if strict else v >= 0)
    if not ok:
        raise ValueRangeError(f"{name} must be {'>' if strict else '>='} 0, got {value!r}")
    return v


def check_range(
    value: Any,
    name: str,
    low: float | None = None,
    high: float | None = None,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` as a float after checking it is finite and within ``[low, high]``."""
    v = _as_real(value, name)
    bad = not math.isfinite(v)
    if low is not None:
        bad |= v < low if low_inclusive else v <= low
    if high is not None:
        bad |= v > high if high_inclusive else v >= high
    if bad:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        interval = f"{'[' if low_inclusive else '('}{lo}, {hi}{']' if high_inclusive else ')'}"
        raise ValueRangeError(f"{name} must be in {interval}, got {value!r}")
    return v


def check_int(value: Any, name: str, *, min_value: int | None = None) -> int:
    """Return ``value`` as an int after checking it is an integer (not bool) >= ``min_value``."""
    if isinstance(value, Tensor) and value.numel() == 1 and not value.is_floating_point():
        value = int(value.item())
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise WrongTypeError(f"{name} must be an integer, got {describe(value)}")
    value = value.__index__()  # int, numpy integers
    if min_value is not None and value < min_value:
        raise ValueRangeError(f"{name} must be >= {min_value}, got {value}")
    return int(value)


def check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """Return ``value`` after checking it is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueRangeError(
            f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}"
        )
    return value


def pair(value: int | Sequence[int], name: str, *, min_value: int | None = 1) -> tuple[int, int]:
    """Turn ``n`` or ``(h, w)`` into a checked ``(h, w)`` pair of ints.

    Example:
        >>> pair(5, "size"), pair((3, 4), "size")
        ((5, 5), (3, 4))
    """
    if isinstance(value, (tuple, list, torch.Size)):
        if len(value) != 2:
            raise ShapeError(f"{name} must be an int or a pair (h, w), got {value!r}")
        return (
            check_int(value[0], name, min_value=min_value),
            check_int(value[1], name, min_value=min_value),
        )
    v = check_int(value, name, min_value=min_value)
    return v, v


def check_interval(
    value: Any,
    name: str,
    low: float | None = None,
    high: float | None = None,
    *,
    low_inclusive: bool = True,
    integer: bool = False,
) -> tuple[Any, Any]:
    """Turn ``v`` or ``(lo, hi)`` into a checked pair with ``lo <= hi``, both within the bounds.

    A single value ``v`` means the degenerate range ``(v, v)``; with ``integer=True`` the ends
    are checked integers (counts), else finite floats.

    Example:
        >>> check_interval(3, "n_cells", 0, integer=True), check_interval((0.5, 2), "radius", 0)
        ((3, 3), (0.5, 2.0))
    """

    def one(v: Any) -> Any:
        if integer:
            n = check_int(v, name, min_value=None if low is None else int(low))
            if high is not None and n > high:
                raise ValueRangeError(f"{name} must be <= {high}, got {n}")
            return n
        return check_range(v, name, low, high, low_inclusive=low_inclusive)

    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            kind = "an int" if integer else "a number"
            raise ShapeError(f"{name} must be {kind} or a pair (lo, hi), got {value!r}")
        lo, hi = one(value[0]), one(value[1])
        if hi < lo:
            raise ValueRangeError(f"{name} must be a pair (lo, hi) with lo <= hi, got {value!r}")
        return lo, hi
    v = one(value)
    return v, v
