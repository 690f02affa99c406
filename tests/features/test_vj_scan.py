"""The Viola-Jones scan (features._vj_scan, _vj_lookups, _vj_pyramid): every path of the fast
sliding window gives the patch classifier's verdict, to the last bit between its own paths."""

import copy

import numpy as np
import pytest
import torch

from pixlearn.data import sample
from pixlearn.features import (
    ViolaJones,
    _vj_lookups,
    _vj_scan,
    _vj_tables,
    haar_like_feature_coords,
)
from pixlearn.features._vj_lookups import cached_lookups, float32_cut
from pixlearn.features._vj_pyramid import resize_levels
from pixlearn.transform import resize


def _random_cascade(window, sizes, seed):
    """A cascade of random Haar stumps with thresholds at feature quantiles of random
    patches and stage thresholds passing about half of them (so every phase of the scan
    runs: most windows pass the first stages, few the last)."""
    g = torch.Generator().manual_seed(seed)
    h, w = window
    coords, _ = haar_like_feature_coords(w, h)
    vj = ViolaJones(window)
    patches = torch.rand(200, h, w, generator=g, dtype=torch.float64)
    for k in sizes:
        c = coords[torch.randperm(coords.shape[0], generator=g)[:k]]
        f = vj._normalised_features(patches.float(), c).double()  # (200, k)
        q = torch.rand(k, generator=g, dtype=torch.float64) * 0.6 + 0.2
        st = {
            "coords": c,
            "threshold": torch.quantile(f, q, dim=0).diagonal().contiguous(),
            "polarity": torch.where(torch.rand(k, generator=g) < 0.5, -1.0, 1.0).double(),
            "alpha": torch.rand(k, generator=g, dtype=torch.float64) + 0.1,
            "stage_threshold": 0.0,
        }
        votes = (st["polarity"] * f < st["polarity"] * st["threshold"]).double() @ st["alpha"]
        st["stage_threshold"] = float(votes.quantile(0.3 if len(vj.stages) < 2 else 0.6))
        vj.stages.append(st)
    return vj


def _reference(vj, level, step):
    """Accepted windows ``(x, y)`` and margins from the patch classifier on every window."""
    h, w = vj.window
    if level.shape[0] < h or level.shape[1] < w:
        return torch.zeros(0, 2, dtype=torch.int64), torch.zeros(0, dtype=torch.float64)
    wins = level.unfold(0, h, step).unfold(1, w, step)  # (ny, nx, h, w)
    d = vj.decision_function(wins.reshape(-1, h, w))
    ys, xs = torch.meshgrid(
        torch.arange(wins.shape[0]) * step, torch.arange(wins.shape[1]) * step, indexing="ij"
    )
    return torch.stack([xs.reshape(-1), ys.reshape(-1)], -1)[d >= 0], d[d >= 0]


def _check_scan(vj, level, step):
    boxes, margin = vj._scan(level, step)
    ref_xy, ref_margin = _reference(vj, level, step)
    h, w = vj.window
    assert boxes.dtype == torch.float64 and boxes.shape == (ref_xy.shape[0], 4)
    assert torch.equal(boxes[:, :2].long(), ref_xy)
    assert torch.equal(boxes[:, 2:] - boxes[:, :2], torch.tensor([w, h]).double().expand_as(ref_xy))
    assert torch.allclose(margin, ref_margin, rtol=0, atol=1e-9)
    return boxes, margin


@pytest.fixture
def restore_numpy_errors():
    old = np.geterr()
    yield
    np.seterr(**old)


@pytest.fixture(scope="module")
def bundled():
    return ViolaJones.pretrained()


@pytest.fixture(scope="module")
def photo():
    """A real photo in grey: the astronaut, float32 in [0, 1]."""
    return sample("astronaut")[:3].mean(0)


@pytest.mark.parametrize("step", [1, 2, 3])
@pytest.mark.parametrize(
    ("window", "shape", "seed"), [((8, 8), (37, 52), 0), ((7, 10), (30, 41), 1)]
)
def test_scan_equals_the_patch_classifier_on_random_cascades(step, window, shape, seed):
    # stages of 3 (uint8 vote codes), 12 (uint16 codes) and 20 stumps (summed votes)
    vj = _random_cascade(window, (3, 12, 20, 6), seed)
    g = torch.Generator().manual_seed(10 + seed)
    level = torch.rand(*shape, generator=g, dtype=torch.float64)
    boxes, _ = _check_scan(vj, level, step)
    assert (
        0
        < boxes.shape[0]
        < len(range(0, shape[0] - window[0] + 1, step))
        * len(range(0, shape[1] - window[1] + 1, step))
    )


