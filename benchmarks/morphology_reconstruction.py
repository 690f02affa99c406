"""Benchmark of pixlearn.morphology reconstruction, regional maxima and h-maxima against
scikit-image, on a 2048x2048 image built from ``camera`` (each pixel repeated 4x4: plateaus
of 16 pixels and more, the hard case for plateau labelling).

Run as ``python benchmarks/morphology_reconstruction.py``. Everything runs in this one process;
each time is the median of the repeats after warm-up (``benchmarks/common.py``); the ratio is
scikit-image time / pixlearn time (> 1: pixlearn is faster). Outputs are checked equal first.
"""

from __future__ import annotations

import platform

import numpy as np
import skimage.data
import skimage.morphology as skm
import torch

from common import markdown_table, median_time
from pixlearn.morphology import h_maxima, reconstruction, regional_maxima, regional_minima

__all__ = ["main"]


def main() -> None:
    cam = skimage.data.camera()
    img = np.kron(cam, np.ones((4, 4), np.uint8))  # (2048, 2048) uint8
    mask32 = img.astype(np.float32)
    seed32 = np.clip(mask32 - 40, 0, None)  # the h-dome seed f - h
    high = np.clip(img.astype(np.int32) + 40, None, 255).astype(np.uint8)  # f + h
    rows = []
    cases = {
        "reconstruction by dilation, float32": (
            lambda: reconstruction(torch.from_numpy(seed32), torch.from_numpy(mask32)).numpy(),
            lambda: skm.reconstruction(seed32, mask32),
        ),
        "reconstruction by erosion, uint8": (
            lambda: reconstruction(
                torch.from_numpy(high), torch.from_numpy(img), "erosion"
            ).numpy(),
            lambda: skm.reconstruction(high, img, method="erosion"),
        ),
        "regional maxima, uint8": (
            lambda: regional_maxima(torch.from_numpy(img)).numpy(),
            lambda: skm.local_maxima(img, allow_borders=True),
        ),
        "regional maxima 4-connected, uint8": (
            lambda: regional_maxima(torch.from_numpy(img), connectivity=1).numpy(),
            lambda: skm.local_maxima(img, connectivity=1, allow_borders=True),
        ),
        "regional minima, float32": (
            lambda: regional_minima(torch.from_numpy(mask32)).numpy(),
            lambda: skm.local_minima(mask32, allow_borders=True),
        ),
        "h-maxima h=40, uint8": (
            lambda: h_maxima(torch.from_numpy(img), 40).numpy(),
            lambda: skm.h_maxima(img, 40).astype(bool),
        ),
    }
    for name, (ours, peer) in cases.items():
        np.testing.assert_array_equal(ours(), peer())  # agree before timing
        t_ours = median_time(ours, warmup=1, repeats=3)
        t_peer = median_time(peer, warmup=1, repeats=3)
        rows.append([name, f"{t_ours * 1e3:.0f}", f"{t_peer * 1e3:.0f}", f"{t_peer / t_ours:.2f}"])
    print(f"{platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}")
    print(markdown_table(["op (2048x2048)", "pixlearn ms", "skimage ms", "ratio"], rows))


if __name__ == "__main__":
    main()
