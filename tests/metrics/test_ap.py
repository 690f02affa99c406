import math

import numpy as np
import pytest
import torch

from pixlearn.metrics.detection import average_precision, voc_evaluate


def _devkit_ap(rec, prec, method):
    """The VOC devkit's definitions, as loops over NumPy arrays."""
    if method == "11point":
        ap = 0.0
        # the levels k / 10 (np.arange(0, 1.1, 0.1), as in py-faster-rcnn, gives
        # 0.30000000000000004 and so misses a recall of exactly 0.3)
        for t in [k / 10 for k in range(11)]:
            ap += (prec[rec >= t].max() if (rec >= t).any() else 0.0) / 11.0
        return ap
    mrec = np.concatenate([[0.0], rec, [1.0]])
    mpre = np.concatenate([[0.0], prec, [0.0]])
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = max(mpre[i - 1], mpre[i])
    return sum(
        (mrec[i + 1] - mrec[i]) * mpre[i + 1]
        for i in range(mrec.size - 1)
        if mrec[i + 1] != mrec[i]
    )


def _iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _devkit_eval(gt, det, cls, t, method, use_difficult=False):
    """VOCevaldet.m for one class, written as the loop it is."""
    recs = []
    npos = 0
    for g in gt:
        m = g["labels"] == cls
        hard = g.get("difficult", torch.zeros(len(g["labels"]), dtype=torch.bool))[m]
        hard = torch.zeros_like(hard) if use_difficult else hard
        recs.append(
            {"boxes": g["boxes"][m].tolist(), "hard": hard.tolist(), "det": [False] * len(hard)}
        )
        npos += int((~hard).sum())
    dets = [
        (float(s), i, b)
        for i, d in enumerate(det)
        for b, s, c in zip(d["boxes"].tolist(), d["scores"], d["labels"], strict=True)
        if c == cls
    ]
    dets.sort(key=lambda x: -x[0])  # stable
    tp, fp = [], []
    for _, i, b in dets:
        r = recs[i]
        ovs = [_iou(b, g) for g in r["boxes"]]
        ovmax = max(ovs) if ovs else -1.0
        if ovmax >= t:
            j = ovs.index(ovmax)
            if r["hard"][j]:
                continue
            if not r["det"][j]:
                r["det"][j] = True
                tp.append(1), fp.append(0)
            else:
                tp.append(0), fp.append(1)
        else:
            tp.append(0), fp.append(1)
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    if npos == 0:
        return math.nan
    rec = tp / npos
    prec = tp / np.maximum(tp + fp, 1)
    return _devkit_ap(rec, prec, method)


def _hand_case():
    gt = [
        {
            "boxes": torch.tensor([[0.0, 0, 10, 10], [20, 20, 30, 30]]),
            "labels": torch.tensor([1, 1]),
        },
        {
            "boxes": torch.tensor([[0.0, 0, 10, 10], [50, 50, 60, 60]]),
            "labels": torch.tensor([1, 1]),
            "difficult": torch.tensor([False, True]),
        },
    ]
    det = [
        {
            "boxes": torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 10], [70, 70, 80, 80]]),
            "labels": torch.tensor([1, 1, 2]),
            "scores": torch.tensor([0.9, 0.7, 0.95]),
        },
        {
            "boxes": torch.tensor([[50.0, 50, 60, 60], [80, 0, 90, 10], [0, 0, 10, 10]]),
            "labels": torch.tensor([1, 1, 1]),
            "scores": torch.tensor([0.8, 0.6, 0.5]),
        },
    ]
    return gt, det


# ---- average_precision --------------------------------------------------------------------


def test_average_precision_hand_example():
    r = torch.tensor([1 / 3, 1 / 3, 1 / 3, 2 / 3], dtype=torch.float64)
    p = torch.tensor([1, 1 / 2, 1 / 3, 1 / 2], dtype=torch.float64)
    # all-point: 1/3 * 1 + 1/3 * 1/2; 11-point: (4 * 1 + 3 * 1/2) / 11
    assert float(average_precision(r, p)) == pytest.approx(0.5, abs=1e-15)
    assert float(average_precision(r, p, method="11point")) == pytest.approx(5.5 / 11, abs=1e-15)
    r = torch.tensor([0.25, 0.5, 0.5, 0.5, 0.75], dtype=torch.float64)
    p = torch.tensor([1, 1, 2 / 3, 1 / 2, 3 / 5], dtype=torch.float64)
    assert float(average_precision(r, p)) == pytest.approx(0.65, abs=1e-15)
    assert float(average_precision(r, p, method="11point")) == pytest.approx(7.2 / 11, abs=1e-15)


