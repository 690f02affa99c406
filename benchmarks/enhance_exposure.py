"""Benchmark of histogram equalisation and CLAHE: pixlearn against scikit-image and OpenCV.

Run as ``python benchmarks/enhance_exposure.py``. Every library runs in this one process; each
time is the median of ``REPEATS`` runs after ``WARMUP`` warm-up runs, and a ratio is peer time /
pixlearn time (> 1: pixlearn is faster). pixlearn and scikit-image get the same float32 data in
[0, 1]; OpenCV gets its uint8 version (``cv2.createCLAHE(...).apply``, ``cv2.equalizeHist``; its
CLAHE uses an 8x8 tile grid and its own clip-limit scale, so it is a speed reference only).
pixlearn's outputs are checked against scikit-image's before timing (equalize_hist: bit for bit).
"""

from __future__ import annotations

import platform
from collections.abc import Callable

import cv2
import numpy as np
import skimage
import skimage.exposure as se
import torch

from common import median_time
from pixlearn.exposure import equalize_adapthist, equalize_hist

__all__ = ["main"]

WARMUP, REPEATS = 1, 5


def _median_time(fn: Callable[[], object]) -> float:
    return median_time(fn, warmup=WARMUP, repeats=REPEATS)


def _cases() -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    # smooth-ish content (a blurred random field), so histograms are not flat
    big = skimage.filters.gaussian(rng.random((2048, 2048)), sigma=8).astype(np.float32)
    big = (big - big.min()) / (big.max() - big.min())
    batch = skimage.filters.gaussian(rng.random((64, 256, 256)), sigma=(0, 4, 4))
    batch = batch.astype(np.float32)
    lo = batch.min(axis=(1, 2), keepdims=True)
    batch = (batch - lo) / (batch.max(axis=(1, 2), keepdims=True) - lo)
    return [("2048x2048", big), ("64 x 256x256", batch)]


def main() -> None:
    rows = []
    clahe_cv = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
    for label, arr in _cases():
        planes = arr.reshape(-1, *arr.shape[-2:])
        u8 = [np.round(p * 255).astype(np.uint8) for p in planes]
        x = torch.from_numpy(arr)

        # CLAHE
        ours = equalize_adapthist(x, clip_limit=0.01).numpy().reshape(planes.shape)
        ref = np.stack([se.equalize_adapthist(p, clip_limit=0.01) for p in planes])
        assert np.abs(ours - ref).mean() < 0.01, "CLAHE disagrees with scikit-image"
        t_px = _median_time(lambda x=x: equalize_adapthist(x, clip_limit=0.01))
        t_sk = _median_time(
            lambda ps=planes: [se.equalize_adapthist(p, clip_limit=0.01) for p in ps]
        )
        t_cv = _median_time(lambda us=u8: [clahe_cv.apply(p) for p in us])
        rows.append(("CLAHE", label, t_px, t_sk, t_cv))

        # global equalisation
        ours = equalize_hist(x).numpy().reshape(planes.shape)
        ref = np.stack([se.equalize_hist(p) for p in planes])
        assert np.array_equal(ours, ref), "equalize_hist differs from scikit-image"
        t_px = _median_time(lambda x=x: equalize_hist(x))
        t_sk = _median_time(lambda ps=planes: [se.equalize_hist(p) for p in ps])
        t_cv = _median_time(lambda us=u8: [cv2.equalizeHist(p) for p in us])
        rows.append(("equalize_hist", label, t_px, t_sk, t_cv))

    print(
        f"CPU: {platform.processor() or platform.machine()}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), scikit-image {skimage.__version__}, "
        f"OpenCV {cv2.__version__}\n"
    )
    print(
        "| op | input | pixlearn ms | scikit-image ms | OpenCV (uint8) ms | skimage/pixlearn |"
        " OpenCV/pixlearn |"
    )
    print("|---|---|---|---|---|---|---|")
    for op, label, t_px, t_sk, t_cv in rows:
        print(
            f"| {op} | {label} | {t_px * 1e3:.1f} | {t_sk * 1e3:.1f} | {t_cv * 1e3:.1f} | "
            f"{t_sk / t_px:.2f} | {t_cv / t_px:.2f} |"
        )


if __name__ == "__main__":
    main()
