import math

import numpy as np
import pytest
import torch
from skimage.feature import match_descriptors as sk_match

from pixlearn.data import sample
from pixlearn.features import SIFT, match_descriptors, ransac_homography
from pixlearn.transform import perspective_warp, resize


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # SIFT and RANSAC run many small ops: one thread is faster on a shared 2-core machine
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize("metric", ["euclidean", "cityblock", "cosine"])
@pytest.mark.parametrize("cross_check", [True, False])
@pytest.mark.parametrize("max_ratio", [0.8, 1.0])
def test_matches_skimage_on_random_descriptors(metric, cross_check, max_ratio):
    g = torch.Generator().manual_seed(3)
    d1 = torch.rand(60, 16, generator=g)
    d2 = torch.cat([d1[:40] + 0.05 * torch.rand(40, 16, generator=g), torch.rand(30, 16)])
    ours = match_descriptors(d1, d2, metric=metric, cross_check=cross_check, max_ratio=max_ratio)
    ref = sk_match(
        d1.double().numpy(),
        d2.double().numpy(),
        metric=metric,
        cross_check=cross_check,
        max_ratio=max_ratio,
    )
    assert ours.dtype == torch.int64
    np.testing.assert_array_equal(ours.numpy(), ref)


def test_max_distance_matches_skimage():
    g = torch.Generator().manual_seed(4)
    d1, d2 = torch.rand(50, 8, generator=g), torch.rand(40, 8, generator=g)
    ours = match_descriptors(d1, d2, max_distance=0.5, max_ratio=1.0)
    ref = sk_match(d1.double().numpy(), d2.double().numpy(), max_distance=0.5)
    np.testing.assert_array_equal(ours.numpy(), ref)
    assert 0 < len(ours) < 40


def test_matches_skimage_on_sift_descriptors_of_a_rotated_photo():
    img = resize(sample("camera")[0], (160, 160))
    sift = SIFT()
    _, d1 = sift.detect_and_compute(img)
    _, d2 = sift.detect_and_compute(torch.rot90(img, 1, (0, 1)))
    ours = match_descriptors(d1, d2)
    ref = sk_match(d1.double().numpy(), d2.double().numpy(), max_ratio=0.8, cross_check=True)
    np.testing.assert_array_equal(ours.numpy(), ref)
    assert len(ours) > 30


def test_empty_and_single_candidate():
    assert match_descriptors(torch.zeros(0, 4), torch.rand(3, 4)).shape == (0, 2)
    assert match_descriptors(torch.rand(3, 4), torch.zeros(0, 4)).shape == (0, 2)
    # with one candidate there is no second neighbour: the ratio test passes
    out = match_descriptors(torch.rand(1, 4), torch.rand(1, 4))
    assert out.tolist() == [[0, 0]]


def test_matching_errors():
    with pytest.raises(ValueError, match=r"descriptors2.*length"):
        match_descriptors(torch.rand(5, 128), torch.rand(5, 64))
    with pytest.raises(ValueError, match="descriptors1"):
        match_descriptors(torch.rand(5), torch.rand(5, 4))
    with pytest.raises(ValueError, match="descriptors2"):
        match_descriptors(torch.rand(5, 4), torch.full((2, 4), math.nan))
    with pytest.raises(ValueError, match="max_ratio"):
        match_descriptors(torch.rand(5, 4), torch.rand(5, 4), max_ratio=0.0)
    with pytest.raises(ValueError, match="max_distance"):
        match_descriptors(torch.rand(5, 4), torch.rand(5, 4), max_distance=-1.0)
    with pytest.raises(ValueError, match="metric"):
        match_descriptors(torch.rand(5, 4), torch.rand(5, 4), metric="hamming")
    with pytest.raises(TypeError, match="descriptors1"):
        match_descriptors(np.zeros((5, 4)), torch.rand(5, 4))


def _apply(h, p):
    q = torch.cat([p, torch.ones(len(p), 1, dtype=p.dtype)], 1) @ h.T
    return q[:, :2] / q[:, 2:]