@pytest.mark.parametrize("step", [1, 2, 3])
def test_scan_equals_the_patch_classifier_on_a_photo(bundled, photo, step):
    level = photo[40:150, 150:290].double()  # the face and around it, odd offsets
    boxes, _ = _check_scan(bundled, level, step)
    assert boxes.shape[0] > 0  # the face is there


@pytest.mark.parametrize("shape", [(25, 25), (26, 61), (41, 26), (57, 38)])
def test_odd_sizes_and_a_level_of_exactly_one_window(bundled, photo, shape):
    level = photo[100 : 100 + shape[0], 180 : 180 + shape[1]].double()
    for step in (1, 2, 3, 7, 40):
        _check_scan(bundled, level, step)


@pytest.mark.parametrize("shape", [(24, 40), (40, 24), (3, 3)])
def test_levels_smaller_than_the_window_have_no_windows(bundled, shape):
    boxes, margin = bundled._scan(torch.rand(*shape, dtype=torch.float64), 2)
    assert boxes.shape == (0, 4) and margin.shape == (0,)


def test_constant_and_non_contiguous_levels(bundled, photo):
    flat = torch.full((40, 50), 0.5, dtype=torch.float64)
    _check_scan(bundled, flat, 2)  # every window's std is at the floor
    level = photo[60:130, 170:260].double()
    tl = level.T.contiguous().T  # same values, column-major
    assert not tl.is_contiguous()
    b1, m1 = bundled._scan(level, 2)
    b2, m2 = bundled._scan(tl, 2)
    assert torch.equal(b1, b2) and torch.equal(m1, m2)
    d1 = bundled.detect(photo[:200, 100:340])
    d2 = bundled.detect(photo[:200, 100:340].T.contiguous().T)
    assert torch.equal(d1[0], d2[0]) and torch.equal(d1[1], d2[1])


@pytest.mark.parametrize(
    "knobs",
    [
        {"_DENSE_FRACTION": 0.0},  # every stage on whole bands
        {"_DENSE_FRACTION": 2.0},  # every stage on gathered windows
        {"_BAND": 1, "_CHUNK": 7},  # one grid row per band, tiny chunks
        {"_FEW": 0},  # gathers one read at a time
        {"_FEW": 10**9, "_CHUNK": 10**9},  # all reads of a stage in one gather
        {"_MANY": 0},  # every sparse stage one read of one feature at a time
        {"_MANY": 0, "_CHUNK": 5},  # ... in tiny chunks
        {"_MANY": 10**9},  # never one feature at a time
        {"_FEW_SUBTABLES": 0},  # sub-tables by one transposed copy
        {"_FEW_SUBTABLES": 10**9},  # sub-tables copied one by one
        {"_INLINE": 50},  # integral images in many strips
    ],
)
def test_every_path_of_the_scan_gives_the_same_bits(photo, monkeypatch, knobs):
    vj = _random_cascade((9, 9), (4, 10, 18, 25), 3)
    level = photo[150:210, 200:283].double()
    ref = [vj._scan(level, s) for s in (1, 2)]
    for name, value in knobs.items():
        monkeypatch.setattr(_vj_tables if name in vars(_vj_tables) else _vj_scan, name, value)
    for s, (rb, rm) in zip((1, 2), ref, strict=True):
        b, m = vj._scan(level, s)
        assert torch.equal(b, rb) and torch.equal(m, rm)
    b, m = vj._scan(level, 5)  # 25 sub-tables
    rb, rm = _reference(vj, level, 5)
    assert torch.equal(b[:, :2].long(), rb) and torch.allclose(m, rm, rtol=0, atol=1e-9)


