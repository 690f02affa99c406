r"""Global and local intensity thresholds: Otsu, multi-level Otsu, Li, adaptive (local).

A threshold turns a grey image into a binary one, ``image > t``. The global methods read the
grey-level histogram (Otsu) or the pixels themselves (Li); the local method compares each pixel
with a weighted mean (or median) of its neighbourhood.

Histograms follow scikit-image exactly: ``nbins`` equal bins spanning ``[min, max]`` of the
image, bin edges as ``numpy.linspace`` computes them in the image's dtype, a pixel on an edge
goes to the bin on its right (the last bin is closed), and a threshold is a *bin centre*.

Batching: every leading dimension is a batch dimension, the last two are the image. A
``(H, W)`` image gives a 0-d threshold, a ``(B, H, W)`` batch gives ``B`` thresholds, one per
image (a single-channel ``(1, H, W)`` image therefore gives shape ``(1,)``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from pixlearn._core.check import check_choice, check_image, check_int, check_positive, describe
from pixlearn._core.errors import ValueRangeError
from pixlearn.exposure._binning import bin_counts

__all__ = ["threshold_li", "threshold_local", "threshold_multiotsu", "threshold_otsu"]


def _histogram(values: Tensor, nbins: int) -> tuple[Tensor, Tensor]:
    """Histogram of a flat, non-constant float tensor over ``[min, max]`` in ``nbins`` bins.

    Returns the counts (float64, ``(nbins,)``) and the bin centres (input dtype), the bins
    those of ``numpy.histogram`` (see :mod:`pixlearn.exposure._binning`).
    """
    lo, hi = values.aminmax()
    counts, edges = bin_counts(values[None], lo.reshape(1, 1), hi.reshape(1, 1), nbins)
    centres = (edges[0, :-1] + edges[0, 1:]) / 2.0  # (nbins,)
    return counts[0].double(), centres


def _flat_images(image: Tensor, name: str) -> Tensor:
    """Check a float image ``(..., H, W)`` and return it as ``(B, H * W)``."""
    check_image(image, name, floating=True)
    return image.reshape(-1, image.shape[-2] * image.shape[-1])


def _otsu_rows(flat: Tensor, nbins: int) -> Tensor:
    """Otsu's threshold of every row of ``flat (B, N)``, all rows at once: ``(B,)``."""
    # (amin and amax: two vectorised passes, faster than aminmax along a dim)
    lo, hi = flat.amin(dim=1, keepdim=True), flat.amax(dim=1, keepdim=True)  # (B, 1) each
    const = (lo == hi)[:, 0]  # (B,): a constant image is its own threshold
    if bool(const.any()):
        out = lo[:, 0].clone()
        if not bool(const.all()):
            out[~const] = _otsu_rows(flat[~const], nbins)
        return out
    counts, edges = bin_counts(flat, lo, hi, nbins)  # (B, nbins) int64
    n = counts.double()
    centres = (edges[:, :-1] + edges[:, 1:]) / 2.0  # (B, nbins), image dtype
    c = centres.double()
    # w1(t) = sum_{i<=t} n_i,  w2(t) = sum_{i>=t} n_i
    w1 = torch.cumsum(n, 1)  # (B, nbins)
    w2 = torch.cumsum(n.flip(1), 1).flip(1)
    # mu1(t) = sum_{i<=t} n_i c_i / w1(t),  mu2(t) = sum_{i>=t} n_i c_i / w2(t)
    mu1 = torch.cumsum(n * c, 1) / w1
    mu2 = torch.cumsum((n * c).flip(1), 1).flip(1) / w2
    # between-class variance for a split after bin t: w1(t) w2(t+1) (mu1(t) - mu2(t+1))^2
    var12 = w1[:, :-1] * w2[:, 1:] * (mu1[:, :-1] - mu2[:, 1:]) ** 2  # (B, nbins - 1)
    # w1 >= 1 and w2 >= 1 everywhere (the first bin holds the minimum, the last the
    # maximum), so no 0/0; argmax takes the first maximum, as NumPy's
    best = torch.argmax(var12, dim=1, keepdim=True)  # (B, 1)
    return centres.gather(1, best)[:, 0]  # (B,)


