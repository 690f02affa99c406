"""Demo chapter "Images": PSF and OTF, LSI blur, sampling and aliasing, noise, cameras, microscope.

Every number printed here is measured in the run, next to what the theory says it should be.
"""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure

from pixlearn.cli.chapters.base import Chapter, DemoSettings
from pixlearn.data import sample
from pixlearn.data.synthetic import cells
from pixlearn.imaging import (
    airy_psf,
    bayer_mosaic,
    blur,
    cutoff_frequency,
    defocus_psf,
    demosaic,
    downsample,
    gaussian_noise,
    gaussian_psf,
    motion_psf,
    mtf,
    poisson_noise,
    psf2otf,
    quantize,
    salt_and_pepper,
    uniform_noise,
    VirtualMicroscope,
)
from pixlearn.viz import plot_aliasing, plot_microscope, plot_psf_otf
from pixlearn.viz.report import Section

__all__ = ["IMAGING"]

IMAGING = Chapter(
    "Images: how an image forms",
    "A scene is blurred by the optics (convolution with the point-spread function, i.e. "
    "multiplication of its spectrum by the optical transfer function), sampled on the pixel "
    "grid, quantised and corrupted by noise. Each step below simulates one stage on built-in "
    "data and measures the property the theory predicts.",
)

# A green-emitting fluorophore under a good dry objective, sampled at 50 nm in the object plane.
_WAVELENGTH, _NA, _PIXEL = 0.52, 0.9, 0.05


def _image_axes(fig: Figure, n: int, rows: int = 1) -> list:
    axes = fig.subplots(rows, n, squeeze=False).ravel().tolist()
    for ax in axes:
        ax.set_axis_off()
    return axes


def _psnr(x: torch.Tensor, ref: torch.Tensor) -> float:
    mse = float(((x - ref) ** 2).mean())
    return 10 * math.log10(1.0 / mse) if mse > 0 else math.inf


def _psfs(size: int) -> dict[str, torch.Tensor]:
    return {
        "Gaussian, sigma 2 px": gaussian_psf(size, 2.0, dtype=torch.float64),
        f"Airy, NA {_NA}, 520 nm, 50 nm px": airy_psf(
            size, wavelength=_WAVELENGTH, na=_NA, pixel_size=_PIXEL, dtype=torch.float64
        ),
        "defocus, radius 5 px": defocus_psf(size, 5.0, dtype=torch.float64),
        "motion, 15 px at 30 deg": motion_psf(size, 15.0, 30.0, dtype=torch.float64),
    }


@IMAGING.step("point-spread functions and their OTFs")
def _psf_and_otf(sec: Section, cfg: DemoSettings) -> None:
    size = 33
    psfs = _psfs(size)
    fig = Figure(figsize=(13, 6.4), layout="constrained")
    axes = fig.subplots(2, len(psfs), squeeze=False)
    for col, (name, psf) in enumerate(psfs.items()):
        otf = psf2otf(psf, (128, 128))
        sec.metric(
            f"OTF(0), {name}",
            float(otf[0, 0].real),
            expected="1",
            ok=bool(abs(float(otf[0, 0].real) - 1) < 1e-9),
        )
        axes[0, col].imshow(psf.numpy(), cmap="magma")
        axes[0, col].set_title(name, fontsize=9)
        shifted = torch.fft.fftshift(otf.abs()).numpy()
        axes[1, col].imshow(shifted, cmap="viridis", extent=(-0.5, 0.5, -0.5, 0.5))
        axes[1, col].set_xlabel("cycles / pixel")
    axes[0, 0].set_ylabel("PSF")
    axes[1, 0].set_ylabel("|OTF|")
    sec.figure(fig, "Four PSFs (top) and the magnitude of their OTF (bottom).", name="psfs")

    # The Airy OTF is band-limited: nothing passes beyond f_c = 2 NA / lambda.
    airy = airy_psf(129, wavelength=_WAVELENGTH, na=_NA, pixel_size=_PIXEL, dtype=torch.float64)
    fc = cutoff_frequency(wavelength=_WAVELENGTH, na=_NA) * _PIXEL  # cycles / pixel
    m = mtf(airy, (256, 256))
    fy = torch.fft.fftfreq(256, dtype=torch.float64)
    radius = torch.sqrt(fy[:, None] ** 2 + fy[None, :] ** 2)
    beyond = float(m[radius > 1.05 * fc].max())
    sec.metric("Airy cut-off frequency 2 NA / lambda", fc, unit="cycles/px")
    sec.metric(
        "max |OTF| beyond 1.05 f_c (Airy)", beyond, expected="~0 (band-limited)", ok=beyond < 0.01
    )
    sec.figure(
        plot_psf_otf(
            airy[48:81, 48:81],
            shape=(256, 256),
            pixel_size=_PIXEL,
            cutoff=cutoff_frequency(wavelength=_WAVELENGTH, na=_NA),
            unit="µm",
        ),
        "The diffraction-limited (Airy) PSF, its OTF and the radial MTF, which reaches zero at "
        "the cut-off frequency 2 NA / lambda.",
        name="airy",
    )


