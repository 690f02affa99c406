r"""The matrix maths of the geometric augmentations, in one place.

Every geometric transform is a 3x3 matrix :math:`M` acting on homogeneous pixel coordinates
:math:`(x, y, 1)^T` (continuous: pixel ``(row, col)`` has its centre at ``(col + 0.5,
row + 0.5)``), from the input image to the output image. :func:`warp_batch` then

* resamples the image backwards: the output pixel centre :math:`p'` reads the input at
  :math:`M^{-1} p'` (bilinear, zeros outside), one ``grid_sample`` for the whole batch;
* resamples the masks the same way with nearest-neighbour sampling, one call for all masks;
* maps box corners and keypoints forwards with :math:`M`; a box becomes the box around its
  four mapped corners, clipped to the output image.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from pixlearn.augment.base import Batch, select

__all__ = [
    "flip_matrix",
    "homography",
    "map_points",
    "map_targets",
    "rot90_matrix",
    "rotation_matrix",
    "scale_translate_matrix",
    "warp_batch",
]


def _eye(n: int, device: torch.device) -> Tensor:
    return torch.eye(3, dtype=torch.float64, device=device).expand(n, 3, 3).clone()  # (n, 3, 3)


def flip_matrix(apply: Tensor, size: int, axis: int) -> Tensor:
    """Flip about the image centre along ``axis`` (0: x, 1: y) where ``apply``: ``x' = W - x``."""
    m = _eye(apply.shape[0], apply.device)  # (B, 3, 3)
    m[apply, axis, axis] = -1.0
    m[apply, axis, 2] = float(size)
    return m


def rot90_matrix(k: Tensor, hw: tuple[int, int]) -> Tensor:
    """``k`` quarter turns counter-clockwise, as :func:`torch.rot90` on ``(H, W)`` (per item).

    One turn maps ``(x, y) -> (y, W - x)`` and swaps ``H`` and ``W``; ``k`` turns compose it.
    """
    h, w = hw
    out = _eye(k.shape[0], k.device)  # (B, 3, 3)
    for i in range(int(k.max()) if k.numel() else 0):
        turn = torch.tensor(
            [[0.0, 1.0, 0.0], [-1.0, 0.0, float(w)], [0.0, 0.0, 1.0]], dtype=torch.float64
        ).to(k.device)
        out = torch.where((k > i).view(-1, 1, 1), turn @ out, out)
        h, w = w, h
    return out


def rotation_matrix(degrees: Tensor, hw: tuple[int, int]) -> Tensor:
    r"""Rotation by ``degrees (B,)`` counter-clockwise (as seen on screen) about the centre.

    With :math:`c = (W/2, H/2)` and :math:`\theta` in radians (the y axis points down, so a
    counter-clockwise turn on screen is :math:`-\theta` in the usual maths frame):
    :math:`p' = R(\theta)(p - c) + c`, :math:`R = [[\cos, \sin], [-\sin, \cos]]`.
    """
    h, w = hw
    t = degrees.to(torch.float64) * (math.pi / 180.0)  # (B,)
    c, s = torch.cos(t), torch.sin(t)
    cx, cy = w / 2.0, h / 2.0
    m = _eye(t.shape[0], t.device)
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = c, s, -s, c
    # translation c - R c keeps the centre fixed
    m[:, 0, 2] = cx - (c * cx + s * cy)
    m[:, 1, 2] = cy - (-s * cx + c * cy)
    return m


def scale_translate_matrix(sx: Tensor, sy: Tensor, tx: Tensor, ty: Tensor) -> Tensor:
    """``x' = sx x + tx``, ``y' = sy y + ty`` per item (crops and resizes)."""
    m = _eye(sx.shape[0], sx.device)
    m[:, 0, 0], m[:, 1, 1], m[:, 0, 2], m[:, 1, 2] = sx, sy, tx, ty
    return m


def homography(src: Tensor, dst: Tensor) -> Tensor:
    r"""The homographies mapping 4 points ``src (B, 4, 2)`` onto ``dst (B, 4, 2)``.

    Notes:
        With :math:`h_{33} = 1`, each correspondence gives two linear equations
        :math:`x' (h_{31} x + h_{32} y + 1) = h_{11} x + h_{12} y + h_{13}` (and the same for
        :math:`y'`), an 8x8 system solved per item (direct linear transform).
    """
    x, y = src[..., 0], src[..., 1]  # (B, 4)
    u, v = dst[..., 0], dst[..., 1]
    one, zero = torch.ones_like(x), torch.zeros_like(x)
    rows_x = torch.stack([x, y, one, zero, zero, zero, -u * x, -u * y], dim=-1)  # (B, 4, 8)
    rows_y = torch.stack([zero, zero, zero, x, y, one, -v * x, -v * y], dim=-1)
    a = torch.cat([rows_x, rows_y], dim=1)  # (B, 8, 8)
    b = torch.cat([u, v], dim=1)  # (B, 8)
    h = torch.linalg.solve(a, b)  # (B, 8)
    return torch.cat([h, torch.ones_like(h[:, :1])], dim=1).view(-1, 3, 3)


