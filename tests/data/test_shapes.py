import json
import math

import numpy as np
import pytest
import torch
from pycocotools.coco import COCO
from scipy import ndimage

from pixlearn.data.synthetic import SHAPE_KINDS, shapes, to_coco

# pycocotools' own decoder warns under NumPy 2
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def scenes():
    ds = shapes(40, size=(96, 128), seed=5)
    return ds, [ds[i] for i in range(len(ds))]


@pytest.fixture(scope="module")
def singles():
    """One shape per scene, so that nothing occludes it."""
    return list(shapes(45, size=64, shapes_per_image=1, scale=(20, 40), seed=6))


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


def test_shapes_dtypes_and_counts(scenes):
    ds, items = scenes
    assert ds.class_names == SHAPE_KINDS == ("circle", "square", "triangle")
    counts = []
    for image, t in items:
        n = len(t["labels"])
        counts.append(n)
        assert image.shape == (3, 96, 128) and image.dtype == torch.float32
        assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0
        assert t["boxes"].shape == (n, 4) and t["boxes"].dtype == torch.float32
        assert t["labels"].dtype == torch.int64 and "source" not in t
        assert t["masks"].shape == (n, 96, 128) and t["masks"].dtype == torch.bool
        assert t["semantic"].shape == (96, 128) and t["semantic"].dtype == torch.int64
    assert min(counts) >= 1 and max(counts) <= 5 and len(set(counts)) > 2
    labels = torch.cat([t["labels"] for _, t in items])
    assert set(labels.tolist()) == {0, 1, 2}


def test_boxes_masks_and_semantic_mask_agree(scenes):
    for _, t in scenes[1]:
        masks, labels = t["masks"], t["labels"]
        for box, mask in zip(t["boxes"].tolist(), masks.numpy(), strict=True):
            assert mask.any() and box == _tight_box(mask)
        assert int(masks.sum(0).max()) <= 1  # visible masks: each pixel has one owner
        assert torch.equal(t["semantic"], ((labels + 1)[:, None, None] * masks).sum(0))


def test_the_overlap_limit_holds(scenes):
    for _, t in scenes[1]:
        boxes = t["boxes"].tolist()
        for i in range(len(boxes)):
            for j in range(i):
                assert _iou(boxes[i], boxes[j]) <= 0.3 + 1e-12


def test_each_mask_has_the_geometry_of_its_kind(singles):
    # area / (pi r_max^2) with r_max the circumradius: circle 1, square 2/pi, triangle 3 sqrt3/4pi
    expected = np.array([1.0, 2 / math.pi, 3 * math.sqrt(3) / (4 * math.pi)])
    for _, t in singles:
        (mask,) = t["masks"].numpy()
        rows, cols = np.nonzero(mask)
        cy, cx = rows.mean() + 0.5, cols.mean() + 0.5
        # farthest pixel corner from the centroid
        r_max = max(
            np.hypot(rows + dy - cy, cols + dx - cx).max() for dy in (0, 1) for dx in (0, 1)
        )
        ratio = mask.sum() / (math.pi * r_max**2)
        assert int(np.abs(expected - ratio).argmin()) == int(t["labels"][0])
        # convex shapes: one connected region without holes
        assert ndimage.label(mask, structure=np.ones((3, 3)))[1] == 1
        assert np.array_equal(ndimage.binary_fill_holes(mask), mask)


