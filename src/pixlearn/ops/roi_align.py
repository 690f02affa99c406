"""RoI Align (Mask R-CNN): bilinear, snap-free pooling of regions of interest.

RoI pooling snaps a box and its bins to whole feature cells, which shifts the features against
the box by up to a cell. RoI Align keeps the box in continuous coordinates, divides it into
``oh x ow`` equal bins, samples each bin at a regular grid of points by bilinear interpolation and
averages them. Every output is then a fixed weighted sum of feature cells: RoI Align is a linear
map of the features, computed here as one weighted "bag" of (cell, weight) pairs per output bin
(``torch.nn.functional.embedding_bag``), which also gives the exact gradient for free.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pixlearn._core.check import check_int, check_positive, pair
from pixlearn.ops.roi_pool import _as_rois, _check_features

__all__ = ["RoIAlign", "roi_align"]


def roi_align(
    features: Tensor,
    boxes: Tensor | Sequence[Tensor],
    output_size: int | Sequence[int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
) -> Tensor:
    r"""Pool every region of interest to ``output_size`` by bilinear sampling (Mask R-CNN).

    Args:
        features: feature maps, shape ``(B, C, H, W)``, float, finite.
        boxes: the regions in input-image pixels, ``xyxy`` with ``x2 >= x1``: a list of ``B``
            tensors ``(K_i, 4)`` (one per image) or one ``(K, 5)`` tensor whose first column is
            the batch index. Boxes get no gradient.
        output_size: ``oh`` or ``(oh, ow)``, the bins per region, each >= 1.
        spatial_scale: feature cells per input pixel (``1/16`` for a stride-16 backbone).
        sampling_ratio: sample points per bin along each axis; ``<= 0`` chooses
            :math:`\lceil h_{roi} / oh \rceil` (and likewise in x) for each box.
        aligned: subtract half a cell from the scaled box, so that a feature cell's value sits
            at its centre (pixel ``i`` covers ``[i, i + 1)``); ``False`` keeps the original
            Mask R-CNN convention, which also enlarges a box narrower than one cell to one cell.

    Returns:
        The pooled features, shape ``(K, C, oh, ow)``, dtype of ``features``; the regions in the
        order of ``boxes`` (the list concatenated). An empty box list gives ``(0, C, oh, ow)``.

    Shape:
        ``(B, C, H, W)`` and ``K`` boxes -> ``(K, C, oh, ow)``.

    Notes:
        With :math:`o = 1/2` if ``aligned`` else 0, the box starts at
        :math:`y_0 = s y_1 - o` and bin :math:`i` has height :math:`b_h = (s y_2 - s y_1) / oh`.
        Its :math:`g_y \times g_x` samples sit at

        .. math:: y = y_0 + i b_h + (p + \tfrac12) \frac{b_h}{g_y}, \quad p = 0, \dots, g_y - 1

        (x likewise), and the output is their mean,

        .. math:: Y_{ij} = \frac{1}{\max(g_y g_x, 1)} \sum_{p, q} f_{\mathrm{bilinear}}(y_p, x_q).

        As in torchvision, a sample with :math:`y < -1`, :math:`y > H`, :math:`x < -1` or
        :math:`x > W` is 0; otherwise a coordinate below 0 is moved to 0 and one beyond the
        last cell :math:`H - 1` uses that cell, and the bilinear weights of the two neighbours
        :math:`\lfloor y \rfloor`, :math:`\lfloor y \rfloor + 1` are
        :math:`1 - (y - \lfloor y \rfloor)` and :math:`y - \lfloor y \rfloor`.

    Example:
        >>> ramp = torch.arange(8.0).repeat(8, 1)[None, None]  # f(y, x) = x
        >>> box = torch.tensor([[0.0, 0.0, 0.0, 8.0, 8.0]])
        >>> roi_align(ramp, box, 2, aligned=True)[0, 0]  # bin centres x = 2 and 6, minus 1/2
        tensor([[1.5000, 5.5000],
                [1.5000, 5.5000]])

    References:
        He, K., Gkioxari, G., Dollár, P., Girshick, R. "Mask R-CNN." ICCV 2017.
    """
    _check_features(features)
    oh, ow = pair(output_size, "output_size")
    scale = check_positive(spatial_scale, "spatial_scale")
    ratio = check_int(sampling_ratio, "sampling_ratio")
    if not isinstance(aligned, bool):
        raise TypeError(f"aligned must be a bool, got {aligned!r}")
    batch, xyxy = _as_rois(boxes, features)
    _, c, h, w = features.shape
    k = xyxy.shape[0]
    # coordinates in the features' precision (at least float32), as torchvision computes them
    cdtype = torch.promote_types(features.dtype, torch.float32)
    offset = 0.5 if aligned else 0.0
    start = xyxy.to(cdtype) * scale - offset  # (K, 4): x1, y1, x2, y2 on the feature grid
    roi_w = start[:, 2] - start[:, 0]  # (K,)
    roi_h = start[:, 3] - start[:, 1]
    if not aligned:
        # the legacy convention: a box is at least one cell wide and high
        roi_w, roi_h = roi_w.clamp(min=1.0), roi_h.clamp(min=1.0)
    if ratio > 0:
        grid_y = torch.full((k,), ratio, dtype=torch.int64, device=xyxy.device)
        grid_x = grid_y
    else:
        # adaptive: about one sample per feature cell, g = ceil(roi / bins)
        grid_y = torch.ceil(roi_h / oh).long()
        grid_x = torch.ceil(roi_w / ow).long()
    table = features.permute(0, 2, 3, 1).reshape(-1, c)  # (B*H*W, C), one row per cell
    # boxes with the same sample grid are built together; one weighted bag per output bin
    key = grid_y * (int(grid_x.max()) + 1 if k else 1) + grid_x  # (K,)
    order, cells, weights, bag_sizes = [], [], [], []
    for g in torch.unique(key).tolist():
        sel = (key == g).nonzero().flatten()  # (k,) the boxes of this group
        gy, gx = int(grid_y[sel[0]]), int(grid_x[sel[0]])
        if gy == 0 or gx == 0:  # a zero-size box: no samples, its bins are 0
            cell = batch.new_zeros(sel.numel(), oh * ow, 0)
            weight = table.new_zeros(sel.numel(), oh * ow, 0)
        else:
            iy, wy = _axis_samples(start[sel, 1], roi_h[sel], oh, gy, h)  # (k, oh, 2*gy) each
            ix, wx = _axis_samples(start[sel, 0], roi_w[sel], ow, gx, w)  # (k, ow, 2*gx)
            # the bilinear weight of cell (r, c) is wy(r) * wx(c); flat cell index b*H*W + r*W + c
            row = (batch[sel, None, None] * h + iy) * w  # (k, oh, 2*gy)
            cell = row[:, :, None, :, None] + ix[:, None, :, None, :]  # (k, oh, ow, 2gy, 2gx)
            # the mean over the gy * gx samples of the bin
            weight = wy[:, :, None, :, None] * wx[:, None, :, None, :] / (gy * gx)
            cell = cell.reshape(sel.numel(), oh * ow, -1)
            weight = weight.reshape(sel.numel(), oh * ow, -1).to(table.dtype)
        order.append(sel)
        cells.append(cell.flatten())
        weights.append(weight.flatten())
        bag_sizes.append(torch.full((sel.numel() * oh * ow,), cell.shape[-1], device=cell.device))
    if not order:
        return features.new_zeros(0, c, oh, ow)
    sizes = torch.cat(bag_sizes)
    offsets = torch.cumsum(sizes, 0) - sizes  # where each bag starts
    pooled = F.embedding_bag(
        torch.cat(cells), table, offsets, mode="sum", per_sample_weights=torch.cat(weights)
    )  # (K*oh*ow, C), boxes in group order
    pooled = pooled.reshape(k, oh, ow, c)
    # back from group order to the order of the boxes
    inverse = torch.empty_like(key)
    inverse[torch.cat(order)] = torch.arange(k, device=key.device)
    return pooled[inverse].permute(0, 3, 1, 2)


def _axis_samples(
    start: Tensor, size: Tensor, bins: int, grid: int, limit: int
) -> tuple[Tensor, Tensor]:
    """Bilinear neighbours and weights of every sample point along one axis.

    Args:
        start: box start on the feature grid, ``(k,)``.
        size: box size on the feature grid, ``(k,)``.
        bins: bins along the axis; grid: samples per bin; limit: the map's size (H or W).

    Returns:
        ``(index, weight)``, each ``(k, bins, 2 * grid)``: the low and the high neighbour of
        every sample (weight 0 for a sample outside ``[-1, limit]``).
    """
    step = (size / bins)[:, None, None]  # (k, 1, 1) bin size
    j = torch.arange(bins, device=start.device, dtype=start.dtype)[None, :, None]
    p = torch.arange(grid, device=start.device, dtype=start.dtype)[None, None, :]
    # y = y0 + i * b + (p + 1/2) * b / g
    y = start[:, None, None] + j * step + (p + 0.5) * step / grid  # (k, bins, grid)
    valid = (y >= -1.0) & (y <= limit)
    y = y.clamp(min=0.0)
    low = y.long()  # truncation == floor, y >= 0
    beyond = low >= limit - 1
    low = torch.where(beyond, limit - 1, low)
    high = torch.where(beyond, low, low + 1)
    y = torch.where(beyond, low.to(y.dtype), y)
    frac = y - low  # distance to the low neighbour
    w_low = torch.where(valid, 1.0 - frac, 0.0)
    w_high = torch.where(valid, frac, 0.0)
    return torch.cat([low, high], -1), torch.cat([w_low, w_high], -1)


class RoIAlign(nn.Module):
    """Module form of :func:`roi_align`; holds the pooling hyper-parameters.

    Example:
        >>> align = RoIAlign(7, spatial_scale=1 / 16, sampling_ratio=2, aligned=True)
        >>> boxes = [torch.tensor([[10.0, 20.0, 200.0, 150.0]]), torch.zeros(0, 4)]
        >>> align(torch.rand(2, 8, 20, 20), boxes).shape
        torch.Size([1, 8, 7, 7])
    """

    def __init__(
        self,
        output_size: int | Sequence[int],
        spatial_scale: float = 1.0,
        sampling_ratio: int = -1,
        aligned: bool = False,
    ) -> None:
        super().__init__()
        self.output_size = pair(output_size, "output_size")
        self.spatial_scale = check_positive(spatial_scale, "spatial_scale")
        self.sampling_ratio = check_int(sampling_ratio, "sampling_ratio")
        self.aligned = aligned

    def forward(self, features: Tensor, boxes: Tensor | Sequence[Tensor]) -> Tensor:
        return roi_align(
            features,
            boxes,
            self.output_size,
            self.spatial_scale,
            self.sampling_ratio,
            self.aligned,
        )

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, spatial_scale={self.spatial_scale}, "
            f"sampling_ratio={self.sampling_ratio}, aligned={self.aligned}"
        )
