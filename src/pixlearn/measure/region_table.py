"""The table of region properties: every property of every region in a few passes.

Every property is a reduction over the pixels of each region (a bincount, a scatter min/max)
or a local-configuration count (perimeters, Euler number), so measuring a thousand regions
costs a few passes over the image, not a thousand crops.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import Tensor

from pixlearn._core.check import check_image, check_tensor, describe
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError
from pixlearn.measure.convex import _convex_areas
from pixlearn.measure.moments import moments_hu, moments_normalized
from pixlearn.measure.perimeter import (
    _crofton_table,
    _euler_table,
    _perimeter_per_label,
    _window_sums,
)

__all__ = ["PROPERTIES", "regionprops_table"]

# property -> the group of reductions that computes it (each group runs once, for all regions)
_GROUP = {
    **dict.fromkeys(
        (
            "label",
            "area",
            "bbox",
            "area_bbox",
            "extent",
            "centroid",
            "equivalent_diameter_area",
            "moments",
            "moments_central",
            "moments_normalized",
            "moments_hu",
            "inertia_tensor",
            "inertia_tensor_eigvals",
            "eccentricity",
            "orientation",
            "axis_major_length",
            "axis_minor_length",
        ),
        "shape",
    ),
    **dict.fromkeys(("perimeter", "circularity", "compactness"), "perimeter"),
    "perimeter_8": "perimeter_8",
    **dict.fromkeys(("perimeter_crofton", "euler_number", "euler_number_4"), "windows"),
    **dict.fromkeys(("area_convex", "solidity"), "convex"),
    **dict.fromkeys(
        ("intensity_mean", "intensity_min", "intensity_max", "centroid_weighted"), "intensity"
    ),
}
PROPERTIES: tuple[str, ...] = tuple(_GROUP)
_INTENSITY = ("intensity_mean", "intensity_min", "intensity_max", "centroid_weighted")


def _check_labels(labels: Any, intensity: Any) -> None:
    check_image(labels, "labels", max_dims=2, allow_empty=True)
    if labels.dim() != 2:
        raise ShapeError(f"labels must be a 2-D label image (H, W), got {describe(labels)}")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise WrongTypeError(
            f"labels must be an integer tensor (0 = background), got {labels.dtype} "
            "(label a mask with pixlearn.segmentation.label)"
        )
    if labels.numel() and int(labels.min()) < 0:
        raise ValueRangeError(f"labels must be >= 0, got a minimum of {int(labels.min())}")
    if intensity is not None:
        check_tensor(intensity, "intensity")
        if intensity.shape != labels.shape:
            raise ShapeError(
                f"intensity must have the shape of labels {tuple(labels.shape)}, "
                f"got {describe(intensity)}"
            )
        check_image(intensity, "intensity", allow_empty=True)


class _Measurer:
    """All regions of one label image; each group of properties is computed on first use."""

    def __init__(self, labels: Tensor, intensity: Tensor | None) -> None:
        self.labels, self.intensity = labels, intensity
        self.h, self.w = labels.shape
        flat = labels.reshape(-1).long()
        fg = torch.nonzero(flat > 0).squeeze(1)  # (N,) foreground pixel indices
        values = flat[fg]
        self.label, region = torch.unique(values, return_inverse=True)  # sorted labels
        self.n = int(self.label.numel())
        self.region, self.row, self.col = region, fg // self.w, fg % self.w  # (N,) each
        # compact label image: region index + 1, 0 for the background
        comp = torch.zeros_like(flat)
        comp[fg] = region + 1
        self.comp = comp.reshape(self.h, self.w)
        self.values: dict[str, Tensor] = {}

    def get(self, name: str) -> Tensor:
        if name not in self.values:
            getattr(self, "_" + _GROUP[name])()
        return self.values[name]

    def _sum(self, weights: Tensor, index: Tensor | None = None, n: int | None = None) -> Tensor:
        index = self.region if index is None else index
        n = self.n if n is None else n
        return torch.zeros(n, dtype=torch.float64, device=weights.device).index_add_(
            0, index, weights.to(torch.float64)
        )

    def _extreme(self, x: Tensor, how: str) -> Tensor:
        init = torch.full((self.n,), float("inf") if how == "amin" else float("-inf"))
        init = init.to(dtype=x.dtype if x.is_floating_point() else torch.float64, device=x.device)
        return init.scatter_reduce(0, self.region, x.to(init.dtype), how)

    def _shape(self) -> None:
        v, n, dev = self.values, self.n, self.labels.device
        f64 = torch.float64
        area = torch.bincount(self.region, minlength=n).to(f64)  # (R,)
        r0 = self._extreme(self.row, "amin").long()
        c0 = self._extreme(self.col, "amin").long()
        r1 = self._extreme(self.row, "amax").long() + 1
        c1 = self._extreme(self.col, "amax").long() + 1
        # raw moments in the region's own frame (origin at its bounding box corner), as
        # skimage; summed per (region, row) first: S_q(row) = sum_c c^q, M_pq = sum r^p S_q
        rl = self.row - r0[self.region]  # (N,)
        cl = (self.col - c0[self.region]).to(f64)  # (N,)
        height = r1 - r0  # (R,)
        first = torch.cumsum(height, 0) - height  # first row slot of each region
        slot = first[self.region] + rl  # (N,) one slot per (region, row)
        n_slots = int(height.sum()) if n else 0
        slot_region = torch.repeat_interleave(torch.arange(n, device=dev), height)
        slot_row = (torch.arange(n_slots, device=dev) - first[slot_region]).to(f64)
        sq = [self._sum(cl**q, slot, n_slots) for q in range(4)]  # 4 x (slots,)
        raw = torch.stack(
            [
                torch.stack([self._sum(slot_row**p * sq[q], slot_region) for q in range(4)], -1)
                for p in range(4)
            ],
            -2,
        )  # (R, 4, 4)
        # local centroid and central moments by the binomial theorem:
        # mu_pq = sum_ij C(p, i) C(q, j) (-r_c)^(p-i) (-c_c)^(q-j) M_ij
        cr, cc = raw[:, 1, 0] / area, raw[:, 0, 1] / area
        binom = torch.tensor([[math.comb(p, i) for i in range(4)] for p in range(4)], dtype=f64)
        k = torch.arange(4, dtype=f64)
        expo = (k[:, None] - k[None, :]).clamp(min=0)  # (4, 4), p - i
        mask = (k[:, None] >= k[None, :]).to(f64)
        a_r = binom * mask * (-cr[:, None, None]) ** expo  # (R, 4, 4)
        a_c = binom * mask * (-cc[:, None, None]) ** expo
        mu = a_r @ raw @ a_c.transpose(1, 2)  # (R, 4, 4)
        mu[:, 1, 0] = mu[:, 0, 1] = 0.0  # zero by definition
        nu = moments_normalized(mu, 3)
        # inertia tensor [[mu02, -mu11], [-mu11, mu20]] / mu00 and its eigenvalues
        ta, tb, tc = mu[:, 0, 2] / area, -mu[:, 1, 1] / area, mu[:, 2, 0] / area
        tensor = torch.stack([torch.stack([ta, tb], -1), torch.stack([tb, tc], -1)], -2)
        mean, rad = (ta + tc) / 2, torch.sqrt(((ta - tc) / 2) ** 2 + tb**2)
        l1, l2 = (mean + rad).clamp(min=0), (mean - rad).clamp(min=0)
        v.update(
            label=self.label.clone(),
            area=area,
            bbox=torch.stack([c0, r0, c1, r1], -1),
            area_bbox=(height * (c1 - c0)).to(f64),
            centroid=torch.stack([r0 + cr, c0 + cc], -1),
            equivalent_diameter_area=torch.sqrt(4 * area / math.pi),
            moments=raw,
            moments_central=mu,
            moments_normalized=nu,
            moments_hu=moments_hu(nu),
            inertia_tensor=tensor,
            inertia_tensor_eigvals=torch.stack([l1, l2], -1),
            # eccentricity of the ellipse with the same second moments; 0 for a point
            eccentricity=torch.sqrt(1 - l2 / l1.clamp(min=1e-300)) * (l1 > 0),
            axis_major_length=4 * torch.sqrt(l1),
            axis_minor_length=4 * torch.sqrt(l2),
            orientation=self._orientation(raw, ta, tb, tc),
        )
        v["extent"] = area / v["area_bbox"]

    @staticmethod
    def _orientation(raw: Tensor, ta: Tensor, tb: Tensor, tc: Tensor) -> Tensor:
        """Angle between the row axis and the major axis, in ``[-pi/2, pi/2]``."""
        # exact tests on integer moments: ta == tc iff M00 M02 - M01^2 == M00 M20 - M10^2,
        # tb == 0 iff M00 M11 == M10 M01 (binary regions: every raw moment is an integer)
        m = raw.round().long()
        m00, m10, m01 = m[:, 0, 0], m[:, 1, 0], m[:, 0, 1]
        diag = (m00 * m[:, 0, 2] - m01 * m01) - (m00 * m[:, 2, 0] - m10 * m10)
        mixed = m00 * m[:, 1, 1] - m10 * m01  # sign of mu11, the opposite of tb's
        # exact while the products fit in int64 (moments up to order 2 are then exact too)
        exact = m.numel() == 0 or float(raw[:, :3, :3].amax() * raw[:, 0, 0].amax()) < 2.0**61
        if exact:
            tb = torch.where(mixed == 0, torch.zeros_like(tb), tb)
            equal = diag == 0
        else:
            equal = ta == tc
        # theta = 1/2 atan2(-2 b, c - a); on a tie a == c it is -pi/4 or +pi/4 by the sign of b
        theta = 0.5 * torch.atan2(-2 * tb, tc - ta)
        quarter = torch.full_like(theta, math.pi / 4)
        tie = torch.where(tb < 0, quarter, -quarter)
        return torch.where(equal, tie, theta)

    def _perimeter(self) -> None:
        p = _perimeter_per_label(self.comp, self.n, 4)
        area = self.get("area")
        self.values.update(
            perimeter=p,
            circularity=4 * math.pi * area / p**2,
            compactness=p**2 / area,
        )

    def _perimeter_8(self) -> None:
        self.values["perimeter_8"] = _perimeter_per_label(self.comp, self.n, 8)

    def _windows(self) -> None:
        tables = [_crofton_table(4), _euler_table(8), _euler_table(4)]
        crofton, e8, e4 = _window_sums(self.comp, self.n, tables)
        self.values.update(
            perimeter_crofton=crofton,
            euler_number=e8.round().long(),
            euler_number_4=e4.round().long(),
        )

    def _convex(self) -> None:
        # the hull only needs each row's first and last pixel: keep the 4-border pixels
        comp = self.comp
        padded = torch.nn.functional.pad(comp, (1, 1, 1, 1))
        inner = (
            (padded[:-2, 1:-1] == comp)
            & (padded[2:, 1:-1] == comp)
            & (padded[1:-1, :-2] == comp)
            & (padded[1:-1, 2:] == comp)
        )
        rr, cc = torch.nonzero((comp > 0) & ~inner, as_tuple=True)
        region = comp[rr, cc] - 1
        if self.n:
            hull = _convex_areas(region, rr, cc, self.n, self.h).to(comp.device)
        else:
            hull = torch.zeros(0, dtype=torch.float64, device=comp.device)
        self.values.update(area_convex=hull, solidity=self.get("area") / hull)

    def _intensity(self) -> None:
        if self.intensity is None:
            raise ValueRangeError(
                "intensity is required for the intensity properties "
                f"({', '.join(_INTENSITY)}), got None"
            )
        flat = self.intensity.reshape(-1).to(torch.float64)
        vals = flat[self.row * self.w + self.col]  # (N,)
        mass = self._sum(vals)
        self.values.update(
            intensity_mean=mass / self.get("area"),
            intensity_min=self._extreme(vals, "amin"),
            intensity_max=self._extreme(vals, "amax"),
            centroid_weighted=torch.stack(
                [self._sum(vals * self.row) / mass, self._sum(vals * self.col) / mass], -1
            ),
        )


def regionprops_table(
    labels: Tensor,
    intensity: Tensor | None = None,
    properties: Iterable[str] = ("label", "area", "bbox", "centroid"),
) -> dict[str, Tensor]:
    r"""Properties of every labelled region, as a table of tensors (one row per region).

    Args:
        labels: a label image ``(H, W)``, integer dtype, ``0`` the background and each
            positive value one region (a region need not be connected). Labels may skip
            values; regions come sorted by label.
        intensity: an optional image ``(H, W)``, real, finite, for the intensity properties.
        properties: names from :data:`PROPERTIES` (see :func:`regionprops` for each).

    Returns:
        ``{name: tensor}`` with a first dimension of length ``R`` (number of regions): float64
        values, int64 for ``label``, ``bbox`` and the Euler numbers; vector and matrix
        properties keep their shape (``bbox (R, 4)``, ``moments (R, 4, 4)``,
        ``moments_hu (R, 7)``), where ``skimage.measure.regionprops_table`` would split them
        into columns ``bbox-0, bbox-1, ...``.

    Raises:
        WrongTypeError: ``labels`` not an integer tensor.
        ValueRangeError: negative labels; an unknown property; an intensity property
            without ``intensity``.
        ShapeError: ``labels`` not 2-D, ``intensity`` of another shape.

    Example:
        >>> lab = torch.tensor([[1, 1, 0], [0, 2, 2], [0, 2, 2]])
        >>> t = regionprops_table(lab, properties=("label", "area", "bbox"))
        >>> t["area"], t["bbox"]
        (tensor([2., 4.], dtype=torch.float64), tensor([[0, 0, 2, 1],
                [1, 1, 3, 3]]))

    References:
        van der Walt, S. et al. "scikit-image: image processing in Python." PeerJ 2014
        (``regionprops``, whose definitions these follow).
    """
    _check_labels(labels, intensity)
    names = [properties] if isinstance(properties, str) else list(properties)
    for name in names:
        if name not in _GROUP:
            raise ValueRangeError(
                f"properties must name known properties ({', '.join(PROPERTIES)}), got {name!r}"
            )
    if intensity is None and any(name in _INTENSITY for name in names):
        raise ValueRangeError(
            f"intensity is required for {[n for n in names if n in _INTENSITY]}, got None"
        )
    measurer = _Measurer(labels, intensity)
    return {name: measurer.get(name) for name in names}
