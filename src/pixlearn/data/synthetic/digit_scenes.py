"""Digit scenes: real handwritten digits pasted on cluttered backgrounds, for detection.

Each scene is composed from scikit-learn's 8x8 digits (1,797 scans, 16 grey levels): a digit is
upscaled smoothly (bicubic), turned into an opacity map and alpha-composited over a background
of smooth noise, lines and digit fragments. Since the scene is drawn from its own masks, the
boxes, instance masks and semantic mask are exact. The same engine (:class:`SyntheticScenes`,
:func:`to_coco`) serves :func:`pixlearn.data.synthetic.shapes`.

The ground-truth conventions are those of :mod:`pixlearn.data.synthetic.scenes`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from pixlearn._core.check import check_choice, check_int, check_interval, check_range, pair
from pixlearn._core.errors import ValueRangeError, WrongTypeError
from pixlearn.data.synthetic.scenes import (
    SPLITS,
    Stamp,
    SyntheticScenes,
    _compose,
    _randint,
    _uniform,
)

__all__ = ["digit_scenes"]

# source digits of each split: a fixed permutation of the 1,797 scans, cut 1197 / 300 / 300
_SPLIT_SIZES = (1197, 300, 300)
_SPLIT_SEED = 20240607


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[Tensor, Tensor, dict[str, Tensor]]:
    """scikit-learn's digits as ``(1797, 8, 8)`` in [0, 1], their labels, and each split's ids."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = torch.from_numpy(data.images / 16.0).float()  # 16 grey levels -> [0, 1]
    labels = torch.from_numpy(data.target).long()
    order = torch.from_numpy(np.random.default_rng(_SPLIT_SEED).permutation(len(images)))
    cuts = np.cumsum((0, *_SPLIT_SIZES))
    pools = {s: order[cuts[i] : cuts[i + 1]].sort().values for i, s in enumerate(SPLITS)}
    return images, labels, pools


def _upscale(patch: Tensor, h: int, w: int) -> Tensor:
    """Smooth bicubic upscaling of an ``(h0, w0)`` patch to ``(h, w)``, clamped to [0, 1]."""
    return F.interpolate(patch[None, None], size=(h, w), mode="bicubic")[0, 0].clamp(0.0, 1.0)


def _lines(g: torch.Generator, canvas: Tensor, k: int, strength: float) -> None:
    """Add ``k`` anti-aliased straight segments of random width and tone (in place)."""
    c, h, w = canvas.shape
    yy = torch.arange(h, dtype=torch.float32)[:, None] + 0.5  # pixel centres
    xx = torch.arange(w, dtype=torch.float32)[None, :] + 0.5
    for _ in range(k):
        p0, p1 = (
            _uniform(g, 0, 1, 2) * torch.tensor([h, w]),
            _uniform(g, 0, 1, 2) * torch.tensor([h, w]),
        )
        half = float(_uniform(g, 0.5, 1.5, 1))
        d = p1 - p0
        # projection onto the segment: t = clamp(((p - p0) . d) / |d|^2, 0, 1)
        t = (((yy - p0[0]) * d[0] + (xx - p0[1]) * d[1]) / d.square().sum().clamp_min(1e-6)).clamp(
            0, 1
        )
        dist = torch.hypot(yy - p0[0] - t * d[0], xx - p0[1] - t * d[1])  # (H, W)
        alpha = (half + 0.5 - dist).clamp(0.0, 1.0) * strength
        tone = _uniform(g, 0, 1, c)
        canvas.mul_(1 - alpha).add_(alpha * tone[:, None, None])


