"""Wiener-Hunt deconvolution, with a given balance or with noise and prior estimated by MCMC.

The Wiener filter is the linear estimate that best trades data fidelity against a prior of
smooth images: each frequency is inverted where the optics transmit it well and damped where
noise dominates. :func:`unsupervised_wiener` learns that trade-off from the image itself by
Gibbs sampling of the posterior (Orieux et al. 2010), returning the posterior mean.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_int, check_positive, describe
from pixlearn._core.errors import ValueRangeError, WrongTypeError
from pixlearn.imaging.otf import _fft_dtype
from pixlearn.restoration._fourier import _lead, transfer_function

__all__ = ["unsupervised_wiener", "wiener"]


def _clip(out: Tensor, clip: bool) -> Tensor:
    return out.clamp(-1.0, 1.0) if clip else out


def wiener(
    image: Tensor,
    psf: Tensor,
    balance: float,
    *,
    reg: Tensor | None = None,
    is_real: bool = True,
    clip: bool = True,
) -> Tensor:
    r"""Wiener-Hunt deconvolution with a fixed regularisation weight.

    Args:
        image: the degraded image, shape ``(..., H, W)``, float, finite.
        psf: the PSF, real, shape ``(h, w)`` or ``(..., h, w)`` (leading dims broadcast against
            the image's), ``h <= H, w <= W``, non-negative with a positive sum, centred on
            ``(h // 2, w // 2)``, used as given (a sum ``s != 1`` is a gain that is undone);
            or a complex transfer function (see ``is_real``).
        balance: :math:`\lambda \ge 0`, the weight of the prior; larger is smoother. With 0 and
            no noise the result is the exact inverse wherever :math:`H \ne 0`.
        reg: the regulariser :math:`D`, an impulse response (real, any sign, centred like the
            PSF, at most the image's size) or a complex transfer function. ``None``: the
            discrete Laplacian ``[[0, -1, 0], [-1, 4, -1], [0, -1, 0]]``.
        is_real: only for complex ``psf``/``reg``: ``True`` if they are given on the half
            spectrum, shape ``(..., H, W // 2 + 1)`` (:func:`torch.fft.rfft2` layout),
            ``False`` for the full ``(..., H, W)`` (:func:`torch.fft.fft2`). The result is
            always real (the real part).
        clip: clip the result to ``[-1, 1]`` (as scikit-image does).

    Returns:
        The restored image, shape ``broadcast(leading dims) + (H, W)``, dtype of ``image``
        (float16/bfloat16 computed in float32). Differentiable w.r.t. ``image`` and ``psf``.

    Shape:
        ``(..., H, W), (..., h, w) -> (..., H, W)``.

    Raises:
        WrongTypeError: ``image`` not floating, ``psf``/``reg`` not floating or complex.
        ShapeError: a PSF or regulariser larger than the image, a transfer function of the
            wrong size, leading dims that do not broadcast.
        ValueRangeError: NaN/Inf anywhere, a negative PSF value or zero sum, ``balance < 0``.

    Notes:
        With :math:`\Lambda_H` the OTF and :math:`\Lambda_D` the regulariser's transfer function,
        the image is taken as periodic and

        .. math::
            \hat F(\nu) = \frac{\overline{\Lambda_H(\nu)}}
            {|\Lambda_H(\nu)|^2 + \lambda\,|\Lambda_D(\nu)|^2}\, G(\nu),

        set to 0 at frequencies where the denominator vanishes. Same conventions as
        ``skimage.restoration.wiener`` (which, unlike this function, keeps only the real part of
        a complex transfer function).

    Example:
        >>> from pixlearn.imaging import blur, gaussian_psf
        >>> x = torch.rand(32, 32, dtype=torch.float64)
        >>> psf = gaussian_psf(5, 0.7, dtype=torch.float64)
        >>> bool(torch.allclose(wiener(blur(x, psf), psf, 0.0), x, atol=1e-8))
        True

    References:
        Orieux, F., Giovannelli, J.-F., Rodet, T. "Bayesian estimation of regularization and
        point spread function parameters for Wiener-Hunt deconvolution." JOSA A 27 (2010).
        Hunt, B. R. "A matrix theory proof of the discrete convolution theorem." IEEE Trans.
        Audio Electroacoust. 19 (1971).
    """
    check_image(image, "image", floating=True)
    lam = check_positive(balance, "balance", strict=False)
    x = _fft_dtype(image)
    h, w = image.shape[-2:]
    half = is_real or not (
        (isinstance(psf, Tensor) and psf.is_complex())
        or (isinstance(reg, Tensor) and reg.is_complex())
    )
    tf_h = transfer_function(psf, x, "psf", onesided=half)  # (..., H, W')
    tf_d = transfer_function(reg, x, "reg", onesided=half, psf=False)  # (..., H, W')
    lead = torch.broadcast_shapes(
        tuple(x.shape[:-2]), tuple(tf_h.shape[:-2]), tuple(tf_d.shape[:-2])
    )
    # W(nu) = conj(H) / (|H|^2 + lambda |D|^2), and 0 where that denominator is 0
    # (squared moduli from the real and imaginary parts: complex abs is slow on CPU)
    dd = torch.view_as_real(tf_d).square().sum(-1) if tf_d.is_complex() else tf_d.square()
    denominator = torch.view_as_real(tf_h).square().sum(-1)  # |H|^2, (..., H, W')
    if lam > 0:
        denominator = denominator + lam * dd
    ok = denominator > 0
    inverse = torch.where(ok, torch.where(ok, denominator, 1.0).reciprocal(), 0.0)
    if 0 in lead:  # a zero-size batch (MKL refuses empty transforms)
        return image.new_zeros(*lead, h, w)
    if half:
        spectrum = torch.fft.rfft2(x) * tf_h.conj() * inverse  # (..., H, W // 2 + 1)
        out = torch.fft.irfft2(spectrum, s=(h, w))  # (..., H, W)
    else:
        out = torch.fft.ifft2(torch.fft.fft2(x) * tf_h.conj() * inverse).real  # (..., H, W)
    return _clip(out.expand(*lead, h, w), clip).to(image.dtype)


_DEFAULT_PARAMS: dict[str, Any] = {
    "threshold": 1e-4,
    "burnin": 15,
    "min_num_iter": 30,
    "max_num_iter": 200,
    "callback": None,
}


def _gamma(shape: float, scale: Tensor, generator: torch.Generator | None) -> Tensor:
    """Draw Gamma(``shape``, ``scale``) variates, one per entry of ``scale``, for ``shape >= 1``.

    Marsaglia and Tsang's squeeze-free method: with :math:`d = k - 1/3`, :math:`c = 1/\\sqrt{9d}`
    and :math:`z \\sim N(0, 1)`, :math:`v = (1 + cz)^3` is accepted when
    :math:`\\log u < z^2/2 + d - dv + d\\log v`; then :math:`dv \\sim \\Gamma(k, 1)`. (torch's own
    gamma sampler takes no generator.)
    """
    d = shape - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    out = torch.full_like(scale, float("nan"))
    todo = torch.ones_like(scale, dtype=torch.bool)
    while bool(todo.any()):
        z = torch.randn(scale.shape, generator=generator, dtype=scale.dtype, device=scale.device)
        u = torch.rand(scale.shape, generator=generator, dtype=scale.dtype, device=scale.device)
        v = (1.0 + c * z) ** 3
        logv = torch.log(v.clamp_min(1e-300))
        accept = todo & (v > 0) & (torch.log(u) < 0.5 * z**2 + d - d * v + d * logv)
        out = torch.where(accept, d * v * scale, out)
        todo = todo & ~accept
    return out


def _half_weights(width: int, like: Tensor) -> Tensor:
    """Weights that turn sums over the ``rfft2`` half spectrum into sums over the full one.

    Columns ``1 .. ceil(W / 2) - 1`` stand for two conjugate columns each (Parseval); column 0
    and, for even ``W``, the Nyquist column are their own twins.
    """
    weight = torch.full((width // 2 + 1,), 2.0, dtype=like.dtype, device=like.device)
    weight[0] = 1.0
    if width % 2 == 0:
        weight[-1] = 1.0
    return weight


def unsupervised_wiener(
    image: Tensor,
    psf: Tensor,
    *,
    reg: Tensor | None = None,
    user_params: dict[str, Any] | None = None,
    clip: bool = True,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, dict[str, Tensor]]:
    r"""Wiener-Hunt deconvolution with noise and prior precisions estimated by Gibbs sampling.

    Args:
        image: the degraded image, shape ``(..., H, W)``, float, finite, at least 2x2.
        psf: the PSF (real, as in :func:`wiener`) or its transfer function in the
            :func:`torch.fft.rfft2` layout ``(..., H, W // 2 + 1)``.
        reg: the regulariser, as in :func:`wiener` (``None``: the Laplacian).
        user_params: sampler settings, any of ``threshold`` (stop when the relative change of
            the running mean falls below it, default 1e-4), ``burnin`` (samples discarded
            before averaging, 15), ``min_num_iter`` (30), ``max_num_iter`` (200) and
            ``callback`` (called with each image sample, spatial domain, for inspection).
        clip: clip the result to ``[-1, 1]``.
        generator: source of randomness; ``None`` uses the global generator.

    Returns:
        ``(restored, chains)``: the posterior mean, shape and dtype as in :func:`wiener`, and a
        dict with the chains of the noise precision ``"noise"`` and the prior precision
        ``"prior"``, each ``(..., T + 1)`` float64 starting at 1 (``T`` iterations were run).
        A batch is sampled jointly (independent chains) and stops when every item has met the
        criterion, so its items may see more iterations than they would alone.

    Raises:
        As :func:`wiener`; ``ValueRangeError`` for an unknown ``user_params`` key or a bad value,
        ``ShapeError`` for an image smaller than 2x2.

    Notes:
        The model is :math:`y = Hx + n` with white Gaussian noise of precision :math:`\gamma_n`
        and the prior :math:`p(x) \propto \exp(-\gamma_x \|Dx\|^2 / 2)`, Jeffreys priors on both
        precisions. In the (unitary) Fourier domain the Gibbs sampler alternates

        .. math::
            X \mid \gamma_n, \gamma_x, y &\sim \mathcal{CN}\!\left(
            \frac{\gamma_n \overline{\Lambda_H}\,Y}{\gamma_n|\Lambda_H|^2 + \gamma_x|\Lambda_D|^2},
            \frac{1}{\gamma_n|\Lambda_H|^2 + \gamma_x|\Lambda_D|^2}\right), \\
            \gamma_n &\sim \Gamma\!\left(\tfrac{N}{2}, \tfrac{2}{\|Y - \Lambda_H X\|^2}\right),
            \qquad \gamma_x \sim \Gamma\!\left(\tfrac{N - 1}{2},
            \tfrac{2}{\|\Lambda_D X\|^2}\right),

        (shape, scale; :math:`N - 1` since the Laplacian ignores the mean) and returns the mean
        of the samples after burn-in. The noise standard deviation estimate is
        :math:`1 / \sqrt{\gamma_n}`. Everything runs on the ``rfft2`` half spectrum (the
        precision sums weighted so that it stands for the whole); the Gaussian draws are
        float32 whatever the image's dtype (a Monte-Carlo average does not need more), and the
        two precision sums are accumulated in float64, with
        :math:`\|Y - \Lambda_H X\|^2 = \|Y\|^2 - 2\,\mathrm{Re}\langle\overline{\Lambda_H}Y,
        X\rangle + \sum |\Lambda_H|^2 |X|^2` so that no residual image is formed.

    Example:
        >>> from pixlearn.imaging import blur, gaussian_psf
        >>> g = torch.Generator().manual_seed(0)
        >>> x = blur(torch.rand(64, 64, generator=g), gaussian_psf(7, 1.0))
        >>> y = x + 0.01 * torch.randn(64, 64, generator=g)
        >>> out, chains = unsupervised_wiener(y, gaussian_psf(7, 1.0), generator=g)
        >>> out.shape, round(float(chains["noise"][-20:].mean().rsqrt()), 3)  # noise sigma
        (torch.Size([64, 64]), 0.01)

    References:
        Orieux, F., Giovannelli, J.-F., Rodet, T. "Bayesian estimation of regularization and
        point spread function parameters for Wiener-Hunt deconvolution." JOSA A 27 (2010).
        Marsaglia, G., Tsang, W. W. "A simple method for generating gamma variables." ACM TOMS
        26 (2000).
    """
    check_image(image, "image", floating=True, min_size=2)
    params = dict(_DEFAULT_PARAMS)
    if user_params is not None:
        if not isinstance(user_params, dict):
            raise WrongTypeError(f"user_params must be a dict, got {describe(user_params)}")
        unknown = sorted(set(user_params) - set(_DEFAULT_PARAMS))
        if unknown:
            raise ValueRangeError(
                f"user_params keys must be among {sorted(_DEFAULT_PARAMS)}, got {unknown}"
            )
        params.update(user_params)
    threshold = check_positive(params["threshold"], "user_params['threshold']", strict=False)
    burnin = check_int(params["burnin"], "user_params['burnin']", min_value=0)
    min_iter = check_int(params["min_num_iter"], "user_params['min_num_iter']", min_value=0)
    max_iter = check_int(params["max_num_iter"], "user_params['max_num_iter']", min_value=1)
    if max_iter <= burnin + 1:
        raise ValueRangeError(
            f"user_params['max_num_iter'] must exceed burnin + 1 = {burnin + 1} (no sample "
            f"would be averaged), got {max_iter}"
        )
    callback: Callable[[Tensor], object] | None = params["callback"]
    x = _fft_dtype(image)
    h, w = image.shape[-2:]
    tf_h = transfer_function(psf, x, "psf")  # (..., H, W // 2 + 1)
    tf_d = transfer_function(reg, x, "reg", psf=False)  # (..., H, W // 2 + 1)
    lead = torch.broadcast_shapes(tuple(x.shape[:-2]), tuple(_lead(x, tf_h, "psf")))
    lead = torch.broadcast_shapes(lead, tuple(tf_d.shape[:-2]))
    n = h * w
    real = x.dtype
    # complex spectra are held as planes of real and imaginary parts (2, ..., H, W'): complex
    # kernels, and reductions over a last dim of size 2, are slow on CPU
    spectrum = torch.fft.rfft2(x, norm="ortho")  # Y, unitary (Parseval holds), (..., H, W')
    hy = torch.view_as_real(tf_h.conj() * spectrum).movedim(-1, 0)  # conj(H) Y, (2, ..., H, W')
    hy = hy.expand(2, *lead, h, w // 2 + 1).contiguous()
    atf2 = tf_h.real**2 + tf_h.imag**2  # |H|^2, (..., H, W')
    areg2 = tf_d.real**2 + tf_d.imag**2 if tf_d.is_complex() else tf_d**2  # |D|^2
    # the chains' sums run in float64 on the half spectrum, weighted to stand for the whole
    weight = _half_weights(w, atf2.double())  # (W',)
    atf2_w, areg2_w = atf2.double() * weight, areg2.double() * weight  # (..., H, W')
    hy_w = hy.double() * weight  # (2, ..., H, W')
    yy_w = ((spectrum.real.double() ** 2 + spectrum.imag.double() ** 2) * weight).sum((-2, -1))
    gn = torch.ones(lead, dtype=torch.float64, device=x.device)  # noise precision
    gx = torch.ones(lead, dtype=torch.float64, device=x.device)  # prior precision
    chain_n, chain_x = [gn], [gx]
    total = torch.zeros_like(hy)  # running sum of the samples after burn-in, (2, ..., H, W')
    iteration = 0
    for iteration in range(max_iter):
        a, b = gn.to(real)[..., None, None], gx.to(real)[..., None, None]
        # posterior precision of each frequency: gamma_n |H|^2 + gamma_x |D|^2
        inv = (a * atf2 + b * areg2).reciprocal()  # (..., H, W')
        # X ~ CN(gamma_n conj(H) Y / precision, 1 / precision): real and imaginary parts each
        # of variance 1 / (2 precision). The normal draws are float32 whatever the image
        # (torch's vectorised sampler; float64 draws are ~5x slower, for no gain in a
        # Monte-Carlo average)
        noise = torch.randn(hy.shape, generator=generator, device=x.device).to(real)
        sample = torch.addcmul(hy * (a * inv), noise, (0.5 * inv).sqrt_())  # (2, ..., H, W')
        if callback is not None:
            callback(torch.fft.irfft2(torch.complex(*sample), s=(h, w), norm="ortho"))
        # ||Y - H X||^2 = ||Y||^2 - 2 Re<conj(H) Y, X> + sum |H|^2 |X|^2, and ||D X||^2 =
        # sum |D|^2 |X|^2, all over the full spectrum (float64: the first one cancels)
        x64 = sample.double()
        xx = x64[0] ** 2 + x64[1] ** 2  # |X|^2, (..., H, W')
        cross = (x64[0] * hy_w[0] + x64[1] * hy_w[1]).sum((-2, -1))
        residual = (yy_w - 2 * cross + (xx * atf2_w).sum((-2, -1))).clamp_min(1e-300)
        roughness = (xx * areg2_w).sum((-2, -1))
        gn = _gamma(n / 2, 2.0 / residual, generator)
        gx = _gamma((n - 1) / 2, 2.0 / roughness, generator)
        chain_n.append(gn)
        chain_x.append(gx)
        if iteration > burnin:
            total += sample
            count = iteration - burnin
            if iteration > min_iter and count > 1:
                # relative change of the running mean, sum|m_c - m_(c-1)| / sum|total| / c,
                # with m_c - m_(c-1) = (c x_c - total_c) / (c (c - 1))
                step = torch.add(total, sample, alpha=-count)  # total_c - c x_c
                change = (step[0] ** 2 + step[1] ** 2).sqrt().sum((-2, -1))
                size = (total[0] ** 2 + total[1] ** 2).sqrt().sum((-2, -1))
                delta = change / (count * (count - 1)) / size / count
                if bool((delta < threshold).all()):
                    break
    mean = torch.complex(*(total / (iteration - burnin)))
    out = torch.fft.irfft2(mean, s=(h, w), norm="ortho")  # (..., H, W)
    chains = {"noise": torch.stack(chain_n, -1), "prior": torch.stack(chain_x, -1)}
    return _clip(out, clip).to(image.dtype), chains
