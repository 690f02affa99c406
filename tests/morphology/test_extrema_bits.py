"""Bit-packed geodesic steps of the regional extrema (morphology._bits) against NumPy and
SciPy, and the regional extrema on plateaus the steps cannot settle, against scikit-image."""

import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.data
import skimage.morphology as skm
import torch

import pixlearn.morphology._bits as bits
from pixlearn.morphology import regional_maxima, regional_minima
from pixlearn.morphology._bits import _dilate, _geodesic, _pack, _positions, _unpack


def _padded(rng, shape, p):
    """Random bools with False first and last columns (the padded layout)."""
    x = rng.random(shape) < p
    x[:, 0] = x[:, -1] = False
    return x


@pytest.mark.parametrize("width", [1, 7, 8, 9, 63, 64, 65, 128, 130])
def test_pack_unpack_round_trip(width):
    rng = np.random.default_rng(width)
    x = rng.random((5, width)) < 0.5
    words = _pack(x)
    assert words.shape == (5, -(-width // 64)) and words.dtype == np.dtype("<u8")
    np.testing.assert_array_equal(_unpack(words, width), x)
    # bit j of word k is column 64 k + j, and the bits past the last column are 0
    col = np.arange(words.shape[1] * 64)
    want = np.zeros((5, col.size), bool)
    want[:, :width] = x
    got = (words[:, col // 64] >> (col % 64).astype(np.uint64)) & np.uint64(1)
    np.testing.assert_array_equal(got.astype(bool), want)
    # into a given array of words, whatever it held before
    out = np.full_like(words, np.iinfo(np.uint64).max)
    assert _pack(x, out) is out
    np.testing.assert_array_equal(out, words)


@pytest.mark.parametrize("p", [0.0, 0.001, 0.3, 1.0])
def test_positions_equal_flatnonzero(p):
    rng = np.random.default_rng(1)
    for width in (5, 64, 100):
        x = rng.random((7, width)) < p
        np.testing.assert_array_equal(_positions(_pack(x), width), np.flatnonzero(x))


@pytest.mark.parametrize("connectivity", [1, 2])
@pytest.mark.parametrize("width", [4, 62, 64, 66, 129])
def test_dilate_equals_scipy(connectivity, width):
    # across word boundaries, with the rows seen flat (pad columns False)
    rng = np.random.default_rng(width)
    x = _padded(rng, (9, width), 0.2)
    words = _pack(x)
    out, tmp = np.empty_like(words), np.empty_like(words)
    _dilate(words, out, tmp, connectivity)
    want = ndi.binary_dilation(x, ndi.generate_binary_structure(2, connectivity))
    np.testing.assert_array_equal(_unpack(out, width), want)
    np.testing.assert_array_equal(_unpack(words, width), x)  # the input is left alone


@pytest.mark.parametrize("connectivity", [1, 2])
def test_geodesic_equals_scipy_iterations(connectivity):
    rng = np.random.default_rng(2)
    width = 67
    mask = _padded(rng, (30, width), 0.65)
    seed = mask & (rng.random(mask.shape) < 0.01)
    footprint = ndi.generate_binary_structure(2, connectivity)
    for steps in (0, 1, 3, 4, 5, 8, 13):
        reached = _pack(seed)
        tmp = np.empty((3, *reached.shape), dtype=reached.dtype)
        assert _geodesic(reached, _pack(mask), steps, connectivity, tmp) is reached
        if steps == 0:
            want = seed
        else:
            want = ndi.binary_dilation(seed, footprint, iterations=steps, mask=mask)
        np.testing.assert_array_equal(_unpack(reached, width), want)
    # many steps: the reconstruction of the seeds inside the mask
    reached = _pack(seed)
    tmp = np.empty((3, *reached.shape), dtype=reached.dtype)
    _geodesic(reached, _pack(mask), 10_000, connectivity, tmp)
    want = ndi.binary_propagation(seed, footprint, mask=mask)
    np.testing.assert_array_equal(_unpack(reached, width), want)


def test_geodesic_stops_at_a_fixed_point(monkeypatch):
    # a mask filled by the seed within 2 steps: the check after the first 4 steps stops it
    calls = []
    dilate = bits._dilate

    def counted(*args):
        calls.append(1)
        dilate(*args)

    monkeypatch.setattr(bits, "_dilate", counted)
    mask = np.zeros((6, 10), bool)
    mask[2, 1:6] = True
    seed = np.zeros_like(mask)
    seed[2, 3] = True
    reached = _pack(seed)
    tmp = np.empty((3, *reached.shape), dtype=reached.dtype)
    _geodesic(reached, _pack(mask), 1000, 1, tmp)
    np.testing.assert_array_equal(_unpack(reached, 10), mask)
    assert len(calls) == bits._CHECK_EVERY


def _serpentine(rows, width, value, low):
    """A one-pixel-wide snake of ``value`` on ``low``: turns at alternate ends of every
    other row, so its geodesic length is about rows * width / 2."""
    f = np.full((rows, width), low, dtype=np.int32)
    f[::2, :] = value
    for i, r in enumerate(range(1, rows, 2)):
        f[r, -1 if i % 2 == 0 else 0] = value
    return f


@pytest.mark.parametrize("connectivity", [1, 2])
def test_long_plateaus_past_the_steps_equal_skimage(connectivity):
    # snakes hundreds of steps long: a spoiled end (a neighbour of the same value off the
    # candidates) must drop the whole snake, and an unspoiled one is a maximum; the labelling
    # after the geodesic steps decides both
    snake = _serpentine(21, 30, 5, 1)
    spoiled = snake.copy()
    # a higher pixel at one end: its snake neighbours are not candidates, so the candidates
    # next to them are spoiled, hundreds of steps away from the other end
    spoiled[-1, 0] = 9
    gap = np.ones((21, 1), dtype=np.int32)  # keeps the two snakes apart
    f = np.concatenate([snake, gap, spoiled], axis=1)
    for maxima in (True, False):
        g = f if maxima else -f
        fn = regional_maxima if maxima else regional_minima
        out = fn(torch.from_numpy(g), connectivity=connectivity).numpy()
        sk = skm.local_maxima if maxima else skm.local_minima
        np.testing.assert_array_equal(out, sk(g, connectivity=connectivity, allow_borders=True))
    assert regional_maxima(torch.from_numpy(f), connectivity=connectivity)[:, :30].any()


@pytest.mark.parametrize("connectivity", [1, 2])
def test_enlarged_sample_images_equal_skimage(connectivity):
    # real images with 4x4 plateaus (the benchmark's case, smaller), integer and float,
    # maxima and minima, one by one and as a batch
    cam = np.kron(skimage.data.camera()[::2, ::2], np.ones((4, 4), np.uint8))  # (1024, 1024)
    coins = np.kron(skimage.data.coins()[::2, ::2], np.ones((4, 4), np.uint8))[: cam.shape[0]]
    coins = np.pad(coins, ((0, cam.shape[0] - coins.shape[0]), (0, cam.shape[1] - coins.shape[1])))
    batch = np.stack([cam, coins])
    for x in (batch, batch.astype(np.float32)):
        for maxima in (True, False):
            fn = regional_maxima if maxima else regional_minima
            sk = skm.local_maxima if maxima else skm.local_minima
            out = fn(torch.from_numpy(x), connectivity=connectivity).numpy()
            for i in range(2):
                want = sk(x[i], connectivity=connectivity, allow_borders=True)
                np.testing.assert_array_equal(out[i], want)


def test_few_levels_settled_by_the_steps_equal_skimage():
    # noise on 3 levels: every plateau is settled by the geodesic steps (no labelling left)
    rng = np.random.default_rng(3)
    f = rng.integers(0, 3, size=(2, 120, 140)).astype(np.uint8)
    for c in (1, 2):
        out = regional_maxima(torch.from_numpy(f), connectivity=c).numpy()
        for i in range(2):
            np.testing.assert_array_equal(
                out[i], skm.local_maxima(f[i], connectivity=c, allow_borders=True)
            )
