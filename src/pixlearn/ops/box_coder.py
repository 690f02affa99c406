r"""Box coding: the R-CNN parameterisation of a box relative to a proposal (or an anchor).

A detector does not regress box corners directly. It predicts *deltas* of a target box
:math:`g` relative to a proposal :math:`p`: a centre shift measured in proposal widths and
heights, and a log-ratio of the sizes. The code is invariant to translation and scale of the
pair, which makes one regressor serve boxes of every size and position.

Boxes are ``xyxy`` in pixels (continuous coordinates, :math:`w = x_2 - x_1`, no +1). The
encoding divides by the proposal's width and height and takes the logarithm of the target's,
so both must be positive in :meth:`BoxCoder.encode`: a zero-size box is refused there (it has
no finite code). Decoding accepts zero-size boxes (the result is then zero-size too).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from pixlearn._core.check import check_finite, check_positive, check_tensor
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = ["BoxCoder"]

#: The default clamp of the decoded log-size ratio: no box grows more than 1000/16 times.
_DEFAULT_XFORM_CLIP = math.log(1000.0 / 16)


def _check_float(x: object, name: str) -> Tensor:
    check_tensor(x, name)
    assert isinstance(x, Tensor)
    if not x.is_floating_point():
        raise WrongTypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    return x


def _check_xyxy(boxes: object, name: str, *, positive: bool) -> Tensor:
    """Check ``(N, 4)`` finite ``xyxy`` boxes with ``x2 >= x1`` (``>`` when ``positive``)."""
    boxes = _check_float(boxes, name)
    if boxes.dim() != 2 or boxes.shape[-1] != 4:
        raise ShapeError(f"{name} must have shape (N, 4), got shape {tuple(boxes.shape)}")
    check_finite(boxes, name)
    if boxes.numel():
        extent = boxes[:, 2:] - boxes[:, :2]  # (N, 2): width, height
        bad = (extent <= 0 if positive else extent < 0).any(-1)  # (N,)
        if bool(bad.any()):
            i = int(bad.nonzero()[0, 0])
            what = "x2 > x1 and y2 > y1" if positive else "x2 >= x1 and y2 >= y1"
            raise ValueRangeError(
                f"{name} must have {what} (xyxy format), got {boxes[i].tolist()} at index {i}"
            )
    return boxes


def _centre_size(boxes: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(N, 4)`` xyxy -> centre x, centre y, width, height, each ``(N,)``."""
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    # c = x1 + w / 2 (as torchvision computes it, so both round the same way)
    return boxes[:, 0] + 0.5 * w, boxes[:, 1] + 0.5 * h, w, h


