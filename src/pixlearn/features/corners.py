r"""Corner and ridge detectors from second-moment and Hessian matrices.

Harris and Shi-Tomasi look at the structure tensor (the locally averaged outer product of the
gradient): two large eigenvalues mean the intensity changes in every direction, a corner. The
Hessian (second derivatives) of the smoothed image has one large eigenvalue across a ridge or
valley and a small one along it.

Conventions are scikit-image's (``skimage.feature.corner_harris``, ``corner_shi_tomasi``,
``hessian_matrix(use_gaussian_derivatives=True)``): unnormalised Sobel derivatives
(``[-1, 0, 1]`` by ``[1, 2, 1]``), Gaussian windows of standard deviation ``sigma`` truncated
at ``4 sigma``, and zeros outside the image (``border="constant"``, scikit-image's
``mode='constant'``). Responses then equal scikit-image's to rounding.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pixlearn._core.check import check_choice, check_image, check_positive, check_range
from pixlearn.filters.derivatives import gaussian_derivative2d, sobel
from pixlearn.filters.linear import BORDERS, gaussian_blur2d
from pixlearn.filters.template import peak_local_max

__all__ = [
    "harris_corners",
    "harris_response",
    "hessian_eigenvalues",
    "hessian_ridges",
    "shi_tomasi_corners",
    "shi_tomasi_response",
    "structure_tensor",
]


def structure_tensor(
    image: Tensor, sigma: float = 1.0, *, border: str = "constant"
) -> tuple[Tensor, Tensor, Tensor]:
    r"""The entries :math:`(A_{rr}, A_{rc}, A_{cc})` of the structure tensor of an image.

    Args:
        image: ``(..., H, W)``, float, finite, non-empty.
        sigma: standard deviation of the Gaussian window, > 0.
        border: ``"constant"`` (zeros, scikit-image's default), ``"reflect"``,
            ``"replicate"`` or ``"circular"``; used for the derivatives and the window.

    Returns:
        Three tensors of the image's shape.

    Notes:
        With Sobel derivatives :math:`I_r, I_c` and the Gaussian window :math:`G_\sigma`:

        .. math::
            A = G_\sigma * \begin{pmatrix} I_r^2 & I_r I_c \\ I_r I_c & I_c^2 \end{pmatrix}.

    Example:
        >>> arr, arc, acc = structure_tensor(torch.zeros(5, 5))
        >>> arr.shape
        torch.Size([5, 5])
    """
    check_image(image, "image", floating=True)
    check_positive(sigma, "sigma")
    check_choice(border, "border", BORDERS)
    # scikit-image uses SciPy's unnormalised Sobel, 4x pixlearn's (which divides by 4)
    i_r = 4.0 * sobel(image, axis=-2, border=border)  # (..., H, W)
    i_c = 4.0 * sobel(image, axis=-1, border=border)

    def window(x: Tensor) -> Tensor:
        return gaussian_blur2d(x, sigma, border=border)

    return window(i_r * i_r), window(i_r * i_c), window(i_c * i_c)


def harris_response(
    image: Tensor,
    *,
    k: float = 0.05,
    sigma: float = 1.0,
    method: str = "k",
    eps: float = 1e-6,
    border: str = "constant",
) -> Tensor:
    r"""Harris corner measure of every pixel.

    Args:
        image: ``(..., H, W)``, float, finite, non-empty.
        k: sensitivity in :math:`R = \det A - k\,(\operatorname{tr} A)^2`, in [0, 0.25].
        sigma: standard deviation of the Gaussian window, > 0.
        method: ``"k"`` (Harris and Stephens) or ``"eps"`` (Noble:
            :math:`2 \det A / (\operatorname{tr} A + \epsilon)`).
        eps: the :math:`\epsilon` of Noble's measure, > 0.
        border: see :func:`structure_tensor`.

    Returns:
        The response, same shape and dtype: large positive at corners, negative on edges.

    Notes:
        .. math::
            R = \lambda_1 \lambda_2 - k (\lambda_1 + \lambda_2)^2
              = A_{rr} A_{cc} - A_{rc}^2 - k (A_{rr} + A_{cc})^2.

    Example:
        >>> img = torch.zeros(12, 12)
        >>> img[6:, 6:] = 1.0  # one corner at (6, 6)
        >>> r = harris_response(img)
        >>> divmod(int(r.argmax()), 12)
        (6, 6)

    References:
        Harris, C. and Stephens, M. "A combined corner and edge detector." Alvey 1988.
    """
    check_range(k, "k", 0.0, 0.25)
    check_choice(method, "method", ("k", "eps"))
    check_positive(eps, "eps")
    arr, arc, acc = structure_tensor(image, sigma, border=border)
    det = arr * acc - arc * arc
    trace = arr + acc
    if method == "k":
        # R = det A - k tr(A)^2
        return det - k * trace * trace
    # Noble: 2 det A / (tr A + eps)
    return 2.0 * det / (trace + eps)


def shi_tomasi_response(image: Tensor, *, sigma: float = 1.0, border: str = "constant") -> Tensor:
    r"""Shi-Tomasi corner measure: the smaller eigenvalue of the structure tensor.

    Args:
        image: ``(..., H, W)``, float, finite, non-empty.
        sigma: standard deviation of the Gaussian window, > 0.
        border: see :func:`structure_tensor`.

    Returns:
        :math:`\lambda_{min}(A)`, same shape and dtype, >= 0 up to rounding.

    Notes:
        .. math::
            \lambda_{min} = \tfrac12 \left(A_{rr} + A_{cc}
            - \sqrt{(A_{rr} - A_{cc})^2 + 4 A_{rc}^2}\right).

    Example:
        >>> img = torch.zeros(12, 12)
        >>> img[6:, 6:] = 1.0
        >>> divmod(int(shi_tomasi_response(img).argmax()), 12)
        (6, 6)

    References:
        Shi, J. and Tomasi, C. "Good features to track." CVPR 1994.
    """
    arr, arc, acc = structure_tensor(image, sigma, border=border)
    return 0.5 * ((arr + acc) - torch.sqrt((arr - acc) ** 2 + 4.0 * arc * arc))


def _peaks(
    response: Tensor,
    min_distance: int,
    threshold_abs: float | None,
    threshold_rel: float | None,
    num_peaks: int | None,
    exclude_border: bool | int,
) -> Tensor:
    return peak_local_max(
        response,
        min_distance=min_distance,
        threshold_abs=threshold_abs,
        threshold_rel=threshold_rel,
        num_peaks=num_peaks,
        exclude_border=exclude_border,
    )


def harris_corners(
    image: Tensor,
    *,
    k: float = 0.05,
    sigma: float = 1.0,
    min_distance: int = 1,
    threshold_abs: float | None = None,
    threshold_rel: float | None = 0.01,
    num_peaks: int | None = None,
    exclude_border: bool | int = True,
) -> Tensor:
    r"""Harris corners of a 2-D image: the local maxima of :func:`harris_response`.

    Args:
        image: ``(H, W)``, float, finite, non-empty.
        k: see :func:`harris_response`.
        sigma: standard deviation of the Gaussian window, > 0.
        min_distance: least Chebyshev distance between two corners, >= 0.
        threshold_abs: least response of a corner (exclusive); ``None``: no absolute bound.
        threshold_rel: least response as a fraction of the largest response.
        num_peaks: keep at most this many corners, the strongest. With the default zero
            border a bright region touching the image border makes corners there too.
        exclude_border: no corner within ``min_distance`` (``True``) or ``k`` pixels of the
            border.

    Returns:
        ``(N, 2)`` int64 ``(row, col)`` coordinates, strongest first (the peaks of
        :func:`~pixlearn.filters.peak_local_max`, as ``skimage.feature.corner_peaks``).

    Notes:
        A corner is a local maximum of
        :math:`R = \det A - k (\operatorname{tr} A)^2` above the thresholds.

    Example:
        >>> img = torch.zeros(16, 16)
        >>> img[8:, 8:] = 1.0
        >>> harris_corners(img, num_peaks=1).tolist()
        [[8, 8]]

    References:
        Harris, C. and Stephens, M. "A combined corner and edge detector." Alvey 1988.
    """
    check_image(image, "image", max_dims=2, floating=True)
    response = harris_response(image, k=k, sigma=sigma)
    return _peaks(response, min_distance, threshold_abs, threshold_rel, num_peaks, exclude_border)


def shi_tomasi_corners(
    image: Tensor,
    *,
    sigma: float = 1.0,
    min_distance: int = 1,
    threshold_abs: float | None = None,
    threshold_rel: float | None = 0.01,
    num_peaks: int | None = None,
    exclude_border: bool | int = True,
) -> Tensor:
    r"""Shi-Tomasi ("good features to track") corners: local maxima of :math:`\lambda_{min}`.

    Args:
        image: ``(H, W)``, float, finite, non-empty.
        sigma, min_distance, threshold_abs, threshold_rel, num_peaks, exclude_border: as in
            :func:`harris_corners`.

    Returns:
        ``(N, 2)`` int64 ``(row, col)`` coordinates, strongest first.

    Example:
        >>> img = torch.zeros(16, 16)
        >>> img[8:, 8:] = 1.0
        >>> shi_tomasi_corners(img, num_peaks=1).tolist()
        [[8, 8]]

    References:
        Shi, J. and Tomasi, C. "Good features to track." CVPR 1994.
    """
    check_image(image, "image", max_dims=2, floating=True)
    response = shi_tomasi_response(image, sigma=sigma)
    return _peaks(response, min_distance, threshold_abs, threshold_rel, num_peaks, exclude_border)


def hessian_eigenvalues(image: Tensor, sigma: float = 1.0, *, border: str = "constant") -> Tensor:
    r"""Eigenvalues of the Hessian of the Gaussian-smoothed image, largest first.

    Args:
        image: ``(..., H, W)``, float, finite, non-empty.
        sigma: scale of the Gaussian, > 0.
        border: see :func:`structure_tensor`.

    Returns:
        ``(..., 2, H, W)``: :math:`\lambda_1 \ge \lambda_2` per pixel.

    Notes:
        Each second derivative is two first-order Gaussian derivatives of standard deviation
        :math:`\sigma / \sqrt 2` (together a scale of :math:`\sigma`), with kernels truncated
        at :math:`8\sigma` (:math:`100\sigma` for :math:`\sigma \le 1`), as scikit-image's
        ``hessian_matrix(use_gaussian_derivatives=True)``; then

        .. math::
            \lambda_{1,2} = \frac{H_{rr} + H_{cc}}{2}
            \pm \sqrt{H_{rc}^2 + \left(\frac{H_{rr} - H_{cc}}{2}\right)^2}.

    Example:
        >>> hessian_eigenvalues(torch.zeros(6, 6)).shape
        torch.Size([2, 6, 6])
    """
    check_image(image, "image", floating=True)
    s = check_positive(sigma, "sigma") / math.sqrt(2.0)
    check_choice(border, "border", BORDERS)
    truncate = 8.0 if sigma > 1 else 100.0

    def d(x: Tensor, order: tuple[int, int]) -> Tensor:
        return gaussian_derivative2d(x, s, order, truncate=truncate, border=border)

    g_r, g_c = d(image, (1, 0)), d(image, (0, 1))  # (..., H, W)
    h_rr, h_rc, h_cc = d(g_r, (1, 0)), d(g_r, (0, 1)), d(g_c, (0, 1))
    mean = 0.5 * (h_rr + h_cc)
    half = torch.sqrt(h_rc * h_rc + (0.5 * (h_rr - h_cc)) ** 2)
    return torch.stack([mean + half, mean - half], dim=-3)


def hessian_ridges(
    image: Tensor, sigma: float = 1.0, *, black_ridges: bool = False, border: str = "reflect"
) -> Tensor:
    r"""Ridge (or valley) strength from the Hessian eigenvalues at scale ``sigma``.

    Args:
        image: ``(..., H, W)``, float, finite, non-empty.
        sigma: scale of the ridges (about half their width), > 0.
        black_ridges: detect dark valleys instead of bright ridges.
        border: see :func:`structure_tensor` (``"reflect"`` here, so the image border is no
            ridge).

    Returns:
        The scale-normalised ridge strength, same shape and dtype, >= 0.

    Notes:
        Across a bright ridge the intensity curves down: :math:`\lambda_2 \ll 0`; along it
        :math:`\lambda_1 \approx 0`. With Lindeberg's :math:`\sigma^2` normalisation (so that
        strengths at different scales compare):

        .. math::
            R = \sigma^2 \max(-\lambda_2, 0) \;\text{(bright)}, \qquad
            R = \sigma^2 \max(\lambda_1, 0) \;\text{(dark)}.

    Example:
        >>> img = torch.zeros(15, 15)
        >>> img[:, 7] = 1.0  # a bright vertical line
        >>> int(hessian_ridges(img, 1.0)[7].argmax())
        7

    References:
        Lindeberg, T. "Edge detection and ridge detection with automatic scale selection."
        IJCV 1998.
    """
    eig = hessian_eigenvalues(image, sigma, border=border)  # (..., 2, H, W)
    s2 = float(sigma) ** 2
    if black_ridges:
        return s2 * eig[..., 0, :, :].clamp(min=0.0)
    return s2 * (-eig[..., 1, :, :]).clamp(min=0.0)
