import math

import pytest
import torch

from pixlearn.ops import AnchorGenerator


def _slow_anchors(image_size, feature_shapes, sizes, ratios):
    """One anchor at a time: torchvision's definition (ratio-major base anchors, rounded half to
    even, shifted to the top-left corner of each cell, row by row)."""
    out = []
    for (fh, fw), ss, rs in zip(feature_shapes, sizes, ratios, strict=True):
        sy, sx = image_size[0] // fh, image_size[1] // fw
        base = []
        for r in rs:
            for s in ss:
                w, h = s / math.sqrt(r), s * math.sqrt(r)
                base.append([round(-w / 2), round(-h / 2), round(w / 2), round(h / 2)])
        level = []
        for i in range(fh):
            for j in range(fw):
                for x1, y1, x2, y2 in base:
                    level.append([x1 + j * sx, y1 + i * sy, x2 + j * sx, y2 + i * sy])
        out.append(torch.tensor(level, dtype=torch.float64).reshape(-1, 4))
    return out


CASES = [
    # (image size, feature shapes, sizes, aspect ratios)
    ((64, 64), [(8, 8)], ((16, 32, 48),), ((0.5, 1.0, 2.0),)),
    ((96, 160), [(12, 20), (6, 10), (3, 5)], ((32,), (64,), (128,)), ((0.5, 1.0, 2.0),) * 3),
    ((100, 75), [(13, 9), (7, 5)], ((20, 25.5), (50,)), ((1 / 3, 1.0, 3.0, 0.7), (1.0,))),
    ((5, 7), [(5, 7), (1, 1)], ((2,), (9,)), ((1.0, 2.5),) * 2),
]


