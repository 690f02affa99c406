r"""Anchor boxes: a fixed set of reference boxes of several sizes and shapes at every location.

A detector head predicts, at each location of a feature map, a score and a box correction
(:class:`pixlearn.ops.BoxCoder` deltas) for each of ``A`` anchors centred there. The anchors
tile the image on the stride grid of the feature map, so the prediction is translation
invariant; several sizes and aspect ratios (and, with an FPN, one size range per level) cover
objects of every scale and shape.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from pixlearn._core.check import check_int, check_positive, pair
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = ["AnchorGenerator"]

_FPN_SIZES = ((32,), (64,), (128,), (256,), (512,))


def _numbers(value: object, name: str) -> tuple[float, ...]:
    """A non-empty sequence of positive finite numbers."""
    if isinstance(value, (str, bytes, Tensor)) or not isinstance(value, Sequence):
        raise WrongTypeError(f"{name} must be a sequence of numbers, got {value!r}")
    if len(value) == 0:
        raise ShapeError(f"{name} must not be empty")
    return tuple(check_positive(v, f"{name}[{i}]") for i, v in enumerate(value))


def _per_level(value: object, name: str) -> tuple[tuple[float, ...], ...]:
    """A non-empty sequence (one entry per level) of sequences of positive numbers."""
    if isinstance(value, (str, bytes, Tensor)) or not isinstance(value, Sequence):
        raise WrongTypeError(f"{name} must be a sequence with one tuple per level, got {value!r}")
    if len(value) == 0:
        raise ShapeError(f"{name} must have at least one level")
    return tuple(_numbers(v, f"{name}[{i}]") for i, v in enumerate(value))


class AnchorGenerator(nn.Module):
    r"""Anchors of each size x aspect ratio at every stride-aligned location of each level.

    Args:
        sizes: one tuple of sizes (anchor side for ratio 1, in pixels) per feature level.
            The default is the FPN choice, one size per level, 32 to 512.
        aspect_ratios: one tuple of ratios :math:`h / w` per level (same number of levels as
            ``sizes``). The default is ``(0.5, 1.0, 2.0)`` on every level.

    Notes:
        For a size :math:`s` and a ratio :math:`r = h / w` the anchor keeps the area
        :math:`s^2`:

        .. math::
            w = s / \sqrt{r}, \qquad h = s \sqrt{r}, \qquad
            \text{base} = \operatorname{round}\left(-\tfrac{w}{2}, -\tfrac{h}{2},
            \tfrac{w}{2}, \tfrac{h}{2}\right),

        rounded half to even to whole pixels, as torchvision does, so the width and height
        are even integers within 1 pixel of :math:`w` and :math:`h` (area and ratio within
        that rounding: size 32 at ratio 0.5 is 46 x 22, area 1012 instead of 1024). On a level
        of shape :math:`(h_f, w_f)` of an image :math:`(H, W)` the strides are
        :math:`s_y = \lfloor H / h_f \rfloor`, :math:`s_x = \lfloor W / w_f \rfloor`, and the
        anchors at cell :math:`(i, j)` are the base anchors shifted by
        :math:`(j s_x, i s_y)`: centred on the grid points (the top-left corners of the
        cells, torchvision's convention, not the cell centres). The ``A`` base anchors of a
        level are ordered ratio-major: ``a = ratio_index * len(sizes[level]) + size_index``.

    Example:
        >>> gen = AnchorGenerator(sizes=((16,),), aspect_ratios=((1.0,),))
        >>> anchors = gen((32, 32), [(2, 2)])
        >>> anchors[0]
        tensor([[-8., -8.,  8.,  8.],
                [ 8., -8., 24.,  8.],
                [-8.,  8.,  8., 24.],
                [ 8.,  8., 24., 24.]])
        >>> gen.num_anchors_per_location()
        [1]

    References:
        Ren, S., He, K., Girshick, R., Sun, J. "Faster R-CNN: Towards real-time object
        detection with region proposal networks." NeurIPS 2015, sec. 3.1.1. Lin, T.-Y. et al.
        "Feature pyramid networks for object detection." CVPR 2017, sec. 4.1.
    """

    def __init__(
        self,
        sizes: Sequence[Sequence[float]] = _FPN_SIZES,
        aspect_ratios: Sequence[Sequence[float]] = ((0.5, 1.0, 2.0),) * len(_FPN_SIZES),
    ) -> None:
        super().__init__()
        self.sizes = _per_level(sizes, "sizes")
        self.aspect_ratios = _per_level(aspect_ratios, "aspect_ratios")
        if len(self.aspect_ratios) != len(self.sizes):
            raise ShapeError(
                f"aspect_ratios must have one entry per level of sizes ({len(self.sizes)}), "
                f"got {len(self.aspect_ratios)}"
            )

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}, aspect_ratios={self.aspect_ratios}"

    def num_anchors_per_location(self) -> list[int]:
        """``A`` of each level: ``len(sizes[l]) * len(aspect_ratios[l])``."""
        return [len(s) * len(r) for s, r in zip(self.sizes, self.aspect_ratios, strict=True)]

    def base_anchors(
        self,
        level: int,
        *,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> Tensor:
        """The ``(A, 4)`` rounded anchors of one level, centred at 0 (see Notes)."""
        level = check_int(level, "level", min_value=0)
        if level >= len(self.sizes):
            raise ValueRangeError(f"level must be < {len(self.sizes)} (the levels), got {level}")
        scales = torch.tensor(self.sizes[level], dtype=torch.float64, device=device)  # (S,)
        ratios = torch.tensor(self.aspect_ratios[level], dtype=torch.float64, device=device)
        # h = s sqrt(r), w = s / sqrt(r): area s^2, h / w = r
        h_ratios = torch.sqrt(ratios)  # (R,)
        ws = (scales[None, :] / h_ratios[:, None]).reshape(-1)  # (R S,), ratio-major
        hs = (scales[None, :] * h_ratios[:, None]).reshape(-1)  # (R S,)
        base = torch.stack((-ws, -hs, ws, hs), dim=1) / 2  # (A, 4)
        return base.round().to(dtype)

    def forward(
        self,
        image_size: Sequence[int],
        feature_shapes: Sequence[Sequence[int]],
        *,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> list[Tensor]:
        """Anchors of every level for an image of ``image_size``.

        Args:
            image_size: ``(H, W)`` of the (padded) network input, ints >= 1.
            feature_shapes: ``(h, w)`` of each level's feature map (one per level of
                ``sizes``; e.g. ``[f.shape[-2:] for f in features]``), each
                ``1 <= h <= H`` and ``1 <= w <= W``.
            dtype: floating dtype of the anchors (a factory option, as in :func:`torch.zeros`).
            device: device of the anchors.

        Returns:
            One ``(h * w * A, 4)`` ``xyxy`` tensor per level, location-major (row by row over
            the feature map) then anchor, so row ``(i * w + j) * A + a`` is anchor ``a`` at
            cell ``(i, j)``: the layout of a head's ``(A * 4, h, w)`` output permuted to
            ``(h, w, A, 4)``. ``torch.cat`` of the list is torchvision's single tensor.
            Anchors may extend outside the image.

        Raises:
            ShapeError: ``image_size`` or a feature shape not a pair, or the number of
                feature shapes differing from the number of levels.
            ValueRangeError: a size < 1, or a feature map larger than the image.
            WrongTypeError: non-integer sizes, or a non-floating ``dtype``.
        """
        img_h, img_w = pair(image_size, "image_size")
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise WrongTypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
        if isinstance(feature_shapes, (str, bytes, Tensor)) or not isinstance(
            feature_shapes, Sequence
        ):
            raise WrongTypeError(
                f"feature_shapes must be a list of (h, w) pairs, got {feature_shapes!r}"
            )
        if len(feature_shapes) != len(self.sizes):
            raise ShapeError(
                f"feature_shapes must have one (h, w) per level ({len(self.sizes)}), "
                f"got {len(feature_shapes)}"
            )
        anchors = []
        for level, shape in enumerate(feature_shapes):
            name = f"feature_shapes[{level}]"
            fh, fw = pair(tuple(shape) if isinstance(shape, Sequence) else shape, name)
            if fh > img_h or fw > img_w:
                raise ValueRangeError(
                    f"{name} must not exceed image_size {(img_h, img_w)}, got {(fh, fw)}"
                )
            # stride = image size // feature size, per axis
            stride_y, stride_x = img_h // fh, img_w // fw
            shift_x = torch.arange(fw, device=device) * stride_x  # (w,)
            shift_y = torch.arange(fh, device=device) * stride_y  # (h,)
            sy, sx = torch.meshgrid(shift_y, shift_x, indexing="ij")  # (h, w) each
            sx, sy = sx.reshape(-1), sy.reshape(-1)  # (h w,), row-major
            shifts = torch.stack((sx, sy, sx, sy), dim=1).to(dtype)  # (h w, 4)
            base = self.base_anchors(level, dtype=dtype, device=device)  # (A, 4)
            # anchor (i, j, a) = base[a] + (j s_x, i s_y, j s_x, i s_y)
            anchors.append((shifts[:, None, :] + base[None, :, :]).reshape(-1, 4))  # (h w A, 4)
        return anchors
