"""The CPU paths of ``label``: two-row strips for masks, union-find helpers, integer images.

Each input is chosen to take a given branch (few or many nodes, few or many trees, a level
sweep or pointer jumping); the branch condition is checked in the test so that a change of
thresholds cannot silently leave a branch untested.
"""

import importlib

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import skimage.measure as skm
import torch

from pixlearn.segmentation import label

_mask = importlib.import_module("pixlearn.segmentation._label_mask")
_union = importlib.import_module("pixlearn.segmentation._label_union")


def _strip_nodes(m: np.ndarray, connectivity: int) -> int:
    """Number of strip nodes of a mask ``(H, W)`` (slow loop, the definition)."""
    h, w = m.shape
    if h % 2:
        m = np.vstack([m, np.zeros((1, w), dtype=bool)])
    count = 0
    for s in range(0, m.shape[0], 2):
        top, bot = m[s], m[s + 1]
        for c in range(w):
            here, left = top[c] or bot[c], c > 0 and (top[c - 1] or bot[c - 1])
            share = c > 0 and ((top[c] and top[c - 1]) or (bot[c] and bot[c - 1]))
            joined = left and (connectivity == 2 or share)
            count += bool(here and not joined)
    return count


def _check(m: torch.Tensor, connectivity: int) -> None:
    ours, num = label(m, connectivity=connectivity, return_num=True)
    ref, ref_num = skm.label(m.numpy(), connectivity=connectivity, return_num=True)
    assert ours.dtype == torch.int64
    np.testing.assert_array_equal(ours.numpy(), ref)
    assert num == ref_num


@pytest.mark.parametrize("connectivity", [1, 2])
@pytest.mark.parametrize("density", [0.1, 0.3, 0.5, 0.7, 0.9])
def test_noise_takes_many_nodes_paths(connectivity, density):
    # many nodes: node_of is rebuilt by blocks when painting, first columns by flatnonzero
    g = torch.Generator().manual_seed(int(100 * density) + 10 * connectivity)
    for shape in [(96, 80), (97, 81), (64, 300)]:  # even and odd heights, wide rows
        m = torch.rand(shape, generator=g) < density
        if density <= 0.7:
            assert _strip_nodes(m.numpy(), connectivity) * 16 > m.numel() // 2
        _check(m, connectivity)


