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
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from pixlearn._core.check import check_choice, check_int, check_range, pair
from pixlearn._core.errors import DataFormatError, ShapeError, ValueRangeError
from pixlearn.features._vj_lookups import cached_lookups, signed_area, stage_margin
from pixlearn.features._vj_pyramid import resize_levels
from pixlearn.features._vj_scan import scan_level, scan_levels
from pixlearn.features.haar import _corner_table
from pixlearn.features.hog_detector import _grey
from pixlearn.features.integral import integral_image
from pixlearn.features.viola_jones_train import (
    augment_faces,
    fit_cascade,
    group_windows,
    patches_of_window,
)

__all__ = ["ViolaJones"]

_EPS_STD = 1e-3  # floor of a window's standard deviation (flat windows)


def _as_numpy(level: Tensor) -> np.ndarray:
    """A pyramid level as a float64 NumPy array on the CPU (the scan's input), converted by
    NumPy where it can (one thread: no waiting on torch's pool when the cores are busy)."""
    level = level.detach().cpu()
    if level.dtype in (torch.float16, torch.float32, torch.float64):
        return level.numpy().astype(np.float64)  # exact: every value is a float64
    return level.to(torch.float64).numpy()


class ViolaJones:
    r"""A boosted cascade of Haar-feature decision stumps (Viola and Jones' face detector).

    Args:
        window: ``(h, w)`` of the detection window, the training patch size (25x25 for
            :func:`pixlearn.data.faces`).
        n_stages: the most cascade stages.
        max_stage_features: the most stumps in one stage, or one cap per stage (the last
            repeats), e.g. the paper's growing ``(2, 10, 25, 25, 50)``.
        stage_detection_rate: ``d``, each stage keeps at least this fraction of the training
            faces (its threshold is lowered until it does).
        stage_false_positive_rate: ``f``, a stage stops adding stumps once it passes at most
            this fraction of its negatives.
        n_features: Haar features sampled (without replacement, once per fit) out of all
            ``haar_like_feature_coords(w, h)`` as candidates for every stump: the full set of a
            25x25 window has about 180k features, too many to search exhaustively on a CPU in
            seconds; a few thousand random ones lose little.
        threshold_slack: each stage threshold is lowered by this fraction of the stage's total
            vote below the one that keeps ``stage_detection_rate`` of the training faces (a
            margin for unseen faces; the stage then needs more stumps to meet its
            false-positive target).
        feature_type: restrict the candidates to these types (default all five).
        boosting: ``"discrete"`` (Viola and Jones' AdaBoost) or ``"gentle"`` (Gentle
            AdaBoost's least-squares stumps, OpenCV's default); the stages have one form.

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
        max_stage_features: int | Sequence[int] = 50,
        stage_detection_rate: float = 0.995,
        stage_false_positive_rate: float = 0.5,
        n_features: int = 4000,
        threshold_slack: float = 0.0,
        feature_type: str | Sequence[str] | None = None,
        boosting: str = "discrete",
    ) -> None:
        self.window = pair(window, "window")
        self.n_stages = check_int(n_stages, "n_stages", min_value=1)
        if isinstance(max_stage_features, int):
            check_int(max_stage_features, "max_stage_features", min_value=1)
        else:
            max_stage_features = tuple(max_stage_features)
            if not max_stage_features:
                raise ValueRangeError("max_stage_features must not be an empty sequence")
            for v in max_stage_features:
                check_int(v, "max_stage_features", min_value=1)
        self.max_stage_features: int | tuple[int, ...] = max_stage_features
        self.stage_detection_rate = check_range(
            stage_detection_rate, "stage_detection_rate", 0, 1, low_inclusive=False
        )
        self.stage_false_positive_rate = check_range(
            stage_false_positive_rate, "stage_false_positive_rate", 0, 1, low_inclusive=False
        )
        self.n_features = check_int(n_features, "n_features", min_value=1)
        self.threshold_slack = check_range(threshold_slack, "threshold_slack", 0, 1)
        self.feature_type = feature_type
        self.boosting = check_choice(boosting, "boosting", ("discrete", "gentle"))
        # one dict per stage: coords (k, 4, 4) int64, polarity (k,), threshold (k,), alpha (k,),
        # stage_threshold float
        self.stages: list[dict[str, Any]] = []
        # per stage of the last fit: positives, negatives, stumps and the training rates
        self.history: list[dict[str, float]] = []
        # the stages prepared for scanning, rebuilt when they change (_vj_lookups)
        self._lookup_cache: Any = None

    # ------------------------------------------------------------------ features
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
        out = (raw - mean[:, None] * signed_area(coords)[None]) / std[:, None]
        return out.to(torch.float32)

    def fit(
        self,
        faces: Tensor,
        non_faces: Tensor,
        *,
        negative_images: Sequence[Tensor] = (),
        augment: bool = True,
        max_negatives: int = 2000,
        min_negatives: int = 1,
        generator: torch.Generator | None = None,
    ) -> ViolaJones:
        r"""Train the cascade.

        Args:
            faces: ``(N, h, w)`` or ``(N, 1, h, w)`` face patches of the window size, float.
            non_faces: non-face patches, same layout.
            negative_images: grey photos without faces ``(H, W)`` or ``(1, H, W)``; the first
                stage gets random windows of them, every later stage windows that the cascade
                so far still accepts (bootstrapping), up to ``max_negatives`` in all.
            augment: add mirror images, one-pixel shifts and +-8 % zooms of the faces (30
                variants per face, :func:`~pixlearn.features.viola_jones_train.augment_faces`).
            max_negatives: the most negatives per stage.
            min_negatives: after the first stage, stop adding stages once fewer negatives than
                this are left (the photos no longer yield enough false positives).
            generator: randomness of the feature sampling and of the mining.

        Returns:
            ``self``, trained; ``self.history`` holds each stage's training rates.

        Raises:
            ShapeError / ValueRangeError: an empty set, patches of another size.

        Notes:
            Stage :math:`s` is :math:`H_s(x) = [\sum_t \alpha_t h_t(x) \ge \theta_s]` with
            stumps :math:`h_t(x) = [p_t f_t(x) < p_t \tau_t]`, :math:`\alpha_t = \log
            ((1 - e_t) / e_t)` from the weighted error :math:`e_t`; :math:`\theta_s` is lowered
            so that :math:`H_s` keeps a fraction ``stage_detection_rate`` of the faces. The
            cascade's rates multiply: :math:`D = \prod d_s`, :math:`F = \prod f_s`.
        """
        pos = patches_of_window(faces, "faces", self.window)
        neg = patches_of_window(non_faces, "non_faces", self.window)
        max_negatives = check_int(max_negatives, "max_negatives", min_value=1)
        min_negatives = check_int(min_negatives, "min_negatives", min_value=1)
        fit_cascade(
            self,
            augment_faces(pos) if augment else pos,
            neg,
            negative_images=[_grey(im, "negative_images") for im in negative_images],
            max_negatives=max_negatives,
            min_negatives=min_negatives,
            generator=generator,
        )
        return self

    @classmethod
    def pretrained(cls) -> ViolaJones:
        """The bundled frontal-face cascade (25x25 window), like OpenCV's haarcascade files.

        Trained by ``benchmarks/train_face_cascade.py`` (seeded, a few minutes on one core) on
        the 80 LFW train/val face patches (30 augmented variants each) against the LFW
        non-faces and windows bootstrapped from 18 face-free sample photos: 10 stages, 448
        stumps, stopped once the photos yielded fewer than 1500 false positives. On held-out
        data (LFW test split, 4 other photos) it detects 19 of 20 faces with no false positive
        among the 20 LFW non-faces or 4000 random windows of those photos.

        Example:
            >>> vj = ViolaJones.pretrained()
            >>> vj.window, len(vj.stages) > 5
            ((25, 25), True)
        """
        ref = resources.files("pixlearn.features") / "data" / "face_cascade.json"
        with resources.as_file(ref) as path:
            return cls.load(path)

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
        x = patches_of_window(patches, "patches", self.window)
        margin = torch.full((x.shape[0],), math.inf, dtype=torch.float64)
        for st in self.stages:
            f = self._normalised_features(x, st["coords"]).to(torch.float64)  # (N, k)
            margin = torch.minimum(margin, stage_margin(f, st))
        return margin

    def predict(self, patches: Tensor) -> Tensor:
        """``(N,)`` bool: True where the whole cascade accepts the patch (a face)."""
        return self.decision_function(patches) >= 0

    def _accepts_last(self, patches: Tensor) -> Tensor:
        """``(N,)`` bool: the last stage alone accepts the patch (training bookkeeping)."""
        st = self.stages[-1]
        f = self._normalised_features(patches, st["coords"]).to(torch.float64)  # (N, k)
        return stage_margin(f, st) >= 0

    def _levels(
        self, image: Tensor, scale_factor: float, *, start: float = 1.0
    ) -> list[tuple[Tensor, float]]:
        """The image pyramid: ``(level, scale)`` from scale ``start`` while the window fits."""
        h, w = image.shape[-2:]
        scales, s = [], start
        while round(h / s) >= self.window[0] and round(w / s) >= self.window[1]:
            scales.append(s)
            s *= scale_factor
        sizes = [(round(h / s), round(w / s)) for s in scales if s != 1.0]
        levels = iter(resize_levels(image, sizes))  # one pass over the pyramid
        return [(image if s == 1.0 else next(levels), s) for s in scales]

    def detect(
        self,
        image: Tensor,
        *,
        scale_factor: float = 1.25,
        step: int = 2,
        min_neighbors: int = 3,
        eps: float = 0.2,
    ) -> tuple[Tensor, Tensor]:
        """Find faces in a grey image: sliding windows over a pyramid, then OpenCV's grouping.

        Args:
            image: grey image ``(H, W)`` or ``(1, H, W)``, float in [0, 1], at least the
                window size.
            scale_factor: ratio between pyramid levels, > 1 (OpenCV's default is 1.1; the
                bundled cascade, trained on 25x25 patches of only 80 faces, fires at fewer
                positions per face, and at 1.1 it also groups more chance windows on
                astronaut: 6 false detections there against 1 at 1.25; see the notes).
            step: window stride in pixels of each level.
            min_neighbors: a detection is a group of more than this many similar raw windows
                (OpenCV's ``minNeighbors``; 0 returns the raw windows).
            eps: similarity tolerance of the grouping
                (:func:`~pixlearn.features.viola_jones_train.group_windows`).

        Returns:
            ``(boxes, scores)``: ``(M, 4)`` float ``xyxy`` boxes in image pixels and ``(M,)``
            scores (the number of raw windows in the group plus their mean margin), sorted by
            decreasing score.

        Notes:
            Defaults checked on real photos of people never used in training
            (``train_face_cascade.py --validate``): Grace Hopper's face is found, with one
            false detection on the cameraman (none with ``min_neighbors=4``, which would also
            drop the astronaut's face, a group of 4, so the default stays OpenCV's 3) and 21
            on a cluttered card-table photo, where OpenCV's cascade makes 3: trained on 80
            faces, the bundled cascade is a teaching detector, not OpenCV's.

        Example:
            >>> vj = ViolaJones.pretrained()
            >>> boxes, scores = vj.detect(torch.rand(60, 80))
            >>> boxes.shape[1], scores.dtype
            (4, torch.float32)
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
        check_range(eps, "eps", 0, None)
        levels = [level for level, _ in self._levels(img, scale_factor)]
        grey = [_as_numpy(level) for level in levels]
        found = scan_levels(grey, self.window, step, cached_lookups(self), _EPS_STD)
        boxes, scores = [], []
        for level, (b, s) in zip(levels, found, strict=True):
            sy, sx = img.shape[0] / level.shape[0], img.shape[1] / level.shape[1]
            boxes.append(torch.from_numpy(b * np.array([sx, sy, sx, sy])))  # input pixels
            scores.append(torch.from_numpy(s))
        gb, gs = group_windows(torch.cat(boxes), torch.cat(scores), min_neighbors, eps=eps)
        order = gs.argsort(descending=True)
        return gb[order].to(img.dtype), gs[order].to(img.dtype)

    def _scan(self, level: Tensor, step: int) -> tuple[Tensor, Tensor]:
        """Raw windows accepted by the cascade on one level: boxes ``(P, 4)`` and margins."""
        boxes, margin = scan_level(
            _as_numpy(level), self.window, step, cached_lookups(self), _EPS_STD
        )
        return torch.from_numpy(boxes), torch.from_numpy(margin)

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
