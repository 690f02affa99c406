r"""The 2-D wavelet scattering transform: Morlet wavelets, modulus, Gaussian averaging.

A scattering network is a convolutional network whose filters are not learned: a cascade of
wavelet convolutions and complex moduli, each layer averaged by a low-pass filter,

.. math::
    S_0 x = x \star \phi_J, \quad
    S_1 x = |x \star \psi_{\lambda_1}| \star \phi_J, \quad
    S_2 x = ||x \star \psi_{\lambda_1}| \star \psi_{\lambda_2}| \star \phi_J,

with :math:`\lambda = (j, \ell)` a scale :math:`2^j` and an orientation
:math:`\theta_\ell = \pi\ell/L`. The averaging makes the coefficients locally invariant to
translations up to :math:`2^J` pixels, the modulus keeps what the averaging would erase, and the
wavelets' scale separation makes the representation Lipschitz-stable to small deformations.
Only paths with :math:`j_2 > j_1` are kept: the others carry almost no energy.

Example:
    >>> s = scattering2d(torch.rand(2, 32, 32), J=2, L=4)
    >>> s.shape  # K = 1 + J L + L^2 J (J - 1) / 2 = 1 + 8 + 16
    torch.Size([2, 25, 8, 8])

References:
    Mallat, S. "Group invariant scattering." Communications on Pure and Applied Mathematics
    65(10), 2012.
    Bruna, J., Mallat, S. "Invariant scattering convolution networks." IEEE TPAMI 35(8), 2013.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_int
from pixlearn._core.errors import ShapeError

__all__ = ["littlewood_paley", "morlet_filter_bank", "scattering2d"]

_SIGMA0 = 0.8  # spatial width of the finest Gaussian envelope, in pixels
_XI0 = 3 * math.pi / 4  # centre frequency of the finest wavelet, in radians per pixel


def _gaussian_hat(wy: Tensor, wx: Tensor, sigma: float, theta: float, slant: float) -> Tensor:
    r"""Fourier transform of an (anisotropic) Gaussian of spatial std ``sigma``, periodised.

    :math:`\hat g(\omega) = \exp(-\sigma^2 \omega^\top R_\theta D R_\theta^\top \omega / 2)`,
    with :math:`D = \operatorname{diag}(1, \text{slant}^2)` (elongated across the direction
    :math:`\theta`), summed over the 3x3 neighbouring periods to wrap it onto the torus.
    """
    c, s = math.cos(theta), math.sin(theta)
    out = torch.zeros_like(wy)
    for ky in (-1, 0, 1):
        for kx in (-1, 0, 1):
            y, x = wy + 2 * math.pi * ky, wx + 2 * math.pi * kx
            along, across = c * x + s * y, -s * x + c * y
            out = out + torch.exp(-0.5 * sigma**2 * (along**2 + slant**2 * across**2))
    return out


def morlet_filter_bank(
    size: tuple[int, int],
    J: int,
    L: int = 8,
    *,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> tuple[Tensor, Tensor]:
    r"""Morlet wavelets and the low-pass Gaussian, built in the Fourier domain.

    Args:
        size: ``(H, W)`` of the images they will filter.
        J: number of scales; wavelets at scales :math:`2^0 \ldots 2^{J-1}`, low-pass at
            :math:`2^J`.
        L: number of orientations in :math:`[0, \pi)`.
        dtype: real dtype of the filters (default float32).
        device: device of the filters.

    Returns:
        ``(psi_hat, phi_hat)``: ``psi_hat`` of shape ``(J, L, H, W)`` and ``phi_hat`` of shape
        ``(H, W)``, real, sampled on ``torch.fft.fftfreq`` grids, scaled so that the
        Littlewood-Paley sum is at most 1 (and, with the default ``L = 8``, at least ~0.55).

    Notes:
        A Morlet wavelet is a Gabor function minus a Gaussian that cancels its mean:
        :math:`\hat\psi(\omega) = \hat g_\sigma(\omega - \xi) - \beta \hat g_\sigma(\omega)`,
        :math:`\beta = \hat g_\sigma(-\xi)` so that :math:`\hat\psi(0) = 0`, with
        :math:`\sigma_j = 0.8 \cdot 2^j`, :math:`|\xi_j| = (3\pi/4) / 2^j` in direction
        :math:`\theta_\ell = \pi \ell / L`, slant (the envelope's aspect ratio) :math:`4/L`,
        and a Gaussian low-pass of width :math:`0.8 \cdot 2^{J-1}` (Kymatio's defaults). The
        Littlewood-Paley sum

        .. math::
            A(\omega) = |\hat\phi(\omega)|^2 + \tfrac12 \sum_{j,\ell}
            \left(|\hat\psi_{j\ell}(\omega)|^2 + |\hat\psi_{j\ell}(-\omega)|^2\right)

        measures the energy the (real-input) transform keeps at frequency :math:`\omega`:
        :math:`A \le A(\omega) \le B` makes the bank a frame. The wavelets are first scaled
        so that their own sum peaks at 1, as :math:`|\hat\phi(0)|^2` does, then the bank is
        divided by :math:`\sqrt{\max_\omega A}`: :math:`B = 1` and, for ``L = 8``,
        :math:`A \approx 0.55`-:math:`0.63` (``J`` = 1-4), against 0.32 for a single
        normalisation.

    Example:
        >>> psi, phi = morlet_filter_bank((32, 32), J=2, L=4, dtype=torch.float64)
        >>> psi.shape, bool(psi[:, :, 0, 0].abs().max() < 1e-12)  # zero mean
        (torch.Size([2, 4, 32, 32]), True)
    """
    h, w = size
    kw = {"dtype": torch.float32 if dtype is None else dtype, "device": device}
    wy = (2 * math.pi * torch.fft.fftfreq(h, **kw))[:, None].expand(h, w)  # (H, W)
    wx = (2 * math.pi * torch.fft.fftfreq(w, **kw))[None, :].expand(h, w)  # (H, W)
    slant = 4.0 / L
    psi = []
    for j in range(J):
        sigma, xi = _SIGMA0 * 2**j, _XI0 / 2**j
        for ell in range(L):
            theta = math.pi * ell / L
            cy, cx = xi * math.sin(theta), xi * math.cos(theta)
            gabor = _gaussian_hat(wy - cy, wx - cx, sigma, theta, slant)
            envelope = _gaussian_hat(wy, wx, sigma, theta, slant)
            # beta makes psi_hat(0) = 0: the wavelet has zero mean
            beta = gabor[0, 0] / envelope[0, 0]
            psi.append(gabor - beta * envelope)
    psi_hat = torch.stack(psi).reshape(J, L, h, w)
    # the low-pass is as wide as the coarsest envelope, 2^(J-1), and averages over ~2^J pixels
    phi_hat = _gaussian_hat(wy, wx, _SIGMA0 * 2 ** (J - 1), 0.0, 1.0)
    # two steps: the wavelets alone first, so that their own LP sum peaks at 1 like the
    # low-pass's (neighbouring orientations overlap: unscaled it peaks near 2.8 for L = 8 and
    # a single normalisation would leave the low frequencies at ~0.32); then the whole bank
    band = littlewood_paley(psi_hat, torch.zeros_like(phi_hat))
    psi_hat = psi_hat / band.max().sqrt()
    scale = littlewood_paley(psi_hat, phi_hat).max().sqrt()
    return psi_hat / scale, phi_hat / scale


def littlewood_paley(psi_hat: Tensor, phi_hat: Tensor) -> Tensor:
    """The Littlewood-Paley sum ``A(omega)`` of a filter bank (see :func:`morlet_filter_bank`).

    Example:
        >>> psi, phi = morlet_filter_bank((64, 64), J=3, L=8, dtype=torch.float64)
        >>> lp = littlewood_paley(psi, phi)  # (64, 64): the frame bounds are its min and max
        >>> round(float(lp.min()), 2), round(float(lp.max()), 2)
        (0.61, 1.0)
    """
    # psi_hat(-omega) on the fftfreq grid: index k -> (-k) mod N along both axes
    flipped = torch.roll(psi_hat.flip(-2, -1), shifts=(1, 1), dims=(-2, -1))
    return phi_hat**2 + 0.5 * (psi_hat**2 + flipped**2).sum(dim=(0, 1))


def scattering2d(image: Tensor, J: int, L: int = 8, *, max_order: int = 2) -> Tensor:
    r"""The 2-D scattering transform of orders 0 to ``max_order`` (at most 2).

    Args:
        image: images, ``(..., H, W)``, float; H and W must be multiples of :math:`2^J`.
        J: number of scales (averaging over :math:`2^J` pixels), ``>= 1``.
        L: number of orientations, ``>= 1``.
        max_order: 0, 1 or 2.

    Returns:
        The scattering coefficients, ordered as order 0, then order 1 by ``(j1, l1)``, then
        order 2 by ``(j1, l1, j2, l2)`` with ``j2 > j1``.

    Shape:
        ``(..., K, H / 2^J, W / 2^J)``, :math:`K = 1 + JL + L^2 J(J-1)/2` for ``max_order=2``
        (:math:`1 + JL` for 1, 1 for 0).

    Notes:
        Convolutions are products in the Fourier domain (periodic boundary):
        :math:`x \star \psi = \mathcal{F}^{-1}(\hat x\, \hat\psi)`; averaging by
        :math:`\phi_J` is followed by subsampling by :math:`2^J`.

    Example:
        >>> x = torch.rand(64, 64, dtype=torch.float64)
        >>> scattering2d(x, J=3, L=8).shape
        torch.Size([217, 8, 8])

    References:
        Bruna, J., Mallat, S. "Invariant scattering convolution networks." IEEE TPAMI 35(8),
        2013.
    """
    check_image(image, "image", min_dims=2, floating=True)
    J = check_int(J, "J", min_value=1)
    L = check_int(L, "L", min_value=1)
    max_order = check_int(max_order, "max_order", min_value=0)
    if max_order > 2:
        raise ShapeError(f"max_order must be 0, 1 or 2, got {max_order}")
    h, w = image.shape[-2:]
    step = 2**J
    if h % step or w % step:
        raise ShapeError(f"image height and width must be multiples of 2^J = {step}, got {h}x{w}")
    psi_hat, phi_hat = morlet_filter_bank((h, w), J, L, dtype=image.dtype, device=image.device)
    x = image.reshape(-1, h, w)  # (B, H, W)

    def average(u: Tensor) -> Tensor:
        # S = (u * phi_J) subsampled by 2^J
        low = torch.fft.ifft2(torch.fft.fft2(u) * phi_hat).real
        return low[..., ::step, ::step]

    out = [average(x)[:, None]]  # (B, 1, h, w)
    if max_order >= 1:
        x_hat = torch.fft.fft2(x)[:, None, None]  # (B, 1, 1, H, W)
        u1 = torch.fft.ifft2(x_hat * psi_hat).abs()  # (B, J, L, H, W)
        out.append(average(u1).flatten(1, 2))  # (B, J*L, h, w)
        if max_order == 2:
            for j1 in range(J - 1):
                u1_hat = torch.fft.fft2(u1[:, j1])[:, :, None, None]  # (B, L, 1, 1, H, W)
                u2 = torch.fft.ifft2(u1_hat * psi_hat[j1 + 1 :]).abs()  # (B, L, J-j1-1, L, H, W)
                out.append(average(u2).flatten(1, 3))
    s = torch.cat(out, dim=1)
    return s.reshape(*image.shape[:-2], s.shape[1], h // step, w // step)
