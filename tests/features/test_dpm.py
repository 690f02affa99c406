import numpy as np
import pytest
import torch
import torch.nn.functional as F

from pixlearn._core.errors import DataFormatError, NotFittedError, ShapeError, ValueRangeError
from pixlearn.data import load_dataset, sample
from pixlearn.features._block_correlate import block_correlate
from pixlearn.features.dpm import DeformablePartModel
from pixlearn.features.dpm_train import _crop, init_parts
from pixlearn.metrics.detection import voc_evaluate
from pixlearn.ops import box_iou
from pixlearn.transform import resize


def _split(split):
    ds = load_dataset("faces", split)
    return ds.images[ds.targets == 1][:, 0], ds.images[ds.targets == 0][:, 0]


def _grey(name):
    x = sample(name)
    return x.mean(0) if x.shape[0] > 1 else x[0]


@pytest.fixture(scope="module")
def negative_images():
    return [_grey(n)[::4, ::4].contiguous() for n in ("brick", "grass", "coffee", "chelsea")]


@pytest.fixture(scope="module")
def model(negative_images):
    faces, others = _split("train")
    g = torch.Generator().manual_seed(0)
    dpm = DeformablePartModel((25, 25), n_parts=4)
    return dpm.fit(
        faces,
        others,
        negative_images=negative_images,
        rounds=1,
        random_windows=300,
        max_mined=300,
        generator=g,
    )


def test_fitted_shapes(model):
    assert model.root_.shape == (5, 5, 36) and model.part_grid == (11, 11)
    assert model.parts_.shape == (4, *model.part_size, 36)
    assert model.anchors_.shape == (4, 2) and model.deformation_.shape == (4, 4)
    assert bool((model.deformation_[:, 2:] >= model.min_deformation).all())
    assert DeformablePartModel((25, 25)).part_size == (4, 4)  # 6 parts cover 80 % of 11 x 11


