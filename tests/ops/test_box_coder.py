import math

import numpy as np
import pytest
import torch

from pixlearn.ops import BoxCoder

WEIGHTS = [(1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0), (2.0, 3.0, 0.5, 4.0)]


def _random_boxes(n, gen, dtype=torch.float64, max_size=50.0):
    """Corners in [0, 100), sizes in [1, max_size]: log size ratios within the clip."""
    xy = torch.rand(n, 2, generator=gen, dtype=dtype) * 100
    wh = 1 + torch.rand(n, 2, generator=gen, dtype=dtype) * (max_size - 1)
    return torch.cat([xy, xy + wh], dim=1)


def _slow_encode(g, p, weights):
    """Girshick's closed form, one box at a time in Python floats."""
    wx, wy, ww, wh = weights
    out = []
    for (gx1, gy1, gx2, gy2), (px1, py1, px2, py2) in zip(g.tolist(), p.tolist(), strict=True):
        pw, ph, gw, gh = px2 - px1, py2 - py1, gx2 - gx1, gy2 - gy1
        pcx, pcy, gcx, gcy = px1 + pw / 2, py1 + ph / 2, gx1 + gw / 2, gy1 + gh / 2
        out.append(
            [
                wx * (gcx - pcx) / pw,
                wy * (gcy - pcy) / ph,
                ww * math.log(gw / pw),
                wh * math.log(gh / ph),
            ]
        )
    return torch.tensor(out, dtype=torch.float64).reshape(-1, 4)


