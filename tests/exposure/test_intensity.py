import numpy as np
import pytest
import skimage.exposure as se
import torch

from pixlearn.data import sample
from pixlearn.exposure import adjust_gamma, center, normalize, rescale_intensity, standardize


@pytest.fixture(scope="module")
def astronaut():
    return sample("astronaut")  # (3, 512, 512)


@pytest.mark.parametrize("name", ["camera", "moon", "astronaut"])
def test_rescale_matches_skimage_on_samples(name):
    x = sample(name)
    ref = se.rescale_intensity(x.numpy(), in_range="image", out_range=(0.0, 1.0))
    np.testing.assert_allclose(rescale_intensity(x).numpy(), ref, atol=1e-6)
    ref = se.rescale_intensity(x.numpy(), in_range=(0.2, 0.7), out_range=(-1.0, 3.0))
    out = rescale_intensity(x, (0.2, 0.7), (-1.0, 3.0))
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-6)


def test_rescale_percentiles_match_numpy(astronaut):
    x = astronaut.double()
    lo, hi = np.percentile(x.numpy(), (2, 98))
    ref = se.rescale_intensity(x.numpy(), in_range=(lo, hi), out_range=(0.0, 1.0))
    out = rescale_intensity(x, percentiles=(2, 98))
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-10)


def test_rescale_random_and_batched_equals_per_image():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 9, 7, generator=g, dtype=torch.float64) * 5 - 2
    out = rescale_intensity(x, out_range=(0, 255))
    for i in range(4):
        ref = se.rescale_intensity(x[i].numpy(), out_range=(0, 255))
        np.testing.assert_allclose(out[i].numpy(), ref, atol=1e-10)
        assert torch.equal(out[i], rescale_intensity(x[i], out_range=(0, 255)))
    assert torch.equal(
        rescale_intensity(x, percentiles=(5, 95))[2], rescale_intensity(x[2], percentiles=(5, 95))
    )


def test_rescale_constant_image_is_clipped():
    x = torch.full((1, 3, 3), 2.0)
    assert torch.equal(rescale_intensity(x), torch.ones(1, 3, 3))


def test_normalize_range_and_constant_zero():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, 8, 8, generator=g) * 3 + 1
    y = normalize(x)
    assert torch.allclose(y.amin(dim=(1, 2, 3)), torch.zeros(2))
    assert torch.allclose(y.amax(dim=(1, 2, 3)), torch.ones(2))
    assert torch.equal(normalize(torch.full((2, 4, 4), 0.3)), torch.zeros(2, 4, 4))


def test_center_and_standardize_statistics():
    g = torch.Generator().manual_seed(2)
    x = torch.rand(2, 3, 16, 12, generator=g, dtype=torch.float64) * 7 + 3
    c = center(x)
    assert c.mean(dim=(-2, -1)).abs().max() < 1e-12
    assert torch.allclose(c + x.mean(dim=(-2, -1), keepdim=True), x)
    z = standardize(x)
    assert z.mean(dim=(-2, -1)).abs().max() < 1e-12
    assert torch.allclose(
        z.std(dim=(-2, -1), correction=0), torch.ones(2, 3, dtype=torch.float64), atol=1e-7
    )
    assert torch.equal(standardize(torch.ones(2, 5, 5)), torch.zeros(2, 5, 5))


def test_adjust_gamma_closed_form_and_skimage(astronaut):
    x = astronaut.double()
    out = adjust_gamma(x, 0.6, gain=1.5)
    assert torch.allclose(out, 1.5 * x**0.6, atol=1e-15)
    np.testing.assert_allclose(out.numpy(), se.adjust_gamma(x.numpy(), 0.6, gain=1.5), atol=1e-12)


def test_adjust_gamma_gradcheck():
    x = (torch.rand(2, 5, 6, dtype=torch.float64) + 0.1).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: adjust_gamma(t, 2.2, gain=0.7), (x,))


@pytest.mark.parametrize(
    "fn", [rescale_intensity, normalize, center, standardize, lambda t: adjust_gamma(t, 2.0)]
)
def test_empty_batch_and_non_contiguous(fn):
    e = torch.rand(0, 3, 5, 5)
    out = fn(e)
    assert out.shape == e.shape
    x = torch.rand(3, 9, 7).transpose(-1, -2)
    assert torch.allclose(fn(x), fn(x.contiguous()))


@pytest.mark.parametrize(
    "fn", [rescale_intensity, normalize, center, standardize, lambda t: adjust_gamma(t, 2.0)]
)
def test_bad_images(fn):
    with pytest.raises(ValueError, match="image"):
        fn(torch.tensor([[0.1, float("nan")]]))
    with pytest.raises(ValueError, match="image"):
        fn(torch.zeros(3, 0, 4))
    with pytest.raises(TypeError, match=r"image.*float"):
        fn(torch.zeros(4, 4, dtype=torch.uint8))


def test_bad_arguments():
    x = torch.rand(4, 4)
    for bad in [(0.5, 0.5), (0.7, 0.2)]:
        with pytest.raises(ValueError, match="in_range"):
            rescale_intensity(x, bad)
    with pytest.raises(ValueError, match="in_range"):
        rescale_intensity(x, "dtype")
    with pytest.raises(ValueError, match="out_range"):
        rescale_intensity(x, out_range=(0.0, float("nan")))
    for bad in [(98, 2), (-1, 50), (2, 101)]:
        with pytest.raises(ValueError, match="percentiles"):
            rescale_intensity(x, percentiles=bad)
    with pytest.raises(ValueError, match="in_range"):
        rescale_intensity(x, (0.0, 1.0), percentiles=(2, 98))
    for bad in [0.0, -1.0, float("nan")]:
        with pytest.raises(ValueError, match="gamma"):
            adjust_gamma(x, bad)
    with pytest.raises(ValueError, match="gain"):
        adjust_gamma(x, 1.0, 0.0)
    with pytest.raises(ValueError, match="image"):
        adjust_gamma(x - 1, 1.0)
    with pytest.raises(ValueError, match="eps"):
        standardize(x, eps=-1.0)
