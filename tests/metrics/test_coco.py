import contextlib
import copy
import io
import json

import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from pixlearn.metrics.detection import (
    COCOEvaluator,
    coco_ground_truth,
    coco_results,
    evaluate_coco,
)


def _polygon(rng: np.random.Generator, x: float, y: float, w: float, h: float) -> list[float]:
    n = int(rng.integers(3, 8))
    ang = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = rng.uniform(0.5, 1.0, n)
    px = x + w / 2 + np.cos(ang) * r * w / 2
    py = y + h / 2 + np.sin(ang) * r * h / 2
    return np.stack([px, py], 1).ravel().round(2).tolist()


def _uncompressed(rle: dict) -> dict:
    flat = mask_utils.decode(rle).ravel(order="F")
    change = np.flatnonzero(np.diff(np.r_[0, flat, 1 - flat[-1]]))
    return {"size": list(rle["size"]), "counts": np.diff(np.r_[0, change]).tolist()}


def synthetic_coco(seed, n_images=30, n_cats=5, gt_per_image=6, dets_per_image=15, segm=None):
    """Seeded ground truth and results: crowds (uncompressed RLE in segm), areas of exactly
    32^2 and 96^2, false positives, wrong classes, tied scores, duplicates, two images without
    ground truth and one category without ground truth. ``segm``: None, "polygon" or "rle"."""
    rng = np.random.default_rng(seed)
    h_img, w_img = 120, 160
    images = [{"id": i * 3 + 1, "height": h_img, "width": w_img} for i in range(n_images)]
    cats = [{"id": c * 2 + 1, "name": f"c{c}"} for c in range(n_cats + 1)]  # last: no gt
    anns, res = [], []
    for im in images[: n_images - 2]:  # the last two images have no ground truth
        objs = []
        for _ in range(int(rng.integers(0, gt_per_image + 1))):
            w, h = rng.uniform(4, w_img / 1.5), rng.uniform(4, h_img / 1.5)
            x, y = rng.uniform(0, w_img - w), rng.uniform(0, h_img - h)
            cat = cats[int(rng.integers(0, n_cats))]["id"]
            crowd = int(rng.random() < 0.1)
            area = float(w * h) if rng.random() < 0.8 else [32.0**2, 96.0**2][rng.integers(0, 2)]
            ann = {"id": len(anns) + 1, "image_id": im["id"], "category_id": cat,
                   "bbox": [x, y, w, h], "area": area, "iscrowd": crowd}  # fmt: skip
            poly = None
            if segm is not None:
                poly = _polygon(rng, x, y, w, h)
                rle = mask_utils.merge(mask_utils.frPyObjects([poly], h_img, w_img))
                if crowd:
                    ann["segmentation"] = _uncompressed(rle)
                elif segm == "rle":
                    ann["segmentation"] = {"size": [h_img, w_img], "counts": rle["counts"].decode()}
                else:
                    ann["segmentation"] = [poly]
            anns.append(ann)
            objs.append((x, y, w, h, cat, poly))
        for _ in range(int(rng.integers(0, dets_per_image + 1))):
            if objs and rng.random() < 0.7:  # a jittered copy of an object
                x, y, w, h, cat, poly = objs[int(rng.integers(0, len(objs)))]
                j = rng.normal(0, 0.12, 4) * [w, h, w, h]
                x, y, w, h = x + j[0], y + j[1], max(w + j[2], 1.0), max(h + j[3], 1.0)
                if rng.random() < 0.1:
                    cat = cats[int(rng.integers(0, n_cats + 1))]["id"]
            else:  # a false positive anywhere
                poly = None
                w, h = rng.uniform(4, w_img / 2), rng.uniform(4, h_img / 2)
                x, y = rng.uniform(0, w_img - w), rng.uniform(0, h_img - h)
                cat = cats[int(rng.integers(0, n_cats + 1))]["id"]
            tied = rng.random() < 0.3
            score = float(rng.choice([0.5, 0.25, 0.75])) if tied else float(rng.random())
            det = {"image_id": im["id"], "category_id": cat, "bbox": [x, y, w, h], "score": score}
            if segm is not None:
                if poly is None:
                    poly = _polygon(rng, x, y, w, h)
                else:  # the object's outline, jittered
                    poly = (np.asarray(poly) + rng.normal(0, 1.5, len(poly))).round(2).tolist()
                rle = mask_utils.merge(mask_utils.frPyObjects([poly], h_img, w_img))
                counts = rle["counts"].decode()
                det = {"image_id": im["id"], "category_id": cat, "score": score,
                       "segmentation": {"size": [h_img, w_img], "counts": counts}}  # fmt: skip
            res.append(det)
            if rng.random() < 0.05:  # an exact duplicate
                res.append(dict(det))
    for im in images[n_images - 2 :]:  # false positives on images without ground truth
        d = {"image_id": im["id"], "category_id": cats[0]["id"], "score": 0.6}
        if segm is None:
            d["bbox"] = [1, 1, 20, 20]
        else:
            d["segmentation"] = [[1, 1, 20, 1, 20, 20, 1, 20]]
        res.append(d)
    return {"images": images, "annotations": anns, "categories": cats}, res


