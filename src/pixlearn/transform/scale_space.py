"""Gaussian scale space: the one-parameter family of blurred images, its scale-normalised
derivatives and the N-jet (every derivative up to order N at one scale)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from pixlearn._core.check import check_choice, check_int, check_positive, check_range
from pixlearn._core.errors import ShapeError, WrongTypeError
from pixlearn.filters.derivatives import gaussian_derivative2d
from pixlearn.filters.kernels import gaussian_kernel1d
from pixlearn.filters.linear import BORDERS, _finish, _prepare, _separable, gaussian_blur2d

__all__ = ["gaussian_scale_space", "njet", "njet_orders", "scale_normalized_derivative"]


def gaussian_scale_space(
    image: Tensor,
    sigmas: Sequence[float] | Tensor,
    *,
    truncate: float = 4.0,
    border: str = "reflect",
) -> Tensor:
    r"""The image blurred by a Gaussian of each scale: :math:`L(\cdot; t) = f * G_t`.

    Args:
        image: shape ``(..., H, W)``, float, finite, non-empty.
        sigmas: the standard deviations (in pixels) of the scales, each > 0, in any order; a
            sequence of numbers or a 1-D tensor, at least one.
        truncate: kernel radius ``int(truncate * sigma + 0.5)``, as
            :func:`~pixlearn.filters.gaussian_blur2d`.
        border: ``"reflect"``, ``"replicate"``, ``"constant"`` (zeros) or ``"circular"``.

    Returns:
        The stack, scale axis inserted before ``(H, W)``, same dtype as ``image``.

    Shape:
        ``(..., H, W) -> (..., S, H, W)`` with ``S = len(sigmas)``.

    Raises:
        ShapeError: ``sigmas`` empty or not 1-D. ValueRangeError: a sigma not > 0, NaN input.

    Notes:
        The scale-space representation of :math:`f` is

        .. math::
            L(x, y; t) = (f * G_t)(x, y), \qquad
            G_t(x, y) = \frac{1}{2\pi t} e^{-(x^2 + y^2) / 2t}, \qquad t = \sigma^2,

        the solution of the diffusion equation :math:`\partial_t L = \tfrac12 \nabla^2 L`.
        Its axioms (linearity, shift invariance, non-enhancement of local extrema) single out
        the Gaussian, and :math:`G_{t_1} * G_{t_2} = G_{t_1 + t_2}` (semigroup): blurring by
        :math:`\sigma_1` then :math:`\sigma_2` equals one blur by
        :math:`\sqrt{\sigma_1^2 + \sigma_2^2}`.

    Example:
        >>> stack = gaussian_scale_space(torch.rand(3, 32, 32), [1.0, 2.0, 4.0])
        >>> stack.shape
        torch.Size([3, 3, 32, 32])
        >>> bool(stack[:, 2].std() < stack[:, 0].std())  # coarser scale, less detail
        True

    References:
        Witkin, A. P. "Scale-space filtering." IJCAI 1983; Lindeberg, T. *Scale-Space Theory
        in Computer Vision*, Kluwer 1994.
    """
    values = _sigma_list(sigmas, "sigmas")
    check_choice(border, "border", BORDERS)
    layers = [gaussian_blur2d(image, s, truncate=truncate, border=border) for s in values]
    return torch.stack(layers, dim=-3)  # (..., S, H, W)


def scale_normalized_derivative(
    image: Tensor,
    sigma: float,
    order: tuple[int, int] = (0, 1),
    *,
    gamma: float = 1.0,
    truncate: float = 4.0,
    border: str = "reflect",
) -> Tensor:
    r"""A Gaussian derivative times :math:`t^{\gamma |\alpha| / 2}`, comparable across scales.

    Args:
        image: shape ``(..., H, W)``, float, finite, non-empty.
        sigma: the scale's standard deviation in pixels, > 0 (:math:`t = \sigma^2`).
        order: ``(n, m)``: differentiate ``n`` times along y (rows) and ``m`` times along x
            (columns), each >= 0 (any order; ``(0, 0)`` is the blur itself).
        gamma: the normalisation exponent, >= 0; 1 makes the response of a
            scale-invariant feature (a blob, a step edge with ``gamma = 1/2``) independent of
            its size, 0 gives the plain derivative.
        truncate: kernel radius ``int(truncate * sigma + 0.5)``.
        border: ``"reflect"``, ``"replicate"``, ``"constant"`` (zeros) or ``"circular"``.

    Returns:
        The normalised derivative, same shape and dtype as ``image``.

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        ValueRangeError: ``sigma`` not > 0, a negative order, ``gamma`` < 0, NaN input.
        WrongTypeError: a non-integer order.

    Notes:
        .. math::
            \partial_{y^n x^m, \gamma\text{-norm}} L = t^{\gamma (n + m) / 2}\,
            \partial_{y^n x^m} (f * G_t)
            = \sigma^{\gamma (n + m)} f * \big(g^{(n)}_\sigma(y)\, g^{(m)}_\sigma(x)\big),

        with the 1-D derivative kernels
        :math:`g^{(k)}_\sigma(u) = (-1/\sigma)^k \operatorname{He}_k(u / \sigma)\,
        g_\sigma(u)` (probabilists' Hermite polynomials, :math:`\operatorname{He}_{k+1}(v) =
        v \operatorname{He}_k(v) - k \operatorname{He}_{k-1}(v)`), sampled as SciPy's
        ``gaussian_filter(order=k)``. Under a rescaling :math:`f'(x) = f(sx)` the normalised
        derivatives at corresponding scales are equal when :math:`\gamma = 1`, which is what
        makes automatic scale selection (Lindeberg) work.

    Example:
        >>> img = torch.zeros(33, 33)
        >>> img[16, 16] = 1.0
        >>> lap = sum(scale_normalized_derivative(img, 2.0, o) for o in [(2, 0), (0, 2)])
        >>> bool(lap[16, 16] < 0)  # the normalised Laplacian of a bright spot
        True

    References:
        Lindeberg, T. "Feature detection with automatic scale selection." IJCV 30(2), 1998.
    """
    s = check_positive(sigma, "sigma")
    oy, ox = _order(order)
    g = check_range(gamma, "gamma", 0.0)
    derivative = _gaussian_derivative(image, s, (oy, ox), truncate, border)
    # t^(gamma |order| / 2) = sigma^(gamma |order|)
    return derivative * s ** (g * (oy + ox))


def njet_orders(order: int) -> list[tuple[int, int]]:
    """The ``(order_y, order_x)`` pairs of the N-jet, in the order :func:`njet` stacks them.

    By total order, then from the pure x derivative to the pure y one:
    ``L, Lx, Ly, Lxx, Lxy, Lyy, Lxxx, ...``.

    Args:
        order: the jet's order ``N``, >= 0.

    Returns:
        ``(N + 1)(N + 2) / 2`` pairs ``(n, m)`` meaning :math:`\\partial_y^n \\partial_x^m`.

    Example:
        >>> njet_orders(2)
        [(0, 0), (0, 1), (1, 0), (0, 2), (1, 1), (2, 0)]
    """
    n = check_int(order, "order", min_value=0)
    return [(k - m, m) for k in range(n + 1) for m in range(k, -1, -1)]


def njet(
    image: Tensor,
    sigma: float,
    order: int = 2,
    *,
    normalized: bool = False,
    gamma: float = 1.0,
    truncate: float = 4.0,
    border: str = "reflect",
) -> Tensor:
    r"""The N-jet: every Gaussian derivative of total order 0..N at one scale, stacked.

    Args:
        image: shape ``(..., H, W)``, float, finite, non-empty.
        sigma: the scale, > 0.
        order: ``N``, >= 0.
        normalized: multiply each derivative by :math:`t^{\gamma |\alpha| / 2}` as
            :func:`scale_normalized_derivative` does.
        gamma: the normalisation exponent (used when ``normalized``), >= 0.
        truncate: kernel radius ``int(truncate * sigma + 0.5)``.
        border: ``"reflect"``, ``"replicate"``, ``"constant"`` (zeros) or ``"circular"``.

    Returns:
        The jet, derivatives along a new axis before ``(H, W)`` in the order of
        :func:`njet_orders` (``L, Lx, Ly, Lxx, Lxy, Lyy, ...``), same dtype as ``image``.

    Shape:
        ``(..., H, W) -> (..., J, H, W)``, ``J = (N + 1)(N + 2) / 2``.

    Raises:
        As :func:`scale_normalized_derivative`; ``order`` < 0.

    Notes:
        The N-jet :math:`\{L_{y^n x^m} : n + m \le N\}` is the truncated Taylor expansion of
        :math:`L` around every pixel: :math:`L(p + h) \approx \sum_{n+m \le N}
        L_{y^n x^m}(p)\, h_y^n h_x^m / (n!\, m!)`. Differential invariants (gradient
        magnitude, the Laplacian :math:`L_{xx} + L_{yy}`, the determinant of the Hessian
        :math:`L_{xx} L_{yy} - L_{xy}^2`) are polynomials of its entries.

    Example:
        >>> jet = njet(torch.rand(2, 24, 24), 1.5, 2)
        >>> jet.shape
        torch.Size([2, 6, 24, 24])

    References:
        Koenderink, J. J., van Doorn, A. J. "Representation of local geometry in the visual
        system." Biological Cybernetics 55, 1987; Florack, L. *Image Structure*, Kluwer 1997.
    """
    s = check_positive(sigma, "sigma")
    pairs = njet_orders(order)
    g = check_range(gamma, "gamma", 0.0)
    layers = []
    for oy, ox in pairs:
        d = _gaussian_derivative(image, s, (oy, ox), truncate, border)
        layers.append(d * s ** (g * (oy + ox)) if normalized else d)
    return torch.stack(layers, dim=-3)  # (..., J, H, W)


# ---- helpers ---------------------------------------------------------------------------------


def _sigma_list(sigmas: Sequence[float] | Tensor, name: str) -> list[float]:
    """Checked positive floats from a sequence or a 1-D tensor."""
    if isinstance(sigmas, Tensor):
        if sigmas.dim() != 1:
            raise ShapeError(f"{name} must be 1-D, got a tensor of shape {tuple(sigmas.shape)}")
        sigmas = sigmas.tolist()
    if isinstance(sigmas, (int, float)) or not isinstance(sigmas, Sequence):
        raise WrongTypeError(f"{name} must be a sequence of numbers, got {sigmas!r}")
    if len(sigmas) == 0:
        raise ShapeError(f"{name} must hold at least one sigma, got an empty sequence")
    return [check_positive(s, name) for s in sigmas]


def _order(order: tuple[int, int]) -> tuple[int, int]:
    if not isinstance(order, (tuple, list)) or len(order) != 2:
        raise ShapeError(f"order must be a pair (order_y, order_x), got {order!r}")
    return check_int(order[0], "order", min_value=0), check_int(order[1], "order", min_value=0)


def _derivative_kernel(
    sigma: float, order: int, truncate: float, dtype: torch.dtype, device: torch.device
) -> Tensor:
    """The sampled 1-D Gaussian derivative of any order (SciPy's sampling and radius)."""
    if order <= 2:
        return gaussian_kernel1d(sigma, truncate=truncate, order=order, dtype=dtype, device=device)
    phi = gaussian_kernel1d(sigma, truncate=truncate, dtype=torch.float64, device=device)
    radius = phi.numel() // 2
    u = torch.arange(-radius, radius + 1, dtype=torch.float64, device=device) / sigma  # (K,)
    # He_{k+1}(u) = u He_k(u) - k He_{k-1}(u), from He_0 = 1, He_1 = u
    he_prev, he = torch.ones_like(u), u
    for k in range(1, order):
        he_prev, he = he, u * he - k * he_prev
    # g^(n)(x) = (-1 / sigma)^n He_n(x / sigma) g(x)
    return ((-1.0 / sigma) ** order * he * phi).to(dtype)


def _gaussian_derivative(
    image: Tensor, sigma: float, order: tuple[int, int], truncate: float, border: str
) -> Tensor:
    """:math:`\\partial_y^n \\partial_x^m (f * G_\\sigma)` for any ``(n, m)``."""
    oy, ox = order
    if oy <= 2 and ox <= 2:
        return gaussian_derivative2d(image, sigma, (oy, ox), truncate=truncate, border=border)
    x, shape, dtype = _prepare(image)
    check_positive(truncate, "truncate")
    check_choice(border, "border", BORDERS)
    ky = _derivative_kernel(sigma, oy, truncate, x.dtype, x.device)
    kx = _derivative_kernel(sigma, ox, truncate, x.dtype, x.device)
    return _finish(_separable(x, ky, kx, border, 0.0), shape, dtype)