@pytest.mark.parametrize("method", ["all", "11point"])
@pytest.mark.parametrize("seed", range(8))
def test_average_precision_matches_devkit_loop(method, seed):
    g = torch.Generator().manual_seed(seed)
    n = int(torch.randint(1, 40, (1,), generator=g))
    tp = torch.rand(n, generator=g) < 0.6
    npos = int(tp.sum()) + int(torch.randint(0, 5, (1,), generator=g))
    tpc, fpc = tp.cumsum(0).double(), (~tp).cumsum(0).double()
    rec, prec = tpc / max(npos, 1), tpc / (tpc + fpc)
    ref = _devkit_ap(rec.numpy(), prec.numpy(), method)
    assert float(average_precision(rec, prec, method=method)) == pytest.approx(ref, abs=1e-12)
    out32 = average_precision(rec.float(), prec.float(), method=method)
    assert out32.dtype == torch.float32 and float(out32) == pytest.approx(ref, abs=1e-6)


def test_average_precision_properties():
    empty = torch.zeros(0)
    assert float(average_precision(empty, empty)) == 0.0
    perfect = torch.linspace(0.1, 1, 10)
    assert float(average_precision(perfect, torch.ones(10))) == pytest.approx(1.0)
    assert float(average_precision(perfect, torch.ones(10), method="11point")) == pytest.approx(1.0)
    # non-contiguous input
    r = torch.stack([perfect, perfect], 1)[:, 0]
    assert not r.is_contiguous()
    assert float(average_precision(r, torch.ones(10), method="11point")) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("r", "p", "kw", "exc", "match"),
    [
        (torch.tensor([0.5, 0.2]), torch.tensor([1.0, 1.0]), {}, ValueError, "non-decreasing"),
        (torch.tensor([0.5, 1.2]), torch.tensor([1.0, 1.0]), {}, ValueError, "recall.*0, 1"),
        (torch.tensor([0.5]), torch.tensor([float("nan")]), {}, ValueError, "precision.*finite"),
        (torch.tensor([0.5]), torch.tensor([1.0, 1.0]), {}, ValueError, "same length"),
        (torch.ones(2, 2), torch.ones(2, 2), {}, ValueError, "recall must be 1-D"),
        (torch.tensor([1]), torch.tensor([1.0]), {}, TypeError, "recall.*floating"),
        (torch.ones(1), torch.ones(1), {"method": "voc"}, ValueError, "method"),
    ],
)
def test_average_precision_errors(r, p, kw, exc, match):
    with pytest.raises(exc, match=match):
        average_precision(r, p, **kw)


# ---- voc_evaluate -----------------------------------------------------------------------------


def test_voc_evaluate_hand_case():
    gt, det = _hand_case()
    # class 1 ranked: TP (0.9), [difficult hit dropped] (0.8), FP duplicate (0.7), FP (0.6),
    # TP (0.5); 3 positives -> AP 0.5; class 2 has no ground truth -> NaN, not in the mean
    res = voc_evaluate(gt, det)
    assert res.ap[1] == pytest.approx(0.5, abs=1e-15) and math.isnan(res.ap[2])
    assert res.map == pytest.approx(0.5, abs=1e-15)
    assert res.num_positives == {1: 3, 2: 0}
    torch.testing.assert_close(
        res.recall[1], torch.tensor([1 / 3, 1 / 3, 1 / 3, 2 / 3], dtype=torch.float64)
    )
    torch.testing.assert_close(
        res.precision[1], torch.tensor([1, 1 / 2, 1 / 3, 1 / 2], dtype=torch.float64)
    )
    # difficult counted: TP TP FP FP TP over 4 positives
    assert voc_evaluate(gt, det, use_difficult=True).ap[1] == pytest.approx(0.65, abs=1e-15)
    r11 = voc_evaluate(gt, det, use_difficult=True, method="11point")
    assert r11.ap[1] == pytest.approx(7.2 / 11, abs=1e-15)
    assert gt[1]["difficult"].tolist() == [False, True]  # inputs untouched


