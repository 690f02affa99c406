import math

import numpy as np
import pytest
import torch

from pixlearn._core.check import (
    check_choice,
    check_finite,
    check_image,
    check_int,
    check_interval,
    check_positive,
    check_range,
    check_tensor,
    pair,
)
from pixlearn._core.errors import PixlearnError, ShapeError, ValueRangeError, WrongTypeError


def test_errors_are_builtin_subclasses():
    assert issubclass(ShapeError, ValueError) and issubclass(ShapeError, PixlearnError)
    assert issubclass(ValueRangeError, ValueError)
    assert issubclass(WrongTypeError, TypeError)


def test_check_image_accepts_and_returns_the_same_tensor():
    x = torch.rand(2, 3, 4, 5)
    assert check_image(x, "image", min_dims=3) is x


def test_check_image_refuses_arrays_and_suggests_to_tensor():
    with pytest.raises(TypeError, match=r"image must be a torch.Tensor.*to_tensor"):
        check_image(np.zeros((3, 3)), "image")


@pytest.mark.parametrize("shape", [(5,), ()])
def test_check_image_too_few_dims(shape):
    with pytest.raises(ShapeError, match=r"img must have at least 2 dimensions.*\(H, W\)"):
        check_image(torch.zeros(shape), "img")


def test_check_image_too_many_dims():
    with pytest.raises(ShapeError, match="at most 3"):
        check_image(torch.zeros(1, 1, 2, 2), "img", max_dims=3)


def test_check_image_floating():
    with pytest.raises(WrongTypeError, match=r"image must be a floating-point tensor.*uint8"):
        check_image(torch.zeros(2, 2, dtype=torch.uint8), "image", floating=True)
    check_image(torch.zeros(2, 2, dtype=torch.float16), "image", floating=True)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_check_image_non_finite(bad):
    x = torch.zeros(3, 3)
    x[1, 1] = bad
    with pytest.raises(ValueRangeError, match="image must be finite"):
        check_image(x, "image")
    assert check_image(x, "image", finite=False) is x


def test_check_image_empty_and_min_size():
    with pytest.raises(ShapeError, match="must not be empty"):
        check_image(torch.zeros(0, 4), "image")
    assert check_image(torch.zeros(3, 0, 4), "image", allow_empty=True).shape == (3, 0, 4)
    with pytest.raises(ShapeError, match="at least 3x3"):
        check_image(torch.zeros(2, 5), "image", min_size=3)
    assert check_image(torch.zeros(1, 1), "image").shape == (1, 1)


def test_check_finite_counts_nan_and_inf():
    x = torch.tensor([math.nan, math.inf, 1.0])
    with pytest.raises(ValueRangeError, match="1 NaN and 1 Inf"):
        check_finite(x, "x")
    assert check_finite(torch.tensor([1, 2]), "x") is not None  # integers are always finite


@pytest.mark.parametrize("bad", [0, -1.0, math.nan, math.inf])
def test_check_positive(bad):
    with pytest.raises(ValueRangeError, match="sigma must be > 0"):
        check_positive(bad, "sigma")


def test_check_positive_non_strict_and_types():
    assert check_positive(0, "x", strict=False) == 0.0
    assert check_positive(torch.tensor(2.5), "x") == 2.5
    with pytest.raises(WrongTypeError, match="x must be a real number"):
        check_positive("1", "x")
    with pytest.raises(WrongTypeError, match="x must be a real number"):
        check_positive(True, "x")
    with pytest.raises(ShapeError, match="x must be a scalar"):
        check_positive(torch.ones(2), "x")


def test_check_range_intervals():
    assert check_range(0.5, "p", 0, 1) == 0.5
    assert check_range(1, "p", 0, 1) == 1.0
    with pytest.raises(ValueRangeError, match=r"p must be in \[0, 1\), got 1"):
        check_range(1, "p", 0, 1, high_inclusive=False)
    with pytest.raises(ValueRangeError, match=r"p must be in \(0, inf\]"):
        check_range(0, "p", 0, None, low_inclusive=False)
    with pytest.raises(ValueRangeError, match="p must be in"):
        check_range(math.nan, "p", 0, 1)


def test_check_int():
    assert check_int(3, "n") == 3
    assert check_int(np.int64(3), "n") == 3
    assert check_int(torch.tensor(3), "n") == 3
    with pytest.raises(WrongTypeError, match="n must be an integer"):
        check_int(3.0, "n")
    with pytest.raises(WrongTypeError, match="n must be an integer"):
        check_int(True, "n")
    with pytest.raises(ValueRangeError, match="n must be >= 1, got 0"):
        check_int(0, "n", min_value=1)


def test_check_choice_lists_the_options():
    assert check_choice("zero", "boundary", ("zero", "reflect")) == "zero"
    with pytest.raises(ValueRangeError, match="boundary must be one of 'zero', 'reflect'"):
        check_choice("wrap", "boundary", ("zero", "reflect"))


def test_check_tensor():
    x = torch.zeros(1)
    assert check_tensor(x, "x") is x
    with pytest.raises(WrongTypeError, match=r"x must be a torch\.Tensor, got list"):
        check_tensor([1.0], "x")


def test_pair():
    assert pair(3, "size") == (3, 3)
    assert pair((2, 5), "size") == (2, 5)
    assert pair(torch.Size([4, 6]), "size") == (4, 6)
    with pytest.raises(ShapeError, match="size must be an int or a pair"):
        pair((1, 2, 3), "size")
    with pytest.raises(ValueRangeError, match="size must be >= 1"):
        pair(0, "size")


def test_check_interval():
    assert check_interval(2.5, "r", 0) == (2.5, 2.5)
    assert check_interval((1, 4), "n", 0, integer=True) == (1, 4)
    assert check_interval([0.5, 0.5], "e", 0.0, 1.0) == (0.5, 0.5)
    with pytest.raises(ValueRangeError, match=r"n must be a pair \(lo, hi\) with lo <= hi"):
        check_interval((4, 1), "n", 0, integer=True)
    with pytest.raises(ShapeError, match="n must be an int or a pair"):
        check_interval((1, 2, 3), "n", integer=True)
    with pytest.raises(ValueRangeError, match="scale must be in"):
        check_interval((0.0, 2.0), "scale", 0.0, low_inclusive=False)
    with pytest.raises(ValueRangeError, match="n must be <= 5"):
        check_interval((1, 6), "n", 0, 5, integer=True)
    with pytest.raises(WrongTypeError, match="n must be an integer"):
        check_interval(1.5, "n", integer=True)
