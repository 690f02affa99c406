r"""Selective search: class-agnostic region proposals by hierarchical grouping of superpixels.

An exhaustive detector would look at every box at every scale; selective search proposes a few
thousand boxes with high recall instead (syllabus: "How to limit the number of windows?"). It
starts from the graph-based over-segmentation (:func:`pixlearn.segmentation.felzenszwalb`),
then greedily merges the two most similar neighbouring regions until one region is left; every
region ever formed contributes its bounding box. Diversity comes from running several
strategies (colour spaces x thresholds ``k`` x similarity measures) and pooling their boxes.

Cost: one segmentation per (colour space, ``k``), then a grouping over a region adjacency graph
of a few hundred regions in NumPy. Downscale large photographs (to ~200-300 px) first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from pixlearn._core.check import check_choice, check_image, check_int, check_positive, describe
from pixlearn._core.errors import ShapeError
from pixlearn.segmentation.graph import _gaussian_smooth, felzenszwalb

__all__ = ["MODES", "selective_search"]

MODES = ("fast", "quality")

# (colour spaces, ks, similarity sets) of each mode; "ctsf" = colour + texture + size + fill
_STRATEGIES: dict[str, tuple[tuple[str, ...], tuple[float, ...], tuple[str, ...]]] = {
    "fast": (("hsv", "lab"), (50.0, 100.0), ("ctsf", "tsf")),
    "quality": (
        ("hsv", "lab", "rgi", "h", "i"),
        (50.0, 100.0, 150.0, 300.0),
        ("ctsf", "tsf", "f", "s"),
    ),
}
_COLOUR_BINS = 25
_TEXTURE_BINS = 10
_ORIENTATIONS = 8


def _rgb_to_space(rgb: Tensor, space: str) -> Tensor:
    """Convert ``(3, H, W)`` RGB in [0, 1] to a colour space scaled to about [0, 1]."""
    r, g, b = rgb.clamp(0, 1).unbind(0)
    if space in ("hsv", "h"):
        v, _ = rgb.max(0)
        c = v - rgb.min(0).values  # chroma
        safe = torch.where(c > 0, c, torch.ones_like(c))
        # hue sextant: (g - b)/c from red, (b - r)/c + 2 from green, (r - g)/c + 4 from blue
        from_g = torch.where(v == g, (b - r) / safe + 2, (r - g) / safe + 4)
        hue = torch.where(v == r, ((g - b) / safe) % 6, from_g)
        hue = torch.where(c > 0, hue / 6.0, torch.zeros_like(hue))
        if space == "h":
            return hue[None]
        sat = torch.where(v > 0, c / torch.where(v > 0, v, torch.ones_like(v)), torch.zeros_like(v))
        return torch.stack([hue, sat, v])
    if space == "lab":
        # sRGB -> linear -> XYZ (D65) -> CIE L*a*b*
        lin = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb.clamp(0, 1) + 0.055) / 1.055) ** 2.4)
        m = rgb.new_tensor(
            [
                [0.412453, 0.357580, 0.180423],
                [0.212671, 0.715160, 0.072169],
                [0.019334, 0.119193, 0.950227],
            ]
        )
        xyz = torch.einsum("ij,jhw->ihw", m, lin)
        xyz = xyz / rgb.new_tensor([0.950456, 1.0, 1.088754])[:, None, None]
        # f(t) = t^(1/3) above (6/29)^3, linear below
        f = torch.where(xyz > 0.008856, xyz.clamp_min(1e-12) ** (1 / 3), 7.787 * xyz + 16 / 116)
        lum = 116 * f[1] - 16
        a = 500 * (f[0] - f[1])
        bb = 200 * (f[1] - f[2])
        return torch.stack([lum / 100, (a + 128) / 255, (bb + 128) / 255])
    intensity = (r + g + b) / 3
    if space == "i":
        return intensity[None]
    if space == "rgi":
        s = r + g + b
        safe = torch.where(s > 0, s, torch.ones_like(s))
        third = torch.full_like(s, 1 / 3)
        nr = torch.where(s > 0, r / safe, third)
        ng = torch.where(s > 0, g / safe, third)
        return torch.stack([nr, ng, intensity])
    return rgb  # "rgb"


def _features(img: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel colour-bin and texture-bin indices of a ``(C, H, W)`` image in [0, 1].

    Returns ``(colour, texture)`` of shapes ``(C, H W)`` and ``(C * 8, H W)`` with the bin of
    each pixel already offset into a concatenated histogram (``C * 25`` and ``C * 8 * 10`` bins).
    """
    c = img.shape[0]
    # colour: 25 bins per channel on [0, 1]
    col = (img.clamp(0, 1) * _COLOUR_BINS).long().clamp_max(_COLOUR_BINS - 1)  # (C, H, W)
    col = col.reshape(c, -1) + torch.arange(c)[:, None] * _COLOUR_BINS
    # texture: Gaussian derivatives (sigma = 1) in 8 directions theta_o = o * 45 degrees,
    # d_theta = cos(theta) dI/dx + sin(theta) dI/dy, half-wave rectified, 10 bins per direction
    smooth = _gaussian_smooth(img, 1.0)  # (C, H, W)
    pad = F.pad(smooth[:, None], (1, 1, 1, 1), mode="replicate")[:, 0]  # (C, H + 2, W + 2)
    gx = (pad[:, 1:-1, 2:] - pad[:, 1:-1, :-2]) / 2  # (C, H, W)
    gy = (pad[:, 2:, 1:-1] - pad[:, :-2, 1:-1]) / 2
    theta = torch.arange(_ORIENTATIONS, dtype=img.dtype) * (2 * math.pi / _ORIENTATIONS)
    cos, sin = theta.cos()[:, None, None, None], theta.sin()[:, None, None, None]  # (8, 1, 1, 1)
    resp = (cos * gx + sin * gy).clamp_min(0)  # (8, C, H, W)
    resp = resp.transpose(0, 1).reshape(c * _ORIENTATIONS, -1)  # (C * 8, H W)
    top = resp.amax(1, keepdim=True)
    resp = resp / torch.where(top > 0, top, torch.ones_like(top))  # each response to [0, 1]
    tex = (resp * _TEXTURE_BINS).long().clamp_max(_TEXTURE_BINS - 1)
    tex = tex + torch.arange(c * _ORIENTATIONS)[:, None] * _TEXTURE_BINS
    return col.numpy(), tex.numpy()


