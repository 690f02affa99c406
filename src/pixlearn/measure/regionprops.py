"""Region properties of a label image: one lazy object per region (``regionprops``)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from pixlearn.measure.convex import convex_hull_image
from pixlearn.measure.region_table import (
    _GROUP,
    PROPERTIES,
    _check_labels,
    _Measurer,
    regionprops_table,
)

__all__ = ["PROPERTIES", "RegionProperties", "regionprops", "regionprops_table"]


class RegionProperties:
    """The properties of one region of a label image, computed lazily.

    Attributes are the names in :data:`PROPERTIES` plus ``image`` (the region's mask inside
    its bounding box), ``image_convex`` (its convex hull there), ``coords`` (``(N, 2)``
    ``(row, col)`` of its pixels) and ``slice``. The first access to a property computes it
    for every region of the image at once (one reduction), so a loop over all regions stays
    fast; later accesses are cached. Scalar properties are Python floats/ints, the others
    tensors.
    """

    def __init__(self, measurer: _Measurer, index: int) -> None:
        self._measurer, self._index = measurer, index

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in _GROUP:
            raise AttributeError(f"RegionProperties has no property {name!r}")
        value = self._measurer.get(name)[self._index]
        return value.item() if value.dim() == 0 else value

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(PROPERTIES))

    def __repr__(self) -> str:
        return f"RegionProperties(label={self.label}, bbox={tuple(self.bbox.tolist())})"

    @property
    def slice(self) -> tuple[slice, slice]:
        """``(rows, cols)`` slices of the bounding box."""
        x0, y0, x1, y1 = self.bbox.tolist()
        return slice(y0, y1), slice(x0, x1)

    @property
    def image(self) -> Tensor:
        """The region's mask inside its bounding box, bool ``(h, w)``."""
        return self._measurer.labels[self.slice] == self.label

    @property
    def image_convex(self) -> Tensor:
        """The convex hull of :attr:`image`, bool ``(h, w)``."""
        return convex_hull_image(self.image)

    @property
    def coords(self) -> Tensor:
        """``(N, 2)`` int64 ``(row, col)`` of the region's pixels, in raster order."""
        m = self._measurer
        pick = m.region == self._index
        return torch.stack([m.row[pick], m.col[pick]], -1)


def regionprops(labels: Tensor, intensity: Tensor | None = None) -> list[RegionProperties]:
    r"""Measure the labelled regions of an image: one lazy property object per region.

    Args:
        labels: a label image ``(H, W)``, integer dtype; ``0`` is the background, each
            positive value one region (not necessarily connected).
        intensity: an optional real image ``(H, W)`` for the intensity properties.

    Returns:
        One :class:`RegionProperties` per label present, sorted by label. The properties
        (all float64 unless stated) follow ``skimage.measure.regionprops``:

        - ``label`` (int), ``area`` (pixel count), ``area_bbox``, ``extent`` (area / bbox area),
          ``equivalent_diameter_area`` :math:`\sqrt{4A/\pi}`;
        - ``bbox``: int64 ``(x1, y1, x2, y2)`` = ``(min_col, min_row, max_col + 1, max_row + 1)``,
          pixlearn's ``xyxy`` box convention (pixel edges, so ``(x2-x1)*(y2-y1)`` is
          ``area_bbox``); scikit-image orders it ``(min_row, min_col, max_row, max_col)``;
        - ``centroid`` ``(row, col)``, 0-based like scikit-image;
        - ``moments``, ``moments_central``, ``moments_normalized`` ``(4, 4)`` with ``[p, q]``
          the power of the row and of the column, raw moments in the frame of the bounding
          box (as scikit-image); ``moments_hu`` ``(7,)``;
        - ``inertia_tensor`` ``(2, 2)`` and ``inertia_tensor_eigvals`` (descending),
          ``axis_major_length`` :math:`4\sqrt{\lambda_1}`, ``axis_minor_length``
          :math:`4\sqrt{\lambda_2}`, ``eccentricity`` :math:`\sqrt{1 - \lambda_2/\lambda_1}`;
        - ``orientation``: the angle in ``[-pi/2, pi/2]`` from the row axis (downwards) to the
          major axis, positive counter-clockwise as the image is displayed, scikit-image's
          value (it is *not* measured from the x axis); when the inertia is isotropic
          (:math:`a = c`) it is :math:`\mp\pi/4` by the sign of the mixed term;
        - ``perimeter`` (4-neighbourhood Benkrid-Crookes estimate, scikit-image's default),
          ``perimeter_8`` (8-neighbourhood border), ``perimeter_crofton`` (4 directions);
        - ``circularity`` :math:`4\pi A / P^2` (1 for a disc) and ``compactness``
          :math:`P^2 / A` (Gonzalez & Woods), both with the 4-neighbourhood perimeter;
        - ``area_convex``, ``solidity`` (area / convex area), hull as
          ``skimage.morphology.convex_hull_image``;
        - ``euler_number`` (int, 8-connected objects, scikit-image's choice for regions) and
          ``euler_number_4`` (4-connected);
        - with ``intensity``: ``intensity_mean``, ``intensity_min``, ``intensity_max``,
          ``centroid_weighted`` ``(row, col)``.

    Raises:
        WrongTypeError: ``labels`` not an integer tensor.
        ValueRangeError: negative labels.
        ShapeError: ``labels`` not 2-D, or ``intensity`` of another shape.

    Notes:
        With the central moments :math:`\mu_{pq}` the inertia tensor is
        :math:`rac{1}{\mu_{00}}egin{pmatrix}\mu_{02} & -\mu_{11}\ -\mu_{11} & \mu_{20}
        \end{pmatrix} = egin{pmatrix}a & b\ b & c\end{pmatrix}`, its eigenvalues
        :math:`\lambda_{1,2} = rac{a+c}{2} \pm \sqrt{(rac{a-c}{2})^2 + b^2}` and the
        orientation :math:`	heta = rac12 \operatorname{atan2}(-2b, c - a)`. The whole image
        is measured in a few vectorised passes: bincounts for sums, scatter min/max for
        boxes, lookup tables over 3x3 and 2x2 neighbourhoods for perimeters and the Euler
        number, and one lock-step monotone chain for all convex hulls
        (:func:`regionprops_table` returns the same values as columns).

    Example:
        >>> lab = torch.zeros(6, 8, dtype=torch.int64)
        >>> lab[1:5, 1:3] = 1
        >>> lab[2:4, 4:8] = 7
        >>> regions = regionprops(lab)
        >>> [r.label for r in regions], [r.area for r in regions]
        ([1, 7], [8.0, 8.0])
        >>> round(regions[1].orientation, 4), regions[1].bbox.tolist()
        (-1.5708, [4, 2, 8, 4])

    References:
        Hu, M.-K. "Visual pattern recognition by moment invariants." IRE Trans. Information
        Theory 8(2), 1962. Benkrid, K., Crookes, D. "Design and FPGA implementation of a
        perimeter estimator." IMVIP 2000.
    """
    _check_labels(labels, intensity)
    measurer = _Measurer(labels, intensity)
    return [RegionProperties(measurer, i) for i in range(measurer.n)]
