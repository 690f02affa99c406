"""Non-local means denoising: average the pixels whose surrounding patches look alike.

A local filter averages neighbours whatever they show; non-local means (Buades, Coll and Morel
2005) averages the pixels of a search window weighted by how similar their *patches* are to the
patch around the pixel being denoised, so repeated structure (texture, edges running through the
window) is averaged with itself and not with what lies across an edge. The fast variant (Darbon
et al. 2008) loops over the offsets instead of over the pixels: for one offset the patch
distances of all pixels are box sums of one squared-difference image, computed with cumulative
sums (an integral image), so the cost no longer grows with the patch size.
"""

from __future__ import annotations

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_int, check_positive
from pixlearn._core.errors import ValueRangeError
from pixlearn.restoration._boundary import channels_first, pad2d

__all__ = ["denoise_nl_means"]

# weights of patches farther than this (in units of h^2 per pixel) are set to 0, as
# scikit-image does: exp(-5) ~ 0.7 % is negligible and skipping them is cheaper
_DISTANCE_CUTOFF = 5.0
# Schraudolph's exp approximation: 2^20 / ln 2, and 1023 * 2^20 - 60801 (least RMS error)
_EXP_A = 1512775.3951951856938
_EXP_BC = 1072632447


def _schraudolph_exp(y: Tensor) -> Tensor:
    """``exp(y)`` for ``y <= 0`` by writing ``a * y + b`` into the high word of a float64
    (Schraudolph 1999); relative error below about 4 %."""
    hi = torch.trunc(_EXP_A * y.double()).to(torch.int64) + _EXP_BC
    return torch.bitwise_left_shift(hi, 32).view(torch.float64).to(y.dtype)


def _box(x: Tensor, k: int) -> Tensor:
    """Sums of ``k`` consecutive entries along the last two dims: ``(..., n, m) -> (..., n-k+1,
    m-k+1)``, by cumulative sums along one axis at a time (an integral image, separably, which
    keeps the rounding of the running sums to one axis' length)."""
    if k == 0:  # an empty box
        return x.new_zeros(*x.shape[:-2], x.shape[-2] + 1, x.shape[-1] + 1)
    for dim in (-1, -2):
        c = torch.cumsum(x, dim)
        n = x.shape[dim]
        x = c.narrow(dim, k - 1, n - k + 1).clone()
        if n - k > 0:
            x.narrow(dim, 1, n - k).sub_(c.narrow(dim, 0, n - k))
    return x


def _nl_means_fast(
    x: Tensor, s: int, d: int, h: float, var: float, approximate_exp: bool
) -> Tensor:
    """Fast NL-means of ``x`` shaped ``(B, C, H, W)`` with channels coupled."""
    b, c, hh, ww = x.shape
    o = s // 2
    pad = d + o
    xp = pad2d(x, pad, "reflect")  # (B, C, H + 2 pad, W + 2 pad)
    k = 2 * o  # the distance box spans the k = s - 1 pixels (q - o, q + o] along each axis
    # the expected squared difference of two noisy pixels is 2 var per channel
    bias = 2.0 * c * var * k * k
    norm = c * h * h * s * s
    # the null offset: the pixel itself, D_0 = 0, weight e^0 (1, or 0.971 approximated)
    w0 = float(_schraudolph_exp(x.new_zeros(()))) if approximate_exp else 1.0
    num = w0 * x
    den = x.new_full((b, 1, hh, ww), w0)
    for a in range(-d, d + 1):
        for bb in range(0, d + 1):
            if bb == 0 and a <= 0:
                continue  # each pair {t, -t} once: the half plane b > 0, or b == 0 and a > 0
            # the patch centres q that pair with a pixel p of the image: q = p and q = p - t
            r0, r1 = min(0, -a), max(hh - 1, hh - 1 - a)  # rows of q
            c0, c1 = -bb, ww - 1  # columns of q
            # squared differences x(v) - x(v + t) over the boxes of all those q, summed over
            # the channels: rows r0 - o + 1 .. r1 + o, columns likewise (padded coordinates)
            rs = slice(r0 - o + 1 + pad, r1 + o + 1 + pad)
            cs = slice(c0 - o + 1 + pad, c1 + o + 1 + pad)
            rt = slice(rs.start + a, rs.stop + a)
            ct = slice(cs.start + bb, cs.stop + bb)
            diff = (xp[..., rs, cs] - xp[..., rt, ct]).square().sum(1)  # (B, Hq + k, Wq + k)
            # D_t(q) = max(sum_box |x(v) - x(v + t)|^2 - 2 C var k^2, 0) / (C h^2 s^2)
            dist = (_box(diff, k) - bias).clamp_min(0.0) / norm  # (B, Hq, Wq)
            wt = _schraudolph_exp(-dist) if approximate_exp else torch.exp(-dist)
            wt = torch.where(dist <= _DISTANCE_CUTOFF, wt, 0.0).unsqueeze(1)  # (B, 1, Hq, Wq)
            # p pairs with p + t through q = p, and with p - t through q = p - t
            w_fwd = wt[..., -r0 : -r0 + hh, -c0 : -c0 + ww]  # weight of (p, p + t)
            w_bwd = wt[..., -r0 - a : -r0 - a + hh, -c0 - bb : -c0 - bb + ww]  # (p - t, p)
            fwd = xp[..., pad + a : pad + a + hh, pad + bb : pad + bb + ww]  # x(p + t)
            bwd = xp[..., pad - a : pad - a + hh, pad - bb : pad - bb + ww]  # x(p - t)
            num = num + w_fwd * fwd + w_bwd * bwd
            den = den + w_fwd + w_bwd
    return num / den


