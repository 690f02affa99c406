import math

import numpy as np
import pytest
import torch
from scipy import ndimage

from pixlearn.data.synthetic import cells

# small cells that fit a 64x64 image a few at a time
SMALL = {"n_cells": (2, 4), "radius": (4.0, 7.0)}


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def batch():
    return cells(8, (96, 128), n_cells=(3, 7), radius=(6.0, 10.0), generator=_gen(1))


def test_shapes_dtypes_and_value_range(batch):
    phantoms, labels = batch
    assert phantoms.shape == (8, 1, 96, 128) and phantoms.dtype == torch.float32
    assert labels.shape == (8, 96, 128) and labels.dtype == torch.int64
    assert float(phantoms.min()) >= 0.0 and float(phantoms.max()) <= 1.0


def test_label_ids_are_consecutive_and_counts_in_range(batch):
    _, labels = batch
    counts = []
    for lab in labels:
        ids = lab.unique().tolist()
        assert ids == list(range(len(ids)))  # 0, 1, ..., k without holes
        counts.append(len(ids) - 1)
    assert all(3 <= k <= 7 for k in counts)
    assert len(set(counts)) > 1  # the count is drawn, not fixed


def test_exact_count_when_an_int_is_given():
    _, labels = cells(4, 96, n_cells=5, radius=6.0, generator=_gen())
    assert [int(lab.max()) for lab in labels] == [5, 5, 5, 5]


def test_labelled_pixels_are_the_bright_cells_and_background_is_exact():
    background = 0.05
    phantoms, labels = cells(4, 96, background=background, generator=_gen(2), **SMALL)
    inside = labels > 0
    values = phantoms[:, 0]
    assert torch.equal(values[~inside], torch.full_like(values[~inside], background))
    assert float(values[inside].min()) > background


def test_each_cell_is_one_connected_region_and_cells_do_not_touch(batch):
    _, labels = batch
    for lab in labels.numpy():
        for i in range(1, lab.max() + 1):
            _, n_parts = ndimage.label(lab == i, structure=np.ones((3, 3)))
            assert n_parts == 1
        # no pixel of a cell has an 8-neighbour of another cell (gap = 2 pixels by default)
        grown = ndimage.grey_dilation(lab, size=3)
        assert np.all((lab == 0) | (grown == lab))


def test_every_cell_lies_inside_the_image_with_its_bounding_circle():
    radius, irregularity = 8.0, 0.1
    _, labels = cells(
        6,
        64,
        n_cells=(2, 3),
        radius=radius,
        eccentricity=0.0,
        irregularity=irregularity,
        generator=_gen(3),
    )
    for lab in labels.numpy():
        for i in range(1, lab.max() + 1):
            ys, xs = np.nonzero(lab == i)
            cy, cx = ys.mean(), xs.mean()
            r = np.hypot(ys - cy, xs - cx).max()
            assert r <= radius * (1 + irregularity) + 1.5


def test_area_and_eccentricity_match_the_ellipse_closed_form():
    # disc: area pi r^2; ellipse: axis ratio b / a = sqrt(1 - e^2) from the second moments
    r, e = 12.0, 0.8
    _, labels = cells(
        2, 160, n_cells=4, radius=r, eccentricity=e, irregularity=0.0, generator=_gen(4)
    )
    for lab in labels.numpy():
        for i in range(1, lab.max() + 1):
            ys, xs = np.nonzero(lab == i)
            assert ys.size == pytest.approx(math.pi * r**2, rel=0.03)
            cov = np.cov(np.stack([ys, xs]).astype(float))
            lo, hi = np.linalg.eigvalsh(cov)
            assert math.sqrt(lo / hi) == pytest.approx(math.sqrt(1 - e**2), rel=0.04)


def test_flat_cells_have_the_closed_form_density():
    # d = beta, phantom = b0 + (1 - b0) beta
    phantoms, labels = cells(
        2, 64, brightness=0.4, texture=0.0, nucleus=0.0, background=0.1, generator=_gen(), **SMALL
    )
    inside = phantoms[:, 0][labels > 0].double()
    assert torch.allclose(inside, torch.full_like(inside, 0.1 + 0.9 * 0.4), atol=1e-6)


