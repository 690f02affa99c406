r"""Single-image dehazing with the dark channel prior, refined by the guided filter.

Haze follows the atmospheric scattering model :math:`I = J t + A (1 - t)`: the scene radiance
:math:`J` is attenuated by the transmission :math:`t = e^{-\beta d}` (depth :math:`d`) and
replaced by airlight :math:`A`. He, Sun and Tang observed that in haze-free outdoor patches some
colour channel is almost black (shadows, saturated colours, dark objects): the *dark channel*
of :math:`J` is about 0. The dark channel of :math:`I / A` then estimates :math:`1 - t` directly,
and the brightest dark-channel pixels locate :math:`A`. The patch-wise estimate is blocky; the
guided filter (an edge-preserving, O(1)-per-pixel local linear regression) snaps it to the
image's edges.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from pixlearn._core.check import check_image, check_int, check_positive, check_range, describe
from pixlearn._core.errors import ShapeError, ValueRangeError

__all__ = ["dark_channel", "dehaze_dark_channel", "guided_filter"]


def _check_patch(patch_size: int) -> int:
    k = check_int(patch_size, "patch_size", min_value=1)
    if k % 2 == 0:
        raise ValueRangeError(f"patch_size must be odd (a centred square), got {patch_size}")
    return k


def _min_filter(x: Tensor, k: int) -> Tensor:
    """Minimum over the ``k x k`` square around each pixel of ``(..., H, W)``, border ignored."""
    if k == 1 or x.numel() == 0:
        return x.clone()
    shape = x.shape
    y = -x.reshape(-1, 1, *shape[-2:])  # (B, 1, H, W): min f = -max(-f)
    # the square is separable: rows then columns (max_pool pads with -inf, i.e. ignores it)
    y = F.max_pool2d(y, (k, 1), stride=1, padding=(k // 2, 0))
    y = F.max_pool2d(y, (1, k), stride=1, padding=(0, k // 2))
    return (-y).reshape(shape)


def dark_channel(image: Tensor, patch_size: int = 15) -> Tensor:
    r"""The dark channel: the minimum over the colour channels and a square patch.

    Args:
        image: images, shape ``(..., C, H, W)``, float, finite.
        patch_size: the side of the square patch, odd, >= 1; near the border the patch is
            cut to the image.

    Returns:
        The dark channel, shape ``(..., H, W)``, dtype of ``image``.

    Shape:
        ``(..., C, H, W) -> (..., H, W)``.

    Raises:
        WrongTypeError: ``image`` not floating, ``patch_size`` not an int.
        ShapeError: ``image`` with fewer than 3 dims or empty.
        ValueRangeError: NaN/Inf in ``image``, an even or non-positive ``patch_size``.

    Notes:
        .. math::
            J^{\mathrm{dark}}(x) = \min_{y \in \Omega(x)} \min_{c} J^c(y).

    Example:
        >>> img = torch.ones(3, 5, 5)
        >>> img[1, 2, 2] = 0.2  # one dark green pixel darkens its whole neighbourhood
        >>> dark_channel(img, 3)[1:4, 1:4]
        tensor([[0.2000, 0.2000, 0.2000],
                [0.2000, 0.2000, 0.2000],
                [0.2000, 0.2000, 0.2000]])

    References:
        He, K., Sun, J., Tang, X. "Single image haze removal using dark channel prior." CVPR
        2009 (and IEEE TPAMI 33, 2011).
    """
    check_image(image, "image", min_dims=3, floating=True)
    k = _check_patch(patch_size)
    return _min_filter(image.amin(dim=-3), k)


def _box_mean(x: Tensor, r: int) -> Tensor:
    """Mean over the ``(2r+1)^2`` window around each pixel, cut at the border, via cumulative sums.

    ``x`` is ``(..., H, W)``; per axis, with ``S[i] = sum_{j<i} x[j]`` padded by ``r`` copies of
    its first and last values, the window sum is ``S[min(i + r + 1, n)] - S[max(i - r, 0)]``:
    two reads per pixel whatever ``r``. Then divided by the number of pixels in the cut window.
    """
    out = x
    for dim in (-2, -1):
        n = out.shape[dim]
        zero = torch.zeros_like(out.narrow(dim, 0, 1))
        s = torch.cat([zero, out.cumsum(dim)], dim)  # (..., n + 1, ...), S[0] = 0
        last = s.narrow(dim, n, 1)
        # S padded: S[-r..-1] = S[0] = 0 and S[n+1..n+r] = S[n]
        reps = [1] * s.dim()
        reps[dim] = r
        s = torch.cat([zero.repeat(reps), s, last.repeat(reps)], dim)  # (..., n + 1 + 2r, ...)
        out = s.narrow(dim, 2 * r + 1, n) - s.narrow(dim, 0, n)
        i = torch.arange(n, device=x.device)
        count = ((i + r + 1).clamp(max=n) - (i - r).clamp(min=0)).to(x.dtype)  # window length
        out = out / (count[:, None] if dim == -2 else count)
    return out


def guided_filter(guide: Tensor, src: Tensor, radius: int, eps: float) -> Tensor:
    r"""The guided filter: edge-preserving smoothing of ``src`` steered by a grey ``guide``.

    Args:
        guide: the guidance images, shape ``(..., H, W)``, float, finite (a grey image;
            reduce a colour image to grey first).
        src: the images to filter, shape ``(..., H, W)`` broadcasting against ``guide``.
        radius: the window is ``(2 radius + 1)^2`` pixels, cut at the border; >= 0.
        eps: the regularisation :math:`\epsilon > 0`: edges with local variance well above it
            are kept, flatter regions are smoothed.

    Returns:
        The filtered images, shape ``broadcast(guide, src)``, dtype of ``src`` (computed in
        float64: cumulative sums in float32 lose digits on large images). Differentiable.

    Shape:
        ``(..., H, W), (..., H, W) -> (..., H, W)``.

    Raises:
        WrongTypeError: ``guide``/``src`` not floating, ``radius`` not an int.
        ShapeError: empty images, spatial shapes that differ, leading dims not broadcasting.
        ValueRangeError: NaN/Inf, ``radius < 0``, ``eps <= 0``.

    Notes:
        In each window :math:`\omega_k` the output is a linear function of the guide,
        :math:`q_i = a_k I_i + b_k`, fitted to :math:`p` by ridge regression:

        .. math::
            a_k = \frac{\overline{Ip}_k - \mu_k \bar p_k}{\sigma_k^2 + \epsilon}, \qquad
            b_k = \bar p_k - a_k \mu_k, \qquad
            q_i = \bar a_i I_i + \bar b_i,

        where bars are window means (computed with box filters, O(1) per pixel) and
        :math:`\bar a_i, \bar b_i` average the coefficients of the windows covering :math:`i`.
        Since :math:`\nabla q \approx \bar a \nabla I`, edges of the guide pass to the output.

    Example:
        >>> step = torch.zeros(8, 8)
        >>> step[:, 4:] = 1
        >>> out = guided_filter(step, step, 2, 1e-4)  # the guide's own edge is preserved
        >>> bool((out - step).abs().max() < 1e-2)
        True

    References:
        He, K., Sun, J., Tang, X. "Guided image filtering." ECCV 2010 (and IEEE TPAMI 35, 2013).
    """
    check_image(guide, "guide", floating=True)
    check_image(src, "src", floating=True)
    r = check_int(radius, "radius", min_value=0)
    e = check_positive(eps, "eps")
    if guide.shape[-2:] != src.shape[-2:]:
        raise ShapeError(
            f"src must have the guide's spatial shape {tuple(guide.shape[-2:])}, "
            f"got {describe(src)}"
        )
    try:
        shape = torch.broadcast_shapes(guide.shape, src.shape)
    except RuntimeError:
        raise ShapeError(
            f"src must broadcast against the guide {describe(guide)}, got {describe(src)}"
        ) from None
    if 0 in shape:
        return src.new_zeros(shape)
    i = guide.to(torch.float64).expand(shape)  # I, (..., H, W)
    p = src.to(torch.float64).expand(shape)  # p, (..., H, W)
    # the four window means in one pass: mean(I), mean(p), mean(I p), mean(I^2)
    mean_i, mean_p, mean_ip, mean_ii = _box_mean(torch.stack([i, p, i * p, i * i]), r)
    # cov(I, p) = mean(I p) - mean(I) mean(p); var(I) = mean(I^2) - mean(I)^2
    cov_ip = mean_ip - mean_i * mean_p
    var_i = mean_ii - mean_i * mean_i
    # a = cov / (var + eps), b = mean(p) - a mean(I)
    a = cov_ip / (var_i + e)
    b = mean_p - a * mean_i
    # q = mean(a) I + mean(b)
    mean_a, mean_b = _box_mean(torch.stack([a, b]), r)
    q = mean_a * i + mean_b
    return q.to(src.dtype)


def dehaze_dark_channel(
    image: Tensor,
    *,
    patch_size: int = 15,
    omega: float = 0.95,
    t0: float = 0.1,
    top_fraction: float = 0.001,
    refine: bool = True,
    radius: int = 60,
    eps: float = 1e-3,
    clip: bool = True,
) -> tuple[Tensor, Tensor, Tensor]:
    r"""Remove haze from images with the dark channel prior (He, Sun and Tang).

    Args:
        image: hazy images, shape ``(..., C, H, W)`` (usually RGB), float, finite, in [0, 1].
        patch_size: the dark channel's patch, odd, >= 1.
        omega: the fraction of haze removed, in (0, 1]; keeping a little (0.95) keeps the
            depth cue of aerial perspective.
        t0: the lower bound on the transmission in the recovery, in (0, 1]; avoids amplifying
            noise where the haze is dense.
        top_fraction: the fraction of brightest dark-channel pixels among which the
            atmospheric light is chosen, in (0, 1] (at least one pixel).
        refine: refine the transmission with :func:`guided_filter` (guided by the image's
            channel mean), instead of the blocky patch-wise estimate.
        radius: the guided filter's radius, >= 0 (the paper uses about 4 patch sizes).
        eps: the guided filter's regularisation, > 0.
        clip: clip the recovered radiance to [0, 1].

    Returns:
        ``(dehazed, transmission, atmosphere)``: the scene radiance ``J`` (shape and dtype of
        ``image``), the transmission map ``t`` ``(..., H, W)`` and the atmospheric light ``A``
        ``(..., C)``.

    Shape:
        ``(..., C, H, W) -> (..., C, H, W), (..., H, W), (..., C)``.

    Raises:
        WrongTypeError: ``image`` not floating; an integer option that is not an int.
        ShapeError: ``image`` with fewer than 3 dims or empty.
        ValueRangeError: NaN/Inf in ``image``; an option outside its range; an atmospheric
            light with a zero channel (a black image has no haze to estimate).

    Notes:
        From :math:`I = J t + A(1 - t)` and the prior :math:`J^{\mathrm{dark}} \approx 0`:

        .. math::
            \tilde t(x) = 1 - \omega \min_{y \in \Omega(x)} \min_c \frac{I^c(y)}{A^c}, \qquad
            J(x) = \frac{I(x) - A}{\max(t(x), t_0)} + A.

        :math:`A` is the colour of the brightest input pixel (largest channel mean) among the
        ``top_fraction`` pixels with the largest dark channel: the most haze-opaque region,
        which need not be the brightest object in the scene.

    Example:
        >>> j = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(0))
        >>> hazy = 0.5 * j + 0.5 * 0.9  # t = 0.5, A = 0.9 everywhere
        >>> out, t, a = dehaze_dark_channel(hazy, patch_size=5, radius=8)
        >>> out.shape, t.shape, a.shape
        (torch.Size([3, 32, 32]), torch.Size([32, 32]), torch.Size([3]))

    References:
        He, K., Sun, J., Tang, X. "Single image haze removal using dark channel prior." CVPR
        2009 (and IEEE TPAMI 33, 2011); He, K., Sun, J., Tang, X. "Guided image filtering."
        ECCV 2010.
    """
    check_image(image, "image", min_dims=3, floating=True)
    k = _check_patch(patch_size)
    w = check_range(omega, "omega", 0.0, 1.0, low_inclusive=False)
    lower = check_range(t0, "t0", 0.0, 1.0, low_inclusive=False)
    frac = check_range(top_fraction, "top_fraction", 0.0, 1.0, low_inclusive=False)
    r = check_int(radius, "radius", min_value=0)
    e = check_positive(eps, "eps")
    c, h, wd = image.shape[-3:]
    lead = image.shape[:-3]
    x = image.reshape(-1, c, h * wd)  # (B, C, N)
    dark = dark_channel(image, k).reshape(-1, h * wd)  # (B, N)
    # A: among the top_fraction most haze-opaque pixels, the brightest one in the input
    n_top = max(1, math.ceil(frac * h * wd))
    top = dark.topk(n_top, dim=-1).indices  # (B, n_top)
    candidates = x.gather(-1, top[:, None, :].expand(-1, c, -1))  # (B, C, n_top)
    best = candidates.mean(dim=1).argmax(dim=-1)  # (B,)
    atmosphere = candidates.gather(-1, best[:, None, None].expand(-1, c, 1))[..., 0]  # (B, C)
    if bool((atmosphere <= 0).any()):
        raise ValueRangeError(
            "image must have haze: the estimated atmospheric light has a channel <= 0, got "
            f"{atmosphere.tolist()}"
        )
    a = atmosphere[:, :, None, None]  # (B, C, 1, 1)
    xi = image.reshape(-1, c, h, wd)  # (B, C, H, W)
    # t~ = 1 - omega * dark(I / A)
    t = 1 - w * dark_channel(xi / a, k)  # (B, H, W)
    if refine:
        t = guided_filter(xi.mean(dim=1), t, r, e)
    # J = (I - A) / max(t, t0) + A
    j = (xi - a) / t.clamp(min=lower)[:, None] + a
    if clip:
        j = j.clamp(0.0, 1.0)
    return j.reshape(image.shape), t.reshape(*lead, h, wd), atmosphere.reshape(*lead, c)