def denoise_nl_means(
    image: Tensor,
    patch_size: int = 7,
    patch_distance: int = 11,
    h: float = 0.1,
    *,
    sigma: float = 0.0,
    channel_axis: int | None = None,
    approximate_exp: bool = False,
) -> Tensor:
    r"""Non-local means denoising (fast, integral-image variant).

    Args:
        image: the noisy image, shape ``(..., H, W)``, float, finite. Every ``(H, W)`` plane is
            denoised on its own unless ``channel_axis`` couples them.
        patch_size: the side :math:`s` of the patches compared, odd, >= 1.
        patch_distance: the search radius :math:`d >= 0`: offsets up to :math:`d` pixels
            along each axis (a :math:`(2d+1)^2` window).
        h: the cut-off distance, > 0, in grey levels: patches whose mean squared difference is
            about :math:`h^2` get weight :math:`e^{-1}`; larger is smoother. For Gaussian noise
            of standard deviation :math:`\sigma`, :math:`h \approx 0.8\sigma` with ``sigma``
            given, about :math:`\sigma` without.
        sigma: the noise standard deviation, >= 0; its expected contribution
            :math:`2\sigma^2` per pixel is subtracted from the patch distances.
        channel_axis: ``None``: planes are independent. An axis (e.g. ``-3``): the channels
            along it are one image whose patch distances sum over the channels (divided by
            their number), so all channels share the same weights.
        approximate_exp: compute :math:`e^{-D}` with Schraudolph's approximation (relative
            error up to about 4 %), as scikit-image does; the result then equals
            ``skimage.restoration.denoise_nl_means`` to float64 rounding. ``False``: the exact
            exponential.

    Returns:
        The denoised image, same shape and dtype (float16/bfloat16 computed in float32).
        Differentiable w.r.t. ``image`` (with the exact exponential).

    Shape:
        ``(..., H, W) -> (..., H, W)``.

    Raises:
        WrongTypeError: ``image`` not floating, a size not an integer.
        ShapeError: fewer than 2 dims, an empty image, a bad ``channel_axis``.
        ValueRangeError: NaN/Inf in ``image``, an even or non-positive ``patch_size``,
            ``patch_distance < 0``, ``h <= 0``, ``sigma < 0``.

    Notes:
        Each pixel is the weighted mean of the pixels :math:`p + t`, :math:`\|t\|_\infty \le d`:

        .. math::
            \hat u(p) = \frac{\sum_t w_t(p)\, f(p + t)}{\sum_t w_t(p)},\qquad
            w_t(p) = e^{-D_t(p)}\,[D_t(p) \le 5],

        .. math::
            D_t(p) = \frac{\max\big(\sum_{v \in B(p)} \sum_c (f_c(v) - f_c(v + t))^2
            - 2 C \sigma^2 |B|,\ 0\big)}{C h^2 s^2},

        with :math:`C` channels (:math:`w_0 = 1` for the pixel itself). The box
        :math:`B(p)` is the integral-image box of scikit-image's fast mode: the
        :math:`(s-1)^2` pixels :math:`(p - o, p + o]` along each axis, :math:`o = \lfloor s/2
        \rfloor`, normalised by :math:`s^2`. The image is extended by mirror reflection
        (``np.pad`` ``"reflect"``), so offsets near the border compare reflected patches. With
        ``approximate_exp=True`` the result equals ``skimage.restoration.denoise_nl_means(...,
        fast_mode=True)`` (1e-12 in float64); with the exact exponential it differs from it by
        up to a few 1e-3 on [0, 1] images.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> clean = torch.zeros(24, 24, dtype=torch.float64)
        >>> clean[:, 12:] = 1.0
        >>> noisy = clean + 0.1 * torch.randn(24, 24, generator=g, dtype=torch.float64)
        >>> out = denoise_nl_means(noisy, 5, 4, 0.08, sigma=0.1)
        >>> bool((out - clean).abs().mean() < (noisy - clean).abs().mean() / 2)
        True

    References:
        Buades, A., Coll, B., Morel, J.-M. "A non-local algorithm for image denoising."
        CVPR 2005.
        Darbon, J., Cunha, A., Chan, T. F., Osher, S., Jensen, G. J. "Fast nonlocal filtering
        applied to electron cryomicroscopy." ISBI 2008.
        Schraudolph, N. N. "A fast, compact approximation of the exponential function."
        Neural Computation 11 (1999).
    """
    check_image(image, "image", floating=True)
    s = check_int(patch_size, "patch_size", min_value=1)
    if s % 2 == 0:
        raise ValueRangeError(f"patch_size must be odd (a patch has a centre), got {s}")
    d = check_int(patch_distance, "patch_distance", min_value=0)
    hh = check_positive(h, "h")
    sg = check_positive(sigma, "sigma", strict=False)
    x = image.float() if image.dtype in (torch.float16, torch.bfloat16) else image
    x, ax = channels_first(x, channel_axis)  # (..., C, H, W) when channel_axis is given
    lead, c = (x.shape[:-2], 1) if ax is None else (x.shape[:-3], x.shape[-3])
    hw = x.shape[-2:]
    if x.numel() == 0:
        return image.clone()
    flat = x.reshape(-1, c, *hw)  # (B, C, H, W)
    out = _nl_means_fast(flat, s, d, hh, sg * sg, approximate_exp)
    out = out.reshape(*lead, *((c,) if ax is not None else ()), *hw)
    if ax is not None:
        out = out.movedim(-3, ax)
    return out.to(image.dtype)
