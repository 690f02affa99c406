from collections import deque

import numpy as np
import pytest
import skimage.data
import skimage.measure
import skimage.morphology as skm
import torch

from pixlearn.morphology import (
    extended_maxima,
    h_maxima,
    h_minima,
    regional_maxima,
    regional_minima,
)


def _neighbours(y, x, h, w, connectivity):
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if (dy, dx) == (0, 0) or (connectivity == 1 and dy and dx):
                continue
            if 0 <= y + dy < h and 0 <= x + dx < w:
                yield y + dy, x + dx


def _slow_regional_maxima(f, connectivity):
    """The syllabus definition: flood each plateau, keep it iff its outer boundary is
    strictly lower (and not empty: a constant image has no maximum, as in scikit-image)."""
    h, w = f.shape
    out = np.zeros((h, w), bool)
    seen = np.zeros((h, w), bool)
    for y0 in range(h):
        for x0 in range(w):
            if seen[y0, x0]:
                continue
            t, plateau, boundary = f[y0, x0], [], []
            queue = deque([(y0, x0)])
            seen[y0, x0] = True
            while queue:
                y, x = queue.popleft()
                plateau.append((y, x))
                for q in _neighbours(y, x, h, w, connectivity):
                    if f[q] == t and not seen[q]:
                        seen[q] = True
                        queue.append(q)
                    elif f[q] != t:
                        boundary.append(f[q])
            if boundary and all(v < t for v in boundary):
                for p in plateau:
                    out[p] = True
    return out


