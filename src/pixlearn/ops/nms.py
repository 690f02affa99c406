r"""Non-maximum suppression: greedy NMS, per-class (batched) NMS and Soft-NMS.

A detector fires many overlapping boxes on one object; NMS keeps the best-scoring one and drops
the others that overlap it by more than an IoU threshold. :func:`nms` and :func:`batched_nms`
return exactly the greedy result without ever building the ``N x N`` IoU matrix: they find the
overlapping pairs with a spatial grid and then resolve the greedy order by a vectorised
fixed-point iteration (see :func:`nms`, Notes).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from pixlearn._core.check import (
    check_choice,
    check_finite,
    check_positive,
    check_range,
    check_tensor,
    describe,
)
from pixlearn._core.errors import ShapeError, WrongTypeError
from pixlearn.ops._nms_cpu import greedy_blocked
from pixlearn.ops.boxes import _check_boxes

__all__ = ["batched_nms", "nms", "soft_nms"]


def _check_scores(scores: object, n: int, name: str = "scores") -> Tensor:
    check_tensor(scores, name)
    assert isinstance(scores, Tensor)
    if not scores.is_floating_point():
        raise WrongTypeError(f"{name} must be a floating-point tensor, got {scores.dtype}")
    if scores.dim() != 1 or scores.shape[0] != n:
        raise ShapeError(f"{name} must have shape ({n},), one per box, got {describe(scores)}")
    fast = scores.device.type == "cpu" and scores.dtype in (torch.float32, torch.float64)
    if fast and np.isfinite(scores.detach().numpy()).all():  # NumPy: less call overhead
        return scores
    return check_finite(scores, name)


def _work_dtype(boxes: Tensor) -> Tensor:
    # float16/bfloat16 coordinates are exact in float32; the IoU is computed there
    return boxes.float() if boxes.dtype in (torch.float16, torch.bfloat16) else boxes


def _edges(b: Tensor, t: float, groups: Tensor | None) -> tuple[Tensor, Tensor]:
    """All pairs ``(i, j)``, ``i < j`` (rows of ``b``), of one group with ``IoU > t``.

    A pair with IoU > t overlaps by more than ``t`` of the wider box along x (and the taller
    along y), so its centres are closer than ``(1 - t) (w_i + w_j) / 2``: the boxes shrunk about
    their centres by ``1 - t`` overlap. Each shrunk box is registered in every grid cell it
    touches; pairs sharing a cell are candidates, counted once (in the cell holding the
    top-left corner of their overlap), and the exact IoU decides.
    """
    dev = b.device
    empty = torch.empty(0, dtype=torch.long, device=dev)
    x1, y1, x2, y2 = b.unbind(1)
    w, h = x2 - x1, y2 - y1  # (N,)
    # zero-area boxes have IoU 0 with everything: never suppress nor get suppressed
    valid = ((w > 0) & (h > 0)).nonzero().flatten()  # (V,)
    if t >= 1 or valid.numel() < 2:
        return empty, empty
    x1, y1, x2, y2, w, h = (v[valid] for v in (x1, y1, x2, y2, w, h))
    # half extents of the shrunk boxes, widened a little so rounding cannot lose a pair
    f = (1.0 - t) * 0.5 * (1 + 1e-3)
    hx, hy = w * f + 1e-6 * w, h * f + 1e-6 * h  # (V,)
    cx, cy = (x1 + x2) * 0.5, (y1 + y2) * 0.5
    sx1, sy1 = cx - hx, cy - hy
    # cell size ~ the typical shrunk box: about 4 cells per box, few boxes per cell
    g = float(torch.maximum(hx, hy).mean()) * 2.0
    ox, oy = float(sx1.min()), float(sy1.min())
    while True:
        ix0 = ((sx1 - ox) / g).floor().long()  # (V,)
        iy0 = ((sy1 - oy) / g).floor().long()
        ix1 = ((cx + hx - ox) / g).floor().long()
        iy1 = ((cy + hy - oy) / g).floor().long()
        nx, ny = ix1 - ix0 + 1, iy1 - iy0 + 1
        cnt = nx * ny  # (V,) cells touched by each box
        total = int(cnt.sum())
        if total <= 16 * valid.numel():
            break
        g *= 2.0  # a few huge boxes: coarser cells
    box = torch.repeat_interleave(torch.arange(valid.numel(), device=dev), cnt)  # (R,)
    r = torch.arange(total, device=dev) - (torch.cumsum(cnt, 0) - cnt)[box]
    nxb = nx[box]
    cell_x, cell_y = ix0[box] + r % nxb, iy0[box] + r // nxb  # (R,)
    gx, gy = int(ix1.max()) + 1, int(iy1.max()) + 1
    key = cell_y * gx + cell_x
    if groups is not None:  # other groups never share a cell
        key = key + groups[valid][box] * (gx * gy)
    key, perm = torch.sort(key, stable=True)  # box order (= score rank) kept inside a cell
    box, cell_x, cell_y = box[perm], cell_x[perm], cell_y[perm]
    _, counts = torch.unique_consecutive(key, return_counts=True)  # (cells,)
    start = torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)  # (R,)
    after = torch.repeat_interleave(counts, counts) - (torch.arange(total, device=dev) - start)
    after = after - 1  # registrations later in the same cell
    first = torch.repeat_interleave(torch.arange(total, device=dev), after)  # (P,)
    second = torch.arange(first.numel(), device=dev) - (torch.cumsum(after, 0) - after)[first]
    second = second + first + 1
    i, j = box[first], box[second]  # (P,), i < j
    # count the pair once: in the cell of the corner (max x1, max y1) of the shrunk overlap
    once = (torch.maximum(ix0[i], ix0[j]) == cell_x[first]) & (
        torch.maximum(iy0[i], iy0[j]) == cell_y[first]
    )
    i, j = i[once], j[once]
    # exact IoU of the candidates, the same arithmetic as box_iou
    iw = (torch.minimum(x2[i], x2[j]) - torch.maximum(x1[i], x1[j])).clamp(min=0)
    ih = (torch.minimum(y2[i], y2[j]) - torch.maximum(y1[i], y1[j])).clamp(min=0)
    inter = iw * ih
    area = w * h
    union = area[i] + area[j] - inter
    hit = inter / union > t
    return valid[i[hit]], valid[j[hit]]


def _greedy(n: int, src: Tensor, dst: Tensor, device: torch.device) -> Tensor:
    """Keep mask of greedy NMS given the edges ``src -> dst`` (``src`` ranked before ``dst``)."""
    keep = torch.ones(n, dtype=torch.bool, device=device)
    while src.numel():
        # keep_i = not any_{j -> i} keep_j, evaluated for all i at once (Jacobi sweep)
        new = keep.clone()
        new[dst] = True  # boxes without live edges into them keep their final value
        new[dst[keep[src]]] = False
        changed = (new != keep).nonzero()
        if changed.numel() == 0:
            break
        keep = new
        # every rank below the first change is final, and so is that one after the next
        # sweep: edges into final boxes can go
        live = dst >= int(changed[0])
        src, dst = src[live], dst[live]
    return keep


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, iou_threshold: float) -> Tensor:
    r"""Greedy NMS run independently within each class (or image) index.

    Args:
        boxes: shape ``(N, 4)``, ``xyxy``, float, finite, ``x2 >= x1`` and ``y2 >= y1``.
        scores: shape ``(N,)``, float, finite.
        idxs: the group of each box, shape ``(N,)``, integer; boxes of different groups
            never suppress each other.
        iou_threshold: boxes with IoU strictly greater than this are suppressed, in ``[0, 1]``.

    Returns:
        The kept indices, int64, shape ``(K,)``, by decreasing score (ties: input order).

    Example:
        >>> b = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0]])
        >>> batched_nms(b, torch.tensor([0.9, 0.8]), torch.tensor([0, 1]), 0.5)
        tensor([0, 1])
        >>> batched_nms(b, torch.tensor([0.9, 0.8]), torch.tensor([1, 1]), 0.5)
        tensor([0])
    """
    return _nms(boxes, scores, idxs, iou_threshold)


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    r"""Greedy non-maximum suppression.

    Args:
        boxes: shape ``(N, 4)``, ``xyxy``, float, finite, ``x2 >= x1`` and ``y2 >= y1``.
            float16/bfloat16 boxes are compared in float32. Zero-area boxes have IoU 0 with
            every box: they are never suppressed and suppress nothing.
        scores: shape ``(N,)``, float, finite.
        iou_threshold: a box whose IoU with a kept, better-scoring box is strictly greater
            than this is suppressed (a pair at exactly the threshold both survive); in
            ``[0, 1]``.

    Returns:
        The kept indices, int64, shape ``(K,)``, by decreasing score; equal scores keep their
        input order (a stable sort).

    Shape:
        ``(N, 4), (N,) -> (K,)``.

    Raises:
        WrongTypeError: non-floating boxes or scores.
        ShapeError: boxes not ``(N, 4)``, scores not ``(N,)``.
        ValueRangeError: NaN/Inf, ``x2 < x1`` or ``y2 < y1``, a threshold outside ``[0, 1]``.

    Notes:
        Greedy NMS visits the boxes by decreasing score and keeps box :math:`i` unless a kept
        box :math:`j` before it overlaps it: with :math:`S_{ji} = [\mathrm{IoU}(j, i) > t]`,

        .. math::
            k_i = \neg \bigvee_{j < i} (k_j \wedge S_{ji}).

        The loop over boxes is replaced by two vectorised steps. (1) The sparse set of pairs
        with :math:`S_{ji} = 1` is found without the :math:`N^2` matrix: IoU > t needs an
        overlap of more than :math:`t \max(w_i, w_j)` along x, so the centres are closer than
        :math:`(1 - t)(w_i + w_j)/2`, i.e. the boxes shrunk by :math:`1 - t` about their
        centres overlap (likewise in y). The shrunk boxes are hashed into a grid; pairs sharing
        a cell are the candidates, and their exact IoU decides. (2) The recursion is solved by
        the fixed-point (Jacobi) iteration :math:`k^{(s+1)}_i = \neg \bigvee_{j \to i}
        (k^{(s)}_j)` from :math:`k^{(0)} = 1`. The equation has exactly one solution (it is a
        recursion over the score order), and after each sweep the ranks below the first
        changed one are final, so the iteration ends at the greedy answer, usually after a
        handful of sweeps; edges into final boxes are dropped as it goes. Cost: about
        :math:`O(N + P)` per sweep for :math:`P` candidate pairs.

    Example:
        >>> b = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [20.0, 20, 30, 30]])
        >>> nms(b, torch.tensor([0.8, 0.9, 0.7]), 0.5)
        tensor([1, 2])

    References:
        Neubeck, A., Van Gool, L. "Efficient Non-Maximum Suppression." ICPR 2006.
    """
    return _nms(boxes, scores, None, iou_threshold)


def _nms(boxes: Tensor, scores: Tensor, idxs: Tensor | None, iou_threshold: float) -> Tensor:
    _check_boxes(boxes, "boxes", matrix=True)
    n = boxes.shape[0]
    _check_scores(scores, n)
    if idxs is not None:
        check_tensor(idxs, "idxs")
        if idxs.is_floating_point() or idxs.is_complex() or idxs.dtype == torch.bool:
            raise WrongTypeError(f"idxs must be an integer tensor, got {idxs.dtype}")
        if idxs.shape != (n,):
            raise ShapeError(f"idxs must have shape ({n},), one per box, got {describe(idxs)}")
    t = check_range(iou_threshold, "iou_threshold", 0.0, 1.0)
    if n == 0:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    if boxes.device.type == "cpu":
        # On the CPU a blocked greedy sweep over NumPy arrays that shrink as boxes are
        # suppressed beats the pair search below (no tensor-op overhead per step).
        sc = scores.detach()
        sc = sc if sc.dtype in (torch.float32, torch.float64) else sc.double()
        # a stable ascending sort of -score: best first, equal scores in input order
        rank = np.argsort(-sc.numpy(), kind="stable")  # (N,) rank -> index
        ranked = _work_dtype(boxes).detach().numpy()[rank]  # (N, 4) by rank
        g = None
        if idxs is not None:
            g = np.unique(idxs.detach().numpy(), return_inverse=True)[1].reshape(-1)[rank]
        kept = np.sort(greedy_blocked(ranked, g, t))
        return torch.from_numpy(rank[kept])
    order = torch.sort(scores, descending=True, stable=True).indices  # (N,) rank -> index
    b = _work_dtype(boxes)[order]  # (N, 4) by rank
    groups = None
    if idxs is not None:
        # dense group ids from 0, so that the grid keys stay small
        groups = torch.unique(idxs, return_inverse=True)[1][order].long()
    src, dst = _edges(b, t, groups)
    keep = _greedy(n, src, dst, boxes.device)
    return order[keep]


def soft_nms(
    boxes: Tensor,
    scores: Tensor,
    *,
    sigma: float = 0.5,
    iou_threshold: float = 0.3,
    score_threshold: float = 0.001,
    method: str = "gaussian",
) -> tuple[Tensor, Tensor]:
    r"""Soft-NMS: decay the scores of overlapping boxes instead of dropping them.

    Args:
        boxes: shape ``(N, 4)``, ``xyxy``, float, finite, ``x2 >= x1`` and ``y2 >= y1``.
        scores: shape ``(N,)``, float, finite.
        sigma: width of the Gaussian decay, > 0 (``method="gaussian"``).
        iou_threshold: overlap above which the linear decay applies, in ``[0, 1]``
            (``method="linear"``).
        score_threshold: boxes whose decayed score falls below this are dropped.
        method: ``"gaussian"`` or ``"linear"``.

    Returns:
        ``(keep, new_scores)``: the kept indices (int64, ``(K,)``) in the order they were
        selected, which is by decreasing decayed score (ties: input order), and their decayed
        scores (``(K,)``, dtype of ``scores``).

    Notes:
        Repeatedly select the box :math:`M` with the highest current score and multiply the
        score of every remaining box :math:`b_i` by

        .. math::
            f(\mathrm{iou}) = \begin{cases} e^{-\mathrm{iou}(M, b_i)^2 / \sigma} &
            \text{gaussian} \\ 1 - \mathrm{iou}(M, b_i) \text{ if } \mathrm{iou}(M, b_i)
            \ge N_t \text{ else } 1 & \text{linear.} \end{cases}

        One IoU row per selected box: :math:`O(N^2)` time, :math:`O(N)` memory.

    Example:
        >>> b = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0]])
        >>> keep, s = soft_nms(b, torch.tensor([0.9, 0.8]))
        >>> keep, s
        (tensor([0, 1]), tensor([0.9000, 0.3167]))

    References:
        Bodla, N., Singh, B., Chellappa, R., Davis, L. S. "Soft-NMS -- Improving Object
        Detection With One Line of Code." ICCV 2017.
    """
    _check_boxes(boxes, "boxes", matrix=True)
    n = boxes.shape[0]
    _check_scores(scores, n)
    sig = check_positive(sigma, "sigma")
    nt = check_range(iou_threshold, "iou_threshold", 0.0, 1.0)
    st = check_range(score_threshold, "score_threshold")
    check_choice(method, "method", ("gaussian", "linear"))
    b = _work_dtype(boxes)
    s = scores.to(b.dtype).clone()  # (N,) current scores
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # (N,)
    alive = (s >= st).nonzero().flatten()  # indices still in play
    keep: list[Tensor] = []
    kept_scores: list[Tensor] = []
    while alive.numel():
        # the first maximum: equal scores go in input order
        m = int(torch.argmax(s[alive]))
        top = alive[m]
        keep.append(top)
        kept_scores.append(s[top])
        alive = torch.cat((alive[:m], alive[m + 1 :]))
        if alive.numel() == 0:
            break
        rest = b[alive]  # (R, 4)
        iw = (torch.minimum(rest[:, 2], b[top, 2]) - torch.maximum(rest[:, 0], b[top, 0])).clamp(
            min=0
        )
        ih = (torch.minimum(rest[:, 3], b[top, 3]) - torch.maximum(rest[:, 1], b[top, 1])).clamp(
            min=0
        )
        inter = iw * ih
        union = area[alive] + area[top] - inter
        safe = torch.where(union > 0, union, torch.ones_like(union))
        iou = torch.where(union > 0, inter / safe, torch.zeros_like(inter))  # (R,)
        if method == "gaussian":
            # f = exp(-iou^2 / sigma)
            decay = torch.exp(-(iou * iou) / sig)
        else:
            # f = 1 - iou above the threshold, 1 below
            decay = torch.where(iou >= nt, 1.0 - iou, 1.0)
        s[alive] = s[alive] * decay
        alive = alive[s[alive] >= st]
    if not keep:
        empty = torch.empty(0, dtype=torch.long, device=boxes.device)
        return empty, scores.new_empty(0)
    return torch.stack(keep), torch.stack(kept_scores).to(scores.dtype)
