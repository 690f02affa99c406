"""Noise models of an imaging system: Gaussian, Poisson (shot), salt-and-pepper, uniform.

Every function draws its randomness from ``generator`` (the global generator when ``None``), so
the same seed gives the same, bit-identical result. The noise of a whole batch is drawn in one
call, one variate per element in the row-major order of the result (whatever the strides of the
input). :func:`uniform_noise` and :func:`salt_and_pepper` consume exactly one uniform per element,
so on the CPU a batch equals its items noised one after another from the same generator; the
Gaussian and Poisson samplers of torch do not promise this (they draw in blocks), so there a
batch only follows the same distribution as its items. None of the functions modifies its input.
"""

from __future__ import annotations

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_positive, check_range
from pixlearn._core.errors import ValueRangeError

__all__ = ["gaussian_noise", "poisson_noise", "salt_and_pepper", "uniform_noise"]


def _check(image: Tensor) -> None:
    check_image(image, "image", min_dims=2, floating=True)


def _maybe_clip(out: Tensor, clip: bool) -> Tensor:
    return out.clamp(0.0, 1.0) if clip else out


def gaussian_noise(
    image: Tensor,
    sigma: float,
    *,
    clip: bool = False,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Add white Gaussian noise of standard deviation ``sigma``.

    Args:
        image: image, shape ``(..., H, W)``, float.
        sigma: standard deviation of the noise, >= 0 (0 returns a copy).
        clip: clip the result to [0, 1].
        generator: source of randomness; ``None`` uses the global generator.

    Returns:
        The noisy image, same shape and dtype. Differentiable w.r.t. ``image`` (for a fixed
        draw the noise is an additive constant, so the gradient is 1 where not clipped).

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Notes:
        :math:`y = x + n`, :math:`n \sim \mathcal{N}(0, \sigma^2)` independent per element:
        thermal and read-out noise of a sensor. One standard normal is drawn per element.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> y = gaussian_noise(torch.zeros(200, 200), 0.1, generator=g)
        >>> round(float(y.std()), 2)
        0.1

    References:
        Gonzalez, R. C., Woods, R. E. "Digital Image Processing", 4th ed., sec. 5.2.
    """
    _check(image)
    s = check_positive(sigma, "sigma", strict=False)
    # n ~ N(0, 1) per element, scaled to N(0, sigma^2)
    n = torch.randn(
        image.shape, generator=generator, dtype=image.dtype, device=image.device
    )  # (..., H, W)
    return _maybe_clip(image + s * n, clip)


def poisson_noise(
    image: Tensor,
    photons: float,
    *,
    clip: bool = False,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Photon shot noise: count Poisson photons, ``photons`` expected for intensity 1.

    Args:
        image: non-negative intensities, shape ``(..., H, W)``, float.
        photons: expected photon count at intensity 1, > 0; more photons, less noise.
        clip: clip the result to [0, 1] (it is never negative).
        generator: source of randomness; ``None`` uses the global generator.

    Returns:
        The noisy image in the units of ``image``, same shape and dtype. Not differentiable
        (a Poisson draw has no reparametrisation; the gradient w.r.t. ``image`` is 0).

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Notes:
        :math:`y = k / N`, :math:`k \sim \mathrm{Poisson}(N x)`, so :math:`E[y] = x` and
        :math:`\mathrm{Var}[y] = x / N`: the signal-to-noise ratio :math:`\sqrt{N x}` grows with
        the square root of the light collected.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> y = poisson_noise(torch.full((200, 200), 0.5), 100.0, generator=g)
        >>> round(float(y.mean()), 2), round(float(y.var() * 100), 2)  # x, x / N * N
        (0.5, 0.5)

    References:
        Foi, A. et al. "Practical Poissonian-Gaussian noise modeling and fitting for
        single-image raw-data." IEEE TIP 17 (2008).
    """
    _check(image)
    n = check_positive(photons, "photons")
    if image.numel() and bool((image < 0).any()):
        raise ValueRangeError(
            f"image must be non-negative for Poisson noise, got minimum {float(image.min())}"
        )
    # k ~ Poisson(N x), y = k / N
    counts = torch.poisson(image.detach() * n, generator=generator)  # (..., H, W)
    return _maybe_clip(counts / n, clip)


def salt_and_pepper(
    image: Tensor,
    amount: float,
    salt_vs_pepper: float = 0.5,
    *,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Impulse noise: replace a fraction ``amount`` of the elements by 1 (salt) or 0 (pepper).

    Args:
        image: image, shape ``(..., H, W)``, float (values in [0, 1]).
        amount: probability that an element is replaced, in [0, 1].
        salt_vs_pepper: share of the replaced elements set to 1, in [0, 1]; the rest are set
            to 0.
        generator: source of randomness; ``None`` uses the global generator.

    Returns:
        The noisy image, same shape and dtype. Differentiable w.r.t. ``image`` where an element
        is kept (gradient 1) and constant where replaced (gradient 0).

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Notes:
        One uniform :math:`u \sim U[0, 1)` is drawn per element (each channel independently):
        :math:`y = 1` if :math:`u < a s`, :math:`y = 0` if :math:`a s \le u < a`, :math:`y = x`
        otherwise, with :math:`a` = ``amount`` and :math:`s` = ``salt_vs_pepper``. Dead and
        stuck pixels, transmission errors.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> y = salt_and_pepper(torch.full((100, 100), 0.5), 0.2, generator=g)
        >>> round(float((y != 0.5).float().mean()), 2)  # fraction replaced
        0.2
        >>> sorted(set(y.unique().tolist()))
        [0.0, 0.5, 1.0]

    References:
        Gonzalez, R. C., Woods, R. E. "Digital Image Processing", 4th ed., sec. 5.2.
    """
    _check(image)
    a = check_range(amount, "amount", 0.0, 1.0)
    s = check_range(salt_vs_pepper, "salt_vs_pepper", 0.0, 1.0)
    u = torch.rand(image.shape, generator=generator, dtype=image.dtype, device=image.device)
    salt = u < a * s  # (..., H, W), probability a s
    pepper = (u >= a * s) & (u < a)  # probability a (1 - s)
    out = torch.where(salt, torch.ones_like(image), image)
    return torch.where(pepper, torch.zeros_like(image), out)


def uniform_noise(
    image: Tensor,
    low: float,
    high: float,
    *,
    clip: bool = False,
    generator: torch.Generator | None = None,
) -> Tensor:
    r"""Add noise drawn uniformly from ``[low, high)``.

    Args:
        image: image, shape ``(..., H, W)``, float.
        low: lower bound of the noise.
        high: upper bound of the noise, >= ``low``.
        clip: clip the result to [0, 1].
        generator: source of randomness; ``None`` uses the global generator.

    Returns:
        The noisy image, same shape and dtype; differentiable w.r.t. ``image`` as
        :func:`gaussian_noise`.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Notes:
        :math:`y = x + n`, :math:`n \sim U(l, h)`: mean :math:`(l + h)/2`, variance
        :math:`(h - l)^2 / 12`. The error of a uniform quantiser of step :math:`h - l` is
        modelled this way. One uniform is drawn per element.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> y = uniform_noise(torch.zeros(100, 100), -0.1, 0.1, generator=g)
        >>> bool(y.min() >= -0.1 and y.max() < 0.1)
        True

    References:
        Gonzalez, R. C., Woods, R. E. "Digital Image Processing", 4th ed., sec. 5.2.
    """
    _check(image)
    lo = check_range(low, "low")
    hi = check_range(high, "high", lo, None)
    u = torch.rand(image.shape, generator=generator, dtype=image.dtype, device=image.device)
    # n = l + (h - l) u, u ~ U[0, 1)
    return _maybe_clip(image + (lo + (hi - lo) * u), clip)