def test_read_indices_are_cached_per_table_layout(bundled, photo, monkeypatch):
    lk = cached_lookups(bundled)[0]
    assert lk.block_reads(2, 10, 30) is lk.block_reads(2, 10, 30)
    assert lk.flat_reads(51) is lk.flat_reads(51)
    assert lk.flat_reads(51) != lk.flat_reads(52)
    level = photo[40:150, 150:290].double()
    ref = [bundled._scan(level[:h], s) for h in (60, 110) for s in (1, 2)]
    # one cached layout at a time: every scan rebuilds them, with the same results
    monkeypatch.setattr(_vj_lookups, "_LAYOUTS", 1)
    bundled._lookup_cache = None  # fresh lookups
    got = [bundled._scan(level[:h], s) for h in (60, 110) for s in (1, 2)]
    for (b1, m1), (b2, m2) in zip(ref, got, strict=True):
        assert torch.equal(b1, b2) and torch.equal(m1, m2)
    assert all(len(lk._flat) <= 1 for lk in cached_lookups(bundled))


def test_vote_tables_give_the_same_bits_as_summed_votes(monkeypatch, photo):
    vj = _random_cascade((9, 9), (5, 9, 16), 4)
    level = photo[300:360, 200:270].double()
    b1, m1 = vj._scan(level, 1)
    monkeypatch.setattr(_vj_lookups, "_TABLE_STUMPS", 0)  # no tables
    vj._lookup_cache = None
    b2, m2 = vj._scan(level, 1)
    assert b1.shape[0] > 0 and torch.equal(b1, b2) and torch.equal(m1, m2)


def test_float32_cut_matches_rounding_to_float32(restore_numpy_errors):
    rng = np.random.default_rng(0)
    f32 = np.float32
    big = float(np.finfo(f32).max)
    b = np.concatenate(
        [
            rng.standard_normal(200) * 10.0 ** rng.integers(-3, 4, 200),
            rng.standard_normal(50).astype(f32).astype(np.float64),  # float32 bounds
            [0.0, -0.0, 1.0, 2.0, 0.5, 1e-45, -1e-45, big, -big, 2 * big, -2 * big],
            [np.inf, -np.inf, 2.0**128 - 2.0**103, -(2.0**128 - 2.0**103)],
        ]
    )
    cut = float32_cut(b)
    for bi, ci in zip(b, cut, strict=True):
        np.seterr(over="ignore")  # (restored by the fixture below)
        c = f32(bi)
        near = [c, np.nextafter(c, f32(np.inf)), np.nextafter(c, f32(-np.inf))]
        g = [float(v) for v in near if np.isfinite(v)] + [ci, bi, 2.0**128 - 2.0**103]
        g = np.array([x for x in g if np.isfinite(x)])
        # the midpoints between neighbouring float32 numbers and their float64 neighbours
        g = np.concatenate([g, (g[:, None] + g[None, :]).ravel() / 2])
        g = np.concatenate([g, np.nextafter(g, np.inf), np.nextafter(g, -np.inf), -g])
        with np.errstate(over="ignore"):
            want = g.astype(f32) < bi
        assert np.array_equal(g < ci, want), bi


