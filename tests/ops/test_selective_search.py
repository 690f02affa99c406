import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pixlearn.data import sample
from pixlearn.ops import selective_search
from pixlearn.ops.selective_search import _features, _group, _rgb_to_space
from pixlearn.segmentation import felzenszwalb

# hand-placed ground truth on the full-size samples (xyxy pixels), read off the images
GROUND_TRUTH = {
    "astronaut": [
        (175, 60, 280, 185),
        (305, 350, 512, 512),
        (130, 335, 210, 415),
        (355, 0, 460, 265),
    ],
    "coffee": [(175, 20, 410, 275), (75, 75, 475, 385), (330, 65, 415, 325), (200, 100, 375, 200)],
    "chelsea": [(25, 0, 400, 300), (135, 85, 205, 155), (300, 115, 345, 175), (240, 230, 300, 280)],
}


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def _iou(boxes, box):
    """IoU of each row of ``boxes`` with one ``box`` (xyxy, continuous)."""
    ix = (torch.minimum(boxes[:, 2], box[2]) - torch.maximum(boxes[:, 0], box[0])).clamp_min(0)
    iy = (torch.minimum(boxes[:, 3], box[3]) - torch.maximum(boxes[:, 1], box[1])).clamp_min(0)
    inter = ix * iy
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / (area + (box[2] - box[0]) * (box[3] - box[1]) - inter)


def _small(name, side=200):
    img = sample(name)
    h, w = img.shape[-2:]
    f = side / max(h, w)
    return F.interpolate(img[None], size=(round(h * f), round(w * f)), mode="area")[0], f


@pytest.fixture(scope="module")
def rectangles():
    img = torch.full((3, 60, 80), 0.5)
    rects = [(5, 5, 30, 25, (1.0, 0.0, 0.0)), (40, 10, 70, 30, (0.0, 0.0, 1.0)),
             (20, 38, 60, 55, (0.0, 1.0, 0.0))]  # fmt: skip
    for x1, y1, x2, y2, colour in rects:
        img[:, y1:y2, x1:x2] = torch.tensor(colour)[:, None, None]
    return img, [r[:4] for r in rects]


def test_synthetic_rectangles_are_recovered(rectangles):
    img, rects = rectangles
    boxes = selective_search(img, generator=_gen())
    for rect in rects:
        assert _iou(boxes, torch.tensor(rect, dtype=torch.float32)).max() > 0.9


@pytest.mark.parametrize("name", list(GROUND_TRUTH))
def test_recall_on_sample_photos(name):
    img, f = _small(name)
    boxes = selective_search(img, generator=_gen())
    best = [float(_iou(boxes, torch.tensor(b) * f).max()) for b in GROUND_TRUTH[name]]
    # measured (fast, 200 px): every box found, best IoU 0.68 .. 0.93
    assert sum(b >= 0.5 for b in best) >= 3


def test_boxes_are_valid_ranked_unique_and_include_the_whole_image(rectangles):
    img, _ = rectangles
    boxes = selective_search(img, generator=_gen())
    h, w = img.shape[-2:]
    assert boxes.dtype == img.dtype and boxes.shape[1] == 4
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 1] >= 0).all()
    assert (boxes[:, 2] <= w).all() and (boxes[:, 3] <= h).all()
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
    assert torch.equal(boxes, boxes.round())  # region boxes lie on pixel edges
    assert len(torch.unique(boxes, dim=0)) == len(boxes)
    assert [0.0, 0.0, float(w), float(h)] in boxes.tolist()


def test_number_of_proposals_is_about_twice_the_initial_regions():
    img, _ = _small("coffee", side=120)
    boxes = selective_search(img, scale=100.0, generator=_gen())
    n = []
    for space in ("hsv", "lab"):
        x = _rgb_to_space(img.double(), space)
        n.append(int(felzenszwalb(x, scale=100.0, min_size=100).max()) + 1)
    # two colour spaces x two similarity sets, each giving 2 n - 1 boxes before deduplication
    assert max(n) < len(boxes) <= 2 * sum(2 * k - 1 for k in n)
    assert len(boxes) >= 1.5 * max(n)


def test_deterministic_with_a_seeded_generator_and_seed_only_changes_the_order(rectangles):
    img, _ = rectangles
    a = selective_search(img, generator=_gen(3))
    assert torch.equal(a, selective_search(img, generator=_gen(3)))
    b = selective_search(img, generator=_gen(4))
    assert not torch.equal(a, b)
    key = lambda t: sorted(map(tuple, t.tolist()))  # noqa: E731
    assert key(a) == key(b)


def test_max_proposals_keeps_the_best_ranked(rectangles):
    img, _ = rectangles
    full = selective_search(img, generator=_gen())
    top = selective_search(img, max_proposals=5, generator=_gen())
    assert torch.equal(top, full[:5])


def test_ranking_favours_the_top_of_the_hierarchy():
    img, _ = _small("chelsea", side=100)
    boxes = selective_search(img, generator=_gen())
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    half = len(boxes) // 2
    # v_i = i * RND puts boxes made late (large regions) first on average
    assert area[:half].mean() > 2 * area[half:].mean()


