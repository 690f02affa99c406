"""Benchmark of the imaging suite: LSI blur (FFT convolution) against SciPy and OpenCV.

Run as ``python benchmarks/imaging.py``. Every library runs in this one process on the same
float32 data; each time is the median of ``REPEATS`` runs after ``WARMUP`` warm-up runs, and the
ratio is peer time / pixlearn time (> 1: pixlearn is faster). The outputs are compared before
timing, so a fast wrong answer cannot pass.
"""

from __future__ import annotations

import platform

import cv2
import numpy as np
import scipy
import scipy.signal
import torch

from common import markdown_table, median_time
from pixlearn.imaging import blur, motion_psf

__all__ = ["main"]

WARMUP, REPEATS = 2, 7  # the defaults of common.median_time


def _cv2_blur(images: np.ndarray, psf: np.ndarray, border: int) -> np.ndarray:
    # filter2D correlates: flip the PSF to convolve (odd PSF: the default anchor is its centre)
    kernel = np.ascontiguousarray(psf[::-1, ::-1])
    if images.ndim == 2:
        return cv2.filter2D(images, -1, kernel, borderType=border)
    return np.stack([cv2.filter2D(im, -1, kernel, borderType=border) for im in images])


def _row(name: str, images: np.ndarray, psf: np.ndarray) -> list[str]:
    x, h = torch.from_numpy(images), torch.from_numpy(psf)
    ops = {
        "pixlearn zero": lambda: blur(x, h, boundary="zero"),
        "scipy fftconvolve": lambda: scipy.signal.fftconvolve(
            images, psf.reshape((1,) * (images.ndim - 2) + psf.shape), mode="same", axes=(-2, -1)
        ),
        "cv2 constant": lambda: _cv2_blur(images, psf, cv2.BORDER_CONSTANT),
        "pixlearn reflect": lambda: blur(x, h, boundary="reflect"),
        "cv2 reflect101": lambda: _cv2_blur(images, psf, cv2.BORDER_REFLECT_101),
    }
    # the outputs must agree before anything is timed
    zero = ops["pixlearn zero"]().numpy()
    refl = ops["pixlearn reflect"]().numpy()
    err_scipy = float(np.abs(zero - ops["scipy fftconvolve"]()).max())
    err_cv2 = float(np.abs(zero - ops["cv2 constant"]()).max())
    err_refl = float(np.abs(refl - ops["cv2 reflect101"]()).max())
    assert max(err_scipy, err_cv2, err_refl) < 1e-4, (err_scipy, err_cv2, err_refl)
    t = {k: median_time(fn) for k, fn in ops.items()}
    return [
        name,
        f"{t['pixlearn zero'] * 1e3:.1f}",
        f"{t['scipy fftconvolve'] * 1e3:.1f}",
        f"{t['scipy fftconvolve'] / t['pixlearn zero']:.2f}",
        f"{t['cv2 constant'] * 1e3:.1f}",
        f"{t['cv2 constant'] / t['pixlearn zero']:.2f}",
        f"{t['pixlearn reflect'] * 1e3:.1f}",
        f"{t['cv2 reflect101'] * 1e3:.1f}",
        f"{t['cv2 reflect101'] / t['pixlearn reflect']:.2f}",
        f"{max(err_scipy, err_cv2, err_refl):.1e}",
    ]


def main() -> None:
    rng = np.random.default_rng(0)
    psf = motion_psf(31, 25.0, 30.0).numpy() * 0.5 + 0.5 / 31**2  # 31x31, dense, sums to 1
    cases = [
        ("2048x2048", rng.random((2048, 2048), dtype=np.float32)),
        ("64 x 256x256", rng.random((64, 256, 256), dtype=np.float32)),
    ]
    header = [
        "image, 31x31 PSF, float32",
        "pixlearn zero (ms)",
        "scipy fftconvolve same (ms)",
        "ratio scipy/pixlearn",
        "cv2.filter2D constant (ms)",
        "ratio cv2/pixlearn",
        "pixlearn reflect (ms)",
        "cv2.filter2D reflect101 (ms)",
        "ratio cv2/pixlearn",
        "max abs diff",
    ]
    rows = [_row(name, images, psf) for name, images in cases]
    print(
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), numpy {np.__version__}, "
        f"scipy {scipy.__version__}, opencv {cv2.__version__} ({cv2.getNumThreads()} threads), "
        f"{platform.processor() or platform.machine()}"
    )
    print(f"median of {REPEATS} runs after {WARMUP} warm-up runs")
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
