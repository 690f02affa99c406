import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from sklearn.datasets import load_digits

from pixlearn.data.synthetic import SyntheticScenes, digit_scenes, to_coco

DIGITS = load_digits()
# pycocotools' own decoder warns under NumPy 2
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def grey():
    ds = digit_scenes(40, size=128, seed=3)
    return ds, [ds[i] for i in range(len(ds))]


@pytest.fixture(scope="module")
def colour():
    ds = digit_scenes(8, size=(96, 160), colour=True, clutter=0.8, seed=4)
    return ds, [ds[i] for i in range(len(ds))]


def _tight_box(mask: np.ndarray) -> list[float]:
    """Slow reference: the continuous xyxy box of a mask, pixel (r, c) spanning [c, c+1)."""
    rows = [r for r in range(mask.shape[0]) if mask[r].any()]
    cols = [c for c in range(mask.shape[1]) if mask[:, c].any()]
    return [cols[0], rows[0], cols[-1] + 1, rows[-1] + 1]


def _iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    area = lambda x: (x[2] - x[0]) * (x[3] - x[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


@pytest.mark.parametrize("which", ["grey", "colour"])
def test_shapes_and_dtypes(which, request):
    ds, items = request.getfixturevalue(which)
    h, w = ds.size
    c = 3 if which == "colour" else 1
    for image, t in items:
        n = len(t["labels"])
        assert image.shape == (c, h, w) and image.dtype == torch.float32
        assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0
        assert t["boxes"].shape == (n, 4) and t["boxes"].dtype == torch.float32
        assert t["labels"].dtype == torch.int64 and t["source"].shape == (n,)
        assert t["masks"].shape == (n, h, w) and t["masks"].dtype == torch.bool
        assert t["semantic"].shape == (h, w) and t["semantic"].dtype == torch.int64
        assert isinstance(t["image_id"], int)
    assert ds.class_names == tuple("0123456789")


def test_boxes_are_the_tight_boxes_of_the_masks(grey, colour):
    for _, items in (grey, colour):
        for _, t in items:
            for box, mask in zip(t["boxes"].tolist(), t["masks"].numpy(), strict=True):
                assert mask.any()
                assert box == _tight_box(mask)


def test_masks_are_disjoint_and_the_semantic_mask_is_their_union(grey):
    for _, t in grey[1]:
        masks, labels = t["masks"], t["labels"]
        assert int(masks.sum(0).max()) <= 1  # occlusion-aware: each pixel one owner
        expected = ((labels + 1)[:, None, None] * masks).sum(0)
        assert torch.equal(t["semantic"], expected)


def test_labels_are_the_labels_of_the_source_digits(grey, colour):
    for _, items in (grey, colour):
        for _, t in items:
            assert torch.equal(t["labels"], torch.from_numpy(DIGITS.target[t["source"].numpy()]))
            assert all(0 <= label <= 9 for label in t["labels"].tolist())


def _signature(patch: torch.Tensor) -> torch.Tensor:
    """An (h, w) ink patch resampled to 8x8 and standardised, for nearest-neighbour matching."""
    small = F.interpolate(patch[None, None].float(), size=(8, 8), mode="area").flatten()
    return (small - small.mean()) / small.std().clamp_min(1e-6)


def test_the_pasted_pixels_are_recognisably_that_digit():
    # the reference digits, upscaled, thresholded as the generator does and cropped to the ink
    refs = []
    for img in torch.from_numpy(DIGITS.images / 16.0).float():
        up = F.interpolate(img[None, None], size=(32, 32), mode="bicubic")[0, 0].clamp(0, 1)
        x1, y1, x2, y2 = _tight_box((up >= 0.5).numpy())
        refs.append(_signature(up[y1:y2, x1:x2]))
    refs = torch.stack(refs)  # (1797, 64)
    ds = digit_scenes(30, size=128, seed=7)  # default clutter, scales and overlap
    right = total = 0
    for image, t in ds:
        for box, mask, label in zip(t["boxes"].long(), t["masks"], t["labels"], strict=True):
            x1, y1, x2, y2 = box.tolist()
            crop = image[0, y1:y2, x1:x2]
            inside = mask[y1:y2, x1:x2]
            # ink may be darker or brighter than the background: make it the positive side
            sign = 1.0 if crop[inside].mean() > crop[~inside].mean() else -1.0
            nearest = int((refs @ _signature(sign * crop)).argmax())
            right += int(DIGITS.target[nearest] == label)
            total += 1
    assert total > 50
    assert right / total > 0.9  # measured: 0.98


def test_counts_stay_in_the_requested_range(grey):
    counts = [len(t["labels"]) for _, t in grey[1]]
    assert min(counts) >= 1 and max(counts) <= 6 and len(set(counts)) > 2
    exact = digit_scenes(5, size=128, digits_per_image=3, scale=(16, 24), seed=1)
    assert [len(t["labels"]) for _, t in exact] == [3] * 5


@pytest.mark.parametrize("overlap", [0.0, 0.2])
def test_the_overlap_limit_holds(overlap):
    ds = digit_scenes(15, size=96, digits_per_image=(3, 5), scale=(16, 32), overlap=overlap)
    for _, t in ds:
        boxes = t["boxes"].tolist()
        for i in range(len(boxes)):
            for j in range(i):
                assert _iou(boxes[i], boxes[j]) <= overlap + 1e-12


def test_a_plain_background_is_a_linear_ramp_and_the_masks_are_the_ink():
    ds = digit_scenes(6, size=96, scale=(20, 40), clutter=0.0, seed=2)
    rr, cc = np.mgrid[:96, :96]
    for image, t in ds:
        img = image[0].numpy().astype(np.float64)
        near = np.zeros((96, 96), bool)  # boxes grown by 2 px hold the soft rim of the ink
        for x1, y1, x2, y2 in t["boxes"].long().tolist():
            near[max(0, y1 - 2) : y2 + 2, max(0, x1 - 2) : x2 + 2] = True
        design = np.stack([np.ones(96 * 96), rr.ravel(), cc.ravel()], 1)
        coef, *_ = np.linalg.lstsq(design[~near.ravel()], img[~near], rcond=None)
        plane = (design @ coef).reshape(96, 96)
        assert np.abs(img - plane)[~near].max() < 1e-5
        for mask in t["masks"].numpy():
            # ink contrast >= 0.4 (the ramp moves it by <= 0.1) at opacity >= 1/2
            assert np.median(np.abs(img - plane)[mask]) > 0.2


def test_items_are_deterministic_and_order_independent():
    a = digit_scenes(6, size=64, scale=(16, 24), seed=11)
    b = digit_scenes(6, size=64, scale=(16, 24), seed=11)
    backwards = [b[i] for i in reversed(range(6))][::-1]
    for i, (image, t) in enumerate(a):
        assert torch.equal(image, backwards[i][0]) and torch.equal(image, a[i][0])
        assert torch.equal(t["masks"], backwards[i][1]["masks"])
        assert torch.equal(t["boxes"], b[i][1]["boxes"]) and t["image_id"] == i
    assert torch.equal(a[-1][0], a[5][0]) and a[-1][1]["image_id"] == 5


def test_seeds_and_splits_give_different_scenes():
    kw = {"size": 64, "scale": (16, 24)}
    base = digit_scenes(3, seed=0, **kw)[0][0]
    assert not torch.equal(base, digit_scenes(3, seed=1, **kw)[0][0])
    assert not torch.equal(base, digit_scenes(3, seed=0, split="val", **kw)[0][0])
    assert not torch.equal(base, digit_scenes(3, seed=0, **kw)[1][0])


def test_splits_use_disjoint_source_digits():
    used = {}
    for split in ("train", "val", "test"):
        ds = digit_scenes(60, size=96, scale=(16, 24), clutter=0.0, split=split)
        used[split] = {int(s) for _, t in ds for s in t["source"]}
        assert len(used[split]) > 80
    assert not used["train"] & used["val"]
    assert not used["train"] & used["test"]
    assert not used["val"] & used["test"]


def test_empty_sets_and_scenes():
    assert len(digit_scenes(0)) == 0 and to_coco(digit_scenes(0))["images"] == []
    image, t = digit_scenes(1, size=32, digits_per_image=0, scale=16)[0]
    assert image.shape == (1, 32, 32) and t["boxes"].shape == (0, 4)
    assert t["masks"].shape == (0, 32, 32) and t["labels"].shape == (0,)
    assert torch.equal(t["semantic"], torch.zeros(32, 32, dtype=torch.int64))
    assert to_coco(digit_scenes(2, size=32, digits_per_image=0, scale=16))["annotations"] == []


def test_the_coco_export_round_trips_through_pycocotools(colour, tmp_path):
    ds, items = colour
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(to_coco(ds)))
    coco = COCO(str(path))
    assert sorted(coco.getCatIds()) == list(range(10))
    assert [c["name"] for c in coco.loadCats(list(range(10)))] == list("0123456789")
    assert sorted(coco.getImgIds()) == list(range(len(ds)))
    for image_id, (image, t) in enumerate(items):
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))
        assert len(anns) == len(t["labels"])
        info = coco.imgs[image_id]
        assert (info["height"], info["width"]) == tuple(image.shape[-2:])
        for ann, box, label, mask in zip(anns, t["boxes"], t["labels"], t["masks"], strict=True):
            x1, y1, x2, y2 = box.tolist()
            assert ann["bbox"] == [x1, y1, x2 - x1, y2 - y1]
            assert ann["category_id"] == int(label) and ann["iscrowd"] == 0
            assert ann["area"] == float(mask.sum())
            assert np.array_equal(coco.annToMask(ann).astype(bool), mask.numpy())
    # the ground truth scored against itself is perfect
    dets = [{**a, "score": 1.0} for a in coco.dataset["annotations"]]
    evaluator = COCOeval(coco, coco.loadRes(dets), "segm")
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    assert evaluator.stats[0] == pytest.approx(1.0)


