"""The fast CPU path of the regional extrema: padded candidates, pair comparisons, run
labelling with pre-spreading, reused buffers; each against scikit-image / SciPy / NumPy."""

import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.measure
import skimage.morphology as skm
import torch

from pixlearn.morphology import regional_maxima, regional_minima
from pixlearn.morphology._candidates import (
    _blend,
    _candidates_numpy,
    _pad,
    _spread,
    _worst_numpy,
)
from pixlearn.morphology._plateaus import _unflagged_numpy


def _big_plateaus(rng, shape, levels, block):
    """Blocks of ``block x block`` pixels at a few levels, then a sprinkle of single pixels
    one level up: large plateaus of every shape, touching each other and the border."""
    small = rng.integers(0, levels, size=(shape[0] // block + 1, shape[1] // block + 1))
    f = np.kron(small, np.ones((block, block), np.int64))[: shape[0], : shape[1]]
    return f + (rng.random(shape) < 0.02)


def _sk(f, connectivity, maxima):
    fn = skm.local_maxima if maxima else skm.local_minima
    if f.dtype == np.float16:  # not supported by scikit-image; float32 holds it exactly
        f = f.astype(np.float32)
    return fn(f, connectivity=connectivity, allow_borders=True)


@pytest.mark.parametrize("connectivity", [1, 2])
@pytest.mark.parametrize("block", [4, 7, 13])
def test_big_plateaus_equal_skimage(connectivity, block):
    rng = np.random.default_rng(block)
    for dtype in (np.uint8, np.int32, np.float32):
        f = _big_plateaus(rng, (97, 131), 5, block).astype(dtype)
        for maxima in (True, False):
            fn = regional_maxima if maxima else regional_minima
            out = fn(torch.from_numpy(f), connectivity=connectivity).numpy()
            np.testing.assert_array_equal(out, _sk(f, connectivity, maxima))


@pytest.mark.parametrize("dtype", [np.float16, np.int8, np.uint16, np.int32, np.float64])
def test_every_width_of_dtype_equal_skimage(dtype):
    # 1- and 2-byte values take the masked-blend route, 4- and 8-byte ones the pair
    # comparisons; both against scikit-image, with negative values where the dtype has them
    rng = np.random.default_rng(1)
    f = _big_plateaus(rng, (40, 53), 6, 3) - (3 if np.dtype(dtype).kind != "u" else 0)
    f = f.astype(dtype)
    for c in (1, 2):
        for maxima in (True, False):
            fn = regional_maxima if maxima else regional_minima
            out = fn(torch.from_numpy(f), connectivity=c).numpy()
            np.testing.assert_array_equal(out, _sk(f, c, maxima))


def test_batched_equals_each_image_and_skimage():
    rng = np.random.default_rng(2)
    f = np.stack([_big_plateaus(rng, (31, 45), 4, b) for b in (2, 5, 9)]).astype(np.uint8)
    f[1, :, :] = 3  # a constant image inside the batch has no extremum
    for c in (1, 2):
        out = regional_maxima(torch.from_numpy(f.reshape(3, 1, 31, 45)), connectivity=c)
        assert out.shape == (3, 1, 31, 45) and out.dtype == torch.bool
        for i in range(3):
            want = _sk(f[i], c, True) if i != 1 else np.zeros((31, 45), bool)
            np.testing.assert_array_equal(out[i, 0].numpy(), want)


@pytest.mark.parametrize("shape", [(1, 1), (1, 17), (23, 1), (2, 2), (1, 2)])
def test_one_row_and_one_column_images(shape):
    rng = np.random.default_rng(3)
    for _ in range(20):
        f = rng.integers(0, 3, size=shape).astype(np.int16)
        for c in (1, 2):
            for maxima in (True, False):
                fn = regional_maxima if maxima else regional_minima
                out = fn(torch.from_numpy(f), connectivity=c).numpy()
                want = _sk(f, c, maxima) if f.min() != f.max() else np.zeros(shape, bool)
                np.testing.assert_array_equal(out, want)


def test_outputs_do_not_share_the_reused_buffers():
    # the scratch buffers are kept between calls: results must be fresh memory, and a
    # smaller or wider call in between must not change a later result
    rng = np.random.default_rng(4)
    big = _big_plateaus(rng, (60, 70), 4, 5).astype(np.uint8)
    small = _big_plateaus(rng, (9, 11), 4, 2).astype(np.float64)
    first = regional_maxima(torch.from_numpy(big))
    kept = first.clone()
    regional_minima(torch.from_numpy(small))
    again = regional_maxima(torch.from_numpy(big))
    assert torch.equal(first, kept) and torch.equal(again, kept)
    np.testing.assert_array_equal(kept.numpy(), _sk(big, 2, True))


@pytest.mark.parametrize("connectivity", [1, 2])
def test_spread_equals_scipy_filters(connectivity):
    rng = np.random.default_rng(5)
    f = rng.integers(0, 50, size=(2, 13, 17)).astype(np.int32)
    footprint = ndi.generate_binary_structure(2, connectivity)
    for op, filt, fill in (
        (np.maximum, ndi.maximum_filter, np.iinfo(np.int32).min),
        (np.minimum, ndi.minimum_filter, np.iinfo(np.int32).max),
    ):
        padded = _pad(f, fill)
        out, row = np.empty_like(padded), np.empty_like(padded)
        _spread(padded, out, row, connectivity, op)
        for i in range(2):
            want = filt(f[i], footprint=footprint, mode="constant", cval=fill)
            np.testing.assert_array_equal(out[i, 1:-1, 1:-1], want)
    # bools (the geodesic steps), with the output in the row buffer (the cross) or in the
    # source (the square): the documented buffer sharing gives the same result (compared
    # off the pad rows, where the stack's first and last rows are not computed)
    m = _pad(rng.random((2, 13, 17)) < 0.3, False)
    want = np.stack([ndi.binary_dilation(x, footprint) for x in m])[:, 1:-1]
    out, row = np.empty_like(m), np.empty_like(m)
    _spread(m, out, row, connectivity, np.logical_or)
    np.testing.assert_array_equal(out[:, 1:-1], want)
    shared = m.copy()
    if connectivity == 2:
        _spread(shared, shared, row, connectivity, np.logical_or)
        np.testing.assert_array_equal(shared[:, 1:-1], want)
    else:
        _spread(shared, row, row, connectivity, np.logical_or)
        np.testing.assert_array_equal(row[:, 1:-1], want)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.float64])
