"""Benchmark of pixlearn.morphology component-tree filters and granulometry against scikit-image.

Rows: ``area_opening(area_threshold=64)`` on ``camera`` (512x512 uint8) and on a 2048x2048 uint8
image built from it (each pixel repeated 4x4), the same on a 512x512 float32 noise image, the
max-tree alone, and the granulometry (opening volumes by disks of radius 0..20) of ``coins``.

Run as ``python benchmarks/morphology_tree.py``. Everything runs in this one process; each time
is the median of the repeats after warm-up (``benchmarks/common.py``); the ratio is
scikit-image time / pixlearn time (> 1: pixlearn is faster). Outputs are checked equal first.
"""

from __future__ import annotations

import platform

import numpy as np
import skimage.data
import skimage.morphology as skm
import torch

from common import markdown_table, median_time
from pixlearn.morphology import area_opening, granulometry, max_tree

__all__ = ["main"]


def main() -> None:
    cam = skimage.data.camera()  # (512, 512) uint8
    big = np.kron(cam, np.ones((4, 4), np.uint8))  # (2048, 2048) uint8
    noise = np.random.default_rng(0).random((512, 512)).astype(np.float32)
    coins = skimage.data.coins()  # (303, 384) uint8
    radii = list(range(21))
    disks = [skm.disk(r) for r in radii]

    def sk_granulometry() -> np.ndarray:
        return np.array([skm.opening(coins, d).astype(np.float64).sum() for d in disks])

    cases = {
        "max_tree, camera 512x512 uint8": (
            lambda: max_tree(torch.from_numpy(cam)).parent.numpy(),
            lambda: skm.max_tree(cam)[0].ravel(),
            5,
        ),
        "area_opening(64), camera 512x512 uint8": (
            lambda: area_opening(torch.from_numpy(cam), 64).numpy(),
            lambda: skm.area_opening(cam, 64),
            5,
        ),
        "area_opening(64), noise 512x512 float32": (
            lambda: area_opening(torch.from_numpy(noise), 64).numpy(),
            lambda: skm.area_opening(noise, 64),
            3,
        ),
        "area_opening(64), 2048x2048 uint8": (
            lambda: area_opening(torch.from_numpy(big), 64).numpy(),
            lambda: skm.area_opening(big, 64),
            1,
        ),
        "granulometry, coins 303x384, disks r=0..20": (
            lambda: granulometry(torch.from_numpy(coins), radii).volumes.numpy(),
            sk_granulometry,
            3,
        ),
    }
    rows = []
    for name, (ours, peer, repeats) in cases.items():
        np.testing.assert_array_equal(ours(), peer())  # agree before timing
        t_ours = median_time(ours, warmup=1, repeats=repeats)
        t_peer = median_time(peer, warmup=1, repeats=repeats)
        rows.append([name, f"{t_ours * 1e3:.0f}", f"{t_peer * 1e3:.0f}", f"{t_peer / t_ours:.2f}"])
    print(f"{platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}")
    print(markdown_table(["op", "pixlearn ms", "skimage ms", "ratio"], rows))


if __name__ == "__main__":
    main()
