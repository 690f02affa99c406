import math

import numpy as np
import pytest
import torch

from pixlearn.ops import batched_nms, nms, soft_nms


def _iou(a, b):
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(
        0.0, min(a[3], b[3]) - max(a[1], b[1])
    )
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _greedy_nms(boxes, scores, t, idxs=None):
    """The textbook loop: by decreasing score (stable), keep unless a kept box overlaps > t."""
    b, s = boxes.double().tolist(), scores.tolist()
    g = [0] * len(b) if idxs is None else idxs.tolist()
    order = sorted(range(len(s)), key=lambda i: -s[i])  # Python's sort is stable
    keep = []
    for i in order:
        if all(g[j] != g[i] or _iou(b[i], b[j]) <= t for j in keep):
            keep.append(i)
    return keep


def _clustered(n, seed, *, size=200.0, dtype=torch.float64):
    """Boxes jittered around n // 8 + 1 objects, so suppression happens a lot."""
    g = torch.Generator().manual_seed(seed)
    k = n // 8 + 1
    centre = torch.rand(k, 2, generator=g, dtype=dtype) * size
    wh = torch.rand(k, 2, generator=g, dtype=dtype) * size / 5 + 2
    pick = torch.randint(0, k, (n,), generator=g)
    c = centre[pick] + torch.randn(n, 2, generator=g, dtype=dtype) * wh[pick] * 0.15
    s = wh[pick] * torch.exp(torch.randn(n, 2, generator=g, dtype=dtype) * 0.2)
    boxes = torch.cat((c - s / 2, c + s / 2), 1)
    return boxes, torch.rand(n, generator=g, dtype=dtype)


# ---- reference -------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 5, 17, 64, 300])
@pytest.mark.parametrize("t", [0.0, 0.3, 0.5, 0.7, 1.0])
def test_nms_equals_greedy_loop(n, t):
    boxes, scores = _clustered(n, seed=n)
    keep = nms(boxes, scores, t)
    assert keep.dtype == torch.int64
    assert keep.tolist() == _greedy_nms(boxes, scores, t)


def test_suppression_actually_happens_and_output_is_sorted():
    boxes, scores = _clustered(300, seed=1)
    keep = nms(boxes, scores, 0.5)
    assert 20 < keep.numel() < 200
    assert bool((scores[keep][1:] <= scores[keep][:-1]).all())


@pytest.mark.parametrize("n", [10, 120, 400])
def test_batched_nms_equals_per_group_loop(n):
    boxes, scores = _clustered(n, seed=7 + n)
    idxs = torch.randint(0, 4, (n,), generator=torch.Generator().manual_seed(n)) * 3 - 2
    keep = batched_nms(boxes, scores, idxs, 0.5)
    assert keep.tolist() == _greedy_nms(boxes, scores, 0.5, idxs)
    # one group == plain nms
    same = torch.zeros(n, dtype=torch.long)
    assert torch.equal(batched_nms(boxes, scores, same, 0.5), nms(boxes, scores, 0.5))


@pytest.mark.parametrize("delta", [-1e-5, 0.0, 1e-5])
def test_pair_at_the_threshold(delta):
    # float64: box 2 = [s, 0, 10 + s, 10] against [0, 0, 10, 10]: IoU = (10 - s) / (10 + s)
    t = 0.5
    iou = t + delta
    shift = 10 * (1 - iou) / (1 + iou)
    boxes = torch.tensor(
        [[0.0, 0.0, 10.0, 10.0], [shift, 0.0, 10.0 + shift, 10.0]], dtype=torch.float64
    )
    scores = torch.tensor([0.9, 0.8], dtype=torch.float64)
    actual = _iou(*boxes.tolist())
    assert abs(actual - iou) < 1e-12
    keep = nms(boxes, scores, t).tolist()
    assert keep == ([0] if actual > t else [0, 1])
    assert keep == _greedy_nms(boxes, scores, t)