def test_the_data_set_object():
    ds = digit_scenes(3, size=64, scale=16)
    assert isinstance(ds, SyntheticScenes) and "digit_scenes" in repr(ds)
    with pytest.raises(IndexError, match="index"):
        ds[3]
    with pytest.raises(TypeError, match="index"):
        ds[1.5]


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"n": -1}, ValueError, "n"),
        ({"n": 2.0}, TypeError, "n"),
        ({"scale": 200}, ValueError, "scale"),
        ({"scale": (40, 20)}, ValueError, "scale"),
        ({"scale": 0}, ValueError, "scale"),
        ({"split": "dev"}, ValueError, "split"),
        ({"digits_per_image": (4, 2)}, ValueError, "digits_per_image"),
        ({"digits_per_image": (1, 2, 3)}, ValueError, "digits_per_image"),
        ({"digits_per_image": -1}, ValueError, "digits_per_image"),
        ({"clutter": 1.5}, ValueError, "clutter"),
        ({"overlap": -0.1}, ValueError, "overlap"),
        ({"colour": "yes"}, TypeError, "colour"),
        ({"seed": -3}, ValueError, "seed"),
        ({"size": (0, 64)}, ValueError, "size"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, error, name):
    kwargs = {"n": 2, **kwargs}
    with pytest.raises(error, match=name):
        digit_scenes(**kwargs)


def test_impossible_scenes_name_the_count():
    ds = digit_scenes(1, size=40, digits_per_image=8, scale=36, overlap=0.0)
    with pytest.raises(ValueError, match="digits_per_image"):
        ds[0]


def test_to_coco_refuses_other_objects():
    with pytest.raises(TypeError, match="dataset"):
        to_coco([1, 2, 3])
