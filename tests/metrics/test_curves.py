import numpy as np
import pytest
import torch

from pixlearn.metrics.detection import evaluate_coco, pr_curve


def _data():
    rng = np.random.default_rng(0)
    images = [{"id": i, "width": 100, "height": 100} for i in range(1, 6)]
    anns, dets = [], []
    for i in range(1, 6):
        for c in (1, 2):
            x, y = rng.uniform(0, 60, 2)
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i,
                    "category_id": c,
                    "bbox": [x, y, 30, 30],
                    "area": 900.0,
                    "iscrowd": 0,
                }
            )
            for _ in range(3):
                dx, dy = rng.normal(0, 4, 2)
                dets.append(
                    {
                        "image_id": i,
                        "category_id": c,
                        "bbox": [x + dx, y + dy, 30, 30],
                        "score": float(rng.random()),
                    }
                )
    cats = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}, {"id": 3, "name": "no gt"}]
    return {"images": images, "annotations": anns, "categories": cats}, dets


def test_mean_precision_of_each_curve_is_the_per_class_ap():
    gt, dt = _data()
    result = evaluate_coco(gt, dt)
    curves = pr_curve(result, iou_threshold=0.5)
    assert set(curves) == {1, 2}  # the category without ground truth is left out
    for cat, (recall, precision) in curves.items():
        assert recall.shape == precision.shape == (101,)
        assert torch.all(precision[:-1] >= precision[1:])  # interpolated: non-increasing
        k = result.category_ids.index(cat)
        assert float(precision.mean()) == pytest.approx(result.precision[0, :, k, 0, -1].mean())
    # averaged over classes it is AP50, the second COCO number
    ap50 = np.mean([float(p.mean()) for _, p in curves.values()])
    assert ap50 == pytest.approx(result.stats[1], abs=1e-12)


def test_other_thresholds_areas_and_limits():
    gt, dt = _data()
    result = evaluate_coco(gt, dt)
    strict = pr_curve(result, iou_threshold=0.95, area="small", max_det=10)
    assert pr_curve(result, area="medium") == {}  # 30x30 boxes are all small
    assert float(strict[1][1].mean()) <= float(pr_curve(result)[1][1].mean())


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"iou_threshold": 0.42}, "iou_threshold"),
        ({"area": "huge"}, "area"),
        ({"max_det": 7}, "max_det"),
    ],
)
def test_bad_settings_name_themselves(kwargs, name):
    gt, dt = _data()
    with pytest.raises(ValueError, match=name):
        pr_curve(evaluate_coco(gt, dt), **kwargs)
