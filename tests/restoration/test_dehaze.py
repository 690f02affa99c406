import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.data
import torch

from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError
from pixlearn.metrics import psnr
from pixlearn.restoration import dark_channel, dehaze_dark_channel, guided_filter


def _slow_guided(guide, src, r, eps):
    """He et al.'s Algorithm 1, one window at a time (float64 NumPy)."""
    h, w = guide.shape
    a = np.zeros((h, w))
    b = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            win = (slice(max(y - r, 0), y + r + 1), slice(max(x - r, 0), x + r + 1))
            i, p = guide[win], src[win]
            mu, pm = i.mean(), p.mean()
            a[y, x] = ((i * p).mean() - mu * pm) / (i.var() + eps)
            b[y, x] = pm - a[y, x] * mu
    q = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            win = (slice(max(y - r, 0), y + r + 1), slice(max(x - r, 0), x + r + 1))
            q[y, x] = a[win].mean() * guide[y, x] + b[win].mean()
    return q


@pytest.fixture(scope="module")
def hazy():
    """A haze-free photo J, a depth d growing upwards, t = exp(-beta d), I = J t + A (1 - t)."""
    j = torch.from_numpy(skimage.data.coffee()[::3, ::3] / 255.0).permute(2, 0, 1)  # (3,134,200)
    _, h, w = j.shape
    y = torch.linspace(0, 1, h, dtype=torch.float64)[:, None].expand(h, w)
    depth = 0.3 + 2.7 * (1 - y)  # far at the top
    t = torch.exp(-1.0 * depth)  # (H, W), from 0.05 to 0.74
    a = torch.tensor([0.85, 0.9, 0.95], dtype=torch.float64)
    image = j * t + a[:, None, None] * (1 - t)
    return j, t, a, image


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("r", "eps"), [(0, 0.1), (1, 1e-3), (3, 0.02), (30, 1e-2)])
def test_guided_filter_equals_slow_loop(seed, r, eps):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(1, 14, size=2)
    guide, src = rng.random((h, w)), rng.random((h, w))
    out = guided_filter(torch.from_numpy(guide), torch.from_numpy(src), r, eps)
    np.testing.assert_allclose(out.numpy(), _slow_guided(guide, src, r, eps), atol=1e-10)
    out32 = guided_filter(torch.from_numpy(guide).float(), torch.from_numpy(src).float(), r, eps)
    assert out32.dtype == torch.float32
    np.testing.assert_allclose(out32.numpy(), _slow_guided(guide, src, r, eps), atol=1e-5)


def test_guided_filter_on_a_real_image_and_its_properties():
    cam = torch.from_numpy(skimage.data.camera()[::8, ::8] / 255.0)  # (64, 64)
    g = torch.Generator().manual_seed(0)
    noisy = cam + 0.05 * torch.randn(cam.shape, generator=g, dtype=cam.dtype)
    out = guided_filter(cam, noisy, 2, 0.01)
    ref = _slow_guided(cam.numpy(), noisy.numpy(), 2, 0.01)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-10)
    assert float(psnr(out, cam)) > float(psnr(noisy, cam)) + 3  # it denoises
    # linear in src for a fixed guide
    other = torch.rand(cam.shape, generator=g, dtype=cam.dtype)
    lhs = guided_filter(cam, 2 * noisy - 3 * other, 2, 0.01)
    rhs = 2 * out - 3 * guided_filter(cam, other, 2, 0.01)
    torch.testing.assert_close(lhs, rhs, atol=1e-12, rtol=0)
    # a constant stays constant; a huge eps gives the box mean of the box mean (a = 0)
    const = torch.full_like(cam, 0.3)
    torch.testing.assert_close(guided_filter(cam, const, 3, 1e-3), const, atol=1e-12, rtol=0)
    box = ndi.uniform_filter(ndi.uniform_filter(noisy.numpy(), 5, mode="constant"), 5,
                             mode="constant")  # fmt: skip
    far = guided_filter(cam, noisy, 2, 1e12)[2:-2, 2:-2].numpy()  # windows inside the image
    np.testing.assert_allclose(far[2:-2, 2:-2], box[4:-4, 4:-4], atol=1e-9)
    # with the image as its own guide and a small eps, its edges survive
    assert float((guided_filter(cam, cam, 2, 1e-6) - cam).abs().max()) < 1e-2