def test_voc_evaluate_class_without_detections_scores_zero():
    gt, det = _hand_case()
    gt[0]["labels"] = torch.tensor([1, 3])
    res = voc_evaluate(gt, det)
    assert res.ap[3] == 0.0
    assert res.map == pytest.approx((res.ap[1] + 0.0) / 2)


@pytest.mark.parametrize("method", ["all", "11point"])
@pytest.mark.parametrize("seed", range(6))
def test_voc_evaluate_matches_devkit_loop(seed, method):
    g = torch.Generator().manual_seed(seed)
    gt, det = [], []
    for _ in range(int(torch.randint(1, 6, (1,), generator=g))):
        n, m = (
            int(torch.randint(0, 6, (1,), generator=g)),
            int(torch.randint(0, 10, (1,), generator=g)),
        )
        xy = torch.randint(0, 40, (n, 2), generator=g).double()
        wh = torch.randint(4, 20, (n, 2), generator=g).double()
        gb = torch.cat([xy, xy + wh], 1)
        # detections: jittered copies of ground truth (duplicates included) and random boxes
        src = gb[torch.randint(0, max(n, 1), (m,), generator=g)] if n else torch.zeros(m, 4)
        db = src + torch.randn(m, 4, generator=g, dtype=torch.float64) * 3
        db = torch.cat([db[:, :2], torch.maximum(db[:, 2:], db[:, :2])], 1)
        gt.append(
            {
                "boxes": gb,
                "labels": torch.randint(0, 3, (n,), generator=g),
                "difficult": torch.rand(n, generator=g) < 0.2,
            }
        )
        scores = torch.randint(0, 5, (m,), generator=g).double() / 4  # many ties
        det.append(
            {"boxes": db, "labels": torch.randint(0, 3, (m,), generator=g), "scores": scores}
        )
    for use_difficult in (False, True):
        res = voc_evaluate(gt, det, method=method, use_difficult=use_difficult, iou_threshold=0.4)
        for c, ap in res.ap.items():
            ref = _devkit_eval(gt, det, c, 0.4, method, use_difficult)
            assert (math.isnan(ap) and math.isnan(ref)) or ap == pytest.approx(ref, abs=1e-12)


def test_voc_evaluate_is_loosely_coco_ap50_like():
    # a perfect detector scores 1, a detector shifted beyond IoU 0.5 scores 0
    gt, _ = _hand_case()
    perfect = [{"boxes": g["boxes"], "labels": g["labels"], "scores": torch.ones(2)} for g in gt]
    assert voc_evaluate(gt, perfect).map == 1.0
    shifted = [{**d, "boxes": d["boxes"] + 6} for d in perfect]
    assert voc_evaluate(gt, shifted).map == 0.0


@pytest.mark.parametrize(
    ("edit", "exc", "match"),
    [
        (lambda g, d: d[0].pop("scores"), ValueError, r"detections\[0\] must have 'scores'"),
        (
            lambda g, d: d[1].update(boxes=torch.ones(3, 5)),
            ValueError,
            r"detections\[1\]\['boxes'\]",
        ),
        (
            lambda g, d: g[0].update(labels=torch.ones(3, dtype=torch.long)),
            ValueError,
            r"gt\[0\]\['labels'\] must have shape \(2,\)",
        ),
        (
            lambda g, d: g[1]["boxes"].__setitem__((0, 2), -5.0),
            ValueError,
            r"gt\[1\]\['boxes'\]: box 0",
        ),
        (lambda g, d: d[0]["boxes"].__setitem__((1, 1), float("nan")), ValueError, "finite"),
        (lambda g, d: d.pop(), ValueError, "same images"),
    ],
)
def test_voc_evaluate_errors(edit, exc, match):
    gt, det = _hand_case()
    edit(gt, det)
    with pytest.raises(exc, match=match):
        voc_evaluate(gt, det)
    with pytest.raises(ValueError, match="iou_threshold"):
        voc_evaluate(*_hand_case(), iou_threshold=0.0)