def _slow_decode(d, p, weights, clip):
    wx, wy, ww, wh = weights
    out = []
    for row, (px1, py1, px2, py2) in zip(d.tolist(), p.tolist(), strict=True):
        pw, ph = px2 - px1, py2 - py1
        pcx, pcy = px1 + pw / 2, py1 + ph / 2
        boxes = []
        for k in range(len(row) // 4):
            dx, dy, dw, dh = row[4 * k : 4 * k + 4]
            cx, cy = dx / wx * pw + pcx, dy / wy * ph + pcy
            w, h = math.exp(min(dw / ww, clip)) * pw, math.exp(min(dh / wh, clip)) * ph
            boxes += [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
        out.append(boxes)
    return torch.tensor(out, dtype=torch.float64)


@pytest.mark.parametrize("weights", WEIGHTS)
def test_encode_equals_closed_form(weights):
    gen = torch.Generator().manual_seed(0)
    g, p = _random_boxes(200, gen), _random_boxes(200, gen)
    got = BoxCoder(weights).encode(g, p)
    assert got.dtype == torch.float64 and got.shape == (200, 4)
    torch.testing.assert_close(got, _slow_encode(g, p, weights), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("k", [1, 3])
def test_decode_equals_closed_form_with_class_specific_deltas(weights, k):
    gen = torch.Generator().manual_seed(1)
    p = _random_boxes(50, gen)
    d = torch.randn(50, 4 * k, generator=gen, dtype=torch.float64) * 3  # some beyond the clip
    coder = BoxCoder(weights, bbox_xform_clip=1.5)
    got = coder.decode(d, p)
    assert got.shape == (50, 4 * k)
    torch.testing.assert_close(got, _slow_decode(d, p, weights, 1.5), rtol=1e-12, atol=1e-12)
    # class k's columns are the decode of its own (N, 4) slice
    for c in range(k):
        assert torch.equal(got[:, 4 * c : 4 * c + 4], coder.decode(d[:, 4 * c : 4 * c + 4], p))


@pytest.mark.parametrize("weights", WEIGHTS)
def test_round_trip_float64(weights):
    gen = torch.Generator().manual_seed(2)
    g, p = _random_boxes(1000, gen), _random_boxes(1000, gen)
    coder = BoxCoder(weights)
    back = coder.decode(coder.encode(g, p), p)
    assert (back - g).abs().max().item() < 1e-12


def test_round_trip_float32():
    gen = torch.Generator().manual_seed(3)
    g, p = _random_boxes(1000, gen, torch.float32), _random_boxes(1000, gen, torch.float32)
    coder = BoxCoder((10.0, 10.0, 5.0, 5.0))
    back = coder.decode(coder.encode(g, p), p)
    assert back.dtype == torch.float32
    torch.testing.assert_close(back, g, rtol=0, atol=1e-4)


def test_encode_is_invariant_to_translation_and_scale():
    gen = torch.Generator().manual_seed(4)
    g, p = _random_boxes(100, gen), _random_boxes(100, gen)
    coder = BoxCoder((10.0, 10.0, 5.0, 5.0))
    s, t = 3.5, torch.tensor([7.0, -2.0, 7.0, -2.0], dtype=torch.float64)
    torch.testing.assert_close(coder.encode(g * s + t, p * s + t), coder.encode(g, p))


def test_identical_boxes_encode_to_zero():
    p = _random_boxes(10, torch.Generator().manual_seed(5))
    assert torch.equal(BoxCoder().encode(p, p), torch.zeros(10, 4, dtype=torch.float64))


def test_huge_deltas_are_clamped_and_stay_finite():
    p = torch.tensor([[0.0, 0.0, 10.0, 20.0], [5.0, 5.0, 6.0, 6.0]])
    coder = BoxCoder((10.0, 10.0, 5.0, 5.0))
    d = torch.tensor([[0.0, 0.0, 1e30, 1e30], [0.0, 0.0, 3e38, -3e38]])
    out = coder.decode(d, p)
    assert torch.isfinite(out).all()
    scale = 1000.0 / 16  # e^clip
    w, h = out[:, 2] - out[:, 0], out[:, 3] - out[:, 1]
    torch.testing.assert_close(w, torch.tensor([10 * scale, scale]), rtol=1e-6, atol=0)
    torch.testing.assert_close(h[0], torch.tensor(20 * scale), rtol=1e-6, atol=0)
    assert h[1] == 0  # the clamp is one-sided: a very negative dh shrinks the box to nothing
    # the centre does not move
    torch.testing.assert_close((out[:, 0] + out[:, 2]) / 2, torch.tensor([5.0, 5.5]))


def test_zero_size_boxes_are_refused_in_encode_and_accepted_in_decode():
    good = torch.tensor([[0.0, 0.0, 4.0, 4.0], [1.0, 1.0, 3.0, 5.0]])
    flat = torch.tensor([[0.0, 0.0, 4.0, 4.0], [1.0, 1.0, 1.0, 5.0]])
    coder = BoxCoder()
    with pytest.raises(ValueError, match=r"proposals.*x2 > x1.*index 1"):
        coder.encode(good, flat)
    with pytest.raises(ValueError, match=r"reference_boxes.*index 1"):
        coder.encode(flat, good)
    out = coder.decode(torch.ones(2, 4), flat)
    assert torch.isfinite(out).all() and out[1, 2] == out[1, 0]


def test_empty_inputs():
    coder = BoxCoder()
    e = torch.zeros(0, 4)
    assert coder.encode(e, e).shape == (0, 4)
    assert coder.decode(torch.zeros(0, 8), e).shape == (0, 8)


def test_non_contiguous_inputs_and_inputs_not_modified():
    gen = torch.Generator().manual_seed(6)
    g, p = _random_boxes(30, gen), _random_boxes(30, gen)
    g_t, p_t = g.t().contiguous().t(), p.t().contiguous().t()  # column-major views
    assert not g_t.is_contiguous()
    coder = BoxCoder((10.0, 10.0, 5.0, 5.0))
    g0, p0 = g.clone(), p.clone()
    d = coder.encode(g_t, p_t)
    assert torch.equal(d, coder.encode(g, p))
    d_t = torch.cat([d, d], 1)[:, ::2]  # strided
    assert torch.equal(coder.decode(d_t, p_t), coder.decode(d_t.contiguous(), p))
    assert torch.equal(g, g0) and torch.equal(p, p0)


def test_dtypes_follow_the_first_argument():
    gen = torch.Generator().manual_seed(7)
    g, p = _random_boxes(5, gen), _random_boxes(5, gen, torch.float32)
    assert BoxCoder().encode(g, p).dtype == torch.float64
    assert BoxCoder().decode(torch.zeros(5, 4, dtype=torch.float32), g).dtype == torch.float32


def test_gradcheck():
    gen = torch.Generator().manual_seed(8)
    g = _random_boxes(6, gen).requires_grad_()
    p = _random_boxes(6, gen).requires_grad_()
    coder = BoxCoder((10.0, 10.0, 5.0, 5.0), bbox_xform_clip=2.0)
    assert torch.autograd.gradcheck(coder.encode, (g, p))
    d = (torch.randn(6, 8, generator=gen, dtype=torch.float64) * 2).requires_grad_()
    assert torch.autograd.gradcheck(coder.decode, (d, p))


def test_matches_numpy_on_a_real_looking_example():
    # a ground-truth box and an anchor, worked by hand: centres (15, 30) and (10, 20)
    g = torch.tensor([[10.0, 20.0, 20.0, 40.0]], dtype=torch.float64)
    p = torch.tensor([[0.0, 10.0, 20.0, 30.0]], dtype=torch.float64)
    d = BoxCoder((10.0, 10.0, 5.0, 5.0)).encode(g, p)
    expected = np.array([[10 * 5 / 20, 10 * 10 / 20, 5 * np.log(0.5), 5 * np.log(1.0)]])
    np.testing.assert_allclose(d.numpy(), expected, rtol=1e-15)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"weights": (1.0, 1.0, 1.0)}, ValueError, "weights"),
        ({"weights": (1.0, 1.0, -1.0, 1.0)}, ValueError, r"weights\[2\]"),
        ({"weights": 1.0}, TypeError, "weights"),
        ({"bbox_xform_clip": 0.0}, ValueError, "bbox_xform_clip"),
        ({"bbox_xform_clip": float("inf")}, ValueError, "bbox_xform_clip"),
    ],
)
def test_bad_options(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        BoxCoder(**kwargs)


def test_bad_tensors_name_the_argument():
    coder = BoxCoder()
    b = torch.tensor([[0.0, 0.0, 2.0, 2.0]])
    with pytest.raises(TypeError, match=r"reference_boxes.*float"):
        coder.encode(b.long(), b)
    with pytest.raises(TypeError, match=r"proposals.*Tensor"):
        coder.encode(b, [[0.0, 0.0, 2.0, 2.0]])
    with pytest.raises(ValueError, match=r"proposals.*\(N, 4\)"):
        coder.encode(b, b[:, :3])
    with pytest.raises(ValueError, match=r"proposals.*rows"):
        coder.encode(b, torch.cat([b, b]))
    with pytest.raises(ValueError, match=r"reference_boxes.*finite"):
        coder.encode(torch.tensor([[0.0, 0.0, float("nan"), 2.0]]), b)
    with pytest.raises(ValueError, match=r"deltas.*4 \* K"):
        coder.decode(torch.zeros(1, 5), b)
    with pytest.raises(ValueError, match=r"deltas.*4 \* K"):
        coder.decode(torch.zeros(4), b)
    with pytest.raises(ValueError, match=r"deltas.*finite"):
        coder.decode(torch.tensor([[0.0, float("inf"), 0.0, 0.0]]), b)
    with pytest.raises(TypeError, match=r"deltas.*float"):
        coder.decode(torch.zeros(1, 4, dtype=torch.int64), b)
    with pytest.raises(ValueError, match=r"boxes.*rows"):
        coder.decode(torch.zeros(2, 4), b)
    with pytest.raises(ValueError, match=r"boxes.*x2 >= x1.*index 0"):
        coder.decode(torch.zeros(1, 4), torch.tensor([[2.0, 0.0, 1.0, 2.0]]))
