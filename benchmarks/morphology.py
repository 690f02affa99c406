"""Benchmark of pixlearn.morphology: dilation and opening with disk(5) on 2048x2048 uint8 and
float32, against scikit-image and OpenCV.

Run as ``python benchmarks/morphology.py``. Everything runs in this one process on the same data;
each time is the median of the repeats after warm-up (``benchmarks/common.py``); the ratio is
peer time / pixlearn time (> 1: pixlearn is faster). Outputs are checked equal before timing:
scikit-image with ``mode="ignore"`` (pixlearn's border), OpenCV with its default border for
dilate/erode (the min/max of the dtype, the same convention). Then the issue's other rows:
reconstruction and regional maxima, watershed, distance transform and skeleton, max-tree and
area opening, region properties (``morphology_*.py``, ``measure.py``).
"""

from __future__ import annotations

import platform
from collections.abc import Callable

import cv2
import numpy as np
import skimage.morphology as skm
import torch

import measure
import morphology_reconstruction
import morphology_tree
import morphology_watershed
from common import markdown_table, median_time
from pixlearn.morphology import dilation, disk, opening

__all__ = ["main"]

SIZE = 2048


def _rows(a: np.ndarray) -> dict[str, dict[str, Callable[[], np.ndarray]]]:
    x = torch.from_numpy(a)
    fp = disk(5)
    fp_np = fp.numpy()
    kernel = fp_np.astype(np.uint8)
    return {
        "dilation disk(5)": {
            "pixlearn": lambda: dilation(x, fp).numpy(),
            "skimage": lambda: skm.dilation(a, fp_np, mode="ignore"),
            "cv2": lambda: cv2.dilate(a, kernel),
        },
        "opening disk(5)": {
            "pixlearn": lambda: opening(x, fp).numpy(),
            "skimage": lambda: skm.opening(a, fp_np, mode="ignore"),
            "cv2": lambda: cv2.morphologyEx(a, cv2.MORPH_OPEN, kernel),
        },
    }


def main() -> None:
    rng = np.random.default_rng(0)
    images = {
        "uint8": rng.integers(0, 256, (SIZE, SIZE), dtype=np.uint8),
        "float32": rng.random((SIZE, SIZE), dtype=np.float32),
    }
    table = []
    for dname, a in images.items():
        for op, fns in _rows(a).items():
            ref = fns["pixlearn"]()
            for peer in ("skimage", "cv2"):
                np.testing.assert_array_equal(ref, fns[peer](), err_msg=f"{op} {dname} {peer}")
            t = {k: median_time(f, warmup=1, repeats=5) for k, f in fns.items()}
            table.append(
                [
                    op,
                    dname,
                    f"{t['pixlearn'] * 1e3:.1f}",
                    f"{t['skimage'] * 1e3:.1f}",
                    f"{t['cv2'] * 1e3:.1f}",
                    f"{t['skimage'] / t['pixlearn']:.2f}",
                    f"{t['cv2'] / t['pixlearn']:.2f}",
                ]
            )
    header = [
        f"op ({SIZE}x{SIZE})",
        "dtype",
        "pixlearn ms",
        "skimage ms",
        "cv2 ms",
        "skimage / pixlearn",
        "cv2 / pixlearn",
    ]
    print(
        f"CPU: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    print(markdown_table(header, table))
    print()
    morphology_reconstruction.main()
    # the other rows: watershed, distance transform, skeleton; area opening; regionprops
    for suite in (morphology_watershed, morphology_tree, measure):
        print()
        suite.main()


if __name__ == "__main__":
    main()
