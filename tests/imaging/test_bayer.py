import cv2
import numpy as np
import pytest
import torch
from skimage import data

from pixlearn.imaging import BAYER_PATTERNS, bayer_mask, bayer_mosaic, demosaic

# OpenCV names a Bayer pattern after the 2nd and 3rd pixels of its second row
OPENCV_CODE = {
    "RGGB": cv2.COLOR_BayerBG2RGB,
    "BGGR": cv2.COLOR_BayerRG2RGB,
    "GRBG": cv2.COLOR_BayerGB2RGB,
    "GBRG": cv2.COLOR_BayerGR2RGB,
}


@pytest.fixture(scope="module")
def astronaut() -> torch.Tensor:
    return torch.from_numpy(data.astronaut()).permute(2, 0, 1).double() / 255  # (3, 512, 512)


def _mosaic_loop(rgb: torch.Tensor, pattern: str) -> torch.Tensor:
    """Slow reference: pick the colour of the 2x2 tile at each pixel."""
    h, w = rgb.shape[-2:]
    out = torch.empty(h, w, dtype=rgb.dtype)
    for i in range(h):
        for j in range(w):
            colour = pattern[2 * (i % 2) + (j % 2)]
            out[i, j] = rgb["RGB".index(colour), i, j]
    return out


@pytest.mark.parametrize("pattern", BAYER_PATTERNS)
def test_mosaic_matches_a_slow_loop(pattern):
    rgb = torch.rand(3, 7, 6, dtype=torch.float64)
    assert torch.equal(bayer_mosaic(rgb, pattern=pattern), _mosaic_loop(rgb, pattern))


@pytest.mark.parametrize("pattern", BAYER_PATTERNS)
def test_green_has_twice_as_many_samples_as_red_or_blue(pattern):
    mask = bayer_mask(8, 10, pattern=pattern)
    counts = mask.sum(dim=(-2, -1)).tolist()
    assert counts == [20, 40, 20]
    assert torch.equal(mask.sum(0), torch.ones(8, 10, dtype=torch.long))  # one colour per pixel
    # the same through the mosaic: a pure-green image lights half the pixels
    green = torch.zeros(3, 8, 10)
    green[1] = 1
    assert int(bayer_mosaic(green, pattern=pattern).sum()) == 40


@pytest.mark.parametrize("pattern", BAYER_PATTERNS)
def test_demosaic_matches_opencv_on_a_real_image(astronaut, pattern):
    # OpenCV's Bayer conversions take 8- or 16-bit data: mosaic, round to 16 bits, compare
    raw = bayer_mosaic(astronaut, pattern=pattern)
    raw16 = np.rint(raw.numpy() * 65535).astype(np.uint16)
    ref = cv2.cvtColor(raw16, OPENCV_CODE[pattern])  # (H, W, 3) uint16, RGB
    ref = torch.from_numpy(ref.astype(np.float64) / 65535).permute(2, 0, 1)
    ours = demosaic(torch.from_numpy(raw16.astype(np.float64) / 65535), pattern=pattern)
    err = (ours - ref)[:, 2:-2, 2:-2].abs().max()
    # measured: 0.5 / 65535 (OpenCV rounds its result to the integer grid); borders differ
    assert float(err) <= 0.5 / 65535 + 1e-12


@pytest.mark.parametrize("pattern", BAYER_PATTERNS)
def test_demosaic_of_an_8_bit_real_image_matches_opencv(astronaut, pattern):
    raw8 = np.rint(bayer_mosaic(astronaut, pattern=pattern).numpy() * 255).astype(np.uint8)
    ref = torch.from_numpy(cv2.cvtColor(raw8, OPENCV_CODE[pattern]) / 255.0).permute(2, 0, 1)
    ours = demosaic(torch.from_numpy(raw8 / 255.0), pattern=pattern)
    assert float((ours - ref)[:, 2:-2, 2:-2].abs().max()) <= 0.5 / 255 + 1e-12  # measured


@pytest.mark.parametrize("pattern", BAYER_PATTERNS)
@pytest.mark.parametrize("size", [(2, 2), (5, 7), (8, 8)])
def test_constant_colour_round_trip_is_exact(pattern, size):
    colour = torch.tensor([0.8, 0.3, 0.55], dtype=torch.float64)
    rgb = colour[:, None, None].expand(3, *size)
    out = demosaic(bayer_mosaic(rgb, pattern=pattern), pattern=pattern)
    assert torch.allclose(out, rgb, atol=1e-15, rtol=0)


