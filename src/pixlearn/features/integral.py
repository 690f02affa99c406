"""Integral images (summed-area tables): the sum over any rectangle with four look-ups.

pixlearn's integral image is *zero-padded*, as OpenCV's ``cv2.integral``: for an image of shape
``(H, W)`` it has shape ``(H + 1, W + 1)`` and ``ii[y, x]`` is the sum of the pixels strictly
above and to the left, ``image[:y, :x]``, so the first row and column are 0. With this layout a
box in pixlearn's convention (``xyxy``, continuous pixel coordinates, no +1) indexes the table
directly: the box ``(x1, y1, x2, y2)`` with integer corners covers rows ``y1 .. y2 - 1`` and
columns ``x1 .. x2 - 1`` and its sum is
``ii[y2, x2] - ii[y1, x2] - ii[y2, x1] + ii[y1, x1]``, whatever its size, with no special case
at the image border. scikit-image's ``skimage.transform.integral_image`` is the same table
without the zero row and column (``ii[1:, 1:]``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_tensor, describe
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = ["integral_image", "integral_sum"]


def integral_image(image: Tensor) -> Tensor:
    r"""The zero-padded summed-area table of an image (batched).

    Args:
        image: shape ``(..., H, W)``; bool, integer or floating, finite. An empty image
            (``H`` or ``W`` equal to 0) gives a table of zeros.

    Returns:
        ``ii`` of shape ``(..., H + 1, W + 1)`` with ``ii[..., y, x] = image[..., :y, :x].sum()``.
        Integer and bool images accumulate in int64 (exact); floating images in float64 (exact
        to float64 rounding, so differences of large sums keep their precision), and the table
        is returned in that accumulation dtype.

    Shape:
        ``(..., H, W) -> (..., H + 1, W + 1)``.

    Raises:
        WrongTypeError: not a tensor, or a complex tensor.
        ShapeError: fewer than 2 dimensions.
        ValueRangeError: NaN or Inf.

    Notes:
        The table is two running sums, one per axis:

        .. math::
            ii(y, x) = \sum_{y' < y} \sum_{x' < x} I(y', x'),

        so any rectangle sum costs four look-ups (see :func:`integral_sum`).

    Example:
        >>> ii = integral_image(torch.ones(2, 3, dtype=torch.int64))
        >>> ii
        tensor([[0, 0, 0, 0],
                [0, 1, 2, 3],
                [0, 2, 4, 6]])

    References:
        Crow, F. C. "Summed-area tables for texture mapping." SIGGRAPH 1984.
        Viola, P., Jones, M. "Rapid object detection using a boosted cascade of simple
        features." CVPR 2001.
    """
    check_image(image, "image", min_dims=2, allow_empty=True)
    if image.is_complex():
        raise WrongTypeError(f"image must be a real tensor, got {describe(image)}")
    acc = torch.float64 if image.is_floating_point() else torch.int64
    # a zero first row and column, then the two running sums in place (one new table)
    ii = torch.nn.functional.pad(image.to(acc), (1, 0, 1, 0))  # (..., H+1, W+1)
    if ii.numel():
        # ii(y, x) = sum_{y' < y} sum_{x' < x} I(y', x'): cumulative sums along both axes
        ii.cumsum_(-2).cumsum_(-1)
    return ii


def integral_sum(ii: Tensor, boxes: Tensor) -> Tensor:
    r"""Sums of the image over rectangles, four look-ups each, vectorised over the boxes.

    Args:
        ii: a table from :func:`integral_image`, shape ``(..., H + 1, W + 1)``.
        boxes: ``(N, 4)`` boxes ``(x1, y1, x2, y2)`` in pixlearn's ``xyxy`` convention with
            integer corners (an integer tensor, or a floating one holding whole numbers),
            ``0 <= x1 <= x2 <= W`` and ``0 <= y1 <= y2 <= H``. The box covers rows
            ``y1 .. y2 - 1`` and columns ``x1 .. x2 - 1``; a zero-width or zero-height box
            sums to 0. The same boxes are applied to every image of the batch.

    Returns:
        The sums, shape ``(..., N)``, dtype of ``ii``.

    Shape:
        ``(..., H + 1, W + 1), (N, 4) -> (..., N)``.

    Raises:
        WrongTypeError: not tensors, or a non-integer ``boxes`` value.
        ShapeError: ``ii`` with fewer than 2 dimensions, ``boxes`` not ``(N, 4)``.
        ValueRangeError: corners outside the table or ``x2 < x1`` / ``y2 < y1``.

    Notes:
        With :math:`A = ii(y_1, x_1)`, :math:`B = ii(y_1, x_2)`, :math:`C = ii(y_2, x_1)` and
        :math:`D = ii(y_2, x_2)`,

        .. math::
            \sum_{y_1 \le y < y_2} \sum_{x_1 \le x < x_2} I(y, x) = D - B - C + A.

    Example:
        >>> img = torch.arange(12).reshape(3, 4)
        >>> integral_sum(integral_image(img), torch.tensor([[1, 0, 3, 2], [0, 0, 4, 3]]))
        tensor([14, 66])

    References:
        Viola, P., Jones, M. "Robust real-time face detection." IJCV 57(2), 2004, sec. 2.1.
    """
    check_image(ii, "ii", min_dims=2, allow_empty=True)
    idx = _box_indices(boxes, ii.shape[-2] - 1, ii.shape[-1] - 1)
    x1, y1, x2, y2 = idx.unbind(-1)  # each (N,)
    stride = ii.shape[-1]
    flat = ii.reshape(*ii.shape[:-2], -1)  # (..., (H+1)(W+1))
    # D - B - C + A, each a gather of N entries
    d = flat[..., y2 * stride + x2]
    b = flat[..., y1 * stride + x2]
    c = flat[..., y2 * stride + x1]
    a = flat[..., y1 * stride + x1]
    return d - b - c + a


def _box_indices(boxes: object, h: int, w: int) -> Tensor:
    """Check integer ``xyxy`` boxes inside an ``h x w`` image; return them as int64 on CPU/ii."""
    check_tensor(boxes, "boxes")
    assert isinstance(boxes, Tensor)
    if boxes.dim() != 2 or boxes.shape[-1] != 4:
        raise ShapeError(f"boxes must have shape (N, 4), got {describe(boxes)}")
    if boxes.is_floating_point():
        if not bool(torch.isfinite(boxes).all()) or not bool((boxes == boxes.round()).all()):
            raise WrongTypeError(
                "boxes must hold whole-pixel corners (integers), got fractional or non-finite "
                f"values in {describe(boxes)}"
            )
    elif boxes.dtype == torch.bool or boxes.is_complex():
        raise WrongTypeError(f"boxes must be an integer or floating tensor, got {boxes.dtype}")
    idx = boxes.to(torch.int64)
    x1, y1, x2, y2 = idx.unbind(-1)
    bad = (x1 < 0) | (y1 < 0) | (x2 > w) | (y2 > h) | (x2 < x1) | (y2 < y1)
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        raise ValueRangeError(
            f"boxes must satisfy 0 <= x1 <= x2 <= {w} and 0 <= y1 <= y2 <= {h} for this "
            f"integral image, got box {i} = {idx[i].tolist()}"
        )
    return idx
