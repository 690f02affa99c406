r"""Scoring a deformable part model: the star score of every root position, and the latent
feature vector :math:`\psi` of chosen placements (the two faces of one linear function).

With :math:`\phi(H, p)` the HOG blocks under a filter at :math:`p` of level :math:`H`,
:math:`H'` the level of twice the resolution, :math:`v_i` the anchors and :math:`w_i` the
spring costs of :math:`(dx, dy, dx^2, dy^2)`,

.. math::
    s(p) = F_0 \cdot \phi(H, p) + \sum_i \max_d \big[F_i \cdot \phi(H', 2p + v_i + d)
    - w_i \cdot (dx, dy, dx^2, dy^2)\big] + b = \beta \cdot \psi(p, d^*) + b.

:func:`star_scores` evaluates the left side for all :math:`p` (one generalised distance
transform per part); :func:`latent_features` builds :math:`\psi` for given placements, which
the latent SVM trains on.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from pixlearn.features._block_correlate import block_correlate
from pixlearn.features.gdt import distance_transform_generalized

__all__ = ["latent_features", "star_scores"]


def star_scores(
    grids: list[tuple[Tensor, Tensor]],
    root: Tensor,
    parts: Tensor,
    anchors: Tensor,
    deformation: Tensor,
    intercept: float,
) -> list[tuple[Tensor, Tensor]]:
    """Scores of every root position and the best part placements, per batch of grids.

    Args:
        grids: ``(root grid, part grid)`` pairs, ``(B, Rb, Cb, D)`` root-level blocks and
            ``(B, Pb, Qb, D)`` blocks of the level of twice the resolution (pyramid levels).
        root: ``(rh, rw, D)`` root filter; parts: ``(n, ph, pw, D)`` part filters.
        anchors: ``(n, 2)`` int64 anchors (row, col) relative to twice the root position.
        deformation: ``(n, 4)`` costs of ``(dx, dy, dx^2, dy^2)``; intercept: the bias.

    Returns:
        Per pair, ``scores`` ``(B, R, C)`` and ``places`` ``(B, R, C, n, 2)`` int64, the block
        (row, col) of each part on the part level.

    Example:
        >>> f64 = torch.float64
        >>> root, parts = torch.ones(1, 1, 2, dtype=f64), torch.ones(1, 1, 1, 2, dtype=f64)
        >>> grids = [(torch.zeros(1, 3, 3, 2, dtype=f64), torch.zeros(1, 6, 6, 2, dtype=f64))]
        >>> spring = torch.tensor([[0.0, 0.0, 1.0, 1.0]], dtype=f64)
        >>> anchors = torch.zeros(1, 2, dtype=torch.long)
        >>> s, places = star_scores(grids, root, parts, anchors, spring, 0.5)[0]
        >>> s.shape, places.shape, float(s[0, 0, 0])
        (torch.Size([1, 3, 3]), torch.Size([1, 3, 3, 1, 2]), 0.5)
    """
    (rh, rw, _), (n, ph, pw, _) = root.shape, parts.shape
    vy, vx = anchors[:, 0], anchors[:, 1]  # (n,)
    roots, negs = [], []
    for root_grid, part_grid in grids:
        r, c = root_grid.shape[1] - rh + 1, root_grid.shape[2] - rw + 1
        # F0 . phi(H, p) for all p
        roots.append(block_correlate(root_grid, root[None])[:, 0])  # (B, R, C)
        # the part level must reach the anchors of every root; pad with empty blocks if not
        need = (2 * (r - 1) + int(vy.max()) + ph, 2 * (c - 1) + int(vx.max()) + pw)
        pad = (max(need[0] - part_grid.shape[1], 0), max(need[1] - part_grid.shape[2], 0))
        if pad[0] or pad[1]:
            part_grid = F.pad(part_grid, (0, 0, 0, pad[1], 0, pad[0]))
        # R_i = F_i . phi(H', q) for all q
        negs.append(-block_correlate(part_grid, parts))  # (B, n, P, Q)
    # max_d R_i(a + d) - w_i . phi_d(d) = -min_q [-R_i(q) + cost(q - a)]
    weights = deformation[:, [0, 2, 1, 3]]  # the transform's (dx, dx^2, dy, dy^2)
    dts = [distance_transform_generalized(x, weights=weights) for x in negs]
    out = []
    pi = torch.arange(n, device=vy.device)[:, None, None]
    for score0, (neg, disp) in zip(roots, dts, strict=True):
        b, r, c = score0.shape
        # anchors a_i = 2 p + v_i of every root position p
        ay = 2 * torch.arange(r, device=vy.device)[None, :] + vy[:, None]  # (n, R)
        ax = 2 * torch.arange(c, device=vx.device)[None, :] + vx[:, None]  # (n, C)
        best = -neg[:, pi, ay[:, :, None], ax[:, None, :]]  # (B, n, R, C)
        d = disp.permute(0, 1, 3, 4, 2)[:, pi, ay[:, :, None], ax[:, None, :]]  # (B,n,R,C,2)
        anchor = torch.stack(torch.broadcast_tensors(ay[:, :, None], ax[:, None, :]), -1)
        places = (anchor + d).permute(0, 2, 3, 1, 4)  # (B, R, C, n, 2)
        out.append(((score0 + best.sum(1) + intercept).reshape(b, r, c), places))
    return out


def latent_features(
    root_grid: Tensor,
    part_grid: Tensor,
    idx: Tensor,
    places: Tensor,
    root_size: tuple[int, int],
    part_size: tuple[int, int],
    anchors: Tensor,
) -> Tensor:
    r"""The latent feature vectors :math:`\psi` of chosen windows: ``(K, n_features)``.

    Args:
        root_grid, part_grid: ``(B, ., ., D)`` grids; idx: ``(K, 3)`` (batch, row, col) root
            positions; places: ``(K, n, 2)`` part positions (block row, col);
            root_size, part_size: filter sizes in blocks; anchors: ``(n, 2)``.

    Returns:
        ``(K, rh rw D + n (ph pw D + 4))``: root blocks, part blocks, then
        :math:`-(dx, dy, dx^2, dy^2)` of each part, in the order of :math:`\beta`.

    Example:
        >>> g = torch.arange(2 * 4 * 4 * 1.0).reshape(2, 4, 4, 1)
        >>> psi = latent_features(g, g, torch.tensor([[1, 0, 0]]), torch.tensor([[[1, 2]]]),
        ...                       (1, 1), (1, 1), torch.tensor([[0, 0]]))
        >>> psi.tolist()  # root block (0, 0) of image 1, part block (1, 2), d = (1, 2)
        [[16.0, 22.0, -2.0, -1.0, -4.0, -1.0]]
    """
    (rh, rw), (ph, pw) = root_size, part_size
    k = idx.shape[0]
    bi, ri, ci = idx.unbind(1)
    # views (B, R, C, D, rh, rw) and (B, P, Q, D, ph, pw): every placement, no copy
    roots = root_grid.unfold(1, rh, 1).unfold(2, rw, 1)[bi, ri, ci]  # (K, D, rh, rw)
    parts = part_grid.unfold(1, ph, 1).unfold(2, pw, 1)
    parts = parts[bi[:, None], places[..., 0], places[..., 1]]  # (K, n, D, ph, pw)
    # displacement from the anchor 2 p + v_i, then -(dx, dy, dx^2, dy^2)
    anchor = 2 * torch.stack([ri, ci], 1)[:, None, :] + anchors[None]  # (K, n, 2)
    dy, dx = (places - anchor).to(root_grid.dtype).unbind(-1)  # (K, n) each
    phi_d = -torch.stack([dx, dy, dx**2, dy**2], -1)  # (K, n, 4)
    return torch.cat(
        [
            roots.permute(0, 2, 3, 1).reshape(k, -1),
            parts.permute(0, 1, 3, 4, 2).reshape(k, -1),
            phi_d.reshape(k, -1),
        ],
        1,
    )
