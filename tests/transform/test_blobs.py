import math

import numpy as np
import pytest
import skimage.feature as skf
import torch
from scipy.spatial import cKDTree

from pixlearn.data import sample
from pixlearn.transform import blob_dog, blob_log, blob_overlap


def _grey_hubble():
    """hubble_deep_field as scikit-image's rgb2gray makes it (BT.709 luma), float64."""
    rgb = sample("hubble_deep_field", dtype=torch.float64)  # (3, 872, 1000)
    w = torch.tensor([0.2125, 0.7154, 0.0721], dtype=torch.float64)
    return (rgb * w[:, None, None]).sum(0)


def _matched(a, b, radius=2.0):
    """Fraction of the blobs of ``a`` with a blob of ``b`` within ``radius`` pixels."""
    d, _ = cKDTree(b[:, :2]).query(a[:, :2])
    return float((d <= radius).mean())


def _blobs_image(centres, sigmas, n=96):
    yy, xx = torch.meshgrid(torch.arange(float(n)), torch.arange(float(n)), indexing="ij")
    img = torch.zeros(n, n, dtype=torch.float64)
    for (cy, cx), s in zip(centres, sigmas, strict=True):
        img += torch.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * s * s))
    return img


# ---- reference: scikit-image on hubble_deep_field ----------------------------------------------


@pytest.fixture(scope="module")
def hubble():
    return _grey_hubble()


def test_blob_log_matches_skimage_on_hubble_deep_field(hubble):
    """Default parameters (min 1, max 50, 10 scales, threshold 0.2). Measured: 988 blobs vs
    scikit-image's 987; 99.9% of ours within 2 px of one of theirs and 100% the other way.
    The differences come from the blur's border (SciPy 'reflect' repeats the edge pixel,
    pixlearn's does not) and from the order of pruning."""
    ours = blob_log(hubble).numpy()
    ref = skf.blob_log(hubble.numpy())
    assert abs(len(ours) - len(ref)) <= 0.05 * len(ref)
    assert _matched(ours, ref) >= 0.95 and _matched(ref, ours) >= 0.95
    # matched blobs are found at the same scale
    d, j = cKDTree(ref[:, :2]).query(ours[:, :2])
    same = d == 0
    assert same.mean() > 0.95
    assert (ours[same, 2] == ref[j[same], 2]).mean() > 0.98


def test_blob_dog_matches_skimage_on_hubble_deep_field(hubble):
    """max_sigma 30, threshold 0.1 on the top-left 400x500 quarter. Measured on the whole
    image: 1376 blobs each, 99.9% matched both ways."""
    crop = hubble[:400, :500].contiguous()
    ours = blob_dog(crop, max_sigma=30, threshold=0.1).numpy()
    ref = skf.blob_dog(crop.numpy(), max_sigma=30, threshold=0.1)
    assert len(ref) > 100
    assert _matched(ours, ref) >= 0.95 and _matched(ref, ours) >= 0.95


def test_log_and_dog_equal_skimage_exactly_away_from_the_border():
    centres = [(20, 20), (25, 70), (70, 30), (68, 72)]
    sigmas = [2.0, 3.0, 4.5, 6.0]
    img = _blobs_image(centres, sigmas) * 0.8
    ours = blob_log(img, 1, 10, 19, 0.05).numpy()
    ref = skf.blob_log(img.numpy(), 1, 10, 19, 0.05)
    np.testing.assert_allclose(ours[np.lexsort(ours.T)], ref[np.lexsort(ref.T)], atol=1e-12)
    ours = blob_dog(img, 1, 10, 1.3, 0.05).numpy()
    ref = skf.blob_dog(img.numpy(), 1, 10, 1.3, 0.05)
    np.testing.assert_allclose(ours[np.lexsort(ours.T)], ref[np.lexsort(ref.T)], atol=1e-12)


# ---- properties ----------------------------------------------------------------------------------


def test_blob_log_finds_gaussian_blobs_at_their_scale():
    centres = [(20, 20), (25, 70), (70, 30), (68, 72)]
    sigmas = [2.0, 3.0, 4.5, 6.0]
    img = _blobs_image(centres, sigmas)
    found = blob_log(img, 1, 10, 37, 0.05)  # scales every 0.25
    assert found.shape == (4, 3)
    found = found[torch.argsort(found[:, 2])]
    for row, (cy, cx), s in zip(found.tolist(), centres, sigmas, strict=True):
        assert (row[0], row[1]) == (cy, cx)
        assert row[2] == pytest.approx(s, abs=0.25)


def test_response_order_and_log_scale():
    img = _blobs_image([(30, 30), (60, 60)], [3.0, 5.0]) * torch.tensor(1.0).double()
    img[:, 48:] *= 0.5  # the second blob is fainter
    found = blob_log(img, 1, 8, 12, 0.02, log_scale=True)
    assert found[0, :2].tolist() == [30, 30]  # strongest first
    scales = np.logspace(0, np.log10(8), 12)
    assert all(np.isclose(scales, s).any() for s in found[:, 2].tolist())


