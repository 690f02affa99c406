"""Multi-scale RoI Align: pool each box from the feature-pyramid level that suits its size.

A feature pyramid (FPN) has maps at strides 4, 8, 16, 32, ...; a small box is best described by a
fine map, a large box by a coarse one. Each box is assigned to one level by its scale
(:func:`fpn_levels`) and pooled from that level with :func:`pixlearn.ops.roi_align`, so all boxes
come out at the same ``output_size`` whatever their size.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

from pixlearn._core.check import check_int, check_positive, check_tensor, pair
from pixlearn._core.errors import ShapeError, WrongTypeError
from pixlearn.ops.roi_align import roi_align
from pixlearn.ops.roi_pool import _as_rois, _check_features

__all__ = ["MultiScaleRoIAlign", "fpn_levels"]


def fpn_levels(
    boxes: Tensor,
    *,
    k_min: int,
    k_max: int,
    canonical_scale: float = 224.0,
    canonical_level: int = 4,
    eps: float = 1e-6,
) -> Tensor:
    r"""The feature-pyramid level of every box, by its scale :math:`\sqrt{wh}`.

    Args:
        boxes: ``(K, 4)`` ``xyxy`` boxes in input-image pixels.
        k_min: the finest level available (level ``k`` has stride :math:`2^k`).
        k_max: the coarsest level available, ``>= k_min``.
        canonical_scale: the box scale that maps to ``canonical_level`` (224, the ImageNet
            pre-training size).
        canonical_level: the level of a box of ``canonical_scale`` (4 in the FPN paper).
        eps: added before the floor, so that a scale of exactly :math:`224 \cdot 2^n` is not
            pushed a level down by rounding.

    Returns:
        int64 ``(K,)``, the level ``k`` of every box, in ``[k_min, k_max]``.

    Notes:
        .. math:: k = \left\lfloor k_0 + \log_2\!\left(\sqrt{wh} / 224\right) + \epsilon
            \right\rfloor, \quad \text{clamped to } [k_{min}, k_{max}].

        A zero-area box goes to ``k_min``.

    Example:
        >>> boxes = torch.tensor([[0.0, 0.0, 32.0, 32.0], [0.0, 0.0, 224.0, 224.0]])
        >>> fpn_levels(boxes, k_min=2, k_max=5)
        tensor([2, 4])

    References:
        Lin, T.-Y., Dollár, P., Girshick, R., He, K., Hariharan, B., Belongie, S. "Feature
        Pyramid Networks for Object Detection." CVPR 2017, Eq. (1).
    """
    check_tensor(boxes, "boxes")
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise ShapeError(f"boxes must have shape (K, 4), got shape {tuple(boxes.shape)}")
    k_min = check_int(k_min, "k_min")
    k_max = check_int(k_max, "k_max", min_value=k_min)
    s0 = check_positive(canonical_scale, "canonical_scale")
    k0 = check_int(canonical_level, "canonical_level")
    b = boxes.detach().double()
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # (K,)
    # k = floor(k0 + log2(sqrt(w h) / 224) + eps); log2(0) = -inf clamps to k_min
    k = torch.floor(k0 + torch.log2(torch.sqrt(area) / s0) + eps)
    return k.clamp(k_min, k_max).long()


class MultiScaleRoIAlign(nn.Module):
    """RoI Align over a feature pyramid, each box on the level its size calls for.

    Args:
        featmap_names: which maps to pool from, finest first: keys of a dict of features, or
            positions in a list of features.
        output_size: ``oh`` or ``(oh, ow)``.
        sampling_ratio: as in :func:`pixlearn.ops.roi_align` (``<= 0``: adaptive).
        canonical_scale: box scale of ``canonical_level`` (see :func:`fpn_levels`).
        canonical_level: level of a box of ``canonical_scale``.
        aligned: as in :func:`pixlearn.ops.roi_align` (``False`` as in torchvision's pooler).

    The stride of each map is inferred from its height and the largest image height, rounded
    to a power of two (``2 ** round(log2(H_map / H_image))``); the maps must have consecutive
    strides (each half the size of the one before).

    Shape:
        ``forward(features, boxes, image_shapes)``: maps ``(B, C, H_l, W_l)``, a list of ``B``
        ``(K_i, 4)`` box tensors in image pixels and ``B`` image sizes ``(h, w)`` ->
        ``(K, C, oh, ow)``, boxes in the order of the concatenated list.

    Example:
        >>> pooler = MultiScaleRoIAlign(["p2", "p3"], 7, sampling_ratio=2)
        >>> feats = {"p2": torch.rand(1, 4, 32, 32), "p3": torch.rand(1, 4, 16, 16)}
        >>> boxes = [torch.tensor([[0.0, 0.0, 20.0, 20.0], [0.0, 0.0, 120.0, 100.0]])]
        >>> pooler(feats, boxes, [(128, 128)]).shape
        torch.Size([2, 4, 7, 7])

    References:
        Lin, T.-Y. et al. "Feature Pyramid Networks for Object Detection." CVPR 2017.
    """

    def __init__(
        self,
        featmap_names: Sequence[str] | Sequence[int],
        output_size: int | Sequence[int],
        sampling_ratio: int = -1,
        *,
        canonical_scale: float = 224.0,
        canonical_level: int = 4,
        aligned: bool = False,
    ) -> None:
        super().__init__()
        if isinstance(featmap_names, (str, int)) or len(featmap_names) == 0:
            raise ShapeError(
                f"featmap_names must be a non-empty list of names, got {featmap_names!r}"
            )
        self.featmap_names = list(featmap_names)
        self.output_size = pair(output_size, "output_size")
        self.sampling_ratio = check_int(sampling_ratio, "sampling_ratio")
        self.canonical_scale = check_positive(canonical_scale, "canonical_scale")
        self.canonical_level = check_int(canonical_level, "canonical_level")
        self.aligned = aligned

    def _select(self, features: Mapping[str, Tensor] | Sequence[Tensor]) -> list[Tensor]:
        maps = []
        for name in self.featmap_names:
            try:
                fm = features[name]  # type: ignore[index]
            except (KeyError, IndexError, TypeError):
                raise ShapeError(
                    f"features has no map {name!r} (featmap_names={self.featmap_names})"
                ) from None
            maps.append(_check_features(fm))
        return maps

    def forward(
        self,
        features: Mapping[str, Tensor] | Sequence[Tensor],
        boxes: Sequence[Tensor],
        image_shapes: Sequence[tuple[int, int]],
    ) -> Tensor:
        if not isinstance(features, (Mapping, list, tuple)):
            raise WrongTypeError(f"features must be a dict or a list of tensors, got {features!r}")
        maps = self._select(features)
        n_images, channels = maps[0].shape[:2]
        for name, fm in zip(self.featmap_names, maps, strict=True):
            if fm.shape[:2] != (n_images, channels):
                raise ShapeError(
                    f"features[{name!r}] has shape {tuple(fm.shape)}; every map must have "
                    f"batch size {n_images} and {channels} channels"
                )
        if len(image_shapes) != n_images:
            raise ShapeError(
                f"image_shapes must hold one (h, w) per image ({n_images}), got {len(image_shapes)}"
            )
        heights = [pair(s, f"image_shapes[{i}]")[0] for i, s in enumerate(image_shapes)]
        if not isinstance(boxes, (list, tuple)):
            raise WrongTypeError("boxes must be a list of (K_i, 4) tensors, one per image")
        batch, xyxy = _as_rois(boxes, maps[0])
        # the stride of each map, a power of two: scale = 2 ** round(log2(H_map / H_image))
        levels = [-round(math.log2(fm.shape[-2] / max(heights))) for fm in maps]
        if any(b != a + 1 for a, b in itertools.pairwise(levels)):
            raise ShapeError(
                f"features must be consecutive pyramid levels, finest first (strides 2^k, "
                f"2^(k+1), ...), got strides {[2**k for k in levels]}"
            )
        target = fpn_levels(
            xyxy,
            k_min=levels[0],
            k_max=levels[-1],
            canonical_scale=self.canonical_scale,
            canonical_level=self.canonical_level,
        )  # (K,)
        rois = torch.cat([batch[:, None].to(xyxy.dtype), xyxy], 1)  # (K, 5)
        oh, ow = self.output_size
        outs, order = [], []
        for fm, lvl in zip(maps, levels, strict=True):
            sel = (target == lvl).nonzero().flatten()
            if sel.numel():
                outs.append(
                    roi_align(
                        fm,
                        rois[sel],
                        (oh, ow),
                        2.0**-lvl,
                        self.sampling_ratio,
                        self.aligned,
                    )
                )
                order.append(sel)
        if not outs:
            return maps[0].new_zeros(0, channels, oh, ow)
        # back from level order to box order
        inverse = torch.empty_like(target)
        inverse[torch.cat(order)] = torch.arange(target.numel(), device=target.device)
        return torch.cat(outs)[inverse]

    def extra_repr(self) -> str:
        return (
            f"featmap_names={self.featmap_names}, output_size={self.output_size}, "
            f"sampling_ratio={self.sampling_ratio}"
        )
