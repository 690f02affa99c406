"""DeformablePartModel vs HOGDetector: AP on the same held-out scenes, fit and detect time.

Both detectors train on the LFW train split and the same mining photos; faces of the test split
are pasted into six photos not used for mining (``features_hog_detector._scenes``); AP is Pascal
VOC's (IoU 0.5, all-point). There is no peer DPM library to time against: the ratio column is
HOGDetector's time over the DPM's (the cost of the parts).
"""

from __future__ import annotations

import time

import torch

from common import markdown_table, median_time
from features_hog_detector import MINING, _grey, _scenes
from pixlearn.data import load_dataset
from pixlearn.features import DeformablePartModel, HOGDetector
from pixlearn.metrics.detection import voc_evaluate
from pixlearn.transform import resize


def _ap(det, scenes) -> float:
    gt, dets = [], []
    for img, boxes in scenes:
        b, s = det.detect(img, score_threshold=-1.0)
        gt.append({"boxes": boxes, "labels": torch.ones(len(boxes), dtype=torch.int64)})
        dets.append({"boxes": b, "scores": s, "labels": torch.ones(len(b), dtype=torch.int64)})
    return voc_evaluate(gt, dets).map


def main() -> None:
    train, test = load_dataset("faces", "train"), load_dataset("faces", "test")
    faces, others = train.images[train.targets == 1], train.images[train.targets == 0]
    photos = [_grey(n)[::2, ::2].contiguous() for n in MINING]
    opts = {"negative_images": photos, "max_mined": 1000}
    t0 = time.perf_counter()
    hog = HOGDetector((25, 25)).fit(
        faces, others, mining_rounds=3, generator=torch.Generator().manual_seed(0), **opts
    )
    hog_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    dpm = DeformablePartModel((25, 25), n_parts=6).fit(
        faces, others, rounds=2, generator=torch.Generator().manual_seed(0), **opts
    )
    dpm_fit = time.perf_counter() - t0
    scenes = _scenes(test.images[test.targets == 1][:, 0])
    ap_hog, ap_dpm = _ap(hog, scenes), _ap(dpm, scenes)
    photo = resize(_grey("coffee"), (480, 640))
    t_hog = median_time(lambda: hog.detect(photo), warmup=1, repeats=3)
    t_dpm = median_time(lambda: dpm.detect(photo), warmup=1, repeats=3)
    rows = [
        ["AP@0.5, 24 faces in 6 held-out scenes", f"{ap_dpm:.3f}", f"{ap_hog:.3f}", ""],
        ["fit (12 photos at 1/2 size), s", f"{dpm_fit:.1f}", f"{hog_fit:.1f}",
         f"{hog_fit / dpm_fit:.2f}"],
        ["detect 640x480, ms", f"{t_dpm * 1e3:.0f}", f"{t_hog * 1e3:.0f}", f"{t_hog / t_dpm:.2f}"],
    ]  # fmt: skip
    print(markdown_table(["measure", "DPM (6 parts)", "HOGDetector", "HOG/DPM time"], rows))


if __name__ == "__main__":
    main()