def _plateau_image(rng, shape, levels):
    """Random blocks of constant value: many plateaus, on the border too."""
    small = rng.integers(0, levels, size=(shape[0] // 3 + 1, shape[1] // 3 + 1))
    return np.kron(small, np.ones((3, 3), np.int64))[: shape[0], : shape[1]] + (
        rng.random(shape) < 0.05
    )


@pytest.mark.parametrize("connectivity", [1, 2])
@pytest.mark.parametrize("seed_id", range(3))
def test_regional_maxima_equal_flood_fill_and_skimage(seed_id, connectivity):
    rng = np.random.default_rng(seed_id)
    f = _plateau_image(rng, (23, 31), 4).astype(np.uint8)
    out = regional_maxima(torch.from_numpy(f), connectivity=connectivity).numpy()
    np.testing.assert_array_equal(out, _slow_regional_maxima(f, connectivity))
    sk = skm.local_maxima(f, connectivity=connectivity, allow_borders=True)
    np.testing.assert_array_equal(out, sk)
    # minima of f are the maxima of -f
    fm = -f.astype(np.float64)
    out_min = regional_minima(torch.from_numpy(f), connectivity=connectivity).numpy()
    np.testing.assert_array_equal(out_min, _slow_regional_maxima(fm, connectivity))
    sk_min = skm.local_minima(f, connectivity=connectivity, allow_borders=True)
    np.testing.assert_array_equal(out_min, sk_min)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
def test_regional_maxima_on_camera_and_floats(dtype):
    f = skimage.data.camera()[::4, ::4].astype(dtype)
    for c in (1, 2):
        out = regional_maxima(torch.from_numpy(f), connectivity=c).numpy()
        np.testing.assert_array_equal(out, skm.local_maxima(f, connectivity=c, allow_borders=True))
    # float values closer than any epsilon one would pick
    g = np.random.default_rng(0).random((30, 30)) * 1e-12 + 1.0
    out = regional_maxima(torch.from_numpy(g)).numpy()
    np.testing.assert_array_equal(out, _slow_regional_maxima(g, 2))


def test_constant_and_tiny_images():
    assert not regional_maxima(torch.zeros(4, 5, dtype=torch.uint8)).any()
    assert not regional_minima(torch.ones(1, 1)).any()
    f = torch.tensor([[0, 1, 0, 2]], dtype=torch.uint8)
    assert regional_maxima(f).tolist() == [[False, True, False, True]]
    b = torch.tensor([[True, False], [False, False]])
    assert regional_maxima(b).tolist() == [[True, False], [False, False]]


def test_batched_empty_and_non_contiguous():
    rng = np.random.default_rng(7)
    f = torch.from_numpy(_plateau_image(rng, (3 * 12, 15), 3).reshape(3, 12, 15))
    out = regional_maxima(f)
    assert out.shape == f.shape and out.dtype == torch.bool
    assert torch.equal(out[1], regional_maxima(f[1]))
    assert regional_maxima(f[:0]).shape == (0, 12, 15)
    t = f[0].t()
    assert torch.equal(regional_maxima(t), regional_maxima(t.contiguous()))
    assert torch.equal(h_maxima(t, 1), h_maxima(t.contiguous(), 1))


@pytest.mark.parametrize("h", [1, 2, 5, 20, 60])
def test_h_extrema_equal_skimage_on_integers(h):
    f = skimage.data.camera()[::4, ::4].copy()
    for c, fp in ((1, skm.diamond(1)), (2, None)):
        out = h_maxima(torch.from_numpy(f), h, connectivity=c).numpy()
        np.testing.assert_array_equal(out, skm.h_maxima(f, h, footprint=fp).astype(bool))
        out = h_minima(torch.from_numpy(f), h, connectivity=c).numpy()
        np.testing.assert_array_equal(out, skm.h_minima(f, h, footprint=fp).astype(bool))
    # extended maxima: the regional maxima of the h-maxima transform R_f(f - h)
    g = f.astype(np.int32)
    hmax = skm.reconstruction(g - h, g)
    emax = extended_maxima(torch.from_numpy(g), h).numpy()
    np.testing.assert_array_equal(emax, skm.local_maxima(hmax, allow_borders=True))


@pytest.mark.parametrize("h", [0.05, 0.2, 0.5])
def test_h_extrema_equal_skimage_on_floats(h):
    rng = np.random.default_rng(3)
    f = _plateau_image(rng, (24, 27), 10).astype(np.float64) / 10
    np.testing.assert_array_equal(h_maxima(torch.from_numpy(f), h).numpy(), skm.h_maxima(f, h))
    np.testing.assert_array_equal(h_minima(torch.from_numpy(f), h).numpy(), skm.h_minima(f, h))
    f32 = f.astype(np.float32)
    np.testing.assert_array_equal(h_maxima(torch.from_numpy(f32), h).numpy(), skm.h_maxima(f32, h))


def test_h_larger_than_range_and_fractional_h_on_integers():
    f = torch.tensor([[0, 5, 0, 2, 0]])
    assert not h_maxima(f, 6).any()
    np.testing.assert_array_equal(
        h_maxima(f, 2.5).numpy(), skm.h_maxima(f.numpy().astype(float), 2.5).astype(bool)
    )
    # h-maxima with h below every peak's dynamic are the regional maxima
    assert torch.equal(h_maxima(f, 1), regional_maxima(f))


def test_errors():
    f = torch.rand(6, 6)
    for fn in (h_maxima, h_minima, extended_maxima):
        with pytest.raises(ValueError, match="h"):
            fn(f, -1.0)
        with pytest.raises(ValueError, match="h"):
            fn(f, 0)
    nan = f.clone()
    nan[2, 2] = float("nan")
    for fn in (regional_maxima, regional_minima):
        with pytest.raises(ValueError, match="image"):
            fn(nan)
        with pytest.raises(ValueError, match="image"):
            fn(torch.zeros(3, 0))
        with pytest.raises(ValueError, match="connectivity"):
            fn(f, connectivity=3)
    with pytest.raises(ValueError, match="image"):
        h_maxima(nan, 0.1)


def _random_plateaus(rng, dtype):
    """A small image with many plateaus: few levels, random shape (1-pixel rows/columns too)."""
    h, w = rng.integers(1, 12, size=2)
    f = rng.integers(0, 4, size=(h, w))
    if rng.random() < 0.5:
        f = _plateau_image(rng, (h, w), 4)
    return (f - 1).astype(dtype) if np.dtype(dtype).kind != "u" else f.astype(dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.float64])
def test_many_random_plateaus_equal_skimage(dtype):
    # the candidate/spoiled-plateau algorithm against scikit-image and the flood fill, on
    # hundreds of small images where plateaus touch each other, the border and higher ones
    rng = np.random.default_rng(11)
    for _ in range(150):
        f = _random_plateaus(rng, dtype)
        for c in (1, 2):
            out = regional_maxima(torch.from_numpy(f), connectivity=c).numpy()
            np.testing.assert_array_equal(
                out, skm.local_maxima(f, connectivity=c, allow_borders=True)
            )
            out = regional_minima(torch.from_numpy(f), connectivity=c).numpy()
            np.testing.assert_array_equal(
                out, skm.local_minima(f, connectivity=c, allow_borders=True)
            )
    f = _random_plateaus(rng, dtype)
    neg = -f.astype(np.float64)
    np.testing.assert_array_equal(
        regional_minima(torch.from_numpy(f)).numpy(), _slow_regional_maxima(neg, 2)
    )


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int64])
def test_extreme_values_of_the_dtype(dtype):
    # plateaus at the dtype's minimum and maximum (the value used outside the image)
    info = np.iinfo(dtype)
    rng = np.random.default_rng(4)
    for _ in range(20):
        f = np.where(rng.random((9, 10)) < 0.5, info.min, info.max).astype(dtype)
        f[rng.random((9, 10)) < 0.2] = info.max // 2
        for c in (1, 2):
            np.testing.assert_array_equal(
                regional_maxima(torch.from_numpy(f), connectivity=c).numpy(),
                skm.local_maxima(f, connectivity=c, allow_borders=True),
            )
            np.testing.assert_array_equal(
                regional_minima(torch.from_numpy(f), connectivity=c).numpy(),
                skm.local_minima(f, connectivity=c, allow_borders=True),
            )


