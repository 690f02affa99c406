"""Benchmark of pixlearn.filters: Gaussian (sigma 3), Sobel and 5x5 median against
scikit-image and OpenCV, on one 2048x2048 float32 image and on a 64 x 256x256 batch.

Run as ``python benchmarks/enhance_filters.py``. Everything runs in this one process on the same
float32 data; each time is the median of ``REPEATS`` runs after ``WARMUP`` warm-up runs; the
ratio is peer time / pixlearn time (> 1: pixlearn is faster). Outputs are compared before timing
(all with the mirror border: scikit-image ``mode='mirror'``, OpenCV ``BORDER_REFLECT_101``).
"""

from __future__ import annotations

import platform
from collections.abc import Callable

import cv2
import numpy as np
import scipy.ndimage as ndi
import skimage.filters
import torch

from common import median_time
from pixlearn.filters import gaussian_blur2d, median_blur2d, sobel

__all__ = ["main"]

WARMUP, REPEATS = 1, 5
R101 = cv2.BORDER_REFLECT_101


def _median_time(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    return median_time(fn, warmup=WARMUP, repeats=repeats)


def _each(fn: Callable[[np.ndarray], np.ndarray], a: np.ndarray) -> np.ndarray:
    return fn(a) if a.ndim == 2 else np.stack([fn(im) for im in a])


def _cv2_sobel(im: np.ndarray) -> np.ndarray:
    # scikit-image normalisation: each derivative / 4 (OpenCV's kernel lacks the 1/4),
    # magnitude sqrt((gx^2 + gy^2) / 2)
    gx = cv2.Sobel(im, cv2.CV_32F, 1, 0, ksize=3, borderType=R101) / 4
    gy = cv2.Sobel(im, cv2.CV_32F, 0, 1, ksize=3, borderType=R101) / 4
    return np.sqrt((gx * gx + gy * gy) / 2)


def _ops(a: np.ndarray) -> dict[str, dict[str, Callable[[], np.ndarray]]]:
    x = torch.from_numpy(a)
    sk_axes = 3.0 if a.ndim == 2 else (0, 3.0, 3.0)
    return {
        "Gaussian sigma 3": {
            "pixlearn": lambda: gaussian_blur2d(x, 3.0).numpy(),
            "skimage": lambda: skimage.filters.gaussian(
                a, sigma=sk_axes, mode="mirror", truncate=4.0, preserve_range=True
            ),
            "cv2": lambda: _each(
                lambda im: cv2.GaussianBlur(im, (25, 25), 3.0, borderType=R101), a
            ),
        },
        "Sobel magnitude": {
            "pixlearn": lambda: sobel(x).numpy(),
            "skimage": lambda: _each(lambda im: skimage.filters.sobel(im, mode="mirror"), a),
            "cv2": lambda: _each(_cv2_sobel, a),
        },
        "median 5x5": {
            "pixlearn": lambda: median_blur2d(x, 5).numpy(),
            "skimage": lambda: _each(lambda im: ndi.median_filter(im, 5, mode="mirror"), a),
            "cv2": lambda: _each(lambda im: cv2.medianBlur(im, 5), a),
            # cv2.medianBlur always replicates the edge: checked against that border
            "check cv2": lambda: median_blur2d(x, 5, border="replicate").numpy(),
        },
    }


def _ops_one(a: np.ndarray, name: str) -> Callable[[], np.ndarray]:
    return _ops(a)[name]["pixlearn"]


def main() -> None:
    rng = np.random.default_rng(0)
    inputs = {
        "2048x2048": rng.random((2048, 2048), dtype=np.float32),
        "64x256x256": rng.random((64, 256, 256), dtype=np.float32),
    }
    print(
        f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, opencv {cv2.__version__}"
    )
    print("| op | input | pixlearn ms | skimage ms | skimage/pix | cv2 ms | cv2/pix | max err |")
    print("|---|---|---|---|---|---|---|---|")
    for size, a in inputs.items():
        for name, fns in _ops(a).items():
            ref = fns.pop("pixlearn")()
            check = fns.pop("check cv2", None)
            ref_cv2 = ref if check is None else check()
            err = max(
                float(np.abs(ref - fns["skimage"]()).max()),
                float(np.abs(ref_cv2 - fns["cv2"]()).max()),
            )
            fns = {"pixlearn": _ops_one(a, name), **fns}
            assert err < 1e-4, (name, size, err)
            slow = "median" in name  # scipy's median is slow: fewer repeats
            t = {
                k: _median_time(fn, 3 if slow and k == "skimage" else REPEATS)
                for k, fn in fns.items()
            }
            print(
                f"| {name} | {size} | {t['pixlearn'] * 1e3:.1f} | {t['skimage'] * 1e3:.1f} | "
                f"{t['skimage'] / t['pixlearn']:.2f} | {t['cv2'] * 1e3:.1f} | "
                f"{t['cv2'] / t['pixlearn']:.2f} | {err:.1e} |"
            )


if __name__ == "__main__":
    main()
