import numpy as np
import pytest
import skimage.exposure as se
import torch

from pixlearn.data import sample
from pixlearn.exposure import _binning, equalize_hist, histogram, match_histograms


@pytest.mark.parametrize("name", ["camera", "moon", "astronaut"])
def test_histogram_equals_numpy(name):
    x = sample(name)
    counts, centers = histogram(x, 100, range=(0.1, 0.9))
    for c in range(x.shape[0]):
        ref, edges = np.histogram(x[c].numpy(), 100, range=(0.1, 0.9))
        assert np.array_equal(counts[c].numpy(), ref)
    np.testing.assert_allclose(centers.numpy(), (edges[1:] + edges[:-1]) / 2, atol=1e-7)


def test_histogram_random_batched_and_empty_batch():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 17, 13, generator=g, dtype=torch.float64) * 1.4 - 0.2
    counts, _ = histogram(x, 7)
    assert counts.shape == (2, 3, 7) and counts.dtype == torch.int64
    for i in range(2):
        for c in range(3):
            assert np.array_equal(counts[i, c].numpy(), np.histogram(x[i, c], 7, range=(0, 1))[0])
    assert histogram(torch.rand(0, 4, 4), 5)[0].shape == (0, 5)
    xt = x[0].transpose(-1, -2)
    assert torch.equal(histogram(xt)[0], histogram(xt.contiguous())[0])


@pytest.mark.parametrize("name", ["camera", "moon"])
def test_equalize_hist_uint8_identical_mapping_and_flat_cdf(name):
    x = sample(name)[0]  # uint8 / 255 values
    out = equalize_hist(x)
    ref = se.equalize_hist(x.numpy())
    assert out.dtype == torch.float32
    assert np.array_equal(out.numpy(), ref)  # bit for bit on every level
    # syllabus: the equalised image's cumulative histogram is close to the identity
    # F_out(s) = share of output pixels <= s, at every output level s
    levels, counts = np.unique(out.numpy(), return_counts=True)
    cdf = np.cumsum(counts) / out.numel()
    assert np.abs(cdf - levels).max() < 0.02


def test_equalize_hist_astronaut_per_channel_and_float64_random():
    x = sample("astronaut")
    out = equalize_hist(x, 64)
    for c in range(3):
        assert np.array_equal(out[c].numpy(), se.equalize_hist(x[c].numpy(), 64))
    g = torch.Generator().manual_seed(3)
    r = torch.rand(2, 2, 31, 29, generator=g, dtype=torch.float64)
    out = equalize_hist(r, 16)
    for i in range(2):
        for c in range(2):
            ref = se.equalize_hist(r[i, c].numpy(), 16)
            np.testing.assert_allclose(out[i, c].numpy(), ref, atol=1e-12)
            assert torch.equal(out[i, c], equalize_hist(r[i, c], 16))


def test_equalize_hist_mask_and_constant():
    x = sample("camera")[0]
    mask = torch.zeros(x.shape, dtype=torch.bool)
    mask[100:300, 50:400] = True
    ref = se.equalize_hist(x.numpy(), mask=mask.numpy())
    assert np.abs(equalize_hist(x, mask=mask).numpy() - ref).max() < 1e-6
    const = torch.full((2, 3, 3), 0.4)
    assert np.array_equal(equalize_hist(const).numpy()[0], se.equalize_hist(const[0].numpy()))


def test_equalize_hist_empty_batch_and_non_contiguous():
    assert equalize_hist(torch.rand(0, 1, 4, 4)).shape == (0, 1, 4, 4)
    x = torch.rand(2, 15, 11).transpose(-1, -2)
    assert torch.equal(equalize_hist(x), equalize_hist(x.contiguous()))


@pytest.mark.parametrize("name", ["camera", "moon", "astronaut"])
def test_match_histograms_matches_skimage(name):
    x = sample(name)
    ref_img = sample("coins" if x.shape[0] == 1 else "chelsea")
    if x.shape[0] == 1:
        ours = match_histograms(x, ref_img)
        ref = se.match_histograms(x.numpy(), ref_img.numpy())
    else:
        ours = match_histograms(x, ref_img, channel_axis=-3)
        ref = se.match_histograms(x.numpy(), ref_img.numpy(), channel_axis=0)
    assert np.abs(ours.numpy() - ref).max() < 1e-5


