"""Steps of the "Images" demo: PSFs and OTFs, linear shift-invariant imaging."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from pixlearn.cli.chapters.base import DemoSettings, image_axes
from pixlearn.cli.chapters.imaging.chapter import IMAGING
from pixlearn.data import sample
from pixlearn.imaging import (
    airy_psf,
    blur,
    cutoff_frequency,
    defocus_psf,
    gaussian_psf,
    motion_psf,
    mtf,
    psf2otf,
)
from pixlearn.viz import plot_psf_otf
from pixlearn.viz.report import Section

__all__: list[str] = []

_WAVELENGTH, _NA, _PIXEL = 0.52, 0.9, 0.05


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
    axes = image_axes(fig, len(psfs) + 1)
    axes[0].imshow(camera.numpy(), cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("camera", fontsize=9)
    for ax, (name, psf) in zip(axes[1:], psfs.items(), strict=True):
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
