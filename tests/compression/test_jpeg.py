import io

import numpy as np
import pytest
import scipy.fft
import torch
from PIL import Image

from pixlearn._core.errors import DataFormatError, ShapeError, ValueRangeError, WrongTypeError
from pixlearn.compression import blockwise_dct, blockwise_idct, dct_matrix, jpeg_decode, jpeg_encode
from pixlearn.data import sample
from pixlearn.metrics import psnr


def test_dct_matrix_orthonormal_and_equals_scipy():
    d = dct_matrix(8)
    assert torch.allclose(d @ d.T, torch.eye(8, dtype=torch.float64), atol=1e-12)
    x = np.random.default_rng(0).random((8, 8))
    ref = scipy.fft.dctn(x, norm="ortho")
    assert np.allclose((d @ torch.from_numpy(x) @ d.T).numpy(), ref, atol=1e-12)


def test_blockwise_dct_matches_per_block_scipy_and_inverts():
    x = torch.rand(2, 16, 24, dtype=torch.float64)
    c = blockwise_dct(x)
    ref = scipy.fft.dctn(x[1, 8:16, 16:24].numpy(), norm="ortho")
    assert np.allclose(c[1, 8:16, 16:24].numpy(), ref, atol=1e-12)
    assert torch.allclose(blockwise_idct(c), x, atol=1e-12)
    x32 = sample("camera")[0, :64, :64]
    assert (blockwise_idct(blockwise_dct(x32)) - x32).abs().max() < 1e-6
    # Parseval: orthonormal blocks keep the energy
    assert torch.allclose((c**2).sum(), (x**2).sum())
    xt = torch.rand(24, 16, dtype=torch.float64).T  # non-contiguous
    assert torch.allclose(blockwise_dct(xt), blockwise_dct(xt.contiguous()))
    with pytest.raises(ShapeError, match="image"):
        blockwise_dct(torch.rand(10, 16))


def _pillow(img, quality):
    a = (img * 255).round().to(torch.uint8).permute(1, 2, 0).numpy().squeeze()
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=quality)
    out = torch.from_numpy(np.asarray(Image.open(buf)).astype(np.float64) / 255)
    out = out[None] if out.dim() == 2 else out.permute(2, 0, 1)
    return 8 * len(buf.getvalue()) / (a.shape[0] * a.shape[1]), float(psnr(out, img.double()))


@pytest.mark.parametrize("name", ["camera", "astronaut"])
def test_psnr_monotone_in_quality_and_within_1db_of_pillow(name):
    img = sample(name)
    bpp, ps = [], []
    for q in (10, 25, 50, 75, 90):
        s = jpeg_encode(img, q)
        bpp.append(s.bits_per_pixel)
        ps.append(float(psnr(jpeg_decode(s), img)))
    assert all(np.diff(ps) > 0) and all(np.diff(bpp) > 0)
    # Pillow (libjpeg, standard tables) at the same qualities; our PSNR interpolated at its bpp
    for q in (25, 50, 75):
        pil_bpp, pil_psnr = _pillow(img, q)
        ours = np.interp(pil_bpp, bpp, ps)
        assert ours > pil_psnr - 1.0, (q, pil_bpp, pil_psnr, ours)


def test_quality_100_444_is_nearly_lossless_and_layouts():
    img = sample("astronaut")[:, :40, :56]
    out = jpeg_decode(jpeg_encode(img, 100, subsampling="4:4:4"))
    assert out.shape == img.shape and float(psnr(out, img)) > 45
    gray = torch.rand(13, 21)  # odd sizes, (H, W) layout
    back = jpeg_decode(jpeg_encode(gray, 95).data, dtype=torch.float64)
    assert back.shape == (13, 21) and back.dtype == torch.float64
    assert torch.equal(back * 255, (back * 255).round())  # 8-bit levels
    const = torch.full((1, 16, 16), 0.5)
    s = jpeg_encode(const, 50)
    assert torch.allclose(jpeg_decode(s), (const * 255).round() / 255)


def test_stream_fields_and_subsampling_saves_bits():
    img = sample("astronaut")[:, :128, :128]
    a, b = jpeg_encode(img, 75), jpeg_encode(img, 75, subsampling="4:4:4")
    assert a.bits_per_pixel < b.bits_per_pixel
    assert (a.height, a.width, a.channels, a.quality, a.subsampling) == (128, 128, 3, 75, "4:2:0")
    assert a.num_bits == 8 * len(a.data)


@pytest.mark.parametrize("quality", [0, 101, -5])
def test_quality_out_of_range(quality):
    with pytest.raises(ValueRangeError, match="quality"):
        jpeg_encode(torch.rand(8, 8), quality)


def test_bad_inputs_and_corrupted_streams():
    with pytest.raises(WrongTypeError, match="quality"):
        jpeg_encode(torch.rand(8, 8), 50.5)
    with pytest.raises(ShapeError, match="image"):
        jpeg_encode(torch.rand(2, 8, 8))
    with pytest.raises(WrongTypeError, match="image"):
        jpeg_encode(torch.zeros(8, 8, dtype=torch.uint8))
    with pytest.raises(ValueRangeError, match="subsampling"):
        jpeg_encode(torch.rand(3, 8, 8), subsampling="4:2:2")
    raw = jpeg_encode(sample("camera")[0, :64, :64], 50).data
    for cut in (5, 100, len(raw) - 3):
        with pytest.raises(DataFormatError, match="stream"):
            jpeg_decode(raw[:cut])
    with pytest.raises(DataFormatError, match="stream"):
        jpeg_decode(b"XXXX" + raw[4:])
    with pytest.raises(WrongTypeError, match="stream"):
        jpeg_decode(torch.zeros(3))