@pytest.mark.parametrize("pattern", BAYER_PATTERNS)
def test_demosaic_keeps_the_samples_and_the_mosaic_of_it_is_the_raw(pattern):
    raw = torch.rand(2, 9, 10, dtype=torch.float64)
    out = demosaic(raw, pattern=pattern)
    assert out.shape == (2, 3, 9, 10)
    assert torch.equal(bayer_mosaic(out, pattern=pattern), raw)


def test_demosaic_is_bilinear_in_the_interior():
    # a linear ramp in each colour is reproduced exactly by bilinear interpolation (interior)
    y, x = torch.meshgrid(
        torch.arange(12, dtype=torch.float64), torch.arange(14, dtype=torch.float64), indexing="ij"
    )
    rgb = torch.stack([0.01 * x + 0.02 * y, 0.03 * x - 0.01 * y, 0.5 - 0.02 * x + 0.01 * y])
    out = demosaic(bayer_mosaic(rgb))
    assert torch.allclose(out[:, 1:-1, 1:-1], rgb[:, 1:-1, 1:-1], atol=1e-14)


def test_batched_equals_per_item_and_zero_size_batch():
    rgb = torch.rand(2, 3, 3, 8, 6, dtype=torch.float64)
    raw = bayer_mosaic(rgb, pattern="GRBG")
    assert raw.shape == (2, 3, 8, 6)
    out = demosaic(raw, pattern="GRBG")
    assert out.shape == (2, 3, 3, 8, 6)
    assert torch.equal(raw[1, 2], bayer_mosaic(rgb[1, 2], pattern="GRBG"))
    assert torch.equal(out[1, 2], demosaic(raw[1, 2], pattern="GRBG"))
    assert bayer_mosaic(torch.rand(0, 3, 8, 6)).shape == (0, 8, 6)
    assert demosaic(torch.rand(0, 8, 6)).shape == (0, 3, 8, 6)


def test_non_contiguous_and_channels_last_inputs_input_unchanged():
    rgb = torch.rand(2, 3, 8, 10)
    cl = rgb.to(memory_format=torch.channels_last)
    assert torch.equal(bayer_mosaic(cl), bayer_mosaic(rgb))
    t = torch.rand(2, 10, 8).transpose(-1, -2)
    before = t.clone()
    assert torch.equal(demosaic(t), demosaic(t.contiguous()))
    assert torch.equal(t, before)
    e = torch.rand(8, 10).expand(3, 8, 10)
    assert torch.equal(demosaic(e)[2], demosaic(e[0]))


def test_dtypes_are_kept():
    for dtype in [torch.float16, torch.float32, torch.float64]:
        rgb = torch.rand(3, 6, 6).to(dtype)
        raw = bayer_mosaic(rgb)
        assert raw.dtype == dtype and demosaic(raw).dtype == dtype


def test_gradcheck():
    rgb = torch.rand(3, 5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: bayer_mosaic(t, pattern="GBRG"), (rgb,))
    raw = torch.rand(2, 5, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: demosaic(t, pattern="BGGR"), (raw,))


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match=r"rgb.*3 channels"):
        bayer_mosaic(torch.rand(4, 6, 6))
    with pytest.raises(ValueError, match=r"rgb.*dimensions"):
        bayer_mosaic(torch.rand(6, 6))
    with pytest.raises(ValueError, match=r"rgb.*finite"):
        bayer_mosaic(torch.full((3, 4, 4), float("nan")))
    with pytest.raises(TypeError, match=r"rgb.*float"):
        bayer_mosaic(torch.ones(3, 4, 4, dtype=torch.uint8))
    with pytest.raises(ValueError, match="pattern"):
        bayer_mosaic(torch.rand(3, 4, 4), pattern="RGBG")
    with pytest.raises(ValueError, match=r"raw.*finite"):
        demosaic(torch.tensor([[0.0, float("inf")], [0.0, 0.0]]))
    with pytest.raises(TypeError, match=r"raw.*float"):
        demosaic(torch.ones(4, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"raw.*at least 2x2"):
        demosaic(torch.rand(1, 6))
    with pytest.raises(ValueError, match=r"raw.*empty"):
        demosaic(torch.rand(6, 0))
    with pytest.raises(ValueError, match=r"rgb.*empty"):
        bayer_mosaic(torch.rand(3, 0, 4))
    with pytest.raises(ValueError, match="pattern"):
        demosaic(torch.rand(4, 4), pattern="rggb")
    with pytest.raises(ValueError, match="height"):
        bayer_mask(-1, 4)
