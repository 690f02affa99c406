import numpy as np
import pytest
import skimage.exposure as se
import torch

from pixlearn.data import sample
from pixlearn.exposure import equalize_adapthist
from pixlearn.exposure.clahe import _clip_histograms


@pytest.mark.parametrize("name", ["camera", "moon"])
@pytest.mark.parametrize(
    ("clip_limit", "kernel_size"), [(0.01, None), (0.03, 48), (0.0, (40, 70)), (0.2, 100)]
)
def test_matches_skimage_on_samples(name, clip_limit, kernel_size):
    x = sample(name)[0, ::2, ::2]  # (256, 256)
    out = equalize_adapthist(x, clip_limit=clip_limit, kernel_size=kernel_size)
    ref = se.equalize_adapthist(x.numpy(), clip_limit=clip_limit, kernel_size=kernel_size)
    diff = np.abs(out.numpy() - ref)
    # measured: 0 on most settings, mean <= 1e-7 and max 1 level (6e-5) where float32
    # rounding of the bilinear weights moves a truncation
    assert diff.mean() < 1e-5 and diff.max() < 1e-4


@pytest.mark.parametrize("nbins", [256, 64, 1000])
def test_matches_skimage_on_random(nbins):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 61, 47, generator=g, dtype=torch.float64) ** 2 * 0.5 + 0.1
    kw = {"clip_limit": 0.02, "kernel_size": (13, 9), "nbins": nbins}
    out = equalize_adapthist(x, **kw)
    for i in range(3):
        ref = se.equalize_adapthist(x[i].numpy(), **kw)
        # float64: the blend runs in float64 where scikit-image sums in float32, so a
        # truncation moves by one level (6e-5) here and there: measured mean 4e-5
        assert np.abs(out[i].numpy() - ref).mean() < 1e-4
        assert torch.equal(out[i], equalize_adapthist(x[i], **kw))


def _skimage_clip(hist, clim):
    from skimage.exposure._adapthist import clip_histogram

    return clip_histogram(hist.copy(), clim)


def test_clip_histograms_equals_skimage_row_by_row():
    g = torch.Generator().manual_seed(1)
    hist = torch.randint(0, 40, (50, 32), generator=g)
    hist[::3, 5] = 900  # heavy peaks leave a large remainder
    for clim in [1, 3, 17, 60]:
        ours = _clip_histograms(hist.clone(), clim)
        for r in range(hist.shape[0]):
            assert np.array_equal(ours[r].numpy(), _skimage_clip(hist[r].numpy(), clim))


def test_kernel_larger_than_image_and_tiny_images():
    x = torch.rand(1, 5, 7, dtype=torch.float64)
    for ks in [(9, 11), 1, (2, 3)]:
        ref = se.equalize_adapthist(x[0].numpy(), kernel_size=ks)
        assert np.abs(equalize_adapthist(x, kernel_size=ks)[0].numpy() - ref).mean() < 1e-6


def test_empty_batch_non_contiguous_constant():
    assert equalize_adapthist(torch.rand(0, 2, 16, 16)).shape == (0, 2, 16, 16)
    x = torch.rand(2, 40, 30).transpose(-1, -2)
    assert torch.equal(equalize_adapthist(x), equalize_adapthist(x.contiguous()))
    assert torch.equal(equalize_adapthist(torch.full((1, 8, 8), 0.5)), torch.zeros(1, 8, 8))


def test_errors():
    x = torch.rand(16, 16)
    for bad in [-0.1, 1.5, float("nan")]:
        with pytest.raises(ValueError, match="clip_limit"):
            equalize_adapthist(x, clip_limit=bad)
    with pytest.raises(ValueError, match="nbins"):
        equalize_adapthist(x, nbins=0)
    with pytest.raises(ValueError, match="kernel_size"):
        equalize_adapthist(x, kernel_size=0)
    with pytest.raises(ValueError, match="image"):
        equalize_adapthist(x * 2)
    with pytest.raises(ValueError, match="image"):
        equalize_adapthist(torch.tensor([[0.1, float("nan")]]))
    with pytest.raises(ValueError, match="image"):
        equalize_adapthist(torch.zeros(2, 0, 3))
    with pytest.raises(TypeError, match=r"image.*float"):
        equalize_adapthist(torch.zeros(4, 4, dtype=torch.uint8))
