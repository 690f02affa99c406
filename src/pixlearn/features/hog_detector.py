r"""HOG + linear SVM sliding-window detection (Dalal and Triggs) with hard-negative mining.

A window is described by the HOG of its pixels (:func:`~pixlearn.features.hog`) and scored by a
linear SVM, :math:`s(x) = w^\top \phi(x) + b`. Detection never computes a HOG per window: on
each level of an image pyramid the normalised block grid is computed once, and a window aligned
with the cells *is* a slice of that grid, so all window scores come at once from one
correlation of the grid with the SVM weights laid out as blocks. Training alternates fitting the
SVM with hard-negative mining: every window of photos without the object is scored the same way
and the highest-scoring ones (the false positives) are added to the negatives.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from pixlearn._core.check import (
    check_choice,
    check_image,
    check_int,
    check_positive,
    check_range,
    describe,
    pair,
)
from pixlearn._core.errors import NotFittedError, ShapeError, ValueRangeError
from pixlearn.features.hog import (
    HOG_BLOCK_NORMS,
    hog,
    hog_cell_histograms,
    hog_normalize_blocks,
)
from pixlearn.ops import nms
from pixlearn.transform import resize

__all__ = ["HOGDetector"]


def _patches(x: Any, name: str, window: tuple[int, int]) -> Tensor:
    """``(N, h, w)`` or ``(N, 1, h, w)`` float patches of the window size -> ``(N, h, w)``."""
    check_image(x, name, min_dims=3, max_dims=4, floating=True, allow_empty=True)
    if x.dim() == 4:
        if x.shape[1] != 1:
            raise ShapeError(f"{name} must be grey patches (N, 1, h, w), got {describe(x)}")
        x = x[:, 0]
    if tuple(x.shape[-2:]) != window:
        raise ShapeError(f"{name} must be {window[0]}x{window[1]} patches, got {describe(x)}")
    return x


def _grey(image: Any, name: str) -> Tensor:
    """A grey ``(H, W)`` or ``(1, H, W)`` float image -> ``(H, W)``."""
    check_image(image, name, min_dims=2, max_dims=3, floating=True)
    if image.dim() == 3:
        if image.shape[0] != 1:
            raise ShapeError(f"{name} must be grey, (H, W) or (1, H, W), got {describe(image)}")
        image = image[0]
    return image


class HOGDetector:
    r"""Sliding-window object detector: HOG features, a linear SVM, an image pyramid, NMS.

    Args:
        window: ``(h, w)`` of the detection window, the training patch size (25x25 for
            :func:`pixlearn.data.faces`).
        orientations: HOG orientation bins over [0, 180) degrees.
        pixels_per_cell: ``n`` or ``(h, w)``; ``None`` picks 8 for windows of at least 64
            pixels on their short side and 4 otherwise. It is also the detection stride.
        cells_per_block: ``n`` or ``(bh, bw)``; blocks overlap with a stride of one cell.
        block_norm: the HOG block normalisation (:data:`~pixlearn.features.HOG_BLOCK_NORMS`).
        C: the SVM's inverse regularisation strength, > 0.

    Attributes:
        coef_: ``(D,)`` float64 SVM weights over the HOG vector, after :meth:`fit`.
        intercept_: the bias :math:`b` (a float).

    Raises:
        ValueRangeError: a window holding less than one block of cells, ``C <= 0``.

    Notes:
        The score of a window :math:`x` is :math:`s(x) = w^\top \phi(x) + b`, with
        :math:`\phi` the HOG vector and :math:`(w, b)` minimising the (squared-hinge) SVM
        objective :math:`\tfrac12\|w\|^2 + C \sum_i c_i \max(0, 1 - y_i s(x_i))^2`, class
        weights :math:`c_i` balancing faces and non-faces. Laying :math:`w` out as the
        ``(n_blocks_row, n_blocks_col, bh, bw, orientations)`` block grid of one window, the
        score of the window whose top-left block is :math:`(i, j)` in an image's block grid
        :math:`B` is the correlation

        .. math::
            s_{ij} = b + \sum_{a, c} \langle B_{i + a,\, j + c},\, W_{a, c} \rangle,

        the syllabus' "HOGs weighted by the SVM weights". Positive weights show the gradients
        typical of the object, negative ones those typical of the background.

    Example:
        >>> from pixlearn.data import load_dataset
        >>> ds = load_dataset("faces", "train")
        >>> det = HOGDetector((25, 25)).fit(ds.images[ds.targets == 1], ds.images[ds.targets == 0])
        >>> det.coef_.shape  # 5 x 5 blocks of 2 x 2 cells of 4 x 4 pixels, 9 bins
        torch.Size([900])
        >>> g = torch.Generator().manual_seed(0)
        >>> boxes, scores = det.detect(torch.rand(60, 80, generator=g))
        >>> boxes.shape[1], scores.dim()
        (4, 1)

    References:
        Dalal, N. and Triggs, B. "Histograms of oriented gradients for human detection."
        CVPR 2005. Felzenszwalb, P. et al. "Object detection with discriminatively trained
        part-based models." TPAMI 2010 (hard-negative mining).
    """

    def __init__(
        self,
        window: int | Sequence[int] = (25, 25),
        *,
        orientations: int = 9,
        pixels_per_cell: int | Sequence[int] | None = None,
        cells_per_block: int | Sequence[int] = (2, 2),
        block_norm: str = "L2-Hys",
        C: float = 1.0,
    ) -> None:
        self.window = pair(window, "window")
        self.orientations = check_int(orientations, "orientations", min_value=1)
        if pixels_per_cell is None:
            pixels_per_cell = 8 if min(self.window) >= 64 else 4
        self.pixels_per_cell = pair(pixels_per_cell, "pixels_per_cell")
        self.cells_per_block = pair(cells_per_block, "cells_per_block")
        self.block_norm = check_choice(block_norm, "block_norm", HOG_BLOCK_NORMS)
        self.C = check_positive(C, "C")
        (ch, cw), (bh, bw) = self.pixels_per_cell, self.cells_per_block
        # window in cells, then in blocks
        self._cells = (self.window[0] // ch, self.window[1] // cw)
        self._blocks = (self._cells[0] - bh + 1, self._cells[1] - bw + 1)
        if self._blocks[0] < 1 or self._blocks[1] < 1:
            raise ValueRangeError(
                f"window must hold at least one block of {bh}x{bw} cells of {ch}x{cw} pixels "
                f"({bh * ch}x{bw * cw}), got {self.window[0]}x{self.window[1]}"
            )
        self.coef_: Tensor | None = None
        self.intercept_: float = 0.0

    # ------------------------------------------------------------------ features
    def features(self, patches: Tensor) -> Tensor:
        """The HOG vectors of window-sized patches, ``(N, D)`` float64 (what the SVM sees).

        Args:
            patches: ``(N, h, w)`` or ``(N, 1, h, w)`` float patches of the window size.
        """
        x = _patches(patches, "patches", self.window).to(torch.float64)
        if x.shape[0] == 0:
            return x.new_zeros(0, self.n_features)
        return hog(
            x, self.orientations, self.pixels_per_cell, self.cells_per_block, self.block_norm
        )

    @property
    def n_features(self) -> int:
        """``D``, the length of a window's HOG vector."""
        bh, bw = self.cells_per_block
        return self._blocks[0] * self._blocks[1] * bh * bw * self.orientations

    def _block_grid(self, level: Tensor) -> Tensor:
        """Normalised blocks of one grey level: ``(n_blocks_row, n_blocks_col, bh, bw, n)``."""
        hist = hog_cell_histograms(level, self.orientations, self.pixels_per_cell)
        return hog_normalize_blocks(hist, self.cells_per_block, self.block_norm)  # float64

    def _window_features(self, grid: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
        """The HOG vectors ``(K, D)`` of the windows whose top-left block is ``(rows, cols)``."""
        br, bc = self._blocks
        # a view (R, C, bh, bw, n, br, bc): every window's blocks, no copy
        views = grid.unfold(0, br, 1).unfold(1, bc, 1)
        picked = views[rows, cols]  # (K, bh, bw, n, br, bc)
        return picked.permute(0, 4, 5, 1, 2, 3).reshape(rows.numel(), -1)  # (K, D)

    def _score_grid(self, grid: Tensor) -> Tensor:
        """Scores of every window of a block grid at once: ``(R, C)`` float64."""
        self._check_fitted()
        assert self.coef_ is not None
        br, bc = self._blocks
        nbr, nbc = grid.shape[:2]
        if nbr < br or nbc < bc:
            return grid.new_zeros(max(nbr - br + 1, 0), max(nbc - bc + 1, 0))
        depth = grid[0, 0].numel()  # bh * bw * n values per block
        x = grid.reshape(nbr, nbc, depth).permute(2, 0, 1)[None]  # (1, depth, nbr, nbc)
        weight = self.coef_.to(grid).reshape(br, bc, depth).permute(2, 0, 1)[None]
        # s_ij = b + sum_{a,c} <B_{i+a, j+c}, W_{a,c}>: a correlation (conv2d does not flip)
        return F.conv2d(x, weight)[0, 0] + self.intercept_  # (R, C)

    def _pyramid(
        self, image: Tensor, scale_factor: float
    ) -> list[tuple[Tensor, Tensor, float, float]]:
        """``(level, block grid, sy, sx)`` per pyramid level holding the window.

        ``(sy, sx)`` map level pixels back to input pixels.
        """
        h, w = image.shape
        out, s = [], 1.0
        while round(h / s) >= self.window[0] and round(w / s) >= self.window[1]:
            size = (round(h / s), round(w / s))
            level = image if s == 1.0 else resize(image, size)
            # keep the blocks of windows that lie wholly inside the level (the window may be
            # a few pixels larger than its cells)
            rows = (size[0] - self.window[0]) // self.pixels_per_cell[0] + self._blocks[0]
            cols = (size[1] - self.window[1]) // self.pixels_per_cell[1] + self._blocks[1]
            grid = self._block_grid(level)[:rows, :cols]
            out.append((level, grid, h / size[0], w / size[1]))
            s *= scale_factor
        return out

    # ------------------------------------------------------------------ training
    def _check_fitted(self) -> None:
        if self.coef_ is None:
            raise NotFittedError("HOGDetector must be fitted before it is used (call fit)")

    def _fit_svm(self, pos: Tensor, neg: Tensor) -> None:
        from sklearn.svm import LinearSVC  # the generic SVM step

        x = torch.cat([pos, neg]).numpy()
        y = torch.cat([torch.ones(pos.shape[0]), torch.zeros(neg.shape[0])]).numpy()
        svm = LinearSVC(C=self.C, class_weight="balanced", dual=False, max_iter=5000, tol=1e-5)
        svm.fit(x, y)
        self.coef_ = torch.from_numpy(svm.coef_[0].copy()).to(torch.float64)
        self.intercept_ = float(svm.intercept_[0])

    def fit(
        self,
        positives: Tensor,
        negatives: Tensor,
        *,
        negative_images: Sequence[Tensor] | None = None,
        mining_rounds: int = 2,
        random_windows: int = 1000,
        max_mined: int = 1000,
        mirror: bool = True,
        scale_factor: float = 1.25,
        generator: torch.Generator | None = None,
    ) -> HOGDetector:
        r"""Train the SVM, then retrain it ``mining_rounds`` times with mined hard negatives.

        Args:
            positives: ``(N, h, w)`` or ``(N, 1, h, w)`` object patches of the window size.
            negatives: background patches, same layout.
            negative_images: grey photos without the object, ``(H, W)`` or ``(1, H, W)``;
                ``random_windows`` of their windows (over the pyramid) join the first
                negatives, and each mining round adds up to ``max_mined`` new windows scoring
                above -1 (inside the margin or false positives), the highest first.
            mining_rounds: rounds of hard-negative mining (0: none).
            random_windows: random windows of ``negative_images`` in the first training set.
            max_mined: the most windows added per round.
            mirror: add the left-right mirror image of every positive.
            scale_factor: pyramid ratio used on ``negative_images``, > 1.
            generator: randomness of the random windows.

        Returns:
            ``self``, trained.

        Raises:
            ValueRangeError: an empty ``positives`` or ``negatives``.
            ShapeError: patches of another size, colour photos.
        """
        pos = _patches(positives, "positives", self.window).to(torch.float64)
        neg = _patches(negatives, "negatives", self.window).to(torch.float64)
        for name, x in (("positives", pos), ("negatives", neg)):
            if x.shape[0] == 0:
                raise ValueRangeError(f"{name} must hold at least one patch, got an empty set")
        mining_rounds = check_int(mining_rounds, "mining_rounds", min_value=0)
        random_windows = check_int(random_windows, "random_windows", min_value=0)
        max_mined = check_int(max_mined, "max_mined", min_value=1)
        check_range(scale_factor, "scale_factor", 1, None, low_inclusive=False)
        if mirror:
            pos = torch.cat([pos, pos.flip(-1)])
        pos_f, neg_f = self.features(pos), self.features(neg)  # (P, D), (M, D)
        # every window of every negative photo, once: block grids per level
        levels = [
            (lv, g)
            for i, img in enumerate(negative_images or ())
            for lv, g, _, _ in self._pyramid(_grey(img, f"negative_images[{i}]"), scale_factor)
        ]
        br, bc = self._blocks
        shapes = [(g.shape[0] - br + 1, g.shape[1] - bc + 1) for _, g in levels]
        sizes = torch.tensor([r * c for r, c in shapes], dtype=torch.int64)
        starts = torch.cumsum(sizes, 0) - sizes  # flat index of each grid's first window
        total = int(sizes.sum())
        used = torch.zeros(total, dtype=torch.bool)

        (ch, cw), (h, w) = self.pixels_per_cell, self.window

        def gather(flat: Tensor) -> Tensor:
            """HOG vectors of windows given by flat index over all levels: ``(K, D)``."""
            gid = torch.searchsorted(starts, flat, right=True) - 1  # (K,)
            wins = torch.empty(flat.numel(), h, w, dtype=torch.float64)
            for g in gid.unique().tolist():
                sel = (gid == g).nonzero()[:, 0]
                local = flat[sel] - starts[g]
                rows, cols = local // shapes[g][1], local % shapes[g][1]
                # the window's own pixels (a view of every h x w window, then indexed), so
                # that its HOG is computed as the positives' is, border gradients 0
                all_wins = levels[g][0].unfold(0, h, 1).unfold(1, w, 1)  # (.., .., h, w)
                wins[sel] = all_wins[rows * ch, cols * cw].to(torch.float64)
            return self.features(wins)

        if total and random_windows:
            pick = torch.randperm(total, generator=generator)[:random_windows]
            used[pick] = True
            neg_f = torch.cat([neg_f, gather(pick)])
        self._fit_svm(pos_f, neg_f)
        for _ in range(mining_rounds if total else 0):
            scores = torch.cat([self._score_grid(g).reshape(-1) for _, g in levels])  # (total,)
            # hard negatives: windows not taken yet with s > -1, the highest first
            scores = scores.masked_fill(used | (scores <= -1), -math.inf)
            top = scores.topk(min(max_mined, total))
            hard = top.indices[top.values > -math.inf]
            if hard.numel() == 0:
                break
            used[hard] = True
            neg_f = torch.cat([neg_f, gather(hard)])
            self._fit_svm(pos_f, neg_f)
        return self

    # ------------------------------------------------------------------ inference
    def decision_function(self, patches: Tensor) -> Tensor:
        r"""SVM scores :math:`w^\top \phi(x) + b` of window-sized patches: ``(N,)`` float64.

        Args:
            patches: ``(N, h, w)`` or ``(N, 1, h, w)`` float patches of the window size.
        """
        self._check_fitted()
        assert self.coef_ is not None
        feats = self.features(patches)  # (N, D)
        return feats @ self.coef_.to(feats.device) + self.intercept_

    def detect(
        self,
        image: Tensor,
        *,
        scale_factor: float = 1.2,
        score_threshold: float = 0.0,
        nms_threshold: float = 0.3,
        max_detections: int = 100,
    ) -> tuple[Tensor, Tensor]:
        """Detect objects in a grey image over an image pyramid.

        Args:
            image: grey ``(H, W)`` or ``(1, H, W)`` float image in [0, 1].
            scale_factor: ratio between pyramid levels, > 1; level ``k`` is the image shrunk
                by ``scale_factor ** k`` while the window still fits.
            score_threshold: keep windows scoring above it (the SVM's boundary is 0; lower it
                to trade precision for recall, e.g. to draw a precision-recall curve).
            nms_threshold: IoU above which a lower-scoring box is suppressed, in [0, 1].
            max_detections: the most boxes returned, >= 1.

        Returns:
            ``(boxes, scores)``: ``(K, 4)`` float ``xyxy`` boxes in input pixels and their
            ``(K,)`` SVM scores, by decreasing score, in the image dtype. An image smaller
            than the window holds no window: empty results, not an error.

        Raises:
            NotFittedError: before :meth:`fit`. ShapeError: not a grey image.
            ValueRangeError: NaN/Inf, bad options.

        Notes:
            Windows move by one cell (``pixels_per_cell``) on each level; their HOG is read
            from the level's block grid, whose gradients on the window's border rows and
            columns see the pixels around the window (in :meth:`decision_function` a patch's
            own border gradients are 0), as in Dalal and Triggs' detector.
        """
        self._check_fitted()
        img = _grey(image, "image")
        check_range(scale_factor, "scale_factor", 1, None, low_inclusive=False)
        score_threshold = check_range(score_threshold, "score_threshold")
        nms_threshold = check_range(nms_threshold, "nms_threshold", 0, 1)
        max_detections = check_int(max_detections, "max_detections", min_value=1)
        h, w = self.window
        ch, cw = self.pixels_per_cell
        dev = img.device
        boxes = [torch.zeros(0, 4, dtype=torch.float64, device=dev)]
        scores = [torch.zeros(0, dtype=torch.float64, device=dev)]
        for _, grid, sy, sx in self._pyramid(img, scale_factor):
            s = self._score_grid(grid)  # (R, C)
            rows, cols = (s > score_threshold).nonzero().unbind(1)
            # top-left pixel of the window of top-left block (i, j) is (i ch, j cw)
            y0, x0 = (rows * ch).to(torch.float64), (cols * cw).to(torch.float64)
            b = torch.stack([x0, y0, x0 + w, y0 + h], 1)  # (K, 4) in level pixels
            boxes.append(b * torch.tensor([sx, sy, sx, sy], dtype=torch.float64, device=dev))
            scores.append(s[rows, cols])
        all_b, all_s = torch.cat(boxes), torch.cat(scores)
        keep = nms(all_b, all_s, nms_threshold)[:max_detections]
        return all_b[keep].to(img.dtype), all_s[keep].to(img.dtype)