@IMAGING.step("linear shift-invariant imaging")
def _lsi(sec: Section, cfg: DemoSettings) -> None:
    camera = sample("camera").double()[0]  # (512, 512)
    if cfg.quick:
        camera = camera[::2, ::2]
    psfs = _psfs(33)
    fig = Figure(figsize=(13, 3.6), layout="constrained")
    axes = _image_axes(fig, len(psfs) + 1)
    axes[0].imshow(camera.numpy(), cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("camera", fontsize=9)
    for ax, (name, psf) in zip(axes[1:], psfs.items()):
        ax.imshow(blur(camera, psf, boundary="reflect").numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_title(name, fontsize=9)
    sec.figure(fig, "The camera image through each PSF (reflecting border).", name="blurred")

    # L{a g1 + b g2} = a L{g1} + b L{g2} and L{T g} = T L{g}, on random images.
    g = torch.Generator().manual_seed(cfg.seed)
    g1, g2 = torch.rand(2, 96, 96, generator=g, dtype=torch.float64)
    h = psfs["defocus, radius 5 px"]
    lin = float((blur(2 * g1 - 3 * g2, h) - (2 * blur(g1, h) - 3 * blur(g2, h))).abs().max())
    shifted = torch.roll(g1, (7, -11), dims=(0, 1))
    shift = float((blur(shifted, h) - torch.roll(blur(g1, h), (7, -11), dims=(0, 1))).abs().max())
    sec.metric(
        "linearity error, max |L{2g1-3g2} - (2L{g1}-3L{g2})|",
        lin,
        expected="< 1e-12",
        ok=lin < 1e-12,
    )
    sec.metric(
        "shift-invariance error, max |L{Tg} - TL{g}|", shift, expected="< 1e-12", ok=shift < 1e-12
    )

    # The convolution theorem: FFT blur == direct sum_s g(x - s) h(s), circular border.
    small = camera[:64, :64]
    hs = psfs["motion, 15 px at 30 deg"]
    padded = torch.nn.functional.pad(small[None, None], (16, 16, 16, 16), mode="circular")
    direct = torch.nn.functional.conv2d(padded, hs.flip(0, 1)[None, None])[0, 0]
    err = float((blur(small, hs) - direct).abs().max())
    sec.metric("FFT blur vs direct spatial convolution", err, expected="< 1e-12", ok=err < 1e-12)


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
    axes = _image_axes(fig, 4)
    ramp = torch.linspace(0, 1, 4096)[None]  # (1, 4096)
    for ax, bits in zip(axes, (1, 2, 4, 8)):
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
    psnr = _psnr(back[:, 2:-2, 2:-2], rgb[:, 2:-2, 2:-2])
    sec.metric(
        "bilinear demosaic PSNR (astronaut)", psnr, unit="dB", expected="> 25 dB", ok=psnr > 25
    )
    crop = (slice(None), slice(80, 208), slice(160, 288))
    fig = Figure(figsize=(11, 3.8), layout="constrained")
    axes = _image_axes(fig, 3)
    for ax, img, title in zip(
        axes,
        (rgb[crop], raw[crop[1:]], back[crop]),
        ("original", "Bayer RGGB raw (2x green)", "bilinear demosaic"),
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
    axes = _image_axes(fig, len(noisy))
    for ax, (name, (img, on_flat, var)) in zip(axes, noisy.items()):
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


@IMAGING.step("virtual fluorescence microscope")
def _microscope(sec: Section, cfg: DemoSettings) -> None:
    size = 128 if cfg.quick else 256  # camera pixels
    phantom, labels = cells(
        1,
        2 * size,
        n_cells=(8, 14) if cfg.quick else (25, 40),
        radius=(10.0, 18.0),
        generator=cfg.generator(),
    )
    results = {}
    for na in (0.4, 1.3):
        scope = VirtualMicroscope(
            na=na, photons=300.0, read_noise=2.0, bit_depth=12, pixel_size=0.1, oversample=2
        )
        image, truth = scope.simulate(phantom, labels, generator=cfg.generator())
        psnr = _psnr(image, truth.phantom + scope.background)
        results[na] = (image, truth, psnr)
        sec.metric(f"PSNR vs ground truth, NA {na}", psnr, unit="dB")
    sec.metric(
        "higher NA gives the sharper image",
        results[1.3][2] - results[0.4][2],
        unit="dB",
        expected="> 0",
        ok=results[1.3][2] > results[0.4][2],
    )
    truth = results[1.3][1]
    n_cells = int(truth.labels.max())
    sec.metric("cells in the ground-truth mask", n_cells, expected=">= 1", ok=n_cells >= 1)
    sec.figure(
        plot_microscope(phantom[0], results[1.3][0][0, 0], truth.labels[0], pixel_size=0.1),
        "A synthetic cell phantom imaged at NA 1.3 (300 photons, read noise 2 e-, "
        "12-bit camera) with its perfect label mask.",
        name="microscope",
    )
    fig = Figure(figsize=(9, 4.4), layout="constrained")
    axes = _image_axes(fig, 2)
    for ax, na in zip(axes, (0.4, 1.3)):
        img, _, psnr = results[na]
        ax.imshow(img[0, 0].numpy(), cmap="gray")
        ax.set_title(f"NA {na}: PSNR {psnr:.1f} dB", fontsize=9)
    sec.figure(
        fig,
        "The same cells through a low- and a high-aperture objective: the cut-off "
        "frequency 2 NA / lambda sets the finest resolvable detail.",
        name="na",
    )
