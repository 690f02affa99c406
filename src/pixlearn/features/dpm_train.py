r"""Training steps of :class:`~pixlearn.features.DeformablePartModel`: part initialisation
from the root filter and latent-SVM rounds with hard-negative mining."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor

if TYPE_CHECKING:
    from pixlearn.features.dpm import DeformablePartModel

__all__ = ["init_parts", "latent_svm", "linear_svm"]


def init_parts(
    root: Tensor, part_grid: tuple[int, int], n_parts: int, part_size: tuple[int, int]
) -> tuple[Tensor, Tensor]:
    r"""Place parts greedily on the high-energy regions of the root filter at twice its size.

    Args:
        root: ``(rh, rw, D)`` root filter.
        part_grid: ``(Ph, Pw)`` blocks of the window at twice the resolution.
        n_parts: number of parts.
        part_size: ``(ph, pw)`` blocks per part.

    Returns:
        ``parts`` ``(n_parts, ph, pw, D)`` (the interpolated root under each part) and
        ``anchors`` ``(n_parts, 2)`` int64 (row, col) of each part's top-left block.

    Notes:
        The root filter is interpolated to the part grid; the energy of a block is the squared
        norm of its positive weights, :math:`e = \|\max(F, 0)\|^2`. Each part takes the
        ``ph x pw`` region of largest total energy, whose energy is then zeroed, so the next
        part goes elsewhere (Felzenszwalb et al. 2010, section 5.2).

    Example:
        >>> root = torch.zeros(5, 5, 36)
        >>> root[0, 0] = 1.0  # all energy in the top-left corner
        >>> parts, anchors = init_parts(root, (11, 11), 2, (4, 4))
        >>> anchors[0].tolist(), parts.shape
        ([0, 0], torch.Size([2, 4, 4, 36]))
    """
    ph, pw = part_size
    fine = F.interpolate(
        root.permute(2, 0, 1)[None], size=part_grid, mode="bilinear", align_corners=True
    )[0].permute(1, 2, 0)  # (Ph, Pw, D)
    energy = fine.clamp(min=0).square().sum(-1)  # (Ph, Pw)
    box = torch.ones(1, 1, ph, pw, dtype=energy.dtype, device=energy.device)
    parts, anchors = [], []
    for _ in range(n_parts):
        # total energy under every placement of the part
        sums = F.conv2d(energy[None, None], box)[0, 0]  # (Ph - ph + 1, Pw - pw + 1)
        y, x = divmod(int(sums.argmax()), sums.shape[1])
        parts.append(fine[y : y + ph, x : x + pw])
        anchors.append((y, x))
        energy[y : y + ph, x : x + pw] = 0
    return torch.stack(parts), torch.tensor(anchors, dtype=torch.int64, device=root.device)


def linear_svm(pos: Tensor, neg: Tensor, C: float) -> tuple[Tensor, float]:
    """Squared-hinge linear SVM with balanced class weights (scikit-learn's ``LinearSVC``).

    Returns ``(w, b)``: ``(D,)`` float64 weights and the bias.
    """
    from sklearn.svm import LinearSVC  # the generic SVM step

    x = torch.cat([pos, neg]).cpu().numpy()
    y = torch.cat([torch.ones(pos.shape[0]), torch.zeros(neg.shape[0])]).numpy()
    # the dual solver: fewer windows than features here
    svm = LinearSVC(C=C, class_weight="balanced", dual=True, max_iter=10000)
    svm.fit(x, y)
    return torch.from_numpy(svm.coef_[0].copy()).to(pos), float(svm.intercept_[0])


def _patch_psi(model: DeformablePartModel, root_grid: Tensor, part_grid: Tensor) -> Tensor:
    """:math:`\\psi` of window-sized patches, their parts at the best placements."""
    if root_grid.shape[0] == 0:
        return root_grid.new_zeros(0, model.n_features)
    _, places = model._score_grids(root_grid, part_grid)  # (N, 1, 1, n, 2)
    zero = torch.zeros(root_grid.shape[0], dtype=torch.int64, device=root_grid.device)
    idx = torch.stack([torch.arange(root_grid.shape[0], device=zero.device), zero, zero], 1)
    return model._psi(root_grid, part_grid, idx, places[:, 0, 0])


def _crop(
    levels: list[tuple[Tensor, Tensor, Tensor]],
    flat: Tensor,
    starts: Tensor,
    shapes: list[tuple[int, int]],
    model: DeformablePartModel,
) -> Tensor:
    """The pixels ``(K, h, w)`` float64 of photo windows given by flat index over all levels."""
    (h, w), (ch, cw) = model.window, model.pixels_per_cell
    gid = torch.searchsorted(starts, flat, right=True) - 1  # (K,) level of each window
    out = torch.empty(flat.numel(), h, w, dtype=torch.float64)
    for g in gid.unique().tolist():
        sel = (gid == g).nonzero()[:, 0]
        local = flat[sel] - starts[g]
        rows, cols = local // shapes[g][1], local % shapes[g][1]
        # the window of root block (i, j) starts at pixel (i ch, j cw) of its level
        views = levels[g][0].unfold(0, h, 1).unfold(1, w, 1)  # (.., .., h, w), no copy
        out[sel] = views[rows * ch, cols * cw].to(torch.float64)
    return out


def latent_svm(
    model: DeformablePartModel,
    positives: Tensor,
    negatives: Tensor,
    levels: list[tuple[Tensor, Tensor, Tensor]],
    *,
    rounds: int,
    random_windows: int,
    max_mined: int,
    generator: torch.Generator | None,
) -> None:
    r"""Latent-SVM rounds: relabel the positives' parts, mine hard negatives, retrain jointly.

    Args:
        model: a model with initial filters, anchors and springs; updated in place.
        positives, negatives: ``(N, h, w)`` float64 window-sized patches.
        levels: ``(level pixels, root grid, part grid)`` of every pyramid level of the
            negative photos (grids with a leading batch dimension of 1).
        rounds: latent-SVM rounds.
        random_windows: random windows of the photos among the first negatives.
        max_mined: the most windows added per round (those scoring above -1, highest first).
        generator: randomness of the random windows.

    Notes:
        Each round (a) fixes the placements of the positives' parts at their best
        (:math:`\arg\max_z \beta \cdot \psi(x, z)`), (b) scores every window of the photos
        and adds the hardest not yet taken, (c) recomputes :math:`\psi` of all negatives at
        their own best placements and fits one linear SVM on the stacked vectors. The
        objective is semi-convex: convex in :math:`\beta` once the positives' latent values
        are fixed (Felzenszwalb et al. 2010, section 4). A mined window is described by its
        own pixels, cut out of the photo, exactly as a positive patch is: read from the
        photo's grid instead, its border gradients would see the pixels around it, which no
        positive does, and the SVM would learn that difference rather than the object.
    """
    rh, rw = model.root_size
    shapes = [(r.shape[1] - rh + 1, r.shape[2] - rw + 1) for _, r, _ in levels]
    sizes = torch.tensor([a * b for a, b in shapes], dtype=torch.int64)
    starts = torch.cumsum(sizes, 0) - sizes  # flat index of each level's first window
    total = int(sizes.sum())
    used = torch.zeros(total, dtype=torch.bool)
    neg = [negatives]
    if total and random_windows:
        pick = torch.randperm(total, generator=generator)[:random_windows]
        used[pick] = True
        neg.append(_crop(levels, pick, starts, shapes, model))
    pos_grids = model._patch_grids(positives)
    for _ in range(rounds):
        psi_pos = _patch_psi(model, *pos_grids)  # (P, n_features)
        if total:
            # score every window of every photo with the current model
            scored = model._score_many([(r, p) for _, r, p in levels])
            scores = torch.cat([s.reshape(-1) for s, _ in scored])  # (total,)
            # hard negatives: windows not taken yet with s > -1, the highest first
            scores = scores.masked_fill(used | (scores <= -1), -math.inf)
            top = scores.topk(min(max_mined, total))
            hard = top.indices[top.values > -math.inf]
            used[hard] = True
            if hard.numel():
                neg.append(_crop(levels, hard, starts, shapes, model))
        # every negative at its own best placements under the current model
        psi_neg = _patch_psi(model, *model._patch_grids(torch.cat(neg)))
        beta, b = linear_svm(psi_pos, psi_neg, model.C)
        model._set_params(beta, b)
