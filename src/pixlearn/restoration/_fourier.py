"""What the Fourier-domain deconvolutions share: checking an image/PSF pair, transfer functions.

Every method here inverts the forward model of :func:`pixlearn.imaging.blur`: the PSF is centred
on pixel ``(h // 2, w // 2)`` and used exactly as given (not normalised: a sum ``s != 1`` is a gain
of the imaging system, which Wiener and the inverse filter undo).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pixlearn._core.check import check_image, describe
from pixlearn._core.errors import ShapeError, WrongTypeError
from pixlearn.imaging.otf import _check_psf, _fft_dtype, _wrap_to_origin

__all__: list[str] = []


def check_pair(image: Tensor, psf: Tensor) -> tuple[Tensor, tuple[int, ...]]:
    """Check a degraded image ``(..., H, W)`` and a real PSF ``(..., h, w)``, ``h <= H, w <= W``.

    Returns the image in its FFT dtype (float32 or float64) and the broadcast leading shape.
    """
    check_image(image, "image", floating=True)
    _check_psf(psf)
    _check_fits(psf, image, "psf")
    return _fft_dtype(image), _lead(image, psf, "psf")


def _check_fits(kernel: Tensor, image: Tensor, name: str) -> None:
    (h, w), (ph, pw) = image.shape[-2:], kernel.shape[-2:]
    if ph > h or pw > w:
        raise ShapeError(
            f"{name} must not be larger than the image {(h, w)}, got {describe(kernel)} "
            "(crop the PSF or pad the image)"
        )


def _lead(image: Tensor, kernel: Tensor, name: str) -> tuple[int, ...]:
    try:
        return tuple(torch.broadcast_shapes(image.shape[:-2], kernel.shape[:-2]))
    except RuntimeError:
        raise ShapeError(
            f"{name} leading dims must broadcast against the image's "
            f"{tuple(image.shape[:-2])}, got {describe(kernel)}"
        ) from None


def transfer_function(
    kernel: Tensor | None,
    image: Tensor,
    name: str,
    *,
    onesided: bool = True,
    psf: bool = True,
) -> Tensor:
    """The transfer function of ``kernel`` on the image's ``(H, W)`` grid, in ``image``'s dtype.

    A real ``kernel`` is an impulse response centred on ``(h // 2, w // 2)`` (a PSF when ``psf``,
    checked non-negative; else any finite values, e.g. a regulariser). A complex one is already
    a transfer function and must have shape ``(..., H, W // 2 + 1)`` when ``onesided`` (the
    :func:`torch.fft.rfft2` layout) or ``(..., H, W)`` (:func:`torch.fft.fft2`). ``None`` is the
    discrete Laplacian.
    """
    h, w = image.shape[-2:]
    complex_dtype = torch.complex128 if image.dtype == torch.float64 else torch.complex64
    if kernel is None:
        # the Laplacian's transfer function in closed form (real): 4 - 2 cos(wy) - 2 cos(wx)
        wy = torch.fft.fftfreq(h, dtype=torch.float64, device=image.device) * (2 * math.pi)
        width = w // 2 + 1 if onesided else w
        wx = torch.fft.fftfreq(w, dtype=torch.float64, device=image.device)[:width] * 2 * math.pi
        if onesided:  # rfft2 columns run over 0 .. W // 2 (the Nyquist one positive)
            wx = wx.abs()
        tf = 4 - 2 * torch.cos(wy)[:, None] - 2 * torch.cos(wx)[None, :]  # (H, W')
        return tf.to(image.dtype)
    if not isinstance(kernel, Tensor):
        raise WrongTypeError(f"{name} must be a torch.Tensor, got {describe(kernel)}")
    if kernel.is_complex():
        check_image(torch.view_as_real(kernel)[..., 0], name)  # dims, emptiness, finiteness
        expected = (h, w // 2 + 1) if onesided else (h, w)
        if tuple(kernel.shape[-2:]) != expected:
            layout = "rfft2 (is_real=True)" if onesided else "fft2 (is_real=False)"
            raise ShapeError(
                f"{name} given as a transfer function must end in {expected}, the {layout} "
                f"layout for a {(h, w)} image, got {describe(kernel)}"
            )
        _lead(image, kernel, name)
        return kernel.to(dtype=complex_dtype, device=image.device)
    if psf:
        _check_psf(kernel, name)
    else:
        check_image(kernel, name, floating=True)
    _check_fits(kernel, image, name)
    _lead(image, kernel, name)
    centred = _wrap_to_origin(kernel.to(dtype=image.dtype, device=image.device), (h, w))
    return torch.fft.rfft2(centred) if onesided else torch.fft.fft2(centred)  # (..., H, W')
