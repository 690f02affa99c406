import math

import numpy as np
import pytest
import torch
from scipy import ndimage

from pixlearn.data import sample
from pixlearn.features import (
    BagOfVisualWords,
    bovw_histogram,
    dense_descriptors,
    dense_grid_size,
)
from pixlearn.features._clustering import NotFittedError, kmeans


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ---- dense descriptors ----------------------------------------------------------------------


def _slow_sift(img, patch, step, cells=4, bins=8, sigma=1.0, clip=0.2):
    """One patch at a time from the description: scipy gradients, per-pixel votes."""
    gy = ndimage.gaussian_filter(img, sigma, order=(1, 0), mode="mirror")
    gx = ndimage.gaussian_filter(img, sigma, order=(0, 1), mode="mirror")
    c = patch // cells
    H, W = img.shape
    out = []
    for y0 in range(0, H - patch + 1, step):
        for x0 in range(0, W - patch + 1, step):
            h = np.zeros((cells, cells, bins))
            for y in range(patch):
                for x in range(patch):
                    m = math.hypot(gx[y0 + y, x0 + x], gy[y0 + y, x0 + x])
                    theta = math.atan2(gy[y0 + y, x0 + x], gx[y0 + y, x0 + x]) % (2 * math.pi)
                    b = theta / (2 * math.pi / bins)
                    lo = math.floor(b)
                    h[y // c, x // c, lo % bins] += m * (1 - (b - lo))
                    h[y // c, x // c, (lo + 1) % bins] += m * (b - lo)
            v = h.ravel()
            v = v / np.linalg.norm(v)
            v = np.minimum(v, clip)
            out.append(v / np.linalg.norm(v))
    return np.stack(out)


def _slow_raw(img, patch, step):
    out = []
    for y0 in range(0, img.shape[0] - patch + 1, step):
        for x0 in range(0, img.shape[1] - patch + 1, step):
            p = img[y0 : y0 + patch, x0 : x0 + patch].ravel()
            out.append((p - p.mean()) / p.std())
    return np.stack(out)


@pytest.mark.parametrize(("patch", "step"), [(8, 4), (12, 5)])
def test_dense_sift_equals_slow_loop(patch, step):
    img = torch.rand(1, 21, 26, dtype=torch.float64, generator=_gen(1))
    got = dense_descriptors(img, patch=patch, step=step)
    ref = _slow_sift(img[0].numpy(), patch, step)
    assert got.shape == (ref.shape[0], 128)
    torch.testing.assert_close(got, torch.from_numpy(ref), atol=1e-10, rtol=0)


def test_dense_sift_on_a_sample_photo_equals_slow_loop():
    img = sample("camera")[..., 200:232, 200:232].double()
    ref = _slow_sift(img[0].numpy(), 16, 8)
    torch.testing.assert_close(
        dense_descriptors(img, patch=16, step=8), torch.from_numpy(ref), atol=1e-10, rtol=0
    )


def test_dense_raw_equals_slow_loop_and_channels_are_averaged():
    rgb = torch.rand(3, 13, 17, dtype=torch.float64, generator=_gen(2))
    got = dense_descriptors(rgb, kind="raw", patch=5, step=3)
    ref = _slow_raw(rgb.mean(0).numpy(), 5, 3)
    assert got.shape == (len(ref), 25) == (math.prod(dense_grid_size(13, 17, patch=5, step=3)), 25)
    torch.testing.assert_close(got, torch.from_numpy(ref), atol=1e-12, rtol=0)


def test_dense_descriptors_are_unit_vectors_bounded_by_clip_and_zero_on_flat_patches():
    img = torch.zeros(1, 16, 24)
    img[:, :, 12:] = torch.rand(1, 16, 12, generator=_gen(3))
    d = dense_descriptors(img, patch=8, step=8, kind="sift")  # 2 x 3 grid
    norms = d.norm(dim=-1).reshape(2, 3)
    assert torch.equal(norms[:, 0], torch.zeros(2))  # the left patches see no gradient at all
    torch.testing.assert_close(norms[:, 2], torch.ones(2))
    assert float(d.max()) < 0.5  # entries were clipped at 0.2 before renormalising
    assert torch.equal(dense_descriptors(torch.ones(1, 8, 8), kind="raw"), torch.zeros(1, 64))


def test_dense_sift_is_invariant_to_brightness_and_contrast():
    img = torch.rand(1, 24, 24, dtype=torch.float64, generator=_gen(4))
    a = dense_descriptors(img)
    torch.testing.assert_close(dense_descriptors(0.5 * img + 0.2), a, atol=1e-10, rtol=0)


def test_dense_batched_equals_per_item_empty_batch_and_non_contiguous():
    x = torch.rand(2, 3, 1, 20, 20, generator=_gen(5))
    d = dense_descriptors(x)
    assert d.shape == (2, 3, 16, 128) and d.dtype == torch.float32
    torch.testing.assert_close(d[1, 2], dense_descriptors(x[1, 2]))
    assert dense_descriptors(torch.rand(0, 1, 20, 20)).shape == (0, 16, 128)
    t = torch.rand(1, 20, 24, generator=_gen(6)).transpose(-1, -2)
    torch.testing.assert_close(dense_descriptors(t), dense_descriptors(t.contiguous()))


def test_dense_errors():
    with pytest.raises(ValueError, match="images must be at least patch"):
        dense_descriptors(torch.rand(1, 7, 20), patch=8)
    with pytest.raises(ValueError, match="patch must be a multiple of cells"):
        dense_descriptors(torch.rand(1, 20, 20), patch=10)
    with pytest.raises(TypeError, match=r"images.*float"):
        dense_descriptors(torch.ones(1, 16, 16, dtype=torch.uint8))
    with pytest.raises(ValueError, match="images must have at least 3"):
        dense_descriptors(torch.rand(16, 16))
    with pytest.raises(ValueError, match="kind"):
        dense_descriptors(torch.rand(1, 16, 16), kind="surf")
    with pytest.raises(ValueError, match="images must be finite"):
        dense_descriptors(torch.full((1, 16, 16), float("nan")))


# ---- histograms -----------------------------------------------------------------------------


def test_histograms_equal_slow_loops():
    x = torch.randn(2, 30, 5, dtype=torch.float64, generator=_gen(7))
    words = torch.randn(6, 5, dtype=torch.float64, generator=_gen(8))
    sigma = 1.3
    hard = torch.zeros(2, 6, dtype=torch.float64)
    soft = torch.zeros(2, 6, dtype=torch.float64)
    for b in range(2):
        for t in range(30):
            d2 = [float(((x[b, t] - w) ** 2).sum()) for w in words]
            hard[b, int(np.argmin(d2))] += 1 / 30
            k = np.exp(-np.array(d2) / (2 * sigma**2))
            soft[b] += torch.from_numpy(k / k.sum()) / 30
    torch.testing.assert_close(bovw_histogram(x, words), hard, atol=1e-12, rtol=0)
    got = bovw_histogram(x, words, assignment="soft", sigma=sigma)
    torch.testing.assert_close(got, soft, atol=1e-12, rtol=0)
    torch.testing.assert_close(got.sum(-1), torch.ones(2, dtype=torch.float64))


def test_soft_assignment_tends_to_hard_as_sigma_goes_to_zero():
    x = torch.randn(200, 8, generator=_gen(9))
    words = torch.randn(10, 8, generator=_gen(10))
    hard = bovw_histogram(x, words)
    gaps = [
        float((bovw_histogram(x, words, assignment="soft", sigma=s) - hard).abs().sum())
        for s in (3.0, 1.0, 0.3, 0.03)
    ]
    assert gaps[0] > gaps[1] > gaps[2] > 0.0 and gaps[-1] < 1e-6  # monotone, then equal
    assert bovw_histogram(x, words, assignment="soft", sigma=1e-6).eq(hard).all()


def test_histogram_errors():
    words = torch.rand(4, 3)
    with pytest.raises(ValueError, match="descriptors must have D = 3"):
        bovw_histogram(torch.rand(5, 4), words)
    with pytest.raises(ValueError, match="sigma must be given"):
        bovw_histogram(torch.rand(5, 3), words, assignment="soft")
    with pytest.raises(ValueError, match="assignment"):
        bovw_histogram(torch.rand(5, 3), words, assignment="fuzzy")
    with pytest.raises(ValueError, match="descriptors must not be empty"):
        bovw_histogram(torch.rand(0, 3), words)


# ---- k-means and the encoder ----------------------------------------------------------------


def test_kmeans_finds_separated_blobs_and_matches_sklearn_inertia():
    from sklearn.cluster import KMeans

    g = _gen(11)
    truth = torch.randn(5, 6, generator=g) * 10
    x = (truth[:, None] + torch.randn(5, 80, 6, generator=g)).reshape(-1, 6).double()
    centres, _ = kmeans(x, 5, generator=_gen(0))
    order = torch.cdist(truth.double(), centres).argmin(1)
    assert sorted(order.tolist()) == [0, 1, 2, 3, 4]
    torch.testing.assert_close(centres[order], truth.double(), atol=0.5, rtol=0)
    # on structureless data Lloyd's local optimum is within 2 % of scikit-learn's best of 5
    y = torch.rand(2000, 4, generator=g, dtype=torch.float64)
    c, lab = kmeans(y, 12, generator=_gen(1))
    ours = float(((y - c[lab]) ** 2).sum())
    ref = KMeans(12, n_init=3, random_state=0).fit(y.numpy()).inertia_
    assert ours <= 1.02 * ref


def test_bovw_fit_transform_properties():
    images = torch.rand(10, 1, 20, 20, generator=_gen(12))
    bovw = BagOfVisualWords(6, generator=_gen(0)).fit(images)
    h = bovw.transform(images)
    assert h.shape == (10, 6) and h.dtype == torch.float32
    torch.testing.assert_close(h.sum(1), torch.ones(10))
    assert bovw.vocabulary_.shape == (6, 128)
    # reproducible with the same seed
    again = BagOfVisualWords(6, generator=_gen(0)).fit(images).transform(images)
    assert torch.equal(again, h)
    # a zero-size batch gives zero rows; soft histograms also sum to 1
    assert bovw.transform(torch.rand(0, 1, 20, 20)).shape == (0, 6)
    soft = BagOfVisualWords(6, assignment="soft", generator=_gen(0)).fit(images)
    assert soft.sigma_ > 0
    torch.testing.assert_close(soft.transform(images).sum(1), torch.ones(10))


def test_bovw_images_of_different_sizes_as_a_list():
    g = _gen(13)
    imgs = [torch.rand(1, 16, 16, generator=g), torch.rand(1, 24, 20, generator=g)]
    bovw = BagOfVisualWords(4, descriptor="raw", generator=_gen(0)).fit(imgs)
    h = bovw.transform(imgs)
    assert h.shape == (2, 4)
    torch.testing.assert_close(h[1:], bovw.transform(imgs[1][None]))


def test_bovw_errors():
    bovw = BagOfVisualWords(4)
    with pytest.raises(NotFittedError, match="not fitted"):
        bovw.transform(torch.rand(1, 1, 16, 16))
    assert issubclass(NotFittedError, ValueError)
    with pytest.raises(ValueError, match="images must hold at least one image"):
        bovw.fit(torch.rand(0, 1, 16, 16))
    with pytest.raises(ValueError, match="images must hold at least one image"):
        bovw.fit([])
    with pytest.raises(ValueError, match="n_words must be <="):
        BagOfVisualWords(50).fit(torch.rand(1, 1, 16, 16))  # 9 descriptors only
    with pytest.raises(ValueError, match="images must be at least patch"):
        bovw.fit([torch.rand(1, 16, 16), torch.rand(1, 6, 30)])
    with pytest.raises(ValueError, match=r"images\[1\] must have at most 3"):
        bovw.fit([torch.rand(1, 16, 16), torch.rand(1, 1, 16, 16)])
    with pytest.raises(TypeError, match="images must be a"):
        bovw.fit("photos")
    with pytest.raises(ValueError, match="n_words"):
        BagOfVisualWords(0)
    with pytest.raises(ValueError, match="assignment"):
        BagOfVisualWords(3, assignment="fuzzy")
