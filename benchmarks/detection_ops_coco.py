"""Benchmark of COCO bbox evaluation: pixlearn against pycocotools and faster-coco-eval (C++).

Run as ``python benchmarks/detection_ops_coco.py``. A seeded synthetic set: 80 categories,
about 7 ground-truth boxes per image (10% crowd) and about 25 detections per image (jittered
copies of the objects, some with the wrong class, and false positives). All three evaluators
start from the same loaded dicts, and the timing of each includes everything after that:
building its COCO objects (index, ``loadRes``), matching, accumulation and the summary. Each time
is the median of ``REPEATS`` runs after one warm-up run; ratios are peer time / pixlearn time
(> 1: pixlearn is faster). The 12 stats are checked to agree (1e-10) before timing.
"""

from __future__ import annotations

import contextlib
import copy
import io
import platform
from collections.abc import Callable

import numpy as np

from common import median_time
from pixlearn.metrics.detection import evaluate_coco

__all__ = ["main", "synthetic_set"]

WARMUP, REPEATS = 1, 3
SIZES = (2_000, 5_000)


def synthetic_set(n_images: int, seed: int = 0) -> tuple[dict, list[dict]]:
    """Ground truth and results of ``n_images`` 640x480 images (see the module docstring)."""
    rng = np.random.default_rng(seed)
    images = [{"id": i + 1, "height": 480, "width": 640} for i in range(n_images)]
    cats = [{"id": c + 1, "name": f"c{c}"} for c in range(80)]
    anns: list[dict] = []
    res: list[dict] = []
    for im in images:
        n_gt = int(rng.poisson(7))
        wh = np.exp(rng.uniform(np.log(8), np.log(300), (n_gt, 2)))
        xy = rng.uniform(0, 1, (n_gt, 2)) * (np.array([640, 480]) - wh).clip(0)
        cat = rng.integers(1, 81, n_gt)
        for j in range(n_gt):
            box = [*xy[j].tolist(), *wh[j].tolist()]
            anns.append({"id": len(anns) + 1, "image_id": im["id"], "category_id": int(cat[j]),
                         "bbox": box, "area": box[2] * box[3],
                         "iscrowd": int(rng.random() < 0.1)})  # fmt: skip
        for _ in range(int(rng.poisson(25))):
            if n_gt and rng.random() < 0.6:
                j = int(rng.integers(0, n_gt))
                b = np.r_[xy[j], wh[j]] + rng.normal(0, 0.1, 4) * np.r_[wh[j], wh[j]]
                c = int(cat[j]) if rng.random() < 0.9 else int(rng.integers(1, 81))
            else:
                w, h = np.exp(rng.uniform(np.log(8), np.log(300), 2))
                b = np.r_[rng.uniform(0, 640 - w), rng.uniform(0, 480 - h), w, h]
                c = int(rng.integers(1, 81))
            b[2:] = b[2:].clip(1)
            res.append({"image_id": im["id"], "category_id": c, "bbox": b.round(2).tolist(),
                        "score": round(float(rng.random()), 3)})  # fmt: skip
    return {"images": images, "annotations": anns, "categories": cats}, res


def _median_time(fn: Callable[[dict, list[dict]], object], gt: dict, res: list[dict]) -> float:
    inputs: list = []

    def fresh() -> None:
        # fresh copies for every run (pycocotools' loadRes writes into its input), made untimed
        inputs[:] = [copy.deepcopy(gt), copy.deepcopy(res)]

    return median_time(lambda: fn(*inputs), warmup=WARMUP, repeats=REPEATS, setup=fresh)


def _pycocotools(gt: dict, res: list[dict]) -> np.ndarray:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = gt
        coco.createIndex()
        e = COCOeval(coco, coco.loadRes(res), "bbox")
        e.evaluate()
        e.accumulate()
        e.summarize()
    return np.asarray(e.stats)


def _faster(gt: dict, res: list[dict]) -> np.ndarray:
    from faster_coco_eval import COCO, COCOeval_faster

    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO(gt)
        e = COCOeval_faster(coco, coco.loadRes(res), "bbox", print_function=print)
        e.evaluate()
        e.accumulate()
        e.summarize()
    return np.asarray(e.stats)


def _pixlearn(gt: dict, res: list[dict]) -> np.ndarray:
    return evaluate_coco(gt, res, "bbox").stats


def main() -> None:
    print(f"# COCO bbox evaluation ({platform.processor() or platform.machine()})")
    print("| images | dets | pycocotools s | faster-coco-eval s | pixlearn s "
          "| pycocotools/pixlearn | faster/pixlearn |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for n in SIZES:
        gt, res = synthetic_set(n)
        ref = _pycocotools(copy.deepcopy(gt), copy.deepcopy(res))
        fast = _faster(copy.deepcopy(gt), copy.deepcopy(res))
        ours = _pixlearn(gt, res)
        if not (np.allclose(ours, ref, atol=1e-10, rtol=0) and np.allclose(fast, ref, atol=1e-10)):
            raise AssertionError(f"stats disagree:\n{ref}\n{fast}\n{ours}")
        t_ref = _median_time(_pycocotools, gt, res)
        t_fast = _median_time(_faster, gt, res)
        t_ours = _median_time(_pixlearn, gt, res)
        print(f"| {n} | {len(res)} | {t_ref:.3f} | {t_fast:.3f} | {t_ours:.3f} "
              f"| {t_ref / t_ours:.1f}x | {t_fast / t_ours:.2f}x |")  # fmt: skip


if __name__ == "__main__":
    main()
