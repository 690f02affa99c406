import cv2
import numpy as np
import pytest
import skimage.color
import torch

from pixlearn.color import (
    GRAY_WEIGHTS,
    cmyk_to_rgb,
    hsv_to_rgb,
    rgb_to_cmyk,
    rgb_to_gray,
    rgb_to_hsv,
    rgb_to_ycbcr,
    ycbcr_to_rgb,
)
from pixlearn.data import sample

RGB_INPUT = [rgb_to_hsv, rgb_to_cmyk, rgb_to_gray, rgb_to_ycbcr]
ALL = [*RGB_INPUT, hsv_to_rgb, ycbcr_to_rgb, cmyk_to_rgb]
N_CHANNELS = {cmyk_to_rgb: 4}


def _chw(a):
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(a, -1, -3)))


def _hwc(t):
    return np.moveaxis(t.numpy(), -3, -1)


@pytest.fixture(scope="module")
def astronaut():
    return sample("astronaut")  # (3, 512, 512) float32 in [0, 1]


def _random(seed, shape=(3, 17, 23), dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g, dtype=dtype)


def _images(astronaut):
    return [astronaut, _random(0, dtype=torch.float32), _random(1, (2, 3, 9, 8))]


# ---- references ------------------------------------------------------------------------------


def test_hsv_matches_skimage(astronaut):
    for img in _images(astronaut):
        ref = _chw(skimage.color.rgb2hsv(_hwc(img)))
        torch.testing.assert_close(rgb_to_hsv(img), ref.to(img.dtype), atol=1e-5, rtol=0)


def test_hsv_matches_opencv_full_range(astronaut):
    # COLOR_RGB2HSV_FULL on float32 gives H in degrees [0, 360), S and V in [0, 1]; OpenCV
    # regularises its divisions: S = Delta / (V + eps) and 60 / (Delta + eps), eps = FLT_EPSILON
    eps = float(np.finfo(np.float32).eps)
    ref = cv2.cvtColor(_hwc(astronaut), cv2.COLOR_RGB2HSV_FULL).astype(np.float64)
    out = _hwc(rgb_to_hsv(astronaut)).astype(np.float64)
    v = ref[..., 2]
    np.testing.assert_allclose(out[..., 2], v, atol=1e-7)
    s_ref = np.where(v > 0, ref[..., 1] * (v + eps) / np.where(v > 0, v, 1.0), 0.0)
    np.testing.assert_allclose(out[..., 1], s_ref, atol=1e-5)
    # the hue bias 60 eps / Delta stays below 1e-6 of a turn where Delta > 0.05
    x = _hwc(astronaut)
    chroma = (x.max(-1) - x.min(-1)) > 0.05
    dh = np.abs(out[..., 0] - ref[..., 0] / 360.0)
    dh = np.minimum(dh, 1.0 - dh)  # hue is periodic: 0 and 1 are the same red
    assert chroma.mean() > 0.3 and dh[chroma].max() < 1e-5


def test_hsv_to_rgb_matches_skimage(astronaut):
    for img in _images(astronaut):
        ref = _chw(skimage.color.hsv2rgb(_hwc(img)))
        torch.testing.assert_close(hsv_to_rgb(img), ref.to(img.dtype), atol=1e-5, rtol=0)


def test_gray_601_matches_opencv_and_709_matches_its_weights(astronaut):
    ref = cv2.cvtColor(_hwc(astronaut), cv2.COLOR_RGB2GRAY)  # BT.601 weights
    np.testing.assert_allclose(rgb_to_gray(astronaut)[0].numpy(), ref, atol=1e-5)
    img = _random(2)
    r, g, b = img.numpy()
    np.testing.assert_allclose(
        rgb_to_gray(img, standard="709")[0].numpy(), 0.2126 * r + 0.7152 * g + 0.0722 * b, 1e-14
    )


def test_gray_709_against_skimage(astronaut):
    # skimage's rgb2gray weights (0.2125, 0.7154, 0.0721) differ from BT.709's by <= 2e-4,
    # so the outputs differ by at most 2e-4 * (|R| + |G| + |B|) <= 4e-4 on [0, 1] images
    for img in _images(astronaut):
        ref = torch.from_numpy(skimage.color.rgb2gray(_hwc(img))).unsqueeze(-3)
        diff = (rgb_to_gray(img, standard="709") - ref.to(img.dtype)).abs().max().item()
        assert diff < 4e-4
        # and with skimage's own weights the sum is the same up to rounding
        sk = torch.tensor([0.2125, 0.7154, 0.0721], dtype=img.dtype)
        mine = (img * sk.view(3, 1, 1)).sum(-3, keepdim=True)
        torch.testing.assert_close(mine, ref.to(img.dtype), atol=1e-5, rtol=0)


