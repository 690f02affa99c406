import numpy as np
import pytest
import skimage.data
import skimage.measure as skm
import torch

from pixlearn.measure import moments, moments_central, moments_hu, moments_normalized


def _rel(a, b):
    return np.abs(np.asarray(a) - b).max() / np.abs(b).max()


@pytest.fixture(scope="module")
def camera():
    return skimage.data.camera()[::8, ::8].astype(np.float64) / 255  # (64, 64)


@pytest.mark.parametrize("order", [1, 2, 3, 5])
@pytest.mark.parametrize("seed", range(3))
def test_equal_skimage_on_random_images(order, seed):
    rng = np.random.default_rng(seed)
    img = rng.random(rng.integers(3, 30, size=2))
    t = torch.from_numpy(img)
    assert _rel(moments(t, order), skm.moments(img, order)) < 1e-12
    mu_sk = skm.moments_central(img, order=order)
    mu = moments_central(t, order=order).numpy()
    assert _rel(mu, mu_sk) < 1e-10
    assert np.array_equal(mu == 0, mu_sk == 0)  # same entries left at zero
    ctr = (3.25, 1.5)
    assert _rel(moments_central(t, ctr, order), skm.moments_central(img, ctr, order=order)) < 1e-12
    nu = moments_normalized(torch.from_numpy(mu_sk), order).numpy()
    nu_sk = skm.moments_normalized(mu_sk, order)
    assert np.array_equal(np.isnan(nu), np.isnan(nu_sk))
    np.testing.assert_allclose(nu, nu_sk, rtol=1e-12, atol=0)


def test_hu_equal_skimage_on_camera(camera):
    nu = skm.moments_normalized(skm.moments_central(camera))
    np.testing.assert_allclose(
        moments_hu(torch.from_numpy(nu)).numpy(), skm.moments_hu(nu), rtol=1e-10, atol=0
    )
    ours = moments_hu(moments_normalized(moments_central(torch.from_numpy(camera))))
    np.testing.assert_allclose(ours.numpy(), skm.moments_hu(nu), rtol=1e-8)


def test_batched_equals_per_item_and_integer_input():
    x = torch.rand(2, 3, 9, 11, dtype=torch.float64)
    for fn in (moments, moments_central):
        out = fn(x)
        assert out.shape == (2, 3, 4, 4)
        torch.testing.assert_close(out[1, 2], fn(x[1, 2]), rtol=1e-12, atol=1e-12)
    ctr = torch.rand(2, 3, 2, dtype=torch.float64) * 8
    torch.testing.assert_close(
        moments_central(x, ctr)[0, 1], moments_central(x[0, 1], ctr[0, 1]), rtol=1e-12, atol=0
    )
    mask = torch.rand(9, 11) > 0.5
    assert moments(mask).dtype == torch.float64
    torch.testing.assert_close(moments(mask), moments(mask.double()))
    assert moments(torch.zeros(2, 0, 5)).shape == (2, 4, 4)


def test_non_contiguous_input():
    x = torch.rand(13, 7, dtype=torch.float64).t()
    torch.testing.assert_close(moments_central(x), moments_central(x.contiguous()))


def test_gradcheck():
    x = torch.rand(5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: moments(t, 2), (x,))
    assert torch.autograd.gradcheck(lambda t: moments_central(t, (2.0, 1.5), 2), (x,))


def _shape():
    img = torch.zeros(64, 64, dtype=torch.float64)
    img[10:30, 12:18] = 1
    img[14:20, 18:34] = 1  # an asymmetric "L"-like figure
    img[26:30, 4:12] = 1
    return img


def _hu(img):
    return moments_hu(moments_normalized(moments_central(img)))


def test_hu_invariant_to_translation_rotation_and_scale():
    img = _shape()
    ref = _hu(img)
    # translation: exact up to rounding
    torch.testing.assert_close(_hu(torch.roll(img, (20, 15), (0, 1))), ref, rtol=1e-9, atol=1e-14)
    # 90-degree rotations: the pixel grid maps onto itself, so again exact up to rounding;
    # phi_7 is a pseudo-invariant (a reflection flips its sign) but a rotation keeps it
    for k in (1, 2, 3):
        torch.testing.assert_close(_hu(torch.rot90(img, k)), ref, rtol=1e-9, atol=1e-14)
    # x2 nearest upsampling: each pixel becomes a 2x2 block, eta_pq changes only by the
    # discretisation terms (the variance of a pixel's own area), measured < 1 % here
    big = img.repeat_interleave(2, 0).repeat_interleave(2, 1)
    torch.testing.assert_close(_hu(big)[:4], ref[:4], rtol=1e-2, atol=1e-6)
    # a reflection flips phi_7 and keeps the others
    flipped = _hu(img.flip(1))
    torch.testing.assert_close(flipped[:6], ref[:6], rtol=1e-9, atol=1e-14)
    torch.testing.assert_close(flipped[6], -ref[6], rtol=1e-9, atol=1e-14)


def test_bad_inputs():
    with pytest.raises(ValueError, match="order"):
        moments(torch.rand(4, 4), order=-1)
    with pytest.raises(TypeError, match="order"):
        moments(torch.rand(4, 4), order=1.5)
    with pytest.raises(ValueError, match="image"):
        moments(torch.tensor([[float("nan"), 1.0]]))
    with pytest.raises(ValueError, match="image"):
        moments(torch.rand(4))
    with pytest.raises(ValueError, match="center"):
        moments_central(torch.rand(4, 4), center=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="mu"):
        moments_normalized(torch.rand(3, 3), order=3)
    with pytest.raises(ValueError, match="nu"):
        moments_hu(torch.rand(3, 3))
    with pytest.raises(TypeError, match="mu"):
        moments_normalized(np.ones((4, 4)))
