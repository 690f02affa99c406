r"""SIFT: the scale-invariant feature transform (Lowe 2004), detector and descriptor.

The detector builds a Gaussian scale space on a doubled copy of the image, takes differences of
adjacent scales (DoG, an approximation of the scale-normalised Laplacian), keeps the 3x3x3
extrema, refines each by fitting a 3-D quadratic, and rejects those of low contrast or lying
on edges. Orientation assignment and the 128-D descriptor live in
:mod:`pixlearn.features.sift_descriptor`. Everything is vectorised over keypoints; the only
Python loops run over octaves and refinement iterations.

Coordinates are pixel centres at integers (``x`` = column, ``y`` = row) of the input image,
as OpenCV reports them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_int, check_positive, describe
from pixlearn._core.errors import ShapeError, ValueRangeError
from pixlearn.features._sift_scale import blur_into, dog_extrema, upsample2
from pixlearn.features._taylor import central_differences
from pixlearn.features.sift_descriptor import describe_keypoints, orientations

__all__ = ["SIFT", "SIFTKeypoints"]

# keypoints closer than this to an octave's border are not detected (OpenCV's SIFT_IMG_BORDER)
_BORDER = 5
_MAX_STEPS = 5


@dataclass
class SIFTKeypoints:
    """Keypoints found by :class:`SIFT`; every field is a tensor of length ``N``.

    Attributes:
        x: column of the keypoint in the input image (pixel centres at integers), float.
        y: row of the keypoint, float.
        sigma: the keypoint's scale, the standard deviation of its Gaussian blob in input
            pixels, float. OpenCV's ``KeyPoint.size`` is ``2 * sigma``.
        angle: the dominant gradient orientation in degrees, ``[0, 360)``, counter-clockwise
            as seen on screen (OpenCV's convention).
        response: the absolute DoG value at the refined extremum (contrast), float.
        octave: the octave the keypoint was found in, int64; -1 is the doubled image.
    """

    x: Tensor
    y: Tensor
    sigma: Tensor
    angle: Tensor
    response: Tensor
    octave: Tensor

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def size(self) -> Tensor:
        """OpenCV's ``KeyPoint.size``: the diameter ``2 * sigma``."""
        return 2 * self.sigma

    def xy(self) -> Tensor:
        """The positions as an ``(N, 2)`` tensor of ``(x, y)``."""
        return torch.stack([self.x, self.y], 1)


class SIFT:
    r"""The SIFT keypoint detector and 128-D descriptor.

    Args:
        n_octaves: number of octaves; ``None`` takes as many as fit (an octave is kept while
            its image is at least 13 px on each side, counting the doubled first octave).
        n_scales: DoG layers searched per octave, :math:`S` (the scale step is
            :math:`k = 2^{1/S}`), >= 1.
        sigma: blur of the first level of each octave, :math:`\sigma_0`, > 0.
        contrast_threshold: reject extrema with :math:`|D(\hat x)| < t / S` (intensities in
            [0, 1]; Lowe's 0.03 with OpenCV's division by ``S``), >= 0.
        edge_threshold: the largest ratio :math:`r` of principal curvatures kept, > 1.
        max_features: keep only the ``max_features`` keypoints of largest response
            (``None``: all).
        assumed_blur: blur already present in the input image, in pixels.

    Example:
        >>> img = torch.zeros(64, 64)
        >>> img[20:44, 20:44] = 1.0
        >>> kp, desc = SIFT().detect_and_compute(img)
        >>> desc.shape[1], bool(len(kp) > 0), bool(torch.allclose(desc.norm(dim=1), torch.ones(1)))
        (128, True, True)

    References:
        Lowe, D. G. "Distinctive image features from scale-invariant keypoints." IJCV 60(2),
        2004.
    """

    def __init__(
        self,
        n_octaves: int | None = None,
        n_scales: int = 3,
        sigma: float = 1.6,
        contrast_threshold: float = 0.04,
        edge_threshold: float = 10.0,
        *,
        max_features: int | None = None,
        assumed_blur: float = 0.5,
    ) -> None:
        self.n_octaves = (
            None if n_octaves is None else check_int(n_octaves, "n_octaves", min_value=1)
        )
        self.n_scales = check_int(n_scales, "n_scales", min_value=1)
        self.sigma = check_positive(sigma, "sigma")
        self.contrast_threshold = check_positive(
            contrast_threshold, "contrast_threshold", strict=False
        )
        self.edge_threshold = check_positive(edge_threshold, "edge_threshold")
        if self.edge_threshold <= 1:
            raise ValueRangeError(f"edge_threshold must be > 1, got {edge_threshold!r}")
        self.max_features = (
            None if max_features is None else check_int(max_features, "max_features", min_value=1)
        )
        self.assumed_blur = check_positive(assumed_blur, "assumed_blur", strict=False)

    def __repr__(self) -> str:
        return (
            f"SIFT(n_octaves={self.n_octaves}, n_scales={self.n_scales}, sigma={self.sigma}, "
            f"contrast_threshold={self.contrast_threshold}, "
            f"edge_threshold={self.edge_threshold})"
        )

    def detect_and_compute(self, image: Tensor) -> tuple[SIFTKeypoints, Tensor]:
        r"""Detect keypoints and compute their descriptors.

        Args:
            image: one image, shape ``(H, W)``, ``(1, H, W)`` or ``(3, H, W)`` (RGB, converted
                to BT.601 luma), float in [0, 1], finite, non-empty.

        Returns:
            ``(keypoints, descriptors)``: a :class:`SIFTKeypoints` of ``N`` keypoints sorted
            by decreasing response, and the descriptors, shape ``(N, 128)``, unit L2 norm,
            dtype of ``image``. A keypoint with several dominant orientations appears once per
            orientation.

        Shape:
            ``(H, W) -> N keypoints, (N, 128)``.

        Raises:
            WrongTypeError: not a floating tensor.
            ShapeError: an empty image, more than 3 dimensions, a channel count other than
                1 or 3.
            ValueRangeError: NaN/Inf values.

        Notes:
            Octave :math:`o` holds :math:`L(x, y, \sigma_0 k^s)`, :math:`s = 0 .. S + 2`, each
            level blurred from the previous one by
            :math:`\sqrt{(\sigma_0 k^{s})^2 - (\sigma_0 k^{s-1})^2}`; the next octave starts
            from level :math:`S` subsampled by 2. The DoG is
            :math:`D_s = L_{s+1} - L_s \approx (k - 1)\sigma^2 \nabla^2 G * I`. At a 3x3x3
            extremum the Taylor expansion
            :math:`D(\mathbf x) = D + \nabla D^\top \mathbf x + \tfrac12 \mathbf x^\top
            \mathbf H \mathbf x` gives the offset :math:`\hat{\mathbf x} = -\mathbf H^{-1}
            \nabla D` (moved to the neighbour and refitted while an offset exceeds 0.5, up to
            5 times) and the contrast :math:`D(\hat{\mathbf x}) = D + \tfrac12 \nabla D^\top
            \hat{\mathbf x}`. Edge responses fail
            :math:`\operatorname{tr}(\mathbf H_{xy})^2 / \det \mathbf H_{xy} < (r + 1)^2 / r`.
        """
        gray = _to_gray(image)
        work = gray.to(torch.float32) if gray.dtype in (torch.float16, torch.bfloat16) else gray
        s_count = self.n_scales
        # sigma of level s relative to its octave, and the incremental blurs between levels
        k = 2.0 ** (1.0 / s_count)
        sig = [self.sigma * k**s for s in range(s_count + 3)]
        incr = [math.sqrt(sig[s] ** 2 - sig[s - 1] ** 2) for s in range(1, s_count + 3)]
        max_oct = self.n_octaves if self.n_octaves is not None else 64
        found: list[tuple[Tensor, ...]] = []
        pyramid: list[Tensor] = []
        # the base image: doubled (linear interpolation), then blurred up to sigma_0
        octave_img = upsample2(work.contiguous())  # (2h, 2w)
        blur0 = math.sqrt(max(self.sigma**2 - (2 * self.assumed_blur) ** 2, 0.01))
        octave_img = blur_into(octave_img, blur0, torch.empty_like(octave_img))
        for o in range(max_oct):
            oh, ow = octave_img.shape
            if min(oh, ow) < 2 * _BORDER + 3:
                break
            # the octave's levels in one buffer, each blurred from the one before
            gauss = octave_img.new_empty(s_count + 3, oh, ow)  # (S + 3, h, w)
            gauss[0] = octave_img
            for s, b in enumerate(incr):
                blur_into(gauss[s], b, gauss[s + 1])
            kp = self._detect(gauss)
            if kp is not None:
                found.append((torch.full_like(kp[0], o, dtype=torch.long), *kp))
            pyramid.append(gauss)
            octave_img = gauss[s_count, ::2, ::2]
        return self._finish(found, pyramid, work, image.dtype)

    def _detect(self, gauss: Tensor) -> tuple[Tensor, ...] | None:
        """Refined, filtered extrema of one octave: (layer, row, col, ds, dy, dx, contrast)."""
        s_count, (n_lev, h, w) = self.n_scales, gauss.shape
        n_lay = n_lev - 1  # DoG layers
        # a candidate is >= (or <=) its 26 neighbours and clearly away from zero
        thr = 0.5 * self.contrast_threshold / s_count
        s, y, x = dog_extrema(gauss, thr, _BORDER)  # (M,) each
        dtype = gauss.dtype
        flat = gauss.reshape(-1)
        done = torch.zeros(0, 7, dtype=dtype, device=gauss.device)
        results = [done]
        for _ in range(_MAX_STEPS):
            if s.numel() == 0:
                break
            g, hess, v = _taylor(flat, s, y, x, h, w)
            sol, info = torch.linalg.solve_ex(hess, -g[..., None])
            off = sol[..., 0]  # (M, 3) as (dx, dy, ds)
            ok = (info == 0) & torch.isfinite(off).all(1)
            s, y, x, g, hess, v, off = (t[ok] for t in (s, y, x, g, hess, v, off))
            conv = (off.abs() < 0.5).all(1)
            if bool(conv.any()):
                c = conv
                # D(x_hat) = D + 0.5 grad . x_hat
                contrast = v[c] + 0.5 * (g[c] * off[c]).sum(1)
                hxy = hess[c, :2, :2]
                tr = hxy[:, 0, 0] + hxy[:, 1, 1]
                det = hxy[:, 0, 0] * hxy[:, 1, 1] - hxy[:, 0, 1] ** 2
                r = self.edge_threshold
                keep = (contrast.abs() * s_count >= self.contrast_threshold) & (det > 0)
                keep &= tr**2 * r < (r + 1) ** 2 * det
                part = torch.stack(
                    [
                        s[c].to(dtype),
                        y[c].to(dtype),
                        x[c].to(dtype),
                        off[c, 2],
                        off[c, 1],
                        off[c, 0],
                        contrast,
                    ],
                    1,
                )  # (m, 7)
                results.append(part[keep])
            # the others move to the neighbour the offset points at and are refitted
            nc = ~conv
            step = off[nc].clamp(-1e6, 1e6).round().long()
            x, y, s = x[nc] + step[:, 0], y[nc] + step[:, 1], s[nc] + step[:, 2]
            inside = (s >= 1) & (s <= n_lay - 2) & (y >= _BORDER) & (y < h - _BORDER)
            inside &= (x >= _BORDER) & (x < w - _BORDER)
            s, y, x = s[inside], y[inside], x[inside]
        out = torch.cat(results)
        if out.shape[0] == 0:
            return None
        # several candidates may converge to one point: keep it once
        key = (out[:, 0] * h + out[:, 1]) * w + out[:, 2]
        _, first = _unique_first(key)
        out = out[first]
        return tuple(out[:, i] for i in range(7))

    def _finish(
        self,
        found: list[tuple[Tensor, ...]],
        pyramid: list[Tensor],
        work: Tensor,
        out_dtype: torch.dtype,
    ) -> tuple[SIFTKeypoints, Tensor]:
        empty = work.new_zeros(0)
        if not found:
            kp = SIFTKeypoints(empty, empty, empty, empty, empty, torch.zeros(0, dtype=torch.long))
            return _cast(kp, out_dtype), work.new_zeros(0, 128).to(out_dtype)
        octave, lay, row, col, ds, dy, dx, contrast = (
            torch.cat(t) for t in zip(*found, strict=True)
        )
        if self.max_features is not None and octave.numel() > self.max_features:
            top = contrast.abs().topk(self.max_features).indices
            octave, lay, row, col, ds, dy, dx, contrast = (
                t[top] for t in (octave, lay, row, col, ds, dy, dx, contrast)
            )
        # scale within the octave: sigma_0 2^((s + ds) / S), octave pixels
        sig_oct = self.sigma * 2.0 ** ((lay + ds) / self.n_scales)
        kps_i, angles, descs = [], [], []
        for o, gauss in enumerate(pyramid):
            sel = (octave == o).nonzero(as_tuple=True)[0]
            if sel.numel() == 0:
                continue
            layer = lay[sel].long()  # DoG layer s was found at Gaussian level s
            yy, xx = row[sel] + dy[sel], col[sel] + dx[sel]
            idx, theta = orientations(gauss, layer, row[sel].long(), col[sel].long(), sig_oct[sel])
            d = describe_keypoints(gauss, layer[idx], yy[idx], xx[idx], sig_oct[sel][idx], theta)
            kps_i.append(sel[idx])
            angles.append(theta)
            descs.append(d)
        sel = torch.cat(kps_i)
        theta = torch.cat(angles)
        desc = torch.cat(descs)
        o = octave[sel]
        scale = 2.0 ** o.to(work.dtype)  # octave o pixel -> doubled-image pixel
        # doubled pixel u sits at input coordinate (u + 0.5) / 2 - 0.5
        x = (col[sel] + dx[sel]) * scale / 2 - 0.25
        y = (row[sel] + dy[sel]) * scale / 2 - 0.25
        sigma = sig_oct[sel] * scale / 2
        # internal angles are atan2(dy, dx) with rows pointing down: on screen that is clockwise
        angle = torch.remainder(-torch.rad2deg(theta), 360.0)
        angle = torch.where(angle >= 360.0, angle - 360.0, angle)
        response = contrast[sel].abs()
        order = torch.argsort(response, descending=True, stable=True)
        kp = SIFTKeypoints(
            x[order], y[order], sigma[order], angle[order], response[order], o[order] - 1
        )
        return _cast(kp, out_dtype), desc[order].to(out_dtype)


def _cast(kp: SIFTKeypoints, dtype: torch.dtype) -> SIFTKeypoints:
    return SIFTKeypoints(
        kp.x.to(dtype),
        kp.y.to(dtype),
        kp.sigma.to(dtype),
        kp.angle.to(dtype),
        kp.response.to(dtype),
        kp.octave,
    )


def _to_gray(image: Tensor) -> Tensor:
    check_image(image, "image", min_dims=2, max_dims=3, floating=True)
    if image.dim() == 3:
        if image.shape[0] == 1:
            return image[0]
        if image.shape[0] == 3:
            # BT.601 luma
            wts = torch.tensor([0.299, 0.587, 0.114], dtype=image.dtype, device=image.device)
            return (image * wts[:, None, None]).sum(0)
        raise ShapeError(f"image must have 1 or 3 channels, got {describe(image)}")
    return image


def _taylor(
    flat: Tensor, s: Tensor, y: Tensor, x: Tensor, h: int, w: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Gradient (dx, dy, ds), Hessian and value of the DoG at integer points, by differences.

    ``flat`` holds the Gaussian levels; the DoG is formed at the points read: D_s = L_{s+1} - L_s.
    """
    hw = h * w

    def at(ds: int, dy: int, dx: int) -> Tensor:
        i = (s + ds) * hw + (y + dy) * w + (x + dx)  # (M,) index into level s + ds
        return flat.index_select(0, i + hw) - flat.index_select(0, i)

    return central_differences(at)


def _unique_first(key: Tensor) -> tuple[Tensor, Tensor]:
    """Unique values of ``key`` and the index of the first occurrence of each."""
    uniq, inv = torch.unique(key, return_inverse=True)
    pos = torch.arange(key.numel(), device=key.device)
    first = torch.full((uniq.numel(),), key.numel(), dtype=torch.long, device=key.device)
    first.scatter_reduce_(0, inv, pos, reduce="amin")
    return uniq, first