def test_edges_are_anti_aliased_and_the_shape_is_flat_inside(singles):
    plain, soft = 0, []
    for image, t in singles:
        (mask,) = t["masks"].numpy()
        img = image.numpy()
        inner = ndimage.binary_erosion(mask, iterations=2)
        colour = img[:, inner].mean(1)
        assert np.abs(img[:, inner] - colour[:, None]).max() < 1e-5
        far = ~ndimage.binary_dilation(mask, iterations=2)
        if np.ptp(img[:, far], axis=1).max() > 1e-6:
            continue  # a gradient background: no single background colour
        plain += 1
        background = img[:, far][:, 0]
        c = int(np.abs(colour - background).argmax())
        # coverage a of each pixel, from I = a colour + (1 - a) background
        a = (img[c] - background[c]) / (colour[c] - background[c])
        rim_out = ndimage.binary_dilation(mask) & ~mask
        rim_in = mask & ~ndimage.binary_erosion(mask)
        assert a[rim_out].min() > -1e-5 and a[rim_out].max() <= 0.5 + 1e-5
        assert a[rim_in].min() >= 0.5 - 1e-5 and a[rim_in].max() < 1 + 1e-5
        soft.append(np.concatenate([a[rim_out] > 0.05, a[rim_in] < 0.95]))
    assert plain > 10
    # the edge is soft: a good share of the rim pixels are partly covered
    assert np.mean(np.concatenate(soft)) > 0.3


def test_squares_and_triangles_are_turned(singles):
    extents, aspects = {1: []}, []
    for _, t in singles:
        label = int(t["labels"][0])
        x1, y1, x2, y2 = t["boxes"][0].tolist()
        if label == 1:
            extents[1].append(float(t["masks"].sum()) / ((x2 - x1) * (y2 - y1)))
        elif label == 2:
            aspects.append((x2 - x1) / (y2 - y1))
    # an axis-aligned square fills its box; turned ones fill 1/2..1 of it
    assert len(extents[1]) > 3 and np.std(extents[1]) > 0.05
    # a turned equilateral triangle's box goes from 2/sqrt(3) wide to sqrt(3)/2 wide
    assert len(aspects) > 3 and np.std(aspects) > 0.05


def test_kinds_restricts_the_labels():
    ds = shapes(10, size=64, kinds=["triangle"], scale=(10, 20), seed=2)
    assert {int(label) for _, t in ds for label in t["labels"]} == {2}
    assert ds.class_names == SHAPE_KINDS


def test_items_are_deterministic_and_seeds_and_splits_differ():
    a, b = shapes(4, size=64, seed=9), shapes(4, size=64, seed=9)
    later_first = [b[i] for i in (3, 2, 1, 0)][::-1]
    for i in range(4):
        assert torch.equal(a[i][0], later_first[i][0]) and torch.equal(a[i][0], a[i][0])
        assert torch.equal(a[i][1]["masks"], later_first[i][1]["masks"])
    assert not torch.equal(a[0][0], shapes(4, size=64, seed=10)[0][0])
    assert not torch.equal(a[0][0], shapes(4, size=64, seed=9, split="test")[0][0])
    assert not torch.equal(a[0][0], a[1][0])


def test_the_coco_export_round_trips_through_pycocotools(scenes, tmp_path):
    ds, items = scenes
    path = tmp_path / "shapes.json"
    path.write_text(json.dumps(to_coco(ds)))
    coco = COCO(str(path))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == list(SHAPE_KINDS)
    for image_id, (_, t) in enumerate(items):
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))
        assert [a["category_id"] for a in anns] == t["labels"].tolist()
        for ann, mask in zip(anns, t["masks"], strict=True):
            assert ann["area"] == float(mask.sum())
            assert np.array_equal(coco.annToMask(ann).astype(bool), mask.numpy())


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"n": -1}, ValueError, "n"),
        ({"kinds": ("circle", "star")}, ValueError, r"kinds\[1\]"),
        ({"kinds": ()}, ValueError, "kinds"),
        ({"kinds": "circle"}, ValueError, "kinds"),
        ({"scale": 127}, ValueError, "scale"),
        ({"scale": (30, 10)}, ValueError, "scale"),
        ({"shapes_per_image": (3, 1)}, ValueError, "shapes_per_image"),
        ({"overlap": 2.0}, ValueError, "overlap"),
        ({"split": "validation"}, ValueError, "split"),
        ({"seed": -1}, ValueError, "seed"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, error, name):
    kwargs = {"n": 2, **kwargs}
    with pytest.raises(error, match=name):
        shapes(**kwargs)
