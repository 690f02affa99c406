import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.data
import torch

from pixlearn.morphology import distance_transform_edt


def _random_mask(rng):
    h, w = rng.integers(1, 40, size=2)
    return rng.random((h, w)) < rng.uniform(0.3, 0.97)


@pytest.mark.parametrize(("dtype", "tol"), [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_equals_scipy_on_random_masks(dtype, tol):
    rng = np.random.default_rng(0)
    for case in range(40):
        mask = _random_mask(rng)
        sampling = None if case % 2 else tuple(rng.uniform(0.3, 3.0, size=2))
        ref = ndi.distance_transform_edt(mask, sampling=sampling)
        out = distance_transform_edt(torch.from_numpy(mask), sampling=sampling, dtype=dtype)
        assert out.dtype == dtype
        np.testing.assert_allclose(out.numpy(), ref, rtol=tol, atol=tol, err_msg=f"case {case}")


def test_equals_scipy_on_a_sample_shape():
    horse = ~skimage.data.horse()  # the horse is foreground
    ref = ndi.distance_transform_edt(horse, sampling=(1.0, 2.5))
    out = distance_transform_edt(torch.from_numpy(horse), sampling=(1.0, 2.5), dtype=torch.float64)
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10, atol=1e-10)


def _unique_nearest(mask, sampling):
    """Brute force: True where exactly one background pixel is nearest."""
    bg = np.argwhere(~mask)
    grid = np.indices(mask.shape).reshape(2, -1).T
    d2 = (((grid[:, None, :] - bg[None]) * np.asarray(sampling)) ** 2).sum(-1)
    best = d2.min(1, keepdims=True)
    return ((d2 <= best + 1e-9).sum(1) == 1).reshape(mask.shape)


@pytest.mark.parametrize("sampling", [(1.0, 1.0), (0.7, 1.9)])
def test_indices_equal_scipy_where_the_nearest_is_unique(sampling):
    rng = np.random.default_rng(1)
    for _ in range(15):
        mask = _random_mask(rng)
        if mask.all():
            continue
        _, ref = ndi.distance_transform_edt(mask, sampling=sampling, return_indices=True)
        dist, idx = distance_transform_edt(
            torch.from_numpy(mask), sampling=sampling, return_indices=True, dtype=torch.float64
        )
        assert idx.dtype == torch.int64 and idx.shape == (2, *mask.shape)
        unique = _unique_nearest(mask, sampling)
        np.testing.assert_array_equal(idx.numpy()[:, unique], ref[:, unique])
        # everywhere, the returned pixel is background and at the returned distance
        rows, cols = idx.numpy()
        assert not mask[rows, cols].any()
        ii, jj = np.indices(mask.shape)
        d = np.hypot((rows - ii) * sampling[0], (cols - jj) * sampling[1])
        np.testing.assert_allclose(d, dist.numpy(), atol=1e-10)


def test_all_foreground_follows_scipy():
    mask = np.ones((3, 4), bool)
    ref, ref_idx = ndi.distance_transform_edt(mask, sampling=(2, 3), return_indices=True)
    out, idx = distance_transform_edt(
        torch.from_numpy(mask), sampling=(2, 3), return_indices=True, dtype=torch.float64
    )
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)


def test_all_background_and_one_pixel():
    assert torch.equal(distance_transform_edt(torch.zeros(4, 5)), torch.zeros(4, 5))
    assert distance_transform_edt(torch.zeros(1, 1)).item() == 0.0
    one = distance_transform_edt(torch.ones(1, 1, dtype=torch.bool), dtype=torch.float64)
    assert one.item() == ndi.distance_transform_edt(np.ones((1, 1))).item()


def test_closed_form_on_a_line():
    out = distance_transform_edt(torch.tensor([[0, 1, 1, 1, 1, 1, 0]]), sampling=0.5)
    assert out.tolist() == [[0.0, 0.5, 1.0, 1.5, 1.0, 0.5, 0.0]]