def test_blend_equals_where(dtype):
    rng = np.random.default_rng(6)
    value = (rng.random((3, 5, 7)) * 100 - 50).astype(dtype)
    where = rng.random((3, 5, 7)) < 0.4
    for maxima in (True, False):
        fill = _worst_numpy(np.dtype(dtype), maxima)
        out, tmp = np.empty_like(value), np.empty_like(value)
        _blend(value, where, fill, out, tmp)
        np.testing.assert_array_equal(out, np.where(where, value.dtype.type(fill), value))


def test_candidates_are_the_pixels_equal_to_their_dilation():
    rng = np.random.default_rng(7)
    f = _big_plateaus(rng, (20, 25), 4, 3).astype(np.float32)[None]
    for c in (1, 2):
        footprint = ndi.generate_binary_structure(2, c)
        cand, spoiled = _candidates_numpy(f, c, maxima=True)
        want = f[0] == ndi.maximum_filter(f[0], footprint=footprint, mode="nearest")
        np.testing.assert_array_equal(cand[0, 1:-1, 1:-1], want)
        assert not cand[0, 0].any() and not cand[0, :, -1].any()  # pads
        assert not (spoiled & ~cand).any()


@pytest.mark.parametrize("connectivity", [1, 2])
def test_unflagged_paths(connectivity):
    # a comb: one run below many runs above (the links between the first and the last run
    # above), flagged at one tooth; and the early exit when no clean pixel touches a flag
    mask = np.zeros((1, 6, 15), bool)
    mask[0, 1:4, ::2] = True  # teeth
    mask[0, 4] = True  # the spine, touching every tooth
    mask[0, 0, 3:6] = True  # a separate piece (8-connected to a tooth only diagonally)
    flag = np.zeros_like(mask)
    flag[0, 1, 12] = True
    lab = np.stack([skimage.measure.label(mask[0], connectivity=connectivity)])
    want = mask & ~np.isin(lab, np.unique(lab[flag]))
    for steps in (0, 1, 6):
        out = _unflagged_numpy(_pad(mask, False), _pad(flag, False), connectivity, steps=steps)
        np.testing.assert_array_equal(out, want)
    # flags spread over whole components within the steps: nothing left to label
    flag[0, 0, 3] = True
    lab_bad = np.unique(lab[flag])
    out = _unflagged_numpy(_pad(mask, False), _pad(flag, False), connectivity, steps=40)
    np.testing.assert_array_equal(out, mask & ~np.isin(lab, lab_bad))