def test_score_equals_a_loop_over_part_displacements(model):
    img = torch.rand(50, 61, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    _, root_grid, part_grid, sy, sx = model._levels(img, 1.2)[0]
    assert sy == sx == 1.0 and part_grid.shape[:2] == (2 * 50 // 4 - 1, 2 * 61 // 4 - 1)
    scores, places = model._score_grids(root_grid[None], part_grid[None])
    (rh, rw), (ph, pw) = model.root_size, model.part_size
    n_rows, n_cols = part_grid.shape[0] - ph + 1, part_grid.shape[1] - pw + 1
    for i, j in [(0, 0), (2, 5), (4, 3), (scores.shape[1] - 1, scores.shape[2] - 1)]:
        s = (root_grid[i : i + rh, j : j + rw] * model.root_).sum() + model.intercept_
        for k in range(model.n_parts):
            ay, ax = 2 * i + int(model.anchors_[k, 0]), 2 * j + int(model.anchors_[k, 1])
            wx, wy, wxx, wyy = model.deformation_[k].tolist()
            best, arg = -float("inf"), None
            for qy in range(n_rows):
                for qx in range(n_cols):
                    r = (part_grid[qy : qy + ph, qx : qx + pw] * model.parts_[k]).sum()
                    dy, dx = qy - ay, qx - ax
                    v = float(r) - (wx * dx + wy * dy + wxx * dx**2 + wyy * dy**2)
                    if v > best:
                        best, arg = v, (qy, qx)
            s = s + best
            assert places[0, i, j, k].tolist() == list(arg)
        assert abs(float(scores[0, i, j]) - float(s)) < 1e-6


def test_score_is_linear_in_the_parameters_given_the_placements(model):
    faces, others = _split("val")
    x = torch.cat([faces, others]).double()
    rg, pg = model._patch_grids(x)
    scores, places = model._score_grids(rg, pg)
    zero = torch.zeros(x.shape[0], dtype=torch.int64)
    idx = torch.stack([torch.arange(x.shape[0]), zero, zero], 1)
    psi = model._psi(rg, pg, idx, places[:, 0, 0])
    assert psi.shape == (x.shape[0], model.n_features)
    assert (psi @ model._beta() + model.intercept_ - scores[:, 0, 0]).abs().max() < 1e-9
    assert torch.allclose(model.decision_function(x[:, None].float()), scores[:, 0, 0], atol=1e-4)


def test_correlate_equals_conv2d():
    g = torch.Generator().manual_seed(2)
    # 40 x 40 grids: more than one chunk of the matrix product
    for shape, filt in [((40, 40, 40, 36), (6, 4, 4, 36)), ((2, 9, 7, 5), (1, 5, 3, 5))]:
        grid = torch.randn(*shape, generator=g, dtype=torch.float64)
        filters = torch.randn(*filt, generator=g, dtype=torch.float64)
        got = block_correlate(grid.transpose(1, 2).contiguous().transpose(1, 2), filters)
        ref = F.conv2d(grid.permute(0, 3, 1, 2), filters.permute(0, 3, 1, 2))
        assert got.shape == ref.shape and (got - ref).abs().max() < 1e-10
    empty = block_correlate(torch.zeros(0, 11, 11, 36), torch.zeros(4, 4, 4, 36))
    assert empty.shape == (0, 4, 8, 8)


def test_mined_windows_are_cut_from_the_photo_like_the_positives(model):
    img = torch.rand(50, 61, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    lv, root, part, _, _ = model._levels(img, 1.2)[0]
    shapes = [(root.shape[0] - 4, root.shape[1] - 4)]  # root positions, 5x5-block root
    flat = torch.tensor([0, 7, shapes[0][0] * shapes[0][1] - 1])
    wins = _crop([(lv, root[None], part[None])], flat, torch.tensor([0]), shapes, model)
    for k, f in enumerate(flat.tolist()):
        i, j = divmod(f, shapes[0][1])
        assert torch.equal(wins[k], img[4 * i : 4 * i + 25, 4 * j : 4 * j + 25])
    # inside a photo, a window's grid reads its border gradients from the pixels around it;
    # its own-pixel HOG (what the positives get) has them 0: equal blocks inside, not on top
    own = model._patch_grids(wins)[0]  # (3, 5, 5, 36)
    i, j = divmod(7, shapes[0][1])
    ctx = root[i : i + 5, j : j + 5]
    assert (own[1, 1:, 1:] - ctx[1:, 1:]).abs().max() < 1e-12
    assert (own[1, 0] - ctx[0]).abs().max() > 1e-3


def test_init_parts_takes_the_high_energy_regions():
    root = torch.zeros(5, 5, 36, dtype=torch.float64)
    root[0, 0] = 1.0
    root[4, 4] = 0.5
    parts, anchors = init_parts(root, (11, 11), 2, (3, 3))
    assert anchors.tolist() == [[0, 0], [8, 8]]  # the strongest corner first
    assert parts.shape == (2, 3, 3, 36) and float(parts[0, 0, 0, 0]) == 1.0


def test_separates_held_out_patches(model):
    faces, others = _split("test")
    tpr = (model.decision_function(faces) > 0).double().mean().item()
    tnr = (model.decision_function(others) <= 0).double().mean().item()
    sf, so = model.decision_function(faces), model.decision_function(others)
    auc = (sf[:, None] > so[None, :]).double().mean().item()
    print("tpr", tpr, "tnr", tnr, "auc", auc)
    assert tpr >= 0.9  # measured 1.0 (20/20)
    # the bias leans to faces (few patch negatives, many mined windows): rank, not threshold
    assert tnr >= 0.7  # measured 0.8 (0.65 while mined windows were read from the photo grid)
    assert auc >= 0.95  # measured 1.0


def test_detect_finds_a_pasted_face(model):
    faces, _ = _split("test")
    face = faces[int(model.decision_function(faces).argmax())]
    img = torch.full((80, 100), 0.45)
    img[28:64, 40:76] = resize(face, (36, 36))  # 1.44 = 1.2 ** 2 larger
    before = img.clone()
    boxes, scores, parts = model.detect(img, return_parts=True)
    assert torch.equal(img, before)
    assert boxes.dtype == torch.float32 and scores.shape == (boxes.shape[0],)
    assert parts.shape == (boxes.shape[0], 4, 4)
    assert bool((scores[:-1] >= scores[1:]).all())
    truth = torch.tensor([[40.0, 28, 76, 64]])
    assert box_iou(truth, boxes[:1]).item() >= 0.5
    # parts lie near the root box (they may move a little outside it)
    b = boxes[0]
    assert bool((parts[0, :, :2] >= b[:2] - 8).all() & (parts[0, :, 2:] <= b[2:] + 8).all())
    b2, _ = model.detect(img.t().contiguous().t()[None].double())
    assert b2.dtype == torch.float64 and torch.allclose(b2[0].float(), boxes[0], atol=1e-4)


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
        gt.append({"boxes": torch.tensor(boxes).float(), "labels": torch.ones(3).long()})
        dets.append({"boxes": b, "scores": s, "labels": torch.ones(b.shape[0]).long()})
    # measured 1.0 (9 faces, 3 scenes; the HOGDetector test's recipe, where it gets 0.539;
    # 0.892 while mined windows were described by the photo's grid, not their own pixels)
    assert voc_evaluate(gt, dets).map >= 0.9


def test_save_load_round_trip(model, tmp_path):
    path = tmp_path / "dpm.npz"
    model.save(path)
    back = DeformablePartModel.load(path)
    for name in ("root_", "parts_", "anchors_", "deformation_"):
        assert torch.equal(getattr(back, name), getattr(model, name))
    assert back.intercept_ == model.intercept_ and back.part_size == model.part_size
    x = _split("val")[0]
    assert torch.equal(back.decision_function(x), model.decision_function(x))
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    with pytest.raises(DataFormatError, match=r"bad\.npz"):
        DeformablePartModel.load(bad)
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(DataFormatError, match=r"other\.npz"):
        DeformablePartModel.load(tmp_path / "other.npz")


def test_window_larger_than_image_gives_empty_results(model):
    boxes, scores, parts = model.detect(torch.rand(20, 100), return_parts=True)
    assert boxes.shape == (0, 4) and scores.shape == (0,) and parts.shape == (0, 4, 4)


def test_errors(model):
    faces, others = _split("val")
    with pytest.raises(ValueRangeError, match="window"):
        DeformablePartModel((7, 25))
    with pytest.raises(ValueRangeError, match="part_size"):
        DeformablePartModel((25, 25), part_size=12)
    with pytest.raises(ValueRangeError, match="n_parts"):
        DeformablePartModel(n_parts=0)
    with pytest.raises(ValueRangeError, match="min_deformation"):
        DeformablePartModel(min_deformation=0.0)
    with pytest.raises(ValueRangeError, match="positives"):
        DeformablePartModel().fit(faces[:0], others)
    with pytest.raises(ValueRangeError, match="negatives"):
        DeformablePartModel().fit(faces, others[:0])
    with pytest.raises(ShapeError, match="positives"):
        DeformablePartModel().fit(faces[:, :20], others)
    with pytest.raises(NotFittedError, match="fit"):
        DeformablePartModel().detect(torch.rand(40, 40))
    with pytest.raises(NotFittedError, match="fit"):
        DeformablePartModel().decision_function(faces)
    with pytest.raises(ShapeError, match="image"):
        model.detect(torch.rand(3, 40, 40))
    with pytest.raises(ValueRangeError, match="image"):
        model.detect(torch.full((40, 40), float("nan")))
    with pytest.raises(ValueRangeError, match="scale_factor"):
        model.detect(torch.rand(40, 40), scale_factor=1.0)
    with pytest.raises(ShapeError, match="patches"):
        model.decision_function(torch.rand(2, 24, 25))