def test_pruning_keeps_the_larger_of_two_overlapping_blobs():
    img = _blobs_image([(40, 40), (40, 44)], [6.0, 2.0], n=80)
    found = blob_log(img, 1, 8, 15, 0.01, overlap=0.5)
    assert found.shape[0] == 1 and found[0, 2] > 4
    both = blob_log(img, 1, 8, 15, 0.01, overlap=1.0)  # nothing pruned
    assert both.shape[0] >= 2


def test_overlap_closed_form():
    r = math.sqrt(2) * 2.0
    d = 1.0
    # two equal discs: lens 2 r^2 acos(d / 2r) - (d / 2) sqrt(4 r^2 - d^2)
    lens = 2 * r * r * math.acos(d / (2 * r)) - d / 2 * math.sqrt(4 * r * r - d * d)
    b = torch.tensor([[0.0, 0.0, 2.0], [0.0, 1.0, 2.0], [9.0, 9.0, 1.0], [0.5, 0.5, 0.5]])
    ov = blob_overlap(b.double())
    assert ov[0, 1].item() == pytest.approx(lens / (math.pi * r * r), rel=1e-12)
    assert ov[0, 2] == 0 and ov[0, 3] == 1 and torch.equal(ov, ov.T)
    assert torch.equal(ov.diagonal(), torch.ones(4, dtype=torch.float64))


def test_exclude_border_and_thresholds():
    img = _blobs_image([(3, 40), (40, 40)], [2.0, 2.0], n=80)
    assert {tuple(r[:2]) for r in blob_log(img, 1, 4, 7, 0.05).tolist()} == {(3, 40), (40, 40)}
    assert blob_log(img, 1, 4, 7, 0.05, exclude_border=5)[:, :2].tolist() == [[40, 40]]
    img[:20] *= 0.3
    kept = blob_log(img, 1, 4, 7, None, threshold_rel=0.5)
    assert kept[:, :2].tolist() == [[40, 40]]


def test_empty_results_and_shapes():
    for fn in (blob_log, blob_dog):
        out = fn(torch.full((32, 32), 0.5))
        assert out.shape == (0, 3) and out.dtype == torch.float32
        assert fn(torch.zeros(1, 16, 16), 1, 4).shape == (0, 3)


def test_channel_dim_and_non_contiguous_input():
    img = _blobs_image([(20, 30), (50, 60)], [3.0, 4.0], n=72).float()
    ref = blob_log(img, 1, 6, 6, 0.05)
    assert ref.dtype == torch.float32 and ref.shape[0] == 2
    torch.testing.assert_close(blob_log(img[None], 1, 6, 6, 0.05), ref)
    flipped = blob_log(img.t().contiguous().t(), 1, 6, 6, 0.05)  # non-contiguous view
    torch.testing.assert_close(flipped, ref)
    dog = blob_dog(img.t(), 1, 6, 1.6, 0.05)  # transposed image: transposed blobs
    torch.testing.assert_close(dog, blob_dog(img.t().contiguous(), 1, 6, 1.6, 0.05))
    assert sorted(dog[:, [1, 0]].tolist()) == sorted(blob_dog(img, 1, 6, 1.6, 0.05)[:, :2].tolist())


# ---- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "name"),
    [
        ((0.0,), {}, "min_sigma"),
        ((2.0, 1.0), {}, "max_sigma"),
        ((1.0, 5.0, 0), {}, "num_sigma"),
        ((1.0, 5.0, 5, float("nan")), {}, "threshold"),
        ((1.0, 3.0), {"overlap": 1.5}, "overlap"),
        ((1.0, 3.0), {"exclude_border": True}, "exclude_border"),
        ((1.0, 3.0), {"exclude_border": -1}, "exclude_border"),
        ((1.0, 3.0), {"threshold_rel": float("inf")}, "threshold_rel"),
    ],
)
def test_blob_log_bad_options(args, kwargs, name):
    with pytest.raises(ValueError, match=name):
        blob_log(torch.rand(16, 16), *args, **kwargs)


def test_bad_images_and_dog_options():
    with pytest.raises(ValueError, match="image must be grey"):
        blob_log(torch.rand(3, 16, 16), 1, 3)
    with pytest.raises(TypeError, match=r"image.*float"):
        blob_dog(torch.ones(16, 16, dtype=torch.uint8), 1, 3)
    with pytest.raises(ValueError, match="image"):
        blob_log(torch.full((16, 16), float("nan")), 1, 3)
    with pytest.raises(ValueError, match="sigma_ratio"):
        blob_dog(torch.rand(16, 16), 1, 5, 1.0)
    with pytest.raises(ValueError, match="blobs"):
        blob_overlap(torch.rand(4, 2))
