import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.data
import skimage.morphology as skm
import torch

from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError
from pixlearn.morphology import MaxTree, max_tree


def _random(rng, h, w, kind):
    if kind == "uint8":
        return rng.integers(0, rng.integers(2, 12), (h, w)).astype(np.uint8)
    return rng.random((h, w)).astype(np.float32)


def _reference(img, conn):
    """Slow canonical max-tree from the definition: components of every upper level set."""
    flat = img.ravel()
    levels = np.unique(flat)
    structure = ndi.generate_binary_structure(2, conn)
    labels = [ndi.label(img >= t, structure)[0].ravel() for t in levels]

    def canonical(comp):  # the first pixel (flat order) at the component's own level
        low = flat[comp].min()
        return int(np.flatnonzero(comp & (flat == low))[0])

    parent = np.empty(flat.size, np.int64)
    for p in range(flat.size):
        k = int(np.searchsorted(levels, flat[p]))
        comp = labels[k] == labels[k][p]
        c = canonical(comp)
        if p != c:
            parent[p] = c
            continue
        # the parent node: the first strictly larger component further down
        parent[p] = p
        for j in range(k - 1, -1, -1):
            bigger = labels[j] == labels[j][p]
            if bigger.sum() > comp.sum():
                parent[p] = canonical(bigger)
                break
    return parent


@pytest.mark.parametrize("connectivity", [1, 2])
@pytest.mark.parametrize("kind", ["uint8", "float32"])
def test_equals_skimage_on_random_images(kind, connectivity):
    rng = np.random.default_rng(3)
    for _ in range(6):
        # scikit-image's max_tree mislinks images with fewer than 3 rows or columns, so its
        # comparison stays on >= 3x3 (thin images are checked against the definition below)
        h, w = rng.integers(3, 25, size=2)
        img = _random(rng, h, w, kind)
        tree = max_tree(torch.from_numpy(img), connectivity=connectivity)
        parent, traverser = skm.max_tree(img, connectivity=connectivity)
        np.testing.assert_array_equal(tree.parent.numpy(), parent.ravel())
        np.testing.assert_array_equal(tree.order.numpy(), traverser)


def test_equals_skimage_on_camera():
    cam = skimage.data.camera()[::4, ::4].copy()  # (128, 128) uint8
    tree = max_tree(torch.from_numpy(cam), connectivity=2)
    parent, traverser = skm.max_tree(cam, connectivity=2)
    assert tree.shape == (128, 128)
    np.testing.assert_array_equal(tree.parent.numpy(), parent.ravel())
    np.testing.assert_array_equal(tree.order.numpy(), traverser)


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (7, 1), (2, 6), (5, 2), (6, 7)])
@pytest.mark.parametrize("connectivity", [1, 2])
def test_equals_the_definition_including_thin_images(shape, connectivity):
    rng = np.random.default_rng(sum(shape) + connectivity)
    for kind in ("uint8", "float32"):
        img = _random(rng, *shape, kind)
        tree = max_tree(torch.from_numpy(img), connectivity=connectivity)
        np.testing.assert_array_equal(tree.parent.numpy(), _reference(img, connectivity))


def test_order_is_a_topological_sort():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 6, (30, 40)).astype(np.int16) - 3  # negative values too
    tree = max_tree(torch.from_numpy(img))
    order, parent = tree.order.numpy(), tree.parent.numpy()
    assert sorted(order.tolist()) == list(range(img.size))
    assert bool(np.all(np.diff(img.ravel()[order]) >= 0))
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    root = order[0]
    assert parent[root] == root and int((parent == np.arange(parent.size)).sum()) == 1
    others = order[1:]
    assert bool(np.all(position[parent[others]] < position[others]))
    # a parent is never higher than its child
    assert bool(np.all(img.ravel()[parent] <= img.ravel()))


def test_constant_image_is_one_node():
    tree = max_tree(torch.full((4, 5), 0.5))
    assert tree.parent.tolist() == [0] * 20
    assert tree.parent.dtype == torch.int64 and tree.order.dtype == torch.int64


def test_dtypes_and_layouts_give_the_same_tree():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 5, (9, 11)).astype(np.uint8)
    ref = max_tree(torch.from_numpy(img))
    assert isinstance(ref, MaxTree)
    for x in (
        torch.from_numpy(img).to(torch.float16),
        torch.from_numpy(img).to(torch.float64),
        torch.from_numpy(img).to(torch.int64),
        torch.from_numpy(img.T.copy()).t(),  # non-contiguous
    ):
        tree = max_tree(x)
        assert torch.equal(tree.parent, ref.parent) and torch.equal(tree.order, ref.order)
    binary = torch.from_numpy(img > 2)
    assert torch.equal(max_tree(binary).parent, max_tree(binary.to(torch.uint8)).parent)


def test_input_is_not_modified():
    x = torch.rand(6, 6)
    before = x.clone()
    max_tree(x)
    assert torch.equal(x, before)


@pytest.mark.parametrize("bad", [torch.rand(2, 4, 4), torch.rand(5)])
def test_non_2d_image_is_refused(bad):
    with pytest.raises(ShapeError, match="image"):
        max_tree(bad)


def test_bad_inputs():
    with pytest.raises(ShapeError, match="image"):
        max_tree(torch.zeros(0, 4))
    with pytest.raises(ValueRangeError, match="image"):
        max_tree(torch.tensor([[0.0, float("nan")]]))
    with pytest.raises(ValueRangeError, match="connectivity"):
        max_tree(torch.rand(3, 3), connectivity=3)
    with pytest.raises(ValueRangeError, match="connectivity"):
        max_tree(torch.rand(3, 3), connectivity=0)
    with pytest.raises(WrongTypeError, match="image"):
        max_tree(np.zeros((3, 3)))
