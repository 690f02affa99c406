import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pixlearn.data import sample
from pixlearn.measure import chain_code, chain_code_difference, shape_number, trace_boundary
from pixlearn.segmentation import label, threshold_otsu

# (d_row, d_col) of each code, counter-clockwise from east
STEPS = {
    8: torch.tensor([[0, 1], [-1, 1], [-1, 0], [-1, -1], [0, -1], [1, -1], [1, 0], [1, 1]]),
    4: torch.tensor([[0, 1], [-1, 0], [0, -1], [1, 0]]),
}


def _blob(seed, connectivity=8, size=32, cut=0.55):
    """A random smooth blob: the component (at ``connectivity``) of its top-left pixel."""
    g = torch.Generator().manual_seed(seed)
    x = F.interpolate(torch.rand(1, 1, 8, 8, generator=g), size=(size, size), mode="bilinear")
    m = x[0, 0] > cut
    lab = label(m, connectivity=1 if connectivity == 4 else 2)
    return lab == lab[m][0] if m.any() else m


def _blobs(connectivity):
    return [b for b in (_blob(s, connectivity) for s in range(40)) if b.sum() > 1]


def test_square_by_hand():
    m = torch.zeros(6, 6, dtype=torch.bool)
    m[1:4, 2:5] = True  # a 3x3 square, top-left pixel (1, 2)
    assert trace_boundary(m)[0].tolist() == [1, 2]
    # clockwise as seen: east, east, south, south, west, west, north, north
    assert chain_code(m).tolist() == [0, 0, 6, 6, 4, 4, 2, 2]
    assert chain_code(m, connectivity=4).tolist() == [0, 0, 3, 3, 2, 2, 1, 1]
    # a square turns by 90 degrees (2 steps of 45, 1 step of 90) at each corner
    assert chain_code_difference(chain_code(m), 8).tolist() == [6, 0, 6, 0, 6, 0, 6, 0]
    assert shape_number(chain_code(m, connectivity=4), 4).tolist() == [0, 3, 0, 3, 0, 3, 0, 3]


def test_diagonal_steps_with_8_and_staircase_with_4():
    m = torch.eye(3, dtype=torch.bool)  # a diagonal line, walked down and back up
    assert chain_code(m).tolist() == [7, 7, 3, 3]
    tri = torch.tril(torch.ones(3, 3, dtype=torch.bool))
    assert chain_code(tri, connectivity=4).tolist() == [3, 0, 3, 0, 2, 2, 1, 1]
    assert trace_boundary(tri, connectivity=4).tolist() == [
        [0, 0], [1, 0], [1, 1], [2, 1], [2, 2], [2, 1], [2, 0], [1, 0]
    ]  # fmt: skip


def test_trace_equals_opencv_suzuki_outer_contour():
    # OpenCV traces the same pixels from the same start, in the other direction
    masks = _blobs(8)
    coins = sample("coins", dtype=torch.float64)
    coins = coins if coins.dim() == 2 else coins[0]
    lab = label(coins > threshold_otsu(coins), connectivity=2)
    masks += [lab == i for i in (1, 5, 17, 40)]
    for m in masks:
        ours = trace_boundary(m).numpy()
        cs, _ = cv2.findContours(
            m.numpy().astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE
        )
        assert len(cs) == 1
        ref = cs[0][:, 0, ::-1]  # (K, 2) (x, y) -> (row, col)
        np.testing.assert_array_equal(ours, np.roll(ref[::-1], 1, axis=0))


@pytest.mark.parametrize("connectivity", [4, 8])
def test_code_reconstructs_the_traced_pixels(connectivity):
    for m in _blobs(connectivity):
        pts = trace_boundary(m, connectivity=connectivity)
        code = chain_code(m, connectivity=connectivity)
        assert code.dtype == torch.int64 and code.shape == (len(pts),)
        walk = pts[0] + torch.cumsum(STEPS[connectivity][code], 0)  # (K, 2)
        assert torch.equal(walk[:-1], pts[1:])
        assert torch.equal(walk[-1], pts[0])  # the code closes the boundary
        assert bool(m[pts[:, 0], pts[:, 1]].all())
        # the coordinate form gives the same code
        assert torch.equal(chain_code(pts, connectivity=connectivity), code)


