"""RoI pooling (Fast R-CNN): max-pool each region of interest to a fixed grid of features.

A proposal box is projected onto the feature map, *snapped* to whole feature cells, divided into
``oh x ow`` roughly equal bins (their edges are snapped too), and each bin is max-pooled, so every
region gives features of the same size whatever its own size. The snapping misaligns features and
box by up to a cell; :func:`pixlearn.ops.roi_align` removes it.

Both RoI ops take the boxes in either of the two forms detectors use: a list with one ``(K_i, 4)``
tensor per image, or one ``(K, 5)`` tensor whose first column is the image's batch index. The
helpers that check and convert them live here and are shared with :mod:`pixlearn.ops.roi_align`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pixlearn._core.check import check_finite, check_image, check_positive, check_tensor, pair
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = ["RoIPool", "roi_pool"]

# the most entries the padded (box, bin, row, column) index grid may hold at once
_CHUNK_ENTRIES = 1 << 22


def _check_features(features: Tensor) -> Tensor:
    return check_image(features, "features", min_dims=4, max_dims=4, floating=True)


def _check_box_rows(b: Tensor, name: str) -> None:
    """Refuse NaN/Inf coordinates and boxes with ``x2 < x1`` or ``y2 < y1``, naming the row."""
    check_finite(b, name)
    bad = (b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1])
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        raise ValueRangeError(
            f"{name} must be xyxy boxes with x2 >= x1 and y2 >= y1, got {b[i].tolist()} at row {i}"
        )


def _as_rois(boxes: Tensor | Sequence[Tensor], features: Tensor) -> tuple[Tensor, Tensor]:
    """Check ``boxes`` (a list of ``(K_i, 4)`` or one ``(K, 5)`` tensor) against ``features``.

    Returns:
        ``(batch_index, xyxy)``: int64 ``(K,)`` image indices and detached ``(K, 4)`` boxes.
    """
    n_images = features.shape[0]
    if isinstance(boxes, (list, tuple)):
        if len(boxes) != n_images:
            raise ShapeError(
                f"boxes must hold one (K_i, 4) tensor per image, got {len(boxes)} tensors "
                f"for features with batch size {n_images}"
            )
        parts, index = [], []
        for i, b in enumerate(boxes):
            name = f"boxes[{i}]"
            check_tensor(b, name)
            if b.dim() != 2 or b.shape[1] != 4:
                raise ShapeError(f"{name} must have shape (K, 4), got shape {tuple(b.shape)}")
            if not b.is_floating_point():
                raise WrongTypeError(f"{name} must be a floating-point tensor, got {b.dtype}")
            if b.device != features.device:
                raise ValueError(f"{name} is on {b.device} but features are on {features.device}")
            _check_box_rows(b, name)
            parts.append(b.detach())
            index.append(torch.full((b.shape[0],), i, dtype=torch.int64, device=b.device))
        if not parts:
            empty = features.new_zeros((0, 4))
            return torch.zeros(0, dtype=torch.int64, device=features.device), empty
        dtype = torch.promote_types(parts[0].dtype, features.dtype)
        return torch.cat(index), torch.cat([p.to(dtype) for p in parts])
    check_tensor(boxes, "boxes")
    if boxes.dim() != 2 or boxes.shape[1] != 5:
        raise ShapeError(
            "boxes must be a list of (K_i, 4) tensors or a (K, 5) tensor "
            f"[batch_index, x1, y1, x2, y2], got shape {tuple(boxes.shape)}"
        )
    if not boxes.is_floating_point():
        raise WrongTypeError(f"boxes must be a floating-point tensor, got {boxes.dtype}")
    if boxes.device != features.device:
        raise ValueError(f"boxes are on {boxes.device} but features are on {features.device}")
    rois = boxes.detach()
    _check_box_rows(rois[:, 1:], "boxes")
    index = rois[:, 0]
    bad = (index != index.round()) | (index < 0) | (index >= n_images)
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        raise ValueRangeError(
            f"boxes[:, 0] must hold batch indices in 0..{n_images - 1} (features has batch size "
            f"{n_images}), got {index[i].item()!r} at row {i}"
        )
    return index.long(), rois[:, 1:]


def _round_half_away(x: Tensor) -> Tensor:
    """C's ``round``: halves go away from zero (``torch.round`` rounds them to even)."""
    return torch.sign(x) * torch.floor(x.abs() + 0.5)


