"""Steps of the "Images" demo: sampling and aliasing, quantisation, the Bayer mosaic, noise."""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure

from pixlearn.cli.chapters.base import DemoSettings, image_axes, psnr
from pixlearn.cli.chapters.imaging.chapter import IMAGING
from pixlearn.data import sample
from pixlearn.imaging import (
    bayer_mosaic,
    demosaic,
    downsample,
    gaussian_noise,
    poisson_noise,
    quantize,
    salt_and_pepper,
    uniform_noise,
)
from pixlearn.viz import plot_aliasing
from pixlearn.viz.report import Section

__all__: list[str] = []


@IMAGING.step("sampling and aliasing")
def _aliasing(sec: Section, cfg: DemoSettings) -> None:
    # A grating of 0.4 cycles/px sampled every 2nd pixel: the new Nyquist limit is 0.25, so it
    # folds to |0.4 - 0.5| = 0.1 cycles per original pixel, i.e. 0.2 cycles per new sample.
    # 250 pixels hold exactly 100 periods, so the alias falls on an FFT bin.
    n, f, factor = 250, 0.4, 2
    x = torch.arange(n, dtype=torch.float64)
    grating = (0.5 + 0.5 * torch.cos(2 * math.pi * f * x))[None, :].expand(16, n)
    plain = downsample(grating, factor, antialias=False)
    filtered = downsample(grating, factor, antialias=True)
    spectrum = torch.fft.rfft(plain[0] - plain[0].mean()).abs()
    measured = float(spectrum.argmax()) / plain.shape[-1]
    predicted = abs(f * factor - round(f * factor))
    sec.metric(
        "alias of a 0.4 cycles/px grating sampled every 2nd pixel",
        measured,
        unit="cycles/sample",
        expected=f"{predicted:.3g}",
        ok=abs(measured - predicted) < 1e-9,
    )
    # Away from the borders (where the mirrored extension rings), what is left of the grating.
    amp = float((filtered[:, 8:-8] - 0.5).abs().max())
    db = 20 * math.log10(0.5 / max(amp, 1e-300))
    sec.metric(
        "the same grating, anti-aliased first: suppression",
        db,
        unit="dB",
        expected="> 40 dB",
        ok=db > 40,
    )
    sec.figure(
        plot_aliasing(),
        "Sampling below the Nyquist rate: without an anti-aliasing filter, high frequencies "
        "fold back as false low-frequency patterns (moire); the filter removes them first.",
        name="aliasing",
    )


@IMAGING.step("quantisation and the Bayer mosaic")
def _quantise_and_bayer(sec: Section, cfg: DemoSettings) -> None:
    camera = sample("camera")[0]
    fig = Figure(figsize=(13, 3.6), layout="constrained")
    axes = image_axes(fig, 4)
    ramp = torch.linspace(0, 1, 4096)[None]  # (1, 4096)
    for ax, bits in zip(axes, (1, 2, 4, 8), strict=True):
        ax.imshow(quantize(camera, bits).numpy(), cmap="gray", vmin=0, vmax=1)
        levels = int(quantize(ramp, bits).unique().numel())
        ax.set_title(f"{bits} bit: {levels} levels", fontsize=9)
        sec.metric(f"levels at {bits} bits", levels, expected=str(2**bits), ok=levels == 2**bits)
    sec.figure(
        fig,
        "Quantisation to 1, 2, 4 and 8 bits (false contours at low depth).",
        name="quantisation",
    )

    rgb = sample("astronaut")
    raw = bayer_mosaic(rgb)
    back = demosaic(raw)
    db = psnr(back[:, 2:-2, 2:-2], rgb[:, 2:-2, 2:-2])
    sec.metric("bilinear demosaic PSNR (astronaut)", db, unit="dB", expected="> 25 dB", ok=db > 25)
    crop = (slice(None), slice(80, 208), slice(160, 288))
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    axes = image_axes(fig, 3)
    for ax, img, title in zip(
        axes,
        (rgb[crop], raw[crop[1:]], back[crop]),
        ("original", "Bayer RGGB raw (2x green)", "bilinear demosaic"),
        strict=True,
    ):
        ax.imshow(
            img.permute(1, 2, 0).numpy() if img.dim() == 3 else img.numpy(),
            cmap="gray",
            vmin=0,
            vmax=1,
        )
        ax.set_title(title, fontsize=9)
    sec.figure(
        fig,
        "A colour sensor samples green twice as often as red or blue; "
        "demosaicking interpolates the missing samples.",
        name="bayer",
    )


@IMAGING.step("noise models")
def _noise(sec: Section, cfg: DemoSettings) -> None:
    camera = sample("camera").double()[0]
    g = cfg.generator()
    flat = torch.full((256, 256), 0.5, dtype=torch.float64)
    noisy = {
        "Gaussian, sigma 0.1": (
            gaussian_noise(camera, 0.1, generator=g),
            gaussian_noise(flat, 0.1, generator=g),
            0.1**2,
        ),
        "Poisson, 20 photons": (
            poisson_noise(camera, 20.0, generator=g),
            poisson_noise(flat, 20.0, generator=g),
            0.5 / 20,
        ),
        "salt and pepper, 5%": (
            salt_and_pepper(camera, 0.05, generator=g),
            salt_and_pepper(flat, 0.05, generator=g),
            0.05 * 0.25,
        ),
        "uniform, [-0.2, 0.2]": (
            uniform_noise(camera, -0.2, 0.2, generator=g),
            uniform_noise(flat, -0.2, 0.2, generator=g),
            0.4**2 / 12,
        ),
    }
    fig = Figure(figsize=(13, 3.6), layout="constrained")
    axes = image_axes(fig, len(noisy))
    for ax, (name, (img, on_flat, var)) in zip(axes, noisy.items(), strict=True):
        ax.imshow(img.clamp(0, 1).numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(name, fontsize=9)
        measured = float(on_flat.var())
        sec.metric(
            f"variance on a flat 0.5 image, {name}",
            measured,
            expected=f"{var:.4g}",
            ok=abs(measured - var) < 0.05 * var,
        )
    sec.figure(fig, "The four noise models of the syllabus on the camera image.", name="noise")
