import pytest
import torch

from pixlearn.ops import Matcher, box_iou

# dyadic thresholds and IoU values (multiples of 1/8) are exact in float32 and float64, so the
# random matrices hit the thresholds exactly and tie often
HIGH, LOW = 0.625, 0.25


def _slow_match(q, high, low, allow):
    """torchvision's Matcher rule written out: per prediction, then per ground truth."""
    m, n = q.shape
    rows = q.tolist()
    if m == 0:
        return [-1] * n
    cols = [[rows[i][j] for i in range(m)] for j in range(n)]
    best_gt = [col.index(max(col)) for col in cols]  # first index on ties
    out = []
    for j in range(n):
        best = max(cols[j])
        out.append(best_gt[j] if best >= high else -2 if best >= low else -1)
    if allow:
        for i in range(m):
            for j in range(n):
                if rows[i][j] == max(rows[i]):
                    out[j] = best_gt[j]
    return out


def _random_quality(m, n, gen, dtype=torch.float64):
    top = int(torch.randint(3, 10, (1,), generator=gen))  # some matrices stay low overall
    return (torch.randint(0, top, (m, n), generator=gen) / 8).to(dtype)


@pytest.mark.parametrize("allow", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_equals_slow_loop_on_random_matrices_with_ties_and_boundaries(allow, dtype):
    gen = torch.Generator().manual_seed(0)
    matcher = Matcher(HIGH, LOW, allow_low_quality_matches=allow)
    hits = {"at_high": 0, "at_low": 0}
    for _ in range(60):
        m, n = (int(v) for v in torch.randint(1, 12, (2,), generator=gen))
        q = _random_quality(m, n, gen, dtype)
        got = matcher(q)
        assert got.dtype == torch.int64 and got.shape == (n,)
        assert got.tolist() == _slow_match(q, HIGH, LOW, allow)
        best = q.max(0).values
        hits["at_high"] += int((best == HIGH).sum())
        hits["at_low"] += int((best == LOW).sum())
    assert hits["at_high"] > 10 and hits["at_low"] > 10  # the boundaries were exercised


def test_equals_slow_loop_on_real_box_ious():
    gen = torch.Generator().manual_seed(1)
    xy = torch.rand(40, 2, generator=gen, dtype=torch.float64) * 50
    preds = torch.cat([xy, xy + 5 + torch.rand(40, 2, generator=gen, dtype=torch.float64) * 20], 1)
    gt = preds[:5] + torch.randn(5, 4, generator=gen, dtype=torch.float64).clamp(-1, 1)
    q = box_iou(gt, preds)
    for allow in (False, True):
        assert Matcher(0.7, 0.3, allow)(q).tolist() == _slow_match(q, 0.7, 0.3, allow)


def test_threshold_boundaries():
    q = torch.tensor([[0.7, 0.7 - 1e-9, 0.3, 0.3 - 1e-9, 1.0, 0.0]], dtype=torch.float64)
    # IoU >= high: match;  low <= IoU < high: -2;  IoU < low: -1
    assert Matcher(0.7, 0.3)(q).tolist() == [0, -2, -2, -1, 0, -1]
    # equal thresholds: no ignore band
    assert Matcher(0.5, 0.5)(torch.tensor([[0.5, 0.49, 0.51]])).tolist() == [0, -1, 0]


def test_ties_between_ground_truths_pick_the_first():
    q = torch.tensor([[0.8, 0.1], [0.8, 0.9], [0.8, 0.9]])
    assert Matcher(0.7, 0.3)(q).tolist() == [0, 1]


def test_low_quality_matches_restore_each_ground_truths_best_predictions():
    q = torch.tensor(
        [
            [0.20, 0.10, 0.20, 0.05, 0.00],  # gt 0: best 0.2, tied by predictions 0 and 2
            [0.00, 0.50, 0.00, 0.10, 0.00],  # gt 1: best 0.5 at prediction 1
            [0.00, 0.00, 0.00, 0.15, 0.90],  # gt 2: best 0.9 at prediction 4 (already a match)
        ]
    )
    plain = Matcher(0.7, 0.3)(q)
    assert plain.tolist() == [-1, -2, -1, -1, 2]
    low = Matcher(0.7, 0.3, allow_low_quality_matches=True)(q)
    assert low.tolist() == [0, 1, 0, -1, 2]
    # every ground truth now has at least one prediction
    assert set(low[low >= 0].tolist()) == {0, 1, 2}


def test_a_restored_prediction_gets_its_own_best_ground_truth():
    # prediction 0 is gt 1's best (0.4) but overlaps gt 0 more (0.6): torchvision restores 0
    q = torch.tensor([[0.6, 0.9], [0.4, 0.1]])
    assert Matcher(0.7, 0.3, True)(q).tolist() == [0, 0]


def test_empty_ground_truth_is_all_background_and_empty_predictions_are_empty():
    for allow in (False, True):
        got = Matcher(0.7, 0.3, allow)(torch.zeros(0, 7))
        assert got.tolist() == [-1] * 7 and got.dtype == torch.int64
        got = Matcher(0.7, 0.3, allow)(torch.zeros(3, 0))
        assert got.shape == (0,) and got.dtype == torch.int64
        assert Matcher(0.7, 0.3, allow)(torch.zeros(0, 0)).shape == (0,)


def test_non_contiguous_input_and_input_not_modified():
    gen = torch.Generator().manual_seed(2)
    q = _random_quality(9, 6, gen)
    qt = q.t().contiguous().t()
    assert not qt.is_contiguous()
    q0 = q.clone()
    matcher = Matcher(HIGH, LOW, True)
    assert torch.equal(matcher(qt), matcher(q))
    assert torch.equal(q, q0)


@pytest.mark.parametrize(
    ("args", "exc", "match"),
    [
        ((0.3, 0.7), ValueError, "low_threshold"),
        ((float("nan"), 0.3), ValueError, "high_threshold"),
        ((0.7, float("inf")), ValueError, "low_threshold"),
        ((0.7, 0.3, 1), TypeError, "allow_low_quality_matches"),
        (("0.7", 0.3), TypeError, "high_threshold"),
    ],
)
def test_bad_options(args, exc, match):
    with pytest.raises(exc, match=match):
        Matcher(*args)


def test_bad_matrices_name_the_argument():
    matcher = Matcher(0.7, 0.3)
    with pytest.raises(TypeError, match=r"iou_matrix.*float"):
        matcher(torch.ones(2, 3, dtype=torch.int64))
    with pytest.raises(TypeError, match=r"iou_matrix.*Tensor"):
        matcher([[0.5]])
    with pytest.raises(ValueError, match=r"iou_matrix.*\(M ground truth"):
        matcher(torch.ones(3))
    with pytest.raises(ValueError, match=r"iou_matrix.*finite"):
        matcher(torch.tensor([[0.5, float("nan")]]))