def reference(gt, res, iou_type="bbox", **params):
    """pycocotools' COCOeval on deep copies (it writes into its inputs)."""
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = copy.deepcopy(gt)
        coco.createIndex()
        r = copy.deepcopy(res)
        for d in r:  # pycocotools' loadRes only reads RLE segmentations in results
            if iou_type == "segm" and isinstance(d.get("segmentation"), list):
                im = next(i for i in gt["images"] if i["id"] == d["image_id"])
                d["segmentation"] = mask_utils.merge(
                    mask_utils.frPyObjects(d["segmentation"], im["height"], im["width"])
                )
        e = COCOeval(coco, coco.loadRes(r), iou_type)
        for k, v in params.items():
            setattr(e.params, k, v)
        e.evaluate()
        e.accumulate()
        e.summarize()
    return e


def assert_same(e, r):
    assert np.abs(np.asarray(e.stats) - r.stats).max() <= 1e-10
    assert np.array_equal(e.eval["precision"], r.precision)
    assert np.array_equal(e.eval["recall"], r.recall)


@pytest.mark.parametrize("seed", range(4))
def test_bbox_equals_pycocotools(seed):
    gt, res = synthetic_coco(seed)
    r = evaluate_coco(gt, res)
    e = reference(gt, res)
    assert_same(e, r)
    assert r.stats[0] > 0.05  # the data set is not trivial
    # per-class AP: mean of precision at area all, maxDet 100; -1 for the class without gt
    for k, cid in enumerate(e.params.catIds):
        s = e.eval["precision"][:, :, k, 0, -1]
        want = float(np.mean(s[s > -1])) if (s > -1).any() else -1.0
        assert r.per_class[cid] == pytest.approx(want, abs=1e-12)
    assert r.per_class[gt["categories"][-1]["id"]] == -1.0


@pytest.mark.parametrize("kind", ["polygon", "rle"])
@pytest.mark.parametrize("seed", range(2))
def test_segm_equals_pycocotools(kind, seed):
    gt, res = synthetic_coco(seed, segm=kind)
    r = evaluate_coco(gt, res, "segm")
    assert_same(reference(gt, res, "segm"), r)
    assert r.stats[0] > 0.05


def test_segm_with_polygon_results_and_bbox_results():
    gt, res = synthetic_coco(5, segm="polygon", n_images=12)
    poly = [dict(d, segmentation=[[1, 1, 30, 2, 25, 40, 3, 30]]) for d in res[:5]] + res[5:]
    assert_same(reference(gt, poly, "segm"), evaluate_coco(gt, poly, "segm"))
    # box results evaluated as segm: loadRes turns each box into a polygon, area = w * h
    gt_b, res_b = synthetic_coco(6, n_images=12)
    for a in gt_b["annotations"]:
        x, y, w, h = a["bbox"]
        a["segmentation"] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    assert_same(reference(gt_b, res_b, "segm"), evaluate_coco(gt_b, res_b, "segm"))


