r"""Deformable part model (Felzenszwalb et al.): a HOG root filter and parts on springs.

A star model: a coarse root filter scores the whole window on a HOG level, and ``n`` part
filters score finer details on the level of twice the resolution, each free to move away from
its anchor at a quadratic cost. The best placement of every part for every root position comes
from one generalised distance transform (:func:`~pixlearn.features.distance_transform_generalized`)
per part. Training is latent-SVM: the placements of the parts on the positives are latent;
fixing them makes the score linear in all parameters, so one linear SVM retrains everything.
The sliding-window machinery (HOG block grids, correlation scores, hard-negative mining, NMS) is
the one of :class:`~pixlearn.features.HOGDetector`, which also trains the initial root.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor

from pixlearn._core.check import check_int, check_positive, check_range, pair
from pixlearn._core.errors import NotFittedError, ValueRangeError
from pixlearn.features.dpm_io import load_dpm, save_dpm
from pixlearn.features.dpm_score import latent_features, star_scores
from pixlearn.features.dpm_train import init_parts, latent_svm
from pixlearn.features.hog import hog_cell_histograms, hog_normalize_blocks
from pixlearn.features.hog_detector import HOGDetector, _grey, _patches
from pixlearn.ops import nms
from pixlearn.transform import resize

__all__ = ["DeformablePartModel"]


class DeformablePartModel:
    r"""Star-structured deformable part model on a HOG pyramid, trained as a latent SVM.

    Args:
        window: ``(h, w)`` of the detection window, the training patch size.
        n_parts: number of part filters (6 by default; 8 in the paper's PASCAL models).
        part_size: ``n`` or ``(h, w)`` of a part filter in HOG blocks of the part level;
            ``None`` chooses the square whose ``n_parts`` copies cover 80 % of the window at
            twice the resolution (the paper's rule).
        orientations, pixels_per_cell, cells_per_block, block_norm: the HOG, as in
            :class:`~pixlearn.features.HOGDetector` (``pixels_per_cell=None``: 4 for windows
            under 64 pixels, else 8).
        C: the SVM's inverse regularisation strength, > 0.
        min_deformation: the least quadratic deformation cost kept after each SVM fit, > 0
            (the distance transform needs a convex cost).

    Attributes:
        root_: ``(rh, rw, D)`` root filter over the window's HOG blocks (``D`` values each).
        parts_: ``(n_parts, ph, pw, D)`` part filters.
        anchors_: ``(n_parts, 2)`` int64 anchors :math:`v_i = (row, col)` in blocks of the part
            level, relative to twice the root position.
        deformation_: ``(n_parts, 4)`` costs :math:`w_i` of :math:`(dx, dy, dx^2, dy^2)`.
        intercept_: the bias :math:`b`.

    Notes:
        With :math:`\phi(H, p)` the HOG blocks under a filter placed at :math:`p` of level
        :math:`H`, :math:`H'` the level of twice the resolution and :math:`d = (dx, dy)`,

        .. math::
            s(p) = F_0 \cdot \phi(H, p) + \sum_{i=1}^{n} \max_{d}
            \big[F_i \cdot \phi(H', 2p + v_i + d) - w_i \cdot (dx, dy, dx^2, dy^2)\big] + b.

        Each inner maximum, for all :math:`p` at once, is the generalised distance transform
        of the part's response :math:`R_i = F_i \star H'` (negated, as a minimum). Given the
        placements :math:`d_i` the score is :math:`\beta \cdot \psi + b` with
        :math:`\beta = (F_0, F_1, \dots, F_n, w_1, \dots, w_n)` and
        :math:`\psi = (\phi(H, p), \phi(H', 2p + v_i + d_i)_i, -(dx, dy, dx^2, dy^2)_i)`, so
        a linear SVM on :math:`\psi` retrains every filter and spring jointly (latent SVM:
        positives at their best placements, negatives at theirs, which are their scores).

    Example:
        >>> from pixlearn.data import load_dataset
        >>> ds = load_dataset("faces", "train")
        >>> faces, others = ds.images[ds.targets == 1], ds.images[ds.targets == 0]
        >>> dpm = DeformablePartModel((25, 25), n_parts=4).fit(faces, others, rounds=1)
        >>> dpm.root_.shape, dpm.parts_.shape  # 5x5 root blocks; parts on 11x11 blocks
        (torch.Size([5, 5, 36]), torch.Size([4, 5, 5, 36]))
        >>> g = torch.Generator().manual_seed(0)
        >>> boxes, scores = dpm.detect(torch.rand(60, 80, generator=g))
        >>> boxes.shape[1], scores.dim()
        (4, 1)

    References:
        Felzenszwalb, P. F., Girshick, R. B., McAllester, D. and Ramanan, D. "Object detection
        with discriminatively trained part-based models." TPAMI 32(9), 2010.
    """

    def __init__(
        self,
        window: int | Sequence[int] = (25, 25),
        *,
        n_parts: int = 6,
        part_size: int | Sequence[int] | None = None,
        orientations: int = 9,
        pixels_per_cell: int | Sequence[int] | None = None,
        cells_per_block: int | Sequence[int] = (2, 2),
        block_norm: str = "L2-Hys",
        C: float = 1.0,
        min_deformation: float = 0.01,
    ) -> None:
        # the HOG detector checks the window and HOG options and trains the initial root
        self._hog = HOGDetector(
            window,
            orientations=orientations,
            pixels_per_cell=pixels_per_cell,
            cells_per_block=cells_per_block,
            block_norm=block_norm,
            C=C,
        )
        self.window, self.pixels_per_cell = self._hog.window, self._hog.pixels_per_cell
        self.cells_per_block = self._hog.cells_per_block
        self.orientations, self.block_norm, self.C = orientations, block_norm, self._hog.C
        self.n_parts = check_int(n_parts, "n_parts", min_value=1)
        self.min_deformation = check_positive(min_deformation, "min_deformation")
        (ch, cw), (bh, bw) = self.pixels_per_cell, self.cells_per_block
        self.root_size = self._hog._blocks  # (rh, rw) blocks
        # the window at twice the resolution, in blocks of the part level
        self.part_grid = (2 * self.window[0] // ch - bh + 1, 2 * self.window[1] // cw - bw + 1)
        if part_size is None:
            side = round(math.sqrt(0.8 * self.part_grid[0] * self.part_grid[1] / self.n_parts))
            part_size = (min(max(side, 1), self.part_grid[0]), min(max(side, 1), self.part_grid[1]))
        self.part_size = pair(part_size, "part_size")
        if self.part_size[0] > self.part_grid[0] or self.part_size[1] > self.part_grid[1]:
            raise ValueRangeError(
                f"part_size must fit the window at twice the resolution, {self.part_grid} "
                f"blocks, got {self.part_size}"
            )
        self.root_: Tensor | None = None
        self.parts_: Tensor | None = None
        self.anchors_: Tensor | None = None
        self.deformation_: Tensor | None = None
        self.intercept_: float = 0.0

    # ------------------------------------------------------------------ features
    @property
    def n_features(self) -> int:
        """Length of the stacked latent feature vector :math:`\\psi` the SVM sees."""
        d = self._depth
        (rh, rw), (ph, pw) = self.root_size, self.part_size
        return rh * rw * d + self.n_parts * (ph * pw * d + 4)

    @property
    def _depth(self) -> int:
        return self.cells_per_block[0] * self.cells_per_block[1] * self.orientations

    def _grid(self, x: Tensor) -> Tensor:
        """HOG block grid of grey images ``(..., H, W)`` -> ``(..., nbr, nbc, D)`` float64."""
        hist = hog_cell_histograms(x, self.orientations, self.pixels_per_cell)
        blocks = hog_normalize_blocks(hist, self.cells_per_block, self.block_norm)
        return blocks.flatten(-3)

    def _patch_grids(self, patches: Tensor) -> tuple[Tensor, Tensor]:
        """Root and part grids of window-sized patches ``(N, h, w)``: the patch and its 2x."""
        h, w = self.window
        if patches.shape[0] == 0:
            d = self._depth
            return patches.new_zeros(0, *self.root_size, d), patches.new_zeros(
                0, *self.part_grid, d
            )
        return self._grid(patches), self._grid(resize(patches, (2 * h, 2 * w)))

    def _levels(
        self, image: Tensor, scale_factor: float
    ) -> list[tuple[Tensor, Tensor, Tensor, float, float]]:
        """``(level, root grid, part grid, sy, sx)`` per pyramid level holding the window.

        The part level is the root level at exactly twice its size; ``(sy, sx)`` map root
        level pixels back to input pixels.
        """
        h, w = image.shape
        (ch, cw), (rh, rw) = self.pixels_per_cell, self.root_size
        out, s = [], 1.0
        while round(h / s) >= self.window[0] and round(w / s) >= self.window[1]:
            size = (round(h / s), round(w / s))
            level = image if s == 1.0 else resize(image, size)
            # root positions of windows wholly inside the level
            rows = (size[0] - self.window[0]) // ch + rh
            cols = (size[1] - self.window[1]) // cw + rw
            root = self._grid(level.double())[:rows, :cols]
            part = self._grid(resize(image, (2 * size[0], 2 * size[1])).double())
            out.append((level, root, part, h / size[0], w / size[1]))
            s *= scale_factor
        return out

    # ------------------------------------------------------------------ scoring
    def _check_fitted(self) -> None:
        if self.root_ is None:
            raise NotFittedError("DeformablePartModel must be fitted before it is used (call fit)")

    def _score_grids(self, root_grid: Tensor, part_grid: Tensor) -> tuple[Tensor, Tensor]:
        """:func:`~pixlearn.features.dpm_score.star_scores` of one ``(root, part)`` grid batch:
        ``scores`` ``(B, R, C)`` and part ``places`` ``(B, R, C, n_parts, 2)``."""
        return self._score_many([(root_grid, part_grid)])[0]

    def _score_many(self, grids: list[tuple[Tensor, Tensor]]) -> list[tuple[Tensor, Tensor]]:
        """:meth:`_score_grids` of several ``(root grid, part grid)`` batches (pyramid levels)."""
        self._check_fitted()
        assert self.root_ is not None and self.parts_ is not None
        assert self.anchors_ is not None and self.deformation_ is not None
        return star_scores(
            grids, self.root_, self.parts_, self.anchors_, self.deformation_, self.intercept_
        )

    def _psi(self, root_grid: Tensor, part_grid: Tensor, idx: Tensor, places: Tensor) -> Tensor:
        """:func:`~pixlearn.features.dpm_score.latent_features` of chosen windows."""
        assert self.anchors_ is not None
        return latent_features(
            root_grid, part_grid, idx, places, self.root_size, self.part_size, self.anchors_
        )

    def _set_params(self, beta: Tensor, intercept: float) -> None:
        """Split the SVM's weights into filters and springs (clamping the quadratic costs)."""
        (rh, rw), (ph, pw), n, d = self.root_size, self.part_size, self.n_parts, self._depth
        n0, n1 = rh * rw * d, n * ph * pw * d
        self.root_ = beta[:n0].reshape(rh, rw, d).clone()
        self.parts_ = beta[n0 : n0 + n1].reshape(n, ph, pw, d).clone()
        deform = beta[n0 + n1 :].reshape(n, 4).clone()
        deform[:, 2:] = deform[:, 2:].clamp(min=self.min_deformation)
        self.deformation_ = deform
        self.intercept_ = float(intercept)

    def _beta(self) -> Tensor:
        assert self.root_ is not None and self.parts_ is not None
        assert self.deformation_ is not None
        return torch.cat(
            [self.root_.reshape(-1), self.parts_.reshape(-1), self.deformation_.reshape(-1)]
        )

    # ------------------------------------------------------------------ training
    def fit(
        self,
        positives: Tensor,
        negatives: Tensor,
        *,
        negative_images: Sequence[Tensor] | None = None,
        rounds: int = 2,
        root_mining_rounds: int = 1,
        random_windows: int = 1000,
        max_mined: int = 1000,
        mirror: bool = True,
        scale_factor: float = 1.25,
        generator: torch.Generator | None = None,
    ) -> DeformablePartModel:
        """Train the root (HOG + SVM), place the parts, then run ``rounds`` latent-SVM rounds.

        Args:
            positives: ``(N, h, w)`` or ``(N, 1, h, w)`` object patches of the window size.
            negatives: background patches, same layout.
            negative_images: grey photos without the object, ``(H, W)`` or ``(1, H, W)``,
                mined for hard negatives (random windows first, then the highest scoring).
            rounds: latent-SVM rounds (0: the root and the initial parts only), >= 0.
            root_mining_rounds: hard-negative rounds of the root-only initial detector.
            random_windows: random windows of ``negative_images`` among the first negatives.
            max_mined: the most windows added per round, >= 1.
            mirror: add the left-right mirror image of every positive.
            scale_factor: pyramid ratio used on ``negative_images``, > 1.
            generator: randomness of the random windows.

        Returns:
            ``self``, trained.

        Raises:
            ValueRangeError: an empty ``positives`` or ``negatives``, bad counts.
            ShapeError: patches of another size, colour photos.
        """
        rounds = check_int(rounds, "rounds", min_value=0)
        # the root: a HOG detector of the window (it checks the training sets)
        self._hog.fit(
            positives,
            negatives,
            negative_images=negative_images,
            mining_rounds=root_mining_rounds,
            random_windows=random_windows,
            max_mined=max_mined,
            mirror=mirror,
            scale_factor=scale_factor,
            generator=generator,
        )
        assert self._hog.coef_ is not None
        root = self._hog.coef_.reshape(*self.root_size, self._depth)
        parts, anchors = init_parts(root, self.part_grid, self.n_parts, self.part_size)
        self.root_, self.parts_, self.anchors_ = root, parts, anchors
        # springs start stiff enough to keep parts near their anchors: 0.1 per block squared
        spring = torch.tensor([0.0, 0.0, 0.1, 0.1], dtype=torch.float64)
        self.deformation_ = spring.repeat(self.n_parts, 1)
        self.intercept_ = self._hog.intercept_
        pos = _patches(positives, "positives", self.window).to(torch.float64)
        neg = _patches(negatives, "negatives", self.window).to(torch.float64)
        if mirror:
            pos = torch.cat([pos, pos.flip(-1)])
        levels = [
            (lv, r[None], p[None])
            for i, img in enumerate(negative_images or ())
            for lv, r, p, _, _ in self._levels(_grey(img, f"negative_images[{i}]"), scale_factor)
        ]
        latent_svm(
            self,
            pos,
            neg,
            levels,
            rounds=rounds,
            random_windows=random_windows,
            max_mined=max_mined,
            generator=generator,
        )
        return self

    # ------------------------------------------------------------------ inference
    def decision_function(self, patches: Tensor) -> Tensor:
        """Scores of window-sized patches, parts at their best placements: ``(N,)`` float64.

        Args:
            patches: ``(N, h, w)`` or ``(N, 1, h, w)`` float patches of the window size.
        """
        self._check_fitted()
        x = _patches(patches, "patches", self.window).to(torch.float64)
        if x.shape[0] == 0:
            return x.new_zeros(0)
        scores, _ = self._score_grids(*self._patch_grids(x))
        return scores[:, 0, 0]

    def detect(
        self,
        image: Tensor,
        *,
        scale_factor: float = 1.2,
        score_threshold: float = 0.0,
        nms_threshold: float = 0.3,
        max_detections: int = 100,
        return_parts: bool = False,
    ) -> tuple[Tensor, Tensor] | tuple[Tensor, Tensor, Tensor]:
        """Detect objects in a grey image over a HOG pyramid.

        Args:
            image: grey ``(H, W)`` or ``(1, H, W)`` float image in [0, 1].
            scale_factor: ratio between root levels, > 1.
            score_threshold: keep windows scoring above it.
            nms_threshold: IoU above which a lower-scoring box is suppressed, in [0, 1].
            max_detections: the most boxes returned, >= 1.
            return_parts: also return the boxes of the parts of every detection.

        Returns:
            ``(boxes, scores)`` (and ``parts``): ``(K, 4)`` float ``xyxy`` root boxes in input
            pixels, their ``(K,)`` scores by decreasing score (and ``(K, n_parts, 4)`` part
            boxes), in the image dtype. An image smaller than the window gives empty results.

        Raises:
            NotFittedError: before :meth:`fit`. ShapeError: not a grey image.
            ValueRangeError: NaN/Inf, bad options.
        """
        self._check_fitted()
        img = _grey(image, "image")
        check_range(scale_factor, "scale_factor", 1, None, low_inclusive=False)
        score_threshold = check_range(score_threshold, "score_threshold")
        nms_threshold = check_range(nms_threshold, "nms_threshold", 0, 1)
        max_detections = check_int(max_detections, "max_detections", min_value=1)
        (h, w), (ch, cw), n = self.window, self.pixels_per_cell, self.n_parts
        # a part of ph x pw blocks spans (ph + bh - 1) cells of the part level (half size)
        ph = (self.part_size[0] + self.cells_per_block[0] - 1) * ch
        pw = (self.part_size[1] + self.cells_per_block[1] - 1) * cw
        f64, dev = torch.float64, img.device
        boxes, scores = [torch.zeros(0, 4, dtype=f64, device=dev)], [img.new_zeros(0, dtype=f64)]
        parts = [torch.zeros(0, n, 4, dtype=f64, device=dev)]
        levels = self._levels(img, scale_factor)
        scored = self._score_many([(root[None], part[None]) for _, root, part, _, _ in levels])
        for (_, _, _, sy, sx), (s, places) in zip(levels, scored, strict=True):
            s, places = s[0], places[0]  # (R, C), (R, C, n, 2)
            rows, cols = (s > score_threshold).nonzero().unbind(1)
            scale = torch.tensor([sx, sy, sx, sy], dtype=f64, device=dev)
            # the window of root block (i, j) starts at pixel (i ch, j cw) of its level
            y0, x0 = (rows * ch).to(f64), (cols * cw).to(f64)
            boxes.append(torch.stack([x0, y0, x0 + w, y0 + h], 1) * scale)
            scores.append(s[rows, cols])
            # part block q starts at pixel q ch of the part level, q ch / 2 of the root level
            q = places[rows, cols].to(f64)  # (K, n, 2)
            py, px = q[..., 0] * ch / 2, q[..., 1] * cw / 2
            parts.append(torch.stack([px, py, px + pw / 2, py + ph / 2], -1) * scale)
        all_b, all_s, all_p = torch.cat(boxes), torch.cat(scores), torch.cat(parts)
        keep = nms(all_b, all_s, nms_threshold)[:max_detections]
        out_b, out_s = all_b[keep].to(img.dtype), all_s[keep].to(img.dtype)
        if return_parts:
            return out_b, out_s, all_p[keep].to(img.dtype)
        return out_b, out_s

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> None:
        """Write the fitted model to an ``.npz`` file (options as JSON, filters as arrays)."""
        self._check_fitted()
        save_dpm(self, path)

    @classmethod
    def load(cls, path: str | Path) -> DeformablePartModel:
        """Read a model written by :meth:`save`.

        Raises:
            DataFormatError: a file that is not a saved model (the message names it).
        """
        return load_dpm(cls, path)
