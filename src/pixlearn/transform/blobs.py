"""Blob detection over scale: maxima of the scale-normalised Laplacian (LoG) or of the
difference of Gaussians (DoG) in (scale, y, x), then pruning of overlapping blobs."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_int, check_positive, check_range, describe
from pixlearn._core.errors import ShapeError, ValueRangeError
from pixlearn.filters.derivatives import laplacian_of_gaussian
from pixlearn.transform.scale_space import gaussian_scale_space

__all__ = ["blob_dog", "blob_log", "blob_overlap"]

_BLOCK = 2048  # rows of the pairwise overlap matrix computed at a time


def blob_log(
    image: Tensor,
    min_sigma: float = 1,
    max_sigma: float = 50,
    num_sigma: int = 10,
    threshold: float | None = 0.2,
    *,
    overlap: float = 0.5,
    log_scale: bool = False,
    threshold_rel: float | None = None,
    exclude_border: bool | int = False,
) -> Tensor:
    r"""Bright blobs on a dark background, by the scale-normalised Laplacian of Gaussian.

    Args:
        image: a grey image, shape ``(H, W)`` or ``(1, H, W)``, float, finite, non-empty.
        min_sigma: the smallest scale (standard deviation, pixels), > 0.
        max_sigma: the largest scale, >= ``min_sigma``.
        num_sigma: how many scales from ``min_sigma`` to ``max_sigma`` (ends included), >= 1.
        threshold: a maximum of the response must exceed this; ``None``: only
            ``threshold_rel`` applies.
        overlap: in [0, 1]; of two blobs whose areas overlap by more than this fraction of
            the smaller one's area, the smaller is dropped.
        log_scale: space the scales evenly in :math:`\log \sigma` instead of :math:`\sigma`.
        threshold_rel: a maximum must also exceed ``threshold_rel * max(response)``.
        exclude_border: ``False``/``0``: blobs anywhere; an int ``k``: no blob centre within
            ``k`` pixels of the image border (``True`` is refused, as in scikit-image).

    Returns:
        ``(K, 3)`` rows ``(y, x, sigma)`` in the image's dtype, by decreasing response. A blob
        of radius :math:`r` is found at :math:`\sigma \approx r / \sqrt2`.

    Shape:
        ``(H, W) -> (K, 3)``.

    Raises:
        ShapeError: more than one channel. ValueRangeError: bad scales, thresholds,
        ``overlap``, ``exclude_border``; NaN input. WrongTypeError: an integer image.

    Notes:
        The response stack is :math:`R(y, x; \sigma) = -\sigma^2 \nabla^2 (f * G_\sigma)`:
        for a Gaussian blob of standard deviation :math:`s`, :math:`\sigma^2 |\nabla^2 L|` at
        its centre is :math:`\sigma^2 / (\pi (s^2 + \sigma^2)^2)` (unit mass), largest at
        :math:`\sigma = s` (Lindeberg's automatic scale selection). Blobs are the local maxima
        of :math:`R` over the 26 neighbours in (scale, y, x) (plateaus included, the stack's
        border replicated) above the threshold; then :func:`blob_overlap` prunes. Same
        scales, response and peak rule as ``skimage.feature.blob_log``; the blur's border
        mirrors without repeating the edge pixel (SciPy's ``'mirror'``), and pruning is
        greedy from the largest blob (see :func:`blob_overlap`).

    Example:
        >>> yy, xx = torch.meshgrid(torch.arange(40.0), torch.arange(40.0), indexing="ij")
        >>> img = torch.exp(-((yy - 20) ** 2 + (xx - 12) ** 2) / (2 * 3.0**2))
        >>> blob_log(img, 1, 6, 11, 0.05)
        tensor([[20.0000, 12.0000,  3.0000]])

    References:
        Lindeberg, T. "Feature detection with automatic scale selection." IJCV 30(2), 1998.
    """
    x = _grey(image)
    lo, hi = _scale_range(min_sigma, max_sigma)
    n = check_int(num_sigma, "num_sigma", min_value=1)
    if log_scale:
        sigmas = torch.logspace(math.log10(lo), math.log10(hi), n, dtype=torch.float64)
    else:
        sigmas = torch.linspace(lo, hi, n, dtype=torch.float64)
    # R(sigma) = -sigma^2 LoG_sigma(f): positive on bright blobs, comparable across scales
    cube = torch.stack([-laplacian_of_gaussian(x, s, normalize=True) for s in sigmas.tolist()])
    return _detect(cube, sigmas, threshold, threshold_rel, overlap, exclude_border)


def blob_dog(
    image: Tensor,
    min_sigma: float = 1,
    max_sigma: float = 50,
    sigma_ratio: float = 1.6,
    threshold: float | None = 0.5,
    *,
    overlap: float = 0.5,
    threshold_rel: float | None = None,
    exclude_border: bool | int = False,
) -> Tensor:
    r"""Bright blobs by the difference of Gaussians: a fast approximation of :func:`blob_log`.

    Args:
        image: a grey image, shape ``(H, W)`` or ``(1, H, W)``, float, finite, non-empty.
        min_sigma: the smallest scale, > 0.
        max_sigma: the largest scale, >= ``min_sigma``.
        sigma_ratio: the ratio of consecutive scales, > 1.
        threshold: a maximum of the response must exceed this (``None``: off).
        overlap: the pruning fraction, as :func:`blob_log`.
        threshold_rel: a maximum must also exceed ``threshold_rel * max(response)``.
        exclude_border: as :func:`blob_log`.

    Returns:
        ``(K, 3)`` rows ``(y, x, sigma)``, by decreasing response.

    Shape:
        ``(H, W) -> (K, 3)``.

    Raises:
        As :func:`blob_log`; ``sigma_ratio`` <= 1.

    Notes:
        Scales :math:`\sigma_i = \sigma_0 k^i`, :math:`i = 0..n` with
        :math:`n = \lfloor \log(\sigma_{max} / \sigma_0) / \log k + 1 \rfloor`. Because
        :math:`\partial_\sigma G = \sigma \nabla^2 G`,

        .. math::
            \frac{L(\sigma_i) - L(\sigma_{i+1})}{k - 1} \approx -\sigma_i^2 \nabla^2 L(\sigma_i),

        so the DoG stack divided by :math:`k - 1` approximates the scale-normalised LoG
        response at :math:`\sigma_i`, from blurs alone (each one reused twice). Maxima and
        pruning as :func:`blob_log`; same scales and response as ``skimage.feature.blob_dog``.

    Example:
        >>> yy, xx = torch.meshgrid(torch.arange(40.0), torch.arange(40.0), indexing="ij")
        >>> img = torch.exp(-((yy - 20) ** 2 + (xx - 12) ** 2) / (2 * 3.0**2))
        >>> blob_dog(img, 1, 8, 1.6, 0.05)[:, :2]
        tensor([[20., 12.]])

    References:
        Lowe, D. G. "Distinctive image features from scale-invariant keypoints." IJCV 60(2),
        2004; Marr, D., Hildreth, E. "Theory of edge detection." Proc. R. Soc. B 1980.
    """
    x = _grey(image)
    lo, hi = _scale_range(min_sigma, max_sigma)
    k = check_range(sigma_ratio, "sigma_ratio", 1.0, low_inclusive=False)
    n = int(math.log(hi / lo) / math.log(k) + 1)
    sigmas = lo * k ** torch.arange(n + 1, dtype=torch.float64)  # (n + 1,)
    stack = gaussian_scale_space(x, sigmas.tolist())  # (n + 1, H, W)
    # (L(sigma_i) - L(sigma_{i+1})) / (k - 1) ~ -sigma_i^2 LoG(sigma_i)
    cube = (stack[:-1] - stack[1:]) / (k - 1)  # (n, H, W)
    return _detect(cube, sigmas[:-1], threshold, threshold_rel, overlap, exclude_border)


def blob_overlap(blobs: Tensor) -> Tensor:
    r"""The pairwise overlap of 2-D blobs: shared area over the smaller blob's area.

    Args:
        blobs: ``(K, 3)`` rows ``(y, x, sigma)``, sigma > 0; a blob is the disc of radius
            :math:`\sqrt2\,\sigma`.

    Returns:
        ``(K, K)`` fractions in [0, 1] (1 on the diagonal and when one disc holds the other).

    Shape:
        ``(K, 3) -> (K, K)``.

    Notes:
        Two discs of radii :math:`r_1, r_2` at distance :math:`d` (with
        :math:`|r_1 - r_2| < d < r_1 + r_2`) share the lens of area

        .. math::
            A = r_1^2 \arccos\frac{d^2 + r_1^2 - r_2^2}{2 d r_1}
              + r_2^2 \arccos\frac{d^2 + r_2^2 - r_1^2}{2 d r_2}
              - \tfrac12 \sqrt{(-d + r_1 + r_2)(d + r_1 - r_2)(d - r_1 + r_2)(d + r_1 + r_2)},

        and the overlap is :math:`A / (\pi \min(r_1, r_2)^2)`. Detectors prune greedily:
        from the largest blob (ties: the stronger response) down, a blob is dropped if it
        overlaps an already kept one by more than ``overlap``.

    Example:
        >>> b = torch.tensor([[0.0, 0.0, 2.0], [0.0, 1.0, 2.0], [0.0, 20.0, 1.0]])
        >>> blob_overlap(b).round(decimals=3)
        tensor([[1.0000, 0.7760, 0.0000],
                [0.7760, 1.0000, 0.0000],
                [0.0000, 0.0000, 1.0000]])
    """
    if not isinstance(blobs, Tensor) or blobs.dim() != 2 or blobs.shape[1] != 3:
        raise ShapeError(f"blobs must be a (K, 3) tensor of (y, x, sigma), got {describe(blobs)}")
    return _overlap(blobs, blobs)


# ---- shared machinery -----------------------------------------------------------------------


def _grey(image: Tensor) -> Tensor:
    """A ``(H, W)`` float image from ``(H, W)`` or ``(1, H, W)``."""
    check_image(image, "image", floating=True, max_dims=3)
    if image.dim() == 3:
        if image.shape[0] != 1:
            raise ShapeError(
                f"image must be grey, (H, W) or (1, H, W), got {describe(image)} "
                "(convert colour with pixlearn.color first)"
            )
        image = image[0]
    return image


def _scale_range(min_sigma: float, max_sigma: float) -> tuple[float, float]:
    lo = check_positive(min_sigma, "min_sigma")
    hi = check_positive(max_sigma, "max_sigma")
    if hi < lo:
        raise ValueRangeError(f"max_sigma must be >= min_sigma ({lo:g}), got {max_sigma!r}")
    return lo, hi


def _detect(
    cube: Tensor,
    sigmas: Tensor,
    threshold: float | None,
    threshold_rel: float | None,
    overlap: float,
    exclude_border: bool | int,
) -> Tensor:
    """Local maxima of ``cube (S, H, W)`` above the thresholds, as pruned ``(y, x, sigma)``."""
    ov = check_range(overlap, "overlap", 0.0, 1.0)
    if isinstance(exclude_border, bool):
        if exclude_border:
            raise ValueRangeError("exclude_border must be False or an int >= 0, got True")
        border = 0
    else:
        border = check_int(exclude_border, "exclude_border", min_value=0)
    tau = -math.inf
    if threshold is not None:
        tau = check_range(threshold, "threshold")
    if threshold_rel is not None:
        tau = max(tau, check_range(threshold_rel, "threshold_rel") * float(cube.max()))
    if threshold is None and threshold_rel is None:
        tau = float(cube.min())
    # a peak equals the maximum of its 3x3x3 neighbourhood; padding with -inf is the same as
    # replicating the border (the edge sample is in the window anyway)
    peak = _max3(cube)  # (S, H, W)
    mask = cube == peak
    if bool(mask.all()):
        mask.zero_()  # a constant stack has no peak
    mask &= cube > tau
    if border:
        mask[:, :border] = False
        mask[:, -border:] = False
        mask[:, :, :border] = False
        mask[:, :, -border:] = False
    s, y, x = mask.nonzero(as_tuple=True)  # row-major (scale, y, x)
    response = cube[s, y, x]
    order = torch.argsort(-response, stable=True)  # strongest first
    s, y, x = s[order], y[order], x[order]
    blobs = torch.stack([y, x, torch.zeros_like(y)], dim=1).to(cube.dtype)  # (K, 3)
    blobs[:, 2] = sigmas.to(cube.device, cube.dtype)[s]
    return blobs[_prune(blobs, ov)]


def _max3(cube: Tensor) -> Tensor:
    """The maximum over each 3x3x3 neighbourhood, border replicated: three 1-D passes."""
    out = cube
    for dim in range(3):
        n = cube.shape[dim]
        if n == 1:
            continue
        first, rest = out.narrow(dim, 0, 1), out.narrow(dim, 1, n - 1)
        last, head = out.narrow(dim, n - 1, 1), out.narrow(dim, 0, n - 1)
        # max(f(i - 1), f(i), f(i + 1)), an edge sample standing in for its missing neighbour
        out = torch.maximum(
            out, torch.maximum(torch.cat([first, head], dim), torch.cat([rest, last], dim))
        )
    return out


def _overlap(a: Tensor, b: Tensor) -> Tensor:
    """Overlap fraction of each blob of ``a (P, 3)`` with each of ``b (Q, 3)``: ``(P, Q)``."""
    a64, b64 = a.double(), b.double()
    d = torch.cdist(a64[:, :2], b64[:, :2])  # (P, Q)
    r1 = math.sqrt(2) * a64[:, 2:3]  # (P, 1)
    r2 = math.sqrt(2) * b64[None, :, 2]  # (1, Q)
    return _disc_overlap(d, r1, r2).to(a.dtype)


def _disc_overlap(d: Tensor, r1: Tensor, r2: Tensor) -> Tensor:
    """Shared area of discs of radii ``r1``, ``r2`` at distance ``d``, over the smaller area."""
    rmin = torch.minimum(r1, r2)
    ds = d.clamp_min(1e-300)
    # the lens area A = r1^2 acos(c1) + r2^2 acos(c2) - sqrt(...) / 2
    c1 = ((d * d + r1 * r1 - r2 * r2) / (2 * ds * r1)).clamp(-1, 1)
    c2 = ((d * d + r2 * r2 - r1 * r1) / (2 * ds * r2)).clamp(-1, 1)
    k = (-d + r1 + r2) * (d + r1 - r2) * (d - r1 + r2) * (d + r1 + r2)
    lens = r1 * r1 * torch.acos(c1) + r2 * r2 * torch.acos(c2) - 0.5 * k.abs().sqrt()
    frac = lens / (math.pi * rmin * rmin)
    frac = torch.where(d >= r1 + r2, torch.zeros_like(frac), frac)
    frac = torch.where(d <= (r1 - r2).abs(), torch.ones_like(frac), frac)
    return frac.clamp(0, 1)


def _prune(blobs: Tensor, overlap: float) -> Tensor:
    """Indices (ascending) of the blobs kept by greedy pruning; ``blobs`` strongest first."""
    k = blobs.shape[0]
    if k < 2:
        return torch.arange(k, device=blobs.device)
    # rank: larger sigma first, then the stronger response (the earlier row)
    rank = torch.argsort(-blobs[:, 2], stable=True)  # (K,)
    ranked = blobs[rank]
    # overlapping pairs (i dominates j: i < j in rank order), a block of rows at a time
    doms, subs = [], []
    pos = ranked[:, :2].double()  # (K, 2)
    radius = math.sqrt(2) * ranked[:, 2].double()  # (K,) disc radius sqrt(2) sigma
    for start in range(0, k, _BLOCK):
        stop = min(start + _BLOCK, k)
        d = torch.cdist(pos[start:stop], pos)  # (b, K)
        rows = torch.arange(start, stop, device=blobs.device)[:, None]
        later = torch.arange(k, device=blobs.device)[None, :] > rows  # (b, K)
        # only discs that meet can overlap: the lens formula runs on those pairs alone
        ii, jj = ((d < radius[start:stop, None] + radius[None, :]) & later).nonzero(as_tuple=True)
        frac = _disc_overlap(d[ii, jj], radius[ii + start], radius[jj])
        hit = frac > overlap
        doms.append((ii[hit] + start).cpu().numpy())
        subs.append(jj[hit].cpu().numpy())
    dom, sub = np.concatenate(doms), np.concatenate(subs)
    by_sub = np.argsort(sub, kind="stable")
    dom, sub = dom[by_sub], sub[by_sub]
    ptr = np.searchsorted(sub, np.arange(k + 1))  # dominators of j: dom[ptr[j]:ptr[j + 1]]
    # greedy: a blob survives if no surviving blob of higher rank overlaps it
    keep = np.ones(k, dtype=bool)
    for j in np.flatnonzero(ptr[1:] > ptr[:-1]).tolist():
        if keep[dom[ptr[j] : ptr[j + 1]]].any():
            keep[j] = False
    kept = rank[torch.from_numpy(keep).to(blobs.device)]
    return kept.sort().values