def map_points(points: Tensor, matrix: Tensor) -> Tensor:
    r"""Map ``points (..., 2)`` by one ``matrix (3, 3)``: :math:`p' = (Mp)_{xy} / (Mp)_z`."""
    m = matrix.to(device=points.device, dtype=torch.float64)
    p = points.to(torch.float64)
    q = p @ m[:2, :2].T + m[:2, 2]  # (..., 2)
    z = p @ m[2, :2] + m[2, 2]  # (...,)
    return (q / z.unsqueeze(-1)).to(points.dtype)


def _corners(boxes: Tensor) -> Tensor:
    """The four corners ``(N, 4, 2)`` of ``xyxy`` boxes, in order around the box."""
    x1, y1, x2, y2 = boxes.unbind(-1)  # (N,) each
    return torch.stack(
        [torch.stack(c, dim=-1) for c in ((x1, y1), (x2, y1), (x2, y2), (x1, y2))], dim=1
    )


def _map_boxes(boxes: Tensor, matrix: Tensor) -> Tensor:
    """The box around the four mapped corners of each box ``(N, 4)``, unclipped."""
    mapped = map_points(_corners(boxes), matrix)  # (N, 4, 2)
    return torch.cat([mapped.amin(dim=1), mapped.amax(dim=1)], dim=-1)  # (N, 4)


def _clipped_box(boxes: Tensor, matrix: Tensor, hw: tuple[int, int]) -> Tensor:
    """The box around the part of each mapped box (a convex quadrilateral) inside the image.

    The extreme points of a convex polygon cut by the image rectangle are among: its vertices
    inside the image, the image corners inside it, and the crossings of its edges with the
    image border; the box is taken over those. A quadrilateral entirely outside gives a box of
    zero area on the border (the clip of its unclipped box).
    """
    h, w = hw
    q = map_points(_corners(boxes), matrix).to(torch.float64)  # (N, 4, 2)
    n = q.shape[0]
    eps = 1e-9
    inside = lambda p: (  # noqa: E731
        (p[..., 0] >= -eps) & (p[..., 0] <= w + eps) & (p[..., 1] >= -eps) & (p[..., 1] <= h + eps)
    )
    # image corners inside the quadrilateral: on the same side of all four edges
    rect = torch.tensor([[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]], dtype=q.dtype, device=q.device)
    a, b = q, q.roll(-1, dims=1)  # (N, 4, 2) edge starts and ends
    e = (b - a).unsqueeze(1)  # (N, 1, 4, 2)
    r = rect.view(1, 4, 1, 2) - a.unsqueeze(1)  # (N, 4 corners, 4 edges, 2)
    cross = e[..., 0] * r[..., 1] - e[..., 1] * r[..., 0]  # (N, 4, 4)
    in_poly = (cross >= -eps).all(dim=-1) | (cross <= eps).all(dim=-1)  # (N, 4)
    # crossings of each edge a + t (b - a) with the lines x = 0, x = W, y = 0, y = H
    points, valid = [q, rect.expand(n, 4, 2)], [inside(q), in_poly]
    for axis, value in ((0, 0.0), (0, float(w)), (1, 0.0), (1, float(h))):
        d = b[..., axis] - a[..., axis]  # (N, 4)
        t = (value - a[..., axis]) / torch.where(d == 0, torch.ones_like(d), d)
        p = a + t.unsqueeze(-1) * (b - a)  # (N, 4, 2)
        points.append(p)
        valid.append((d != 0) & (t >= 0) & (t <= 1) & inside(p))
    pts, ok = torch.cat(points, dim=1), torch.cat(valid, dim=1)  # (N, 24, 2), (N, 24)
    big = torch.finfo(pts.dtype).max
    lo = torch.where(ok.unsqueeze(-1), pts, big).amin(dim=1)  # (N, 2)
    hi = torch.where(ok.unsqueeze(-1), pts, -big).amax(dim=1)
    any_ok = ok.any(dim=1, keepdim=True)
    fallback = clip_to(torch.cat([q.amin(dim=1), q.amax(dim=1)], dim=-1), hw)
    box = torch.where(any_ok, torch.cat([lo, hi], dim=-1), fallback)
    return clip_to(box, hw).to(boxes.dtype)