def _histograms(labels: np.ndarray, bins: np.ndarray, n: int, width: int) -> np.ndarray:
    """L1-normalised per-region histograms ``(n, width)`` of pre-offset bin indices
    ``(channels, H W)``: each pixel adds one count per channel."""
    flat = (labels[None, :] * width + bins).ravel()
    hist = np.bincount(flat, minlength=n * width).reshape(n, width).astype(np.float64)
    return hist / hist.sum(1, keepdims=True)


def _group(labels: np.ndarray, col: np.ndarray, tex: np.ndarray, sims: str, h: int, w: int) -> list:
    """Hierarchical grouping of one segmentation; returns the boxes in creation order."""
    flat = labels.ravel()
    n = int(flat.max()) + 1
    size = np.bincount(flat, minlength=n).astype(np.float64)
    ys, xs = np.divmod(np.arange(h * w), w)
    # bounding boxes xyxy in continuous pixel coordinates: [min col, min row, max col + 1, ...]
    x1 = np.full(n, w, dtype=np.int64)
    y1 = np.full(n, h, dtype=np.int64)
    x2 = np.zeros(n, dtype=np.int64)
    y2 = np.zeros(n, dtype=np.int64)
    np.minimum.at(x1, flat, xs)
    np.minimum.at(y1, flat, ys)
    np.maximum.at(x2, flat, xs + 1)
    np.maximum.at(y2, flat, ys + 1)
    box = [(int(x1[i]), int(y1[i]), int(x2[i]), int(y2[i])) for i in range(n)]
    chist = list(_histograms(flat, col, n, col.shape[0] * _COLOUR_BINS)) if "c" in sims else None
    thist = list(_histograms(flat, tex, n, tex.shape[0] * _TEXTURE_BINS)) if "t" in sims else None
    sizes = size.tolist()
    im_size = float(h * w)
    # region adjacency from 4-neighbour pixel pairs with different labels
    pairs = np.concatenate(
        [
            np.stack([labels[:, :-1].ravel(), labels[:, 1:].ravel()], 1),
            np.stack([labels[:-1, :].ravel(), labels[1:, :].ravel()], 1),
        ]
    )
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    pairs = np.unique(np.sort(pairs, 1), axis=0)
    neighbours: dict[int, set[int]] = {i: set() for i in range(n)}
    for i, j in pairs.tolist():
        neighbours[i].add(j)
        neighbours[j].add(i)

    def similarity(i: int, j: int) -> float:
        s = 0.0
        if chist is not None:
            # s_colour = sum_k min(c_i^k, c_j^k)  (histogram intersection)
            s += float(np.minimum(chist[i], chist[j]).sum())
        if thist is not None:
            s += float(np.minimum(thist[i], thist[j]).sum())
        if "s" in sims:
            # s_size = 1 - (size_i + size_j) / size_im: merge small regions early
            s += 1.0 - (sizes[i] + sizes[j]) / im_size
        if "f" in sims:
            # s_fill = 1 - (size(BB_ij) - size_i - size_j) / size_im: fill gaps
            bi, bj = box[i], box[j]
            bb = (max(bi[2], bj[2]) - min(bi[0], bj[0])) * (max(bi[3], bj[3]) - min(bi[1], bj[1]))
            s += 1.0 - (bb - sizes[i] - sizes[j]) / im_size
        return s

    sim = {(i, j): similarity(i, j) for i, j in pairs.tolist()}
    while sim:
        # the most similar pair; ties go to the lowest region ids (the oldest regions)
        (i, j), _ = max(sim.items(), key=lambda kv: (kv[1], -kv[0][0], -kv[0][1]))
        t = len(box)
        bi, bj = box[i], box[j]
        box.append((min(bi[0], bj[0]), min(bi[1], bj[1]), max(bi[2], bj[2]), max(bi[3], bj[3])))
        si, sj = sizes[i], sizes[j]
        sizes.append(si + sj)
        # the merged histogram is the size-weighted mean: C_t = (|r_i| C_i + |r_j| C_j) / |r_t|
        if chist is not None:
            chist.append((si * chist[i] + sj * chist[j]) / (si + sj))
        if thist is not None:
            thist.append((si * thist[i] + sj * thist[j]) / (si + sj))
        nb = (neighbours.pop(i) | neighbours.pop(j)) - {i, j}
        for m in nb:
            neighbours[m] -= {i, j}
            neighbours[m].add(t)
            sim.pop((min(m, i), max(m, i)), None)
            sim.pop((min(m, j), max(m, j)), None)
        sim.pop((i, j), None)
        neighbours[t] = nb
        for m in nb:
            sim[(m, t)] = similarity(m, t)
    return box