def test_ycbcr_matches_skimage_after_its_studio_range_scaling(astronaut):
    for img in _images(astronaut):
        sk = skimage.color.rgb2ycbcr(_hwc(img).astype(np.float64))
        # skimage: Y = 16 + 219 Y', C = 128 + 224 (C' - 1/2)
        ref = np.stack(
            [
                (sk[..., 0] - 16) / 219,
                (sk[..., 1] - 128) / 224 + 0.5,
                (sk[..., 2] - 128) / 224 + 0.5,
            ],
            axis=-3,
        )
        np.testing.assert_allclose(rgb_to_ycbcr(img).double().numpy(), ref, atol=1e-5)
        back = _chw(skimage.color.ycbcr2rgb(sk)).numpy()
        np.testing.assert_allclose(ycbcr_to_rgb(torch.from_numpy(ref)).numpy(), back, atol=1e-5)


def test_ycbcr_matches_jfif_formula():
    img = _random(3)
    r, g, b = img
    y = 0.299 * r + 0.587 * g + 0.114 * b
    expected = torch.stack([y, 0.5 + (b - y) / 1.772, 0.5 + (r - y) / 1.402])
    torch.testing.assert_close(rgb_to_ycbcr(img), expected, atol=1e-14, rtol=0)


def test_cmyk_matches_slow_loop():
    img = _random(4, (3, 5, 6))
    img[:, 0, 0] = 0.0  # black: C = M = Y = 0, K = 1
    out = rgb_to_cmyk(img)
    for i in range(5):
        for j in range(6):
            r, g, b = img[:, i, j].tolist()
            k = 1 - max(r, g, b)
            cmy = [0.0] * 3 if k == 1 else [(1 - c - k) / (1 - k) for c in (r, g, b)]
            np.testing.assert_allclose(out[:, i, j].numpy(), [*cmy, k], atol=1e-14)


# ---- properties ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("forward", "inverse"),
    [(rgb_to_hsv, hsv_to_rgb), (rgb_to_cmyk, cmyk_to_rgb), (rgb_to_ycbcr, ycbcr_to_rgb)],
)
def test_round_trip(forward, inverse, astronaut):
    img = _random(5, (2, 3, 31, 29))
    img[0, :, :4] = 0.3  # gray pixels
    img[0, :, 4, :3] = 0.0  # black
    img[0, :, 5, :3] = 1.0  # white
    torch.testing.assert_close(inverse(forward(img)), img, atol=1e-6, rtol=0)
    a = astronaut.double()
    torch.testing.assert_close(inverse(forward(a)), a, atol=1e-6, rtol=0)


@pytest.mark.parametrize("standard", ["601", "709"])
def test_gray_weights_sum_to_one_and_gray_maps_to_itself(standard):
    assert sum(GRAY_WEIGHTS[standard]) == pytest.approx(1.0, abs=1e-15)
    level = torch.rand(1, 7, 8, dtype=torch.float64)
    out = rgb_to_gray(level.expand(3, 7, 8), standard=standard)
    torch.testing.assert_close(out, level, atol=1e-15, rtol=0)


def test_gray_weights_order_green_brightest():
    eye = torch.eye(3, dtype=torch.float64).view(3, 3, 1, 1)  # pure R, G, B
    w = rgb_to_gray(eye).flatten().tolist()
    assert w == pytest.approx(list(GRAY_WEIGHTS["601"]), abs=1e-15)
    assert w[1] > w[0] > w[2]


def test_hue_of_primaries_and_achromatic_pixels():
    eye = torch.eye(3, dtype=torch.float64).view(3, 3, 1, 1)  # pure R, G, B
    hsv = rgb_to_hsv(eye)[:, :, 0, 0]
    torch.testing.assert_close(hsv[:, 0], torch.tensor([0.0, 1 / 3, 2 / 3], dtype=torch.float64))
    torch.testing.assert_close(hsv[:, 1:], torch.ones(3, 2, dtype=torch.float64))
    gray = torch.tensor([0.0, 0.4, 1.0], dtype=torch.float64).view(3, 1, 1, 1).expand(3, 3, 1, 1)
    hsv = rgb_to_hsv(gray)[:, :, 0, 0]
    assert hsv[:, :2].abs().max() == 0  # S = 0 and H defined as 0
    torch.testing.assert_close(hsv[:, 2], torch.tensor([0.0, 0.4, 1.0], dtype=torch.float64))


def test_ycbcr_of_gray_is_centred():
    level = torch.rand(1, 4, 5, dtype=torch.float64)
    out = rgb_to_ycbcr(level.expand(3, 4, 5))
    torch.testing.assert_close(out[0:1], level, atol=1e-15, rtol=0)
    torch.testing.assert_close(out[1:], torch.full((2, 4, 5), 0.5, dtype=torch.float64))


