"""Benchmark of template matching: pixlearn against scikit-image and OpenCV.

Run as ``python benchmarks/enhance_template.py``. Every library runs in this one process on the
same float32 data (a 64x64 template cut from the image); each time is the median of ``REPEATS``
runs after ``WARMUP`` warm-up runs, and the ratio is peer time / pixlearn time (> 1: pixlearn is
faster). The outputs are compared before timing (to the float64 scikit-image result), so a fast
wrong answer cannot pass.
"""

from __future__ import annotations

import platform
from collections.abc import Callable

import cv2
import numpy as np
import scipy.ndimage as ndi
import skimage
import skimage.feature
import torch

from common import median_time
from pixlearn.filters import match_template

__all__ = ["main"]

WARMUP, REPEATS = 1, 5


def _median_time(fn: Callable[[], object]) -> float:
    return median_time(fn, warmup=WARMUP, repeats=REPEATS)


def _each(fn: Callable[[np.ndarray, np.ndarray], np.ndarray], images: np.ndarray, tpl: np.ndarray):
    if images.ndim == 2:
        return fn(images, tpl)
    return np.stack([fn(im, tpl) for im in images])


def _skimage(im: np.ndarray, tpl: np.ndarray) -> np.ndarray:
    return skimage.feature.match_template(im, tpl)


def _cv2(im: np.ndarray, tpl: np.ndarray) -> np.ndarray:
    return cv2.matchTemplate(im, tpl, cv2.TM_CCOEFF_NORMED)


def _row(name: str, images: np.ndarray, tpl: np.ndarray) -> list[str]:
    x, t = torch.from_numpy(images), torch.from_numpy(tpl)
    ops = {
        "pixlearn": lambda: match_template(x, t),
        "skimage": lambda: _each(_skimage, images, tpl),
        "cv2": lambda: _each(_cv2, images, tpl),
    }
    # the outputs must agree before anything is timed (reference: float64 scikit-image on a
    # sample; OpenCV works in float32 with its own rounding, so it gets a looser bound)
    sample = images if images.ndim == 2 else images[:2]
    ref = _each(_skimage, sample.astype(np.float64), tpl.astype(np.float64))
    ours = ops["pixlearn"]().numpy()[: len(sample)] if images.ndim == 3 else ops["pixlearn"]()
    err = float(np.abs(np.asarray(ours) - ref).max())
    err_cv2 = float(np.abs(_each(_cv2, sample, tpl) - ref).max())
    assert err < 1e-4 and err_cv2 < 1e-2, (err, err_cv2)
    t_ = {k: _median_time(fn) for k, fn in ops.items()}
    return [
        name,
        f"{t_['pixlearn'] * 1e3:.1f}",
        f"{t_['skimage'] * 1e3:.1f}",
        f"{t_['skimage'] / t_['pixlearn']:.2f}",
        f"{t_['cv2'] * 1e3:.1f}",
        f"{t_['cv2'] / t_['pixlearn']:.2f}",
        f"{err:.1e}",
    ]


def main() -> None:
    rng = np.random.default_rng(0)
    big = ndi.gaussian_filter(rng.random((2048, 2048)), 2.0).astype(np.float32)
    batch = ndi.gaussian_filter(rng.random((64, 256, 256)), (0, 2.0, 2.0)).astype(np.float32)
    rows = [
        _row("2048x2048, 64x64 template", big, np.ascontiguousarray(big[900:964, 1000:1064])),
        _row("64 x 256x256, 64x64 template", batch, np.ascontiguousarray(batch[0, 90:154, 40:104])),
    ]
    head = ["case", "pixlearn ms", "skimage ms", "skimage/pl", "cv2 ms", "cv2/pl", "max err"]
    print(
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), skimage "
        f"{skimage.__version__}, OpenCV {cv2.__version__}, {platform.processor() or 'cpu'}"
    )
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