def test_torch_path_equals_numpy_path():
    # the code other devices run (torch labelling) on the CPU: bfloat16 takes it, and holds
    # the integers 0..255 exactly
    f = skimage.data.camera()[::4, ::4].copy()
    for c in (1, 2):
        want = regional_maxima(torch.from_numpy(f), connectivity=c)
        assert torch.equal(regional_maxima(torch.from_numpy(f).bfloat16(), connectivity=c), want)
        want = regional_minima(torch.from_numpy(f), connectivity=c)
        assert torch.equal(regional_minima(torch.from_numpy(f).bfloat16(), connectivity=c), want)
    batch = torch.stack([torch.from_numpy(f[:40, :50]), torch.full((40, 50), 7, dtype=torch.uint8)])
    out = regional_maxima(batch.bfloat16())
    assert torch.equal(out[0], regional_maxima(batch[0])) and not out[1].any()


@pytest.mark.parametrize("connectivity", [1, 2])
def test_pre_spreading_does_not_change_the_components(connectivity):
    from pixlearn.morphology._candidates import _pad
    from pixlearn.morphology._plateaus import _unflagged_numpy, _unflagged_torch

    # any number of geodesic pre-dilations gives the components with no flagged pixel
    rng = np.random.default_rng(5)
    mask = rng.random((2, 30, 41)) < 0.6
    flag = mask & (rng.random((2, 30, 41)) < 0.02)
    want = _unflagged_torch(torch.from_numpy(mask), torch.from_numpy(flag), connectivity)
    for steps in (0, 1, 3, 8):
        # the NumPy version works in the padded layout (False around each image)
        out = _unflagged_numpy(_pad(mask, False), _pad(flag, False), connectivity, steps=steps)
        np.testing.assert_array_equal(out, want.numpy())
    # the reference: scikit-image labels, minus those holding a flag
    for i in range(2):
        lab = skimage.measure.label(mask[i], connectivity=connectivity)
        bad = np.unique(lab[flag[i]])
        np.testing.assert_array_equal(want[i].numpy(), mask[i] & ~np.isin(lab, bad))
