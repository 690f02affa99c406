r"""The virtual fluorescence microscope: phantom -> optics -> sampling -> noise -> digital image.

The whole image-formation chain of the syllabus in one object. A phantom (the fluorophore
density on a grid ``oversample`` times finer than the camera pixels) is

1. blurred by the objective, a linear shift-invariant system whose PSF is the Airy pattern,
2. integrated over each camera pixel (sampling),
3. counted as photo-electrons (Poisson shot noise) on top of a uniform background,
4. read out with Gaussian read noise,
5. digitised by an ADC of ``bit_depth`` bits (quantisation and saturation).

:func:`simulate_dataset` runs it over synthetic cells (:func:`pixlearn.data.synthetic.cells`)
and writes TIFF images, label masks and a ``meta.json``: training data with perfect ground truth.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import Tensor

from pixlearn._core.check import (
    check_choice,
    check_image,
    check_int,
    check_positive,
    check_range,
    check_tensor,
    describe,
)
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError
from pixlearn.imaging.blur import blur
from pixlearn.imaging.noise import gaussian_noise, poisson_noise
from pixlearn.imaging.psf import airy_psf
from pixlearn.imaging.sampling import quantize

__all__ = ["MAX_NA", "GroundTruth", "VirtualMicroscope", "simulate_dataset"]

#: Largest accepted numerical aperture, NA = n sin(alpha): oil immersion (n = 1.515) reaches
#: 1.4-1.49 in practice, so 1.5 bounds the usual immersion media.
MAX_NA = 1.5


class GroundTruth(NamedTuple):
    """What a perfect instrument would have recorded, at camera resolution.

    Attributes:
        phantom: the phantom integrated over each camera pixel, unblurred and noise-free,
            ``(..., h, w)``.
        clean: the expected camera image before noise and quantisation (blurred, integrated,
            plus background), in image units, ``(..., h, w)``.
        labels: the label mask at camera resolution (majority vote per pixel), or ``None``.
    """

    phantom: Tensor
    clean: Tensor
    labels: Tensor | None


def _bin(x: Tensor, f: int) -> Tensor:
    """Pixel integration: the mean over non-overlapping ``f x f`` blocks."""
    if f == 1:
        return x.clone()
    *lead, hh, ww = x.shape
    # (..., h, f, w, f) -> mean over the two within-pixel axes -> (..., h, w)
    return x.reshape(*lead, hh // f, f, ww // f, f).mean(dim=(-3, -1))


def _majority(labels: Tensor, f: int) -> Tensor:
    """The most frequent label of each ``f x f`` block; ties go to the smallest label."""
    if f == 1:
        return labels.clone()
    *lead, hh, ww = labels.shape
    h, w = hh // f, ww // f
    blocks = labels.reshape(*lead, h, f, w, f).transpose(-3, -2).reshape(*lead, h, w, f * f)
    # count_i = #{j : v_j == v_i}, (..., h, w, f^2)
    counts = (blocks[..., :, None] == blocks[..., None, :]).sum(-1)
    # the highest count wins; among equal counts the smallest label (score decreasing in v)
    big = int(blocks.max()) - int(blocks.min()) + 1 if blocks.numel() else 1
    score = counts * big - (blocks - blocks.min() if blocks.numel() else blocks)
    return blocks.gather(-1, score.argmax(-1, keepdim=True)).squeeze(-1)


@dataclasses.dataclass(frozen=True)
class VirtualMicroscope:
    r"""A widefield fluorescence microscope with a camera, from phantom to digital image.

    Args:
        na: numerical aperture of the objective, in (0, :data:`MAX_NA`] (1.5: oil immersion).
        wavelength: emission wavelength in micrometres, > 0.
        pixel_size: camera pixel pitch in the sample plane (camera pitch / magnification) in
            micrometres, > 0.
        photons: expected photo-electrons per camera pixel at intensity 1, > 0. Intensity 1
            is also the full scale of the ADC: brighter pixels saturate.
        read_noise: standard deviation of the read-out noise in photo-electrons (the
            :math:`e^-` rms of a camera data sheet), >= 0.
        bit_depth: ADC bits, 1..24; the image holds :math:`2^b` levels.
        oversample: phantom samples per camera pixel along each axis, >= 1; the phantom grid
            spacing is ``pixel_size / oversample``.
        background: uniform background intensity added to the blurred signal (out-of-focus
            light, autofluorescence), in [0, 1).
        boundary: how the blur extends the phantom beyond its border: ``"reflect"``,
            ``"circular"`` or ``"zero"``.
        psf_size: PSF side in phantom samples, odd; ``None`` covers a radius of eight Airy
            zeros, :math:`8 \cdot 0.61\lambda/\mathrm{NA}` (97 % of the light).

    Notes:
        With :math:`p` the phantom, :math:`h` the Airy PSF (:func:`pixlearn.imaging.airy_psf`,
        first zero at :math:`0.61\lambda/\mathrm{NA}`, OTF cut-off
        :math:`f_c = 2\mathrm{NA}/\lambda`), :math:`f` = ``oversample``, :math:`N` =
        ``photons``, :math:`\sigma_r` = ``read_noise``, :math:`b_0` = ``background``,
        :math:`L = 2^{\text{bits}} - 1`:

        .. math::
            g &= p \otimes h & \text{optics (LSI blur)} \\
            \bar g[m, n] &= \tfrac{1}{f^2} \textstyle\sum_{i,j<f} g[fm + i, fn + j] + b_0
              & \text{pixel integration} \\
            k &\sim \mathrm{Poisson}(N \bar g) & \text{shot noise, electrons} \\
            e &= k + \sigma_r\,\epsilon, \ \epsilon \sim \mathcal N(0, 1)
              & \text{read noise} \\
            y &= \mathrm{round}(L\,\mathrm{clip}(e / N, 0, 1)) / L & \text{ADC}

        so :math:`E[y] \approx \bar g` and, away from clipping,
        :math:`\mathrm{Var}[y] = \bar g / N + \sigma_r^2 / N^2 + 1/(12 L^2)`. The image is in
        [0, 1]; ``round(y * L)`` are the raw ADU counts, with a gain of :math:`L / N` ADU per
        electron. Sampling at the Nyquist rate of the optics needs
        ``pixel_size <= wavelength / (4 * na)`` (:attr:`nyquist_pixel_size`); a coarser camera
        aliases. The PSF is sampled on the phantom grid, which should itself satisfy it.

    Example:
        >>> scope = VirtualMicroscope(na=0.8, wavelength=0.5, pixel_size=0.15, oversample=2)
        >>> phantom = torch.zeros(1, 32, 32); phantom[0, 16, 16] = 1.0
        >>> image, truth = scope.simulate(phantom, generator=torch.Generator().manual_seed(0))
        >>> image.shape, truth.phantom.shape
        (torch.Size([1, 16, 16]), torch.Size([1, 16, 16]))
        >>> round(scope.cutoff_frequency, 2), round(scope.nyquist_pixel_size, 4)  # 1/um, um
        (3.2, 0.1562)

    References:
        Pawley, J. B. (ed.) "Handbook of Biological Confocal Microscopy", 3rd ed., ch. 4 and 12.
        Goodman, J. W. "Introduction to Fourier Optics", 3rd ed., sec. 6.3.
    """

    na: float = 0.8
    wavelength: float = 0.52
    pixel_size: float = 0.16
    photons: float = 1000.0
    read_noise: float = 2.0
    bit_depth: int = 12
    oversample: int = 2
    background: float = 0.02
    boundary: str = "reflect"
    psf_size: int | None = None

    def __post_init__(self) -> None:
        na = check_positive(self.na, "na")
        if na > MAX_NA:
            raise ValueRangeError(
                f"na must be <= {MAX_NA} (oil immersion, NA = n sin(alpha) with n = 1.515), "
                f"got {self.na!r}"
            )
        check_positive(self.wavelength, "wavelength")
        check_positive(self.pixel_size, "pixel_size")
        check_positive(self.photons, "photons")
        check_positive(self.read_noise, "read_noise", strict=False)
        bits = check_int(self.bit_depth, "bit_depth", min_value=1)
        if bits > 24:
            raise ValueRangeError(f"bit_depth must be in 1..24, got {bits}")
        check_int(self.oversample, "oversample", min_value=1)
        check_range(self.background, "background", 0.0, 1.0, high_inclusive=False)
        check_choice(self.boundary, "boundary", ("reflect", "circular", "zero"))
        if self.psf_size is not None:
            size = check_int(self.psf_size, "psf_size", min_value=1)
            if size % 2 == 0:
                raise ValueRangeError(f"psf_size must be odd, got {size}")

    @property
    def sample_spacing(self) -> float:
        """Spacing of the phantom grid in micrometres: ``pixel_size / oversample``."""
        return self.pixel_size / self.oversample

    @property
    def cutoff_frequency(self) -> float:
        r"""Incoherent OTF cut-off :math:`f_c = 2\,\mathrm{NA}/\lambda` in cycles per micrometre."""
        return 2.0 * self.na / self.wavelength

    @property
    def nyquist_pixel_size(self) -> float:
        r"""Largest alias-free pixel :math:`1/(2 f_c) = \lambda / (4\,\mathrm{NA})` in um."""
        return self.wavelength / (4.0 * self.na)

    @property
    def psf(self) -> Tensor:
        """The Airy PSF on the phantom grid, ``(s, s)`` float64, centred, summing to 1."""
        if self.psf_size is not None:
            size = self.psf_size
        else:
            # radius of eight Airy zeros (0.61 lambda / NA each), in phantom samples
            radius = 8 * 0.61 * self.wavelength / self.na / self.sample_spacing
            size = 2 * math.ceil(radius) + 1
        return airy_psf(
            size,
            wavelength=self.wavelength,
            na=self.na,
            pixel_size=self.sample_spacing,
            dtype=torch.float64,
        )

    def simulate(
        self,
        phantom: Tensor,
        labels: Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
    ) -> tuple[Tensor, GroundTruth]:
        """Image a phantom: optics, pixel integration, shot and read noise, ADC.

        Args:
            phantom: fluorophore density, shape ``(..., H, W)`` float, non-negative (values
                up to about 1; intensity 1 fills the ADC), ``H`` and ``W`` multiples of
                ``oversample``.
            labels: optional integer label mask ``(..., H, W)`` on the same grid.
            generator: source of the noise; ``None`` uses the global generator.

        Returns:
            ``(image, truth)``: the digital image ``(..., H / f, W / f)`` in [0, 1] with at
            most ``2**bit_depth`` levels (same dtype as ``phantom``), and a
            :class:`GroundTruth` at camera resolution.

        Shape:
            ``(..., H, W) -> (..., H / f, W / f)`` with ``f = oversample``.
        """
        check_image(phantom, "phantom", min_dims=2, floating=True, allow_empty=True)
        f = self.oversample
        hh, ww = phantom.shape[-2:]
        if hh % f or ww % f:
            raise ShapeError(
                f"phantom height and width must be multiples of oversample={f}, "
                f"got {describe(phantom)}"
            )
        if phantom.numel() and bool((phantom < 0).any()):
            raise ValueRangeError(
                f"phantom must be non-negative (a density), got minimum {float(phantom.min())}"
            )
        if labels is not None:
            check_tensor(labels, "labels")
            if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
                raise WrongTypeError(f"labels must be an integer tensor, got {labels.dtype}")
            if labels.dim() < 2 or labels.shape[-2:] != phantom.shape[-2:]:
                raise ShapeError(
                    f"labels must end with the phantom's (H, W) = {(hh, ww)}, "
                    f"got {describe(labels)}"
                )
        out_shape = (*phantom.shape[:-2], hh // f, ww // f)
        if phantom.numel() == 0:
            empty = phantom.new_zeros(out_shape)
            lab = (
                None if labels is None else labels.new_zeros((*labels.shape[:-2], *out_shape[-2:]))
            )
            return empty.clone(), GroundTruth(empty.clone(), empty.clone(), lab)

        psf = self.psf.to(dtype=phantom.dtype, device=phantom.device)  # (s, s)
        # 1. optics: g = p (*) h
        blurred = blur(phantom, psf, boundary=self.boundary)  # (..., H, W)
        # 2. sampling: mean over each f x f camera pixel, plus the background b0
        clean = _bin(blurred, f) + self.background  # (..., h, w)
        # 3. shot noise: k ~ Poisson(N g), returned as k / N (intensity units)
        shot = poisson_noise(clean, self.photons, generator=generator)
        # 4. read noise: sigma_r electrons = sigma_r / N in intensity units
        read = gaussian_noise(shot, self.read_noise / self.photons, generator=generator)
        # 5. ADC: y = round(L clip(e / N, 0, 1)) / L
        image = quantize(read, self.bit_depth)
        truth_labels = None if labels is None else _majority(labels, f)
        return image, GroundTruth(_bin(phantom, f), clean, truth_labels)

    __call__ = simulate

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a plain dict (JSON-ready), with the units spelled out."""
        return {**dataclasses.asdict(self), "units": {"wavelength": "um", "pixel_size": "um"}}


