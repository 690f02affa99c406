"""Synthetic fluorescence cells: textured cell phantoms with perfect label masks.

A phantom is what a fluorescence microscope would see with perfect optics: the density of
fluorophores on a fine grid. Each cell is an ellipse with a slightly irregular outline, a smooth
random texture (the cytoplasm) and a brighter nucleus, on a dark background. Because the
phantom is drawn from its own label mask, the ground truth of every pixel is known exactly,
which is what segmentation models need for training and evaluation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from pixlearn._core.check import check_int, check_interval, check_positive, check_range, pair
from pixlearn._core.errors import ValueRangeError

__all__ = ["cells"]

# the cell outline is r(phi) = 1 + irregularity * sum_m c_m cos(m phi + p_m) over these modes
_MODES = (2, 3, 4)
# how many candidate cells are drawn per requested cell before placement gives up
_TRIES_PER_CELL = 100


def _smooth_noise(
    shape: tuple[int, int, int], scale: float, generator: torch.Generator | None, device
) -> Tensor:
    """White noise low-passed by a Gaussian of std ``scale`` pixels, rescaled to unit std."""
    n, h, w = shape
    noise = torch.randn(shape, generator=generator, dtype=torch.float64, device=device)
    if n == 0:
        return noise
    fy = torch.fft.fftfreq(h, dtype=torch.float64, device=device)  # cycles / pixel
    fx = torch.fft.rfftfreq(w, dtype=torch.float64, device=device)
    # Gaussian in frequency: G(f) = exp(-2 pi^2 s^2 |f|^2), the FT of a Gaussian of std s
    gain = torch.exp(-2 * math.pi**2 * scale**2 * (fy[:, None] ** 2 + fx[None, :] ** 2))
    field = torch.fft.irfft2(torch.fft.rfft2(noise) * gain, s=(h, w))  # (n, H, W)
    std = field.flatten(1).std(dim=1).clamp_min(1e-12)  # (n,)
    return (field - field.flatten(1).mean(dim=1)[:, None, None]) / std[:, None, None]


def _place(
    centre_u: list, bound: list, k_wanted: list, size: tuple[int, int], gap: float
) -> list[list[tuple[int, float, float]]]:
    """Greedy non-overlapping placement: accept a candidate if its bounding circle is free.

    Returns, per image, the accepted ``(candidate index, cy, cx)`` in acceptance order.
    """
    h, w = size
    accepted: list[list[tuple[int, float, float]]] = []
    for b, k in enumerate(k_wanted):
        taken: list[tuple[int, float, float]] = []
        for i, ((uy, ux), rb) in enumerate(zip(centre_u[b], bound[b], strict=True)):
            if len(taken) == k:
                break
            # the bounding circle of radius rb must lie inside the image
            cy = rb + uy * (h - 1 - 2 * rb)
            cx = rb + ux * (w - 1 - 2 * rb)
            # two cells never touch: |c_i - c_j| >= R_i + R_j + gap
            if all(math.hypot(cy - ty, cx - tx) >= rb + bound[b][j] + gap for j, ty, tx in taken):
                taken.append((i, cy, cx))
        if len(taken) < k:
            raise ValueRangeError(
                f"n_cells: could only place {len(taken)} of {k} non-overlapping cells in a "
                f"{h}x{w} image; lower n_cells or radius, or enlarge size"
            )
        accepted.append(taken)
    return accepted


def cells(
    n: int,
    size: int | Sequence[int],
    *,
    n_cells: int | Sequence[int] = (4, 12),
    radius: float | Sequence[float] = (8.0, 16.0),
    eccentricity: float | Sequence[float] = (0.0, 0.8),
    irregularity: float = 0.1,
    brightness: float | Sequence[float] = (0.2, 0.45),
    texture: float = 0.25,
    texture_scale: float = 2.0,
    nucleus: float = 0.8,
    background: float = 0.0,
    gap: float = 2.0,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> tuple[Tensor, Tensor]:
    r"""Draw ``n`` fluorescence phantoms of textured cells and their label masks.

    Args:
        n: number of images, >= 0.
        size: image size, an int or ``(H, W)``.
        n_cells: number of cells per image, an int or a range ``(lo, hi)`` drawn uniformly
            (both ends included).
        radius: equivalent radius :math:`\sqrt{ab}` of a cell in pixels (its area is
            :math:`\pi r^2` whatever its eccentricity), a number or a range ``(lo, hi)``, > 0.
        eccentricity: eccentricity :math:`\sqrt{1 - b^2/a^2}` of the cell ellipse, in [0, 1),
            a number or a range.
        irregularity: relative amplitude of the wobble of the outline, in [0, 0.5).
        brightness: mean fluorophore density of a cell's cytoplasm, in (0, 1], a number or a
            range; each cell draws its own.
        texture: standard deviation of the log-density texture, >= 0 (0 gives flat cells).
        texture_scale: correlation length (Gaussian std) of the texture in pixels, > 0.
        nucleus: relative extra brightness of the nucleus, >= 0 (0: no nucleus).
        background: density outside the cells, in [0, 1).
        gap: least distance in pixels between the bounding circles of two cells, >= 0.
        generator: source of randomness (on ``device``); ``None`` uses the global generator.
        dtype: floating dtype of the phantoms.
        device: device of the outputs; ``None`` for the generator's device (or the CPU).

    Returns:
        ``(phantoms, labels)``: phantoms ``(n, 1, H, W)`` of ``dtype`` with values in [0, 1]
        (exactly ``background`` outside the cells, above it inside), and labels ``(n, H, W)``
        int64, 0 for the background and ``1..k`` for the ``k`` cells of an image, numbered in
        the order they were placed. Cells never overlap (see Notes), so every labelled pixel
        belongs to exactly one cell and each label is one connected region.

    Shape:
        ``-> (n, 1, H, W), (n, H, W)``.

    Raises:
        ValueRangeError: ``n_cells`` cells of this ``radius`` cannot be placed without overlap
            (the bounding circle must lie in the image: :math:`2a(1 + \text{irregularity})
            + 1 \le \min(H, W)`).

    Notes:
        Cell :math:`i` has semi-axes :math:`a = r(1-e^2)^{-1/4}`, :math:`b = r(1-e^2)^{1/4}`,
        orientation :math:`\theta` and centre :math:`c`. In its own normalised coordinates
        :math:`(u, v) = R_{-\theta}(x - c) / (a, b)`, with :math:`\rho = |(u, v)|` and
        :math:`\phi = \operatorname{atan2}(v, u)`, a pixel is inside when

        .. math:: \rho < 1 + \epsilon \sum_{m=2}^{4} \gamma_m \cos(m\phi + \psi_m),
                  \quad \textstyle\sum_m |\gamma_m| \le 1,

        and its density is :math:`d = \beta\, t(x)\,(1 + \nu\,[\text{in nucleus}])` with
        brightness :math:`\beta`, nucleus contrast :math:`\nu` and the log-normal texture
        :math:`t = \exp(\sigma g - \sigma^2/2)` (:math:`E[t] = 1`) of a unit Gaussian field
        :math:`g` smoothed over ``texture_scale`` pixels. The phantom is
        :math:`\mathrm{clip}(b_0 + (1 - b_0) d, 0, 1)` with background :math:`b_0`.
        Overlap rule: candidates are placed greedily and a candidate is accepted only if its
        bounding circle (radius :math:`a(1 + \epsilon)`) keeps ``gap`` pixels from every
        accepted one; the nucleus (a disc of 35-50 % of the cell in normalised coordinates)
        always lies inside the cell.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> phantoms, labels = cells(2, 64, n_cells=(2, 4), radius=(5, 8), generator=g)
        >>> phantoms.shape, labels.shape, labels.dtype
        (torch.Size([2, 1, 64, 64]), torch.Size([2, 64, 64]), torch.int64)
        >>> bool(phantoms.min() >= 0 and phantoms.max() <= 1)
        True
        >>> all(2 <= int(m.max()) <= 4 for m in labels)
        True

    References:
        Lehmussola, A. et al. "Computational framework for simulating fluorescence microscope
        images with cell populations." IEEE TMI 26 (2007).
    """
    n = check_int(n, "n", min_value=0)
    h, w = pair(size, "size", min_value=1)
    k_lo, k_hi = check_interval(n_cells, "n_cells", 0, integer=True)
    r_lo, r_hi = check_interval(radius, "radius", 0.0, math.inf)
    if r_lo <= 0:
        raise ValueRangeError(f"radius must be > 0, got {radius!r}")
    e_lo, e_hi = check_interval(eccentricity, "eccentricity", 0.0, 1.0)
    if e_hi >= 1:
        raise ValueRangeError(f"eccentricity must be in [0, 1), got {eccentricity!r}")
    eps = check_range(irregularity, "irregularity", 0.0, 0.5, high_inclusive=False)
    br_lo, br_hi = check_interval(brightness, "brightness", 0.0, 1.0)
    if br_lo <= 0:
        raise ValueRangeError(f"brightness must be in (0, 1], got {brightness!r}")
    sigma = check_positive(texture, "texture", strict=False)
    scale = check_positive(texture_scale, "texture_scale")
    nu = check_positive(nucleus, "nucleus", strict=False)
    b0 = check_range(background, "background", 0.0, 1.0, high_inclusive=False)
    gap = check_positive(gap, "gap", strict=False)
    if not dtype.is_floating_point:
        raise ValueRangeError(f"dtype must be a floating dtype, got {dtype}")
    if device is None:
        device = generator.device if generator is not None else torch.device("cpu")
    # the largest bounding circle must fit: 2 a_max (1 + eps) + 1 <= min(H, W)
    a_max = r_hi * (1 - e_hi**2) ** -0.25 * (1 + eps)
    if k_hi > 0 and 2 * a_max + 1 > min(h, w):
        raise ValueRangeError(
            f"radius: a cell of radius {r_hi} and eccentricity {e_hi} spans {2 * a_max + 1:.1f} "
            f"pixels, more than the {h}x{w} image (size)"
        )

    def uniform(lo: float, hi: float, *shape: int) -> Tensor:
        u = torch.rand(shape, generator=generator, dtype=torch.float64, device=device)
        return lo + (hi - lo) * u

    # --- candidate cells, (n, M) parameters each; the greedy placement keeps some ---
    m = max(_TRIES_PER_CELL * k_hi, 1)
    k_wanted = torch.randint(k_lo, k_hi + 1, (n,), generator=generator, device=device)
    r = uniform(r_lo, r_hi, n, m)  # equivalent radius sqrt(a b)
    e = uniform(e_lo, e_hi, n, m)
    # a = r (1 - e^2)^(-1/4), b = r (1 - e^2)^(1/4): a b = r^2 and b / a = sqrt(1 - e^2)
    semi_a = r * (1 - e**2) ** -0.25
    semi_b = r * (1 - e**2) ** 0.25
    theta = uniform(0.0, math.pi, n, m)
    centre_u = uniform(0.0, 1.0, n, m, 2)
    gamma = uniform(-1.0, 1.0, n, m, len(_MODES)) / len(_MODES)  # sum |gamma_m| <= 1
    psi = uniform(0.0, 2 * math.pi, n, m, len(_MODES))
    nuc_s = uniform(0.35, 0.5, n, m)  # nucleus radius, normalised coordinates
    # nucleus offset: |o| <= 0.8 (1 - eps - s) keeps the nucleus disc inside the outline
    nuc_r = uniform(0.0, 0.8, n, m) * (1 - eps - nuc_s)
    nuc_a = uniform(0.0, 2 * math.pi, n, m)
    beta = uniform(br_lo, br_hi, n, m)
    texture_field = _smooth_noise((n, h, w), scale, generator, device)  # (n, H, W)

    bound = semi_a * (1 + eps)  # bounding-circle radius, (n, M)
    placed = _place(centre_u.tolist(), bound.tolist(), k_wanted.tolist(), (h, w), gap)

    phantom = torch.full((n, h, w), b0, dtype=torch.float64, device=device)
    labels = torch.zeros((n, h, w), dtype=torch.int64, device=device)
    rows = [
        (b, i, cy, cx, lab + 1) for b, p in enumerate(placed) for lab, (i, cy, cx) in enumerate(p)
    ]
    if rows:
        img = torch.tensor([q[0] for q in rows], device=device)  # (N,)
        idx = torch.tensor([q[1] for q in rows], device=device)  # (N,)
        cy = torch.tensor([q[2] for q in rows], dtype=torch.float64, device=device)
        cx = torch.tensor([q[3] for q in rows], dtype=torch.float64, device=device)
        lab = torch.tensor([q[4] for q in rows], device=device)
        _render(
            phantom,
            labels,
            (img, idx, lab, cy, cx),
            (semi_a, semi_b, theta, gamma, psi, nuc_s, nuc_r, nuc_a, beta),
            texture_field,
            eps=eps,
            sigma=sigma,
            nu=nu,
            b0=b0,
        )
    return phantom.clamp(0.0, 1.0).to(dtype)[:, None], labels


def _render(
    phantom: Tensor,
    labels: Tensor,
    where: tuple[Tensor, ...],
    params: tuple[Tensor, ...],
    texture_field: Tensor,
    *,
    eps: float,
    sigma: float,
    nu: float,
    b0: float,
) -> None:
    """Draw every placed cell at once into ``phantom`` and ``labels`` (in place).

    Each cell is evaluated on a square crop around its centre, all crops in one tensor
    ``(N, S, S)``; cells do not overlap, so the crops scatter into the images without conflict.
    """
    img, idx, lab, cy, cx = where
    a, b, theta, gamma, psi, nuc_s, nuc_r, nuc_a, beta = (p[img, idx] for p in params)
    _, h, w = phantom.shape
    half = math.ceil(float((a * (1 + eps)).max())) + 1
    offs = torch.arange(-half, half + 1, device=phantom.device)  # (S,)
    yy = cy.round().long()[:, None] + offs  # (N, S) rows of each crop
    xx = cx.round().long()[:, None] + offs  # (N, S) columns of each crop
    dy = (yy - cy[:, None]).to(torch.float64)[:, :, None]  # (N, S, 1)
    dx = (xx - cx[:, None]).to(torch.float64)[:, None, :]  # (N, 1, S)
    cos_t, sin_t = torch.cos(theta)[:, None, None], torch.sin(theta)[:, None, None]
    # normalised cell coordinates: (u, v) = R(-theta) (x - c) / (a, b)
    u = (dx * cos_t + dy * sin_t) / a[:, None, None]  # (N, S, S)
    v = (-dx * sin_t + dy * cos_t) / b[:, None, None]  # (N, S, S)
    rho = torch.hypot(u, v)
    phi = torch.atan2(v, u)
    modes = torch.tensor(_MODES, dtype=torch.float64, device=phantom.device)
    # outline: rho < 1 + eps sum_m gamma_m cos(m phi + psi_m)
    wobble = (
        gamma[:, None, None, :] * torch.cos(modes * phi[..., None] + psi[:, None, None, :])
    ).sum(-1)  # (N, S, S)
    valid = ((yy >= 0) & (yy < h))[:, :, None] & ((xx >= 0) & (xx < w))[:, None, :]
    inside = (rho < 1 + eps * wobble) & valid  # (N, S, S)
    # nucleus: a disc of radius s around o = r_o (cos a_o, sin a_o)
    ou, ov = (nuc_r * torch.cos(nuc_a))[:, None, None], (nuc_r * torch.sin(nuc_a))[:, None, None]
    in_nucleus = torch.hypot(u - ou, v - ov) < nuc_s[:, None, None]  # (N, S, S)

    cell, row, col = inside.nonzero(as_tuple=True)  # one entry per labelled pixel
    gy, gx, gb = yy[cell, row], xx[cell, col], img[cell]
    g = texture_field[gb, gy, gx]
    # log-normal texture t = exp(sigma g - sigma^2 / 2), E[t] = 1
    t = torch.exp(sigma * g - sigma**2 / 2)
    # d = beta t (1 + nu [in nucleus]); phantom = b0 + (1 - b0) d
    d = beta[cell] * t * (1 + nu * in_nucleus[cell, row, col].to(torch.float64))
    phantom[gb, gy, gx] = b0 + (1 - b0) * d
    labels[gb, gy, gx] = lab[cell]
