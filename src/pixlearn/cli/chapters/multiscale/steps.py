"""Steps of the "Multiscale" demo: pyramids, a scale-space stack, blobs, wavelets."""

from __future__ import annotations

import itertools
import math

import torch
from matplotlib.figure import Figure
from matplotlib.patches import Circle

from pixlearn.cli.chapters.base import DemoSettings, image_axes
from pixlearn.cli.chapters.multiscale.chapter import MULTISCALE
from pixlearn.data import sample
from pixlearn.transform import (
    blob_log,
    gaussian_pyramid,
    gaussian_scale_space,
    laplacian_pyramid,
    reconstruct_laplacian_pyramid,
)
from pixlearn.viz.report import Section
from pixlearn.wavelets import wavedec2

__all__: list[str] = []


@MULTISCALE.step("Gaussian and Laplacian pyramids")
def _pyramids(sec: Section, cfg: DemoSettings) -> None:
    image = sample("astronaut")  # (3, 512, 512)
    if cfg.quick:
        image = image[:, ::2, ::2].contiguous()  # (3, 256, 256)
    levels = 5
    gauss = gaussian_pyramid(image, levels)
    lap = laplacian_pyramid(image, levels)
    err = float((reconstruct_laplacian_pyramid(lap) - image).abs().max())
    sec.metric(
        "Laplacian pyramid: max |reconstruction - image|", err, expected="< 1e-6", ok=err < 1e-6
    )
    stored = sum(level.numel() for level in lap) / image.numel()
    sec.metric("Laplacian pyramid: values stored / pixels", stored, expected="< 4/3")
    fig = Figure(figsize=(13, 5.6), layout="constrained")
    axes = image_axes(fig, levels, rows=2)
    for k in range(levels):
        axes[k].imshow(gauss[k].permute(1, 2, 0).clamp(0, 1).numpy())
        axes[k].set_title(f"G{k}: {gauss[k].shape[-2]}x{gauss[k].shape[-1]}", fontsize=9)
        band = lap[k].mean(0)
        lim = float(band.abs().max()) if k < levels - 1 else None
        if lim is None:
            axes[levels + k].imshow(lap[k].permute(1, 2, 0).clamp(0, 1).numpy())
        else:
            axes[levels + k].imshow(band.numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[levels + k].set_title(f"L{k}" + (" (= G top)" if lim is None else ""), fontsize=9)
    sec.figure(
        fig,
        "Top: the Gaussian pyramid (blur, then halve). Bottom: the Laplacian pyramid, "
        "L_k = G_k - expand(G_{k+1}): band-pass detail, near zero on flat areas; adding the "
        "bands back from the top reconstructs the image exactly.",
        name="pyramids",
    )


@MULTISCALE.step("Gaussian scale space")
def _scale_space(sec: Section, cfg: DemoSettings) -> None:
    image = sample("camera")[0]
    if cfg.quick:
        image = image[::2, ::2].contiguous()
    sigmas = [1.0, 2.0, 4.0, 8.0, 16.0]
    stack = gaussian_scale_space(image, sigmas)  # (S, H, W)
    # 1-D non-enhancement: a row of the image has fewer extrema at every coarser scale
    row = image[image.shape[0] // 2][None]  # (1, W)
    rows = gaussian_scale_space(row, [0.5 * 2**k for k in range(7)])[:, 0]  # (S, W)
    inner = rows[:, 1:-1]
    peaks = ((inner > rows[:, :-2]) & (inner > rows[:, 2:])) | (
        (inner < rows[:, :-2]) & (inner < rows[:, 2:])
    )
    counts = peaks.sum(-1).tolist()
    monotone = all(b <= a for a, b in itertools.pairwise(counts))
    sec.metric(
        "extrema along one row, sigma 0.5 .. 32",
        " > ".join(map(str, counts)),
        expected="non-increasing",
        ok=monotone,
    )
    fig = Figure(figsize=(13, 3.0), layout="constrained")
    axes = image_axes(fig, len(sigmas) + 1)
    axes[0].imshow(image.numpy(), cmap="gray")
    axes[0].set_title("image", fontsize=9)
    for ax, layer, s in zip(axes[1:], stack, sigmas, strict=True):
        ax.imshow(layer.numpy(), cmap="gray")
        ax.set_title(f"L(t), sigma {s:g}", fontsize=9)
    sec.figure(
        fig,
        "The scale space L(x, y; t) = f * G_t: structure vanishes as t = sigma^2 grows, and "
        "no new extremum is ever created (the scale-space axiom that singles out the Gaussian).",
        name="scale-space",
    )


@MULTISCALE.step("blob detection over scale")
def _blobs(sec: Section, cfg: DemoSettings) -> None:
    rgb = sample("hubble_deep_field")  # (3, 872, 1000)
    if cfg.quick:
        rgb = rgb[:, :400, :500]
    w = torch.tensor([0.2125, 0.7154, 0.0721])
    grey = (rgb * w[:, None, None]).sum(0)  # luma, (H, W)
    blobs = blob_log(grey, 2, 30, 10 if not cfg.quick else 6, 0.1)
    sec.metric("blobs found by the scale-normalised LoG (threshold 0.1)", int(blobs.shape[0]))
    fig = Figure(figsize=(10, 8.8), layout="constrained")
    ax = image_axes(fig, 1)[0]
    ax.imshow(rgb.permute(1, 2, 0).numpy())
    for y, x, s in blobs.tolist():
        # a blob of scale sigma has radius about sqrt(2) sigma
        ax.add_patch(Circle((x, y), math.sqrt(2) * s, color="yellow", lw=0.8, fill=False))
    sec.figure(
        fig,
        "Blobs of hubble_deep_field: local maxima of -sigma^2 LoG over (scale, y, x), "
        "overlapping detections pruned; each circle has radius sqrt(2) sigma.",
        name="blobs",
    )


@MULTISCALE.step("wavelet decomposition")
def _wavelets(sec: Section, cfg: DemoSettings) -> None:
    image = sample("camera")[0].double()
    if cfg.quick:
        image = image[::2, ::2].contiguous()
    coeffs = wavedec2(image, "db2", mode="periodization", level=3)
    energy = [float(coeffs[0].pow(2).sum())] + [
        float(sum(c.pow(2).sum() for c in detail)) for detail in coeffs[1:]
    ]
    total = sum(energy)
    sec.metric(
        "energy in the level-3 approximation (db2, orthogonal)",
        energy[0] / total,
        expected="most of it",
        ok=energy[0] / total > 0.9,
    )
    sec.metric(
        "energy kept by the transform (Parseval)",
        total / float(image.pow(2).sum()),
        expected="1",
        ok=abs(total / float(image.pow(2).sum()) - 1) < 1e-9,
    )
    fig = Figure(figsize=(8, 8), layout="constrained")
    ax = image_axes(fig, 1)[0]
    ax.imshow(_mosaic(coeffs).numpy(), cmap="gray")
    sec.figure(
        fig,
        "Three-level 2-D DWT (Daubechies 2, periodization): the approximation in the corner, "
        "then horizontal, vertical and diagonal details of each level (magnitudes, each "
        "sub-band scaled to its own range).",
        name="wavelets",
    )


def _mosaic(coeffs: list) -> torch.Tensor:
    """The classic square layout of ``wavedec2`` sub-bands (periodization: sizes halve)."""
    approx = coeffs[0]
    tile = (approx - approx.min()) / (approx.max() - approx.min()).clamp_min(1e-12)
    for ch, cv, cd in coeffs[1:]:
        h, w = ch.shape[-2:]
        out = torch.zeros(2 * h, 2 * w, dtype=tile.dtype)
        out[:h, :w] = tile[:h, :w]
        for band, (r, c) in zip((ch, cv, cd), ((0, w), (h, 0), (h, w)), strict=True):
            mag = band.abs()
            out[r : r + h, c : c + w] = mag / mag.max().clamp_min(1e-12)
        tile = out
    return tile
