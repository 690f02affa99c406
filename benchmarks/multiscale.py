"""Benchmark of multiscale analysis: blob detection (LoG and DoG) on hubble_deep_field and the
Gaussian pyramid of a 2048x2048 image, against scikit-image.

Run as ``python benchmarks/multiscale.py``. Everything runs in this one process; each time is the
median of ``REPEATS`` runs after ``WARMUP`` warm-up runs; the ratio is scikit-image time /
pixlearn time (> 1: pixlearn is faster). Outputs are compared before timing: blobs as the
fraction matched within 2 px both ways (the blur borders differ: SciPy's 'reflect' repeats the
edge pixel, pixlearn's does not), the pyramid level by level (mode 'wrap' on both sides, where
the conventions are identical).
"""

from __future__ import annotations

import platform

import numpy as np
import skimage.feature as skf
import skimage.transform as skt
import torch
from scipy.spatial import cKDTree

from common import markdown_table, median_time
from pixlearn.data import sample
from pixlearn.transform import blob_dog, blob_log, gaussian_pyramid, pyramid_max_levels

__all__ = ["main"]

WARMUP, REPEATS = 1, 3


def _matched(a: np.ndarray, b: np.ndarray) -> float:
    d, _ = cKDTree(b[:, :2]).query(a[:, :2])
    return float((d <= 2).mean())


def _hubble() -> torch.Tensor:
    rgb = sample("hubble_deep_field", dtype=torch.float64)
    w = torch.tensor([0.2125, 0.7154, 0.0721], dtype=torch.float64)  # skimage's rgb2gray
    return (rgb * w[:, None, None]).sum(0)  # (872, 1000)


def main() -> None:
    rows = []
    grey = _hubble()
    cases = {
        "blob_log hubble 872x1000 (defaults)": (
            lambda: blob_log(grey).numpy(),
            lambda: skf.blob_log(grey.numpy()),
        ),
        "blob_dog hubble 872x1000 (max_sigma 30, thr 0.1)": (
            lambda: blob_dog(grey, max_sigma=30, threshold=0.1).numpy(),
            lambda: skf.blob_dog(grey.numpy(), max_sigma=30, threshold=0.1),
        ),
    }
    for name, (ours, peer) in cases.items():
        a, b = ours(), peer()
        agree = min(_matched(a, b), _matched(b, a))
        assert agree >= 0.95, (name, agree)
        t_ours = median_time(ours, warmup=WARMUP, repeats=REPEATS)
        t_peer = median_time(peer, warmup=WARMUP, repeats=REPEATS)
        check = f"{len(a)} vs {len(b)} blobs, {100 * agree:.1f}% matched"
        rows.append(
            [name, f"{t_ours * 1e3:.0f}", f"{t_peer * 1e3:.0f}", f"{t_peer / t_ours:.2f}", check]
        )

    image = torch.rand(2048, 2048, generator=torch.Generator().manual_seed(0))
    levels = pyramid_max_levels(2048, 2048)
    ours = lambda: gaussian_pyramid(image, levels, border="circular")  # noqa: E731
    peer = lambda: list(skt.pyramid_gaussian(image.numpy(), mode="wrap"))  # noqa: E731
    err = max(float(np.abs(a.numpy() - b).max()) for a, b in zip(ours(), peer(), strict=True))
    assert err < 1e-5, err
    t_ours = median_time(ours, warmup=WARMUP, repeats=REPEATS)
    t_peer = median_time(peer, warmup=WARMUP, repeats=REPEATS)
    rows.append(
        [
            f"gaussian_pyramid 2048x2048 float32, {levels} levels",
            f"{t_ours * 1e3:.0f}",
            f"{t_peer * 1e3:.0f}",
            f"{t_peer / t_ours:.2f}",
            f"max abs diff {err:.1e}",
        ]
    )
    print(
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    print(markdown_table(["case", "pixlearn ms", "scikit-image ms", "ratio", "agreement"], rows))


if __name__ == "__main__":
    main()
