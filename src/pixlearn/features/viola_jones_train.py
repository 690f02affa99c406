"""Training a Viola-Jones cascade: positive augmentation, random and bootstrapped negatives.

The LFW set holds only a hundred non-face patches, far too few for a cascade whose stages each
reject about half of what the previous ones let through. As in the paper, the negatives of
stage :math:`s` are *bootstrapped*: windows of face-free photographs (at every scale of an image
pyramid) that the cascade of stages :math:`1 .. s - 1` still accepts, i.e. its false positives.
The first stage sees random windows at random positions and scales. The helpers that read
patches, compact the feature look-ups and group raw windows are shared with the detector.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from pixlearn._core.check import check_int
from pixlearn._core.errors import ShapeError, ValueRangeError
from pixlearn.features.adaboost import boosted_stage
from pixlearn.features.haar import _corner_table, haar_like_feature_coords
from pixlearn.features.hog_detector import _grey, _patches
from pixlearn.transform import resize

if TYPE_CHECKING:
    from pixlearn.features.viola_jones import ViolaJones

__all__ = [
    "augment_faces",
    "compact_corners",
    "fit_cascade",
    "group_windows",
    "mine_negatives",
    "patches_of_window",
    "random_windows",
]


def patches_of_window(x: Any, name: str, window: tuple[int, int]) -> Tensor:
    """``(N, H, W)`` or ``(N, 1, H, W)`` floating patches of the window size, as float64."""
    x = _patches(x, name, window)
    if x.shape[0] == 0:
        raise ValueRangeError(f"{name} must hold at least one patch, got an empty set")
    return x.to(torch.float64)


def compact_corners(coords: Tensor, stride: int) -> tuple[Tensor, Tensor]:
    """The look-ups of each feature with shared corners merged and cancelled ones dropped.

    Adjacent rectangles share corners (an edge feature reads 6 distinct table entries, a line
    feature 8, a four-rectangle feature 9, instead of 16), and empty rectangles cancel out.

    Returns:
        ``(offsets, coef)``, each ``(k, n)``: a feature is ``sum_j coef[f, j] ii[base +
        offsets[f, j]]``; padding entries have coefficient 0.
    """
    offsets, coef = _corner_table(coords, stride)  # (k, 16)
    o, idx = offsets.sort(1)
    c = coef.gather(1, idx).to(torch.float64)
    first = torch.ones_like(o, dtype=torch.bool)
    first[:, 1:] = o[:, 1:] != o[:, :-1]
    seg = first.long().cumsum(1) - 1  # (k, 16): index of each entry's distinct offset
    cs = torch.zeros_like(c).scatter_add_(1, seg, c)  # summed coefficient per distinct offset
    os = torch.zeros_like(o).scatter_(1, seg, o)
    keep = cs != 0
    n = max(int(keep.sum(1).max()), 1)
    order = keep.to(torch.int8).argsort(dim=1, descending=True, stable=True)[:, :n]
    return os.gather(1, order), cs.gather(1, order)


def augment_faces(faces: Tensor, *, scales: Sequence[float] = (0.92, 1.0, 1.08)) -> Tensor:
    """Faces, their mirror images, one-pixel shifts and small zooms of both.

    Args:
        faces: ``(N, h, w)`` float patches.
        scales: zoom factors; ``s > 1`` crops the central ``1/s`` of the patch and resizes it
            back, ``s < 1`` pads the patch (edges replicated) before resizing it back.

    Returns:
        ``(10 N len(scales), h, w)``: for each zoom, the unshifted patch and its shifts by one
        pixel left, right, up and down (edges replicated), for the faces and their mirrors.

    Example:
        >>> augment_faces(torch.rand(3, 25, 25)).shape
        torch.Size([90, 25, 25])
    """
    both = torch.cat([faces, faces.flip(-1)])  # (2N, h, w)
    h, w = faces.shape[-2:]
    out = []
    for s in scales:
        if s == 1.0:
            z = both
        else:
            # zoom about the centre: pad (s < 1) or crop (s > 1) by m pixels on every side
            my, mx = round(h * (1 / s - 1) / 2), round(w * (1 / s - 1) / 2)
            if my >= 0 and mx >= 0:
                z = torch.nn.functional.pad(both[:, None], (mx, mx, my, my), mode="replicate")
                z = z[:, 0]
            else:
                z = both[:, -my : h + my, -mx : w + mx]
            z = resize(z, (h, w))
        pad = torch.nn.functional.pad(z[:, None], (1, 1, 1, 1), mode="replicate")[:, 0]
        for dy, dx in ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1)):
            out.append(pad[:, 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w])
    return torch.cat(out)


def random_windows(
    images: Sequence[Tensor],
    n: int,
    window: tuple[int, int],
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    """``n`` windows at uniformly random positions and log-uniform scales, resized to ``window``.

    Args:
        images: grey photos ``(H, W)`` or ``(1, H, W)``, each at least the window size.
        n: number of windows; the photo of each is drawn uniformly.
        window: ``(h, w)`` of the returned patches.
        generator: randomness of photo, scale and position.

    Returns:
        ``(n, h, w)`` float64 patches; a window of scale ``s`` covers ``(s h, s w)`` photo
        pixels, ``1 <= s <= `` the largest scale that fits.

    Example:
        >>> random_windows([torch.rand(40, 50)], 5, (10, 10)).shape
        torch.Size([5, 10, 10])
    """
    n = check_int(n, "n", min_value=0)
    imgs = [_grey(im, "images") for im in images]
    h, w = window
    if not imgs or any(im.shape[0] < h or im.shape[1] < w for im in imgs):
        raise ShapeError(f"images must be a non-empty list of photos of at least {h}x{w} pixels")
    which = torch.randint(len(imgs), (n,), generator=generator)
    u = torch.rand(n, 3, generator=generator, dtype=torch.float64)
    out = torch.empty(n, h, w, dtype=torch.float64)
    for i in range(n):
        im = imgs[int(which[i])]
        s_max = min(im.shape[0] / h, im.shape[1] / w)
        s = math.exp(float(u[i, 0]) * math.log(s_max))  # log-uniform in [1, s_max]
        sh, sw = min(round(s * h), im.shape[0]), min(round(s * w), im.shape[1])
        y = int(float(u[i, 1]) * (im.shape[0] - sh + 1))
        x = int(float(u[i, 2]) * (im.shape[1] - sw + 1))
        crop = im[y : y + sh, x : x + sw].to(torch.float64)
        out[i] = crop if (sh, sw) == (h, w) else resize(crop, (h, w))
    return out


def mine_negatives(
    vj: ViolaJones,
    images: Sequence[Tensor],
    n: int,
    *,
    step: int = 2,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Up to ``n`` windows of face-free photos that the cascade so far accepts (bootstrapping).

    Every photo is scanned as :meth:`ViolaJones.detect` scans it (pyramid of ratio 1.25 whose
    first level has a random scale in ``[1, 1.25)``, so each stage sees fresh windows);
    ``n`` of the accepted windows are drawn at random.

    Returns:
        ``(m, h, w)`` float64 patches, ``m <= n``.
    """
    h, w = vj.window
    hits: list[tuple[Tensor, Tensor, Tensor]] = []  # (level, ys, xs) of accepted windows
    for im in images:
        start = 1.0 + 0.25 * float(torch.rand(1, generator=generator))
        for level, _ in vj._levels(_grey(im, "negative_images"), 1.25, start=start):
            boxes, _ = vj._scan(level, step)
            if boxes.shape[0]:
                hits.append((level, boxes[:, 1].long(), boxes[:, 0].long()))
    total = sum(ys.numel() for _, ys, _ in hits)
    if total == 0:
        return torch.zeros(0, h, w, dtype=torch.float64)
    # draw n of all accepted windows without replacement, then cut only those
    pick = torch.randperm(total, generator=generator)[:n].sort().values
    out, offset = [], 0
    for level, ys, xs in hits:
        sel = pick[(pick >= offset) & (pick < offset + ys.numel())] - offset
        offset += ys.numel()
        if sel.numel():
            wins = level.unfold(0, h, 1).unfold(1, w, 1)[ys[sel], xs[sel]]  # (k, h, w)
            out.append(wins.to(torch.float64))
    return torch.cat(out)


