import numpy as np
import pytest
import torch

from pixlearn.metrics.detection import detection_confusion_matrix


def _iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih
    return iw * ih / union if union > 0 else 0.0


def _reference(preds, tgts, k, t, s):
    """Ultralytics' ConfusionMatrix.process_batch as documented, with stable sorts, as loops."""
    m = np.zeros((k + 1, k + 1), dtype=np.int64)
    for p, g in zip(preds, tgts, strict=True):
        keep = [i for i in range(len(p["scores"])) if float(p["scores"][i]) > s]
        pb = [p["boxes"][i].tolist() for i in keep]
        pl = [int(p["labels"][i]) for i in keep]
        gb, gl = g["boxes"].tolist(), g["labels"].tolist()
        cand = [(_iou(gb[i], pb[j]), i, j) for i in range(len(gb)) for j in range(len(pb))]
        cand = [c for c in cand if c[0] > t]
        cand.sort(key=lambda c: -c[0])  # stable: ties keep (gt, prediction) order
        # each prediction keeps its best pair, then each ground truth its best remaining one
        seen_p, step = set(), []
        for c in cand:
            if c[2] not in seen_p:
                seen_p.add(c[2])
                step.append(c)
        seen_g, pairs = set(), []
        for c in step:
            if c[1] not in seen_g:
                seen_g.add(c[1])
                pairs.append(c)
        for _, i, j in pairs:
            m[pl[j], gl[i]] += 1
        for i in range(len(gb)):
            if i not in seen_g:
                m[k, gl[i]] += 1
        used = {j for _, _, j in pairs}
        for j in range(len(pb)):
            if j not in used:
                m[pl[j], k] += 1
    return m


def _random_set(seed, k=4, images=6):
    g = torch.Generator().manual_seed(seed)
    preds, tgts = [], []
    for _ in range(images):
        n, mm = (
            int(torch.randint(0, 7, (1,), generator=g)),
            int(torch.randint(0, 9, (1,), generator=g)),
        )
        xy = torch.randint(0, 30, (n, 2), generator=g).float()
        gb = torch.cat([xy, xy + torch.randint(3, 15, (n, 2), generator=g)], 1)
        src = gb[torch.randint(0, max(n, 1), (mm,), generator=g)] if n else torch.zeros(mm, 4)
        db = src + torch.randint(-3, 4, (mm, 4), generator=g).float()  # integers: IoU ties
        db = torch.cat([db[:, :2], torch.maximum(db[:, 2:], db[:, :2] + 1)], 1)
        tgts.append({"boxes": gb, "labels": torch.randint(0, k, (n,), generator=g)})
        preds.append(
            {
                "boxes": db,
                "labels": torch.randint(0, k, (mm,), generator=g),
                "scores": torch.rand(mm, generator=g),
            }
        )
    return preds, tgts


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize(("t", "s"), [(0.5, 0.25), (0.3, 0.0), (0.0, 0.6)])
def test_matches_reference_loop(seed, t, s):
    preds, tgts = _random_set(seed)
    out = detection_confusion_matrix(preds, tgts, 4, iou_threshold=t, score_threshold=s)
    assert out.dtype == torch.int64 and out.shape == (5, 5)
    np.testing.assert_array_equal(out.numpy(), _reference(preds, tgts, 4, t, s))


def test_properties():
    preds, tgts = _random_set(3)
    out = detection_confusion_matrix(preds, tgts, 4, score_threshold=0.1)
    # column t sums to the ground-truth count of class t; row p (without the background
    # column... and with it) sums to the predictions of class p that pass the score
    gt_counts = torch.bincount(torch.cat([g["labels"] for g in tgts]), minlength=4)
    assert torch.equal(out[:, :4].sum(0), gt_counts)
    kept = torch.cat([p["labels"][p["scores"] > 0.1] for p in preds])
    assert torch.equal(out[:4].sum(1), torch.bincount(kept, minlength=4))
    assert out[4, 4] == 0
    # perfect predictions: a diagonal matrix
    perfect = [
        {"boxes": g["boxes"], "labels": g["labels"], "scores": torch.ones(len(g["labels"]))}
        for g in tgts
    ]
    out = detection_confusion_matrix(perfect, tgts, 4)
    assert torch.equal(out, torch.diag(torch.cat([gt_counts, torch.zeros(1, dtype=torch.long)])))


def test_empty_images_and_non_contiguous_boxes():
    tgts = [{"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.long)}] * 2
    preds = [
        {
            "boxes": torch.zeros(0, 4),
            "labels": torch.zeros(0, dtype=torch.long),
            "scores": torch.zeros(0),
        },
        {
            "boxes": torch.tensor([[1.0, 1, 5, 5]]),
            "labels": torch.tensor([2]),
            "scores": torch.tensor([0.9]),
        },
    ]
    out = detection_confusion_matrix(preds, tgts, 3)
    assert out.sum() == 1 and out[2, 3] == 1  # a false alarm of class 2
    preds, tgts = _random_set(1)
    nc = [{**p, "boxes": p["boxes"].t().contiguous().t()} for p in preds]
    assert not any(p["boxes"].is_contiguous() for p in nc if p["boxes"].shape[0] > 1)
    assert torch.equal(
        detection_confusion_matrix(nc, tgts, 4), detection_confusion_matrix(preds, tgts, 4)
    )


@pytest.mark.parametrize(
    ("kwargs", "edit", "match"),
    [
        (
            {},
            lambda p, g: g[0].update(labels=torch.full_like(g[0]["labels"], 4)),
            r"targets\[0\]\['labels'\].*0\.\.3",
        ),
        (
            {},
            lambda p, g: p[1].update(labels=-torch.ones_like(p[1]["labels"])),
            r"predictions\[1\]\['labels'\]",
        ),
        ({}, lambda p, g: p[0].update(scores=torch.ones(99)), r"predictions\[0\]\['scores'\]"),
        ({}, lambda p, g: g.pop(), "same images"),
        ({"iou_threshold": 1.0}, lambda p, g: None, "iou_threshold"),
        ({"score_threshold": -0.1}, lambda p, g: None, "score_threshold"),
    ],
)
def test_errors(kwargs, edit, match):
    preds, tgts = _random_set(0)
    preds[1] = {
        "boxes": torch.tensor([[0.0, 0, 2, 2]]),
        "labels": torch.tensor([1]),
        "scores": torch.ones(1),
    }
    tgts[0] = {"boxes": torch.tensor([[0.0, 0, 2, 2]]), "labels": torch.tensor([1])}
    edit(preds, tgts)
    with pytest.raises(ValueError, match=match):
        detection_confusion_matrix(preds, tgts, 4, **kwargs)
    with pytest.raises(ValueError, match="num_classes"):
        detection_confusion_matrix(preds, tgts, 0)
