"""Benchmark of greedy NMS: pixlearn ``nms`` against OpenCV's ``cv2.dnn.NMSBoxes`` (C++).

Run as ``python benchmarks/detection_ops_nms.py``. Random boxes in a 1000x1000 image, clustered
as a detector outputs them (about 20 jittered boxes per object, object sizes log-uniform in
16..256 px, aspect 1:2..2:1), uniform scores, IoU threshold 0.5. Both libraries run in this one
process on the same float32 data; each time is the median of 101 runs (up to 5k boxes, where a
run takes milliseconds) or ``REPEATS`` runs after ``WARMUP`` warm-up runs, and the ratio is cv2
time / pixlearn time (> 1: pixlearn is faster). The kept sets are compared before timing, so a
fast wrong answer cannot pass.
"""

from __future__ import annotations

import platform

import cv2
import numpy as np
import torch

from common import markdown_table, median_time
from pixlearn.ops import nms

__all__ = ["clustered_boxes", "main"]

WARMUP, REPEATS = 2, 7  # the defaults of common.median_time
SIZES = (1_000, 5_000, 20_000)


def clustered_boxes(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` xyxy float32 boxes jittered around ``n // 20`` objects, and uniform scores."""
    rng = np.random.default_rng(seed)
    n_obj = max(1, n // 20)
    size = np.exp(rng.uniform(np.log(16), np.log(256), n_obj))
    aspect = np.exp(rng.uniform(np.log(0.5), np.log(2), n_obj))
    w, h = size * np.sqrt(aspect), size / np.sqrt(aspect)
    cx, cy = rng.uniform(0, 1000, n_obj), rng.uniform(0, 1000, n_obj)
    k = rng.integers(0, n_obj, n)
    bw, bh = w[k] * np.exp(rng.normal(0, 0.15, n)), h[k] * np.exp(rng.normal(0, 0.15, n))
    bx, by = cx[k] + rng.normal(0, 0.1, n) * w[k], cy[k] + rng.normal(0, 0.1, n) * h[k]
    boxes = np.stack([bx - bw / 2, by - bh / 2, bx + bw / 2, by + bh / 2], 1).clip(0, 1000)
    # scores in (0, 1]: cv2 drops scores <= its score threshold, which must be >= 0
    return boxes.astype(np.float32), (1.0 - rng.random(n)).astype(np.float32)


def _row(n: int) -> list[str]:
    boxes, scores = clustered_boxes(n)
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], 1).astype(np.float64)
    b, s = torch.from_numpy(boxes), torch.from_numpy(scores)
    ours = nms(b, s, 0.5).numpy()
    theirs = np.asarray(cv2.dnn.NMSBoxes(xywh, scores, 0.0, 0.5)).ravel()
    assert np.array_equal(np.sort(ours), np.sort(theirs)), (n, len(ours), len(theirs))
    # sub-millisecond rows: many repeats, or the median is one scheduler hiccup away
    reps = REPEATS if n > 5_000 else 101
    t_pix = median_time(lambda: nms(b, s, 0.5), warmup=WARMUP, repeats=reps)
    t_cv2 = median_time(
        lambda: cv2.dnn.NMSBoxes(xywh, scores, 0.0, 0.5), warmup=WARMUP, repeats=reps
    )
    return [
        f"{n:,}",
        str(len(ours)),
        f"{t_pix * 1e3:.2f}",
        f"{t_cv2 * 1e3:.2f}",
        f"{t_cv2 / t_pix:.2f}",
    ]


def main() -> None:
    header = ["boxes", "kept", "pixlearn nms (ms)", "cv2.dnn.NMSBoxes (ms)", "ratio cv2/pixlearn"]
    rows = [_row(n) for n in SIZES]
    print(
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), opencv {cv2.__version__} "
        f"({cv2.getNumThreads()} threads), {platform.processor() or platform.machine()}"
    )
    print(f"median of 101 (up to 5k boxes) or {REPEATS} runs after {WARMUP} warm-up runs, IoU 0.5")
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