def _stage_size(max_stage_features: int | Sequence[int], s: int) -> int:
    if isinstance(max_stage_features, int):
        return max_stage_features
    return int(max_stage_features[min(s, len(max_stage_features) - 1)])


def fit_cascade(
    vj: ViolaJones,
    pos: Tensor,
    neg: Tensor,
    *,
    negative_images: Sequence[Tensor],
    max_negatives: int,
    min_negatives: int = 1,
    generator: torch.Generator | None,
) -> None:
    """Train ``vj.stages`` in place (the loop of :meth:`ViolaJones.fit`; arguments checked there).

    Stage :math:`s` trains on the positives the cascade so far keeps and on up to
    ``max_negatives`` negatives it still accepts: the surviving negatives of the previous
    stages, refilled with windows mined from ``negative_images`` (random windows for the first
    stage); after the first stage, training stops once fewer than ``min_negatives`` are left.
    Each stage draws a fresh random set of ``vj.n_features`` candidate features.
    ``vj.history`` gets one dict per stage with its training rates.
    """
    all_coords, _ = haar_like_feature_coords(vj.window[1], vj.window[0], vj.feature_type)
    n_cand = min(vj.n_features, all_coords.shape[0])
    vj.stages, vj.history = [], []
    pool = neg  # negatives the cascade so far accepts
    for s in range(vj.n_stages):
        need = max_negatives - pool.shape[0]
        if negative_images and need > 0:
            if s == 0:
                fresh = random_windows(negative_images, need, vj.window, generator=generator)
            else:
                fresh = mine_negatives(vj, negative_images, need, generator=generator)
            pool = torch.cat([pool, fresh])
        if pool.shape[0] > max_negatives:
            pool = pool[torch.randperm(pool.shape[0], generator=generator)[:max_negatives]]
        if pool.shape[0] < (min_negatives if s else 1) or pos.shape[0] == 0:
            break  # the photos no longer yield enough false positives: the cascade is done
        pick = torch.randperm(all_coords.shape[0], generator=generator)[:n_cand]
        coords = all_coords[pick.sort().values]  # (F, 4, 4) this stage's candidates
        feats = torch.cat(
            [vj._normalised_features(pos, coords), vj._normalised_features(pool, coords)]
        )
        labels = torch.cat([torch.ones(pos.shape[0]), torch.zeros(pool.shape[0])])
        stage = boosted_stage(
            feats,
            labels.to(torch.int64),
            max_features=_stage_size(vj.max_stage_features, s),
            detection_rate=vj.stage_detection_rate,
            false_positive_rate=vj.stage_false_positive_rate,
            threshold_slack=vj.threshold_slack,
            boosting=vj.boosting,
        )
        stage["coords"] = coords[stage.pop("feature")].clone()
        vj.stages.append(stage)
        # the next stage sees only what this cascade still accepts
        pos_keep, neg_keep = vj._accepts_last(pos), vj._accepts_last(pool)
        vj.history.append(
            {
                "n_positives": pos.shape[0],
                "n_negatives": pool.shape[0],
                "n_features": len(stage["alpha"]),
                "detection_rate": float(pos_keep.double().mean()),
                "false_positive_rate": float(neg_keep.double().mean()),
            }
        )
        pos, pool = pos[pos_keep], pool[neg_keep]