def roi_pool(
    features: Tensor,
    boxes: Tensor | Sequence[Tensor],
    output_size: int | Sequence[int],
    spatial_scale: float = 1.0,
) -> Tensor:
    r"""Max-pool every region of interest to a fixed ``output_size`` grid (Fast R-CNN).

    Args:
        features: feature maps, shape ``(B, C, H, W)``, float, finite.
        boxes: the regions in input-image pixels, ``xyxy`` with ``x2 >= x1``: a list of ``B``
            tensors ``(K_i, 4)`` (one per image) or one ``(K, 5)`` tensor whose first column is
            the batch index. Boxes get no gradient.
        output_size: ``oh`` or ``(oh, ow)``, the bins per region, each >= 1.
        spatial_scale: feature cells per input pixel (``1/16`` for a stride-16 backbone).

    Returns:
        The pooled features, shape ``(K, C, oh, ow)``, dtype of ``features``; the regions in the
        order of ``boxes`` (the list concatenated). An empty box list gives ``(0, C, oh, ow)``.
        The gradient of each output goes to the feature cell that was its maximum (the first
        one in row-major order on ties); empty bins give 0 and no gradient.

    Shape:
        ``(B, C, H, W)`` and ``K`` boxes -> ``(K, C, oh, ow)``.

    Notes:
        The box is snapped to cells, :math:`c_1 = \mathrm{round}(s x_1)`,
        :math:`c_2 = \mathrm{round}(s x_2)` (halves away from zero), and covers
        :math:`w = \max(c_2 - c_1 + 1, 1)` cells (the Caffe/torchvision convention, inclusive
        end); rows likewise. Bin :math:`j` of :math:`n` covers the cells
        :math:`c_1 + \lfloor j w / n \rfloor \le x < c_1 + \lceil (j + 1) w / n \rceil`,
        clipped to the map, and

        .. math:: y_{ij} = \max_{(r, c) \in \mathrm{bin}_{ij}} f(r, c),

        which is 0 for a bin that lies wholly outside the map. Neighbouring bins may share a row
        or column of cells. The bin edges are computed in exact integer arithmetic; torchvision
        computes :math:`j \cdot (w / n)` in floating point, which can differ in the last bit.

    Example:
        >>> feats = torch.arange(16.0).reshape(1, 1, 4, 4)
        >>> roi_pool(feats, [torch.tensor([[0.0, 0.0, 3.0, 3.0]])], 2)
        tensor([[[[ 5.,  7.],
                  [13., 15.]]]])

    References:
        Girshick, R. "Fast R-CNN." ICCV 2015.
    """
    _check_features(features)
    oh, ow = pair(output_size, "output_size")
    scale = check_positive(spatial_scale, "spatial_scale")
    batch, xyxy = _as_rois(boxes, features)
    _, c, h, w = features.shape
    k = xyxy.shape[0]
    # project onto the feature grid and snap: integer cells, inclusive end
    cells = _round_half_away(xyxy.double() * scale).long()  # (K, 4)
    x1, y1, x2, y2 = cells.unbind(1)
    roi_w = (x2 - x1 + 1).clamp(min=1)  # (K,)
    roi_h = (y2 - y1 + 1).clamp(min=1)
    hs, he = _bin_edges(y1, roi_h, oh, h)  # (K, oh) each, clipped to [0, H]
    ws, we = _bin_edges(x1, roi_w, ow, w)  # (K, ow)
    # every cell of every bin is one entry of a "bag" of the cells max-pooled into that bin
    table = features.permute(0, 2, 3, 1).reshape(-1, c)  # (B*H*W, C), one row per cell
    mh = int((he - hs).max()) if k else 0
    mw = int((we - ws).max()) if k else 0
    step = max(1, _CHUNK_ENTRIES // max(1, oh * ow * mh * mw))
    cells_in_bags, bag_sizes = [], []
    for lo in range(0, k, step):
        sl = slice(lo, lo + step)
        rows = hs[sl, :, None] + torch.arange(mh, device=hs.device)  # (k, oh, mh)
        cols = ws[sl, :, None] + torch.arange(mw, device=ws.device)  # (k, ow, mw)
        in_bin = (rows < he[sl, :, None])[:, :, None, :, None] & (cols < we[sl, :, None])[
            :, None, :, None, :
        ]  # (k, oh, ow, mh, mw)
        cell = (batch[sl, None, None] * h + rows)[:, :, None, :, None] * w + cols[
            :, None, :, None, :
        ]  # (k, oh, ow, mh, mw)
        cells_in_bags.append(cell[in_bin])
        bag_sizes.append(in_bin.flatten(3).sum(3).flatten())  # (k * oh * ow,)
    idx = torch.cat(cells_in_bags) if cells_in_bags else batch.new_zeros(0)
    sizes = torch.cat(bag_sizes) if bag_sizes else batch.new_zeros(0)
    offsets = torch.cumsum(sizes, 0) - sizes  # where each bag starts in idx
    # embedding_bag(mode="max") takes the first maximum of each bag, routes the gradient to it,
    # and gives 0 for an empty bag
    out = F.embedding_bag(idx, table, offsets, mode="max")  # (K*oh*ow, C)
    return out.reshape(k, oh, ow, c).permute(0, 3, 1, 2)


def _bin_edges(start: Tensor, size: Tensor, n: int, limit: int) -> tuple[Tensor, Tensor]:
    """Cell ranges ``[lo, hi)`` of ``n`` bins over ``size`` cells from ``start``, clipped."""
    j = torch.arange(n, device=start.device)  # (n,)
    # floor(j * size / n) and ceil((j + 1) * size / n), exactly, in integers
    lo = torch.div(j * size[:, None], n, rounding_mode="floor")  # (K, n)
    hi = -torch.div(-(j + 1) * size[:, None], n, rounding_mode="floor")  # (K, n)
    lo = (lo + start[:, None]).clamp(0, limit)
    hi = (hi + start[:, None]).clamp(0, limit)
    return lo, hi


class RoIPool(nn.Module):
    """Module form of :func:`roi_pool`; holds ``output_size`` and ``spatial_scale``.

    Example:
        >>> pool = RoIPool(2, spatial_scale=0.5)
        >>> pool(torch.rand(1, 3, 8, 8), torch.tensor([[0.0, 0.0, 0.0, 15.0, 15.0]])).shape
        torch.Size([1, 3, 2, 2])
    """

    def __init__(self, output_size: int | Sequence[int], spatial_scale: float = 1.0) -> None:
        super().__init__()
        self.output_size = pair(output_size, "output_size")
        self.spatial_scale = check_positive(spatial_scale, "spatial_scale")

    def forward(self, features: Tensor, boxes: Tensor | Sequence[Tensor]) -> Tensor:
        return roi_pool(features, boxes, self.output_size, self.spatial_scale)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}, spatial_scale={self.spatial_scale}"
