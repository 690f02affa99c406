import numpy as np
import pytest
import skimage.measure as skm
import torch

from pixlearn.data import sample
from pixlearn.measure import find_contours


def _assert_same(ours, ref):
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref, strict=True):
        assert a.dtype == torch.float64
        assert a.shape == b.shape
        np.testing.assert_allclose(a.numpy(), b, rtol=0, atol=1e-10)


@pytest.fixture(scope="module")
def camera():
    img = sample("camera", dtype=torch.float64)
    return img if img.dim() == 2 else img[0]


@pytest.mark.parametrize("fully_connected", ["low", "high"])
@pytest.mark.parametrize("positive_orientation", ["low", "high"])
def test_equals_skimage_on_random_images(fully_connected, positive_orientation):
    g = torch.Generator().manual_seed(0)
    kw = {"fully_connected": fully_connected, "positive_orientation": positive_orientation}
    for shape in [(2, 2), (2, 9), (9, 2), (17, 23), (40, 31)]:
        img = torch.rand(shape, generator=g, dtype=torch.float64)
        for level in (0.3, 0.5, None):
            ours = find_contours(img, level, **kw)
            _assert_same(ours, skm.find_contours(img.numpy(), level, **kw))


@pytest.mark.parametrize("fully_connected", ["low", "high"])
def test_equals_skimage_with_pixels_exactly_at_the_level(fully_connected):
    # integer plateaus: many corners equal the level, many saddles, degenerate segments
    g = torch.Generator().manual_seed(1)
    img = torch.randint(0, 3, (30, 27), generator=g)
    for level in (0.5, 1.0, 2.0):
        ours = find_contours(img, level, fully_connected=fully_connected)
        ref = skm.find_contours(img.numpy().astype(float), level, fully_connected=fully_connected)
        _assert_same(ours, ref)


def test_equals_skimage_on_camera(camera):
    for level in (0.25, 0.5, None):
        _assert_same(find_contours(camera, level), skm.find_contours(camera.numpy(), level))


def test_float32_default_level_equals_skimage(camera):
    cam32 = camera[100:200, 150:260].float()
    _assert_same(find_contours(cam32), skm.find_contours(cam32.numpy()))


def test_nan_cells_are_skipped_as_in_skimage():
    g = torch.Generator().manual_seed(2)
    img = torch.rand(20, 20, generator=g, dtype=torch.float64)
    img[5:8, 4] = float("nan")
    img[12, 12] = float("nan")
    _assert_same(find_contours(img, 0.5), skm.find_contours(img.numpy(), 0.5))


def test_points_lie_on_the_level_and_closed_curves_close():
    g = torch.Generator().manual_seed(3)
    img = torch.rand(25, 25, generator=g, dtype=torch.float64)
    level = 0.42
    for c in find_contours(img, level):
        r, col = c[:, 0], c[:, 1]
        # each point sits on a cell edge: one coordinate is integral, interpolate along the other
        on_row = r == r.round()
        r0 = torch.where(on_row, r, r.floor()).long()
        c0 = torch.where(on_row, col.floor(), col).long()
        t = torch.where(on_row, col - c0, r - r0)
        r1 = torch.where(on_row, r0, (r0 + 1).clamp(max=24))
        c1 = torch.where(on_row, (c0 + 1).clamp(max=24), c0)
        value = (1 - t) * img[r0, c0] + t * img[r1, c1]
        np.testing.assert_allclose(value.numpy(), level, atol=1e-12)
        # an open contour ends on the image border
        if not torch.equal(c[0], c[-1]):
            for end in (c[0], c[-1]):
                assert end[0] in (0, 24) or end[1] in (0, 24)


def test_orientation_high_is_the_reverse_of_low():
    img = torch.zeros(7, 7, dtype=torch.float64)
    img[2:5, 2:5] = 1.0
    (low,) = find_contours(img, 0.5)
    (high,) = find_contours(img, 0.5, positive_orientation="high")
    assert torch.equal(high, low.flip(0))
    # "low": counter-clockwise around low values, i.e. clockwise (as seen) around the bright
    # square: negative shoelace area with x = col, y = -row
    x, y = low[:, 1], -low[:, 0]
    area = 0.5 * (x[:-1] * y[1:] - x[1:] * y[:-1]).sum()
    # the square [1.5, 4.5]^2 of side 3 with its four corners cut by triangles of area 1/8
    assert area.item() == pytest.approx(-(9 - 4 / 8), abs=1e-12)


def test_integer_and_non_contiguous_inputs():
    g = torch.Generator().manual_seed(4)
    img = torch.randint(0, 5, (31, 22), generator=g)
    ref = find_contours(img.double(), 2.5)
    _assert_same(find_contours(img, 2.5), [c.numpy() for c in ref])
    t = img.double().t().contiguous().t()  # same values, transposed strides
    assert not t.is_contiguous()
    _assert_same(find_contours(t, 2.5), [c.numpy() for c in ref])


def test_constant_image_has_no_contours():
    assert find_contours(torch.ones(5, 6), 0.5) == []
    assert find_contours(torch.ones(5, 6)) == []


@pytest.mark.parametrize(
    ("image", "kwargs", "error", "match"),
    [
        (torch.rand(5), {}, ValueError, "image"),
        (torch.rand(2, 5, 5), {}, ValueError, "image.*2-D"),
        (torch.rand(1, 5), {}, ValueError, "image.*2x2"),
        (torch.rand(0, 5), {}, ValueError, "image"),
        (torch.rand(5, 5), {"fully_connected": "both"}, ValueError, "fully_connected"),
        (torch.rand(5, 5), {"positive_orientation": 1}, ValueError, "positive_orientation"),
        (torch.rand(5, 5), {"level": float("nan")}, ValueError, "level"),
        (np.zeros((5, 5)), {}, TypeError, "image"),
    ],
)
def test_bad_input(image, kwargs, error, match):
    with pytest.raises(error, match=match):
        find_contours(image, **kwargs)