class BoxCoder:
    r"""Encode target boxes as deltas relative to proposals, and decode deltas back to boxes.

    Args:
        weights: ``(wx, wy, ww, wh)``, positive multipliers of the four deltas. ``(1, 1, 1, 1)``
            for an RPN; ``(10, 10, 5, 5)`` in Fast/Faster R-CNN box heads, which scales the
            deltas of well-placed proposals to about unit variance.
        bbox_xform_clip: finite, positive upper bound on the decoded :math:`d_w / w_w` and
            :math:`d_h / w_h` (after dividing by the weights): a decoded box is at most
            :math:`e^{\text{clip}}` (62.5 by default) times its proposal's size, so huge
            predicted deltas never overflow to Inf.

    Notes:
        For a proposal with centre :math:`(p_x, p_y)` and size :math:`(p_w, p_h)` and a target
        :math:`(g_x, g_y, g_w, g_h)` (Girshick 2015, eq. 2 with the weights of Detectron):

        .. math::
            d_x = w_x \frac{g_x - p_x}{p_w},\quad d_y = w_y \frac{g_y - p_y}{p_h},\quad
            d_w = w_w \log\frac{g_w}{p_w},\quad d_h = w_h \log\frac{g_h}{p_h}.

        Decoding inverts it, with :math:`d_w / w_w` and :math:`d_h / w_h` clamped from above
        at ``bbox_xform_clip``:

        .. math::
            \hat g_x = p_w \frac{d_x}{w_x} + p_x,\quad
            \hat g_w = p_w\, e^{\min(d_w / w_w,\ \text{clip})},\quad
            \hat x_{1,2} = \hat g_x \mp \tfrac12 \hat g_w \ \text{(same in } y).

        ``decode(encode(g, p), p) == g`` up to rounding whenever
        :math:`|\log(g_w / p_w)|, |\log(g_h / p_h)| \le` ``bbox_xform_clip``. The same
        formulas, order of operations included, as torchvision's ``BoxCoder``.

    Example:
        >>> coder = BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))
        >>> p = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
        >>> g = torch.tensor([[1.0, 2.0, 11.0, 22.0]])
        >>> d = coder.encode(g, p)
        >>> d
        tensor([[1.0000, 7.0000, 0.0000, 3.4657]])
        >>> coder.decode(d, p)
        tensor([[ 1.,  2., 11., 22.]])

    References:
        Girshick, R. "Fast R-CNN." ICCV 2015. Girshick, R., Donahue, J., Darrell, T.,
        Malik, J. "Rich feature hierarchies for accurate object detection and semantic
        segmentation." CVPR 2014, appendix C.
    """

    def __init__(
        self,
        weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0),
        bbox_xform_clip: float = _DEFAULT_XFORM_CLIP,
    ) -> None:
        if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence):
            raise WrongTypeError(f"weights must be a sequence of 4 numbers, got {weights!r}")
        if len(weights) != 4:
            raise ShapeError(f"weights must hold 4 numbers (wx, wy, ww, wh), got {weights!r}")
        self.weights: tuple[float, float, float, float] = tuple(  # type: ignore[assignment]
            check_positive(w, f"weights[{i}]") for i, w in enumerate(weights)
        )
        self.bbox_xform_clip = check_positive(bbox_xform_clip, "bbox_xform_clip")

    def __repr__(self) -> str:
        return f"BoxCoder(weights={self.weights}, bbox_xform_clip={self.bbox_xform_clip:.6g})"

    def encode(self, reference_boxes: Tensor, proposals: Tensor) -> Tensor:
        r"""Deltas that turn each proposal into its reference (target) box.

        Args:
            reference_boxes: the targets (matched ground truth), ``(N, 4)`` ``xyxy``, float,
                finite, positive width and height.
            proposals: the boxes they are coded against (anchors or proposals), ``(N, 4)``,
                same constraints; converted to the dtype of ``reference_boxes``.

        Returns:
            ``(dx, dy, dw, dh)`` per row, shape ``(N, 4)``, dtype of ``reference_boxes``.
            Differentiable in both arguments.

        Shape:
            ``(N, 4), (N, 4) -> (N, 4)``.

        Raises:
            WrongTypeError: not floating tensors.
            ShapeError: not ``(N, 4)``, or different ``N``.
            ValueRangeError: NaN/Inf, or a width or height <= 0 (the index is named).
        """
        _check_xyxy(reference_boxes, "reference_boxes", positive=True)
        _check_xyxy(proposals, "proposals", positive=True)
        if proposals.shape[0] != reference_boxes.shape[0]:
            raise ShapeError(
                f"proposals must have as many rows as reference_boxes "
                f"({reference_boxes.shape[0]}), got shape {tuple(proposals.shape)}"
            )
        proposals = proposals.to(reference_boxes.dtype)
        wx, wy, ww, wh = self.weights
        px, py, pw, ph = _centre_size(proposals)  # (N,) each
        gx, gy, gw, gh = _centre_size(reference_boxes)  # (N,) each
        # dx = wx (gx - px) / pw,  dy = wy (gy - py) / ph
        dx = wx * (gx - px) / pw
        dy = wy * (gy - py) / ph
        # dw = ww log(gw / pw),  dh = wh log(gh / ph)
        dw = ww * torch.log(gw / pw)
        dh = wh * torch.log(gh / ph)
        return torch.stack((dx, dy, dw, dh), dim=1)  # (N, 4)

    def decode(self, deltas: Tensor, boxes: Tensor) -> Tensor:
        r"""Apply deltas to boxes: the inverse of :meth:`encode`, with the size clamp.

        Args:
            deltas: ``(N, 4)``, or ``(N, 4 K)`` class-specific deltas (``K`` groups of
                ``(dx, dy, dw, dh)``, one per class, as a Fast R-CNN box head predicts them);
                float, finite.
            boxes: the proposals (anchors) they apply to, ``(N, 4)`` ``xyxy``, float, finite,
                width and height >= 0; converted to the dtype of ``deltas``.

        Returns:
            The decoded ``xyxy`` boxes, same shape and dtype as ``deltas``: columns
            ``4 k : 4 k + 4`` are the box of class ``k``. Always finite for finite input of
            moderate size (the size is clamped; a centre shift ``dx`` is not). Not clipped to
            the image (see :func:`pixlearn.ops.clip_boxes`). Differentiable (the gradient of
            ``dw``/``dh`` is 0 where the clamp is active).

        Shape:
            ``(N, 4 K), (N, 4) -> (N, 4 K)``.

        Raises:
            WrongTypeError: not floating tensors.
            ShapeError: ``deltas`` not 2-D with a multiple of 4 columns, ``boxes`` not
                ``(N, 4)``, or different ``N``.
            ValueRangeError: NaN/Inf, or ``x2 < x1`` / ``y2 < y1`` in ``boxes``.
        """
        _check_float(deltas, "deltas")
        if deltas.dim() != 2 or deltas.shape[1] % 4 or deltas.shape[1] == 0:
            raise ShapeError(
                f"deltas must have shape (N, 4) or (N, 4 * K), got shape {tuple(deltas.shape)}"
            )
        check_finite(deltas, "deltas")
        _check_xyxy(boxes, "boxes", positive=False)
        if boxes.shape[0] != deltas.shape[0]:
            raise ShapeError(
                f"boxes must have as many rows as deltas ({deltas.shape[0]}), "
                f"got shape {tuple(boxes.shape)}"
            )
        boxes = boxes.to(deltas.dtype)
        wx, wy, ww, wh = self.weights
        px, py, pw, ph = (t[:, None] for t in _centre_size(boxes))  # (N, 1) each
        dx = deltas[:, 0::4] / wx  # (N, K)
        dy = deltas[:, 1::4] / wy
        # clamp the log-size ratio so that exp() cannot overflow
        dw = (deltas[:, 2::4] / ww).clamp(max=self.bbox_xform_clip)
        dh = (deltas[:, 3::4] / wh).clamp(max=self.bbox_xform_clip)
        # gx = pw dx + px,  gw = pw exp(dw)
        gx = dx * pw + px  # (N, K)
        gy = dy * ph + py
        gw = torch.exp(dw) * pw
        gh = torch.exp(dh) * ph
        # x1 = gx - gw / 2,  x2 = gx + gw / 2
        out = torch.stack((gx - 0.5 * gw, gy - 0.5 * gh, gx + 0.5 * gw, gy + 0.5 * gh), dim=2)
        return out.flatten(1)  # (N, K, 4) -> (N, 4 K)
