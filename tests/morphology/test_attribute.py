import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.data
import skimage.morphology as skm
import torch

from pixlearn._core.errors import ShapeError, ValueRangeError
from pixlearn.morphology import (
    area_closing,
    area_opening,
    attribute_filter,
    diameter_closing,
    diameter_opening,
    disk,
    opening,
    square,
)


@pytest.fixture(scope="module")
def camera():
    return skimage.data.camera()[::2, ::2].copy()  # (256, 256) uint8


def _random(rng, h, w, kind):
    if kind == "uint8":
        return rng.integers(0, rng.integers(2, 30), (h, w)).astype(np.uint8)
    return rng.random((h, w)).astype(np.float32)


def _t(a):
    return torch.from_numpy(a)


def _sk_closing(fn, img, lam, conn):
    # skimage inverts floats as 1 - x, which rounds in float32; -x is exact, so the float
    # reference is the dual of its opening
    if img.dtype.kind == "f":
        opened = getattr(skm, fn.replace("closing", "opening"))(-img, lam, connectivity=conn)
        return -opened
    return getattr(skm, fn)(img, lam, connectivity=conn)


@pytest.mark.parametrize("connectivity", [1, 2])
@pytest.mark.parametrize("kind", ["uint8", "float32"])
def test_area_and_diameter_filters_equal_skimage_on_random_images(kind, connectivity):
    rng = np.random.default_rng(7)
    for _ in range(5):
        h, w = rng.integers(3, 30, size=2)
        img = _random(rng, h, w, kind)
        a = int(rng.integers(1, h * w + 1))
        d = int(rng.integers(1, max(h, w) + 1))
        out = area_opening(_t(img), a, connectivity=connectivity).numpy()
        np.testing.assert_array_equal(out, skm.area_opening(img, a, connectivity=connectivity))
        out = area_closing(_t(img), a, connectivity=connectivity).numpy()
        np.testing.assert_array_equal(out, _sk_closing("area_closing", img, a, connectivity))
        out = diameter_opening(_t(img), d, connectivity=connectivity).numpy()
        ref = skm.diameter_opening(img, d, connectivity=connectivity)
        np.testing.assert_array_equal(out, ref)
        out = diameter_closing(_t(img), d, connectivity=connectivity).numpy()
        np.testing.assert_array_equal(out, _sk_closing("diameter_closing", img, d, connectivity))


def test_area_opening_and_closing_equal_skimage_on_camera(camera):
    x = _t(camera)
    np.testing.assert_array_equal(area_opening(x, 64).numpy(), skm.area_opening(camera, 64))
    np.testing.assert_array_equal(area_closing(x, 64).numpy(), skm.area_closing(camera, 64))
    np.testing.assert_array_equal(
        area_opening(x, 500, connectivity=2).numpy(),
        skm.area_opening(camera, 500, connectivity=2),
    )
    np.testing.assert_array_equal(diameter_closing(x, 10).numpy(), skm.diameter_closing(camera, 10))


def _decomposition(img, attribute, lam, conn, *, closing=False):
    """Slow reference: the union of kept components of every upper level set, per level."""
    if closing:
        return -_decomposition(-img.astype(np.float64), attribute, lam, conn)
    flat = img.ravel().astype(np.float64)
    levels = np.unique(flat)
    structure = ndi.generate_binary_structure(2, conn)
    rows, cols = np.divmod(np.arange(flat.size), img.shape[1])
    labels = [ndi.label(img >= t, structure)[0].ravel() for t in levels]
    out = np.full(flat.size, levels[0])
    for k in range(1, len(levels)):
        for lab in range(1, labels[k].max() + 1):
            comp = labels[k] == lab
            h = np.ptp(rows[comp]) + 1
            w = np.ptp(cols[comp]) + 1
            if attribute == "area":
                value = comp.sum()
            elif attribute == "bbox":
                value = h * w
            elif attribute == "diameter":
                value = max(h, w)
            else:  # height: the peak above the level of the first strictly larger component
                p = np.flatnonzero(comp)[0]
                below = next(
                    j
                    for j in range(k - 1, -1, -1)
                    if (labels[j] == labels[j][p]).sum() > comp.sum()
                )
                value = flat[comp].max() - flat[labels[below] == labels[below][p]].min()
            if value >= lam:
                out[comp] = levels[k]
    return out.reshape(img.shape)


@pytest.mark.parametrize("attribute", ["area", "bbox", "diameter", "height"])
@pytest.mark.parametrize("shape", [(1, 12), (2, 9), (9, 10)])
@pytest.mark.parametrize("connectivity", [1, 2])
def test_every_attribute_equals_threshold_decomposition(attribute, shape, connectivity):
    rng = np.random.default_rng(shape[0] * 10 + connectivity)
    img = rng.integers(0, 7, shape).astype(np.int32)
    for lam in (1, 2, 3, 5):
        out = attribute_filter(_t(img), attribute, lam, connectivity=connectivity)
        ref = _decomposition(img, attribute, lam, connectivity)
        np.testing.assert_array_equal(out.numpy(), ref)
        out = attribute_filter(_t(img), attribute, lam, connectivity=connectivity, mode="closing")
        ref = _decomposition(img, attribute, lam, connectivity, closing=True)
        np.testing.assert_array_equal(out.numpy(), ref)


