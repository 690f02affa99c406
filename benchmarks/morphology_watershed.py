"""Benchmark of pixlearn's watershed, Euclidean distance transform and skeletonize against
scikit-image, SciPy and OpenCV, on 2048x2048 inputs.

Run as ``python benchmarks/morphology_watershed.py``. Everything runs in this one process;
each time is the median of the repeats after warm-up (``benchmarks/common.py``); the ratio is
peer time / pixlearn time (> 1: pixlearn is faster). Outputs are checked to agree first
(labels and skeletons equal, distances within 1e-4 of SciPy's / OpenCV's).
"""

from __future__ import annotations

import platform

import cv2
import numpy as np
import scipy.ndimage as ndi
import skimage.morphology as skm
import skimage.segmentation as sks
import torch

from common import markdown_table, median_time
from pixlearn.morphology import distance_transform_edt, skeletonize, watershed

__all__ = ["main"]

N = 2048


def _inputs() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    # a random-ish smooth relief (distinct values) and 1000 point markers
    relief = ndi.gaussian_filter(rng.random((N, N)), 8.0)
    relief = (relief + 1e-9 * rng.random((N, N))).astype(np.float64)
    markers = np.zeros((N, N), np.int64)
    points = rng.integers(0, N, size=(1000, 2))
    markers[points[:, 0], points[:, 1]] = np.arange(1, 1001)
    # blobs covering about half of the image
    blobs = ndi.gaussian_filter(rng.random((N, N)), 6.0) > 0.5
    return relief, markers, blobs


def main() -> None:
    relief, markers, blobs = _inputs()
    t_relief, t_markers, t_blobs = map(torch.from_numpy, (relief, markers, blobs))
    u8 = blobs.astype(np.uint8)
    rows = []
    cases = [
        (
            "watershed, float64, 1000 markers",
            "skimage",
            lambda: watershed(t_relief, t_markers).numpy(),
            lambda: sks.watershed(relief, markers),
            "equal",
        ),
        (
            "distance_transform_edt",
            "scipy",
            lambda: distance_transform_edt(t_blobs, dtype=torch.float64).numpy(),
            lambda: ndi.distance_transform_edt(blobs),
            "close",
        ),
        (
            "distance_transform_edt",
            "cv2 (L2, precise)",
            lambda: distance_transform_edt(t_blobs).numpy(),
            lambda: cv2.distanceTransform(u8, cv2.DIST_L2, cv2.DIST_MASK_PRECISE),
            "close",
        ),
        (
            "skeletonize",
            "skimage",
            lambda: skeletonize(t_blobs).numpy(),
            lambda: skm.skeletonize(blobs),
            "equal",
        ),
    ]
    for name, peer_name, ours, peer, rule in cases:
        a, b = ours(), peer()  # agree before timing
        if rule == "equal":
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-5)
        t_ours = median_time(ours, warmup=1, repeats=3)
        t_peer = median_time(peer, warmup=1, repeats=3)
        rows.append(
            [
                name,
                peer_name,
                f"{t_ours * 1e3:.0f}",
                f"{t_peer * 1e3:.0f}",
                f"{t_peer / t_ours:.2f}",
            ]
        )
    print(f"{platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}")
    header = ["op (2048x2048)", "peer", "pixlearn ms", "peer ms", "ratio"]
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
