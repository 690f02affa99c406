"""The optical transfer function: the Fourier transform of the PSF, and the way back.

The OTF says how much of each spatial frequency an LSI imaging system transmits (its modulus is
the MTF) and by how much it shifts it (its phase). By the convolution theorem, blurring with the
PSF is multiplication by the OTF. The PSF centre convention is pixel ``(h // 2, w // 2)``, the
one of :mod:`pixlearn.imaging.psf`; it is moved to index ``(0, 0)`` before the FFT, so that a
symmetric PSF has a real OTF and ``OTF[..., 0, 0] == psf.sum()``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_positive, check_tensor, describe, pair
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError

__all__ = ["cutoff_frequency", "mtf", "otf2psf", "psf2otf", "radial_profile"]


def _check_psf(psf: Tensor, name: str = "psf") -> Tensor:
    """Check a PSF ``(..., h, w)``: floating, finite, non-empty, >= 0 and with a positive sum.

    Values down to ``-64 eps max|psf|`` count as rounding noise (an OTF round trip makes them)
    and are accepted.
    """
    check_image(psf, name, floating=True)
    data = psf.detach()
    tol = 64 * torch.finfo(data.dtype).eps * float(data.abs().max()) if data.numel() else 0.0
    if data.numel() and float(data.min()) < -tol:
        raise ValueRangeError(
            f"{name} must be non-negative (light intensities), got a minimum of "
            f"{float(data.min()):.3g} in {describe(psf)}"
        )
    if data.numel() and bool((data.sum((-2, -1)) <= 0).any()):
        raise ValueRangeError(
            f"{name} must have a positive sum (a PSF that sums to 0 transmits no light), "
            f"got {describe(psf)} with a zero sum"
        )
    return psf


def _wrap_to_origin(psf: Tensor, shape: tuple[int, int]) -> Tensor:
    """Zero-pad ``psf (..., h, w)`` to ``shape`` with its centre ``(h // 2, w // 2)`` at ``(0, 0)``.

    Entries land at ``(i - h // 2) mod H``: a circular shift when the PSF fits, and a fold
    (aliasing, exactly as sampling the spectrum on a coarser grid) when it is larger than
    ``shape``. Differentiable with respect to ``psf``.
    """
    (ph, pw), (n, m) = psf.shape[-2:], shape
    lead = psf.shape[:-2]
    if ph > n or pw > m:  # fold: entry i lands on (i - h // 2) mod H, colliding ones add up
        rows = (torch.arange(ph, device=psf.device) - ph // 2) % n  # (ph,)
        cols = (torch.arange(pw, device=psf.device) - pw // 2) % m  # (pw,)
        out = psf.new_zeros(*lead, n, pw).index_add(-2, rows, psf)  # (..., H, pw)
        return psf.new_zeros(*lead, n, m).index_add(-1, cols, out)  # (..., H, W)
    # a circular shift by -(h // 2, w // 2): four corner blocks, written into zeros
    cy, cx = ph // 2, pw // 2
    out = psf.new_zeros(*lead, n, m)  # (..., H, W)
    out[..., : ph - cy, : pw - cx] = psf[..., cy:, cx:]
    out[..., : ph - cy, m - cx :] = psf[..., cy:, :cx]
    out[..., n - cy :, : pw - cx] = psf[..., :cy, cx:]
    out[..., n - cy :, m - cx :] = psf[..., :cy, :cx]
    return out


def _fft_dtype(x: Tensor) -> Tensor:
    """FFTs run in float32 or float64: half precision is promoted (CPU FFTs have no half)."""
    return x if x.dtype in (torch.float32, torch.float64) else x.float()


def psf2otf(psf: Tensor, shape: int | Sequence[int], *, onesided: bool = False) -> Tensor:
    r"""Optical transfer function of a PSF on an ``(H, W)`` frequency grid.

    Args:
        psf: the PSF, shape ``(..., h, w)``, float, non-negative with a positive sum, centred
            on pixel ``(h // 2, w // 2)``. Leading dims are batch.
        shape: the grid ``(H, W)`` (or ``n``), usually the image's size. A PSF larger than the
            grid is folded onto it (the OTF is then sampled on the coarser grid, exactly).
        onesided: return only the non-negative x frequencies, as :func:`torch.fft.rfft2` does
            (what :func:`pixlearn.imaging.blur` uses).

    Returns:
        Complex OTF, shape ``(..., H, W)`` (``(..., H, W // 2 + 1)`` if ``onesided``), laid out
        as :func:`torch.fft.fft2` (zero frequency at ``[0, 0]``; ``torch.fft.fftshift`` centres
        it). ``OTF[..., 0, 0] == psf.sum()``, i.e. 1 for a normalised PSF.

    Raises:
        ValueRangeError: ``psf`` has NaN/Inf, a negative value or a zero sum.
        ShapeError: ``psf`` has fewer than 2 dims or is empty.
        WrongTypeError: ``psf`` is not a floating tensor.

    Notes:
        With the PSF centre moved to the origin, frequency index :math:`(k, l)` holds

        .. math::
            \mathrm{OTF}(k, l) = \sum_{y, x} h(y, x)\,
            e^{-2\pi i\,(k (y - c_y) / H + l (x - c_x) / W)},
            \qquad (c_y, c_x) = (h // 2, w // 2).

    Example:
        >>> from pixlearn.imaging import gaussian_psf
        >>> otf = psf2otf(gaussian_psf(5, 1.0, dtype=torch.float64), (16, 16))
        >>> otf.shape, round(float(otf[0, 0].real), 6), bool(otf.imag.abs().max() < 1e-12)
        (torch.Size([16, 16]), 1.0, True)

    References:
        Gonzalez, R. C., Woods, R. E. *Digital Image Processing*, 4th ed., sec. 4.6 and 5.6.
        MATLAB ``psf2otf`` (the same centre convention).
    """
    _check_psf(psf)
    size = pair(shape, "shape")
    centred = _wrap_to_origin(_fft_dtype(psf), size)  # (..., H, W)
    fft2 = torch.fft.rfft2 if onesided else torch.fft.fft2
    if centred.numel() == 0:  # a zero-size batch (MKL refuses empty transforms)
        return fft2(centred.new_zeros(size)).expand(*centred.shape[:-2], -1, -1).clone()
    return fft2(centred)


def otf2psf(otf: Tensor, psf_shape: int | Sequence[int]) -> Tensor:
    r"""The PSF of size ``psf_shape`` whose OTF is ``otf``: the exact inverse of :func:`psf2otf`.

    Args:
        otf: OTF, shape ``(..., H, W)``, complex (or real), in :func:`torch.fft.fft2` layout.
        psf_shape: ``(h, w)`` (or ``n``) of the PSF to cut out, each at most ``(H, W)``.

    Returns:
        The PSF, shape ``(..., h, w)``, real (the real part of the inverse FFT), of the real
        dtype matching ``otf``. ``otf2psf(psf2otf(p, s), p.shape[-2:])`` equals ``p`` to
        rounding; values of the inverse FFT outside the ``(h, w)`` window are dropped.

    Raises:
        ShapeError: ``psf_shape`` larger than the OTF, or ``otf`` with fewer than 2 dims.
        WrongTypeError: ``otf`` not a floating or complex tensor.
        ValueRangeError: ``otf`` with NaN/Inf values.

    Example:
        >>> p = torch.rand(3, 4, dtype=torch.float64)
        >>> bool(torch.allclose(otf2psf(psf2otf(p, (8, 9)), (3, 4)), p, atol=1e-14))
        True
    """
    check_tensor(otf, "otf")
    if not (otf.is_complex() or otf.is_floating_point()):
        raise WrongTypeError(f"otf must be a complex or floating tensor, got {otf.dtype}")
    check_image(otf.real if otf.is_complex() else otf, "otf", finite=False)
    if not bool(torch.isfinite(otf).all()):
        raise ValueRangeError(f"otf must be finite, got NaN or Inf values in {describe(otf)}")
    ph, pw = pair(psf_shape, "psf_shape")
    n, m = otf.shape[-2:]
    if ph > n or pw > m:
        raise ShapeError(f"psf_shape must be at most the OTF size {(n, m)}, got {(ph, pw)}")
    spatial = torch.fft.ifft2(otf).real  # (..., H, W), the PSF with its centre at (0, 0)
    rows = (torch.arange(ph, device=otf.device) - ph // 2) % n  # (h,)
    cols = (torch.arange(pw, device=otf.device) - pw // 2) % m  # (w,)
    return spatial.index_select(-2, rows).index_select(-1, cols)


def mtf(psf: Tensor, shape: int | Sequence[int]) -> Tensor:
    r"""Modulation transfer function: the modulus of the OTF, :math:`|\mathrm{OTF}|`.

    Args:
        psf: the PSF, as in :func:`psf2otf`.
        shape: the frequency grid ``(H, W)``.

    Returns:
        Real tensor ``(..., H, W)`` in :func:`torch.fft.fft2` layout, 1 at zero frequency for a
        PSF that sums to 1 (the fraction of contrast kept at each frequency).

    Example:
        >>> from pixlearn.imaging import defocus_psf
        >>> m = mtf(defocus_psf(9, 3.0), (32, 32))
        >>> round(float(m[0, 0]), 6), bool(m.max() <= 1 + 1e-6)
        (1.0, True)
    """
    return psf2otf(psf, shape).abs()


def cutoff_frequency(*, wavelength: float, na: float) -> float:
    r"""Incoherent cut-off frequency of a diffraction-limited lens, :math:`2\,\mathrm{NA}/\lambda`.

    Args:
        wavelength: wavelength of the light, > 0.
        na: numerical aperture, > 0.

    Returns:
        :math:`f_c` in cycles per unit of ``wavelength``; multiply by the pixel size to get
        cycles per pixel. No detail finer than :math:`1 / f_c` is transmitted.

    Example:
        >>> cutoff_frequency(wavelength=0.5, na=1.0)
        4.0

    References:
        Goodman, J. W. *Introduction to Fourier Optics*, 3rd ed., sec. 6.3.
    """
    lam = check_positive(wavelength, "wavelength")
    return 2.0 * check_positive(na, "na") / lam


def radial_profile(image: Tensor) -> Tensor:
    r"""Mean of an image over rings of integer radius around its centre pixel ``(H // 2, W // 2)``.

    Meant for radially symmetric spectra: ``radial_profile(torch.fft.fftshift(mtf(p, (n, n))))``
    is the radial MTF, ring ``k`` lying at ``k / n`` cycles per pixel (``fftshift`` moves the
    zero frequency to ``(n // 2, n // 2)``, the centre used here).

    Args:
        image: values, shape ``(..., H, W)``, real float.

    Returns:
        Shape ``(..., K)``, ring ``k`` being the mean over pixels at distance ``r`` from the
        centre with ``round(r) == k``; ``K - 1`` is the distance to the farthest corner,
        rounded. Every ring holds at least one pixel.

    Example:
        >>> r = radial_profile(torch.ones(5, 5))
        >>> r.shape, bool((r == 1).all())
        (torch.Size([4]), True)
    """
    check_image(image, "image", floating=True)
    h, w = image.shape[-2:]
    y = torch.arange(h, device=image.device, dtype=torch.float64) - h // 2
    x = torch.arange(w, device=image.device, dtype=torch.float64) - w // 2
    # r = sqrt(y^2 + x^2), binned to the nearest integer
    ring = torch.sqrt(y[:, None] ** 2 + x[None, :] ** 2).round().long().flatten()  # (H W,)
    k = int(ring.max()) + 1
    flat = image.reshape(*image.shape[:-2], h * w)  # (..., H W)
    sums = flat.new_zeros(*image.shape[:-2], k).index_add(-1, ring, flat)  # (..., K)
    counts = torch.bincount(ring, minlength=k).to(image.dtype)  # (K,)
    return sums / counts
