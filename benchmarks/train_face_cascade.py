"""Train the bundled face cascade, ``src/pixlearn/features/data/face_cascade.json`` (seeded).

Positives: the LFW train and val face patches (``load_dataset("faces", ...)``), augmented with
mirror images, one-pixel shifts and +-8 % zooms. Negatives: the LFW non-faces of the same
splits and windows of face-free scikit-image sample photos, random for the first stage and
bootstrapped (windows the cascade so far accepts) for every later one. The photos in
``HELD_OUT_PHOTOS`` and the LFW test split are never seen; ``evaluate`` reports the rates on them.

Run as ``python benchmarks/train_face_cascade.py [--out PATH]`` (a few minutes on one core);
the same seed gives the same file.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from pixlearn.data import load_dataset, sample
from pixlearn.features import ViolaJones
from pixlearn.features.viola_jones_train import random_windows
from pixlearn.transform import resize

#: face-free photos the negatives are mined from (camera and astronaut show people; the two
#: motorcycle views are near duplicates, so neither is used)
TRAIN_PHOTOS = (
    "brick", "grass", "gravel", "coins", "moon", "text", "page", "hubble_deep_field", "horse",
    "chelsea", "cell", "colorwheel", "logo", "retina", "shepp_logan_phantom", "microaneurysms",
    "checkerboard", "motorcycle_left",
)  # fmt: skip
#: face-free photos kept for the held-out false-positive rate
HELD_OUT_PHOTOS = ("coffee", "rocket", "immunohistochemistry", "clock")

CONFIG: dict = {
    "seed": 0,
    "n_stages": 16,
    "max_stage_features": (8, 15, 25, 30, 40, 50, 60, 80, 100),
    "stage_detection_rate": 0.9995,
    "stage_false_positive_rate": 0.4,
    "threshold_slack": 0.0,
    "n_features": 3000,
    "max_negatives": 3000,
    # stop once the training photos yield fewer than half a pool of false positives
    "min_negatives": 1500,
    "max_side": 640,
}


def photo(name: str, max_side: int = 640) -> torch.Tensor:
    """A sample photo as grey ``(H, W)`` float32 (mean of its colour channels), longer side
    shrunk to at most ``max_side``."""
    img = sample(name)
    grey = img[:3].mean(0) if img.shape[0] >= 3 else img[0]
    h, w = grey.shape
    s = max(h, w) / max_side
    return resize(grey, (round(h / s), round(w / s))) if s > 1 else grey


def lfw(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(faces, non_faces)`` grey ``(N, 25, 25)`` patches of one LFW split."""
    ds = load_dataset("faces", split)
    return ds.images[ds.targets == 1][:, 0], ds.images[ds.targets == 0][:, 0]


def train(config: dict = CONFIG, photos: tuple[str, ...] = TRAIN_PHOTOS) -> ViolaJones:
    """The cascade of ``config`` trained on LFW train + val and on ``photos``."""
    g = torch.Generator().manual_seed(config["seed"])
    tr, va = lfw("train"), lfw("val")
    faces, others = torch.cat([tr[0], va[0]]), torch.cat([tr[1], va[1]])
    vj = ViolaJones(
        (25, 25),
        n_stages=config["n_stages"],
        max_stage_features=config["max_stage_features"],
        stage_detection_rate=config["stage_detection_rate"],
        stage_false_positive_rate=config["stage_false_positive_rate"],
        n_features=config["n_features"],
        threshold_slack=config["threshold_slack"],
    )
    images = [photo(n, config["max_side"]) for n in photos]
    return vj.fit(
        faces,
        others,
        negative_images=images,
        max_negatives=config["max_negatives"],
        min_negatives=config["min_negatives"],
        generator=g,
    )


def evaluate(vj: ViolaJones, n_windows: int = 4000) -> dict[str, float]:
    """Held-out rates: LFW test faces / non-faces, random windows of ``HELD_OUT_PHOTOS``."""
    faces, others = lfw("test")
    g = torch.Generator().manual_seed(1234)
    wins = random_windows([photo(n) for n in HELD_OUT_PHOTOS], n_windows, vj.window, generator=g)
    return {
        "detection_rate": float(vj.predict(faces).double().mean()),
        "fp_lfw_non_faces": float(vj.predict(others).double().mean()),
        "fp_held_out_windows": float(vj.predict(wins).double().mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    default = Path(__file__).parents[1] / "src/pixlearn/features/data/face_cascade.json"
    parser.add_argument("--out", type=Path, default=default)
    args = parser.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    vj = train()
    print(f"trained {len(vj.stages)} stages in {time.perf_counter() - t0:.0f} s")
    for i, h in enumerate(vj.history):
        print(f"stage {i}: {h}")
    print(evaluate(vj))
    vj.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
