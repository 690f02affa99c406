"""Benchmark: region properties and grey-level co-occurrence matrices (``pixlearn.measure``).

Rows: ``regionprops_table`` with area, centroid, bbox, eccentricity, orientation, perimeter,
solidity and Hu moments over about 1000 regions (random discs and ellipses) in a 2048x2048
label image, against ``skimage.measure.regionprops_table`` with the same properties; and
``graycomatrix`` of a 512x512 8-bit image (distances 1, 2, 4; four angles) against
``skimage.feature.graycomatrix``. Outputs are checked to agree first (properties at 1e-6
relative, orientation modulo pi; counts exactly). Ratios are peer time / pixlearn time
(> 1: pixlearn faster).

Run: ``python benchmarks/measure.py`` (CPU, one process).
"""

from __future__ import annotations

import math
import platform

import numpy as np
import skimage
import torch
from skimage.feature import graycomatrix as sk_glcm
from skimage.measure import regionprops_table as sk_table

from common import markdown_table, median_time
from pixlearn.data import sample
from pixlearn.measure import graycomatrix, regionprops_table

WARMUP, REPEATS = 1, 5
SIDE, REGIONS = 2048, 1000
OURS = ("area", "centroid", "bbox", "eccentricity", "orientation", "perimeter", "solidity")
OURS += ("moments_hu",)


def _labels() -> np.ndarray:
    """About 1000 non-overlapping ellipses of random size and angle on a 2048x2048 canvas."""
    rng = np.random.default_rng(0)
    lab = np.zeros((SIDE, SIDE), np.int32)
    cells = math.ceil(math.sqrt(REGIONS))
    step = SIDE // cells
    yy, xx = np.mgrid[:step, :step]
    k = 0
    for i in range(cells):
        for j in range(cells):
            if k == REGIONS:
                break
            a, b = rng.uniform(5, step / 2 - 2, size=2)
            t = rng.uniform(0, np.pi)
            dy, dx = yy - step / 2, xx - step / 2
            u, v = dx * np.cos(t) + dy * np.sin(t), -dx * np.sin(t) + dy * np.cos(t)
            k += 1
            blob = (u / a) ** 2 + (v / b) ** 2 <= 1
            lab[i * step : (i + 1) * step, j * step : (j + 1) * step][blob] = k
    return lab


def _check_props(ours: dict[str, torch.Tensor], ref: dict[str, np.ndarray]) -> None:
    def rel(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))

    assert rel(ours["area"].numpy(), ref["area"]) < 1e-12
    for i in range(2):
        assert rel(ours["centroid"][:, i].numpy(), ref[f"centroid-{i}"]) < 1e-9
    bbox = np.stack([ref["bbox-1"], ref["bbox-0"], ref["bbox-3"], ref["bbox-2"]], 1)
    assert np.array_equal(ours["bbox"].numpy(), bbox)
    for name in ("eccentricity", "perimeter", "solidity"):
        assert rel(ours[name].numpy(), ref[name]) < 1e-6, name
    d = ours["orientation"].numpy() - ref["orientation"]
    assert np.abs((d + np.pi / 2) % np.pi - np.pi / 2).max() < 1e-6
    for i in range(7):
        assert rel(ours["moments_hu"][:, i].numpy(), ref[f"moments_hu-{i}"]) < 1e-6


def _props_row(lab: np.ndarray) -> list[str]:
    t = torch.from_numpy(lab)
    sk_names = [n for n in OURS]
    _check_props(regionprops_table(t, properties=OURS), sk_table(lab, properties=sk_names))
    t_ours = median_time(
        lambda: regionprops_table(t, properties=OURS), warmup=WARMUP, repeats=REPEATS
    )
    t_sk = median_time(lambda: sk_table(lab, properties=sk_names), warmup=WARMUP, repeats=3)
    return [
        f"regionprops_table, {int(lab.max())} regions, {SIDE}x{SIDE}, 8 properties",
        f"{t_ours * 1e3:.1f}",
        f"{t_sk * 1e3:.1f} ({t_sk / t_ours:.2f}x)",
    ]


def _glcm_row() -> list[str]:
    img = (sample("camera", dtype=torch.float64)[0] * 255).round().to(torch.uint8)
    arr = img.numpy()
    dist, ang = [1, 2, 4], [0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4]
    assert np.array_equal(graycomatrix(img, dist, ang).numpy(), sk_glcm(arr, dist, ang))
    t_ours = median_time(lambda: graycomatrix(img, dist, ang), warmup=WARMUP, repeats=REPEATS)
    t_sk = median_time(lambda: sk_glcm(arr, dist, ang), warmup=WARMUP, repeats=REPEATS)
    return [
        "graycomatrix 512x512 uint8, 256 levels, 3 distances x 4 angles",
        f"{t_ours * 1e3:.1f}",
        f"{t_sk * 1e3:.1f} ({t_sk / t_ours:.2f}x)",
    ]


def main() -> None:
    torch.set_num_threads(1)
    rows = [_props_row(_labels()), _glcm_row()]
    print(
        f"CPU: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"scikit-image {skimage.__version__}, 1 thread; median ms (ratio = peer / pixlearn)\n"
    )
    print(markdown_table(["case", "pixlearn ms", "scikit-image ms"], rows))


if __name__ == "__main__":
    main()
