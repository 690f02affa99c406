"""Template matching by zero-mean normalised cross-correlation, and the peaks of its response.

Plain cross-correlation :math:`\\sum f\\,t` grows with the brightness of the image under the
template, so a bright patch beats the true match. Subtracting the means and dividing by the
standard deviations gives the correlation coefficient in :math:`[-1, 1]`, which does not change
when the image under the template is brightened or its contrast stretched. The correlation
runs on FFTs and the local sums of the image and its square on integral images, so the cost
does not depend on the template size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from pixlearn._core.check import check_image, check_int, check_range, describe
from pixlearn._core.errors import ShapeError, WrongTypeError
from pixlearn.imaging.blur import _next_fast
from pixlearn.imaging.otf import _fft_dtype

__all__ = ["match_template", "peak_local_max"]


def _window_sum(x: Tensor, h: int, w: int) -> Tensor:
    """Sums over every complete ``(h, w)`` window of ``x (..., H, W)``: ``(..., H-h+1, W-w+1)``.

    Separable integral images: a cumulative sum along one axis, a difference of two shifted
    copies, then the same along the other axis.
    """
    c = F.pad(x.cumsum(-2), (0, 0, 1, 0))  # (..., H + 1, W), c[i] = sum of rows < i
    x = c[..., h:, :] - c[..., :-h, :]  # (..., H - h + 1, W)
    c = F.pad(x.cumsum(-1), (1, 0))  # (..., H - h + 1, W + 1)
    return c[..., w:] - c[..., :-w]  # (..., H - h + 1, W - w + 1)


def match_template(image: Tensor, template: Tensor, *, pad_input: bool = False) -> Tensor:
    r"""Zero-mean normalised cross-correlation of a template with every window of an image.

    Same output size and semantics as :func:`skimage.feature.match_template` (with its default
    zero padding), batched.

    Args:
        image: shape ``(..., H, W)``, float, finite, non-empty.
        template: shape ``(h, w)`` or ``(..., h, w)`` with leading dims broadcastable against
            the image's, float, finite, ``h <= H`` and ``w <= W``. Cast to the image's dtype.
        pad_input: ``False``: one value per complete window, indexed by the window's top-left
            corner, ``(H - h + 1, W - w + 1)``. ``True``: the image is zero-padded so that the
            output is ``(H, W)`` and indexed by the template centre ``(h // 2, w // 2)``.

    Returns:
        The correlation coefficients in ``[-1, 1]``, dtype of ``image``. A window (or a
        template) with zero variance gives 0.

    Shape:
        ``(..., H, W), (..., h, w) -> (..., H - h + 1, W - w + 1)`` or ``(..., H, W)``.

    Raises:
        WrongTypeError: a non-floating image or template.
        ShapeError: empty inputs, fewer than 2 dims, a template larger than the image, leading
            dims that do not broadcast.
        ValueRangeError: NaN/Inf values.

    Notes:
        For the window :math:`W_{u,v}` of :math:`n = hw` pixels at offset :math:`(u, v)`,
        with :math:`t' = t - \bar t`:

        .. math::
            \gamma(u, v) = \frac{\sum_{x, y} f(x + u, y + v)\, t'(x, y)}
            {\sqrt{\left(\sum_{W} f^2 - \tfrac{1}{n}\left(\sum_{W} f\right)^2\right)
            \sum_{x, y} t'^2}}.

        The numerator is a correlation (one real FFT pair of a length >= ``H`` suffices,
        as only complete windows are needed); the window sums of :math:`f` and :math:`f^2`
        come from integral images in float64, where the variance's cancellation is harmless.
        The image's global mean is subtracted first (the coefficient does not change).

    Example:
        >>> img = torch.zeros(6, 6)
        >>> img[1, 1], img[4, 4] = 1.0, -1.0
        >>> tpl = torch.zeros(3, 3)
        >>> tpl[1, 1] = 1.0
        >>> match_template(img, tpl)
        tensor([[ 1.0000, -0.1250,  0.0000,  0.0000],
                [-0.1250, -0.1250,  0.0000,  0.0000],
                [ 0.0000,  0.0000,  0.1250,  0.1250],
                [ 0.0000,  0.0000,  0.1250, -1.0000]])

    References:
        Lewis, J. P. "Fast normalized cross-correlation." Vision Interface 1995.
    """
    check_image(image, "image", floating=True)
    check_image(template, "template", floating=True)
    (ih, iw), (th, tw) = image.shape[-2:], template.shape[-2:]
    if th > ih or tw > iw:
        raise ShapeError(
            f"template must not be larger than the image ({ih}, {iw}), got {describe(template)}"
        )
    try:
        lead = torch.broadcast_shapes(image.shape[:-2], template.shape[:-2])
    except RuntimeError:
        raise ShapeError(
            f"template leading dims must broadcast against the image's "
            f"{tuple(image.shape[:-2])}, got {describe(template)}"
        ) from None
    x = _fft_dtype(image)
    t = template.to(dtype=x.dtype, device=x.device)
    if pad_input:
        # the output is indexed by the template centre: zeros before and after the image
        x = F.pad(x, (tw // 2, tw - 1 - tw // 2, th // 2, th - 1 - th // 2))
    h, w = x.shape[-2:]
    oh, ow = h - th + 1, w - tw + 1
    if 0 in lead:
        return image.new_zeros(*lead, oh, ow)
    n_px = th * tw
    # t' = t - mean(t);  ssd = sum t'^2
    t0 = t - t.mean(dim=(-2, -1), keepdim=True)  # (..., h, w)
    ssd = (t0 * t0).sum(dim=(-2, -1), keepdim=True)  # (..., 1, 1)
    # the coefficient ignores the image's offset: centring keeps the FFT's rounding small
    x = x - x.detach().mean(dim=(-2, -1), keepdim=True)
    # numerator: correlation sum f(x + u) t'(x) = IFFT(F . conj(T'));  N >= H: no wrap-around
    n, m = _next_fast(h), _next_fast(w)
    spectrum = torch.fft.rfft2(x, s=(n, m)) * torch.fft.rfft2(t0, s=(n, m)).conj()
    num = torch.fft.irfft2(spectrum, s=(n, m))[..., :oh, :ow]  # (..., oh, ow)
    # denominator: n var = sum f^2 - (sum f)^2 / n over each window, in float64
    x64 = x.double()
    s1 = _window_sum(x64, th, tw)  # (..., oh, ow)
    s2 = _window_sum(x64 * x64, th, tw)  # (..., oh, ow)
    nvar = (s2 - s1 * s1 / n_px).clamp(min=0.0).to(x.dtype)
    den = torch.sqrt(nvar * ssd)  # (..., oh, ow)
    # a flat window (or template) has no defined coefficient: 0, as scikit-image
    ok = den > torch.finfo(x.dtype).eps
    out = torch.where(ok, num / torch.where(ok, den, torch.ones_like(den)), torch.zeros_like(num))
    return out.to(image.dtype)


def peak_local_max(
    response: Tensor,
    *,
    min_distance: int = 1,
    threshold_abs: float | None = None,
    threshold_rel: float | None = None,
    num_peaks: int | None = None,
    exclude_border: bool | int = True,
) -> Tensor:
    r"""Coordinates of the local maxima of a 2-D response, strongest first.

    Same peaks and order as :func:`skimage.feature.peak_local_max` with its default square
    footprint and Chebyshev spacing.

    Args:
        response: shape ``(H, W)``, real (any dtype but bool), finite, non-empty.
        min_distance: a peak is the maximum of the ``(2 d + 1)^2`` square around it, and peaks
            closer than ``d`` (Chebyshev distance) to a stronger one are dropped; >= 0 (0: every
            pixel above the threshold).
        threshold_abs: the least value of a peak (exclusive); ``None``: the response minimum.
        threshold_rel: the least value as a fraction of the response maximum; the stricter
            of the two thresholds applies.
        num_peaks: keep at most this many peaks (the strongest); ``None``: all.
        exclude_border: ``True``: no peak within ``min_distance`` of the border; ``False``:
            peaks anywhere; an int ``k >= 0``: no peak within ``k`` pixels of the border.

    Returns:
        ``(N, 2)`` int64 ``(row, col)`` coordinates, by decreasing value (ties: row-major
        order). A constant response has no peak.

    Shape:
        ``(H, W) -> (N, 2)``.

    Raises:
        WrongTypeError: not a tensor, a bool or complex tensor, a non-integer option.
        ShapeError: not 2-D, empty. ValueRangeError: NaN/Inf, negative options.

    Notes:
        :math:`p` is a peak when :math:`r(p) = \max_{\|q - p\|_\infty \le d} r(q)` (border
        replicated) and :math:`r(p) > \tau`, with
        :math:`\tau = \max(\tau_\text{abs}, \tau_\text{rel} \max r)`. Candidates are then
        visited from the strongest and a candidate within :math:`\|q - p\|_\infty < d` of an
        accepted peak is dropped.

    Example:
        >>> r = torch.zeros(7, 7)
        >>> r[2, 2], r[4, 5] = 1.0, 2.0
        >>> peak_local_max(r, min_distance=1)
        tensor([[4, 5],
                [2, 2]])

    References:
        scikit-image, ``skimage.feature.peak_local_max`` (semantics); Gonzalez, R. C., Woods,
        R. E. *Digital Image Processing*, 4th ed., sec. 10.2 (local maxima).
    """
    check_image(response, "response", min_dims=2, max_dims=2)
    if response.dtype == torch.bool or response.is_complex():
        raise WrongTypeError(f"response must be a real tensor, got {response.dtype}")
    d = check_int(min_distance, "min_distance", min_value=0)
    if isinstance(exclude_border, bool):
        border = d if exclude_border else 0
    else:
        border = check_int(exclude_border, "exclude_border", min_value=0)
    limit = None if num_peaks is None else check_int(num_peaks, "num_peaks", min_value=0)
    r = response.detach()
    rf = r if r.is_floating_point() else r.double()
    # tau = max(tau_abs, tau_rel * max r);  tau_abs defaults to min r
    tau = check_range(threshold_abs, "threshold_abs") if threshold_abs is not None else None
    tau = float(rf.min()) if tau is None else tau
    if threshold_rel is not None:
        tau = max(tau, check_range(threshold_rel, "threshold_rel") * float(rf.max()))
    h, w = r.shape
    if d == 0 or r.numel() == 1:
        mask = rf > tau
    else:
        # r(p) == max over the (2d + 1)^2 square (max_pool pads with -inf: the border is
        # effectively replicated, as 'nearest')
        local_max = F.max_pool2d(rf[None, None], 2 * d + 1, stride=1, padding=d)[0, 0]
        mask = rf == local_max  # (H, W)
        if bool(mask.all()):  # a constant image has no peak
            mask.zero_()
        mask &= rf > tau
    if border:
        mask[:border], mask[h - border :] = False, False
        mask[:, :border], mask[:, w - border :] = False, False
    coords = mask.nonzero()  # (K, 2), row-major
    values = rf[mask]  # (K,)
    order = torch.sort(values, descending=True, stable=True).indices
    coords = coords[order]
    if d > 1 and len(coords) > 1:
        coords = _ensure_spacing(coords, d, h, w, limit)
    if limit is not None:
        coords = coords[:limit]
    return coords


def _ensure_spacing(coords: Tensor, d: int, h: int, w: int, limit: int | None) -> Tensor:
    """Greedy spacing of sorted candidates: drop those at Chebyshev distance < ``d`` of a kept one.

    Two candidates that close are both maxima of a square holding the other, so they are equal
    (a plateau); only those with a neighbour closer than ``d`` need the greedy loop.
    """
    grid = torch.zeros(h, w, dtype=torch.float32, device=coords.device)
    grid[coords[:, 0], coords[:, 1]] = 1.0
    # number of candidates in the (2d - 1)^2 square around each pixel (itself included)
    count = F.avg_pool2d(grid[None, None], 2 * d - 1, stride=1, padding=d - 1, divisor_override=1)
    crowded = count[0, 0, coords[:, 0], coords[:, 1]] > 1.5  # (K,)
    if not bool(crowded.any()):
        return coords
    keep = torch.ones(len(coords), dtype=torch.bool, device=coords.device)
    taken = torch.zeros(h, w, dtype=torch.bool)  # pixels within distance < d of a kept peak
    rows, cols, near = coords[:, 0].tolist(), coords[:, 1].tolist(), crowded.tolist()
    n_kept = 0
    for i, (y, x, c) in enumerate(zip(rows, cols, near, strict=True)):
        if limit is not None and n_kept >= limit:
            keep[i:] = False
            break
        if c:
            if taken[y, x]:
                keep[i] = False
                continue
            taken[max(0, y - d + 1) : y + d, max(0, x - d + 1) : x + d] = True
        n_kept += 1
    return coords[keep]
