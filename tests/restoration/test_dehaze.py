import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.data
import torch

from pixlearn._core.errors import ShapeError, ValueRangeError
from pixlearn.metrics import psnr
from pixlearn.restoration import dark_channel, dehaze_dark_channel


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
    assert corr > 0.95  # measured 0.974 (colour guide, the default for RGB)
    gain = float(psnr(out, j) - psnr(image, j))
    assert gain > 8  # measured 9.5 dB
    # the grey guide (the channel mean) does a little worse on this photo
    out_g, t_g, _ = dehaze_dark_channel(image, patch_size=7, radius=20, guide="gray")
    corr_g = float(torch.corrcoef(torch.stack([t_g.flatten(), t.flatten()]))[0, 1])
    assert 0.95 < corr_g < corr  # measured 0.968
    assert 8 < float(psnr(out_g, j) - psnr(image, j)) < gain  # measured 9.3 dB
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


def test_colour_guided_transmission_follows_depth_edges():
    # a near disc (t = 0.8) on a far background (t = 0.3), different colours, dark pixels in
    # every patch; the error of t near the depth edge (a 13-px band), raw vs refined
    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.arange(96), torch.arange(96), indexing="ij")
    disc = ((yy - 48) ** 2 + (xx - 40) ** 2) < 28**2
    texture = 0.6 + 0.4 * torch.rand(96, 96, generator=g, dtype=torch.float64)
    fg = torch.tensor([0.8, 0.3, 0.1], dtype=torch.float64)[:, None, None]
    bg = torch.tensor([0.1, 0.4, 0.7], dtype=torch.float64)[:, None, None]
    j = torch.where(disc, fg, bg) * texture
    j[:, ::4, ::4] = 0.02
    t = torch.where(disc, 0.8, 0.3).to(torch.float64)
    image = j * t + 0.9 * (1 - t)
    d = disc.numpy()
    band = torch.from_numpy(ndi.binary_dilation(d ^ ndi.binary_erosion(d), iterations=6))

    def edge_error(**kw):
        _, t_hat, _ = dehaze_dark_channel(image, patch_size=7, radius=20, **kw)
        return float((t_hat - t).abs()[band].mean())

    raw, grey, colour = edge_error(refine=False), edge_error(guide="gray"), edge_error()
    assert edge_error(guide="color") == colour  # "auto" is colour for RGB
    assert raw > 0.15 and grey < 0.75 * raw and colour < 0.75 * grey  # measured 0.169 0.089 0.057


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
    for key, value in [("omega", 0.0), ("omega", 1.5), ("t0", 0.0), ("top_fraction", 2.0),
                       ("eps", -1.0), ("radius", -2), ("patch_size", 2)]:  # fmt: skip
        with pytest.raises(ValueRangeError, match=key):
            dehaze_dark_channel(img, **{key: value})
    with pytest.raises(ValueRangeError, match="guide"):
        dehaze_dark_channel(img, guide="rgb")
    with pytest.raises(ValueRangeError, match="guide='color' needs 3 channels"):
        dehaze_dark_channel(torch.rand(4, 16, 16), guide="color")
    # four channels: "auto" falls back to the grey guide
    _, t4, _ = dehaze_dark_channel(torch.rand(4, 16, 16), patch_size=3, radius=4)
    assert t4.shape == (16, 16)
    with pytest.raises(ValueRangeError, match="atmospheric light"):
        dehaze_dark_channel(torch.zeros(3, 8, 8), patch_size=3)