def test_match_histograms_random_equal_sizes_gives_reference_histogram():
    g = torch.Generator().manual_seed(4)
    x = torch.rand(3, 20, 20, generator=g, dtype=torch.float64)
    r = torch.rand(3, 16, 25, generator=g, dtype=torch.float64) ** 3
    out = match_histograms(x, r, channel_axis=0)
    for c in range(3):
        assert torch.equal(out[c].flatten().sort().values, r[c].flatten().sort().values)
        ref = se.match_histograms(x[c].numpy(), r[c].numpy())
        np.testing.assert_allclose(out[c].numpy(), ref, atol=1e-12)
        assert torch.equal(out[c], match_histograms(x[c], r[c]))
    # ties and unequal sizes
    xq = (x[0] * 5).round() / 5
    rq = (torch.rand(7, 9, generator=g, dtype=torch.float64) * 4).round()
    ref = se.match_histograms(xq.numpy(), rq.numpy())
    np.testing.assert_allclose(match_histograms(xq, rq).numpy(), ref, atol=1e-12)
    xt = x.transpose(-1, -2)
    assert torch.equal(match_histograms(xt, r), match_histograms(xt.contiguous(), r))
    assert match_histograms(torch.rand(0, 4, 4), r[:0], channel_axis=0).shape == (0, 4, 4)


@pytest.mark.parametrize("fn", [histogram, equalize_hist, lambda t: match_histograms(t, t)])
def test_bad_images(fn):
    with pytest.raises(ValueError, match="image"):
        fn(torch.tensor([[0.1, float("nan")]]))
    with pytest.raises(ValueError, match="image"):
        fn(torch.zeros(0, 4))
    with pytest.raises(TypeError, match=r"image.*float"):
        fn(torch.zeros(4, 4, dtype=torch.uint8))


def test_bad_arguments():
    x = torch.rand(4, 4)
    for fn in (histogram, equalize_hist):
        with pytest.raises(ValueError, match="bins"):
            fn(x, 0)
    for bad in [(0.5, 0.5), (1.0, 0.0)]:
        with pytest.raises(ValueError, match="range"):
            histogram(x, range=bad)
    with pytest.raises(ValueError, match="mask"):
        equalize_hist(x, mask=torch.zeros(4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask"):
        equalize_hist(x, mask=torch.ones(3, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="reference"):
        match_histograms(x, torch.tensor([[float("inf")]]))
    with pytest.raises(ValueError, match="reference"):
        match_histograms(torch.rand(3, 4, 4), torch.rand(2, 4, 4), channel_axis=0)
    with pytest.raises(ValueError, match="channel_axis"):
        match_histograms(x, x, channel_axis=5)


def test_equalize_hist_blocked_path_bit_identical_and_input_unchanged(monkeypatch):
    # planes larger than one block (pixlearn.exposure._binning.CHUNK values per thread, made
    # small here) are binned and mapped block by block; values placed on bin edges exercise
    # NumPy's edge correction
    monkeypatch.setattr(_binning, "CHUNK", 1 << 14)
    g = torch.Generator().manual_seed(7)
    smooth = torch.rand(1, 1, 96, 96, generator=g)
    smooth = torch.nn.functional.interpolate(smooth, size=(420, 410), mode="bicubic")[0, 0]
    # NumPy's float32 edges of 64 bins over [0.1, 0.9] and their float neighbours
    e = np.linspace(np.float32(0.1), np.float32(0.9), 65, dtype=np.float32)
    near = np.concatenate([e, np.nextafter(e, np.float32(2)), np.nextafter(e, np.float32(-1))])
    near = torch.from_numpy(near.clip(e[0], e[-1]))
    edges = near[torch.randint(0, near.numel(), (420, 410), generator=g)]
    for x in (smooth, edges, smooth.double()):
        before = x.clone()
        out = equalize_hist(x, 64)
        assert torch.equal(x, before)
        assert np.array_equal(out.numpy(), se.equalize_hist(x.numpy(), 64))
    both = equalize_hist(torch.stack([smooth, edges]), 64)  # each plane cut into blocks
    assert torch.equal(both[0], equalize_hist(smooth, 64))
    assert torch.equal(both[1], equalize_hist(edges, 64))
    counts, _ = histogram(edges * 1.3 - 0.1, 37, range=(0.05, 0.8))
    ref, _ = np.histogram((edges * 1.3 - 0.1).numpy(), 37, range=(0.05, 0.8))
    assert np.array_equal(counts.numpy(), ref)


def test_equalize_hist_many_small_planes_grouped_in_blocks(monkeypatch):
    monkeypatch.setattr(_binning, "CHUNK", 1 << 12)
    g = torch.Generator().manual_seed(8)
    x = torch.rand(300, 24, 20, generator=g) ** 2  # several planes per block
    out = equalize_hist(x, 32)
    for i in (0, 137, 299):
        assert np.array_equal(out[i].numpy(), se.equalize_hist(x[i].numpy(), 32))
