import numpy as np
import pytest
import scipy.ndimage as ndi
import torch
import torch.nn.functional as F
from skimage.segmentation import felzenszwalb as sk_felzenszwalb
from sklearn.metrics import adjusted_rand_score

from pixlearn.data import sample
from pixlearn.segmentation import felzenszwalb


def _small(name, side=128, dtype=torch.float64):
    img = sample(name, dtype=dtype)
    h, w = img.shape[-2:]
    f = side / max(h, w)
    return F.interpolate(img[None], size=(round(h * f), round(w * f)), mode="area")[0]


@pytest.fixture(scope="module")
def astronaut():
    return _small("astronaut")


@pytest.mark.parametrize("name", ["astronaut", "coffee"])
@pytest.mark.parametrize("scale", [50.0, 300.0])
def test_matches_skimage_on_sample_photos(name, scale):
    img = _small(name)
    ours = felzenszwalb(img, scale=scale, sigma=0.8, min_size=20).numpy()
    ref = sk_felzenszwalb(img.permute(1, 2, 0).numpy(), scale=scale, sigma=0.8, min_size=20)
    n_ours, n_ref = ours.max() + 1, ref.max() + 1
    # the same algorithm (k / 255 on [0, 1] images, Euclidean colour distance, same smoothing):
    # measured identical partitions (ARI 1.0); tie-breaking may differ, hence the margins
    assert abs(n_ours - n_ref) <= 0.05 * n_ref
    assert adjusted_rand_score(ref.ravel(), ours.ravel()) > 0.95


def test_float32_and_grey_agree_with_skimage():
    img = _small("coffee", dtype=torch.float32)
    ours = felzenszwalb(img, scale=100.0).numpy()
    ref = sk_felzenszwalb(img.permute(1, 2, 0).double().numpy(), scale=100.0)
    assert adjusted_rand_score(ref.ravel(), ours.ravel()) > 0.9
    grey = img.mean(0)  # (H, W)
    ours = felzenszwalb(grey, scale=100.0).numpy()
    ref = sk_felzenszwalb(grey.double().numpy(), scale=100.0, channel_axis=None)
    assert adjusted_rand_score(ref.ravel(), ours.ravel()) > 0.9


def test_random_image_matches_skimage():
    g = torch.Generator().manual_seed(0)
    img = torch.rand(3, 40, 50, generator=g, dtype=torch.float64)
    ours = felzenszwalb(img, scale=200.0, sigma=1.0, min_size=5).numpy()
    ref = sk_felzenszwalb(img.permute(1, 2, 0).numpy(), scale=200.0, sigma=1.0, min_size=5)
    assert adjusted_rand_score(ref.ravel(), ours.ravel()) > 0.9


@pytest.mark.parametrize("min_size", [1, 20, 60])
def test_label_properties(astronaut, min_size):
    labels = felzenszwalb(astronaut, scale=100.0, min_size=min_size)
    assert labels.shape == astronaut.shape[-2:] and labels.dtype == torch.int64
    lab = labels.numpy()
    n = lab.max() + 1
    assert np.array_equal(np.unique(lab), np.arange(n))  # consecutive from 0
    # numbered in raster order of their first pixel
    _, first = np.unique(lab.ravel(), return_index=True)
    assert np.all(np.diff(first) > 0)
    sizes = np.bincount(lab.ravel())
    assert sizes.min() >= min_size
    for i in range(n):
        _, count = ndi.label(lab == i, structure=np.ones((3, 3)))
        assert count == 1  # each segment is 8-connected


def test_constant_image_is_one_segment():
    labels = felzenszwalb(torch.full((3, 17, 23), 0.4), scale=1.0, min_size=1)
    assert torch.equal(labels, torch.zeros(17, 23, dtype=torch.int64))


@pytest.mark.parametrize("sigma", [0.0, 0.8])
def test_two_colour_image_gives_two_segments(sigma):
    img = torch.zeros(3, 30, 40)
    img[0, :, 22:] = 1.0
    img[2, :, :22] = 0.5
    labels = felzenszwalb(img, scale=100.0, sigma=sigma, min_size=100)
    expected = torch.zeros(30, 40, dtype=torch.int64)
    expected[:, 22:] = 1
    assert torch.equal(labels, expected)


def test_larger_scale_gives_fewer_segments(astronaut):
    counts = [int(felzenszwalb(astronaut, scale=k).max()) + 1 for k in (10.0, 100.0, 1000.0)]
    assert counts[0] > counts[1] > counts[2]


def test_image_smaller_than_min_size_is_one_segment():
    img = torch.rand(3, 3, 4, generator=torch.Generator().manual_seed(1))
    assert felzenszwalb(img, scale=1.0, min_size=50).unique().tolist() == [0]
    assert felzenszwalb(torch.rand(1, 1)).tolist() == [[0]]


def test_non_contiguous_and_channels_last_input(astronaut):
    expected = felzenszwalb(astronaut, scale=100.0)
    nc = astronaut.permute(0, 2, 1).contiguous().permute(0, 2, 1)  # transposed strides
    assert not nc.is_contiguous()
    assert torch.equal(felzenszwalb(nc, scale=100.0), expected)
    cl = astronaut[None].to(memory_format=torch.channels_last)[0]
    assert torch.equal(felzenszwalb(cl, scale=100.0), expected)


def test_input_not_modified(astronaut):
    before = astronaut.clone()
    felzenszwalb(astronaut)
    assert torch.equal(astronaut, before)


def test_integer_images_are_refused():
    with pytest.raises(TypeError, match=r"image.*float"):
        felzenszwalb(torch.zeros(3, 8, 8, dtype=torch.uint8))


@pytest.mark.parametrize(
    "bad",
    [torch.full((3, 4, 4), float("nan")), torch.zeros(3, 0, 4), torch.zeros(2, 3, 4, 4)],
)
def test_bad_images_name_the_argument(bad):
    with pytest.raises(ValueError, match="image"):
        felzenszwalb(bad)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"scale": 0.0}, "scale"),
        ({"scale": -1.0}, "scale"),
        ({"scale": float("nan")}, "scale"),
        ({"sigma": -0.5}, "sigma"),
        ({"min_size": 0}, "min_size"),
    ],
)
def test_bad_options_name_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=name):
        felzenszwalb(torch.rand(3, 8, 8), **kwargs)


def test_min_size_must_be_an_integer():
    with pytest.raises(TypeError, match="min_size"):
        felzenszwalb(torch.rand(3, 8, 8), min_size=2.5)
