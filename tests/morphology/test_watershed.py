import heapq
from collections import deque

import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.data
import skimage.segmentation as sks
import torch

from pixlearn.morphology import watershed

_OFFSETS = {
    1: [(-1, 0), (0, -1), (0, 1), (1, 0)],
    2: [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)],
}


def _spaced_markers(rng, h, w, n):
    """Point markers at Chebyshev distance >= 3, so no pixel touches two of them."""
    markers, points = np.zeros((h, w), np.int64), []
    for _ in range(n):
        p = rng.integers(0, [h, w])
        if all(max(abs(p[0] - q[0]), abs(p[1] - q[1])) >= 3 for q in points):
            points.append(p)
    for i, p in enumerate(points):
        markers[p[0], p[1]] = i + 1
    return markers


def _ours(img, markers=None, mask=None, **kw):
    t = lambda a: None if a is None else torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
    return watershed(t(img), t(markers), t(mask), **kw).numpy()


@pytest.mark.parametrize("line", [False, True])
@pytest.mark.parametrize("connectivity", [1, 2])
def test_equals_skimage_on_plateau_free_random_images(connectivity, line):
    rng = np.random.default_rng(10 * connectivity + line)
    for case in range(40):
        h, w = rng.integers(2, 24, size=2)
        img = rng.random((h, w))  # distinct values: no plateau
        markers = _spaced_markers(rng, h, w, int(rng.integers(1, 6)))
        mask = rng.random((h, w)) < 0.85 if case % 2 else None
        ref = sks.watershed(img, markers, connectivity=connectivity, mask=mask, watershed_line=line)
        out = _ours(img, markers, mask, connectivity=connectivity, watershed_line=line)
        np.testing.assert_array_equal(out, ref, err_msg=f"case {case}")


@pytest.mark.parametrize("connectivity", [1, 2])
def test_markers_none_are_the_labelled_regional_minima(connectivity):
    rng = np.random.default_rng(connectivity)
    for _ in range(10):
        img = ndi.gaussian_filter(rng.random((30, 40)), 1.5)
        ref = sks.watershed(img, connectivity=connectivity)
        np.testing.assert_array_equal(_ours(img, connectivity=connectivity), ref)


@pytest.mark.parametrize("line", [False, True])
def test_equals_skimage_on_a_sample_image(line):
    cam = skimage.data.camera()[::4, ::4].astype(np.float64)
    rng = np.random.default_rng(0)
    relief = ndi.gaussian_gradient_magnitude(cam, 2.0) + 1e-6 * rng.random(cam.shape)
    markers = _spaced_markers(rng, *cam.shape, 60)
    ref = sks.watershed(relief, markers, watershed_line=line)
    np.testing.assert_array_equal(_ours(relief, markers, watershed_line=line), ref)


def _plateau_distance(img, mask, seeds, conn):
    """Slow BFS: distance inside each plateau to its lower border (or a marker)."""
    h, w = img.shape
    dist = np.full((h, w), -1)
    queue = deque()

    def neighbours(i, j):
        for dy, dx in _OFFSETS[conn]:
            y, x = i + dy, j + dx
            if 0 <= y < h and 0 <= x < w and mask[y, x]:
                yield y, x

    for i in range(h):
        for j in range(w):
            if mask[i, j] and (
                seeds[i, j] or any(img[y, x] < img[i, j] for y, x in neighbours(i, j))
            ):
                dist[i, j] = 0
                queue.append((i, j))
    while queue:
        i, j = queue.popleft()
        for y, x in neighbours(i, j):
            if dist[y, x] < 0 and img[y, x] == img[i, j]:
                dist[y, x] = dist[i, j] + 1
                queue.append((y, x))
    return np.where(dist < 0, 0, dist)


def _heap_flood(img, markers, mask, conn):
    """Meyer's flooding with a Python heap, keyed by the documented strict order."""
    h, w = img.shape
    d = _plateau_distance(img, mask, markers > 0, conn)
    out = markers * mask
    heap = [(img[i, j], d[i, j], i * w + j, 0) for i, j in zip(*np.nonzero(out), strict=True)]
    heapq.heapify(heap)
    while heap:
        _, _, p, _ = heapq.heappop(heap)
        i, j = divmod(p, w)
        for dy, dx in _OFFSETS[conn]:
            y, x = i + dy, j + dx
            if 0 <= y < h and 0 <= x < w and mask[y, x] and not out[y, x]:
                out[y, x] = out[i, j]
                heapq.heappush(heap, (img[y, x], d[y, x], y * w + x, 0))
    return out


@pytest.mark.parametrize("connectivity", [1, 2])
def test_plateaus_follow_the_documented_tie_rule(connectivity):
    rng = np.random.default_rng(3)
    for case in range(25):
        h, w = rng.integers(2, 20, size=2)
        img = rng.integers(0, 4, size=(h, w)).astype(np.uint8)  # many plateaus
        markers = _spaced_markers(rng, h, w, int(rng.integers(1, 5)))
        mask = rng.random((h, w)) < 0.9 if case % 2 else np.ones((h, w), bool)
        ref = _heap_flood(img, markers, mask, connectivity)
        out = _ours(img, markers, mask, connectivity=connectivity)
        np.testing.assert_array_equal(out, ref, err_msg=f"case {case}")


def test_a_flat_plateau_is_split_half_way_as_in_skimage():
    img = np.zeros((5, 12))
    markers = np.zeros((5, 12), np.int64)
    markers[2, 0], markers[2, 11] = 1, 2
    out = _ours(img, markers)
    np.testing.assert_array_equal(out, sks.watershed(img, markers))
    assert (out[:, :6] == 1).all() and (out[:, 6:] == 2).all()