def _rms(h_est, h_true, size=200):
    y, x = torch.meshgrid(torch.linspace(0, size, 11), torch.linspace(0, size, 11), indexing="ij")
    p = torch.stack([x.reshape(-1), y.reshape(-1)], 1).double()
    return float(
        (_apply(h_est.double(), p) - _apply(h_true.double(), p)).norm(dim=1).pow(2).mean().sqrt()
    )


def test_ransac_recovers_a_known_warp_with_30_percent_outliers():
    g = torch.Generator().manual_seed(0)
    h_true = torch.tensor(
        [[0.9, -0.2, 20.0], [0.15, 1.1, -5.0], [2e-4, -1e-4, 1.0]], dtype=torch.float64
    )
    src = torch.rand(300, 2, generator=g, dtype=torch.float64) * 200
    dst = _apply(h_true, src) + 0.5 * torch.randn(300, 2, generator=g, dtype=torch.float64)
    bad = torch.rand(300, generator=g) < 0.3
    dst[bad] = torch.rand(int(bad.sum()), 2, generator=g, dtype=torch.float64) * 200
    h, inl = ransac_homography(src, dst, generator=g)
    assert _rms(h, h_true) < 1.0
    assert h.shape == (3, 3) and h.dtype == torch.float64 and float(h[2, 2]) == 1.0
    # every true inlier is found (noise 0.5 px < threshold 3 px), few outliers slip in
    assert bool(inl[~bad].all()) and int((inl & bad).sum()) <= 3


def test_ransac_is_reproducible_with_a_generator():
    g = torch.Generator().manual_seed(1)
    src = torch.rand(40, 2, generator=g) * 50
    dst = src * 1.5 + 3
    dst[:10] = torch.rand(10, 2, generator=g) * 50
    a = ransac_homography(src, dst, generator=torch.Generator().manual_seed(5))
    b = ransac_homography(src, dst, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert a[0].dtype == torch.float32 and int(a[1].sum()) >= 30


def test_ransac_recovers_a_photo_warp_from_sift_matches():
    img = resize(sample("camera")[0], (192, 192))
    c, s = math.cos(0.5), math.sin(0.5)
    # rotate by 0.5 rad and scale by 0.9 about the centre
    t = torch.tensor([[1, 0, 95.5], [0, 1, 95.5], [0, 0, 1]], dtype=torch.float64)
    r = torch.tensor(
        [[0.9 * c, -0.9 * s, 0], [0.9 * s, 0.9 * c, 0], [0, 0, 1]], dtype=torch.float64
    )
    h_true = t @ r @ torch.linalg.inv(t)
    warped = perspective_warp(img, h_true.float(), interpolation="cubic").clamp(0, 1)
    sift = SIFT()
    k1, d1 = sift.detect_and_compute(img)
    k2, d2 = sift.detect_and_compute(warped)
    m = match_descriptors(d1, d2)
    h, inl = ransac_homography(
        k1.xy()[m[:, 0]], k2.xy()[m[:, 1]], generator=torch.Generator().manual_seed(0)
    )
    assert _rms(h, h_true, size=191) < 1.0
    assert int(inl.sum()) >= 20


def test_ransac_errors():
    p = torch.rand(10, 2)
    with pytest.raises(ValueError, match=r"src.*4 points"):
        ransac_homography(torch.rand(3, 2), torch.rand(3, 2))
    with pytest.raises(ValueError, match="dst"):
        ransac_homography(p, torch.rand(9, 2))
    with pytest.raises(TypeError, match="src"):
        ransac_homography(p.long(), p)
    with pytest.raises(ValueError, match="threshold"):
        ransac_homography(p, p, threshold=0.0)
    with pytest.raises(ValueError, match="max_trials"):
        ransac_homography(p, p, max_trials=0)
    with pytest.raises(ValueError, match="src"):
        ransac_homography(torch.full((5, 2), math.nan), p[:5])
    # no four pairs agree: collinear points map anywhere
    with pytest.raises(ValueError, match="homography"):
        line = torch.stack([torch.arange(6.0), torch.zeros(6)], 1)
        ransac_homography(line, torch.rand(6, 2) * 1000, generator=torch.Generator().manual_seed(0))