@pytest.mark.parametrize("connectivity", [4, 8])
def test_traced_pixels_are_the_outer_boundary(connectivity):
    # every object pixel touching the outside background (through a 4- or 8-neighbour) is
    # visited; for 8-connected tracing the border is the 4-adjacent one and vice versa
    for m in _blobs(connectivity):
        pad = F.pad(m[None, None].float(), (1, 1, 1, 1))[0, 0] > 0
        outside = label(~pad, connectivity=2 if connectivity == 4 else 1)
        bg = outside == outside[0, 0]  # the background outside the object (not its holes)
        if connectivity == 4:  # 8-neighbours of the outside
            near = F.max_pool2d(bg[None, None].float(), 3, 1, 1)[0, 0] > 0
        else:  # 4-neighbours of the outside
            near = bg.clone()
            near[1:] |= bg[:-1]
            near[:-1] |= bg[1:]
            near[:, 1:] |= bg[:, :-1]
            near[:, :-1] |= bg[:, 1:]
        expected = {tuple(p) for p in torch.nonzero(near[1:-1, 1:-1] & m).tolist()}
        pts = trace_boundary(m, connectivity=connectivity)
        assert {tuple(p) for p in pts.tolist()} == expected


@pytest.mark.parametrize("connectivity", [4, 8])
def test_shape_number_is_invariant_to_90_degree_rotations(connectivity):
    for m in _blobs(connectivity)[:20]:
        sn = shape_number(chain_code(m, connectivity=connectivity), connectivity)
        for k in (1, 2, 3):
            rotated = torch.rot90(m, k)
            code = chain_code(rotated, connectivity=connectivity)
            assert torch.equal(shape_number(code, connectivity), sn)
            # the codes themselves rotate: k quarter turns add k * n / 4 to every code (mod n),
            # and the trace starts elsewhere on the same cycle
            turned = ((chain_code(m, connectivity=connectivity) + k * connectivity // 4)
                      % connectivity).tolist()  # fmt: skip
            assert any(turned[i:] + turned[:i] == code.tolist() for i in range(len(turned)))


def test_shape_number_is_the_least_rotation_and_ignores_the_start():
    g = torch.Generator().manual_seed(5)
    for _ in range(200):
        code = torch.randint(0, 4, (int(torch.randint(1, 12, (1,), generator=g)),), generator=g)
        diff = chain_code_difference(code, 4).tolist()
        brute = min(diff[i:] + diff[:i] for i in range(len(diff)))
        assert shape_number(code, 4).tolist() == brute
        start = int(torch.randint(0, len(code), (1,), generator=g))
        assert torch.equal(shape_number(code.roll(start), 4), shape_number(code, 4))


def test_first_difference_example_and_rotation_of_codes():
    code = torch.tensor([1, 0, 1, 0, 3, 3, 2, 2])  # Gonzalez & Woods' example
    assert chain_code_difference(code, 4).tolist() == [3, 3, 1, 3, 3, 0, 3, 0]
    assert torch.equal(chain_code_difference((code + 1) % 4, 4), chain_code_difference(code, 4))


def test_single_pixel_and_empty_code():
    m = torch.zeros(3, 3, dtype=torch.bool)
    m[1, 1] = True
    assert trace_boundary(m).tolist() == [[1, 1]]
    assert chain_code(m).numel() == 0
    assert shape_number(chain_code(m)).numel() == 0


def test_only_the_top_left_component_is_traced_and_non_contiguous_mask():
    m = torch.zeros(8, 8, dtype=torch.bool)
    m[1:3, 1:3] = True
    m[5:7, 5:7] = True
    assert len(trace_boundary(m)) == 4
    t = m.t().contiguous().t()
    assert torch.equal(chain_code(m.t()), chain_code(t.t().contiguous()))


@pytest.mark.parametrize(
    ("fn", "args", "kwargs", "error", "match"),
    [
        (chain_code, (torch.zeros(4, 4, dtype=torch.bool),), {}, ValueError, "mask.*True"),
        (chain_code, (torch.ones(4, 4),), {}, TypeError, "binary_or_boundary"),
        (chain_code, (torch.ones(2, 4, 4, dtype=torch.bool),), {}, ValueError, "mask.*2-D"),
        (chain_code, (torch.ones(4, 4, dtype=torch.bool),), {"connectivity": 6}, ValueError,
         "connectivity"),
        (chain_code, (torch.tensor([[0, 0], [0, 2]]),), {}, ValueError, "neighbours"),
        (chain_code, (torch.tensor([[0, 0], [1, 1]]),), {"connectivity": 4}, ValueError,
         "4-neighbours"),
        (chain_code, (np.ones((3, 3), bool),), {}, TypeError, "binary_or_boundary"),
        (trace_boundary, (torch.ones(3, 3, dtype=torch.uint8),), {}, TypeError, "mask.*bool"),
        (chain_code_difference, (torch.tensor([0, 8]),), {}, ValueError, "code"),
        (chain_code_difference, (torch.tensor([0.0, 1.0]),), {}, TypeError, "code"),
        (shape_number, (torch.tensor([0, 1]), 5), {}, ValueError, "connectivity"),
        (shape_number, (torch.tensor([[0, 1]]),), {}, TypeError, "code"),
    ],
)  # fmt: skip
def test_bad_input(fn, args, kwargs, error, match):
    with pytest.raises(error, match=match):
        fn(*args, **kwargs)