def threshold_otsu(image: Tensor, nbins: int = 256) -> Tensor:
    r"""Otsu's threshold: the split of the histogram that maximises the between-class variance.

    Args:
        image: grey image(s), shape ``(..., H, W)``, float, finite.
        nbins: number of histogram bins.

    Returns:
        The threshold (a bin centre), shape ``(...)`` (0-d for one ``(H, W)`` image), the
        image's dtype. Foreground is ``image > t``. A constant image returns its value.

    Shape:
        ``(..., H, W)`` -> ``(...)``.

    Notes:
        With class weights :math:`\omega_{0,1}(t)` and means :math:`\mu_{0,1}(t)`, Otsu picks
        :math:`t^* = \arg\max_t \omega_0(t)\,\omega_1(t)\,(\mu_0(t) - \mu_1(t))^2`, which is
        equivalent to minimising the within-class variance.

    Example:
        >>> img = torch.tensor([[0.1, 0.2, 0.8], [0.9, 0.1, 0.85]])
        >>> t = threshold_otsu(img)
        >>> (img > t).sum().item()
        3

    References:
        Otsu, N. "A threshold selection method from gray-level histograms." IEEE Trans. SMC 1979.
    """
    flat = _flat_images(image, "image")
    nbins = check_int(nbins, "nbins", min_value=2)
    if flat.shape[0] == 0:
        return image.new_zeros(image.shape[:-2])
    return _otsu_rows(flat, nbins).reshape(image.shape[:-2])


def _multiotsu_indices(prob: Tensor, classes: int) -> Tensor:
    """Bin indices of the ``classes - 1`` upper class ends that maximise the between-class
    variance, by dynamic programming over class boundaries (exhaustive in effect)."""
    n = prob.numel()
    i = torch.arange(n, dtype=torch.float64, device=prob.device)
    # zeroth and first cumulative moments, with a leading 0: P[j] = sum_{i<j} p_i
    p0 = F.pad(torch.cumsum(prob, 0), (1, 0))  # (n + 1,)
    p1 = F.pad(torch.cumsum(prob * i, 0), (1, 0))
    # sigma(a, b) = S^2 / P for the class of bins a..b (inclusive): S, P its moments
    a = torch.arange(n, device=prob.device)
    w = p0[None, 1:] - p0[:-1, None]  # (n, n): [a, b]
    s = p1[None, 1:] - p1[:-1, None]
    sig = torch.where((w > 0) & (a[None, :] >= a[:, None]), s * s / w, torch.zeros_like(w))
    sig = torch.where(a[None, :] >= a[:, None], sig, torch.full_like(w, -torch.inf))
    # best[k][b] = best value for splitting bins 0..b into k + 1 classes
    best = sig[0].clone()  # (n,)
    back = []
    for _ in range(classes - 1):
        # cand[t, b] = best[t] + sig[t + 1, b]; class boundary after bin t
        cand = best[:-1, None] + sig[1:, :]  # (n - 1, n)
        best_t = torch.argmax(cand, 0)  # first maximum = smallest boundary on ties
        best = cand.gather(0, best_t[None])[0]  # (n,)
        back.append(best_t)
    # the last class ends at bin n - 1; walk the boundaries back
    idx, b = [], n - 1
    for bt in reversed(back):
        b = int(bt[b])
        idx.append(b)
    return torch.tensor(idx[::-1], device=prob.device)


def threshold_multiotsu(image: Tensor, classes: int = 3, nbins: int = 256) -> Tensor:
    r"""Multi-level Otsu: ``classes - 1`` thresholds maximising the between-class variance.

    Args:
        image: grey image(s), shape ``(..., H, W)``, float, finite.
        classes: number of classes (regions) to separate, at least 2.
        nbins: number of histogram bins.

    Returns:
        Increasing thresholds (bin centres), shape ``(..., classes - 1)``, image dtype. Regions
        are ``torch.bucketize(image, t, right=True)`` (``numpy.digitize``).

    Raises:
        ValueRangeError: if an image has fewer occupied bins than ``classes``.

    Shape:
        ``(..., H, W)`` -> ``(..., classes - 1)``.

    Notes:
        With class probabilities :math:`P_k` and first moments :math:`S_k`, the thresholds
        maximise :math:`\sum_k S_k^2 / P_k` (equivalently :math:`\sum_k P_k (\mu_k - \mu)^2`).

    Example:
        >>> img = torch.tensor([[0.0, 0.1, 0.5], [0.55, 0.9, 1.0]])
        >>> threshold_multiotsu(img, classes=3).shape
        torch.Size([2])

    References:
        Liao, P.-S., Chen, T.-S., Chung, P.-C. "A fast algorithm for multilevel thresholding."
        J. Inf. Sci. Eng. 17(5), 2001.
    """
    flat = _flat_images(image, "image")
    classes = check_int(classes, "classes", min_value=2)
    nbins = check_int(nbins, "nbins", min_value=2)
    out = []
    for v in flat:
        if bool((v == v[0]).all()):
            raise ValueRangeError(
                f"image has only 1 distinct value and cannot be split into classes={classes}"
            )
        counts, centres = _histogram(v, nbins)
        prob = counts / counts.sum()
        nvalues = int((prob > 0).sum())
        if nvalues < classes:
            raise ValueRangeError(
                f"image has only {nvalues} occupied histogram bins, fewer than "
                f"classes={classes}; increase nbins"
            )
        if nvalues == classes:
            idx = torch.nonzero(prob)[:-1, 0]
        else:
            idx = _multiotsu_indices(prob, classes)
        out.append(centres[idx])
    shape = (*image.shape[:-2], classes - 1)
    return torch.stack(out).reshape(shape) if out else image.new_zeros(shape)


