import pytest
import torch

from pixlearn.ops import (
    box_area,
    box_convert,
    box_iou,
    clip_boxes,
    generalized_box_iou,
    remove_small_boxes,
)

FORMATS = ["xyxy", "xywh", "cxcywh"]


def _random_boxes(n, *, seed=0, dtype=torch.float64, size=100.0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g, dtype=dtype) * size
    wh = torch.rand(n, 2, generator=g, dtype=dtype) * size / 3
    return torch.cat((xy, xy + wh), dim=1)


def _slow_iou_giou(a, b):
    iou = torch.zeros(len(a), len(b), dtype=torch.float64)
    giou = torch.zeros_like(iou)
    for i, (ax1, ay1, ax2, ay2) in enumerate(a.tolist()):
        for j, (bx1, by1, bx2, by2) in enumerate(b.tolist()):
            inter = max(0.0, min(ax2, bx2) - max(ax1, bx1)) * max(
                0.0, min(ay2, by2) - max(ay1, by1)
            )
            union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
            c = (max(ax2, bx2) - min(ax1, bx1)) * (max(ay2, by2) - min(ay1, by1))
            iou[i, j] = inter / union if union > 0 else 0.0
            giou[i, j] = iou[i, j] - (c - union) / c if c > 0 else 0.0
    return iou, giou


# ---- references ------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "m"), [(1, 1), (7, 5), (20, 33)])
def test_iou_and_giou_match_slow_loops(n, m):
    a, b = _random_boxes(n, seed=n), _random_boxes(m, seed=100 + m)
    iou, giou = _slow_iou_giou(a, b)
    torch.testing.assert_close(box_iou(a, b), iou, rtol=0, atol=1e-12)
    torch.testing.assert_close(generalized_box_iou(a, b), giou, rtol=0, atol=1e-12)
    # float32 within 1e-5
    torch.testing.assert_close(box_iou(a.float(), b.float()).double(), iou, rtol=0, atol=1e-5)


def test_area_and_convert_closed_form():
    b = torch.tensor([[1.0, 2.0, 4.0, 8.0]])
    assert box_area(b).tolist() == [18.0]
    assert box_convert(b, "xyxy", "xywh").tolist() == [[1.0, 2.0, 3.0, 6.0]]
    assert box_convert(b, "xyxy", "cxcywh").tolist() == [[2.5, 5.0, 3.0, 6.0]]
    assert box_convert(torch.tensor([[2.5, 5.0, 3.0, 6.0]]), "cxcywh", "xyxy").tolist() == [
        b[0].tolist()
    ]


# ---- properties ------------------------------------------------------------------------------


@pytest.mark.parametrize("src", FORMATS)
@pytest.mark.parametrize("dst", FORMATS)
def test_convert_round_trips(src, dst):
    b = box_convert(_random_boxes(50), "xyxy", src)
    back = box_convert(box_convert(b, src, dst), dst, src)
    torch.testing.assert_close(back, b, rtol=0, atol=1e-12)
    assert box_convert(b, src, src) is not b


def test_giou_properties():
    a, b = _random_boxes(30, seed=1), _random_boxes(40, seed=2)
    iou, giou = box_iou(a, b), generalized_box_iou(a, b)
    assert bool((giou <= iou + 1e-15).all())
    assert bool((giou >= -1).all()) and bool((giou <= 1).all())
    assert bool((iou >= 0).all()) and bool((iou <= 1).all())
    torch.testing.assert_close(torch.diag(generalized_box_iou(a, a)), torch.ones(30).double())
    torch.testing.assert_close(torch.diag(box_iou(a, a)), torch.ones(30).double())
    # symmetric, and disjoint boxes going apart get a smaller GIoU while IoU stays 0
    torch.testing.assert_close(box_iou(a, b), box_iou(b, a).T, rtol=0, atol=0)
    ref = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    far = torch.tensor([[2.0, 0.0, 3.0, 1.0], [5.0, 0.0, 6.0, 1.0]])
    g = generalized_box_iou(ref, far)
    assert box_iou(ref, far).abs().sum() == 0 and g[0, 1] < g[0, 0] < 0


def test_zero_area_boxes_have_iou_zero():
    pt = torch.tensor([[5.0, 5.0, 5.0, 5.0], [2.0, 2.0, 2.0, 9.0]])
    big = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    assert box_iou(pt, big).tolist() == [[0.0], [0.0]]
    assert box_iou(pt, pt).tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert bool(torch.isfinite(generalized_box_iou(pt, pt)).all())
    assert box_area(pt).tolist() == [0.0, 0.0]