def test_grey_input_equals_rgb_with_equal_channels():
    grey = _small("coffee", side=80)[0].mean(0)  # (H, W)
    expected = selective_search(grey.expand(3, -1, -1), generator=_gen())
    assert torch.equal(selective_search(grey, generator=_gen()), expected)
    assert torch.equal(selective_search(grey[None], generator=_gen()), expected)


def test_dtype_layout_and_input_untouched(rectangles):
    img, _ = rectangles
    expected = selective_search(img, generator=_gen())
    img64 = img.double()
    out = selective_search(img64, generator=_gen())
    assert out.dtype == torch.float64 and torch.equal(out.float(), expected)
    nc = img.transpose(1, 2).contiguous().transpose(1, 2)
    assert not nc.is_contiguous()
    before = nc.clone()
    assert torch.equal(selective_search(nc, generator=_gen()), expected)
    assert torch.equal(nc, before)


def test_quality_mode_gives_more_proposals():
    img, _ = _small("coffee", side=64)
    fast = selective_search(img, generator=_gen())
    quality = selective_search(img, mode="quality", generator=_gen())
    assert len(quality) > len(fast)
    assert [0.0, 0.0, 64.0, float(img.shape[1])] in quality.tolist()


def _slow_group(labels, img, sims):
    """Reference hierarchical grouping: each step recomputes every histogram from the pixels
    of the current regions (no size-weighted update) and merges the most similar neighbours,
    ties to the lexicographically smallest pair of region ids."""
    h, w = labels.shape
    col, tex = _features(img)
    ncol, ntex = col.shape[0] * 25, tex.shape[0] * 80
    regions = {i: labels == i for i in range(labels.max() + 1)}
    boxes = []

    def bbox(m):
        ys, xs = np.nonzero(m)
        return (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)

    def hist(m, bins, width):
        hh = np.bincount(bins[:, m.ravel()].ravel(), minlength=width).astype(float)
        return hh / hh.sum()

    for i in sorted(regions):
        boxes.append(bbox(regions[i]))
    while len(regions) > 1:
        best, pair = -1.0, None
        keys = sorted(regions)
        for a in keys:
            grown = np.zeros_like(regions[a])
            grown[:, :-1] |= regions[a][:, 1:]
            grown[:, 1:] |= regions[a][:, :-1]
            grown[:-1] |= regions[a][1:]
            grown[1:] |= regions[a][:-1]
            for b in keys:
                if b <= a or not (grown & regions[b]).any():
                    continue
                ma, mb = regions[a], regions[b]
                s = 0.0
                if "c" in sims:
                    s += np.minimum(hist(ma, col, ncol), hist(mb, col, ncol)).sum()
                if "t" in sims:
                    s += np.minimum(hist(ma, tex, ntex), hist(mb, tex, ntex)).sum()
                if "s" in sims:
                    s += 1 - (ma.sum() + mb.sum()) / (h * w)
                if "f" in sims:
                    x1, y1, x2, y2 = bbox(ma | mb)
                    s += 1 - ((x2 - x1) * (y2 - y1) - ma.sum() - mb.sum()) / (h * w)
                if s > best:
                    best, pair = s, (a, b)
        a, b = pair
        merged = regions.pop(a) | regions.pop(b)
        regions[len(boxes)] = merged  # ids in creation order, as in the implementation
        boxes.append(bbox(merged))
    return boxes


@pytest.mark.parametrize("sims", ["ctsf", "tsf", "f", "s"])
def test_grouping_matches_a_slow_reference(sims):
    g = _gen(5)
    # random 4x4 blocks plus a little noise: ~30 initial regions of various sizes
    img = torch.rand(3, 6, 8, generator=g, dtype=torch.float64)
    img = img.repeat_interleave(4, 1).repeat_interleave(4, 2)  # (3, 24, 32)
    img = (img + 0.05 * torch.rand(img.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    img = _rgb_to_space(img, "hsv")
    labels = felzenszwalb(img, scale=100.0, min_size=8).numpy()
    assert labels.max() + 1 > 20
    got = _group(labels, *_features(img), sims, 24, 32)
    ref = _slow_group(labels, img, sims)
    assert len(got) == 2 * (labels.max() + 1) - 1
    assert [tuple(map(int, b)) for b in ref] == got


def test_integer_images_are_refused():
    with pytest.raises(TypeError, match=r"image.*float"):
        selective_search(torch.zeros(3, 8, 8, dtype=torch.uint8))


@pytest.mark.parametrize(
    "bad", [torch.full((3, 8, 8), float("nan")), torch.zeros(3, 0, 8), torch.zeros(2, 8, 8),
            torch.zeros(4, 8, 8), torch.zeros(1, 3, 8, 8)],
)  # fmt: skip
def test_bad_images_name_the_argument(bad):
    with pytest.raises(ValueError, match="image"):
        selective_search(bad)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"mode": "slow"}, "mode"),
        ({"scale": 0.0}, "scale"),
        ({"scale": (50.0, -1.0)}, "scale"),
        ({"scale": ()}, "scale"),
        ({"sigma": -1.0}, "sigma"),
        ({"min_size": 0}, "min_size"),
        ({"max_proposals": 0}, "max_proposals"),
    ],
)
def test_bad_options_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        selective_search(torch.rand(3, 8, 8), **kwargs)
