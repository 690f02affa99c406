import numpy as np
import pytest
import scipy.ndimage as ndi
import torch

from pixlearn.data import sample
from pixlearn.filters import median_blur2d

SCIPY_MODE = {
    "reflect": "mirror",
    "replicate": "nearest",
    "constant": "constant",
    "circular": "wrap",
}


@pytest.mark.parametrize("border", list(SCIPY_MODE))
@pytest.mark.parametrize("size", [3, 5, (3, 7), (1, 5)])
def test_matches_scipy_exactly(border, size):
    f = torch.rand(2, 19, 23)
    ref = np.stack(
        [ndi.median_filter(i, size, mode=SCIPY_MODE[border], cval=0.25) for i in f.numpy()]
    )
    out = median_blur2d(f, size, border=border, value=0.25)
    assert np.array_equal(out.numpy(), ref)


@pytest.mark.parametrize("size", [3, 5])
def test_camera_exact(size):
    img = sample("camera")[0, :128, :160]
    ref = ndi.median_filter(img.numpy(), size, mode="mirror")
    assert np.array_equal(median_blur2d(img, size).numpy(), ref)


def test_window_larger_than_image_and_ties():
    f = torch.randint(0, 3, (3, 4)).double()  # many ties
    padded = np.pad(f.numpy(), 3, mode="reflect")
    ref = ndi.median_filter(padded, 7)[3:-3, 3:-3]
    assert np.array_equal(median_blur2d(f, 7).numpy(), ref)


def test_properties_removes_impulses_keeps_constant_and_values():
    f = torch.full((9, 9), 0.5)
    f[4, 4] = 1.0
    assert torch.equal(median_blur2d(f, 3), torch.full((9, 9), 0.5))
    g = torch.rand(12, 12)
    out = median_blur2d(g, 5)
    assert torch.isin(out, g).all()  # a rank filter creates no new values


def test_batched_zero_batch_layout_dtype():
    x = torch.rand(2, 3, 16, 14)
    out = median_blur2d(x, 5)
    assert torch.equal(out[1, 2], median_blur2d(x[1, 2], 5))
    assert median_blur2d(torch.rand(0, 6, 6), 3).shape == (0, 6, 6)
    cl = x.to(memory_format=torch.channels_last)
    assert torch.equal(median_blur2d(cl, 3), median_blur2d(x, 3))
    assert torch.equal(median_blur2d(x[0, 0].t(), 3), median_blur2d(x[0, 0].t().contiguous(), 3))
    assert median_blur2d(x.double(), 3).dtype == torch.float64
    assert torch.equal(median_blur2d(x, 1), x)


def test_bad_inputs():
    img = torch.rand(8, 8)
    with pytest.raises(ValueError, match="size"):
        median_blur2d(img, 4)
    with pytest.raises(ValueError, match="size"):
        median_blur2d(img, (3, 2))
    with pytest.raises(ValueError, match="border"):
        median_blur2d(img, 3, border="wrap")
    with pytest.raises(ValueError, match="image"):
        median_blur2d(torch.tensor([[float("nan"), 1.0]]), 3)
    with pytest.raises(ValueError, match="image"):
        median_blur2d(torch.rand(3, 0), 3)
    with pytest.raises(TypeError, match=r"image.*float"):
        median_blur2d(torch.ones(4, 4, dtype=torch.int64), 3)


@pytest.mark.parametrize("size", [(5, 5), (1, 5), (5, 1), (3, 5), (5, 7), (7, 7)])
def test_selection_network_matches_scipy_over_blocks(monkeypatch, size):
    # small blocks: several images per block, bands of rows, ragged last blocks; ties included
    import pixlearn.filters.rank as rank

    monkeypatch.setattr(rank, "_NET_BLOCK", 300)
    g = torch.Generator().manual_seed(3)
    f = torch.rand(5, 23, 29, generator=g, dtype=torch.float64)
    f[0] = (f[0] * 4).round() / 4
    ref = np.stack([ndi.median_filter(i, size, mode="mirror") for i in f.numpy()])
    assert np.array_equal(median_blur2d(f, size).numpy(), ref)
    big = torch.rand(1, 40, 33, generator=g)
    ref = ndi.median_filter(big[0].numpy(), size, mode="nearest")
    assert np.array_equal(median_blur2d(big, size, border="replicate")[0].numpy(), ref)


def test_selection_network_equals_sorting_path(monkeypatch):
    import pixlearn.filters.rank as rank

    f = torch.rand(2, 3, 31, 17, generator=torch.Generator().manual_seed(4))
    fast = median_blur2d(f, (5, 3))
    monkeypatch.setattr(rank, "_NETWORK_MAX", 0)
    assert torch.equal(fast, median_blur2d(f, (5, 3)))


def test_batcher_network_sorts_all_zero_one_inputs():
    # the 0-1 principle: a comparator network sorts everything iff it sorts all 0/1 inputs
    from pixlearn.filters.rank import _batcher_pairs

    for n in (2, 4, 8, 16):
        bits = (torch.arange(1 << n)[:, None] >> torch.arange(n)) & 1  # (2^n, n)
        v = bits.clone()
        for a, b in _batcher_pairs(n):
            lo, hi = torch.minimum(v[:, a], v[:, b]), torch.maximum(v[:, a], v[:, b])
            v[:, a], v[:, b] = lo, hi
        assert torch.equal(v, bits.sort(dim=1).values)
