import math
import warnings

import numpy as np
import pytest
import skimage.measure as skm
import torch
from skimage.morphology import convex_hull_image as sk_hull

from pixlearn.data import sample
from pixlearn.measure import (
    PROPERTIES,
    convex_hull_image,
    euler_number,
    perimeter,
    perimeter_crofton,
    regionprops,
    regionprops_table,
)
from pixlearn.segmentation import label, threshold_otsu


def _sk_column(regions, name):
    """skimage's value of a property, in pixlearn's layout."""
    out = []
    for p in regions:
        if name == "bbox":
            r0, c0, r1, c1 = p.bbox
            out.append([c0, r0, c1, r1])  # pixlearn's xyxy order
        elif name == "perimeter_8":
            out.append(skm.perimeter(p.image, 8))
        elif name == "euler_number_4":
            out.append(skm.euler_number(p.image, 1))
        elif name == "circularity":
            out.append(4 * math.pi * p.area / p.perimeter**2)
        elif name == "compactness":
            out.append(p.perimeter**2 / p.area)
        else:
            out.append(np.asarray(getattr(p, name), dtype=np.float64))
    return np.array(out, dtype=np.float64)


def _assert_table_equals_skimage(lab, intensity):
    t = regionprops_table(torch.from_numpy(lab), torch.from_numpy(intensity), PROPERTIES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skimage warns on 1-pixel regions (NaN moments)
        regions = skm.regionprops(lab, intensity)
        for name in PROPERTIES:
            ours, ref = t[name].numpy().astype(np.float64), _sk_column(regions, name)
            assert ours.shape == ref.shape, name
            if name == "orientation":
                # an axis has no direction: compare modulo pi (+pi/2 and -pi/2 agree)
                diff = np.abs((ours - ref + np.pi / 2) % np.pi - np.pi / 2)
                assert diff.max() < 1e-9, name
                continue
            # a per-region scale so that near-zero entries (odd moments of symmetric shapes)
            # are judged against the size of the region's other entries
            axes = tuple(range(1, ref.ndim))
            scale = np.nanmax(np.abs(ref), axis=axes, keepdims=True) if axes else np.abs(ref)
            scale = np.where(scale > 0, scale, 1.0)
            err = np.abs(ours - ref) / scale
            assert np.array_equal(np.isnan(ours), np.isnan(ref)), name
            assert np.nanmax(err, initial=0) < 1e-6, (name, np.nanmax(err))


@pytest.mark.parametrize("seed", range(3))
def test_every_field_equals_skimage_on_random_labels(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(5, 45, size=2)
    lab = rng.integers(0, rng.integers(2, 9), size=(h, w))  # disconnected, touching regions
    lab[lab == 3] = 17  # labels may skip values
    _assert_table_equals_skimage(lab, rng.random((h, w)))


def test_every_field_equals_skimage_on_labelled_coins():
    coins = sample("coins", dtype=torch.float64)[0]
    lab = label(coins > threshold_otsu(coins)).numpy()
    _assert_table_equals_skimage(lab, coins.numpy())


def test_objects_equal_the_table_and_are_lazy():
    rng = np.random.default_rng(5)
    lab = torch.from_numpy(rng.integers(0, 5, size=(20, 30)))
    inten = torch.rand(20, 30, dtype=torch.float64)
    regions = regionprops(lab, inten)
    table = regionprops_table(lab, inten, PROPERTIES)
    assert [r.label for r in regions] == table["label"].tolist()
    for i, r in enumerate(regions):
        for name in ("area", "solidity", "perimeter_crofton", "intensity_mean", "euler_number"):
            assert getattr(r, name) == pytest.approx(table[name][i].item(), rel=1e-12)
        torch.testing.assert_close(r.moments_hu, table["moments_hu"][i])
        assert torch.equal(r.image, lab[r.slice] == r.label)
        assert r.coords.shape == (int(r.area), 2)
        assert int(r.image_convex.sum()) == int(r.area_convex)
    # the whole image was measured once per group
    assert regions[0]._measurer is regions[-1]._measurer
    with pytest.raises(AttributeError, match="nonsense"):
        _ = regions[0].nonsense


def test_known_values_of_simple_shapes():
    lab = torch.zeros(12, 12, dtype=torch.int64)
    lab[2:6, 3:9] = 4  # a 4x6 rectangle
    r = regionprops(lab)[0]
    assert r.label == 4 and r.area == 24 and r.bbox.tolist() == [3, 2, 9, 6]
    assert r.centroid.tolist() == [3.5, 5.5]
    assert r.extent == 1.0 and r.solidity == 1.0 and r.euler_number == 1
    # a rectangle a x b has second moments a^2/12, b^2/12: major axis 4 sqrt(35/12)
    assert r.axis_major_length == pytest.approx(4 * math.sqrt(35 / 12))
    assert abs(r.orientation) == pytest.approx(math.pi / 2)  # long along the columns
    holes = torch.ones(7, 7, dtype=torch.int64)
    holes[2, 2] = holes[4, 4] = 0
    assert regionprops(holes)[0].euler_number == -1  # one object, two holes


def test_empty_and_background_only_images():
    for lab in (torch.zeros(0, 5, dtype=torch.int64), torch.zeros(4, 4, dtype=torch.int32)):
        assert regionprops(lab) == []
        t = regionprops_table(lab, properties=PROPERTIES[:-4])
        assert t["area"].shape == (0,) and t["moments_hu"].shape == (0, 7)
        assert t["bbox"].shape == (0, 4)


def test_non_contiguous_and_small_dtypes():
    rng = np.random.default_rng(2)
    lab = torch.from_numpy(rng.integers(0, 4, size=(15, 9)))
    ref = regionprops_table(lab, properties=PROPERTIES[:-4])
    for other in (lab.t().contiguous().t(), lab.to(torch.uint8), lab.T.contiguous().T):
        out = regionprops_table(other, properties=PROPERTIES[:-4])
        for k in ref:
            torch.testing.assert_close(out[k], ref[k], equal_nan=True)
    t = lab.t()  # a transposed (non-contiguous) label image measures its transpose
    np.testing.assert_array_equal(
        regionprops_table(t, properties=["area"])["area"].numpy(), ref["area"].numpy()
    )


def test_binary_estimators_equal_skimage():
    rng = np.random.default_rng(0)
    coins = sample("coins", dtype=torch.float64)[0]
    masks = [rng.random((31, 40)) < p for p in (0.2, 0.5, 0.8)] + [(coins > 0.43).numpy()]
    for m in masks:
        t = torch.from_numpy(m)
        for nb in (4, 8):
            assert perimeter(t, nb).item() == pytest.approx(skm.perimeter(m, nb), rel=1e-12)
        for d in (2, 4):
            ref = skm.perimeter_crofton(m, d)
            assert perimeter_crofton(t, d).item() == pytest.approx(ref, rel=1e-12)
        for conn, sk_conn in ((4, 1), (8, 2)):
            assert euler_number(t, conn).item() == skm.euler_number(m, sk_conn)


def test_convex_hull_image_equals_skimage():
    rng = np.random.default_rng(3)
    for _ in range(60):
        h, w = rng.integers(1, 30, size=2)
        m = rng.random((h, w)) < rng.choice([0.01, 0.05, 0.3])
        if not m.any():
            assert not convex_hull_image(torch.from_numpy(m)).any()
            continue
        np.testing.assert_array_equal(convex_hull_image(torch.from_numpy(m)).numpy(), sk_hull(m))


def test_circularity_of_a_disc_is_close_to_one():
    yy, xx = torch.meshgrid(torch.arange(101), torch.arange(101), indexing="ij")
    disc = (((yy - 50) ** 2 + (xx - 50) ** 2) <= 40**2).long()
    r = regionprops(disc)[0]
    assert r.circularity == pytest.approx(1.0, abs=0.1)
    assert r.eccentricity == pytest.approx(0.0, abs=1e-3)
    assert r.perimeter_crofton == pytest.approx(2 * math.pi * 40, rel=0.02)


def test_bad_inputs():
    with pytest.raises(ValueError, match="labels must be >= 0"):
        regionprops(torch.tensor([[0, -1], [2, 2]]))
    with pytest.raises(TypeError, match="labels must be an integer"):
        regionprops(torch.ones(3, 3))
    with pytest.raises(TypeError, match="labels must be an integer"):
        regionprops_table(torch.ones(3, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="intensity must have the shape"):
        regionprops(torch.ones(3, 3, dtype=torch.int64), torch.rand(3, 4))
    with pytest.raises(ValueError, match="labels must have at most 2"):
        regionprops(torch.ones(2, 3, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match="properties"):
        regionprops_table(torch.ones(3, 3, dtype=torch.int64), properties=["roundness"])
    with pytest.raises(ValueError, match="intensity is required"):
        regionprops_table(torch.ones(3, 3, dtype=torch.int64), properties=["intensity_mean"])
    with pytest.raises(ValueError, match="neighborhood"):
        perimeter(torch.ones(3, 3), 6)
    with pytest.raises(ValueError, match="connectivity"):
        euler_number(torch.ones(3, 3), 2)
    with pytest.raises(ValueError, match="image must have at most 2"):
        convex_hull_image(torch.ones(2, 3, 3))
