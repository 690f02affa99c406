"""Integral image (2048x2048) against scikit-image and OpenCV, and Viola-Jones detection on a
640x480 photo with the bundled face cascade against scikit-image's ``feature.Cascade`` running
OpenCV's bundled LBP frontal-face cascade (OpenCV 5's headless wheel has no
``CascadeClassifier``). The two detectors share the method (a boosted cascade slid over an image
pyramid with the same scale factor and the same grid of windows, from 25 px up, at steps of
2 and 1 level pixels) but not the model or the features
(Haar against LBP), so their outputs are reported, not checked to agree.

Run as ``python benchmarks/features_vj.py``.
"""

from __future__ import annotations

import inspect

import numpy as np
import torch
from skimage.data import lbp_frontal_face_cascade_filename
from skimage.feature import Cascade
from skimage.transform import integral_image as sk_integral_image

from common import markdown_table, median_time
from pixlearn.data import sample
from pixlearn.features import ViolaJones, integral_image


def photo_640x480() -> torch.Tensor:
    """The astronaut in grey, rows 0-479, padded by reflection to 640 columns: ``(480, 640)``."""
    grey = sample("astronaut").mean(0)[:480]
    return torch.nn.functional.pad(grey[None, None], (64, 64, 0, 0), mode="reflect")[0, 0]


def main() -> None:
    rows = []
    rng = np.random.default_rng(0)
    img = rng.random((2048, 2048))
    t = torch.from_numpy(img)
    ours = integral_image(t).numpy()
    # outputs agree before timing: scikit-image's table is pixlearn's without the zero border
    assert np.abs(ours[1:, 1:] - sk_integral_image(img)).max() < 1e-6
    p = median_time(lambda: integral_image(t), warmup=2, repeats=7)
    s = median_time(lambda: sk_integral_image(img), warmup=2, repeats=7)
    rows.append(
        ["integral image 2048x2048 float64", f"{p * 1e3:.1f}", f"{s * 1e3:.1f}", f"{s / p:.2f}"]
    )
    try:
        import cv2

        assert np.abs(ours - cv2.integral(img)).max() < 1e-6
        c = median_time(lambda: cv2.integral(img), warmup=2, repeats=7)
        rows.append(
            [
                "integral image 2048x2048 vs cv2.integral",
                f"{p * 1e3:.1f}",
                f"{c * 1e3:.1f} (cv2)",
                f"{c / p:.2f}",
            ]
        )
    except ImportError:
        pass
    vj = ViolaJones.pretrained()
    scene = photo_640x480()
    lbp = Cascade(lbp_frontal_face_cascade_filename())
    grey = scene.numpy()
    scale = inspect.signature(vj.detect).parameters["scale_factor"].default
    # the same grid on both sides: pixlearn steps `step` pixels on each level of its pyramid,
    # i.e. step * s image pixels at scale s; scikit-image scales the window instead and steps
    # round(s * step_ratio) image pixels
    for step in (2, 1):
        boxes, _ = vj.detect(scene, step=step)
        d = median_time(lambda step=step: vj.detect(scene, step=step), warmup=1, repeats=5)

        def sk_detect(step: int = step) -> list:
            return lbp.detect_multi_scale(
                img=grey,
                scale_factor=scale,
                step_ratio=step,
                min_size=(25, 25),
                max_size=grey.shape,
            )

        n_sk = len(sk_detect())
        k = median_time(sk_detect, warmup=1, repeats=5)
        rows.append(
            [
                f"Viola-Jones detect 640x480, step {step} (astronaut; pixlearn "
                f"{boxes.shape[0]}, skimage LBP {n_sk} detections)",
                f"{d * 1e3:.0f}",
                f"{k * 1e3:.0f} (skimage Cascade)",
                f"{k / d:.2f}",
            ]
        )
    print(markdown_table(["op", "pixlearn ms", "peer ms", "peer/pixlearn"], rows))


if __name__ == "__main__":
    main()
