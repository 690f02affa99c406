"""Benchmark of pixlearn.restoration against scikit-image: Richardson-Lucy (30 iterations) on one
512x512 image and on a batch of 16 x 256x256, Wiener on 2048x2048, and the Gibbs sampler of
unsupervised Wiener on 512x512 (60 iterations, float32 and float64).

Run as ``python benchmarks/restore.py``. Everything runs in this one process on the same data
(the camera image, blurred by a 9x9 Gaussian PSF with sigma 1.5, plus noise; float32); each time
is the median of the repeats after warm-up (``benchmarks/common.py``); the ratio is skimage time /
pixlearn time (> 1: pixlearn is faster). Outputs are checked to agree (max abs difference <= 1e-4)
before timing (the sampler's outputs are random: their PSNRs to the truth must agree within
0.5 dB, both samplers running the same fixed number of iterations). scikit-image runs the batch
one image after another (it has no batch axis: its ``richardson_lucy`` would convolve a 3-D PSF
over the stack). After these rows the whole suite of the issue follows: denoising
(``restore_denoise.py``), wavelets (``wavelets.py``) and the JPEG-style codec (``compression.py``).
"""

from __future__ import annotations

import platform
from collections.abc import Callable

import numpy as np
import skimage.data
import skimage.restoration as skr
import skimage.transform
import torch
from scipy.signal import convolve

from common import markdown_table, median_time
from pixlearn.imaging import gaussian_psf
from pixlearn.metrics import psnr
from pixlearn.restoration import richardson_lucy, unsupervised_wiener, wiener

__all__ = ["main"]

NUM_ITER = 30
GIBBS_ITER = 60


def _degraded(size: int, psf: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    cam = skimage.data.camera().astype(np.float64) / 255.0
    if size != cam.shape[0]:
        cam = skimage.transform.resize(cam, (size, size), anti_aliasing=True)
    image = convolve(cam, psf, mode="same") + 0.01 * rng.standard_normal(cam.shape)
    return np.clip(image, 0, 1).astype(np.float32)


def _rows() -> dict[str, dict[str, Callable[[], np.ndarray]]]:
    rng = np.random.default_rng(0)
    psf = gaussian_psf(9, 1.5, dtype=torch.float64).numpy()
    psf32, psf_t = psf.astype(np.float32), torch.from_numpy(psf.astype(np.float32))
    one = _degraded(512, psf, rng)
    batch = np.stack([np.roll(_degraded(256, psf, rng), 8 * i, 0) for i in range(16)])
    big = _degraded(2048, psf, rng)
    one_t, batch_t, big_t = map(torch.from_numpy, (one, batch, big))
    return {
        f"richardson_lucy {NUM_ITER} it, 512x512": {
            "pixlearn": lambda: richardson_lucy(one_t, psf_t, NUM_ITER).numpy(),
            "skimage": lambda: skr.richardson_lucy(one, psf32, NUM_ITER),
        },
        f"richardson_lucy {NUM_ITER} it, 16x256x256": {
            "pixlearn": lambda: richardson_lucy(batch_t, psf_t, NUM_ITER).numpy(),
            "skimage": lambda: np.stack([skr.richardson_lucy(b, psf32, NUM_ITER) for b in batch]),
        },
        "wiener, 2048x2048": {
            "pixlearn": lambda: wiener(big_t, psf_t, 0.01).numpy(),
            "skimage": lambda: skr.wiener(big, psf32, 0.01),
        },
    }


def _gibbs_table() -> str:
    """unsupervised_wiener vs scikit-image: same data, same fixed number of Gibbs iterations."""
    cam = skimage.data.camera().astype(np.float64) / 255.0
    psf = gaussian_psf(9, 1.5, dtype=torch.float64).numpy()
    image = convolve(cam, psf, mode="same") + 0.01 * np.random.default_rng(0).standard_normal(
        cam.shape
    )
    truth = torch.from_numpy(cam)
    # threshold 0: no early stop, both run exactly GIBBS_ITER iterations
    params = {"threshold": 0.0, "min_num_iter": GIBBS_ITER, "max_num_iter": GIBBS_ITER}
    table = []
    for dtype in (np.float32, np.float64):
        y, p = image.astype(dtype), psf.astype(dtype)
        y_t, p_t = torch.from_numpy(y), torch.from_numpy(p)
        fns = {
            "pixlearn": lambda y_t=y_t, p_t=p_t: unsupervised_wiener(
                y_t, p_t, user_params=params, generator=torch.Generator().manual_seed(0)
            )[0].numpy(),
            "skimage": lambda y=y, p=p: skr.unsupervised_wiener(y, p, user_params=params, rng=0)[0],
        }
        quality = {k: float(psnr(torch.from_numpy(f()).double(), truth)) for k, f in fns.items()}
        gap = quality["pixlearn"] - quality["skimage"]
        assert abs(gap) <= 0.5, f"unsupervised_wiener: PSNRs differ by {gap:.2f} dB"
        t = {k: median_time(f, warmup=1, repeats=5) for k, f in fns.items()}
        table.append(
            [
                f"unsupervised_wiener {GIBBS_ITER} it, 512x512, {np.dtype(dtype).name}",
                f"{t['pixlearn'] * 1e3:.1f}",
                f"{t['skimage'] * 1e3:.1f}",
                f"{t['skimage'] / t['pixlearn']:.2f}",
                f"{quality['pixlearn']:.2f} / {quality['skimage']:.2f}",
            ]
        )
    header = ["op (Gibbs sampler)", "pixlearn ms", "skimage ms", "skimage / pixlearn", "PSNR dB"]
    return markdown_table(header, table)


def main() -> None:
    table = []
    for op, fns in _rows().items():
        diff = float(np.abs(fns["pixlearn"]() - fns["skimage"]()).max())
        assert diff <= 1e-4, f"{op}: outputs differ by {diff}"
        repeats = 3 if "richardson" in op else 7
        t = {k: median_time(f, warmup=1, repeats=repeats) for k, f in fns.items()}
        table.append(
            [
                op,
                f"{t['pixlearn'] * 1e3:.1f}",
                f"{t['skimage'] * 1e3:.1f}",
                f"{t['skimage'] / t['pixlearn']:.2f}",
                f"{diff:.1e}",
            ]
        )
    header = ["op (float32)", "pixlearn ms", "skimage ms", "skimage / pixlearn", "max abs diff"]
    print(
        f"CPU: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    print(markdown_table(header, table))
    print()
    print(_gibbs_table())


def main_all() -> None:
    """The issue's whole suite: deconvolution, denoising, wavelets and the JPEG codec."""
    import compression
    import restore_denoise
    import wavelets

    main()
    for suite in (restore_denoise, wavelets, compression):
        print()
        suite.main()


if __name__ == "__main__":
    main_all()
