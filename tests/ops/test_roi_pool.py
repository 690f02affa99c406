import importlib
import math

import numpy as np
import pytest
import torch

from pixlearn.ops import RoIPool, roi_pool

# the module (the package attribute of the same name is the function)
roi_pool_module = importlib.import_module("pixlearn.ops.roi_pool")


def _c_round(v):
    """C's round(): halves away from zero."""
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


def _slow_roi_pool(feats, rois, out_hw, scale):
    """torchvision's roi_pool definition, one bin at a time; returns values and argmax cells."""
    f = feats.double().numpy()
    _, c, h, w = f.shape
    oh, ow = out_hw
    out = np.zeros((len(rois), c, oh, ow))
    arg = np.full((len(rois), c, oh, ow), -1)
    for k, (b, x1, y1, x2, y2) in enumerate(rois.double().tolist()):
        sx, sy, ex, ey = (_c_round(v * scale) for v in (x1, y1, x2, y2))
        rw, rh = max(ex - sx + 1, 1), max(ey - sy + 1, 1)
        for i in range(oh):
            hs = min(max(math.floor(i * rh / oh) + sy, 0), h)
            he = min(max(math.ceil((i + 1) * rh / oh) + sy, 0), h)
            for j in range(ow):
                ws = min(max(math.floor(j * rw / ow) + sx, 0), w)
                we = min(max(math.ceil((j + 1) * rw / ow) + sx, 0), w)
                for ch in range(c):
                    best, where = (0.0, -1) if he <= hs or we <= ws else (-math.inf, -1)
                    for r in range(hs, he):
                        for s in range(ws, we):
                            if f[int(b), ch, r, s] > best:
                                best, where = f[int(b), ch, r, s], r * w + s
                    out[k, ch, i, j], arg[k, ch, i, j] = best, where
    return torch.from_numpy(out), arg


def _random_rois(gen, n, batch, size, scale):
    extent = size / scale
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 1.4 * extent - 0.2 * extent
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 0.8 * extent
    wh[::6] = 0.0  # zero area
    b = torch.randint(0, batch, (n, 1), generator=gen).double()
    return torch.cat([b, xy, xy + wh], 1)