def _background(g: torch.Generator, c: int, h: int, w: int, clutter: float, pool: Tensor) -> Tensor:
    """A plain level with a gentle gradient, plus clutter: smooth noise, lines, digit fragments."""
    images = _digits()[0]
    level = float(_uniform(g, 0.1, 0.9, 1))
    tint = level + (_uniform(g, -0.15, 0.15, c) if c > 1 else torch.zeros(1))  # (C,)
    # a linear ramp of amplitude <= 0.1 in a random direction
    angle, amp = float(_uniform(g, 0, 2 * math.pi, 1)), float(_uniform(g, 0, 0.1, 1))
    yy = torch.linspace(-0.5, 0.5, h)[:, None]
    xx = torch.linspace(-0.5, 0.5, w)[None, :]
    canvas = tint[:, None, None] + amp * (math.cos(angle) * xx + math.sin(angle) * yy)  # (C, H, W)
    if clutter > 0:
        # smooth noise: a coarse 6x6 Gaussian field, upscaled
        coarse = torch.randn((1, c, 6, 6), generator=g)
        canvas += 0.12 * clutter * F.interpolate(coarse, size=(h, w), mode="bicubic")[0]
        canvas.clamp_(0.0, 1.0)
        _lines(g, canvas, round(4 * clutter), 0.6 * clutter)
        # fragments: a 3..5 x 3..5 window of a digit, upscaled and pasted faintly
        for _ in range(round(8 * clutter)):
            digit = images[int(pool[_randint(g, 0, len(pool) - 1)])]
            fh, fw = _randint(g, 3, 5), _randint(g, 3, 5)
            r0, c0 = _randint(g, 0, 8 - fh), _randint(g, 0, 8 - fw)
            zoom = float(_uniform(g, 2.0, 5.0, 1))
            ph, pw = min(h, round(fh * zoom)), min(w, round(fw * zoom))
            alpha = _upscale(digit[r0 : r0 + fh, c0 : c0 + fw], ph, pw) * 0.7 * clutter
            y0, x0 = _randint(g, 0, h - ph), _randint(g, 0, w - pw)
            region = canvas[:, y0 : y0 + ph, x0 : x0 + pw]
            region.mul_(1 - alpha).add_(alpha * _uniform(g, 0, 1, c)[:, None, None])
    return canvas.clamp_(0.0, 1.0)


def _draw_digit_scene(
    g: torch.Generator,
    *,
    size: tuple[int, int],
    count: tuple[int, int],
    scale: tuple[float, float],
    clutter: float,
    overlap: float,
    channels: int,
    split: str,
) -> tuple[Tensor, dict[str, Any]]:
    images, digit_labels, pools = _digits()
    pool = pools[split]
    h, w = size
    canvas = _background(g, channels, h, w, clutter, pool)
    mean = float(canvas.mean())

    def propose() -> Stamp:
        source = int(pool[_randint(g, 0, len(pool) - 1)])
        ph = max(1, round(float(_uniform(g, scale[0], scale[1], 1))))
        pw = max(1, round(ph * float(_uniform(g, 0.75, 1.0, 1))))
        y0, x0 = _randint(g, 0, h - ph), _randint(g, 0, w - pw)
        # opacity a = clamp((u - 1/4) / (1/2), 0, 1) of the upscaled ink u: a >= 1/2 <=> u >= 1/2
        alpha = ((_upscale(images[source], ph, pw) - 0.25) / 0.5).clamp(0.0, 1.0)
        # contrast jitter: ink differs from the mean background by 0.4..0.8, brighter or darker
        contrast = float(_uniform(g, 0.4, 0.8, 1))
        up, down = mean + contrast <= 1.0, mean - contrast >= 0.0
        brighter = (
            bool(torch.rand(1, generator=g) < 0.5)
            if up and down
            else up or (not down and mean < 0.5)
        )
        ink = min(1.0, mean + contrast) if brighter else max(0.0, mean - contrast)
        colour = ink + (_uniform(g, -0.15, 0.15, channels) if channels > 1 else torch.zeros(1))
        return alpha, y0, x0, colour.clamp(0.0, 1.0), int(digit_labels[source]), source

    target = _compose(canvas, propose, _randint(g, *count), count[0], overlap, "digits_per_image")
    if clutter > 0:
        # sensor noise, sigma = 0.02 clutter
        canvas += 0.02 * clutter * torch.randn(canvas.shape, generator=g)
    return canvas.clamp_(0.0, 1.0), target


