"""The Viola-Jones detector: AdaBoost over Haar-feature stumps in an attentional cascade.

Three ideas make it fast (the syllabus' "three key building blocks"): features read from an
integral image in a few look-ups (:mod:`pixlearn.features.integral`), AdaBoost that picks a few
discriminative Haar features out of thousands (each weak learner is a decision stump on one
feature), and a cascade of boosted stages in which most windows are rejected by the first, cheap
stages. Every window is variance-normalised (zero mean, unit standard deviation) before its
features are read, from the integral images of the pixels and of their squares.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_int, check_range, pair
from pixlearn._core.errors import DataFormatError, ShapeError, ValueRangeError
from pixlearn.features.adaboost import boosted_stage
from pixlearn.features.haar import _corner_table, haar_like_feature_coords
from pixlearn.features.integral import integral_image
from pixlearn.ops import box_iou, nms
from pixlearn.transform import resize

__all__ = ["ViolaJones"]

_EPS_STD = 1e-3  # floor of a window's standard deviation (flat windows)


def _patches(x: Any, name: str, window: tuple[int, int]) -> Tensor:
    """``(N, H, W)`` or ``(N, 1, H, W)`` floating patches of the window size, as float64."""
    check_image(x, name, min_dims=3, max_dims=4, floating=True, allow_empty=False)
    if x.dim() == 4:
        if x.shape[1] != 1:
            raise ShapeError(f"{name} must be grey patches (N, 1, H, W), got {tuple(x.shape)}")
        x = x[:, 0]
    if tuple(x.shape[-2:]) != window:
        raise ShapeError(f"{name} must be {window[0]}x{window[1]} patches, got {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueRangeError(f"{name} must hold at least one patch, got an empty set")
    return x.to(torch.float64)


class ViolaJones:
    r"""A boosted cascade of Haar-feature decision stumps (Viola and Jones' face detector).

    Args:
        window: ``(h, w)`` of the detection window, the training patch size (25x25 for
            :func:`pixlearn.data.faces`).
        n_stages: the most cascade stages.
        max_stage_features: the most stumps in one stage.
        stage_detection_rate: ``d``, each stage keeps at least this fraction of the training
            faces (its threshold is lowered until it does).
        stage_false_positive_rate: ``f``, a stage stops adding stumps once it passes at most
            this fraction of its negatives.
        n_features: Haar features sampled (without replacement, once per fit) out of all
            ``haar_like_feature_coords(w, h)`` as candidates for every stump: the full set of a
            25x25 window has about 180k features, too many to search exhaustively on a CPU in
            seconds; a few thousand random ones lose little.
        feature_type: restrict the candidates to these types (default all five).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> faces = torch.rand(40, 8, 8, generator=g) * 0.2
        >>> faces[:, 2:4] += 0.6  # a bright band
        >>> other = torch.rand(40, 8, 8, generator=g)
        >>> vj = ViolaJones((8, 8), n_stages=2, n_features=300).fit(faces, other, generator=g)
        >>> bool(vj.predict(faces).float().mean() > 0.9)
        True

    References:
        Viola, P., Jones, M. "Rapid object detection using a boosted cascade of simple
        features." CVPR 2001. Viola, P., Jones, M. "Robust real-time face detection."
        IJCV 57(2), 2004.
    """

    def __init__(
        self,
        window: int | Sequence[int] = (25, 25),
        *,
        n_stages: int = 10,
        max_stage_features: int = 50,
        stage_detection_rate: float = 0.995,
        stage_false_positive_rate: float = 0.5,
        n_features: int = 4000,
        feature_type: str | Sequence[str] | None = None,
    ) -> None:
        self.window = pair(window, "window")
        self.n_stages = check_int(n_stages, "n_stages", min_value=1)
        self.max_stage_features = check_int(max_stage_features, "max_stage_features", min_value=1)
        self.stage_detection_rate = check_range(
            stage_detection_rate, "stage_detection_rate", 0, 1, low_inclusive=False
        )
        self.stage_false_positive_rate = check_range(
            stage_false_positive_rate, "stage_false_positive_rate", 0, 1, low_inclusive=False
        )
        self.n_features = check_int(n_features, "n_features", min_value=1)
        self.feature_type = feature_type
        # one dict per stage: coords (k, 4, 4) int64, polarity (k,), threshold (k,), alpha (k,),
        # stage_threshold float
        self.stages: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ features
    def _signed_area(self, coords: Tensor) -> Tensor:
        """``sum_k sign_k |R_k|`` per feature, the response to a constant window of value 1."""
        x1, y1, x2, y2 = coords.to(torch.float64).unbind(-1)  # (F, 4)
        sign = torch.tensor([-1.0, 1.0, -1.0, 1.0], dtype=torch.float64)
        return ((x2 - x1) * (y2 - y1) * sign).sum(-1)  # (F,)

    def _normalised_features(self, patches: Tensor, coords: Tensor) -> Tensor:
        """Features of variance-normalised patches ``(N, h, w)``: ``(N, F)`` float32."""
        w = self.window[1]
        ii = integral_image(patches).reshape(patches.shape[0], -1)  # (N, (h+1)(w+1))
        mean = patches.mean((-2, -1))  # (N,)
        std = patches.std((-2, -1), unbiased=False).clamp_min(_EPS_STD)  # (N,)
        offsets, coef = _corner_table(coords, w + 1)  # (F, 16)
        # the features are linear in ii: a sparse (F, (h+1)(w+1)) matrix applied to all patches
        rows = torch.arange(coords.shape[0]).repeat_interleave(16)
        mat = torch.sparse_coo_tensor(  # check_invariants: indices are in range by construction
            torch.stack([rows, offsets.reshape(-1)]),
            coef.reshape(-1).to(torch.float64),
            (coords.shape[0], ii.shape[1]),
            check_invariants=False,
        ).coalesce()
        raw = torch.sparse.mm(mat, ii.T).T  # (N, F)
        # f((I - m) / s) = (f(I) - m * A_f) / s with A_f the signed area of the feature
        out = (raw - mean[:, None] * self._signed_area(coords)[None]) / std[:, None]
        return out.to(torch.float32)

    def fit(
        self,
        faces: Tensor,
        non_faces: Tensor,
        *,
        negative_images: Sequence[Tensor] = (),
        augment: bool = True,
        max_negatives: int = 2000,
        generator: torch.Generator | None = None,
    ) -> ViolaJones:
        r"""Train the cascade.

        Args:
            faces: ``(N, h, w)`` or ``(N, 1, h, w)`` face patches of the window size, float.
            non_faces: non-face patches, same layout.
            negative_images: grey photos without faces ``(H, W)`` or ``(1, H, W)``; before
                every stage, windows the cascade so far still accepts are mined from them
                (bootstrapping) and added to the negatives.
            augment: add the mirror images of the faces and their shifts by one pixel in
                each direction (edge pixels replicated): 18 variants per face.
            max_negatives: the most negatives per stage (mined windows are sampled).
            generator: randomness of the feature sampling and of the mining.

        Returns:
            ``self``, trained.

        Raises:
            ShapeError / ValueRangeError: an empty set, patches of another size.

        Notes:
            Stage :math:`s` is :math:`H_s(x) = [\sum_t \alpha_t h_t(x) \ge \theta_s]` with
            stumps :math:`h_t(x) = [p_t f_t(x) < p_t \tau_t]`, :math:`\alpha_t = \log
            ((1 - e_t) / e_t)` from the weighted error :math:`e_t`; :math:`\theta_s` is lowered
            so that :math:`H_s` keeps a fraction ``stage_detection_rate`` of the faces. The
            cascade's rates multiply: :math:`D = \prod d_s`, :math:`F = \prod f_s`.
        """
        pos = _patches(faces, "faces", self.window)
        neg = _patches(non_faces, "non_faces", self.window)
        max_negatives = check_int(max_negatives, "max_negatives", min_value=1)
        if augment:
            pos = _augment(pos)
        all_coords, _ = haar_like_feature_coords(self.window[1], self.window[0], self.feature_type)
        n = min(self.n_features, all_coords.shape[0])
        pick = torch.randperm(all_coords.shape[0], generator=generator)[:n]
        coords = all_coords[pick.sort().values]  # (F, 4, 4)
        pos_feats = self._normalised_features(pos, coords)
        negatives = neg
        self.stages = []
        for _ in range(self.n_stages):
            if negative_images:
                mined = self._mine(negative_images, max_negatives, generator)
                negatives = torch.cat([negatives, mined]) if mined.numel() else negatives
            if negatives.shape[0] > max_negatives:
                keep = torch.randperm(negatives.shape[0], generator=generator)[:max_negatives]
                negatives = negatives[keep]
            if negatives.shape[0] == 0:
                break
            feats = torch.cat([pos_feats, self._normalised_features(negatives, coords)])
            labels = torch.cat([torch.ones(pos.shape[0]), torch.zeros(negatives.shape[0])])
            stage = boosted_stage(
                feats,
                labels.to(torch.int64),
                max_features=self.max_stage_features,
                detection_rate=self.stage_detection_rate,
                false_positive_rate=self.stage_false_positive_rate,
            )
            stage["coords"] = coords[stage.pop("feature")].clone()
            self.stages.append(stage)
            # the next stage sees only the negatives this cascade still accepts
            negatives = negatives[self.predict(negatives)]
            pos_keep = self.predict(pos)
            pos, pos_feats = pos[pos_keep], pos_feats[pos_keep]
        return self

    def _mine(self, images: Sequence[Tensor], n: int, generator: torch.Generator | None) -> Tensor:
        """Up to ``n`` windows of the negative photos that the current cascade accepts."""
        found = []
        h, w = self.window
        for img in images:
            for level, _ in self._levels(_grey(img, "negative_images"), 1.25):
                if self.stages:
                    # only windows the cascade so far accepts are hard negatives
                    boxes, _ = self._scan(level, 3)
                    xx, yy = boxes[:, 0].long(), boxes[:, 1].long()
                else:
                    ys = torch.arange(0, level.shape[0] - h + 1, 6)
                    xs = torch.arange(0, level.shape[1] - w + 1, 6)
                    yy, xx = (t.reshape(-1) for t in torch.meshgrid(ys, xs, indexing="ij"))
                wins = level.unfold(0, h, 1).unfold(1, w, 1)[yy, xx]  # (P, h, w)
                found.append(wins.to(torch.float64))
        allw = torch.cat(found) if found else torch.zeros(0, *self.window, dtype=torch.float64)
        if allw.shape[0] > n:
            allw = allw[torch.randperm(allw.shape[0], generator=generator)[:n]]
        return allw

    # ------------------------------------------------------------------ inference
    def _check_fitted(self) -> None:
        if not self.stages:
            raise ValueRangeError("ViolaJones must be fitted (or loaded) before it is used")

    def decision_function(self, patches: Tensor) -> Tensor:
        """The cascade margin of each patch: ``>= 0`` exactly when every stage accepts it.

        Args:
            patches: ``(N, h, w)`` or ``(N, 1, h, w)`` float patches of the window size.

        Returns:
            ``(N,)`` float64: the smallest over stages of
            ``(sum_t alpha_t h_t(x) - theta_s) / sum_t alpha_t``.
        """
        self._check_fitted()
        x = _patches(patches, "patches", self.window)
        margin = torch.full((x.shape[0],), math.inf, dtype=torch.float64)
        for st in self.stages:
            f = self._normalised_features(x, st["coords"]).to(torch.float64)  # (N, k)
            margin = torch.minimum(margin, self._stage_margin(f, st))
        return margin

    @staticmethod
    def _stage_margin(f: Tensor, st: dict[str, Any]) -> Tensor:
        h = (st["polarity"] * f < st["polarity"] * st["threshold"]).to(torch.float64)  # (N, k)
        return (h @ st["alpha"] - st["stage_threshold"]) / st["alpha"].sum()

    def predict(self, patches: Tensor) -> Tensor:
        """``(N,)`` bool: True where the whole cascade accepts the patch (a face)."""
        return self.decision_function(patches) >= 0

    def _levels(self, image: Tensor, scale_factor: float) -> list[tuple[Tensor, float]]:
        """The image pyramid: ``(level, scale)`` while the window still fits."""
        h, w = image.shape[-2:]
        out, s = [], 1.0
        while round(h / s) >= self.window[0] and round(w / s) >= self.window[1]:
            size = (round(h / s), round(w / s))
            out.append((image if s == 1.0 else resize(image, size), s))
            s *= scale_factor
        return out

    def detect(
        self,
        image: Tensor,
        *,
        scale_factor: float = 1.25,
        step: int = 2,
        min_neighbors: int = 3,
        iou_threshold: float = 0.3,
    ) -> tuple[Tensor, Tensor]:
        """Find faces in a grey image: sliding windows over a pyramid, grouping, NMS.

        Args:
            image: grey image ``(H, W)`` or ``(1, H, W)``, float in [0, 1], at least the
                window size.
            scale_factor: ratio between pyramid levels, > 1.
            step: window stride in pixels of each level.
            min_neighbors: a detection needs more than this many overlapping raw windows
                (OpenCV's rule; 0 keeps every raw window).
            iou_threshold: of the final NMS between groups.

        Returns:
            ``(boxes, scores)``: ``(M, 4)`` float ``xyxy`` boxes in image pixels and ``(M,)``
            scores (the number of raw windows in the group plus their mean margin), sorted by
            decreasing score.
        """
        self._check_fitted()
        img = _grey(image, "image")
        if img.shape[0] < self.window[0] or img.shape[1] < self.window[1]:
            raise ShapeError(
                f"image must be at least the {self.window[0]}x{self.window[1]} window, "
                f"got {tuple(img.shape)}"
            )
        check_range(scale_factor, "scale_factor", 1, None, low_inclusive=False)
        step = check_int(step, "step", min_value=1)
        min_neighbors = check_int(min_neighbors, "min_neighbors", min_value=0)
        boxes, scores = [], []
        for level, _ in self._levels(img, scale_factor):
            b, s = self._scan(level, step)
            sy, sx = img.shape[0] / level.shape[0], img.shape[1] / level.shape[1]
            boxes.append(b * torch.tensor([sx, sy, sx, sy], dtype=torch.float64))
            scores.append(s)
        raw_b, raw_s = torch.cat(boxes), torch.cat(scores)
        gb, gs = _group(raw_b, raw_s, min_neighbors)
        keep = nms(gb, gs, iou_threshold)
        return gb[keep].to(img.dtype), gs[keep].to(img.dtype)

    def _scan(self, level: Tensor, step: int) -> tuple[Tensor, Tensor]:
        """Raw windows accepted by the cascade on one level: boxes ``(P, 4)`` and margins."""
        h, w = self.window
        lv = level.to(torch.float64)
        stride = lv.shape[1] + 1
        ii = integral_image(lv).reshape(-1)  # ((H+1)(W+1),)
        ii2 = integral_image(lv * lv).reshape(-1)
        ys = torch.arange(0, lv.shape[0] - h + 1, step)
        xs = torch.arange(0, lv.shape[1] - w + 1, step)
        yy, xx = torch.meshgrid(ys, xs, indexing="ij")
        yy, xx = yy.reshape(-1), xx.reshape(-1)  # (P,)
        base = yy * stride + xx  # table index of each window's top-left corner
        corners = torch.stack([base + h * stride + w, base + w, base + h * stride, base], -1)
        sgn = torch.tensor([1.0, -1.0, -1.0, 1.0], dtype=torch.float64)
        # window mean and std from the two tables: var = E[I^2] - E[I]^2
        mean = (ii[corners] * sgn).sum(-1) / (h * w)
        var = (ii2[corners] * sgn).sum(-1) / (h * w) - mean**2
        std = var.clamp_min(0).sqrt().clamp_min(_EPS_STD)
        margin = torch.full_like(mean, math.inf)
        for st in self.stages:
            offsets, coef = _corner_table(st["coords"], stride)  # (k, 16)
            raw = (ii[base[:, None, None] + offsets] * coef.to(torch.float64)).sum(-1)  # (P, k)
            f = (raw - mean[:, None] * self._signed_area(st["coords"])) / std[:, None]
            m = self._stage_margin(f.to(torch.float32).to(torch.float64), st)
            ok = m >= 0
            base, mean, std = base[ok], mean[ok], std[ok]
            yy, xx, margin = yy[ok], xx[ok], torch.minimum(margin[ok], m[ok])
        boxes = torch.stack([xx, yy, xx + w, yy + h], -1).to(torch.float64)  # (P, 4)
        return boxes, margin

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> None:
        """Write the trained cascade as JSON (window, options, stages) to ``path``."""
        self._check_fitted()
        data = {
            "format": "pixlearn.ViolaJones/1",
            "window": list(self.window),
            "stages": [
                {
                    "coords": st["coords"].tolist(),
                    "threshold": st["threshold"].tolist(),
                    "polarity": st["polarity"].tolist(),
                    "alpha": st["alpha"].tolist(),
                    "stage_threshold": st["stage_threshold"],
                }
                for st in self.stages
            ],
        }
        Path(path).write_text(json.dumps(data))

    @classmethod
    def load(cls, path: str | Path) -> ViolaJones:
        """Read a cascade written by :meth:`save`; a malformed file raises
        :class:`~pixlearn._core.errors.DataFormatError` naming ``path``."""
        try:
            data = json.loads(Path(path).read_text())
            if data.get("format") != "pixlearn.ViolaJones/1":
                raise KeyError("format")
            vj = cls(tuple(data["window"]))
            for st in data["stages"]:
                k = len(st["alpha"])
                coords = torch.tensor(st["coords"], dtype=torch.int64).reshape(k, 4, 4)
                vj.stages.append(
                    {
                        "coords": coords,
                        "threshold": torch.tensor(st["threshold"], dtype=torch.float64),
                        "polarity": torch.tensor(st["polarity"], dtype=torch.float64),
                        "alpha": torch.tensor(st["alpha"], dtype=torch.float64),
                        "stage_threshold": float(st["stage_threshold"]),
                    }
                )
                if any(vj.stages[-1][key].shape != (k,) for key in ("threshold", "polarity")):
                    raise ValueError("stage arrays of different lengths")
        except (OSError, UnicodeDecodeError) as e:
            raise DataFormatError(f"{str(path)!r}: cannot read a ViolaJones cascade: {e}") from e
        except (ValueError, KeyError, TypeError, AttributeError, RuntimeError) as e:
            raise DataFormatError(
                f"{str(path)!r}: not a valid ViolaJones cascade file ({type(e).__name__}: {e})"
            ) from e
        if not vj.stages:
            raise DataFormatError(f"{str(path)!r}: the cascade has no stages")
        return vj


def _grey(image: Any, name: str) -> Tensor:
    check_image(image, name, min_dims=2, max_dims=3, floating=True)
    if image.dim() == 3:
        if image.shape[0] != 1:
            raise ShapeError(f"{name} must be grey, (H, W) or (1, H, W), got {tuple(image.shape)}")
        image = image[0]
    return image


def _augment(pos: Tensor) -> Tensor:
    """Faces, their mirror images, and one-pixel shifts of both (edges replicated)."""
    both = torch.cat([pos, pos.flip(-1)])  # (2N, h, w)
    h, w = pos.shape[-2:]
    pad = torch.nn.functional.pad(both[:, None], (1, 1, 1, 1), mode="replicate")[:, 0]
    out = [
        pad[:, 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy in (-1, 0, 1) for dx in (-1, 0, 1)
    ]
    return torch.cat(out)


def _group(boxes: Tensor, scores: Tensor, min_neighbors: int) -> tuple[Tensor, Tensor]:
    """Merge overlapping raw windows (IoU > 0.4, transitively); keep groups > min_neighbors."""
    if boxes.shape[0] == 0:
        return boxes, scores
    from scipy.sparse.csgraph import connected_components

    adj = (box_iou(boxes, boxes) > 0.4).numpy()
    n_groups, lab = connected_components(adj, directed=False)
    lab_t = torch.from_numpy(lab).to(torch.int64)
    counts = torch.bincount(lab_t, minlength=n_groups).to(torch.float64)  # (G,)
    sums = torch.zeros(n_groups, 4, dtype=torch.float64).index_add_(0, lab_t, boxes)
    msum = torch.zeros(n_groups, dtype=torch.float64).index_add_(0, lab_t, scores)
    keep = counts > min_neighbors
    gb = sums[keep] / counts[keep, None]
    gs = counts[keep] + msum[keep] / counts[keep]
    return gb, gs