@pytest.mark.parametrize(
    ("scale", "out_hw"), [(1.0, (3, 3)), (0.5, (2, 4)), (0.25, (7, 7)), (1 / 16, (2, 3))]
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_slow_max_pool_loop(scale, out_hw, dtype):
    gen = torch.Generator().manual_seed(int(1 / scale) + out_hw[0])
    feats = torch.randn(2, 3, 9, 11, generator=gen, dtype=torch.float64).to(dtype)
    rois = _random_rois(gen, 14, 2, 10, scale)
    out = roi_pool(feats, rois.to(dtype), out_hw, scale)
    assert out.shape == (14, 3, *out_hw) and out.dtype == dtype
    ref, _ = _slow_roi_pool(feats, rois.to(dtype), out_hw, scale)
    assert torch.equal(out.double(), ref)  # a max is exact


def test_half_coordinates_round_away_from_zero():
    # 0.5 -> 1 and 2.5 -> 3 (torch.round would give 0 and 2); bins of 2 cells in 3 overlap:
    # [floor(2j/3), ceil(2(j+1)/3)) = [0, 1), [0, 2), [1, 2)
    feats = torch.arange(25.0).reshape(1, 1, 5, 5)
    out = roi_pool(feats, torch.tensor([[0, 0.5, 0.5, 2.5, 2.5]]), 1)
    assert out.item() == feats[0, 0, 3, 3].item()
    out = roi_pool(feats, torch.tensor([[0, 0.5, 0.5, 1.5, 1.5]]), 3)
    assert torch.equal(out[0, 0], feats[0, 0, 1:3, 1:3][[0, 1, 1]][:, [0, 1, 1]])


def test_gradient_is_one_hot_at_the_argmax():
    gen = torch.Generator().manual_seed(5)
    feats = torch.randn(2, 2, 8, 9, generator=gen, dtype=torch.float64, requires_grad=True)
    rois = _random_rois(gen, 6, 2, 8, 0.5)
    out = roi_pool(feats, rois, (2, 3), 0.5)
    weights = torch.rand(out.shape, generator=gen, dtype=torch.float64)
    (out * weights).sum().backward()
    _, arg = _slow_roi_pool(feats.detach(), rois, (2, 3), 0.5)
    expected = torch.zeros(2, 2, 8 * 9, dtype=torch.float64)
    for k, i, j in np.ndindex(arg.shape[0], arg.shape[2], arg.shape[3]):
        for ch in range(2):
            if arg[k, ch, i, j] >= 0:
                expected[int(rois[k, 0]), ch, arg[k, ch, i, j]] += weights[k, ch, i, j]
    torch.testing.assert_close(feats.grad.flatten(2), expected, rtol=0, atol=1e-12)


def test_ties_take_the_first_cell_in_row_major_order():
    feats = torch.ones(1, 1, 4, 4, requires_grad=True)
    roi_pool(feats, torch.tensor([[0, 0.0, 0.0, 3.0, 3.0]]), 1).sum().backward()
    expected = torch.zeros(4, 4)
    expected[0, 0] = 1.0
    assert torch.equal(feats.grad[0, 0], expected)


def test_gradcheck_with_distinct_values():
    feats = torch.randperm(2 * 7 * 8).double().reshape(1, 2, 7, 8) / 10
    feats.requires_grad_(True)
    rois = torch.tensor([[0, 0.0, 0.0, 6.0, 5.0], [0, 3.0, 2.0, 9.0, 9.0], [0, -4, -4, -2, -2.0]])
    assert torch.autograd.gradcheck(lambda f: roi_pool(f, rois, (2, 3)), feats)


def test_boxes_outside_give_zero_bins():
    feats = torch.rand(1, 2, 6, 6) + 1
    out = roi_pool(feats, torch.tensor([[0, -30.0, -30.0, -10.0, -10.0]]), 2)
    assert torch.equal(out, torch.zeros(1, 2, 2, 2))


def test_list_and_k5_forms_agree_and_empty():
    feats = torch.rand(2, 3, 10, 10)
    boxes = [torch.tensor([[1.0, 1.0, 8.0, 5.0]]), torch.tensor([[0.0, 2.0, 4.0, 9.0]] * 2)]
    rois = torch.tensor([[0, 1.0, 1.0, 8.0, 5.0], [1, 0.0, 2.0, 4.0, 9.0], [1, 0, 2, 4, 9.0]])
    assert torch.equal(roi_pool(feats, boxes, 2), roi_pool(feats, rois, 2))
    assert roi_pool(feats, [torch.zeros(0, 4)] * 2, (2, 5)).shape == (0, 3, 2, 5)
    assert roi_pool(feats, torch.zeros(0, 5), 3).shape == (0, 3, 3, 3)


def test_non_contiguous_features_and_module():
    feats = torch.rand(2, 3, 10, 12)
    rois = torch.tensor([[1, 0.5, 1.5, 9.0, 8.0], [0, 2.0, 2.0, 11.0, 6.0]])
    ref = roi_pool(feats, rois, 3)
    assert torch.equal(roi_pool(feats.to(memory_format=torch.channels_last), rois, 3), ref)
    assert torch.equal(roi_pool(feats.transpose(2, 3).contiguous().transpose(2, 3), rois, 3), ref)
    assert torch.equal(RoIPool(3, spatial_scale=1.0)(feats, rois), ref)
    assert torch.equal(RoIPool((2, 2), 0.5)(feats, rois), roi_pool(feats, rois, 2, 0.5))


def test_many_large_boxes_are_chunked_correctly(monkeypatch):
    # a small budget forces many chunks (about 2 boxes each)
    monkeypatch.setattr(roi_pool_module, "_CHUNK_ENTRIES", 10_000)
    gen = torch.Generator().manual_seed(2)
    feats = torch.randn(1, 2, 64, 64, generator=gen)
    rois = torch.tensor([[0, 0.0, 0.0, 63.0, 63.0]]).repeat(400, 1)
    rois[:, 3:] -= torch.arange(400)[:, None] % 50
    out = roi_pool(feats, rois, 2)
    ref, _ = _slow_roi_pool(feats, rois[::37], (2, 2), 1.0)
    assert torch.equal(out[::37].double(), ref)


F = torch.rand(2, 3, 8, 8)


@pytest.mark.parametrize(
    ("features", "boxes", "kwargs", "error", "match"),
    [
        (F, torch.zeros(1, 4), {}, ValueError, "boxes.*\\(K, 5\\)"),
        (F, [torch.zeros(1, 3), torch.zeros(0, 4)], {}, ValueError, r"boxes\[0\]"),
        (F, torch.tensor([[-1.0, 0, 0, 1, 1]]), {}, ValueError, r"boxes\[:, 0\]"),
        (F, torch.tensor([[0, 0, 0, float("nan"), 1]]), {}, ValueError, "boxes.*finite"),
        (F, [torch.zeros(0, 4), torch.tensor([[0, 2.0, 1, 1]])], {}, ValueError, r"boxes\[1\]"),
        (F.int(), torch.zeros(1, 5), {}, TypeError, "features.*floating"),
        (F, torch.zeros(1, 5), {"output_size": 0}, ValueError, "output_size"),
        (F, torch.zeros(1, 5), {"spatial_scale": -1.0}, ValueError, "spatial_scale"),
    ],
)
def test_bad_input_is_refused_naming_the_argument(features, boxes, kwargs, error, match):
    kwargs = {"output_size": 2, **kwargs}
    with pytest.raises(error, match=match):
        roi_pool(features, boxes, **kwargs)