def simulate_dataset(
    n: int,
    out_dir: str | os.PathLike[str],
    *,
    size: int = 128,
    microscope: VirtualMicroscope | None = None,
    cells_options: dict[str, Any] | None = None,
    seed: int = 0,
    batch_size: int = 16,
) -> Path:
    """Simulate ``n`` microscope images of synthetic cells and write them as TIFF files.

    Writes ``out_dir/images/0000.tif`` (the raw ADU counts, ``uint8`` for ``bit_depth <= 8``
    else ``uint16``; divide by ``2**bit_depth - 1`` for the image in [0, 1]),
    ``out_dir/masks/0000.tif`` (the labels at camera resolution, ``uint16``, 0 = background)
    and ``out_dir/meta.json`` (the microscope, the cell options, ``n``, ``size``, ``seed``).

    Args:
        n: number of images, >= 0.
        out_dir: output folder, created if missing.
        size: camera image side in pixels, >= 1; phantoms are ``size * oversample``.
        microscope: the instrument; ``None`` for ``VirtualMicroscope()``. Its ``bit_depth``
            must be at most 16 (TIFF integer storage).
        cells_options: keyword arguments for :func:`pixlearn.data.synthetic.cells`, with
            lengths in *camera* pixels (``radius``, ``gap``, ``texture_scale``; scaled by
            ``oversample`` here). By default radius ``(4, 8)`` camera pixels and
            ``n_cells`` one per 1600 to 3200 camera pixels (at least 1).
        seed: seed of the whole data set: the same seed (and ``batch_size``) writes the
            same files.
        batch_size: images simulated at once (memory), >= 1.

    Returns:
        ``out_dir`` as a :class:`~pathlib.Path`.

    Example:
        >>> import tempfile, tifffile
        >>> out = simulate_dataset(2, tempfile.mkdtemp(), size=32)
        >>> img = tifffile.imread(out / "images" / "0001.tif")
        >>> img.shape, img.dtype, tifffile.imread(out / "masks" / "0001.tif").dtype
        ((32, 32), dtype('uint16'), dtype('uint16'))
    """
    from pixlearn.data.synthetic import cells
    from pixlearn.io import write_image

    n = check_int(n, "n", min_value=0)
    size = check_int(size, "size", min_value=1)
    seed = check_int(seed, "seed")
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    scope = VirtualMicroscope() if microscope is None else microscope
    if not isinstance(scope, VirtualMicroscope):
        raise WrongTypeError(f"microscope must be a VirtualMicroscope, got {describe(scope)}")
    if scope.bit_depth > 16:
        raise ValueRangeError(
            f"microscope.bit_depth must be <= 16 to write TIFF, got {scope.bit_depth}"
        )
    f = scope.oversample
    options: dict[str, Any] = {
        "radius": (4.0, 8.0),
        "n_cells": (max(1, size * size // 3200), max(1, size * size // 1600)),
    }
    options.update(cells_options or {})
    fine = dict(options)
    for key in ("radius", "gap", "texture_scale"):  # camera pixels -> phantom samples
        if key in fine:
            v = fine[key]
            fine[key] = tuple(x * f for x in v) if isinstance(v, (tuple, list)) else v * f

    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    width = max(4, len(str(max(n - 1, 0))))
    levels = 2**scope.bit_depth - 1
    generator = torch.Generator().manual_seed(seed)
    for start in range(0, n, batch_size):
        count = min(batch_size, n - start)
        phantoms, labels = cells(count, size * f, generator=generator, **fine)
        image, truth = scope.simulate(phantoms[:, 0], labels, generator=generator)
        adu = torch.round(image * levels).to(torch.int64)  # raw counts, (count, h, w)
        for i in range(count):
            name = f"{start + i:0{width}d}.tif"
            write_image(out / "images" / name, adu[i], bit_depth=8 if levels <= 255 else 16)
            write_image(out / "masks" / name, truth.labels[i], bit_depth=16)
    meta = {
        "n": n,
        "size": size,
        "seed": seed,
        "images": "raw ADU counts; image in [0, 1] = counts / (2**bit_depth - 1)",
        "masks": "labels, 0 = background, 1..k = cells",
        "microscope": scope.to_dict(),
        "cells": {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()},
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return out