def test_distance_is_one_lipschitz_and_zero_exactly_on_background():
    rng = np.random.default_rng(2)
    mask = torch.from_numpy(rng.random((30, 30)) < 0.9)
    d = distance_transform_edt(mask, dtype=torch.float64)
    assert torch.equal(d == 0, ~mask)
    assert (d[1:] - d[:-1]).abs().max() <= 1 + 1e-12
    assert (d[:, 1:] - d[:, :-1]).abs().max() <= 1 + 1e-12


def test_batched_equals_per_item_and_layouts_agree():
    rng = np.random.default_rng(3)
    masks = torch.from_numpy(rng.random((2, 3, 12, 17)) < 0.8)
    masks[1, 2] = True  # one item without background
    d, idx = distance_transform_edt(masks, return_indices=True)
    assert d.shape == masks.shape and idx.shape == (2, 3, 2, 12, 17)
    for a in range(2):
        for b in range(3):
            di, ii = distance_transform_edt(masks[a, b], return_indices=True)
            assert torch.equal(d[a, b], di) and torch.equal(idx[a, b], ii)
    t = masks.transpose(-1, -2)
    assert torch.equal(distance_transform_edt(t), distance_transform_edt(t.contiguous()))


def test_integer_zero_one_input_equals_bool_and_input_is_kept():
    x = torch.tensor([[1, 1, 0], [1, 1, 1]], dtype=torch.uint8)
    before = x.clone()
    assert torch.equal(distance_transform_edt(x), distance_transform_edt(x.bool()))
    assert torch.equal(x, before)


def test_non_binary_input_is_refused():
    with pytest.raises(ValueError, match="binary"):
        distance_transform_edt(torch.tensor([[0.0, 0.5], [1.0, 1.0]]))


@pytest.mark.parametrize("bad", [0.0, -1.0, (1.0, -2.0), float("nan")])
def test_bad_sampling_is_refused(bad):
    with pytest.raises(ValueError, match="sampling"):
        distance_transform_edt(torch.ones(3, 3), sampling=bad)


def test_sampling_of_wrong_length_and_integer_dtype_are_refused():
    with pytest.raises(ValueError, match="sampling"):
        distance_transform_edt(torch.ones(3, 3), sampling=(1.0, 1.0, 1.0))
    with pytest.raises(TypeError, match="dtype"):
        distance_transform_edt(torch.ones(3, 3), dtype=torch.int32)


@pytest.mark.parametrize("shape", [(0, 4), (3, 0)])
def test_empty_image_is_refused(shape):
    with pytest.raises(ValueError, match="binary"):
        distance_transform_edt(torch.ones(shape))


@pytest.mark.parametrize("sampling", [None, (1.0, 1.0), (0.6, 1.7), (2.0, 2.0)])
def test_short_and_long_distances_equal_scipy(sampling):
    # blobs (short distances: the bounded search) and three background pixels in a large
    # foreground (long distances, columns without background: the lower envelope)
    rng = np.random.default_rng(5)
    blobs = ndi.gaussian_filter(rng.random((40, 56)), 1.5) > 0.5
    sparse = np.ones((70, 80), bool)
    sparse[[3, 40, 66], [5, 70, 30]] = False
    for mask in (blobs, sparse, blobs.T):
        ref, ref_idx = ndi.distance_transform_edt(mask, sampling=sampling, return_indices=True)
        out, idx = distance_transform_edt(
            torch.from_numpy(mask), sampling=sampling, return_indices=True, dtype=torch.float64
        )
        np.testing.assert_allclose(out.numpy(), ref, rtol=1e-10, atol=1e-10)
        s = (1.0, 1.0) if sampling is None else sampling
        unique = _unique_nearest(mask, s)
        np.testing.assert_array_equal(idx.numpy()[:, unique], ref_idx[:, unique])
        rows, cols = idx.numpy()
        ii, jj = np.indices(mask.shape)
        d = np.hypot((rows - ii) * s[0], (cols - jj) * s[1])
        np.testing.assert_allclose(d, out.numpy(), atol=1e-10)