def test_custom_max_dets_area_ranges_and_thresholds():
    gt, res = synthetic_coco(7, dets_per_image=25)
    max_dets, areas = [2, 5, 20], [[0, 1e10], [0, 40**2], [40**2, 80**2], [80**2, 1e10]]
    r = evaluate_coco(gt, res, max_dets=(20, 2, 5), area_ranges=areas)
    assert_same(reference(gt, res, maxDets=max_dets, areaRng=areas), r)
    assert r.stats[0] == -1.0  # AP is read at maxDets=100, which is not evaluated (pycocotools)
    thr = np.array([0.3, 0.5, 0.75])
    r2 = evaluate_coco(gt, res, iou_thresholds=thr, area_ranges={"all": (0, 1e10)})
    e2 = reference(gt, res, iouThrs=thr, areaRng=[[0, 1e10]], areaRngLbl=["all"])
    assert_same(e2, r2)


def test_exact_area_bounds_are_in_both_bins():
    gt = {
        "images": [{"id": 1}],
        "categories": [{"id": 1}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [0, 0, 32, 32],
                "area": 1024.0,
                "iscrowd": 0,
            }
        ],
    }
    res = [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 32, 32], "score": 1.0}]
    r = evaluate_coco(gt, res)
    assert r.stats[3] == pytest.approx(1.0) and r.stats[4] == pytest.approx(1.0)
    assert r.stats[5] == -1.0
    assert_same(reference(gt, res), r)


def test_two_runs_are_bit_identical_and_input_is_not_modified():
    gt, res = synthetic_coco(8)
    gt0, res0 = copy.deepcopy(gt), copy.deepcopy(res)
    a, b = evaluate_coco(gt, res), evaluate_coco(gt, res)
    assert a.stats.tobytes() == b.stats.tobytes()
    assert a.precision.tobytes() == b.precision.tobytes()
    assert gt == gt0 and res == res0
    assert len(a.summary().splitlines()) == 12 and "maxDets=100" in a.summary()


def test_annotation_id_zero_is_matched():
    gt, res = synthetic_coco(9)
    shifted = copy.deepcopy(gt)
    for a in shifted["annotations"]:
        a["id"] -= 1  # ids 0, 1, 2, ...
    # pycocotools counts a match to id 0 as a miss; pixlearn does not: same as ids from 1
    assert np.array_equal(evaluate_coco(shifted, res).stats, evaluate_coco(gt, res).stats)


def test_paths_empty_results_and_no_detections(tmp_path):
    gt, res = synthetic_coco(10, n_images=8)
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "res.json").write_text(json.dumps(res))
    r = evaluate_coco(str(tmp_path / "gt.json"), tmp_path / "res.json")
    assert np.array_equal(r.stats, evaluate_coco(gt, res).stats)
    empty = evaluate_coco(gt, [])
    assert (
        empty.stats[0] == 0.0
        and (empty.precision[:, :, :-1, 0][empty.precision[:, :, :-1, 0] > -1] == 0).all()
    )


def _evaluator_batches(seed):
    gt, res = synthetic_coco(seed, n_images=10)
    preds, targets = [], []
    for im in gt["images"]:
        anns = [a for a in gt["annotations"] if a["image_id"] == im["id"]]
        dets = [d for d in res if d["image_id"] == im["id"]]
        xyxy = lambda b: [b[0], b[1], b[0] + b[2], b[1] + b[3]]  # noqa: E731
        targets.append(
            {
                "boxes": torch.tensor([xyxy(a["bbox"]) for a in anns], dtype=torch.float64).reshape(
                    -1, 4
                ),
                "labels": torch.tensor([a["category_id"] for a in anns], dtype=torch.int64),
                "iscrowd": torch.tensor([a["iscrowd"] for a in anns], dtype=torch.int64),
                "area": torch.tensor([a["area"] for a in anns], dtype=torch.float64),
            }
        )
        preds.append(
            {
                "boxes": torch.tensor([xyxy(d["bbox"]) for d in dets], dtype=torch.float64).reshape(
                    -1, 4
                ),
                "scores": torch.tensor([d["score"] for d in dets], dtype=torch.float64),
                "labels": torch.tensor([d["category_id"] for d in dets], dtype=torch.int64),
            }
        )
    return gt, preds, targets


