import numpy as np
import pytest
import torch
from skimage.feature import hog as sk_hog

from pixlearn._core.errors import NotFittedError, ShapeError, ValueRangeError
from pixlearn.data import load_dataset, sample
from pixlearn.features import HOGDetector
from pixlearn.metrics.detection import voc_evaluate
from pixlearn.transform import resize


def _split(split):
    ds = load_dataset("faces", split)
    return ds.images[ds.targets == 1][:, 0], ds.images[ds.targets == 0][:, 0]


def _grey(name):
    x = sample(name)
    return x.mean(0) if x.shape[0] > 1 else x[0]


@pytest.fixture(scope="module")
def negative_images():
    # photos without faces, shrunk so that training stays fast
    return [_grey(n)[::3, ::3].contiguous() for n in ("brick", "grass", "coffee", "chelsea")]


@pytest.fixture(scope="module")
def model(negative_images):
    faces, others = _split("train")
    g = torch.Generator().manual_seed(0)
    det = HOGDetector((25, 25))
    return det.fit(faces, others, negative_images=negative_images, mining_rounds=2, generator=g)


def test_decision_function_is_w_dot_skimage_hog_plus_b(model):
    faces, others = _split("val")
    x = torch.cat([faces, others]).double()
    ref = np.stack([sk_hog(p.numpy(), 9, (4, 4), (2, 2), "L2-Hys") for p in x])  # (N, 900)
    expected = ref @ model.coef_.numpy() + model.intercept_
    got = model.decision_function(x)
    assert got.dtype == torch.float64 and got.shape == (x.shape[0],)
    assert np.abs(got.numpy() - expected).max() < 1e-6
    # (N, 1, h, w) and float32 patches read the same
    assert torch.allclose(model.decision_function(x[:, None].float()), got, atol=1e-5)


def test_separates_held_out_patches(model):
    faces, others = _split("test")
    tpr = (model.decision_function(faces) > 0).double().mean().item()
    tnr = (model.decision_function(others) <= 0).double().mean().item()
    assert tpr >= 0.8  # measured 0.85 (17/20)
    assert tnr >= 0.95  # measured 1.0 (20/20)