def clip_to(boxes: Tensor, hw: tuple[int, int]) -> Tensor:
    """Clip ``xyxy`` boxes to the image ``[0, W] x [0, H]``."""
    h, w = hw
    bound = torch.tensor([w, h, w, h], dtype=boxes.dtype, device=boxes.device)
    return torch.minimum(boxes.clamp(min=0), bound)


def map_targets(
    batch: Batch, matrix: Tensor, hw: tuple[int, int], apply: Tensor | None = None
) -> Batch:
    """Map boxes (clipped to the new size ``hw``), unclipped boxes and keypoints by ``matrix``.

    Items where ``apply (B,)`` is False keep their targets as they are.
    """
    on = [True] * batch.size if apply is None else apply.tolist()
    changes = {}
    if batch.boxes is not None and batch.full is not None:
        changes["boxes"] = [
            _clipped_box(b, m, hw) if a else b
            for b, m, a in zip(batch.boxes, matrix, on, strict=True)
        ]
        changes["full"] = [
            _map_boxes(b, m) if a else b for b, m, a in zip(batch.full, matrix, on, strict=True)
        ]
    if batch.keypoints is not None:
        changes["keypoints"] = [
            map_points(k, m) if a else k
            for k, m, a in zip(batch.keypoints, matrix, on, strict=True)
        ]
    return batch.with_(**changes)


def _grid(inverse: Tensor, in_hw: tuple[int, int], out_hw: tuple[int, int], like: Tensor) -> Tensor:
    """Sampling grid ``(B, h, w, 2)`` in ``grid_sample``'s normalised coordinates."""
    (h_in, w_in), (h, w) = in_hw, out_hw
    dev = like.device
    ys = torch.arange(h, dtype=torch.float64, device=dev) + 0.5  # (h,) pixel centres
    xs = torch.arange(w, dtype=torch.float64, device=dev) + 0.5  # (w,)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    pts = torch.stack([gx, gy, torch.ones_like(gx)], dim=-1)  # (h, w, 3)
    # p = M^-1 p' for every output pixel centre p'
    src = torch.einsum("bij,hwj->bhwi", inverse.to(dev), pts)  # (B, h, w, 3)
    xy = src[..., :2] / src[..., 2:]  # (B, h, w, 2)
    # align_corners=False: x_norm = 2 x / W - 1 maps [0, W] onto [-1, 1]
    scale = torch.tensor([2.0 / w_in, 2.0 / h_in], dtype=torch.float64, device=dev)
    return (xy * scale - 1.0).to(like.dtype)


def warp_batch(
    batch: Batch, matrix: Tensor, out_hw: tuple[int, int], apply: Tensor | None = None
) -> Batch:
    """Warp a whole batch by per-item matrices ``(B, 3, 3)`` to the size ``out_hw``.

    Where ``apply (B,)`` is False and the size is unchanged, the item is returned bit-identical
    (its matrix is expected to be the identity).
    """
    image = batch.image  # (B, C, H, W)
    in_hw = (image.shape[-2], image.shape[-1])
    keep = apply is not None and out_hw == in_hw
    inverse = torch.linalg.inv(matrix)  # (B, 3, 3)
    grid = _grid(inverse, in_hw, out_hw, image)  # (B, h, w, 2)
    out = F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if keep:
        out = select(apply, out, image)
    warped = map_targets(batch, matrix, out_hw, apply if keep else None).with_(image=out)
    if batch.masks is not None:
        counts = torch.tensor([m.shape[0] for m in batch.masks], device=image.device)
        flat = torch.cat(batch.masks).to(image.device)  # (sum N, H, W)
        if flat.shape[0]:
            mask_dtype = torch.float64 if image.dtype == torch.float64 else torch.float32
            g = grid.to(mask_dtype).repeat_interleave(counts, dim=0)  # (sum N, h, w, 2)
            m = (
                F.grid_sample(
                    flat.unsqueeze(1).to(mask_dtype),
                    g,
                    mode="nearest",
                    padding_mode="zeros",
                    align_corners=False,
                )[:, 0]
                > 0.5
            )
            if keep:
                m = select(apply.repeat_interleave(counts), m, flat)
        else:
            m = flat.new_zeros((0, *out_hw))
        masks = list(m.split(counts.tolist()))
        warped = warped.with_(
            masks=[w.to(o.device) for w, o in zip(masks, batch.masks, strict=True)]
        )
    return warped