def _li_one(values: Tensor, tolerance: float | None, initial_guess: float | None) -> Tensor:
    if bool((values == values[0]).all()):
        return values[0]
    vmin = values.min()
    x = values - vmin  # shifted so that the minimum is 0, the logs below need x > 0 means
    if tolerance is None:
        # half the smallest gap between distinct intensities
        tolerance = float(torch.diff(torch.unique(x)).min()) / 2
    if initial_guess is None:
        t_next = x.mean()
    else:
        t_next = torch.as_tensor(initial_guess - float(vmin), dtype=x.dtype)
        if not 0 < float(t_next) < float(x.max()):
            raise ValueRangeError(
                f"initial_guess must lie strictly inside the image range "
                f"({float(vmin)}, {float(vmin + x.max())}), got {initial_guess}"
            )
    t_curr = torch.as_tensor(-2 * tolerance, dtype=x.dtype)
    while abs(float(t_next) - float(t_curr)) > tolerance:
        t_curr = t_next
        fore = x > t_curr
        mean_fore, mean_back = x[fore].mean(), x[~fore].mean()
        if float(mean_back) == 0.0:
            break
        # t = (mu_b - mu_f) / (ln mu_b - ln mu_f): the stationary point of the cross entropy
        t_next = (mean_back - mean_fore) / (torch.log(mean_back) - torch.log(mean_fore))
    return t_next + vmin


def threshold_li(
    image: Tensor, *, tolerance: float | None = None, initial_guess: float | None = None
) -> Tensor:
    r"""Li's minimum cross-entropy threshold, by the Li-Tam fixed-point iteration.

    Args:
        image: grey image(s), shape ``(..., H, W)``, float, finite.
        tolerance: stop when the threshold moves by less than this; default half the smallest
            gap between distinct intensities of the image.
        initial_guess: starting threshold, strictly inside the image's range; default the mean.

    Returns:
        The threshold, shape ``(...)``, image dtype. Foreground is ``image > t``.

    Shape:
        ``(..., H, W)`` -> ``(...)``.

    Notes:
        Minimising the cross entropy between the image and its two-level version gives the
        iteration :math:`t_{k+1} = \frac{\mu_b(t_k) - \mu_f(t_k)}{\ln\mu_b(t_k) - \ln\mu_f(t_k)}`,
        with :math:`\mu_b, \mu_f` the means below / above :math:`t_k` (after shifting the image
        so that its minimum is 0, as scikit-image does).

    Example:
        >>> img = torch.tensor([[0.1, 0.15, 0.8], [0.9, 0.12, 0.85]])
        >>> t = threshold_li(img)
        >>> (img > t).sum().item()
        3

    References:
        Li, C. H., Tam, P. K. S. "An iterative algorithm for minimum cross entropy
        thresholding." Pattern Recognition Letters 18(8), 1998.
    """
    flat = _flat_images(image, "image")
    if tolerance is not None:
        tolerance = check_positive(tolerance, "tolerance")
    if initial_guess is not None:
        initial_guess = float(initial_guess)
        if initial_guess != initial_guess:
            raise ValueRangeError(f"initial_guess must be finite, got {describe(initial_guess)}")
    out = [_li_one(v, tolerance, initial_guess) for v in flat]
    return torch.stack(out).reshape(image.shape[:-2]) if out else image.new_zeros(image.shape[:-2])


def _reflect_index(n: int, pad: int, device: torch.device) -> Tensor:
    """Indices of an axis of length ``n`` padded by ``pad`` each side, mirrored with the edge
    sample repeated (``d c b a | a b c d | d c b a``, SciPy's ``'reflect'``)."""
    j = torch.arange(-pad, n + pad, device=device)  # (n + 2 pad,)
    m = j % (2 * n)
    return torch.where(m < n, m, 2 * n - 1 - m)