@pytest.mark.parametrize("connectivity", [1, 2])
def test_several_blocks_of_strips(connectivity, monkeypatch):
    # cumulative sums and painting run by blocks of strips: make the blocks small
    monkeypatch.setattr(_mask, "_BLOCK_PIXELS", 1 << 10)
    g = torch.Generator().manual_seed(30 + connectivity)
    for shape, density in [((201, 64), 0.5), ((130, 300), 0.3), ((3, 9, 500), 0.6)]:
        m = torch.rand(shape, generator=g) < density
        strips = m.numel() // shape[-1] // shape[-2] * ((shape[-2] + 1) // 2)
        assert strips > 2 * max(1, (1 << 10) // shape[-1])  # several blocks
        out = label(m, connectivity=connectivity)
        ref = [skm.label(x, connectivity=connectivity) for x in m.reshape(-1, *shape[-2:]).numpy()]
        np.testing.assert_array_equal(out.reshape(-1, *shape[-2:]).numpy(), np.stack(ref))


@pytest.mark.parametrize("connectivity", [1, 2])
def test_blobs_take_few_nodes_and_few_trees_paths(connectivity):
    # large objects: few nodes (paint by np.repeat) and few trees (binary search)
    yy, xx = torch.meshgrid(torch.arange(120), torch.arange(150), indexing="ij")
    m = torch.zeros(120, 150, dtype=torch.bool)
    g = torch.Generator().manual_seed(5)
    for cy, cx, r in torch.randint(5, 145, (12, 3), generator=g).tolist():
        m |= (yy - cy % 120) ** 2 + (xx - cx) ** 2 <= (r % 20 + 4) ** 2
    m[60:, 40:46] = True  # a bar joining some blobs from below: merges across trees
    m[::7, 100:] ^= True  # thin lines cut some objects, start others
    nodes = _strip_nodes(m.numpy(), connectivity)
    assert nodes * 16 < m.numel() // 2
    _check(m, connectivity)
    _check(~m, connectivity)


@pytest.mark.parametrize("connectivity", [1, 2])
def test_few_nodes_but_many_trees(connectivity):
    # rows alternate: every strip is one bottom-only node, each its own tree
    m = torch.zeros(40, 64, dtype=torch.bool)
    m[1::2] = True
    m[5, ::3] = False  # a few gaps: several nodes in that strip
    assert _strip_nodes(m.numpy(), connectivity) * 16 < m.numel() // 2
    _check(m, connectivity)
    _check(m[1:], connectivity)  # shifted by one row: top-only nodes, all one component


@pytest.mark.parametrize("connectivity", [1, 2])
def test_first_pixel_on_the_bottom_row_of_a_strip_is_numbered_later(connectivity):
    # the object at column 0 starts on row 1, the one at column 3 on row 0: it comes first
    m = torch.tensor([[0, 0, 0, 1], [1, 0, 0, 0], [1, 0, 0, 0]], dtype=torch.bool)
    expected = torch.tensor([[0, 0, 0, 1], [2, 0, 0, 0], [2, 0, 0, 0]])
    assert torch.equal(label(m, connectivity=connectivity), expected)
    # a component whose first strip holds two nodes, bottom-only left of a top one
    m = torch.tensor(
        [[0, 0, 0, 1, 0], [1, 0, 0, 1, 0], [1, 1, 1, 1, 0], [0, 0, 0, 0, 1]], dtype=torch.bool
    )
    four = torch.tensor([[0, 0, 0, 1, 0], [1, 0, 0, 1, 0], [1, 1, 1, 1, 0], [0, 0, 0, 0, 2]])
    assert torch.equal(label(m, connectivity=1), four)
    assert torch.equal(label(m, connectivity=2), four.clamp(max=1))


@pytest.mark.parametrize("connectivity", [1, 2])
def test_diagonal_contacts_between_strips(connectivity):
    # every kind of contact across the border of two strips: straight, up-left, up-right,
    # below an empty column from both sides, and a staircase through many strips
    m = torch.zeros(12, 16, dtype=torch.bool)
    m[1, 2] = m[2, 3] = True  # up-left contact
    m[1, 7] = m[2, 6] = True  # up-right contact
    m[1, 10] = m[1, 12] = m[2, 11] = True  # one pixel under an empty column, both sides
    m[torch.arange(3, 12), torch.arange(3, 12)] = True  # staircase
    m[torch.arange(3, 12), 15 - torch.arange(3, 12)] = True  # its mirror
    _check(m, connectivity)
    _check(m.flip(0), connectivity)
    _check(m.flip(1), connectivity)


@pytest.mark.parametrize("connectivity", [1, 2])
def test_batches_of_odd_heights_number_each_image(connectivity):
    g = torch.Generator().manual_seed(21)
    for shape in [(3, 17, 23), (2, 1, 30), (4, 2, 9), (2, 3, 1)]:
        m = torch.rand(shape, generator=g) < 0.5
        m[0] = True  # one image of a single component
        out, num = label(m, connectivity=connectivity, return_num=True)
        for i in range(shape[0]):
            ref, n = skm.label(m[i].numpy(), connectivity=connectivity, return_num=True)
            np.testing.assert_array_equal(out[i].numpy(), ref)
            assert num[i].item() == n


def test_merge_trees_equals_scipy_components():
    rng = np.random.default_rng(0)
    for n, e in [(50, 30), (200, 400), (1000, 900), (7, 0)]:
        u = rng.integers(0, n, e)
        v = rng.integers(0, n, e)
        rep = _union._merge_trees(u, v, n)
        graph = sp.coo_matrix((np.ones(e), (u, v)), shape=(n, n))
        _, comp = csgraph.connected_components(graph, directed=False)
        smallest = np.full(comp.max() + 1, n)
        np.minimum.at(smallest, comp, np.arange(n))
        np.testing.assert_array_equal(rep, smallest[comp])


@pytest.mark.parametrize("levels", [4, 400])
def test_sweep_roots_equals_pointer_jumping(levels):
    # 4 levels of many nodes take the sweep, 400 thin levels pointer jumping
    rng = np.random.default_rng(levels)
    sizes = rng.integers(1, 2000 // levels + 2, levels)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    parent = np.arange(bounds[-1])
    for lvl in range(1, levels):
        lo, hi = bounds[lvl], bounds[lvl + 1]
        has = rng.random(hi - lo) < 0.7
        parent[lo:hi][has] = rng.integers(bounds[lvl - 1], lo, int(has.sum()))
    assert (levels * _union._NODES_PER_LEVEL > parent.size) == (levels == 400)
    expected = parent.copy()
    for _ in range(levels):
        expected = expected[expected]
    _union._sweep_roots(parent, bounds.tolist())
    np.testing.assert_array_equal(parent, expected)


@pytest.mark.parametrize("connectivity", [1, 2])
def test_integer_images_take_row_runs_with_both_sweeps(connectivity):
    g = torch.Generator().manual_seed(23)
    # wide rows: many runs per row (level sweep); a tall thin image: pointer jumping
    for shape in [(30, 200), (300, 2)]:
        x = torch.randint(0, 3, shape, generator=g)
        np.testing.assert_array_equal(
            label(x, connectivity=connectivity).numpy(),
            skm.label(x.numpy(), connectivity=connectivity),
        )


def test_mask_path_does_not_modify_or_keep_the_input():
    g = torch.Generator().manual_seed(24)
    m = torch.rand(33, 40, generator=g) < 0.5
    before = m.clone()
    out = label(m, connectivity=2)
    assert torch.equal(m, before)
    assert not np.shares_memory(out.numpy(), m.numpy())
    assert out.is_contiguous()
    # a view with odd height (padded inside) and a transposed view
    assert torch.equal(
        label(m[:-1].t(), connectivity=2), label(m[:-1].t().contiguous(), connectivity=2)
    )