def test_buffers_over_the_limit_are_not_kept(monkeypatch):
    import pixlearn.morphology._candidates as cands

    monkeypatch.setattr(cands, "_KEEP_BYTES", 100)
    monkeypatch.setattr(cands, "_WORKSPACE", type(cands._WORKSPACE)())
    f = _big_plateaus(np.random.default_rng(8), (20, 30), 4, 3).astype(np.float32)
    out = regional_maxima(torch.from_numpy(f)).numpy()
    np.testing.assert_array_equal(out, _sk(f, 2, True))
    assert not cands._WORKSPACE.__dict__  # 22 x 32 padded float32 values are over 100 bytes
    g = f[:4, :4].copy()  # 6 x 6 padded: 36 bytes of bools kept, 144 of values not
    np.testing.assert_array_equal(regional_maxima(torch.from_numpy(g)).numpy(), _sk(g, 2, True))
    kept = cands._WORKSPACE.__dict__
    assert {"cand", "spoiled"} <= set(kept) and "value" not in kept
    assert all(buf.nbytes <= 100 for buf in kept.values())


def test_input_requiring_grad_and_left_unchanged():
    f = torch.rand(2, 9, 11, dtype=torch.float64, requires_grad=True)
    before = f.detach().clone()
    out = regional_minima(f, connectivity=1)
    assert out.dtype == torch.bool and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), np.stack([_sk(x, 1, False) for x in before.numpy()]))
    assert torch.equal(f.detach(), before)


@pytest.mark.parametrize("band_rows", [1, 2, 5])
def test_bands_of_rows_give_the_same_result(monkeypatch, band_rows):
    # images much taller than a band of candidates: the bands (and their extra rows) must
    # join exactly
    import pixlearn.morphology._candidates as cands

    rng = np.random.default_rng(9)
    f = np.stack([_big_plateaus(rng, (37, 29), 4, b) for b in (3, 6)]).astype(np.float32)
    width = f.shape[-1] + 2
    monkeypatch.setattr(cands, "_BAND_BYTES", band_rows * width * 4)
    for c in (1, 2):
        for maxima in (True, False):
            fn = regional_maxima if maxima else regional_minima
            out = fn(torch.from_numpy(f), connectivity=c).numpy()
            np.testing.assert_array_equal(out, np.stack([_sk(x, c, maxima) for x in f]))


@pytest.mark.parametrize("width", [23, 62, 63, 64, 70, 126, 127])
def test_unflagged_any_number_of_steps(width):
    # the labelling step alone on a batch, for several numbers of geodesic steps (none, a
    # fixed point reached before the first check, one check, past it) and padded widths
    # around whole words (S = width + 2 bits a row)
    rng = np.random.default_rng(width)
    mask = rng.random((2, 41, width)) < 0.6
    flag = mask & (rng.random((2, 41, width)) < 0.01)
    for c in (1, 2):
        want = []
        for i in range(2):
            lab = skimage.measure.label(mask[i], connectivity=c)
            want.append(mask[i] & ~np.isin(lab, np.unique(lab[flag[i]])))
        for steps in (0, 1, 3, 4, 5, 9, 16, 200):
            out = _unflagged_numpy(_pad(mask, False), _pad(flag, False), c, steps=steps)
            np.testing.assert_array_equal(out, np.stack(want))