def _pad_reflect(x: Tensor, pad: int) -> Tensor:
    """``(B, H, W)`` -> ``(B, H + 2 pad, W + 2 pad)`` with SciPy ``'reflect'`` borders."""
    rows = _reflect_index(x.shape[-2], pad, x.device)
    cols = _reflect_index(x.shape[-1], pad, x.device)
    return x[:, rows][:, :, cols]


def _separable(x: Tensor, kernel: Tensor) -> Tensor:
    """Correlate ``(B, H, W)`` with ``kernel`` along both axes, reflect borders."""
    r = kernel.numel() // 2
    y = _pad_reflect(x, r).unsqueeze(1)  # (B, 1, H + 2r, W + 2r)
    y = F.conv2d(y, kernel.view(1, 1, -1, 1))  # (B, 1, H, W + 2r)
    y = F.conv2d(y, kernel.view(1, 1, 1, -1))  # (B, 1, H, W)
    return y[:, 0]


def _median(x: Tensor, size: int) -> Tensor:
    """Median over ``size x size`` windows (odd size), reflect borders, in row chunks."""
    r = size // 2
    padded = _pad_reflect(x, r)  # (B, H + 2r, W + 2r)
    h, w = x.shape[-2:]
    rows_per_chunk = max(1, (1 << 24) // max(1, size * size * w * x.shape[0]))
    out = []
    for y0 in range(0, h, rows_per_chunk):
        y1 = min(h, y0 + rows_per_chunk)
        win = padded[:, y0 : y1 + 2 * r].unfold(1, size, 1).unfold(2, size, 1)
        out.append(win.reshape(*win.shape[:3], -1).median(-1).values)  # (B, rows, W)
    return torch.cat(out, 1)


def threshold_local(
    image: Tensor, block_size: int, method: str = "gaussian", offset: float = 0.0
) -> Tensor:
    r"""Adaptive threshold: a weighted mean (or median) of each pixel's neighbourhood.

    Args:
        image: grey image(s), shape ``(..., H, W)``, float, finite; each ``(H, W)`` slice is
            filtered on its own.
        block_size: odd side of the square neighbourhood.
        method: ``"gaussian"`` (Gaussian of :math:`\sigma = (b - 1) / 6`, truncated at
            :math:`4\sigma`), ``"mean"`` (box of side ``b``) or ``"median"``.
        offset: constant subtracted from the local statistic.

    Returns:
        The threshold image, same shape and dtype; foreground is ``image > threshold``. Borders
        are mirrored with the edge repeated (scikit-image's default ``mode="reflect"``).

    Shape:
        ``(..., H, W)`` -> ``(..., H, W)``.

    Notes:
        :math:`T(x, y) = \sum_{(u,v) \in N_b} w(u, v)\, I(x + u, y + v) - c`, with :math:`w` a
        normalised Gaussian or box window over the :math:`b \times b` block :math:`N_b`, or
        :math:`T = \mathrm{median}_{N_b} I - c`.

    Example:
        >>> img = torch.rand(16, 16, generator=torch.Generator().manual_seed(0))
        >>> threshold_local(img, 5, "mean").shape
        torch.Size([16, 16])

    References:
        Gonzalez, R. C., Woods, R. E. "Digital Image Processing", 2nd ed., 2002, pp. 600-612.
    """
    check_image(image, "image", floating=True)
    block_size = check_int(block_size, "block_size", min_value=1)
    if block_size % 2 == 0:
        raise ValueRangeError(f"block_size must be odd, got {block_size}")
    check_choice(method, "method", ("gaussian", "mean", "median"))
    offset = float(offset)
    if offset != offset or offset in (float("inf"), float("-inf")):
        raise ValueRangeError(f"offset must be finite, got {offset}")
    x = image.reshape(-1, *image.shape[-2:])  # (B, H, W)
    if x.shape[0] == 0:
        return image.clone()
    if method == "median":
        t = _median(x, block_size)
    else:
        if method == "mean":
            k = torch.full((block_size,), 1.0 / block_size, dtype=torch.float64)
        else:
            sigma = (block_size - 1) / 6.0
            if sigma == 0:
                return image - offset
            r = int(4.0 * sigma + 0.5)
            u = torch.arange(-r, r + 1, dtype=torch.float64)
            # g(u) = exp(-u^2 / (2 sigma^2)) / sum, sampled at integer offsets
            k = torch.exp(-0.5 * (u / sigma) ** 2)
            k = k / k.sum()
        t = _separable(x.double(), k.to(x.device)).to(x.dtype)
    return t.reshape(image.shape) - offset
