"""Richardson-Lucy deconvolution: EM for the maximum-likelihood image under Poisson noise.

Photon counts are Poisson, so the likelihood of an estimate :math:`x` given the counts :math:`y`
is :math:`\\prod_i \\mathrm{Poisson}(y_i; (h \\otimes x)_i)`. Its EM iteration is multiplicative: it
keeps the estimate non-negative and (with a periodic boundary and a PSF summing to 1) preserves
the total flux. Run long it fits the noise: the iteration count is the regulariser
(semi-convergence: the error first falls, then rises).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from pixlearn._core.check import check_choice, check_int, check_positive
from pixlearn.imaging.blur import _next_fast
from pixlearn.imaging.otf import _wrap_to_origin
from pixlearn.restoration._fourier import check_pair

__all__ = ["RL_BOUNDARIES", "richardson_lucy"]

RL_BOUNDARIES = ("zero", "circular")

# added to the re-blurred estimate before dividing, as scikit-image does
_EPS = 1e-12


def _fft_size(n: int) -> int:
    """The smallest even length >= ``n`` with no prime factor above 7 (real FFTs of even
    lengths run about twice as fast as odd ones)."""
    m = _next_fast(n)
    while m % 2:
        m = _next_fast(m + 1)
    return m


def richardson_lucy(
    image: Tensor,
    psf: Tensor,
    num_iter: int = 50,
    *,
    clip: bool = True,
    filter_epsilon: float | None = None,
    boundary: str = "zero",
) -> Tensor:
    r"""Richardson-Lucy (EM) deconvolution of an image blurred by a known PSF.

    Args:
        image: the observed image, shape ``(..., H, W)``, float, finite; non-negative for the
            Poisson model to make sense (negative values are not refused).
        psf: the PSF, shape ``(h, w)`` or ``(..., h, w)`` broadcastable against the image's
            leading dims, ``h <= H, w <= W``, non-negative with a positive sum, centred on
            ``(h // 2, w // 2)``. Used as given: the multiplicative update is invariant to the
            PSF's scale, so a PSF summing to ``s`` gives the same result as ``psf / s``.
        num_iter: number of EM iterations, >= 1; it plays the role of the regulariser.
        clip: clip the result to ``[-1, 1]`` (as scikit-image does).
        filter_epsilon: if given (> 0), ratios where the re-blurred estimate is below it are
            set to 0 instead of dividing by a tiny number. ``None`` or 0: no filtering.
        boundary: ``"zero"`` (default): the image is zero outside its border, both
            convolutions are linear ("same"-size) ones, as ``scipy.signal.convolve(...,
            mode="same")`` in ``skimage.restoration.richardson_lucy``; ``"circular"``: the image
            is periodic (the DFT model; the total flux is then preserved).

    Returns:
        The estimate, shape ``broadcast(leading dims) + (H, W)``, dtype of ``image``
        (float16/bfloat16 computed in float32). Differentiable w.r.t. ``image`` and ``psf``.

    Shape:
        ``(..., H, W), (..., h, w) -> (..., H, W)``.

    Raises:
        WrongTypeError: ``image`` or ``psf`` not floating, ``num_iter`` not an integer.
        ShapeError: a PSF larger than the image, leading dims that do not broadcast.
        ValueRangeError: NaN/Inf in ``image`` or ``psf``, a negative PSF value or a zero sum,
            ``num_iter < 1``, ``filter_epsilon < 0``, an unknown ``boundary``.

    Notes:
        Starting from :math:`x^{(0)} = 1/2` everywhere (scikit-image's start), with
        :math:`\tilde h(s) = h(-s)` the mirrored PSF,

        .. math::
            x^{(k+1)} = x^{(k)} \cdot \left(\tilde h \otimes
            \frac{y}{h \otimes x^{(k)} + \epsilon}\right),\qquad \epsilon = 10^{-12}.

        Both convolutions are products with the OTF and its conjugate on one FFT grid, computed
        once: ``(H, W)`` for ``"circular"``; for ``"zero"`` the image is zero-padded to an
        FFT-friendly size of at least ``H + max(h // 2, h - 1 - h // 2)`` (likewise in ``W``),
        which no wrap-around reaches. An even-sized PSF is centred on ``(h // 2, w // 2)``
        (:mod:`pixlearn.imaging` convention); scipy's "same" mode centres it on
        ``((h - 1) // 2, (w - 1) // 2)`` instead, so to reproduce scikit-image with an even PSF,
        append a zero row/column at its end.

        With ``"zero"`` the correction factor near the border is the mirrored PSF's mass
        inside the image, below 1 (this update omits EM's division by :math:`\tilde h \otimes
        1`, as scikit-image does), so pixels within the PSF's reach of the border darken as
        the iterations go on; ``"circular"`` has no border.

    Example:
        >>> from pixlearn.imaging import blur, gaussian_psf
        >>> x = torch.rand(32, 32, dtype=torch.float64) + 0.1
        >>> psf = gaussian_psf(5, 1.0, dtype=torch.float64)
        >>> y = blur(x, psf)
        >>> out = richardson_lucy(y, psf, 30, boundary="circular")
        >>> bool((out - x).abs().mean() < (y - x).abs().mean())  # closer than the blurred one
        True
        >>> round(float(out.sum() / y.sum()), 6)  # flux preserved
        1.0

    References:
        Richardson, W. H. "Bayesian-based iterative method of image restoration." JOSA 62
        (1972). Lucy, L. B. "An iterative technique for the rectification of observed
        distributions." The Astronomical Journal 79 (1974). Shepp, L. A., Vardi, Y.
        "Maximum likelihood reconstruction for emission tomography." IEEE TMI 1 (1982).
    """
    y, lead = check_pair(image, psf)
    iters = check_int(num_iter, "num_iter", min_value=1)
    fe = (
        0.0
        if filter_epsilon is None
        else check_positive(filter_epsilon, "filter_epsilon", strict=False)
    )
    check_choice(boundary, "boundary", RL_BOUNDARIES)
    (h, w), (ph, pw) = image.shape[-2:], psf.shape[-2:]
    if boundary == "circular":
        n, m = h, w
    else:  # zero padding deep enough that the circular products are linear convolutions
        n = _fft_size(h + max(ph // 2, ph - 1 - ph // 2))
        m = _fft_size(w + max(pw // 2, pw - 1 - pw // 2))
    kernel = psf.to(dtype=y.dtype, device=y.device)
    otf = torch.fft.rfft2(_wrap_to_origin(kernel, (n, m)))  # (..., N, M // 2 + 1), once
    otf_adjoint = otf.conj()  # the OTF of the mirrored PSF: correlation
    y = y.expand(*lead, h, w)
    if y.numel() == 0:  # a zero-size batch (MKL refuses empty transforms)
        return y.clone().to(image.dtype)
    # everything lives on the (N, M) grid, the image in its top-left (H, W) corner: the
    # estimate stays 0 outside, and the observation there is 0 too
    observed = F.pad(y, (0, m - w, 0, n - h))  # (..., N, M)
    estimate = F.pad(torch.full_like(y, 0.5), (0, m - w, 0, n - h))  # x^(0) = 1/2 inside
    # + eps inside (scikit-image's guard); + 1 outside, where the ratio must be exactly 0
    offset = F.pad(
        torch.full((h, w), _EPS, dtype=y.dtype, device=y.device), (0, m - w, 0, n - h), value=1.0
    )
    inplace = not (torch.is_grad_enabled() and (y.requires_grad or otf.requires_grad))
    for _ in range(iters):
        # re-blur the estimate: h (x) x^(k)
        spectrum = torch.fft.rfft2(estimate)  # (..., N, M // 2 + 1)
        spectrum = spectrum.mul_(otf) if inplace else spectrum * otf
        reblurred = torch.fft.irfft2(spectrum, s=(n, m))  # (..., N, M)
        reblurred = reblurred.add_(offset) if inplace else reblurred + offset
        ratio = observed / reblurred  # y / (h (x) x^(k) + eps)
        if fe > 0:
            ratio = torch.where(reblurred < fe, 0.0, ratio)
        # correlate the ratio with the PSF (convolve with the mirrored PSF)
        spectrum = torch.fft.rfft2(ratio)
        spectrum = spectrum.mul_(otf_adjoint) if inplace else spectrum * otf_adjoint
        correction = torch.fft.irfft2(spectrum, s=(n, m))  # (..., N, M)
        estimate = estimate.mul_(correction) if inplace else estimate * correction
    estimate = estimate[..., :h, :w]
    if clip:
        estimate = estimate.clamp(-1.0, 1.0)
    return estimate.to(image.dtype)
