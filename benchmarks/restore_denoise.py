"""Benchmark of pixlearn's denoisers against scikit-image: TV (Chambolle) on 512x512 and
2048x2048, fast NL-means on 512x512, the bilateral filter on 512x512.

Run as ``python benchmarks/restore_denoise.py``. One process, same data (the camera image plus
Gaussian noise of standard deviation 0.1, float32); each time is the median of the repeats after
warm-up (``benchmarks/common.py``); the ratio is skimage time / pixlearn time (> 1: pixlearn is
faster). Outputs are checked to agree first: TV to 1e-4; NL-means with ``approximate_exp=True``
(scikit-image's exp approximation) to 1e-3; the bilateral filter with a flat spatial kernel
(``sigma_spatial=1e4``, where scikit-image's scrambled spatial table does not matter) to 1e-4.
"""

from __future__ import annotations

import platform
from collections.abc import Callable

import numpy as np
import skimage.data
import skimage.restoration as skr
import skimage.transform
import torch

from common import markdown_table, median_time
from pixlearn.restoration import denoise_bilateral, denoise_nl_means, denoise_tv

__all__ = ["main"]


def _noisy(size: int) -> np.ndarray:
    cam = skimage.data.camera().astype(np.float64) / 255.0
    if size != cam.shape[0]:
        cam = skimage.transform.resize(cam, (size, size), anti_aliasing=True)
    rng = np.random.default_rng(0)
    return (cam + 0.1 * rng.standard_normal(cam.shape)).astype(np.float32)


def _rows() -> dict[str, tuple[dict[str, Callable[[], np.ndarray]], float]]:
    small, big = _noisy(512), _noisy(2048)
    clipped = np.clip(small, 0, 1)
    st, bt, ct = map(torch.from_numpy, (small, big, clipped))
    return {
        "denoise_tv w=0.1, 512x512": (
            {
                "pixlearn": lambda: denoise_tv(st, 0.1).numpy(),
                "skimage": lambda: skr.denoise_tv_chambolle(small, weight=0.1),
            },
            1e-4,
        ),
        "denoise_tv w=0.1, 2048x2048": (
            {
                "pixlearn": lambda: denoise_tv(bt, 0.1).numpy(),
                "skimage": lambda: skr.denoise_tv_chambolle(big, weight=0.1),
            },
            1e-4,
        ),
        "denoise_nl_means 7/11, 512x512": (
            {
                "pixlearn": lambda: denoise_nl_means(st, 7, 11, 0.08, approximate_exp=True).numpy(),
                "skimage": lambda: skr.denoise_nl_means(small, 7, 11, 0.08),
            },
            1e-3,
        ),
        "denoise_bilateral win 7, 512x512": (
            {
                "pixlearn": lambda: denoise_bilateral(ct, 7, 0.1, 1e4).numpy(),
                "skimage": lambda: skr.denoise_bilateral(clipped, 7, 0.1, 1e4),
            },
            1e-4,
        ),
    }


def main() -> None:
    table = []
    for op, (fns, tol) in _rows().items():
        diff = float(np.abs(fns["pixlearn"]() - fns["skimage"]()).max())
        assert diff <= tol, f"{op}: outputs differ by {diff}"
        t = {k: median_time(f, warmup=1, repeats=3) for k, f in fns.items()}
        ratio = t["skimage"] / t["pixlearn"]
        row = [op, f"{t['pixlearn'] * 1e3:.0f}", f"{t['skimage'] * 1e3:.0f}", f"{ratio:.2f}"]
        table.append([*row, f"{diff:.1e}"])
    print(
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    header = ["op", "pixlearn ms", "skimage ms", "ratio", "max abs diff"]
    print(markdown_table(header, table))


if __name__ == "__main__":
    main()