def test_guided_filter_batched_noncontiguous_and_gradients():
    g = torch.Generator().manual_seed(2)
    guide = torch.rand(2, 3, 9, 10, generator=g, dtype=torch.float64)
    src = torch.rand(3, 9, 10, generator=g, dtype=torch.float64)  # broadcast over the batch
    out = guided_filter(guide, src, 2, 0.05)
    assert out.shape == (2, 3, 9, 10)
    torch.testing.assert_close(out[1, 2], guided_filter(guide[1, 2], src[2], 2, 0.05))
    t_out = guided_filter(guide.transpose(-1, -2), src.transpose(-1, -2), 2, 0.05)
    torch.testing.assert_close(t_out, out.transpose(-1, -2), atol=1e-12, rtol=0)
    assert guided_filter(torch.zeros(0, 4, 4), torch.zeros(4, 4), 1, 0.1).shape == (0, 4, 4)
    a = torch.rand(5, 6, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.rand(5, 6, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, y: guided_filter(x, y, 1, 0.1), (a, b))


@pytest.mark.parametrize("k", [1, 3, 7, 15])
def test_dark_channel_equals_scipy_minimum_filter(k):
    rng = np.random.default_rng(k)
    img = rng.random((2, 3, 17, 23)).astype(np.float32)
    out = dark_channel(torch.from_numpy(img), k)
    # a cut window's minimum equals the minimum with the edge replicated ('nearest')
    ref = ndi.minimum_filter(img.min(axis=1), size=(1, k, k), mode="nearest")
    assert out.shape == (2, 17, 23) and out.dtype == torch.float32
    np.testing.assert_array_equal(out.numpy(), ref)
    view = torch.from_numpy(img).transpose(-1, -2)
    np.testing.assert_array_equal(dark_channel(view, k).numpy(), ref.transpose(0, 2, 1))


def test_dark_channel_of_haze_free_photo_is_dark(hazy):
    # the prior itself: most 15x15 patches of an outdoor haze-free photo have a dark pixel
    j, _, _, image = hazy
    assert float(dark_channel(j, 15).median()) < 0.1
    assert float(dark_channel(image, 15).median()) > 0.3  # haze lifts it


def test_dehaze_recovers_airlight_transmission_and_radiance(hazy):
    j, t, a, image = hazy
    out, t_hat, a_hat = dehaze_dark_channel(image, patch_size=7, radius=20)
    assert out.shape == image.shape and t_hat.shape == t.shape and a_hat.shape == (3,)
    assert float((a_hat - a).abs().max()) < 0.05  # measured 0.014
    corr = float(torch.corrcoef(torch.stack([t_hat.flatten(), t.flatten()]))[0, 1])
    assert corr > 0.9  # measured 0.968
    gain = float(psnr(out, j) - psnr(image, j))
    assert gain > 5  # measured 9.3 dB
    # without the guided refinement: the blocky patch estimate, still correlated
    _, t_raw, _ = dehaze_dark_channel(image, patch_size=7, refine=False)
    assert float(torch.corrcoef(torch.stack([t_raw.flatten(), t.flatten()]))[0, 1]) > 0.9
    # batched == per item, input untouched, float32 works
    before = image.clone()
    batch = torch.stack([image, image.flip(-1)])
    bo, bt, ba = dehaze_dark_channel(batch, patch_size=7, radius=20)
    torch.testing.assert_close(bo[0], out)
    torch.testing.assert_close(bt[1], t_hat.flip(-1), atol=1e-9, rtol=0)
    torch.testing.assert_close(ba[1], a_hat)
    assert torch.equal(image, before)
    o32, _, _ = dehaze_dark_channel(image.float(), patch_size=7, radius=20)
    assert o32.dtype == torch.float32 and float((o32 - out).abs().max()) < 1e-4


def test_dehaze_on_uniform_haze_closed_form():
    g = torch.Generator().manual_seed(0)
    j = torch.rand(3, 40, 40, generator=g, dtype=torch.float64)
    j[:, ::3, ::3] = 0.0  # a dark pixel in every patch: the prior holds exactly
    hazy = 0.4 * j + 0.9 * 0.6  # t = 0.4, A = 0.9
    _, t, a = dehaze_dark_channel(hazy, patch_size=5, omega=1.0, refine=False, top_fraction=1.0)
    # A: the brightest pixel among all pixels (top_fraction 1) is the brightest hazy pixel
    torch.testing.assert_close(a, hazy.flatten(1)[:, hazy.mean(0).argmax()])
    # t~ = 1 - min_c min_patch I^c / A^c = 1 - 0.54 / max_c A^c
    torch.testing.assert_close(t, 1 - 0.54 / a.max() + 0 * t, atol=1e-12, rtol=0)


def test_errors():
    img = torch.rand(3, 16, 16)
    with pytest.raises(ValueRangeError, match="patch_size"):
        dark_channel(img, 4)
    with pytest.raises(ValueRangeError, match="patch_size"):
        dark_channel(img, 0)
    with pytest.raises(ShapeError, match="image"):
        dark_channel(torch.rand(16, 16), 3)
    with pytest.raises(ValueRangeError, match="image"):
        dark_channel(torch.full((3, 4, 4), float("nan")), 3)
    with pytest.raises(ShapeError, match="src"):
        guided_filter(img[0], img[0, :8], 2, 0.1)
    with pytest.raises(ShapeError, match="src"):
        guided_filter(torch.rand(2, 8, 8), torch.rand(3, 8, 8), 2, 0.1)
    with pytest.raises(ValueRangeError, match="radius"):
        guided_filter(img[0], img[1], -1, 0.1)
    with pytest.raises(ValueRangeError, match="eps"):
        guided_filter(img[0], img[1], 1, 0.0)
    with pytest.raises(WrongTypeError, match="guide"):
        guided_filter(img[0].to(torch.uint8), img[1], 1, 0.1)
    for key, value in [("omega", 0.0), ("omega", 1.5), ("t0", 0.0), ("top_fraction", 2.0),
                       ("eps", -1.0), ("radius", -2), ("patch_size", 2)]:  # fmt: skip
        with pytest.raises(ValueRangeError, match=key):
            dehaze_dark_channel(img, **{key: value})
    with pytest.raises(ValueRangeError, match="atmospheric light"):
        dehaze_dark_channel(torch.zeros(3, 8, 8), patch_size=3)
