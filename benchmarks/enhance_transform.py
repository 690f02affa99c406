"""Benchmark of pixlearn.transform: resize to half and rotation by 30 degrees.

Run as ``python benchmarks/enhance_transform.py``. Every library runs in this one process on the
same float32 data (2048x2048 camera, and its 64 tiles of 256x256); each time is the median of
``REPEATS`` runs after ``WARMUP`` warm-up runs, and a ratio is peer time / pixlearn time (> 1:
pixlearn is faster). Outputs are compared before timing. Peers: ``skimage.transform.resize``
(``anti_aliasing=True``, order 1) and ``cv2.resize(INTER_AREA)`` for the anti-aliased half-size,
``cv2.resize(INTER_LINEAR)`` for the plain one; ``skimage.transform.rotate(order=1)`` and
``cv2.warpAffine(INTER_LINEAR)`` for the rotation. The batch is a loop over images for the peers.
"""

from __future__ import annotations

import platform
from collections.abc import Callable

import cv2
import numpy as np
import skimage
import skimage.transform as st
import torch

from common import median_time
from pixlearn.transform import resize, rotate

__all__ = ["main"]

WARMUP, REPEATS = 2, 7


def _median_time(fn: Callable[[], object]) -> float:
    return median_time(fn, warmup=WARMUP, repeats=REPEATS)


def _each(fn: Callable[[np.ndarray], np.ndarray], images: np.ndarray) -> np.ndarray:
    if images.ndim == 2:
        return fn(images)
    return np.stack([fn(im) for im in images])


def _rows(name: str, images: np.ndarray) -> list[list[str]]:
    x = torch.from_numpy(images)
    h, w = images.shape[-2:]
    half = (h // 2, w // 2)
    m = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), 30.0, 1.0)
    cases = {
        "resize 1/2 antialias": (
            lambda: resize(x, half),
            {
                "skimage": lambda: _each(
                    lambda im: st.resize(im, half, order=1, anti_aliasing=True), images
                ),
                "cv2 AREA": lambda: _each(
                    lambda im: cv2.resize(im, half[::-1], interpolation=cv2.INTER_AREA), images
                ),
            },
        ),
        "resize 1/2 no antialias": (
            lambda: resize(x, half, antialias=False),
            {
                "cv2 LINEAR": lambda: _each(
                    lambda im: cv2.resize(im, half[::-1], interpolation=cv2.INTER_LINEAR), images
                ),
            },
        ),
        "rotate 30": (
            lambda: rotate(x, 30.0),
            {
                "skimage": lambda: _each(lambda im: st.rotate(im, 30.0, order=1), images),
                "cv2 warpAffine": lambda: _each(
                    lambda im: cv2.warpAffine(im, m, (w, h), flags=cv2.INTER_LINEAR), images
                ),
            },
        ),
    }
    rows = []
    for op, (ours, peers) in cases.items():
        out = ours().numpy()
        errs = []
        for peer, fn in peers.items():
            ref = fn()
            # skimage's anti-aliasing is a Gaussian pre-filter and cv2's rotation quantises
            # coordinates to 1/32 pixel: the means agree, individual pixels differ a little
            err = float(np.abs(out - ref)[..., 4:-4, 4:-4].mean())
            assert err < 2e-2, (op, peer, err)
            errs.append(f"{peer} {err:.1e}")
        t_ours = _median_time(ours)
        for peer, fn in peers.items():
            t = _median_time(fn)
            rows.append(
                [name, op, f"{t_ours * 1e3:.1f}", peer, f"{t * 1e3:.1f}", f"{t / t_ours:.2f}"]
            )
        rows[-1].append("; ".join(errs))
    return rows


def main() -> None:
    big = skimage.transform.resize(skimage.data.camera() / 255.0, (2048, 2048)).astype(np.float32)
    # the 64 tiles of 256x256 of the same photograph
    batch = np.ascontiguousarray(big.reshape(8, 256, 8, 256).transpose(0, 2, 1, 3)).reshape(
        64, 256, 256
    )
    rows = _rows("2048x2048", big) + _rows("64x256x256", batch)
    print(
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, OpenCV {cv2.__version__}, "
        f"scikit-image {skimage.__version__}"
    )
    head = ["input", "op", "pixlearn ms", "peer", "peer ms", "peer/pixlearn", "mean abs diff"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r + [""] * (len(head) - len(r))) + " |")


if __name__ == "__main__":
    main()