def test_every_region_is_connected_and_holds_its_marker():
    rng = np.random.default_rng(5)
    img = ndi.gaussian_filter(rng.random((40, 50)), 2.0)
    markers = _spaced_markers(rng, 40, 50, 12)
    out = _ours(img, markers, connectivity=2)
    assert (out > 0).all()  # no mask, no lines: every pixel is flooded
    for lab in np.unique(markers[markers > 0]):
        region = out == lab
        assert region[markers == lab].all()
        assert ndi.label(region, np.ones((3, 3)))[1] == 1


def test_lines_separate_regions():
    rng = np.random.default_rng(6)
    img = ndi.gaussian_filter(rng.random((40, 50)), 2.0)
    markers = _spaced_markers(rng, 40, 50, 12)
    out = _ours(img, markers, watershed_line=True)
    no_line = _ours(img, markers)
    # line pixels aside, the labels are those of the flooding without lines
    np.testing.assert_array_equal(out[out > 0], no_line[out > 0])
    assert (out == 0).any()


def test_outside_the_mask_and_unreachable_pixels_are_zero():
    img = torch.rand(6, 9, dtype=torch.float64)
    mask = torch.ones(6, 9, dtype=torch.bool)
    mask[:, 4] = False  # a wall: the right half holds no marker
    markers = torch.zeros(6, 9, dtype=torch.int64)
    markers[2, 1] = 7
    out = watershed(img, markers, mask)
    assert (out[:, :4] == 7).all() and (out[:, 4:] == 0).all()


def test_batched_equals_per_item_and_layouts_agree():
    rng = np.random.default_rng(7)
    img = torch.from_numpy(rng.random((3, 16, 20)))
    markers = torch.from_numpy(np.stack([_spaced_markers(rng, 16, 20, 5) for _ in range(3)]))
    out = watershed(img, markers, connectivity=2)
    assert out.dtype == torch.int64 and out.shape == img.shape
    for i in range(3):
        assert torch.equal(out[i], watershed(img[i], markers[i], connectivity=2))
    t = watershed(img.transpose(1, 2), markers.transpose(1, 2), connectivity=2)
    assert torch.equal(
        t,
        watershed(
            img.transpose(1, 2).contiguous(), markers.transpose(1, 2).contiguous(), connectivity=2
        ),
    )


def test_integer_and_float_reliefs_with_the_same_order_agree():
    rng = np.random.default_rng(8)
    img = rng.permutation(400).reshape(20, 20)
    markers = _spaced_markers(rng, 20, 20, 6)
    a = _ours(img.astype(np.int32), markers)
    b = _ours(img.astype(np.float64) / 400, markers)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, sks.watershed(img, markers))


def test_inputs_are_not_modified():
    img = torch.rand(8, 8)
    markers = torch.zeros(8, 8, dtype=torch.int64)
    markers[1, 1], markers[6, 6] = 1, 2
    before = img.clone(), markers.clone()
    watershed(img, markers, watershed_line=True)
    assert torch.equal(img, before[0]) and torch.equal(markers, before[1])


def test_negative_markers_are_refused():
    markers = torch.zeros(5, 5, dtype=torch.int64)
    markers[0, 0] = -1
    with pytest.raises(ValueError, match="markers"):
        watershed(torch.rand(5, 5), markers)


def test_float_markers_are_refused():
    with pytest.raises(TypeError, match="markers"):
        watershed(torch.rand(5, 5), torch.zeros(5, 5))


def test_mask_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="mask"):
        watershed(torch.rand(5, 5), torch.ones(5, 5, dtype=torch.int64), torch.ones(5, 4).bool())


def test_markers_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="markers"):
        watershed(torch.rand(5, 5), torch.ones(4, 5, dtype=torch.int64))


def test_non_binary_mask_is_refused():
    with pytest.raises(ValueError, match="mask"):
        watershed(torch.rand(5, 5), None, torch.full((5, 5), 2))


@pytest.mark.parametrize("shape", [(0, 5), (4, 0)])
def test_empty_image_is_refused(shape):
    with pytest.raises(ValueError, match="image"):
        watershed(torch.rand(shape))


def test_nan_and_bad_connectivity_and_too_many_dims_are_refused():
    bad = torch.rand(4, 4)
    bad[1, 1] = float("nan")
    with pytest.raises(ValueError, match="image"):
        watershed(bad)
    with pytest.raises(ValueError, match="connectivity"):
        watershed(torch.rand(4, 4), connectivity=3)
    with pytest.raises(ValueError, match="image"):
        watershed(torch.rand(2, 2, 4, 4))


@pytest.mark.parametrize("connectivity", [1, 2])
def test_equal_values_that_do_not_touch_are_ranked_by_index(connectivity):
    # four colour classes on 2x2 cells: no two neighbours (8-connected) are equal, yet
    # many pixels share a value, so the fast sort's ties must be re-ranked by index
    rng = np.random.default_rng(11)
    for case in range(20):
        h, w = rng.integers(2, 20, size=2)
        ii, jj = np.indices((h, w))
        img = 4 * rng.integers(0, 5, size=(h, w)) + 2 * (ii % 2) + jj % 2
        markers = _spaced_markers(rng, h, w, int(rng.integers(1, 5)))
        mask = rng.random((h, w)) < 0.9 if case % 2 else np.ones((h, w), bool)
        ref = _heap_flood(img, markers, mask, connectivity)
        out = _ours(img, markers, mask, connectivity=connectivity)
        np.testing.assert_array_equal(out, ref, err_msg=f"case {case}")