def test_clip_and_remove_small():
    b = torch.tensor([[-5.0, 2.0, 12.0, 30.0], [20.0, 25.0, 30.0, 40.0], [1.0, 1.0, 2.0, 2.5]])
    out = clip_boxes(b, (20, 10))
    assert out.tolist() == [[0.0, 2.0, 10.0, 20.0], [10.0, 20.0, 10.0, 20.0], b[2].tolist()]
    assert b[0, 0] == -5.0  # input untouched
    assert remove_small_boxes(b, 1.0).tolist() == [0, 1, 2]
    assert remove_small_boxes(b, 1.5).tolist() == [0, 1]
    assert remove_small_boxes(out, 1.5).tolist() == [0]
    assert remove_small_boxes(b, 1.5).dtype == torch.int64


# ---- cardinality and layout ------------------------------------------------------------------


def test_empty_and_batched_shapes():
    e = torch.zeros(0, 4)
    assert box_iou(e, _random_boxes(3).float()).shape == (0, 3)
    assert generalized_box_iou(_random_boxes(3).float(), e).shape == (3, 0)
    assert box_area(e).shape == (0,)
    assert remove_small_boxes(e, 1.0).shape == (0,)
    x = _random_boxes(24).reshape(2, 3, 4, 4)
    assert box_area(x).shape == (2, 3, 4)
    assert torch.equal(
        box_convert(x, "xyxy", "cxcywh")[1, 2], box_convert(x[1, 2], "xyxy", "cxcywh")
    )
    assert clip_boxes(x, 50).shape == x.shape


def test_non_contiguous_inputs():
    a = _random_boxes(10).T.contiguous().T  # column-major
    b = _random_boxes(8, seed=3)[::2]
    assert not a.is_contiguous() and not b.is_contiguous()
    assert torch.equal(box_iou(a, b), box_iou(a.contiguous(), b.contiguous()))
    assert torch.equal(
        generalized_box_iou(a, b), generalized_box_iou(a.contiguous(), b.contiguous())
    )
    assert torch.equal(box_convert(a, "xyxy", "xywh"), box_convert(a.contiguous(), "xyxy", "xywh"))


# ---- gradients -------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [box_iou, generalized_box_iou])
def test_gradcheck(fn):
    a = _random_boxes(4, seed=5, size=10.0).requires_grad_()
    b = _random_boxes(3, seed=6, size=10.0).requires_grad_()
    assert torch.autograd.gradcheck(fn, (a, b))


# ---- errors ----------------------------------------------------------------------------------


def test_bad_boxes_are_refused():
    good = torch.zeros(2, 4)
    with pytest.raises(ValueError, match=r"boxes1.*x2 >= x1.*index 1"):
        box_iou(torch.tensor([[0.0, 0, 1, 1], [3.0, 0, 1, 1]]), good)
    with pytest.raises(ValueError, match=r"boxes2.*finite"):
        box_iou(good, torch.tensor([[0.0, float("nan"), 1, 1]]))
    with pytest.raises(ValueError, match=r"boxes1.*\(N, 4\)"):
        generalized_box_iou(torch.zeros(2, 5), good)
    with pytest.raises(TypeError, match=r"boxes2.*dtype"):
        box_iou(good, good.double())
    with pytest.raises(TypeError, match=r"boxes.*floating"):
        box_area(torch.zeros(2, 4, dtype=torch.int64))
    with pytest.raises(TypeError, match=r"boxes.*torch.Tensor"):
        box_area([[0, 0, 1, 1]])
    with pytest.raises(ValueError, match=r"boxes.*w >= 0"):
        box_convert(torch.tensor([[0.0, 0.0, -1.0, 2.0]]), "xywh", "xyxy")
    with pytest.raises(ValueError, match="in_fmt"):
        box_convert(good, "yxyx", "xyxy")
    with pytest.raises(ValueError, match="out_fmt"):
        box_convert(good, "xyxy", "xyzw")
    with pytest.raises(ValueError, match="size"):
        clip_boxes(good, (-1, 4))
    with pytest.raises(ValueError, match="min_size"):
        remove_small_boxes(good, -1.0)
