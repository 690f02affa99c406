"""Benchmark: connected-component labelling and Otsu's threshold (``pixlearn.segmentation``).

Rows: ``label`` of a 2048x2048 random binary image (density 0.5) and of thresholded ``coins``
upscaled to 2048x2048, 4- and 8-connectivity, against ``skimage.measure.label``,
``scipy.ndimage.label`` and ``cv2.connectedComponents``; ``threshold_otsu`` against scikit-image.
Outputs are checked first: labels equal to scikit-image's exactly, the same partition as SciPy's
and OpenCV's; thresholds equal. Ratios are peer time / pixlearn time (> 1: pixlearn faster).

Run: ``python benchmarks/segmentation.py`` (CPU, one process).
"""

from __future__ import annotations

import platform

import cv2
import numpy as np
import scipy.ndimage as ndi
import skimage
import torch
import torch.nn.functional as F
from skimage.filters import threshold_otsu as sk_otsu
from skimage.measure import label as sk_label

from common import markdown_table, median_time
from pixlearn.data import sample
from pixlearn.segmentation import label, threshold_otsu

WARMUP, REPEATS = 2, 7
SIDE = 2048


def _same_partition(a: np.ndarray, b: np.ndarray) -> bool:
    """Two label images describe the same partition (same background, bijective labels)."""
    if not np.array_equal(a == 0, b == 0):
        return False
    pairs = np.unique(np.stack([a.ravel(), b.ravel()]), axis=1)
    return len(np.unique(pairs[0])) == len(np.unique(pairs[1])) == pairs.shape[1]


def _inputs() -> dict[str, np.ndarray]:
    g = torch.Generator().manual_seed(0)
    rand = (torch.rand(SIDE, SIDE, generator=g) < 0.5).numpy()
    coins = sample("coins", dtype=torch.float32)
    coins = coins if coins.dim() == 2 else coins[0]
    big = F.interpolate(coins[None, None], size=(SIDE, SIDE), mode="bilinear")[0, 0]
    return {"random 0.5": rand, "coins > otsu": (big > threshold_otsu(big)).numpy()}


def _label_row(name: str, mask: np.ndarray, conn: int) -> list[str]:
    t = torch.from_numpy(mask)
    ours = label(t, connectivity=conn).numpy()
    structure = ndi.generate_binary_structure(2, conn)
    cv_mask = mask.astype(np.uint8)
    cv_conn = 4 if conn == 1 else 8
    assert np.array_equal(ours, sk_label(mask, connectivity=conn)), "skimage differs"
    assert _same_partition(ours, ndi.label(mask, structure)[0]), "scipy differs"
    assert _same_partition(ours, cv2.connectedComponents(cv_mask, connectivity=cv_conn)[1])
    t_ours = median_time(lambda: label(t, connectivity=conn), warmup=WARMUP, repeats=REPEATS)
    t_sk = median_time(lambda: sk_label(mask, connectivity=conn), warmup=WARMUP, repeats=REPEATS)
    t_sp = median_time(lambda: ndi.label(mask, structure), warmup=WARMUP, repeats=REPEATS)
    t_cv = median_time(
        lambda: cv2.connectedComponents(cv_mask, connectivity=cv_conn),
        warmup=WARMUP,
        repeats=REPEATS,
    )
    return [
        f"label {name}, {cv_conn}-conn ({int(ours.max())} comps)",
        f"{t_ours * 1e3:.1f}",
        f"{t_sk * 1e3:.1f} ({t_sk / t_ours:.2f}x)",
        f"{t_sp * 1e3:.1f} ({t_sp / t_ours:.2f}x)",
        f"{t_cv * 1e3:.1f} ({t_cv / t_ours:.2f}x)",
    ]


def _otsu_row(name: str, image: torch.Tensor) -> list[str]:
    arr = image.numpy()
    assert threshold_otsu(image).item() == sk_otsu(arr), "threshold differs"
    t_ours = median_time(lambda: threshold_otsu(image), warmup=WARMUP, repeats=REPEATS)
    t_sk = median_time(lambda: sk_otsu(arr), warmup=WARMUP, repeats=REPEATS)
    return [
        f"threshold_otsu {name}",
        f"{t_ours * 1e3:.1f}",
        f"{t_sk * 1e3:.1f} ({t_sk / t_ours:.2f}x)",
        "-",
        "-",
    ]


def main() -> None:
    torch.set_grad_enabled(False)
    rows = []
    for name, mask in _inputs().items():
        for conn in (1, 2):
            rows.append(_label_row(name, mask, conn))
    g = torch.Generator().manual_seed(1)
    rows.append(_otsu_row("2048x2048 float32 rand", torch.rand(SIDE, SIDE, generator=g)))
    cam = sample("camera", dtype=torch.float32)
    rows.append(_otsu_row("camera 512x512 float32", cam if cam.dim() == 2 else cam[0]))
    header = [
        "op",
        "pixlearn ms",
        "scikit-image ms (ratio)",
        "SciPy ms (ratio)",
        "OpenCV ms (ratio)",
    ]
    print(
        f"torch {torch.__version__}, scikit-image {skimage.__version__}, OpenCV {cv2.__version__}, "
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    )
    print(f"median of {REPEATS} runs after {WARMUP} warm-up runs; ratio = peer / pixlearn")
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