def test_ranges_stay_in_unit_interval():
    img = _random(6, (3, 40, 40))
    for fn in (rgb_to_hsv, rgb_to_cmyk, rgb_to_ycbcr, rgb_to_gray):
        out = fn(img)
        assert out.min() >= 0 and out.max() <= 1 + 1e-15, fn.__name__


# ---- cardinality and layout ------------------------------------------------------------------


@pytest.mark.parametrize("fn", ALL)
def test_batched_equals_per_item_and_keeps_dtype(fn):
    c = N_CHANNELS.get(fn, 3)
    x = torch.rand(4, 2, c, 6, 7)
    out = fn(x)
    assert out.dtype == x.dtype and out.shape[:2] == (4, 2) and out.shape[-2:] == (6, 7)
    torch.testing.assert_close(out[2, 1], fn(x[2, 1]), atol=0, rtol=0)


@pytest.mark.parametrize("fn", ALL)
def test_zero_size_batch_and_empty_image(fn):
    c = N_CHANNELS.get(fn, 3)
    out_c = {rgb_to_cmyk: 4, rgb_to_gray: 1}.get(fn, 3)
    assert fn(torch.rand(0, c, 5, 6)).shape == (0, out_c, 5, 6)
    assert fn(torch.rand(c, 0, 6)).shape == (out_c, 0, 6)


@pytest.mark.parametrize("fn", ALL)
def test_non_contiguous_and_channels_last(fn):
    c = N_CHANNELS.get(fn, 3)
    x = torch.rand(2, c, 9, 11, dtype=torch.float64)
    ref = fn(x)
    cl = x.contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(fn(cl), ref, atol=0, rtol=0)
    t = x.transpose(-1, -2).contiguous().transpose(-1, -2)  # same values, transposed strides
    assert not t.is_contiguous()
    torch.testing.assert_close(fn(t), ref, atol=0, rtol=0)


@pytest.mark.parametrize("fn", ALL)
def test_input_not_modified(fn):
    x = torch.rand(N_CHANNELS.get(fn, 3), 4, 4)
    before = x.clone()
    fn(x)
    assert torch.equal(x, before)


# ---- gradients -------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [rgb_to_gray, rgb_to_ycbcr, ycbcr_to_rgb, cmyk_to_rgb])
def test_gradcheck_smooth_maps(fn):
    x = torch.rand(2, N_CHANNELS.get(fn, 3), 3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fn, (x,))


@pytest.mark.parametrize("fn", [rgb_to_hsv, hsv_to_rgb, rgb_to_cmyk])
def test_gradcheck_piecewise_maps_away_from_ties(fn):
    # random channels are distinct with probability 1, and the hue stays off the sector edges
    g = torch.Generator().manual_seed(7)
    x = 0.1 + 0.8 * torch.rand(2, 3, 3, 4, generator=g, dtype=torch.float64)
    if fn is hsv_to_rgb:
        x[:, 0] = (torch.arange(24, dtype=torch.float64).view(2, 3, 4) + 0.5) / 24
    assert torch.autograd.gradcheck(fn, (x.requires_grad_(),))


def test_gradients_are_finite_on_gray_and_black_pixels():
    x = torch.zeros(3, 2, 2, dtype=torch.float64)
    x[:, 0, 0] = 0.5  # gray
    x.requires_grad_()
    for fn in (rgb_to_hsv, rgb_to_cmyk):
        (grad,) = torch.autograd.grad(fn(x).sum(), x)
        assert torch.isfinite(grad).all(), fn.__name__


# ---- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", ALL)
def test_wrong_channel_count(fn):
    with pytest.raises(ValueError, match=r"image must have \d channels"):
        fn(torch.rand(2, 5, 5))


@pytest.mark.parametrize("fn", ALL)
def test_nan_refused(fn):
    x = torch.rand(N_CHANNELS.get(fn, 3), 4, 4)
    x[0, 1, 1] = float("nan")
    with pytest.raises(ValueError, match="image must be finite"):
        fn(x)


@pytest.mark.parametrize("fn", ALL)
def test_integer_input_refused(fn):
    with pytest.raises(TypeError, match="image must be a floating"):
        fn(torch.ones(N_CHANNELS.get(fn, 3), 4, 4, dtype=torch.uint8))


@pytest.mark.parametrize("fn", ALL)
def test_too_few_dims(fn):
    with pytest.raises(ValueError, match="image must have at least 3 dimensions"):
        fn(torch.rand(4, 4))


def test_unknown_standard():
    with pytest.raises(ValueError, match="standard"):
        rgb_to_gray(torch.rand(3, 4, 4), standard="2020")
