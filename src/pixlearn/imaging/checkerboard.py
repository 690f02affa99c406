"""Checkerboard targets: render a board through a camera, and find its inner corners sub-pixel.

A checkerboard is the usual target of camera calibration: its inner corners (X-junctions where
four squares meet) are points with known board coordinates that can be located in an image to a
small fraction of a pixel. :func:`render_checkerboard` draws a board seen by a camera
(:func:`~pixlearn.imaging.camera.project_points`' model) with anti-aliasing and returns the true
corner positions; :func:`find_checkerboard_corners` finds them again:

1. saddle points of the smoothed image, where the Hessian determinant is most negative;
2. a ring test that keeps X-junctions (four alternating sectors, opposite ones alike);
3. sub-pixel refinement by gradient orthogonality (the principle of OpenCV's ``cornerSubPix``);
4. a grid grown from a seed by local affine prediction, checked to be ``rows x cols``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from pixlearn._core.check import check_image, check_int, check_positive, pair
from pixlearn.imaging.camera import project_points, rotation_from_vector, undistort_points

__all__ = ["find_checkerboard_corners", "render_checkerboard"]


def _pattern(pattern_size: Sequence[int]) -> tuple[int, int]:
    """``(cols, rows)`` of inner corners, each >= 2."""
    cols, rows = pair(pattern_size, "pattern_size", min_value=2)
    return cols, rows


def _blur(img: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of an ``(H, W)`` image, edges replicated."""
    if sigma <= 0:
        return img
    r = max(1, math.ceil(3 * sigma))
    x = torch.arange(-r, r + 1, dtype=img.dtype, device=img.device)
    k = torch.exp(-(x**2) / (2 * sigma**2))
    k = k / k.sum()  # (2r+1,)
    out = F.pad(img[None, None], (r, r, r, r), mode="replicate")
    out = F.conv2d(out, k.view(1, 1, 1, -1))
    return F.conv2d(out, k.view(1, 1, -1, 1))[0, 0]


