"""Figures of image formation: PSF / OTF / MTF, aliasing, and the virtual microscope.

Every function returns a :class:`matplotlib.figure.Figure` built with the object-oriented API
(no pyplot global state, so it is safe in threads and never opens a window); save it with
``fig.savefig("x.png")``. Spatial axes are in pixels or in the unit of ``pixel_size``;
frequency axes in cycles per pixel or cycles per that unit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.colors import ListedColormap, PowerNorm
from matplotlib.figure import Figure
from torch import Tensor

from pixlearn._core.check import check_image, check_int, check_positive, pair
from pixlearn._core.errors import ShapeError
from pixlearn.imaging.otf import mtf, radial_profile
from pixlearn.imaging.sampling import downsample

__all__ = ["plot_aliasing", "plot_microscope", "plot_psf_otf", "zone_plate"]


def _np(x: Tensor) -> np.ndarray:
    """A tensor as a float64 NumPy array for plotting."""
    return x.detach().to("cpu", torch.float64).numpy()


def _freq_label(unit: str) -> str:
    return f"cycles/{unit}"


def zone_plate(size: int, *, max_frequency: float = 0.5) -> Tensor:
    r"""A circular zone plate: rings whose frequency grows linearly with the radius.

    Args:
        size: side of the square image, >= 1.
        max_frequency: local frequency in cycles/pixel reached at the middle of each edge
            (distance ``size / 2`` from the centre), > 0.

    Returns:
        ``(size, size)`` float32 in [0, 1].

    Notes:
        :math:`z(r) = \tfrac12 + \tfrac12\cos(\pi k r^2)` with :math:`k = 2 f_{max} / \text{size}`;
        the local frequency, the derivative of the phase over :math:`2\pi`, is :math:`k r`.
        Every frequency above the Nyquist limit of a sampling grid shows up as a ring of the
        wrong frequency (moire) when the image is sampled on that grid.

    Example:
        >>> z = zone_plate(64)
        >>> z.shape, float(z[32, 32])
        (torch.Size([64, 64]), 1.0)
    """
    n = check_int(size, "size", min_value=1)
    fmax = check_positive(max_frequency, "max_frequency")
    c = torch.arange(n, dtype=torch.float64) - n // 2
    r2 = c[:, None] ** 2 + c[None, :] ** 2  # (n, n)
    k = 2.0 * fmax / n
    # z = (1 + cos(pi k r^2)) / 2, local frequency k r
    return (0.5 + 0.5 * torch.cos(math.pi * k * r2)).float()


def plot_psf_otf(
    psf: Tensor,
    *,
    shape: int | Sequence[int] | None = None,
    pixel_size: float = 1.0,
    cutoff: float | None = None,
    unit: str = "px",
    title: str | None = None,
) -> Figure:
    r"""Three panels: the PSF, the centred log OTF magnitude and the radial MTF.

    Args:
        psf: the PSF, ``(h, w)`` float, centred on ``(h // 2, w // 2)``.
        shape: side ``n`` (or ``(n, m)``, the larger side is used) of the square frequency grid;
            ``None`` for ``max(128, 2 * max(h, w))``. Larger grids sample the OTF more finely.
        pixel_size: sample spacing of ``psf`` in ``unit``, > 0.
        cutoff: a cut-off frequency in cycles per ``unit`` to mark (e.g.
            :func:`pixlearn.imaging.cutoff_frequency`); the radial panel then also shows the
            diffraction-limited MTF of a circular pupil with that cut-off.
        unit: name of the length unit for the axis labels (``"px"``, ``"µm"``, ...).
        title: figure title.

    Returns:
        A figure with 5 axes: PSF, log10 |OTF|, radial MTF, and the colour bars of the first two.

    Notes:
        :math:`\mathrm{OTF} = \mathcal F\{h\}`, :math:`\mathrm{MTF} = |\mathrm{OTF}|`; frequency
        :math:`k` of an :math:`n`-point grid is :math:`k / (n\,\Delta x)`. The incoherent MTF of
        a diffraction-limited circular pupil is
        :math:`\frac{2}{\pi}(\arccos s - s\sqrt{1 - s^2})`, :math:`s = f / f_c \le 1`.

    Example:
        >>> from pixlearn.imaging import gaussian_psf
        >>> fig = plot_psf_otf(gaussian_psf(15, 2.0))
        >>> len(fig.axes)
        5
    """
    check_image(psf, "psf", min_dims=2, max_dims=2, floating=True)
    dx = check_positive(pixel_size, "pixel_size")
    n = max(128, 2 * max(psf.shape)) if shape is None else max(pair(shape, "shape"))
    if cutoff is not None:
        cutoff = check_positive(cutoff, "cutoff")
    nyquist = 0.5 / dx  # cycles per unit

    fig = Figure(figsize=(14, 4.2), layout="constrained")
    ax_psf, ax_otf, ax_mtf = fig.subplots(1, 3)
    h, w = psf.shape
    # pixel edges in units, the centre pixel (h // 2, w // 2) at 0
    extent = [(-w // 2 - 0.5) * dx, (w - w // 2 - 0.5) * dx, (h - h // 2 - 0.5) * dx]
    extent.append((-h // 2 - 0.5) * dx)
    # a gamma of 0.3 lifts the faint rings (the Airy side lobes hold < 2 % of the peak)
    im = ax_psf.imshow(
        _np(psf), cmap="inferno", extent=extent, interpolation="nearest", norm=PowerNorm(0.3)
    )
    fig.colorbar(im, ax=ax_psf, label="fraction of the light (gamma 0.3)")
    ax_psf.set(title="PSF h(x, y)", xlabel=f"x ({unit})", ylabel=f"y ({unit})")

    m = mtf(psf, (n, n))  # (n, n), fft2 layout
    centred = torch.fft.fftshift(m)  # zero frequency at (n // 2, n // 2)
    # frequency k of the shifted grid sits at (k - n // 2) / (n dx)
    f_lo, f_hi = (-(n // 2) - 0.5) / (n * dx), (n - n // 2 - 0.5) / (n * dx)
    log_otf = np.log10(np.maximum(_np(centred), 1e-6))
    im = ax_otf.imshow(log_otf, cmap="viridis", extent=[f_lo, f_hi, f_hi, f_lo], vmin=-6, vmax=0)
    fig.colorbar(im, ax=ax_otf, label="log10 |OTF|")
    ax_otf.set(
        title="OTF magnitude (centred)",
        xlabel=f"fx ({_freq_label(unit)})",
        ylabel=f"fy ({_freq_label(unit)})",
    )

    profile = _np(radial_profile(centred))[: n // 2 + 1]  # rings up to the grid's Nyquist
    freqs = np.arange(profile.size) / (n * dx)
    ax_mtf.plot(freqs, profile, lw=2, label="MTF (radial mean)")
    if cutoff is not None:
        s = np.clip(freqs / cutoff, 0.0, 1.0)
        # diffraction limit: (2 / pi)(acos s - s sqrt(1 - s^2))
        ideal = 2 / np.pi * (np.arccos(s) - s * np.sqrt(1 - s**2))
        ax_mtf.plot(freqs, ideal, "--", color="gray", label="diffraction limit")
        ax_otf.add_patch(_circle(cutoff))
        ax_mtf.axvline(cutoff, color="crimson", ls=":", label=f"cut-off {cutoff:.3g}")
    ax_mtf.axvline(nyquist, color="black", ls="-.", lw=1, label=f"Nyquist {nyquist:.3g}")
    ax_mtf.set(
        title="Radial MTF",
        xlabel=f"spatial frequency ({_freq_label(unit)})",
        ylabel="contrast transfer |OTF|",
        ylim=(-0.02, 1.05),
        xlim=(0, max(nyquist, cutoff or 0.0) * 1.02),
    )
    ax_mtf.grid(alpha=0.3)
    ax_mtf.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def _circle(radius: float):
    from matplotlib.patches import Circle

    return Circle((0, 0), radius, fill=False, ls=":", lw=1.5, color="crimson")


def _spectrum(x: Tensor) -> np.ndarray:
    """log10 of the centred amplitude spectrum, normalised to its peak."""
    amp = torch.fft.fftshift(torch.fft.fft2(x.double() - x.double().mean()).abs())
    return np.log10(np.maximum(_np(amp / amp.max().clamp_min(1e-300)), 1e-5))


def plot_aliasing(
    image: Tensor | None = None,
    *,
    factor: int = 4,
    size: int = 256,
    rolloff: float = 0.25,
) -> Figure:
    r"""Aliasing and anti-aliasing: an image sampled ``factor`` times coarser, with and without
    a low-pass first, and the three amplitude spectra.

    Args:
        image: a ``(H, W)`` float image; ``None`` for a zone plate of side ``size`` whose
            frequency reaches 0.45 cycles/pixel at the edges, far above the new Nyquist limit
            (0.45 rather than 0.5: a zone plate with a rational chirp rate that divides the
            grid becomes periodic after subsampling and its spectrum a sparse lattice).
        factor: sampling step, >= 2.
        size: side of the default zone plate, >= 8.
        rolloff: transition width of the anti-aliasing filter
            (:func:`pixlearn.imaging.antialias_filter`).

    Returns:
        A figure with 7 axes: the three images on top (original, plain subsampling,
        anti-aliased subsampling), their log spectra below (the new Nyquist band
        :math:`|f| < 1/(2\,\text{factor})` marked on the original's), and the spectra's
        colour bar.

    Notes:
        Keeping every :math:`f`-th sample repeats the spectrum every :math:`1/f` cycles/pixel,
        so a frequency :math:`\nu > 1/(2f)` reappears at :math:`|\nu - k/f|`: the false rings
        (moire) of the middle column. Low-passing below :math:`1/(2f)` first (Shannon-Nyquist)
        leaves those regions a flat grey instead.

    Example:
        >>> fig = plot_aliasing(size=64)
        >>> len(fig.axes)
        7
    """
    f = check_int(factor, "factor", min_value=2)
    if image is None:
        image = zone_plate(check_int(size, "size", min_value=8), max_frequency=0.45)
    check_image(image, "image", min_dims=2, max_dims=2, floating=True, min_size=2 * f)
    naive = downsample(image, f, antialias=False)
    smooth = downsample(image, f, antialias=True, rolloff=rolloff)
    h, w = image.shape

    fig = Figure(figsize=(13, 8.5), layout="constrained")
    axes = fig.subplots(2, 3)
    columns = [
        (image, 1, "original"),
        (naive, f, f"every {f}th sample (no anti-aliasing): moire"),
        (smooth, f, f"low-pass, then every {f}th sample"),
    ]
    for (x, step, name), ax_img, ax_spec in zip(columns, axes[0], axes[1], strict=True):
        xh, xw = x.shape
        # pixel edges in original pixels, so the three images overlay the same field of view
        ax_img.imshow(
            _np(x),
            cmap="gray",
            vmin=0,
            vmax=1,
            interpolation="nearest",
            extent=[-0.5, xw * step - 0.5, xh * step - 0.5, -0.5],
        )
        ax_img.set(title=name, xlabel="x (original pixels)", ylabel="y (original pixels)")
        # frequencies in cycles per original pixel: the coarse grid spans +-1/(2 step)
        lo = -0.5 / step
        spec = ax_spec.imshow(
            _spectrum(x), cmap="magma", vmin=-5, vmax=0, extent=[lo, -lo, -lo, lo]
        )
        ax_spec.set_facecolor("black")  # outside the coarse grid's band: nothing
        ax_spec.set(
            title=f"log10 |FFT| ({xh}x{xw} samples)",
            xlabel="fx (cycles/original pixel)",
            ylabel="fy (cycles/original pixel)",
            xlim=(-0.5, 0.5),
            ylim=(0.5, -0.5),
        )
    from matplotlib.patches import Rectangle

    b = 0.5 / f
    axes[1, 0].add_patch(
        Rectangle((-b, -b), 2 * b, 2 * b, fill=False, color="cyan", ls="--", label="new Nyquist")
    )
    axes[1, 0].legend(loc="upper right", fontsize="small")
    fig.colorbar(spec, ax=axes[1, :], label="log10 |FFT| / max", shrink=0.9)
    fig.suptitle(f"Aliasing: sampling {h}x{w} -> every {f}th pixel (new Nyquist {b:g} cyc/px)")
    return fig


def _boundaries(labels: np.ndarray) -> np.ndarray:
    """Pixels with a 4-neighbour of another label (the outlines, on both sides)."""
    edge = np.zeros(labels.shape, dtype=bool)
    dx = labels[:, :-1] != labels[:, 1:]
    dy = labels[:-1, :] != labels[1:, :]
    edge[:, :-1] |= dx
    edge[:, 1:] |= dx
    edge[:-1, :] |= dy
    edge[1:, :] |= dy
    return edge


def plot_microscope(
    phantom: Tensor,
    image: Tensor,
    labels: Tensor | None = None,
    *,
    pixel_size: float | None = None,
) -> Figure:
    """The virtual microscope at a glance: phantom, camera image and the label mask.

    Args:
        phantom: the phantom on its fine grid, ``(H, W)`` float (a leading 1-channel dim is
            dropped).
        image: the camera image, ``(h, w)`` float.
        labels: the label mask at camera resolution ``(h, w)``, integer, or ``None``.
        pixel_size: camera pixel size in µm for the axes; ``None`` labels the axes in
            camera pixels.

    Returns:
        A figure with 4 axes (phantom, image and their colour bars), 5 with ``labels``
        (the image with each cell's outline in its own colour, and a colour per cell).

    Example:
        >>> labels = torch.zeros(16, 16, dtype=torch.long)
        >>> fig = plot_microscope(torch.rand(32, 32), torch.rand(16, 16), labels)
        >>> len(fig.axes)
        5
    """
    phantom = phantom.squeeze(0) if phantom.dim() == 3 else phantom
    image = image.squeeze(0) if image.dim() == 3 else image
    check_image(phantom, "phantom", min_dims=2, max_dims=2, floating=True)
    check_image(image, "image", min_dims=2, max_dims=2, floating=True)
    h, w = image.shape
    if labels is not None:
        labels = labels.squeeze(0) if labels.dim() == 3 else labels
        if tuple(labels.shape) != (h, w):
            raise ShapeError(
                f"labels must have the image's shape {(h, w)}, got {tuple(labels.shape)}"
            )
    scale = 1.0 if pixel_size is None else check_positive(pixel_size, "pixel_size")
    unit = "camera pixels" if pixel_size is None else "µm"
    extent = [-0.5 * scale, (w - 0.5) * scale, (h - 0.5) * scale, -0.5 * scale]

    panels = 2 if labels is None else 3
    fig = Figure(figsize=(5 * panels, 4.6), layout="constrained")
    axes = fig.subplots(1, panels)
    im = axes[0].imshow(_np(phantom), cmap="gray", extent=extent, interpolation="nearest")
    fig.colorbar(im, ax=axes[0], label="fluorophore density")
    axes[0].set(title=f"phantom ({phantom.shape[0]}x{phantom.shape[1]} samples)")
    im = axes[1].imshow(_np(image), cmap="gray", extent=extent, interpolation="nearest")
    fig.colorbar(im, ax=axes[1], label="intensity (ADU / full scale)")
    axes[1].set(title=f"camera image ({h}x{w})")
    if labels is not None:
        lab = labels.detach().cpu().numpy()
        gray = _np(image)
        gray = (gray - gray.min()) / max(gray.max() - gray.min(), 1e-12)
        rgb = np.repeat(gray[..., None], 3, axis=-1)
        colours = ListedColormap(np.random.default_rng(0).uniform(0.3, 1.0, (256, 3)))
        edge = _boundaries(lab) & (lab > 0)
        rgb[edge] = colours(lab[edge] % 256)[:, :3]
        axes[2].imshow(rgb, extent=extent, interpolation="nearest")
        axes[2].set(title=f"ground truth: {len(np.unique(lab[lab > 0]))} cells")
    for ax in axes:
        ax.set(xlabel=f"x ({unit})", ylabel=f"y ({unit})")
    return fig
