"""Elastic deformation: a smooth random displacement field warps the sample (Simard et al.)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from pixlearn._core.check import check_positive
from pixlearn.augment.base import Batch, Transform, select
from pixlearn.augment.degrade import gaussian_smooth
from pixlearn.augment.geometry import clip_to

__all__ = ["ElasticDeformation"]


def _sample(field: Tensor, points: Tensor, hw: tuple[int, int]) -> Tensor:
    """Bilinear values of ``field (2, H, W)`` at pixel coordinates ``points (P, 2)``: ``(P, 2)``."""
    h, w = hw
    scale = torch.tensor([2.0 / w, 2.0 / h], dtype=field.dtype, device=field.device)
    grid = (points.to(field) * scale - 1.0).view(1, 1, -1, 2)
    out = F.grid_sample(
        field[None], grid, mode="bilinear", padding_mode="border", align_corners=False
    )  # (1, 2, 1, P)
    return out[0, :, 0].T


def _forward(points: Tensor, field: Tensor, hw: tuple[int, int], steps: int = 8) -> Tensor:
    """Where the input points ``(P, 2)`` land: solve ``q + d(q) = p`` by fixed-point iteration.

    The image is read backwards (output ``q`` reads input ``q + d(q)``), so a point moves to the
    fixed point of ``q <- p - d(q)``, which converges while the field's slope is below 1.
    """
    q = points.to(field.dtype)
    for _ in range(steps):
        q = points.to(field.dtype) - _sample(field, q, hw)
    return q.to(points.dtype)


def _box_outline(boxes: Tensor, n: int) -> Tensor:
    """``n`` points along each side of each box ``(N, 4)``: ``(N, 4 n, 2)``."""
    t = torch.linspace(0.0, 1.0, n, dtype=boxes.dtype, device=boxes.device)  # (n,)
    x1, y1, x2, y2 = (v[:, None] for v in boxes.unbind(-1))  # (N, 1) each
    xs = x1 + (x2 - x1) * t  # (N, n)
    ys = y1 + (y2 - y1) * t
    sides = [
        (xs, y1.expand_as(xs)),
        (xs, y2.expand_as(xs)),
        (x1.expand_as(ys), ys),
        (x2.expand_as(ys), ys),
    ]
    return torch.cat([torch.stack(s, dim=-1) for s in sides], dim=1)


class ElasticDeformation(Transform):
    r"""Warp with a smooth random displacement field of strength ``alpha`` and smoothness
    ``sigma`` (pixels).

    Args:
        alpha: scale of the displacement, in pixels per unit of the smoothed noise, >= 0.
        sigma: standard deviation of the Gaussian that smooths the noise, in pixels, > 0.
        p: probability per item.

    Notes:
        :math:`d = \alpha\,(G_\sigma * u)`, :math:`u \sim U[-1, 1]^{2 \times H \times W}`; the
        output pixel :math:`q` reads the input at :math:`q + d(q)` (bilinear for the image,
        nearest for masks). Keypoints and box outlines move forwards to the solution of
        :math:`q + d(q) = p`; a box becomes the box of its deformed outline, clipped.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> out = ElasticDeformation(30.0, 4.0)({"image": torch.rand(1, 16, 16)}, generator=g)
        >>> out["image"].shape
        torch.Size([1, 16, 16])

    References:
        Simard, P. Y., Steinkraus, D., Platt, J. C. "Best practices for convolutional neural
        networks applied to visual document analysis." ICDAR 2003.
    """

    def __init__(self, alpha: float, sigma: float, *, p: float = 1.0) -> None:
        super().__init__(p=p)
        self.alpha = check_positive(alpha, "alpha", strict=False)
        self.sigma = check_positive(sigma, "sigma")

    def _run(self, batch: Batch, generator: torch.Generator | None, apply: Tensor) -> Batch:
        image = batch.image  # (B, C, H, W)
        b, _, h, w = image.shape
        gdev = generator.device if generator is not None else torch.device("cpu")
        u = torch.rand(b, 2, h, w, generator=generator, device=gdev, dtype=torch.float64)
        if not bool(apply.any()):
            return batch
        dtype = torch.float64 if image.dtype == torch.float64 else torch.float32
        noise = (2.0 * u - 1.0).to(device=image.device, dtype=dtype)  # (B, 2, H, W) in [-1, 1]
        sig = torch.full((b,), self.sigma, dtype=dtype, device=image.device)
        # d = alpha (G_sigma * u), zero for the items not transformed
        field = self.alpha * gaussian_smooth(noise, sig) * apply.view(-1, 1, 1, 1)
        ys = torch.arange(h, dtype=dtype, device=image.device) + 0.5
        xs = torch.arange(w, dtype=dtype, device=image.device) + 0.5
        gy, gx = torch.meshgrid(ys, xs, indexing="ij")
        src = torch.stack([gx, gy], dim=-1) + field.permute(0, 2, 3, 1)  # (B, H, W, 2)
        scale = torch.tensor([2.0 / w, 2.0 / h], dtype=dtype, device=image.device)
        grid = src * scale - 1.0  # (B, H, W, 2), align_corners=False
        out = F.grid_sample(
            image, grid.to(image.dtype), mode="bilinear", padding_mode="zeros", align_corners=False
        )
        new = batch.with_(image=select(apply, out, image))
        on = apply.tolist()
        if batch.masks is not None:
            masks = []
            for m, g, a in zip(batch.masks, grid, on, strict=True):
                if not a or m.shape[0] == 0:
                    masks.append(m)
                    continue
                mf = m.to(device=image.device, dtype=dtype).unsqueeze(1)  # (N, 1, H, W)
                mg = g.expand(m.shape[0], h, w, 2)
                warped = F.grid_sample(mf, mg, mode="nearest", align_corners=False)[:, 0] > 0.5
                masks.append(warped.to(m.device))
            new = new.with_(masks=masks)
        if batch.keypoints is not None:
            kps = [
                _forward(k.reshape(-1, 2), f, (h, w)).view_as(k) if a else k
                for k, f, a in zip(batch.keypoints, field, on, strict=True)
            ]
            new = new.with_(keypoints=kps)
        if batch.boxes is not None and batch.full is not None:
            boxes, full = [], []
            for bx, fb, f, a in zip(batch.boxes, batch.full, field, on, strict=True):
                if not a:
                    boxes.append(bx)
                    full.append(fb)
                    continue
                moved = []
                for src_boxes in (bx, fb):
                    side = (
                        float((src_boxes[:, 2:] - src_boxes[:, :2]).abs().amax())
                        if len(src_boxes)
                        else 0.0
                    )
                    n = min(max(2, math.ceil(side) + 1), 1024)  # about one point per pixel
                    pts = _box_outline(src_boxes, n)  # (N, 4 n, 2)
                    q = _forward(pts.reshape(-1, 2), f, (h, w)).view_as(pts)
                    moved.append(torch.cat([q.amin(dim=1), q.amax(dim=1)], dim=-1))
                boxes.append(clip_to(moved[0], (h, w)))
                full.append(moved[1])
            new = new.with_(boxes=boxes, full=full)
        return new