def selective_search(
    image: Tensor,
    *,
    mode: str = "fast",
    scale: float | Sequence[float] | None = None,
    sigma: float = 0.8,
    min_size: int | None = None,
    max_proposals: int | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Class-agnostic object proposals by selective search (Uijlings et al.).

    Args:
        image: an RGB image ``(3, H, W)`` or a grey one ``(1, H, W)`` / ``(H, W)`` (used as
            R = G = B), float in [0, 1], finite, non-empty.
        mode: the diversification strategies, as in the paper.
            ``"fast"``: colour spaces HSV and Lab x ``k`` in (50, 100) x similarities
            colour+texture+size+fill and texture+size+fill (8 strategies, 4 segmentations).
            ``"quality"``: HSV, Lab, rgI, H, I x ``k`` in (50, 100, 150, 300) x similarities
            C+T+S+F, T+S+F, F, S (80 strategies, 20 segmentations; ~10x slower).
        scale: the ``k`` values of :func:`~pixlearn.segmentation.felzenszwalb` (a number or a
            sequence) replacing the mode's; each > 0.
        sigma: Gaussian smoothing before segmentation, ``>= 0``.
        min_size: smallest initial region in pixels, ``>= 1``; ``None`` uses ``k`` (as the
            authors' code does).
        max_proposals: keep only the best ranked ones; ``None`` keeps all.
        generator: the random numbers of the ranking.

    Returns:
        Boxes ``(N, 4)`` ``xyxy`` in pixels (continuous, a region covering columns ``a..b``
        spans ``x1 = a, x2 = b + 1``), in the image's dtype and device, best ranked first,
        without duplicates. The whole-image box (the last merge) is among them.

    Shape:
        - image: ``(3, H, W)``, ``(1, H, W)`` or ``(H, W)``.
        - output: ``(N, 4)``; one strategy gives ``2 n - 1`` boxes for ``n`` initial regions.

    Notes:
        Neighbouring regions :math:`r_i, r_j` with the highest similarity are merged first,

        .. math::
            s(r_i, r_j) = a_1 s_{colour} + a_2 s_{texture} + a_3 s_{size} + a_4 s_{fill},
            \quad a_k \in \{0, 1\},

        :math:`s_{colour} = \sum_k \min(c_i^k, c_j^k)` over L1-normalised 25-bin colour
        histograms per channel, :math:`s_{texture}` the same over 10-bin histograms of
        Gaussian derivatives (:math:`\sigma = 1`) in 8 orientations per channel,
        :math:`s_{size} = 1 - (|r_i| + |r_j|)/|im|`,
        :math:`s_{fill} = 1 - (|BB_{ij}| - |r_i| - |r_j|)/|im|`. A merged region's histograms
        are the size-weighted means. Within one strategy the box created at hierarchy position
        :math:`i` (:math:`i = 1` for the whole image, counted back in creation order) gets the
        value :math:`v_i = i \cdot \mathrm{RND}`, RND uniform in [0, 1]; all strategies' boxes are
        sorted by :math:`v`, duplicates dropped after ranking.

    Example:
        >>> img = torch.zeros(3, 40, 60)
        >>> img[0, 5:20, 10:30] = 1.0  # a red rectangle
        >>> boxes = selective_search(img, generator=torch.Generator().manual_seed(0))
        >>> found = boxes.tolist()
        >>> boxes.shape[1], [10.0, 5.0, 30.0, 20.0] in found, [0.0, 0.0, 60.0, 40.0] in found
        (4, True, True)

    References:
        Uijlings, J. R. R., van de Sande, K. E. A., Gevers, T. and Smeulders, A. W. M.
        "Selective search for object recognition." International Journal of Computer Vision
        104(2), 2013.
    """
    check_image(image, "image", min_dims=2, max_dims=3, floating=True)
    mode = check_choice(mode, "mode", MODES)
    spaces, ks, sim_sets = _STRATEGIES[mode]
    if scale is not None:
        values = scale if isinstance(scale, (list, tuple)) else [scale]
        if len(values) == 0:
            raise ShapeError("scale must hold at least one value, got an empty sequence")
        ks = tuple(check_positive(v, "scale") for v in values)
    sigma = check_positive(sigma, "sigma", strict=False)
    if min_size is not None:
        min_size = check_int(min_size, "min_size", min_value=1)
    if max_proposals is not None:
        max_proposals = check_int(max_proposals, "max_proposals", min_value=1)
    if image.dim() == 2:
        image = image.unsqueeze(0)
    if image.shape[0] not in (1, 3):
        raise ShapeError(f"image must be RGB (3, H, W) or grey (1, H, W), got {describe(image)}")
    h, w = image.shape[-2:]
    rgb = image.detach().to("cpu", torch.float64).expand(3, h, w)  # (3, H, W)

    boxes: list[tuple[int, int, int, int]] = []
    values: list[float] = []
    for space in spaces:
        img = _rgb_to_space(rgb, space)  # (C', H, W)
        col, tex = _features(img)
        for k in ks:
            labels = felzenszwalb(
                img, scale=k, sigma=sigma, min_size=int(k) if min_size is None else min_size
            ).numpy()
            for sims in sim_sets:
                made = _group(labels, col, tex, sims, h, w)
                # v_i = i * RND with i = 1 for the last box made (the top of the hierarchy)
                level = torch.arange(len(made), 0, -1, dtype=torch.float64)
                rnd = torch.rand(len(made), generator=generator, dtype=torch.float64)
                boxes.extend(made)
                values.extend((level * rnd).tolist())
    order = np.argsort(np.asarray(values), kind="stable")
    out = np.asarray(boxes, dtype=np.float64)[order]  # (M, 4), ranked
    _, first = np.unique(out, axis=0, return_index=True)
    out = out[np.sort(first)]  # duplicates dropped, ranking kept
    if max_proposals is not None:
        out = out[:max_proposals]
    return torch.from_numpy(out).to(device=image.device, dtype=image.dtype)