def digit_scenes(
    n: int,
    *,
    size: int | Sequence[int] = 128,
    digits_per_image: int | Sequence[int] = (1, 6),
    scale: float | Sequence[float] = (16.0, 48.0),
    clutter: float = 0.3,
    overlap: float = 0.2,
    colour: bool = False,
    split: str = "train",
    seed: int = 0,
) -> SyntheticScenes:
    r"""A detection data set of real handwritten digits pasted on cluttered backgrounds.

    Args:
        n: number of scenes, >= 0.
        size: image size, an int or ``(H, W)``.
        digits_per_image: digits per scene, an int or a range ``(lo, hi)`` drawn uniformly (both
            ends included). A scene keeps at least ``lo`` digits; it may keep fewer than its
            drawn count (never fewer than ``lo``) when the overlap rule refuses placements.
        scale: height in pixels of a pasted digit's 8x8 cell (its width is 0.75..1 times
            that), a number or a range, > 0 and at most ``min(H, W)``. The ink, hence the box,
            is usually a little smaller than the cell.
        clutter: background clutter strength in [0, 1]: smooth noise, faint lines, faint digit
            fragments (hard negatives) and sensor noise; 0 gives a plain gradient background.
        overlap: the largest IoU allowed between two digits' (visible) boxes, in [0, 1].
        colour: three-channel scenes with tinted background and digits, instead of grey.
        split: ``"train"``, ``"val"`` or ``"test"``: each split draws its digits (and clutter
            fragments) from its own disjoint part of the 1,797 scans (1197 / 300 / 300, by a
            fixed permutation), and its scenes from its own seeds.
        seed: the data set's seed, >= 0.

    Returns:
        A :class:`SyntheticScenes`; item ``i`` is ``(image, target)`` with ``image``
        ``(C, H, W)`` float32 in [0, 1] (C = 1, or 3 with ``colour``) and ``target`` as in
        :meth:`SyntheticScenes.__getitem__`, labels 0..9 (``class_names`` ``"0"..."9"``).

    Shape:
        item: ``(C, H, W)``, boxes ``(N, 4)``, labels ``(N,)``, masks ``(N, H, W)``,
        semantic ``(H, W)``.

    Notes:
        The upscaled ink :math:`u \in [0, 1]` of a digit becomes its opacity
        :math:`a = \mathrm{clip}((u - 1/4) / (1/2), 0, 1)` and the scene is composited "over":
        :math:`I \leftarrow a\,c + (1 - a)\,I` with the digit's ink colour :math:`c`. The
        instance mask is :math:`a \ge 1/2` minus what later digits cover (see the module
        docstring for the rules), so the anti-aliased rim with :math:`a < 1/2` lies outside it.

    Example:
        >>> ds = digit_scenes(4, size=96, digits_per_image=(2, 3), scale=(20, 32), seed=0)
        >>> image, target = ds[0]
        >>> image.shape, image.dtype, target["masks"].shape[1:]
        (torch.Size([1, 96, 96]), torch.float32, torch.Size([96, 96]))
        >>> 2 <= len(target["labels"]) <= 3, bool(torch.equal(ds[0][0], image))
        (True, True)

    References:
        Alpaydin, E. and Kaynak, C. "Optical recognition of handwritten digits." UCI (1998).
        Porter, T. and Duff, T. "Compositing digital images." SIGGRAPH 1984.
    """
    n = check_int(n, "n", min_value=0)
    h, w = pair(size, "size", min_value=1)
    count = check_interval(digits_per_image, "digits_per_image", 0, integer=True)
    lo, hi = check_interval(scale, "scale", 0.0, low_inclusive=False)
    if hi > min(h, w):
        raise ValueRangeError(f"scale must be at most min(H, W) = {min(h, w)}, got {scale!r}")
    clutter = check_range(clutter, "clutter", 0.0, 1.0)
    overlap = check_range(overlap, "overlap", 0.0, 1.0)
    if not isinstance(colour, bool):
        raise WrongTypeError(f"colour must be a bool, got {colour!r}")
    split = check_choice(split, "split", SPLITS)
    seed = check_int(seed, "seed", min_value=0)
    draw = functools.partial(
        _draw_digit_scene,
        size=(h, w),
        count=count,
        scale=(lo, hi),
        clutter=clutter,
        overlap=overlap,
        channels=3 if colour else 1,
        split=split,
    )
    names = tuple(str(d) for d in range(10))
    return SyntheticScenes(
        n, name="digit_scenes", draw=draw, class_names=names, size=(h, w), split=split, seed=seed
    )