def test_height_keeps_tall_peaks_and_flattens_low_ones():
    img = torch.zeros(5, 9)
    img[2, 2] = 3.0  # a peak 3 above the background
    img[2, 6] = 1.0  # a peak 1 above it
    out = attribute_filter(img, "height", 2.0)
    assert out[2, 2] == 3.0 and out[2, 6] == 0.0


def test_area_opening_properties():
    g = torch.Generator().manual_seed(0)
    f = torch.randint(0, 50, (24, 24), generator=g).to(torch.uint8)
    f2 = torch.maximum(f, torch.randint(0, 50, (24, 24), generator=g).to(torch.uint8))  # f <= f2
    out = area_opening(f, 10)
    assert bool((out <= f).all()), "anti-extensive"
    assert torch.equal(area_opening(out, 10), out), "idempotent"
    assert bool((area_opening(f2, 10) >= out).all()), "increasing"
    assert bool((area_opening(f, 20) <= out).all()), "decreasing in the threshold"
    closed = area_closing(f, 10)
    assert bool((closed >= f).all()), "extensive"
    assert torch.equal(area_closing(closed, 10), closed), "idempotent"
    assert bool((area_closing(f2, 10) >= closed).all()), "increasing"
    assert torch.equal(area_opening(f, 1), f) and torch.equal(area_closing(f, 1), f)


@pytest.mark.parametrize("footprint", [disk(2), square(3), torch.ones(1, 7, dtype=torch.bool)])
def test_area_opening_dominates_openings_by_connected_footprints_that_large(footprint):
    # every translate of a connected footprint with >= lam pixels lies inside one component of
    # the level set at its minimum, so gamma_B(f) <= area_opening(f, lam) for lam <= |B|
    r = max(footprint.shape) // 2
    g = torch.Generator().manual_seed(1)
    f = torch.rand(40, 40, generator=g, dtype=torch.float64)
    f[:r], f[-r:], f[:, :r], f[:, -r:] = 0, 0, 0, 0  # a zero frame: no partial translates
    size = int(footprint.sum())
    opened = opening(f, footprint)
    for lam in (size, size - 2):
        assert bool((opened <= area_opening(f, lam)).all())
    assert bool((opened < area_opening(f, size)).any())  # and it is not the same filter


def test_threshold_above_the_image_size_flattens_to_the_minimum():
    x = torch.rand(4, 5) + 1.0
    assert torch.equal(area_opening(x, 100), torch.full_like(x, float(x.min())))


def test_batched_dtypes_and_layouts():
    g = torch.Generator().manual_seed(2)
    x = torch.randint(0, 9, (2, 3, 11, 13), generator=g)
    out = area_opening(x, 6)
    assert out.shape == x.shape and out.dtype == torch.int64
    for i in range(2):
        for j in range(3):
            assert torch.equal(out[i, j], area_opening(x[i, j], 6))
    assert area_opening(torch.zeros(0, 5, 5), 3).shape == (0, 5, 5)
    for dtype in (torch.uint8, torch.int16, torch.float16, torch.float64):
        y = area_closing(x[0, 0].to(dtype), 6)
        assert y.dtype == dtype and torch.equal(y.to(torch.int64), area_closing(x[0, 0], 6))
    nc = x[0, 0].t()  # non-contiguous
    assert torch.equal(area_opening(nc, 6), area_opening(nc.contiguous(), 6))
    signed = x[0, 0] - 4  # negative values, inverted exactly
    assert torch.equal(area_closing(signed, 6), area_closing(x[0, 0], 6) - 4)


def test_binary_image_removes_small_objects():
    img = np.zeros((10, 10), bool)
    img[1:3, 1:3] = True  # 4 pixels
    img[5:9, 5:9] = True  # 16 pixels
    out = area_opening(_t(img), 5)
    assert out.dtype == torch.bool
    np.testing.assert_array_equal(out.numpy(), skm.area_opening(img.astype(np.uint8), 5) > 0)
    assert int(out.sum()) == 16


def test_input_is_not_modified():
    x = torch.rand(8, 8)
    before = x.clone()
    area_opening(x, 4)
    area_closing(x, 4)
    assert torch.equal(x, before)


@pytest.mark.parametrize("bad", [0, -3, float("nan")])
def test_non_positive_threshold_is_refused(bad):
    with pytest.raises(ValueRangeError, match="threshold"):
        attribute_filter(torch.rand(5, 5), "area", bad)
    with pytest.raises(ValueRangeError, match="area_threshold"):
        area_opening(torch.rand(5, 5), bad)
    with pytest.raises(ValueRangeError, match="area_threshold"):
        area_closing(torch.rand(5, 5), bad)
    with pytest.raises(ValueRangeError, match="diameter_threshold"):
        diameter_opening(torch.rand(5, 5), bad)


def test_bad_inputs():
    with pytest.raises(ValueRangeError, match="attribute"):
        attribute_filter(torch.rand(5, 5), "perimeter", 3)
    with pytest.raises(ValueRangeError, match="mode"):
        attribute_filter(torch.rand(5, 5), "area", 3, mode="tophat")
    with pytest.raises(ShapeError, match="image"):
        area_opening(torch.rand(7), 3)
    with pytest.raises(ShapeError, match="image"):
        area_opening(torch.rand(3, 0), 3)
    with pytest.raises(ValueRangeError, match="image"):
        area_opening(torch.tensor([[1.0, float("inf")]]), 3)
    with pytest.raises(ValueRangeError, match="connectivity"):
        area_closing(torch.rand(5, 5), 3, connectivity=4)