@pytest.mark.parametrize(("image_size", "shapes", "sizes", "ratios"), CASES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_equals_slow_loop(image_size, shapes, sizes, ratios, dtype):
    gen = AnchorGenerator(sizes, ratios)
    got = gen(image_size, shapes, dtype=dtype)
    want = _slow_anchors(image_size, shapes, sizes, ratios)
    assert len(got) == len(shapes)
    for g, w, (fh, fw), a in zip(got, want, shapes, gen.num_anchors_per_location(), strict=True):
        assert g.dtype == dtype and g.shape == (fh * fw * a, 4)
        assert torch.equal(g.double(), w)


def test_area_and_aspect_ratio_within_rounding():
    sizes, ratios = (16, 32, 64, 128, 256, 512), (0.25, 0.5, 1.0, 2.0, 4.0)
    gen = AnchorGenerator((sizes,), (ratios,))
    base = gen.base_anchors(0, dtype=torch.float64)  # (A, 4), ratio-major
    w, h = base[:, 2] - base[:, 0], base[:, 3] - base[:, 1]
    s = torch.tensor(sizes, dtype=torch.float64).repeat(len(ratios))
    r = torch.tensor(ratios, dtype=torch.float64).repeat_interleave(len(sizes))
    # w = s / sqrt(r), h = s sqrt(r), each rounded to an even integer: within 1 pixel
    assert ((w - s / r.sqrt()).abs() <= 1).all() and ((h - s * r.sqrt()).abs() <= 1).all()
    assert (w % 2 == 0).all() and (h % 2 == 0).all()
    # hence area ~ s^2 and h / w ~ r, to the first order in 1 / w + 1 / h
    tol = 1 / w + 1 / h + 1 / (w * h)
    assert ((w * h / s**2 - 1).abs() <= tol).all()
    assert (((h / w) / r - 1).abs() <= tol).all()
    # base anchors are centred at 0; for ratio 1 and an even size the area is exact
    assert torch.equal(base[:, :2], -base[:, 2:])
    sq = r == 1
    assert torch.equal(w[sq] * h[sq], s[sq] ** 2)


def test_centres_lie_on_the_stride_grid_location_major():
    gen = AnchorGenerator(((16, 40),), ((0.5, 1.0, 2.0),))
    (anchors,) = gen((100, 130), [(9, 11)], dtype=torch.float64)
    a = gen.num_anchors_per_location()[0]
    grid = anchors.reshape(9, 11, a, 4)  # location-major, then anchor
    cx = (grid[..., 0] + grid[..., 2]) / 2
    cy = (grid[..., 1] + grid[..., 3]) / 2
    stride_y, stride_x = 100 // 9, 130 // 11
    j = torch.arange(11, dtype=torch.float64)[None, :, None]
    i = torch.arange(9, dtype=torch.float64)[:, None, None]
    assert torch.equal(cx, (j * stride_x).expand_as(cx))
    assert torch.equal(cy, (i * stride_y).expand_as(cy))
    # every location holds the same A base anchors
    base = gen.base_anchors(0, dtype=torch.float64)
    jx, iy = torch.broadcast_tensors(j * stride_x, i * stride_y)  # (9, 11, 1) each
    shifted = grid - torch.stack([jx, iy, jx, iy], -1)  # (9, 11, A, 4) - (9, 11, 1, 4)
    assert torch.equal(shifted, base.expand_as(grid))


def test_default_is_fpn_and_counts():
    gen = AnchorGenerator()
    assert gen.num_anchors_per_location() == [3] * 5
    shapes = [(200 // s, 304 // s) for s in (4, 8, 16, 32, 64)]
    anchors = gen((200, 304), shapes)
    assert [len(x) for x in anchors] == [h * w * 3 for h, w in shapes]
    widths = [int((x[:, 2] - x[:, 0]).max()) for x in anchors]  # ratio 0.5 is the widest
    assert widths == [46, 90, 182, 362, 724]
    assert gen.state_dict() == {}


def test_feature_shapes_from_tensors_and_float16():
    feats = [torch.zeros(1, 8, 16, 16), torch.zeros(1, 8, 8, 8)]
    gen = AnchorGenerator(((8,), (16,)), ((1.0,),) * 2)
    a = gen((64, 64), [f.shape[-2:] for f in feats])
    b = gen((64, 64), [(16, 16), (8, 8)], dtype=torch.float16)
    assert [len(x) for x in a] == [256, 64]
    assert b[0].dtype == torch.float16 and torch.equal(b[0].float(), a[0])


def test_module_repr_and_base_anchor_order():
    gen = AnchorGenerator(((10, 20),), ((0.5, 2.0),))
    assert "sizes=((10.0, 20.0),)" in repr(gen)
    base = gen.base_anchors(0, dtype=torch.float64)
    w, h = base[:, 2] - base[:, 0], base[:, 3] - base[:, 1]
    # a = ratio_index * len(sizes) + size_index: (0.5, 10), (0.5, 20), (2, 10), (2, 20)
    assert (h < w)[:2].all() and (h > w)[2:].all() and w[1] > w[0] and h[3] > h[2]


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"sizes": ((32,), (64,)), "aspect_ratios": ((1.0,),)}, ValueError, "aspect_ratios"),
        ({"sizes": ((32, -1),), "aspect_ratios": ((1.0,),)}, ValueError, r"sizes\[0\]\[1\]"),
        ({"sizes": ((32,),), "aspect_ratios": ((0.0,),)}, ValueError, r"aspect_ratios\[0\]\[0\]"),
        ({"sizes": (), "aspect_ratios": ()}, ValueError, "sizes"),
        ({"sizes": ((),), "aspect_ratios": ((1.0,),)}, ValueError, r"sizes\[0\]"),
        ({"sizes": (32,), "aspect_ratios": ((1.0,),)}, TypeError, r"sizes\[0\]"),
        ({"sizes": "32", "aspect_ratios": ((1.0,),)}, TypeError, "sizes"),
    ],
)
def test_bad_options(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        AnchorGenerator(**kwargs)


def test_bad_call_arguments_name_the_argument():
    gen = AnchorGenerator(((8,), (16,)), ((1.0,),) * 2)
    with pytest.raises(ValueError, match=r"image_size"):
        gen((0, 32), [(4, 4), (2, 2)])
    with pytest.raises(ValueError, match=r"image_size"):
        gen((3, 32, 32), [(4, 4), (2, 2)])
    with pytest.raises(TypeError, match=r"image_size"):
        gen((32.0, 32), [(4, 4), (2, 2)])
    with pytest.raises(ValueError, match=r"feature_shapes.*per level"):
        gen((32, 32), [(4, 4)])
    with pytest.raises(ValueError, match=r"feature_shapes\[1\].*exceed"):
        gen((32, 32), [(4, 4), (2, 33)])
    with pytest.raises(ValueError, match=r"feature_shapes\[0\]"):
        gen((32, 32), [(0, 4), (2, 2)])
    with pytest.raises(ValueError, match=r"feature_shapes\[1\]"):
        gen((32, 32), [(4, 4), (2, 2, 2)])
    with pytest.raises(TypeError, match=r"feature_shapes"):
        gen((32, 32), torch.zeros(2, 2))
    with pytest.raises(TypeError, match=r"dtype"):
        gen((32, 32), [(4, 4), (2, 2)], dtype=torch.int64)
    with pytest.raises(ValueError, match=r"level"):
        gen.base_anchors(2)