def test_evaluator_equals_evaluate_coco():
    gt0, preds, targets = _evaluator_batches(11)
    ev = COCOEvaluator()
    ev.update(preds[:4], targets[:4])
    ev.update(preds[4:], targets[4:])
    out = ev.compute()
    cats = [c["id"] for c in gt0["categories"]]
    gt = coco_ground_truth(targets, [(120, 160)] * len(targets), cats)
    res = coco_results(preds, list(range(len(preds))))
    assert np.array_equal(out.stats, evaluate_coco(gt, res).stats)
    assert_same(reference(gt, res), out)
    ev.reset()
    ev.update(preds[:2], targets[:2])
    assert not np.array_equal(ev.compute().stats, out.stats)


def test_evaluator_segm_with_masks():
    masks = torch.zeros(2, 20, 30, dtype=torch.bool)
    masks[0, 2:10, 3:12] = True
    masks[1, 12:18, 15:28] = True
    boxes = torch.tensor([[3.0, 2.0, 12.0, 10.0], [15.0, 12.0, 28.0, 18.0]])
    target = {"boxes": boxes, "labels": torch.tensor([1, 2]), "masks": masks}
    pred = {
        "boxes": boxes,
        "scores": torch.tensor([0.9, 0.8]),
        "labels": torch.tensor([1, 2]),
        "masks": masks.float() * 0.9,
    }
    ev = COCOEvaluator("segm")
    ev.update([pred], [target])
    out = ev.compute()
    assert out.stats[0] == pytest.approx(1.0)
    gt = coco_ground_truth([target], [(20, 30)])
    assert gt["annotations"][0]["area"] == 72.0


def _gt_res():
    gt, res = synthetic_coco(12, n_images=6)
    return copy.deepcopy(gt), copy.deepcopy(res)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda g, r: r[3].update(image_id=99999), r"results\[3\]\['image_id'\] = 99999"),
        (lambda g, r: r[2].update(category_id=4242), r"results\[2\]\['category_id'\]"),
        (lambda g, r: r[1].pop("score"), r"results\[1\] has no key 'score'"),
        (lambda g, r: r[4].update(bbox=[1, 2, -3, 4]), r"results\[4\]\['bbox'\].*width"),
        (lambda g, r: r[0].update(bbox=[1, 2, 3]), r"results\[0\]\['bbox'\]"),
        (lambda g, r: r[5].update(score=float("nan")), r"results\[5\]\['score'\]"),
        (lambda g, r: g["annotations"][2].pop("area"), r"ground_truth\['annotations'\]\[2\]"),
        (lambda g, r: g["annotations"][1].update(bbox=[0, 0, 5, -1]), r"annotations'\]\[1\]"),
        (lambda g, r: g.pop("categories"), r"ground_truth must have a list 'categories'"),
    ],
)
def test_bad_input_names_the_entry(edit, match):
    gt, res = _gt_res()
    edit(gt, res)
    with pytest.raises(ValueError, match=match):
        evaluate_coco(gt, res)


def test_bad_polygons_files_and_options(tmp_path):
    gt, res = synthetic_coco(13, n_images=6, segm="polygon")
    bad = copy.deepcopy(gt)
    i = next(j for j, a in enumerate(bad["annotations"]) if isinstance(a["segmentation"], list))
    bad["annotations"][i]["segmentation"] = [[0, 0, 5, 5]]
    with pytest.raises(
        ValueError, match=rf"annotations'\]\[{i}\]\['segmentation'\]\[0\].*3 points"
    ):
        evaluate_coco(bad, res, "segm")
    bad_res = copy.deepcopy(res)
    bad_res[2]["segmentation"] = [[0, 0, 5, 5, 6]]
    with pytest.raises(ValueError, match=r"results\[2\]\['segmentation'\]\[0\]"):
        evaluate_coco(gt, bad_res, "segm")
    path = tmp_path / "broken.json"
    path.write_text('{"images": [')
    with pytest.raises(ValueError, match=r"broken\.json"):
        evaluate_coco(str(path), res)
    with pytest.raises(ValueError, match="iou_type"):
        evaluate_coco(gt, res, "keypoints")
    with pytest.raises(ValueError, match="max_dets"):
        evaluate_coco(gt, res, max_dets=(0, 10))
    with pytest.raises(TypeError, match="results"):
        evaluate_coco(gt, {"not": "a list"})
