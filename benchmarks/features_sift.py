"""SIFT: detect + compute on 1024x1024 against OpenCV and scikit-image, and repeatability under
known warps (fraction of keypoints re-detected within 2 px and matched by the ratio test)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from skimage.feature import SIFT as SkSIFT

from pixlearn.data import sample
from pixlearn.features import SIFT
from pixlearn.transform import resize

sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, median_time

_spec = importlib.util.spec_from_file_location(
    "_sift_eval", Path(__file__).parents[1] / "tests" / "features" / "_sift_eval.py"
)
_eval = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_eval)


def timing() -> str:
    img = resize(sample("camera")[0], (1024, 1024))
    a8 = (img.numpy() * 255).round().astype(np.uint8)
    a64 = img.double().numpy()
    ours = SIFT()
    cv = cv2.SIFT_create()
    kp, _ = ours.detect_and_compute(img)
    ref, _ = cv.detectAndCompute(a8, None)
    threads = torch.get_num_threads()
    t_ours = {}
    for n in (1, 2):
        torch.set_num_threads(n)
        t_ours[n] = median_time(lambda: ours.detect_and_compute(img), warmup=1, repeats=5)
    torch.set_num_threads(threads)
    t_cv = median_time(lambda: cv.detectAndCompute(a8, None), warmup=1, repeats=5)
    sk = SkSIFT()
    t_sk = median_time(lambda: sk.detect_and_extract(a64), warmup=0, repeats=1)
    base = t_ours[1]
    rows = [
        ["pixlearn (torch 1 thread)", f"{base * 1e3:.0f}", len(kp), "1.00"],
        [
            "pixlearn (torch 2 threads)",
            f"{t_ours[2] * 1e3:.0f}",
            len(kp),
            f"{t_ours[2] / base:.2f}",
        ],
        [
            f"OpenCV cv2.SIFT_create ({cv2.getNumThreads()} threads)",
            f"{t_cv * 1e3:.0f}",
            len(ref),
            f"{t_cv / base:.2f}",
        ],
        ["skimage.feature.SIFT", f"{t_sk * 1e3:.0f}", len(sk.keypoints), f"{t_sk / base:.2f}"],
    ]
    head = ["SIFT detect+compute 1024x1024 (camera)", "ms", "keypoints", "peer/pixlearn (1 thread)"]
    return markdown_table(head, rows)


WARPS = [
    ("rotate 30", 30, 1.0, 1.0, 0.0),
    ("rotate 90", 90, 1.0, 1.0, 0.0),
    ("rotate 135", 135, 1.0, 1.0, 0.0),
    ("rotate 180", 180, 1.0, 1.0, 0.0),
    ("scale 0.5", 0, 0.5, 1.0, 0.0),
    ("scale 0.7", 0, 0.7, 1.0, 0.0),
    ("scale 1.5", 0, 1.5, 1.0, 0.0),
    ("scale 2", 0, 2.0, 1.0, 0.0),
    ("brightness 0.6x+0.2", 0, 1.0, 0.6, 0.2),
    ("rot 45, scale 0.8, 0.8x+0.1", 45, 0.8, 0.8, 0.1),
]


def repeatability() -> str:
    cam = resize(sample("camera")[0], (384, 384))
    ast = resize(sample("astronaut"), (384, 384))
    ast = (ast * torch.tensor([0.299, 0.587, 0.114])[:, None, None]).sum(0)
    rows = []
    for name, img in (("camera", cam), ("astronaut grey", ast)):
        for label, angle, scale, gain, bias in WARPS:
            warped, hmat = _eval.make_pair(img, angle, scale, gain, bias)
            ours = _eval.pixlearn_rate(img, warped, hmat)
            ref = _eval.opencv_rate(img, warped, hmat)
            rows.append([name, label, f"{ours:.3f}", f"{ref:.3f}", f"{ours / max(ref, 1e-9):.2f}"])
    head = ["image (384x384)", "warp", "pixlearn", "OpenCV", "pixlearn/OpenCV"]
    return markdown_table(head, rows)


if __name__ == "__main__":
    torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else torch.get_num_threads())
    print(f"torch threads: {torch.get_num_threads()}, OpenCV threads: {cv2.getNumThreads()}\n")
    print(timing())
    print()
    print(repeatability())