def render_checkerboard(
    pattern_size: Sequence[int],
    K: Tensor,
    R: Tensor,
    t: Tensor,
    dist: Tensor | None = None,
    *,
    image_size: Sequence[int] = (320, 240),
    square_size: float = 1.0,
    supersample: int = 8,
    levels: tuple[float, float, float] = (0.1, 0.9, 0.5),
    blur_sigma: float = 0.0,
    noise_std: float = 0.0,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    r"""Render a checkerboard seen through a camera, and the true positions of its inner corners.

    The board lies on the plane ``z = 0`` of its own frame; inner corner ``(i, j)`` (row ``i``,
    column ``j``) sits at ``(j, i, 0) * square_size``. It has ``cols + 1`` by ``rows + 1``
    squares (the top-left one dark) inside a light margin one square wide, on a mid-grey
    background.

    Args:
        pattern_size: inner corners ``(cols, rows)``, as OpenCV counts them.
        K: intrinsic matrix, shape ``(3, 3)``; its dtype is the output's (float64 advised).
        R: board-to-camera rotation, a ``(3, 3)`` matrix or a ``(3,)`` Rodrigues vector.
        t: board-to-camera translation, shape ``(3,)``, in units of ``square_size``.
        dist: distortion ``(k1, k2, p1, p2[, k3])`` or ``None``.
        image_size: ``(width, height)`` in pixels.
        square_size: side of a square in board units.
        supersample: ``supersample**2`` samples per pixel, on a lattice where no two share a row
            or a column, so a straight edge is placed to ``1 / supersample**2`` pixel; the pixel
            value is their mean (a box filter over the pixel area: anti-aliasing).
        levels: grey values of (dark squares, light squares and margin, background).
        blur_sigma: standard deviation in pixels of a Gaussian blur applied after sampling
            (the optics' PSF); 0 for none.
        noise_std: standard deviation of additive Gaussian noise; 0 for none.
        generator: random generator for the noise.

    Returns:
        ``(image, corners)``: the image, shape ``(H, W)``, and the true inner corners in pixels
        ``(x, y) = (column, row)``, shape ``(rows * cols, 2)``, row by row (index ``i * cols + j``).

    Notes:
        Each sample's pixel position is undistorted (:func:`~pixlearn.imaging.camera.
        undistort_points`) into a ray :math:`d = (x, y, 1)` of the camera, and the ray is
        intersected with the board plane: in board coordinates :math:`X = R^T(s\,d - t)` with
        :math:`s = (R^T t)_z / (R^T d)_z`; the square is dark when
        :math:`\lfloor X/a \rfloor + \lfloor Y/a \rfloor` is even.

    Example:
        >>> K = torch.tensor([[200.0, 0, 80], [0, 200, 60], [0, 0, 1]], dtype=torch.float64)
        >>> img, corners = render_checkerboard((4, 3), K, torch.zeros(3),
        ...     torch.tensor([-1.5, -1.0, 8.0]), image_size=(160, 120), supersample=2)
        >>> img.shape, corners.shape
        (torch.Size([120, 160]), torch.Size([12, 2]))
        >>> corners[0]
        tensor([42.5000, 35.0000], dtype=torch.float64)
    """
    cols, rows = _pattern(pattern_size)
    width, height = pair(image_size, "image_size")
    a = check_positive(square_size, "square_size")
    ss = check_int(supersample, "supersample", min_value=1)
    check_positive(blur_sigma, "blur_sigma", strict=False)
    check_positive(noise_std, "noise_std", strict=False)
    dtype, device = K.dtype, K.device
    jj, ii = torch.meshgrid(torch.arange(cols), torch.arange(rows), indexing="xy")
    board = torch.stack([jj.reshape(-1), ii.reshape(-1), torch.zeros(rows * cols)], 1)
    corners = project_points(board.to(K) * a, K, R, t, dist)  # (rows * cols, 2)
    Rm = R.to(K) if R.dim() == 2 else rotation_from_vector(R.to(K))
    t = t.to(K)
    dark, light, background = (torch.tensor(v, dtype=dtype, device=device) for v in levels)
    # sub-sample offsets inside a pixel (centre at the integer position): a rank-1 lattice of
    # n = ss^2 points, no two in the same row or column, so an edge is placed to 1/n pixel
    n = ss * ss
    gen = max(1, round(n / 1.618033988749895))  # Fibonacci-like generator, coprime with n
    while math.gcd(gen, n) != 1:
        gen += 1
    k = torch.arange(n, device=device)
    sub_x = ((k + 0.5) / n - 0.5).to(dtype)  # (n,)
    sub_y = (((k * gen) % n + 0.5) / n - 0.5).to(dtype)
    image = torch.empty(height, width, dtype=dtype, device=device)
    chunk = max(1, 65536 // (width * n))  # image rows per pass, to bound memory
    for r0 in range(0, height, chunk):
        ys = torch.arange(r0, min(r0 + chunk, height), dtype=dtype, device=device)
        xs = torch.arange(width, dtype=dtype, device=device)
        v = (ys[:, None, None] + sub_y).expand(-1, width, n)  # (h, W, n)
        u = (xs[None, :, None] + sub_x).expand_as(v)
        uv = torch.stack([u, v], -1).reshape(-1, 2)  # (h * W * n, 2)
        if dist is None:
            xy = (uv - K[:2, 2]) / K.diagonal()[:2]
            xy[:, 0] -= K[0, 1] * xy[:, 1] / K[0, 0]
        else:
            xy = undistort_points(uv, K, dist)
        d = torch.cat([xy, torch.ones_like(xy[:, :1])], 1)  # (S, 3) camera rays
        # board frame: X = R^T (s d - t), with s chosen so that X_z = 0
        dw, tw = d @ Rm, Rm.T @ t  # (S, 3), (3,)
        s = tw[2] / dw[:, 2]
        X = s[:, None] * dw - tw  # (S, 3)
        fx, fy = torch.floor(X[:, 0] / a), torch.floor(X[:, 1] / a)
        value = torch.where((fx + fy) % 2 == 0, dark, light)
        inside = (fx >= -1) & (fx <= cols - 1) & (fy >= -1) & (fy <= rows - 1)
        margin = (fx >= -2) & (fx <= cols) & (fy >= -2) & (fy <= rows)
        value = torch.where(inside, value, torch.where(margin, light, background))
        value = torch.where(s > 0, value, background)  # the plane behind the camera is not seen
        image[r0 : r0 + len(ys)] = value.reshape(-1, width, n).mean(-1)
    image = _blur(image, blur_sigma)
    if noise_std > 0:
        noise = torch.randn(image.shape, generator=generator, dtype=dtype, device=device)
        image = image + noise_std * noise
    return image, corners


def _bilinear(img: Tensor, x: Tensor, y: Tensor) -> Tensor:
    """Bilinear samples of an ``(H, W)`` image at float positions (edges clamped)."""
    h, w = img.shape
    x = x.clamp(0, w - 1)
    y = y.clamp(0, h - 1)
    x0 = x.floor().clamp(max=w - 2).long() if w > 1 else x.floor().long()
    y0 = y.floor().clamp(max=h - 2).long() if h > 1 else y.floor().long()
    x1, y1 = (x0 + 1).clamp(max=w - 1), (y0 + 1).clamp(max=h - 1)
    fx, fy = x - x0, y - y0
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def _refine(gx: Tensor, gy: Tensor, p: Tensor, half: int, iterations: int = 30) -> Tensor:
    """Sub-pixel corners by gradient orthogonality; ``p (M, 2)`` -> ``(M, 2)``.

    Every gradient :math:`g_q` near a corner :math:`c` is orthogonal to :math:`q - c` (on an edge
    through :math:`c`, or zero in a flat square), so :math:`c` solves
    :math:`\\sum_q w_q g_q g_q^T (q - c) = 0`. Samples sit at ``c + offset`` (bilinear), so the
    window stays centred on the current estimate.
    """
    o = torch.arange(-half, half + 1, dtype=p.dtype, device=p.device)
    oy, ox = torch.meshgrid(o, o, indexing="ij")
    off = torch.stack([ox.reshape(-1), oy.reshape(-1)], 1)  # (S, 2)
    w = torch.exp(-(off**2).sum(1) / half**2)  # (S,) Gaussian weights, as cornerSubPix's
    for _ in range(iterations):
        q = p[:, None, :] + off  # (M, S, 2)
        g = torch.stack(
            [_bilinear(gx, q[..., 0], q[..., 1]), _bilinear(gy, q[..., 0], q[..., 1])], -1
        )
        ggT = w[:, None, None] * g[..., :, None] * g[..., None, :]  # (M, S, 2, 2)
        A = ggT.sum(1)  # (M, 2, 2)
        b = (ggT @ off[:, :, None]).sum(1)  # (M, 2, 1)
        ok = torch.linalg.det(A).abs() > 1e-12 * (A.diagonal(0, -2, -1).sum(-1) ** 2 + 1e-30)
        # c = p + A^-1 sum w g g^T (q - p)
        step = torch.linalg.solve(torch.where(ok[:, None, None], A, torch.eye(2, dtype=A.dtype)), b)
        step = torch.where(ok[:, None], step[..., 0], 0.0)
        p = p + step
        if step.numel() == 0 or float(step.abs().max()) < 1e-5:
            break
    return p


def _is_x_junction(img: Tensor, p: Tensor, radius: float, contrast: float) -> Tensor:
    """Ring test: four alternating sectors on a circle around each point, opposite ones alike."""
    n = 32
    a = torch.arange(n, dtype=img.dtype, device=img.device) * (2 * math.pi / n)
    ring = _bilinear(
        img, p[:, None, 0] + radius * torch.cos(a), p[:, None, 1] + radius * torch.sin(a)
    )  # (M, n)
    lo, hi = ring.min(1).values, ring.max(1).values
    cls = ring > ((lo + hi) / 2)[:, None]  # (M, n) bright or dark
    changes = (cls != cls.roll(1, 1)).sum(1)
    symmetric = (cls == cls.roll(n // 2, 1)).float().mean(1)
    return (changes == 4) & (symmetric >= 0.8) & (hi - lo > contrast)


def _grow_grid(pts: np.ndarray, seed: int) -> dict[tuple[int, int], int]:
    """Index the points ``(M, 2)`` on a grid grown from ``seed``: ``{(i, j): point index}``."""
    dist = np.linalg.norm(pts - pts[seed], axis=1)
    order = np.argsort(dist)[1:]
    if len(order) < 2:
        return {}
    n1 = order[0]
    d1 = pts[n1] - pts[seed]
    cand = [
        k
        for k in order[1:8]
        if abs(np.dot(pts[k] - pts[seed], d1))
        < 0.6 * np.linalg.norm(pts[k] - pts[seed]) * np.linalg.norm(d1)
    ]
    if not cand:
        return {}
    grid = {(0, 0): seed, (0, 1): int(n1), (1, 0): int(cand[0])}
    used = set(grid.values())
    queue = list(grid)
    while queue:
        i, j = queue.pop(0)
        for target in ((i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)):
            if target in grid:
                continue
            near = [
                (k, v)
                for k, v in grid.items()
                if max(abs(k[0] - target[0]), abs(k[1] - target[1])) <= 2
            ]
            ij = np.array([[k[0], k[1], 1.0] for k, _ in near])
            if len(near) < 3 or np.linalg.matrix_rank(ij) < 3:
                continue
            # local affine model (i, j, 1) -> (x, y), least squares over the neighbours
            M = np.linalg.lstsq(ij, pts[[v for _, v in near]], rcond=None)[0]  # (3, 2)
            pred = np.array([target[0], target[1], 1.0]) @ M
            spacing = min(np.linalg.norm(M[0]), np.linalg.norm(M[1]))
            dd = np.linalg.norm(pts - pred, axis=1)
            k = int(np.argmin(dd))
            if dd[k] < 0.3 * spacing and k not in used:
                grid[target] = k
                used.add(k)
                queue.append(target)
    return grid


def find_checkerboard_corners(
    image: Tensor,
    pattern_size: Sequence[int],
    *,
    sigma: float = 1.5,
    window: int | None = None,
) -> Tensor | None:
    r"""Find the inner corners of a checkerboard, to sub-pixel accuracy.

    Args:
        image: one grayscale image, shape ``(H, W)``, float (any range).
        pattern_size: inner corners ``(cols, rows)`` as OpenCV counts them (``(7, 5)`` for a
            board of 8 x 6 squares).
        sigma: scale in pixels of the saddle-point detector; squares must be at least about
            ``4 * sigma`` pixels wide.
        window: half-size of the sub-pixel refinement window in pixels; ``None`` picks about a
            third of the corner spacing (between 2 and 8).

    Returns:
        The corners ``(x, y) = (column, row)`` in pixels, shape ``(rows * cols, 2)``, image dtype,
        row by row: each row holds ``cols`` corners with increasing x, and rows run downwards
        (precisely: the row direction has x >= 0 and the column direction y >= 0 on average; for
        a square pattern the row direction is the more horizontal one). ``None`` when the whole
        pattern is not found (hidden, cut by the border, or of another size).

    Raises:
        ShapeError: ``image`` is not 2-D. WrongTypeError: not a floating-point tensor.
        ValueRangeError: NaN/Inf in ``image``, or a ``pattern_size`` below 2.

    Notes:
        Candidates are the local maxima of the saddle response
        :math:`S = I_{xy}^2 - I_{xx} I_{yy} = -\det \mathcal{H}` of the image smoothed at
        ``sigma``. Each is refined by solving :math:`\sum_q w_q\, g_q g_q^T (q - c) = 0` for
        the corner :math:`c` (every gradient :math:`g_q` near a corner is orthogonal to
        :math:`q - c`), iterated with the window re-centred, as OpenCV's ``cornerSubPix``.

    Example:
        >>> K = torch.tensor([[250.0, 0, 80], [0, 250, 60], [0, 0, 1]], dtype=torch.float64)
        >>> img, truth = render_checkerboard((4, 3), K, torch.tensor([0.2, -0.1, 0.0]),
        ...     torch.tensor([-1.5, -1.0, 8.0]), image_size=(160, 120), supersample=4)
        >>> found = find_checkerboard_corners(img, (4, 3))
        >>> bool((found - truth).norm(dim=1).max() < 0.1)
        True

    References:
        Förstner, W. and Gülch, E. "A fast operator for detection and precise location of
        distinct points, corners and centres of circular features." 1987.
        Lucchese, L. and Mitra, S. K. "Using saddle points for subpixel feature detection in
        camera calibration targets." 2002. OpenCV ``cv::cornerSubPix``.
    """
    check_image(image, "image", min_dims=2, max_dims=2, floating=True, min_size=8)
    cols, rows = _pattern(pattern_size)
    check_positive(sigma, "sigma")
    if window is not None:
        check_int(window, "window", min_value=1)
    img = image.detach()
    lo, hi = img.min(), img.max()
    if float(hi - lo) <= 0:
        return None
    img = (img - lo) / (hi - lo)  # contrast normalised to [0, 1]
    # saddle response S = Ixy^2 - Ixx Iyy (central differences of the smoothed image)
    s = _blur(img, sigma)
    ixx = torch.zeros_like(s)
    iyy, ixy = torch.zeros_like(s), torch.zeros_like(s)
    ixx[:, 1:-1] = s[:, 2:] - 2 * s[:, 1:-1] + s[:, :-2]
    iyy[1:-1] = s[2:] - 2 * s[1:-1] + s[:-2]
    ixy[1:-1, 1:-1] = (s[2:, 2:] - s[2:, :-2] - s[:-2, 2:] + s[:-2, :-2]) / 4
    resp = ixy**2 - ixx * iyy  # (H, W)
    k = 2 * math.ceil(2 * sigma) + 1
    peak = F.max_pool2d(resp[None, None], k, 1, k // 2)[0, 0]
    ys, xs = torch.nonzero((resp == peak) & (resp > 0.05 * resp.max()), as_tuple=True)
    if len(xs) < rows * cols:
        return None
    strength = resp[ys, xs]
    keep = strength.argsort(descending=True)[: 3 * rows * cols + 20]
    p = torch.stack([xs[keep], ys[keep]], 1).to(img.dtype)  # (M, 2) integer candidates
    # corner spacing from the strongest candidates: the median nearest-neighbour distance
    top = p[: rows * cols]
    dd = torch.cdist(top, top) + torch.eye(len(top), dtype=p.dtype) * 1e9
    spacing = float(dd.min(1).values.median())
    half = window if window is not None else int(min(8, max(2, round(spacing / 3))))
    # gradients of the lightly smoothed image, for refinement
    g = _blur(img, 1.5)
    gx, gy = torch.zeros_like(g), torch.zeros_like(g)
    gx[:, 1:-1] = (g[:, 2:] - g[:, :-2]) / 2
    gy[1:-1] = (g[2:] - g[:-2]) / 2
    ring = _is_x_junction(g, p, max(2.0, 0.3 * spacing), 0.2)
    p = p[ring]
    p0 = p
    p = _refine(gx, gy, p, half)
    h, w = img.shape
    ok = ((p - p0).norm(dim=1) < half) & (p[:, 0] >= 0) & (p[:, 0] <= w - 1)
    ok &= (p[:, 1] >= 0) & (p[:, 1] <= h - 1)
    p = p[ok]
    # drop duplicates (two candidates refined onto the same corner), the stronger kept first
    keep_idx: list[int] = []
    for n in range(len(p)):
        if all(float((p[n] - p[m]).norm()) > 0.5 * half for m in keep_idx):
            keep_idx.append(n)
    p = p[keep_idx]
    if len(p) < rows * cols:
        return None
    pts = p.double().cpu().numpy()
    centre = pts.mean(0)
    for seed in np.argsort(np.linalg.norm(pts - centre, axis=1))[:5]:
        grid = _grow_grid(pts, int(seed))
        out = _ordered(grid, pts, cols, rows)
        if out is not None:
            return torch.as_tensor(out, dtype=image.dtype, device=image.device)
    return None


def _ordered(
    grid: dict[tuple[int, int], int], pts: np.ndarray, cols: int, rows: int
) -> np.ndarray | None:
    """The grid as ``(rows * cols, 2)`` in the documented order, or ``None`` if it is not
    a full ``rows x cols`` rectangle."""
    if len(grid) != rows * cols:
        return None
    ii = np.array([k[0] for k in grid])
    jj = np.array([k[1] for k in grid])
    ni, nj = ii.max() - ii.min() + 1, jj.max() - jj.min() + 1
    if {ni, nj} != {rows, cols} or ni * nj != rows * cols:
        return None
    G = np.empty((ni, nj, 2))
    for (i, j), v in grid.items():
        G[i - ii.min(), j - jj.min()] = pts[v]
    along_j = (G[:, -1] - G[:, 0]).mean(0)  # the direction of increasing j
    along_i = (G[-1] - G[0]).mean(0)
    # rows hold `cols` points; for a square pattern the row direction is the more horizontal
    if ni != rows or (rows == cols and abs(along_i[0]) > abs(along_j[0])):
        G = G.transpose(1, 0, 2)
        along_i, along_j = along_j, along_i
    if along_j[0] < 0:
        G = G[:, ::-1]
    if along_i[1] < 0:
        G = G[::-1]
    return np.ascontiguousarray(G).reshape(-1, 2)