def test_exact_threshold_pair_survives():
    boxes = torch.tensor([[0.0, 0.0, 3.0, 1.0], [1.0, 0.0, 4.0, 1.0]])  # IoU = 2 / 4 = 0.5
    assert nms(boxes, torch.tensor([0.5, 0.6]), 0.5).tolist() == [1, 0]
    assert nms(boxes, torch.tensor([0.5, 0.6]), 0.49).tolist() == [1]


def test_tied_scores_keep_input_order():
    boxes, _ = _clustered(200, seed=3)
    scores = torch.tensor([0.25, 0.5, 0.75]).repeat(67)[:200].double()
    keep = nms(boxes, scores, 0.4)
    assert keep.tolist() == _greedy_nms(boxes, scores, 0.4)
    # all equal: the first box of every overlapping run wins
    eq = torch.full((200,), 0.3, dtype=torch.float64)
    assert nms(boxes, eq, 0.4).tolist() == _greedy_nms(boxes, eq, 0.4)
    twins = torch.tensor([[0.0, 0, 2, 2], [0.0, 0, 2, 2]])
    assert nms(twins, torch.tensor([1.0, 1.0]), 0.5).tolist() == [0]


def test_empty_input():
    out = nms(torch.zeros(0, 4), torch.zeros(0), 0.5)
    assert out.dtype == torch.int64 and out.shape == (0,)
    out = batched_nms(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.long), 0.5)
    assert out.dtype == torch.int64 and out.shape == (0,)
    k, s = soft_nms(torch.zeros(0, 4), torch.zeros(0))
    assert k.dtype == torch.int64 and k.shape == (0,) and s.shape == (0,)


def test_zero_area_boxes_never_suppress_nor_get_suppressed():
    boxes = torch.tensor(
        [[0.0, 0, 10, 10], [5.0, 5, 5, 5], [0.0, 0, 0, 10], [0.0, 0, 10, 10], [3.0, 3, 3, 3]]
    )
    scores = torch.tensor([0.9, 1.0, 0.95, 0.5, 0.1])
    assert nms(boxes, scores, 0.0).tolist() == [1, 2, 0, 4]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32])
def test_same_result_for_every_float_dtype(dtype):
    g = torch.Generator().manual_seed(11)
    xy = torch.randint(0, 60, (150, 2), generator=g)
    wh = torch.randint(0, 20, (150, 2), generator=g)
    boxes = torch.cat((xy, xy + wh), 1).double()  # integers: exact in every dtype
    scores = torch.randperm(150, generator=g).double() / 4  # multiples of 1/4: exact too
    ref = nms(boxes, scores, 0.5)
    assert ref.tolist() == _greedy_nms(boxes, scores, 0.5)
    assert torch.equal(nms(boxes.to(dtype), scores.to(dtype), 0.5), ref)


def test_non_contiguous_and_input_untouched():
    boxes, scores = _clustered(100, seed=5)
    bt = boxes.T.contiguous().T
    st = torch.stack((scores, scores), 1)[:, 0]
    assert not bt.is_contiguous() and not st.is_contiguous()
    copy = boxes.clone()
    assert torch.equal(nms(bt, st, 0.5), nms(boxes, scores, 0.5))
    assert torch.equal(boxes, copy)


def test_huge_and_spread_out_boxes():
    # one box covering everything plus tiny ones: the grid must not miss pairs nor blow up
    boxes, scores = _clustered(200, seed=9, size=1e5)
    boxes = torch.cat((boxes, torch.tensor([[-1e6, -1e6, 1e6, 1e6]], dtype=torch.float64)))
    scores = torch.cat((scores, torch.tensor([0.5], dtype=torch.float64)))
    for t in (0.0, 1e-9, 0.5):
        assert nms(boxes, scores, t).tolist() == _greedy_nms(boxes, scores, t)


@pytest.mark.parametrize("n", [40, 150])  # inside one block of the CPU sweep, and across
def test_long_suppression_chain(n):
    # box i = [2.5 i, 0, 2.5 i + 10, 1]: IoU 0.6 with box i + 1, 1/3 with box i + 2, so with
    # decreasing scores each kept box suppresses the next one only: keep every other box
    x = torch.arange(n, dtype=torch.float64) * 2.5
    boxes = torch.stack((x, torch.zeros(n, dtype=torch.float64), x + 10, torch.ones(n)), 1)
    scores = torch.linspace(1, 0, n, dtype=torch.float64)
    ref = _greedy_nms(boxes, scores, 0.5)
    assert nms(boxes, scores, 0.5).tolist() == ref == list(range(0, n, 2))


