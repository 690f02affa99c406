"""SURF against pixlearn's SIFT on camera 1024x1024: detect + compute time, keypoint counts, and
repeatability under known warps (fraction of keypoints re-detected within 2 px and matched by
the ratio test, the protocol of tests/features/_sift_eval.py). Neither OpenCV's default build
nor scikit-image has SURF, so pixlearn's SIFT is the peer."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import torch

from pixlearn.data import sample
from pixlearn.features import SIFT, SURF
from pixlearn.transform import resize

sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, median_time

_spec = importlib.util.spec_from_file_location(
    "_sift_eval", Path(__file__).parents[1] / "tests" / "features" / "_sift_eval.py"
)
_eval = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_eval)

WARPS = [
    ("rotate 30", 30, 1.0, 1.0, 0.0),
    ("rotate 90", 90, 1.0, 1.0, 0.0),
    ("scale 0.7", 0, 0.7, 1.0, 0.0),
    ("brightness 0.6x+0.2", 0, 1.0, 0.6, 0.2),
]


def main() -> str:
    img = resize(sample("camera")[0], (1024, 1024))
    detectors = [("SURF (64-D)", SURF()), ("U-SURF (upright)", SURF(upright=True))]
    detectors.append(("SIFT (pixlearn)", SIFT()))
    times, counts = {}, {}
    for name, det in detectors:
        kp, desc = det.detect_and_compute(img)
        assert desc.shape[0] == len(kp) > 0 and torch.isfinite(desc).all()
        counts[name] = len(kp)
        times[name] = median_time(lambda det=det: det.detect_and_compute(img), warmup=1, repeats=3)
    pairs = [(label, *_eval.make_pair(img, a, s, g, b)) for label, a, s, g, b in WARPS]
    t_sift = times["SIFT (pixlearn)"]
    rows = []
    for name, det in detectors:
        rates = [_eval.pixlearn_rate(img, warped, hmat, det) for _, warped, hmat in pairs]
        rows.append(
            [
                name,
                f"{times[name] * 1e3:.0f}",
                f"{t_sift / times[name]:.2f}",
                counts[name],
                *(f"{r:.3f}" for r in rates),
            ]
        )
    head = ["camera 1024x1024", "ms", "SIFT time / this", "keypoints", *(w[0] for w in WARPS)]
    return markdown_table(head, rows)


if __name__ == "__main__":
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else torch.get_num_threads())
    print(f"torch threads: {torch.get_num_threads()}\n")
    print(main())