def group_windows(
    boxes: Tensor, scores: Tensor, min_neighbors: int, *, eps: float = 0.2
) -> tuple[Tensor, Tensor]:
    """Merge the raw windows of a scan into detections, as OpenCV's ``groupRectangles`` does.

    Two windows are *similar* when each of their four sides moves by at most ``delta = eps
    (min(w_i, w_j) + min(h_i, h_j)) / 2``; the groups are the classes of the transitive closure
    of that relation. A group is kept when it has more than ``min_neighbors`` members (a face
    fires at many neighbouring positions and scales, a chance texture at few: an isolated
    window is dropped however high its margin) and becomes the mean of its members' boxes. A
    kept group lying inside another one (up to ``eps`` of the outer box's size) with more than
    ``max(3, n)`` members is dropped as a part of that detection. ``min_neighbors = 0``
    returns the raw windows unmerged.

    Args:
        boxes: ``(N, 4)`` float ``xyxy`` raw windows.
        scores: ``(N,)`` their cascade margins.
        min_neighbors: a kept group has more than this many members.
        eps: the similarity tolerance.

    Returns:
        ``(boxes, scores)``: ``(M, 4)`` mean boxes and ``(M,)`` scores, the member count plus
        the members' mean margin (so the count orders the detections), unsorted.

    Example:
        >>> b = torch.tensor([[0.0, 0, 10, 10], [1, 0, 11, 10], [2, 0, 12, 10], [50, 50, 60, 60]])
        >>> gb, gs = group_windows(b, torch.zeros(4), 2)  # the lone window is dropped
        >>> gb.tolist(), gs.tolist()
        ([[1.0, 0.0, 11.0, 10.0]], [3.0])
    """
    if boxes.shape[0] == 0 or min_neighbors == 0:
        return boxes, scores
    from scipy.sparse.csgraph import connected_components

    x1, y1, x2, y2 = boxes.unbind(-1)  # (N,) each
    w, h = x2 - x1, y2 - y1
    # delta_ij = eps (min(w_i, w_j) + min(h_i, h_j)) / 2
    delta = eps * (torch.minimum(w[:, None], w) + torch.minimum(h[:, None], h)) / 2  # (N, N)
    similar = torch.ones_like(delta, dtype=torch.bool)
    for side in (x1, y1, x2, y2):
        similar &= (side[:, None] - side).abs() <= delta
    n_groups, lab = connected_components(similar.numpy(), directed=False)
    lab_t = torch.from_numpy(lab).to(torch.int64)
    counts = torch.bincount(lab_t, minlength=n_groups).to(boxes.dtype)  # (G,)
    sums = torch.zeros(n_groups, 4, dtype=boxes.dtype).index_add_(0, lab_t, boxes)
    msum = torch.zeros(n_groups, dtype=scores.dtype).index_add_(0, lab_t, scores)
    keep = counts > min_neighbors
    gb, n, m = sums[keep] / counts[keep, None], counts[keep], msum[keep] / counts[keep]
    # drop a group inside a stronger one: inner box within the outer one grown by eps its size
    ox1, oy1, ox2, oy2 = gb.unbind(-1)
    dx, dy = eps * (ox2 - ox1), eps * (oy2 - oy1)  # (G,) tolerance of each outer box
    inside = (
        (gb[:, None, 0] >= ox1 - dx)
        & (gb[:, None, 1] >= oy1 - dy)
        & (gb[:, None, 2] <= ox2 + dx)
        & (gb[:, None, 3] <= oy2 + dy)
    )  # (G, G): row i inside column j
    stronger = (n > n[:, None].clamp_min(3)) | (n[:, None] < 3)  # (G, G): j outweighs i
    inside &= stronger & ~torch.eye(gb.shape[0], dtype=torch.bool)
    alone = ~inside.any(1)
    return gb[alone], (n + m)[alone]
