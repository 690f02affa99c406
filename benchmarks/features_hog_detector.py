"""HOGDetector: AP on held-out composite scenes, and detection time on a 640x480 photo.

Faces of the LFW test split are pasted (seeded positions, sizes 25-44 px) into six photos that
were not used for mining; AP is Pascal VOC's (IoU 0.5, all-point). The timing peer is OpenCV's
``HOGDescriptor.detectMultiScale`` with its bundled people detector (a 64x128 window: the same
kind of work, not the same model or output, so no agreement is checked).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from common import markdown_table, median_time
from pixlearn.data import load_dataset, sample
from pixlearn.features import HOGDetector
from pixlearn.metrics.detection import voc_evaluate
from pixlearn.transform import resize

MINING = ("brick", "grass", "gravel", "coffee", "chelsea", "clock", "horse", "hubble_deep_field",
          "immunohistochemistry", "text", "checkerboard", "logo")  # fmt: skip
SCENES = ("rocket", "motorcycle_left", "coins", "moon", "cell", "page")


def _grey(name: str) -> torch.Tensor:
    x = sample(name)
    return x.mean(0) if x.shape[0] > 1 else x[0]


def _scenes(faces: torch.Tensor, seed: int = 0, per: int = 4) -> list:
    """Photos with ``per`` faces each pasted at random, non-touching places and sizes."""
    g = torch.Generator().manual_seed(seed)
    out, k = [], 0
    for name in SCENES:
        img, boxes = _grey(name).clone(), []
        for _ in range(per):
            s = (25, 30, 36, 44)[int(torch.randint(4, (1,), generator=g))]
            face = faces[k % len(faces)]
            k += 1
            for _ in range(100):
                y = int(torch.randint(0, img.shape[0] - s + 1, (1,), generator=g))
                x = int(torch.randint(0, img.shape[1] - s + 1, (1,), generator=g))
                if all(x > b[2] + 5 or b[0] > x + s + 5 or y > b[3] + 5 or b[1] > y + s + 5
                       for b in boxes):  # fmt: skip
                    break
            img[y : y + s, x : x + s] = face if s == 25 else resize(face, (s, s))
            boxes.append([x, y, x + s, y + s])
        out.append((img, torch.tensor(boxes, dtype=torch.float32)))
    return out


def main() -> None:
    train, test = load_dataset("faces", "train"), load_dataset("faces", "test")
    t0 = time.perf_counter()
    det = HOGDetector((25, 25), C=1.0).fit(
        train.images[train.targets == 1],
        train.images[train.targets == 0],
        negative_images=[_grey(n) for n in MINING],
        mining_rounds=3,
        max_mined=2000,
        generator=torch.Generator().manual_seed(0),
    )
    fit_s = time.perf_counter() - t0
    gt, dets = [], []
    for img, boxes in _scenes(test.images[test.targets == 1][:, 0]):
        b, s = det.detect(img, score_threshold=-1.0)
        gt.append({"boxes": boxes, "labels": torch.ones(len(boxes), dtype=torch.int64)})
        dets.append({"boxes": b, "scores": s, "labels": torch.ones(len(b), dtype=torch.int64)})
    ap = voc_evaluate(gt, dets).map
    photo = resize(_grey("coffee"), (480, 640))
    p = median_time(lambda: det.detect(photo), warmup=1, repeats=3)
    rows = [
        ["AP@0.5, 24 faces in 6 held-out scenes", f"{ap:.3f}", "", ""],
        ["fit (3 mining rounds, 12 photos), s", f"{fit_s:.1f}", "", ""],
    ]
    try:
        import cv2

        u8 = (photo.numpy() * 255).astype(np.uint8)
        hd = cv2.HOGDescriptor()
        hd.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        c = median_time(lambda: hd.detectMultiScale(u8, scale=1.2), warmup=1, repeats=3)
        rows.append(["detect 640x480, ms (peer: cv2 people HOG)", f"{p * 1e3:.0f}",
                     f"{c * 1e3:.0f}", f"{c / p:.2f}"])  # fmt: skip
    except (ImportError, AttributeError):
        rows.append(["detect 640x480, ms", f"{p * 1e3:.0f}", "", ""])
    print(markdown_table(["measure", "pixlearn", "peer", "peer/pixlearn"], rows))


if __name__ == "__main__":
    main()