# ---- soft-NMS --------------------------------------------------------------------------------


def _slow_soft_nms(boxes, scores, sigma, nt, thresh, method):
    b, s = boxes.double().tolist(), scores.double().tolist()
    alive = [i for i in range(len(s)) if s[i] >= thresh]
    keep, ks = [], []
    while alive:
        m = max(alive, key=lambda i: (s[i], -i))
        keep.append(m)
        ks.append(s[m])
        alive.remove(m)
        for i in alive:
            o = _iou(b[m], b[i])
            if method == "gaussian":
                s[i] *= math.exp(-(o * o) / sigma)
            elif o >= nt:
                s[i] *= 1 - o
        alive = [i for i in alive if s[i] >= thresh]
    return keep, ks


@pytest.mark.parametrize("method", ["gaussian", "linear"])
def test_soft_nms_equals_slow_loop(method):
    boxes, scores = _clustered(120, seed=4)
    keep, s = soft_nms(boxes, scores, sigma=0.5, iou_threshold=0.3, method=method)
    rk, rs = _slow_soft_nms(boxes, scores, 0.5, 0.3, 0.001, method)
    assert keep.tolist() == rk
    np.testing.assert_allclose(s.numpy(), rs, rtol=1e-12)
    assert s.dtype == scores.dtype and bool((s[1:] <= s[:-1]).all())


def test_soft_nms_linear_with_threshold_one_keeps_scores():
    boxes, scores = _clustered(50, seed=8)
    keep, s = soft_nms(boxes, scores, iou_threshold=1.0, method="linear", score_threshold=0.0)
    assert keep.tolist() == torch.sort(scores, descending=True).indices.tolist()
    assert torch.equal(s, scores[keep])


# ---- errors ----------------------------------------------------------------------------------


def test_bad_input_is_refused():
    b, s = torch.tensor([[0.0, 0, 1, 1], [0.0, 0, 2, 2]]), torch.tensor([0.5, 0.4])
    with pytest.raises(ValueError, match=r"boxes.*x2 >= x1.*index 1"):
        nms(torch.tensor([[0.0, 0, 1, 1], [2.0, 0, 1, 1]]), s, 0.5)
    with pytest.raises(ValueError, match=r"boxes.*finite"):
        nms(torch.tensor([[0.0, 0, 1, 1], [0.0, float("nan"), 1, 1]]), s, 0.5)
    with pytest.raises(ValueError, match=r"scores.*finite"):
        nms(b, torch.tensor([0.5, float("nan")]), 0.5)
    with pytest.raises(ValueError, match=r"boxes.*\(N, 4\)"):
        nms(torch.zeros(2, 5), s, 0.5)
    with pytest.raises(ValueError, match=r"scores.*\(2,\)"):
        nms(b, torch.zeros(3), 0.5)
    with pytest.raises(TypeError, match=r"scores.*floating"):
        nms(b, torch.tensor([1, 2]), 0.5)
    with pytest.raises(ValueError, match="iou_threshold"):
        nms(b, s, 1.5)
    with pytest.raises(ValueError, match="iou_threshold"):
        nms(b, s, float("nan"))
    with pytest.raises(ValueError, match=r"idxs.*\(2,\)"):
        batched_nms(b, s, torch.zeros(3, dtype=torch.long), 0.5)
    with pytest.raises(TypeError, match=r"idxs.*integer"):
        batched_nms(b, s, torch.zeros(2), 0.5)
    with pytest.raises(ValueError, match="sigma"):
        soft_nms(b, s, sigma=0.0)
    with pytest.raises(ValueError, match="method"):
        soft_nms(b, s, method="hard")
    with pytest.raises(ValueError, match=r"boxes.*x2 >= x1"):
        soft_nms(torch.tensor([[0.0, 0, 1, 1], [2.0, 0, 1, 1]]), s)