def test_nucleus_doubles_the_density_over_part_of_the_cell():
    phantoms, labels = cells(
        4,
        96,
        brightness=0.3,
        texture=0.0,
        nucleus=1.0,
        eccentricity=0.0,
        radius=(8.0, 12.0),
        n_cells=3,
        generator=_gen(5),
    )
    values = phantoms[:, 0][labels > 0]
    levels = sorted({round(v, 5) for v in values.tolist()})
    assert levels == [0.3, 0.6]
    # the nucleus is a disc of 35-50 % of the cell radius: 12-25 % of its area
    frac = float((values > 0.45).float().mean())
    assert 0.1 < frac < 0.3


def test_texture_varies_inside_a_cell_and_vanishes_when_off():
    phantoms, labels = cells(2, 96, nucleus=0.0, texture=0.3, generator=_gen(6), **SMALL)
    cell = phantoms[0, 0][labels[0] == 1]
    assert float(cell.std() / cell.mean()) > 0.05
    phantoms, labels = cells(2, 96, nucleus=0.0, texture=0.0, generator=_gen(6), **SMALL)
    cell = phantoms[0, 0][labels[0] == 1]
    assert float(cell.max()) == float(cell.min())


def test_seeded_reproducibility_and_different_seeds_differ():
    a = cells(3, 64, generator=_gen(7), **SMALL)
    b = cells(3, 64, generator=_gen(7), **SMALL)
    c = cells(3, 64, generator=_gen(8), **SMALL)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])


def test_global_generator_is_used_when_none():
    torch.manual_seed(11)
    a = cells(2, 48, radius=(4, 6), n_cells=(2, 4))
    torch.manual_seed(11)
    b = cells(2, 48, radius=(4, 6), n_cells=(2, 4))
    assert torch.equal(a[0], b[0])


def test_float64_equals_float32_to_rounding():
    p32, l32 = cells(2, 64, generator=_gen(9), **SMALL)
    p64, l64 = cells(2, 64, generator=_gen(9), dtype=torch.float64, **SMALL)
    assert p64.dtype == torch.float64
    assert torch.equal(l32, l64)
    assert torch.allclose(p32.double(), p64, atol=1e-7)


def test_zero_images_and_zero_cells():
    p, lab = cells(0, 32, **SMALL)
    assert p.shape == (0, 1, 32, 32) and lab.shape == (0, 32, 32)
    p, lab = cells(2, 32, n_cells=0, background=0.2)
    assert int(lab.max()) == 0 and torch.allclose(p, torch.full_like(p, 0.2))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"radius": 0.0}, "radius"),
        ({"radius": (5.0, 3.0)}, "radius"),
        ({"radius": 40.0}, "radius"),  # larger than the 64x64 image
        ({"n_cells": (5, 2)}, "n_cells"),
        ({"n_cells": -1}, "n_cells"),
        ({"n_cells": 200}, "n_cells"),  # cannot be placed without overlap
        ({"eccentricity": 1.0}, "eccentricity"),
        ({"irregularity": 0.5}, "irregularity"),
        ({"brightness": 0.0}, "brightness"),
        ({"texture": -0.1}, "texture"),
        ({"texture_scale": 0.0}, "texture_scale"),
        ({"nucleus": float("nan")}, "nucleus"),
        ({"background": 1.0}, "background"),
        ({"gap": -1.0}, "gap"),
        ({"dtype": torch.int64}, "dtype"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=name):
        cells(2, 64, generator=_gen(), **{**SMALL, **kwargs})


def test_bad_n_and_size():
    with pytest.raises(ValueError, match="n "):
        cells(-1, 32)
    with pytest.raises(ValueError, match="size"):
        cells(1, 0)
    with pytest.raises(TypeError, match="size"):
        cells(1, 32.5)
