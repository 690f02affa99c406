import math

import pytest
import torch

from pixlearn.ops import MultiScaleRoIAlign, fpn_levels, roi_align


def test_fpn_levels_follow_the_formula():
    gen = torch.Generator().manual_seed(0)
    xy = torch.rand(200, 2, generator=gen) * 100
    wh = torch.rand(200, 2, generator=gen) ** 3 * 900
    wh[0] = 0.0
    boxes = torch.cat([xy, xy + wh], 1)
    got = fpn_levels(boxes, k_min=2, k_max=5)
    for b, k in zip(boxes.double().tolist(), got.tolist(), strict=True):
        s = math.sqrt((b[2] - b[0]) * (b[3] - b[1]))
        raw = math.floor(4 + math.log2(s / 224) + 1e-6) if s > 0 else -math.inf
        assert k == min(max(raw, 2), 5)
    assert set(got.tolist()) == {2, 3, 4, 5}  # every level is exercised


def test_fpn_levels_at_the_canonical_scales():
    boxes = torch.tensor(
        [[0, 0, 224.0, 224], [0, 0, 112, 112], [0, 0, 111.9, 112], [0, 0, 448, 448]]
    )
    assert fpn_levels(boxes, k_min=2, k_max=6).tolist() == [4, 3, 2, 5]
    assert fpn_levels(boxes, k_min=2, k_max=6, canonical_scale=112, canonical_level=3).tolist() == [
        4,
        3,
        2,
        5,
    ]


def _pyramid(gen, b=2, c=3, size=128):
    return {
        f"p{k}": torch.rand(b, c, size >> k, size >> k, generator=gen, dtype=torch.float64)
        for k in (2, 3, 4, 5)
    }


def test_output_equals_roi_align_on_the_assigned_level():
    gen = torch.Generator().manual_seed(1)
    feats = _pyramid(gen)
    boxes = []
    for _ in range(2):
        xy = torch.rand(12, 2, generator=gen, dtype=torch.float64) * 100
        wh = torch.rand(12, 2, generator=gen, dtype=torch.float64) ** 2 * 120 + 1
        boxes.append(torch.cat([xy, xy + wh], 1))
    pooler = MultiScaleRoIAlign(
        ["p2", "p3", "p4", "p5"], (7, 5), sampling_ratio=2, canonical_scale=56, canonical_level=4
    )
    out = pooler(feats, boxes, [(128, 128), (120, 128)])
    assert out.shape == (24, 3, 7, 5)
    all_boxes = torch.cat(boxes)
    levels = fpn_levels(all_boxes, k_min=2, k_max=5, canonical_scale=56, canonical_level=4)
    assert len(set(levels.tolist())) >= 3
    for i in range(24):
        k, img = int(levels[i]), i // 12
        ref = roi_align(feats[f"p{k}"][img : img + 1], [all_boxes[i : i + 1]], (7, 5), 2.0**-k, 2)
        torch.testing.assert_close(out[i : i + 1], ref, rtol=0, atol=1e-12)


def test_list_input_equals_dict_input_and_gradients_flow():
    gen = torch.Generator().manual_seed(2)
    feats = _pyramid(gen, b=1)
    maps = [feats[f"p{k}"].requires_grad_(True) for k in (2, 3, 4, 5)]
    boxes = [torch.tensor([[0, 0, 10, 10.0], [5, 5, 120, 100], [20, 30, 60, 90]]).double()]
    a = MultiScaleRoIAlign(["p2", "p3", "p4", "p5"], 3, 2)(feats, boxes, [(128, 128)])
    b = MultiScaleRoIAlign([0, 1, 2, 3], 3, 2)(maps, boxes, [(128, 128)])
    assert torch.equal(a, b)
    b.sum().backward()
    # all three boxes are small enough for p2; the unused coarsest map gets no gradient
    assert maps[0].grad.abs().sum() > 0 and maps[3].grad is None


def test_empty_boxes():
    feats = _pyramid(torch.Generator().manual_seed(3))
    out = MultiScaleRoIAlign(["p2", "p3"], 7, 2)(feats, [torch.zeros(0, 4)] * 2, [(128, 128)] * 2)
    assert out.shape == (0, 3, 7, 7)


def test_bad_input():
    feats = _pyramid(torch.Generator().manual_seed(4), b=1)
    boxes = [torch.tensor([[0, 0, 10, 10.0]]).double()]
    with pytest.raises(ValueError, match="featmap_names"):
        MultiScaleRoIAlign([], 7, 2)
    with pytest.raises(ValueError, match="output_size"):
        MultiScaleRoIAlign(["p2"], 0, 2)
    with pytest.raises(ValueError, match="features has no map 'p9'"):
        MultiScaleRoIAlign(["p9"], 7, 2)(feats, boxes, [(128, 128)])
    with pytest.raises(ValueError, match="consecutive"):
        MultiScaleRoIAlign(["p2", "p4"], 7, 2)(feats, boxes, [(128, 128)])
    with pytest.raises(ValueError, match="image_shapes"):
        MultiScaleRoIAlign(["p2"], 7, 2)(feats, boxes, [(128, 128)] * 2)
    with pytest.raises(ValueError, match=r"boxes\[0\]"):
        MultiScaleRoIAlign(["p2"], 7, 2)(feats, [torch.zeros(1, 5)], [(128, 128)])
    with pytest.raises(ValueError, match="boxes"):
        fpn_levels(torch.zeros(3, 5), k_min=2, k_max=5)