def test_lookups_are_cached_and_rebuilt_when_the_stages_change(tmp_path):
    vj = _random_cascade((8, 8), (3, 6), 5)
    level = torch.rand(30, 40, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    first = cached_lookups(vj)
    assert cached_lookups(vj) is first  # unchanged stages: the same lookups
    _check_scan(vj, level, 1)
    vj.stages[0]["threshold"] += 0.3  # in place
    assert cached_lookups(vj) is not first
    _check_scan(vj, level, 1)
    vj.stages[1]["stage_threshold"] -= 0.5
    _check_scan(vj, level, 1)
    vj.stages.append(copy.deepcopy(vj.stages[0]))
    assert len(cached_lookups(vj)) == 3
    _check_scan(vj, level, 1)
    vj.stages = vj.stages[:1]
    _check_scan(vj, level, 1)
    # fit replaces the stages; load gives a fresh model
    g = torch.Generator().manual_seed(0)
    faces = torch.rand(40, 8, 8, generator=g) * 0.2
    faces[:, 2:4] += 0.6
    before = cached_lookups(vj)
    vj.n_features = 200
    vj.fit(faces, torch.rand(40, 8, 8, generator=g), generator=g)
    assert cached_lookups(vj) is not before and len(cached_lookups(vj)) == len(vj.stages)
    _check_scan(vj, level, 1)
    vj.save(tmp_path / "c.json")
    other = _random_cascade((8, 8), (4,), 6)
    other._scan(level, 1)
    loaded = ViolaJones.load(tmp_path / "c.json")
    assert torch.equal(loaded._scan(level, 1)[1], vj._scan(level, 1)[1])


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
@pytest.mark.parametrize(
    ("shape", "size"), [((480, 640), (384, 512)), ((97, 61), (31, 48)), ((40, 50), (40, 20))]
)
def test_pyramid_levels_are_resize_to_the_last_bit(dtype, shape, size):
    img = torch.rand(*shape, generator=torch.Generator().manual_seed(2)).to(dtype)
    assert torch.equal(resize_levels(img, [size])[0], resize(img, size))
    assert torch.equal(resize_levels(img, [shape])[0], img)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_whole_pyramid_is_resize_to_the_last_bit(dtype):
    img = torch.rand(97, 130, generator=torch.Generator().manual_seed(3)).to(dtype)
    # both axes (either first), rows only, columns only, the same size, growing
    sizes = [(80, 100), (50, 90), (60, 61), (97, 40), (30, 130), (97, 130), (120, 140)]
    levels = resize_levels(img, sizes)
    for size, level in zip(sizes, levels, strict=True):
        assert torch.equal(level, resize(img, size)), size
    tl = img.T.contiguous().T  # a column-major image: the same levels
    for a, b in zip(resize_levels(tl, sizes), levels, strict=True):
        assert torch.equal(a, b)


def test_detect_levels_are_the_resized_image(bundled, photo):
    img = photo[:300, :200]
    for level, s in bundled._levels(img, 1.3):
        size = (round(300 / s), round(200 / s))
        assert torch.equal(level, img if s == 1.0 else resize(img, size))


@pytest.mark.parametrize("dense_fraction", [0.0, 2.0])
def test_a_feature_whose_rectangles_cancel_reads_zero(monkeypatch, dense_fraction):
    vj = _random_cascade((8, 8), (3, 5), 0)
    coords = vj.stages[0]["coords"].clone()
    coords[0] = torch.tensor([[1, 1, 3, 3], [1, 1, 3, 3], [0, 0, 0, 0], [0, 0, 0, 0]])
    vj.stages[0]["coords"] = coords  # rectangles of opposite signs: the feature is 0
    monkeypatch.setattr(_vj_scan, "_DENSE_FRACTION", dense_fraction)
    level = torch.rand(30, 40, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    boxes, _ = _check_scan(vj, level, 1)
    assert boxes.shape[0] > 0


@pytest.mark.parametrize("step", [1, 2, 3])
def test_levels_scanned_as_one_stack_give_each_level_s_bits(photo, monkeypatch, step):
    vj = _random_cascade((9, 9), (4, 10, 18, 25), 3)
    crops = [(60, 83), (9, 9), (31, 12), (8, 40), (47, 20), (10, 64), (25, 25)]
    levels = [photo[100 : 100 + h, 150 : 150 + w].double().numpy() for h, w in crops]
    lk = cached_lookups(vj)
    monkeypatch.setattr(_vj_scan, "_SMALL", 0)  # every level alone
    alone = [_vj_scan.scan_level(lv, vj.window, step, lk, 1e-3) for lv in levels]
    monkeypatch.setattr(_vj_scan, "_SMALL", 10**9)  # one stack
    stacked = _vj_scan.scan_levels(levels, vj.window, step, lk, 1e-3)
    assert sum(b.shape[0] for b, _ in alone) > 0
    for (b1, m1), (b2, m2), lv in zip(alone, stacked, levels, strict=True):
        assert np.array_equal(b1, b2) and np.array_equal(m1, m2)
        ref_xy, ref_m = _reference(vj, torch.from_numpy(lv), step)  # the patch classifier
        assert np.array_equal(b2[:, :2], ref_xy.numpy()) and np.allclose(m2, ref_m, 0, 1e-9)
    # detect gives the same boxes and scores with and without stacks
    img = photo[:120, 100:260]
    got = vj.detect(img, step=step, min_neighbors=1)
    monkeypatch.setattr(_vj_scan, "_SMALL", 0)
    want = vj.detect(img, step=step, min_neighbors=1)
    assert got[0].shape[0] > 0
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