def test_batched_window_scores_equal_per_window_scores(model):
    img = torch.rand(61, 70, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    (level, grid, sy, sx), *_ = model._pyramid(img, 1.2)
    assert torch.equal(level, img) and sy == sx == 1.0
    scores = model._score_grid(grid)  # every window at once (a correlation)
    # windows wholly inside: top-left pixel (4 i, 4 j) with 4 i + 25 <= 61
    assert scores.shape == ((61 - 25) // 4 + 1, (70 - 25) // 4 + 1)
    br, bc = model._blocks
    loop = torch.empty_like(scores)
    for i in range(scores.shape[0]):
        for j in range(scores.shape[1]):
            # the window's HOG: a slice of the block grid, flattened as hog() does
            x = grid[i : i + br, j : j + bc].reshape(-1)
            loop[i, j] = x @ model.coef_ + model.intercept_
    assert (scores - loop).abs().max() < 1e-10
    rows, cols = torch.tensor([0, 3, 9]), torch.tensor([11, 0, 5])
    feats = model._window_features(grid, rows, cols)
    assert torch.allclose(feats @ model.coef_ + model.intercept_, loop[rows, cols], atol=1e-12)


def test_grid_scores_match_patch_scores_inside_the_image(model):
    # the grid reads the pixels around a window on its border rows/cols: only close
    faces, _ = _split("test")
    img = torch.full((60, 120), 0.5)
    for k in range(4):
        img[12:37, 4 + 28 * k : 29 + 28 * k] = faces[k]
    (_, grid, _, _), *_ = model._pyramid(img, 1.2)
    s = model._score_grid(grid)[3, 1::7]  # the windows at (12, 4 + 28 k)
    d = model.decision_function(faces[:4])
    assert (s - d).abs().max() < 0.5


def test_detect_finds_pasted_faces_at_their_position(model):
    faces, _ = _split("test")
    scores = model.decision_function(faces)
    face = faces[int(scores.argmax())]
    img = torch.full((90, 120), 0.45)
    img[32:57, 48:73] = face  # at scale 1, cell-aligned
    img[40:76, 4:40] = resize(face, (36, 36))  # 1.44 = 1.2 ** 2 larger
    before = img.clone()
    boxes, s = model.detect(img)
    assert torch.equal(img, before)
    assert boxes.dtype == torch.float32 and s.shape == (boxes.shape[0],)
    assert bool((s[:-1] >= s[1:]).all()) and bool((s > 0).all())
    truth = torch.tensor([[48.0, 32, 73, 57], [4, 40, 40, 76]])
    from pixlearn.ops import box_iou

    best = box_iou(truth, boxes).max(1).values
    assert bool((best >= 0.5).all()), best
    # non-contiguous and (1, H, W) images give the same boxes
    b2, _ = model.detect(img.t().contiguous().t()[None])
    assert torch.equal(b2, boxes)
    b3, _ = model.detect(img.double(), max_detections=1)
    assert b3.dtype == torch.float64 and b3.shape == (1, 4)
    assert torch.allclose(b3.float(), boxes[:1], atol=1e-4)


def test_average_precision_on_composite_scenes(model):
    faces, _ = _split("test")
    g = torch.Generator().manual_seed(0)
    gt, dets = [], []
    for k, name in enumerate(("rocket", "coins", "moon")):
        img = _grey(name)[:192, :256].clone()
        boxes = []
        for j in range(3):
            size = (25, 30, 36)[j]
            y = 10 + 60 * j + int(torch.randint(0, 10, (1,), generator=g))
            x = 20 + 80 * j + int(torch.randint(0, 20, (1,), generator=g))
            face = faces[3 * k + j]
            img[y : y + size, x : x + size] = face if size == 25 else resize(face, (size, size))
            boxes.append([x, y, x + size, y + size])
        b, s = model.detect(img, score_threshold=-1.0)
        gt.append(
            {
                "boxes": torch.tensor(boxes, dtype=torch.float32),
                "labels": torch.ones(3, dtype=torch.int64),
            }
        )
        dets.append({"boxes": b, "scores": s, "labels": torch.ones(b.shape[0], dtype=torch.int64)})
    result = voc_evaluate(gt, dets)
    assert result.map >= 0.45  # measured 0.539 (9 faces, 3 scenes)


def test_mining_lowers_the_scores_of_background_windows(model, negative_images):
    faces, others = _split("train")
    g = torch.Generator().manual_seed(0)
    plain = HOGDetector().fit(
        faces, others, negative_images=negative_images, mining_rounds=0, generator=g
    )
    # false positives on the mining photos, without and with two rounds of mining
    n_plain = sum(plain.detect(img)[0].shape[0] for img in negative_images)
    n_mined = sum(model.detect(img)[0].shape[0] for img in negative_images)
    assert n_mined < n_plain


def test_window_larger_than_image_gives_empty_results(model):
    boxes, scores = model.detect(torch.rand(20, 100))
    assert boxes.shape == (0, 4) and scores.shape == (0,)
    assert boxes.dtype == torch.float32


def test_pixels_per_cell_default_fits_the_window():
    assert HOGDetector((25, 25)).pixels_per_cell == (4, 4)
    assert HOGDetector((128, 64)).pixels_per_cell == (8, 8)
    assert HOGDetector((128, 64)).n_features == 15 * 7 * 36


def test_errors(model):
    faces, others = _split("val")
    with pytest.raises(ValueRangeError, match="window"):
        HOGDetector((7, 25))  # smaller than one 8x8 block of 4x4 cells
    with pytest.raises(ValueRangeError, match="C"):
        HOGDetector(C=0.0)
    with pytest.raises(ValueRangeError, match="positives"):
        HOGDetector().fit(faces[:0], others)
    with pytest.raises(ValueRangeError, match="negatives"):
        HOGDetector().fit(faces, others[:0])
    with pytest.raises(ShapeError, match="positives"):
        HOGDetector().fit(faces[:, :20], others)
    with pytest.raises(ShapeError, match=r"negative_images\[0\]"):
        HOGDetector().fit(faces, others, negative_images=[torch.rand(3, 40, 40)])
    with pytest.raises(NotFittedError, match="fit"):
        HOGDetector().decision_function(faces)
    with pytest.raises(NotFittedError, match="fit"):
        HOGDetector().detect(torch.rand(40, 40))
    with pytest.raises(ShapeError, match="patches"):
        model.decision_function(torch.rand(2, 24, 25))
    with pytest.raises(ShapeError, match="image"):
        model.detect(torch.rand(3, 40, 40))
    with pytest.raises(ValueRangeError, match="image"):
        model.detect(torch.full((40, 40), float("nan")))
    with pytest.raises(ValueRangeError, match="scale_factor"):
        model.detect(torch.rand(40, 40), scale_factor=1.0)
    with pytest.raises(ValueRangeError, match="nms_threshold"):
        model.detect(torch.rand(40, 40), nms_threshold=1.5)
