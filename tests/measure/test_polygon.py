import itertools

import numpy as np
import pytest
import skimage.measure as skm
import torch

from pixlearn.data import sample
from pixlearn.measure import approximate_polygon, find_contours


def _seg_dist(p, a, b):
    """Slow reference: distance of point p to segment a-b, as Douglas-Peucker measures it."""
    d = b - a
    if np.dot(p - a, d) > 0 and np.dot(p - b, -d) > 0:
        return abs(d[0] * (p[1] - a[1]) - d[1] * (p[0] - a[0])) / np.hypot(*d)
    return min(np.hypot(*(p - a)), np.hypot(*(p - b)))


@pytest.fixture(scope="module")
def coins_contours():
    img = sample("coins", dtype=torch.float64)
    img = img if img.dim() == 2 else img[0]
    return find_contours(img, 0.45)


@pytest.mark.parametrize("tolerance", [0.5, 1.0, 2.5, 8.0])
def test_equals_skimage_on_coins_contours(coins_contours, tolerance):
    for c in coins_contours:
        ours = approximate_polygon(c, tolerance)
        assert ours.dtype == torch.float64
        np.testing.assert_array_equal(ours.numpy(), skm.approximate_polygon(c.numpy(), tolerance))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.int64])
def test_equals_skimage_on_random_chains(dtype):
    g = torch.Generator().manual_seed(0)
    for _ in range(60):
        k = int(torch.randint(1, 50, (1,), generator=g))
        c = (torch.rand(k, 2, generator=g, dtype=torch.float64) * 20).to(dtype)
        for tol in (0.3, 2.0, 6.0):
            ref = skm.approximate_polygon(c.numpy(), tol)
            np.testing.assert_array_equal(approximate_polygon(c, tol).numpy(), ref)


def test_dropped_points_are_within_tolerance_of_their_segment():
    g = torch.Generator().manual_seed(1)
    c = torch.cumsum(torch.randn(300, 2, generator=g, dtype=torch.float64), 0)  # random walk
    tol = 1.5
    kept = approximate_polygon(c, tol)
    idx = [int(torch.nonzero((c == p).all(1))[0, 0]) for p in kept]
    assert idx == sorted(idx) and idx[0] == 0 and idx[-1] == len(c) - 1
    pts = c.numpy()
    for i, j in itertools.pairwise(idx):
        for k in range(i + 1, j):
            assert _seg_dist(pts[k], pts[i], pts[j]) <= tol + 1e-12
    # a smaller tolerance keeps more vertices
    assert len(approximate_polygon(c, 0.5)) > len(kept) > len(approximate_polygon(c, 5.0))


def test_straight_line_and_closed_square():
    line = torch.stack([torch.arange(10.0), 2 * torch.arange(10.0)], 1)
    assert approximate_polygon(line, 0.1).tolist() == [[0.0, 0.0], [9.0, 18.0]]
    square = torch.tensor([[0, 0], [0, 1], [0, 2], [1, 2], [2, 2], [2, 1], [2, 0], [1, 0], [0, 0]])
    out = approximate_polygon(square.double(), 0.5)
    assert out.tolist() == [[0, 0], [0, 2], [2, 2], [2, 0], [0, 0]]


def test_non_positive_tolerance_and_short_chains_return_a_copy():
    c = torch.rand(6, 2)
    for tol in (0.0, -1.0):
        out = approximate_polygon(c, tol)
        assert torch.equal(out, c) and out.data_ptr() != c.data_ptr()
    assert torch.equal(approximate_polygon(c[:2], 1.0), c[:2])


def test_non_contiguous_input():
    g = torch.Generator().manual_seed(2)
    c = torch.rand(2, 40, generator=g, dtype=torch.float64) * 10
    assert torch.equal(
        approximate_polygon(c.t(), 1.0), approximate_polygon(c.t().contiguous(), 1.0)
    )


@pytest.mark.parametrize(
    ("coords", "tol", "error", "match"),
    [
        (torch.rand(5, 3), 1.0, ValueError, "coords.*\\(K, 2\\)"),
        (torch.rand(5), 1.0, ValueError, "coords"),
        (torch.tensor([[0.0, float("nan")], [1.0, 1.0]]), 1.0, ValueError, "coords.*finite"),
        (torch.rand(5, 2), float("inf"), ValueError, "tolerance"),
        (torch.ones(5, 2, dtype=torch.bool), 1.0, TypeError, "coords"),
        (np.zeros((5, 2)), 1.0, TypeError, "coords"),
    ],
)
def test_bad_input(coords, tol, error, match):
    with pytest.raises(error, match=match):
        approximate_polygon(coords, tol)
