"""Shapes: coloured circles, squares and triangles on plain or gradient backgrounds.

The classic toy detection set: every object is a convex shape drawn from its signed distance
function, so its edge is anti-aliased and its mask exact. Scenes share the engine of
:mod:`pixlearn.data.synthetic.digit_scenes` (deterministic per-item seeds, occlusion-aware
instance masks, boxes of the visible masks, the overlap rule, :func:`to_coco`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from pixlearn._core.check import check_choice, check_int, check_interval, check_range, pair
from pixlearn._core.errors import ShapeError, ValueRangeError
from pixlearn.data.synthetic.scenes import (
    SPLITS,
    Stamp,
    SyntheticScenes,
    _compose,
    _randint,
    _uniform,
)

__all__ = ["SHAPE_KINDS", "shapes"]

# label k is SHAPE_KINDS[k], whichever kinds a data set draws
SHAPE_KINDS = ("circle", "square", "triangle")
# least colour difference (largest channel gap) between a shape and the background under it
_MIN_CONTRAST = 0.3


def _signed_distance(kind: str, dy: Tensor, dx: Tensor, radius: float, theta: float) -> Tensor:
    """Signed distance (negative inside) from pixel centres at offset ``(dy, dx)`` to a shape.

    Every shape is centred at the origin with circumradius ``radius`` and turned by ``theta``.
    For the polygons it is the largest distance to an edge line: exact inside and on the edge,
    a slight under-estimate near outer corners, which only affects the anti-aliasing.
    """
    if kind == "circle":
        # d = |p| - R
        return torch.hypot(dy, dx) - radius
    cos_t, sin_t = math.cos(theta), math.sin(theta)
    if kind == "square":
        # in the square's frame (u, v) = R(-theta) p: d = max(|u|, |v|) - R / sqrt(2)
        u, v = dx * cos_t + dy * sin_t, -dx * sin_t + dy * cos_t
        return torch.maximum(u.abs(), v.abs()) - radius / math.sqrt(2.0)
    # equilateral triangle: edges at the inradius R / 2 along normals n_k at theta + 2 pi k / 3,
    # d = max_k (n_k . p) - R / 2
    dist = [
        dx * math.cos(theta + 2 * math.pi * k / 3) + dy * math.sin(theta + 2 * math.pi * k / 3)
        for k in range(3)
    ]
    return torch.maximum(torch.maximum(dist[0], dist[1]), dist[2]) - radius / 2


def _background(g: torch.Generator, h: int, w: int) -> Tensor:
    """A plain colour, or (half the time) a linear gradient between two colours."""
    first = _uniform(g, 0, 1, 3)
    if bool(torch.rand(1, generator=g) < 0.5):
        return first[:, None, None].expand(3, h, w).clone()
    second = _uniform(g, 0, 1, 3)
    angle = float(_uniform(g, 0, 2 * math.pi, 1))
    yy = torch.linspace(0, 1, h)[:, None]
    xx = torch.linspace(0, 1, w)[None, :]
    # t = projection on the gradient direction, rescaled to [0, 1]
    t = math.cos(angle) * xx + math.sin(angle) * yy
    t = (t - t.min()) / (t.max() - t.min()).clamp_min(1e-6)  # (H, W)
    return first[:, None, None] + (second - first)[:, None, None] * t


def _draw_shape_scene(
    g: torch.Generator,
    *,
    size: tuple[int, int],
    count: tuple[int, int],
    scale: tuple[float, float],
    kinds: tuple[str, ...],
    overlap: float,
) -> tuple[Tensor, dict[str, Any]]:
    h, w = size
    canvas = _background(g, h, w)

    def propose() -> Stamp:
        kind = kinds[_randint(g, 0, len(kinds) - 1)]
        radius = float(_uniform(g, scale[0], scale[1], 1)) / 2
        theta = float(_uniform(g, 0, 2 * math.pi, 1))
        side = math.ceil(2 * radius) + 2  # the patch holds the circumcircle and its soft rim
        y0, x0 = _randint(g, 0, h - side), _randint(g, 0, w - side)
        offs = torch.arange(side, dtype=torch.float32) + 0.5 - side / 2  # pixel centres
        sd = _signed_distance(kind, offs[:, None], offs[None, :], radius, theta)  # (side, side)
        # anti-aliased coverage over a one-pixel ramp: a = clamp(1/2 - d, 0, 1), a >= 1/2 <=> d <= 0
        alpha = (0.5 - sd).clamp(0.0, 1.0)
        under = canvas[:, y0 + side // 2, x0 + side // 2]  # (3,) background at the centre
        colour = _uniform(g, 0, 1, 3)
        for _ in range(10):  # redraw a colour too close to the background
            if float((colour - under).abs().max()) >= _MIN_CONTRAST:
                break
            colour = _uniform(g, 0, 1, 3)
        return alpha, y0, x0, colour, SHAPE_KINDS.index(kind), -1

    target = _compose(canvas, propose, _randint(g, *count), count[0], overlap, "shapes_per_image")
    del target["source"]
    return canvas.clamp_(0.0, 1.0), target


def shapes(
    n: int,
    *,
    size: int | Sequence[int] = 128,
    shapes_per_image: int | Sequence[int] = (1, 5),
    kinds: Sequence[str] = SHAPE_KINDS,
    scale: float | Sequence[float] = (12.0, 40.0),
    overlap: float = 0.3,
    split: str = "train",
    seed: int = 0,
) -> SyntheticScenes:
    r"""A detection data set of coloured circles, squares and triangles.

    Args:
        n: number of scenes, >= 0.
        size: image size, an int or ``(H, W)``.
        shapes_per_image: shapes per scene, an int or a range ``(lo, hi)`` drawn uniformly;
            a scene keeps at least ``lo`` (see :func:`digit_scenes`).
        kinds: the kinds to draw, a non-empty subset of :data:`SHAPE_KINDS`. Labels always
            follow :data:`SHAPE_KINDS` (0 circle, 1 square, 2 triangle).
        scale: diameter in pixels of a shape's circumscribed circle, a number or a range,
            > 0 with ``ceil(hi) + 2 <= min(H, W)``.
        overlap: the largest IoU allowed between two shapes' (visible) boxes, in [0, 1].
        split: ``"train"``, ``"val"`` or ``"test"``; splits draw from different seeds.
        seed: the data set's seed, >= 0.

    Returns:
        A :class:`~pixlearn.data.synthetic.digit_scenes.SyntheticScenes` of RGB scenes
        ``(3, H, W)`` float32 in [0, 1]; targets as for :func:`digit_scenes` without
        ``source``. Squares and triangles are turned by a random angle; colours and
        backgrounds (plain or a linear gradient between two colours) are random.

    Shape:
        item: ``(3, H, W)``, boxes ``(N, 4)``, labels ``(N,)``, masks ``(N, H, W)``,
        semantic ``(H, W)``.

    Notes:
        A shape with signed distance :math:`d(p)` (negative inside; circle
        :math:`|p| - R`, square :math:`\max(|u|, |v|) - R/\sqrt2` in its turned frame,
        equilateral triangle :math:`\max_k n_k \cdot p - R/2`) covers pixel centre :math:`p`
        with opacity :math:`a = \mathrm{clip}(1/2 - d, 0, 1)`, a one-pixel anti-aliased ramp;
        its mask is :math:`d \le 0` minus what later shapes cover.

    Example:
        >>> ds = shapes(3, size=64, shapes_per_image=(1, 3), scale=(10, 20), seed=0)
        >>> image, target = ds[2]
        >>> image.shape, ds.class_names
        (torch.Size([3, 64, 64]), ('circle', 'square', 'triangle'))
        >>> bool(target["labels"].max() <= 2), target["masks"].dtype
        (True, torch.bool)
    """
    n = check_int(n, "n", min_value=0)
    h, w = pair(size, "size", min_value=1)
    count = check_interval(shapes_per_image, "shapes_per_image", 0, integer=True)
    if isinstance(kinds, str) or not isinstance(kinds, Sequence):
        raise ShapeError(f"kinds must be a sequence of shape names, got {kinds!r}")
    if len(kinds) == 0:
        raise ShapeError("kinds must name at least one shape, got an empty sequence")
    kinds = tuple(check_choice(k, f"kinds[{i}]", SHAPE_KINDS) for i, k in enumerate(kinds))
    lo, hi = check_interval(scale, "scale", 0.0, low_inclusive=False)
    if math.ceil(hi) + 2 > min(h, w):
        raise ValueRangeError(
            f"scale must satisfy ceil(hi) + 2 <= min(H, W) = {min(h, w)}, got {scale!r}"
        )
    overlap = check_range(overlap, "overlap", 0.0, 1.0)
    split = check_choice(split, "split", SPLITS)
    seed = check_int(seed, "seed", min_value=0)
    draw = functools.partial(
        _draw_shape_scene, size=(h, w), count=count, scale=(lo, hi), kinds=kinds, overlap=overlap
    )
    return SyntheticScenes(
        n, name="shapes", draw=draw, class_names=SHAPE_KINDS, size=(h, w), split=split, seed=seed
    )
