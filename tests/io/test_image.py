import re
import struct
import zlib

import cv2
import numpy as np
import pytest
import tifffile
import torch
from PIL import Image
from skimage import data as skdata

from pixlearn._core.errors import ImageFileError, ShapeError, ValueRangeError, WrongTypeError
from pixlearn.io import image as image_module
from pixlearn.io import read_image, to_numpy, to_tensor, write_image

RNG = np.random.default_rng(0)


def _quantised(x, bits):
    """Closed form of what an integer file stores: round((2^b - 1) clip(x, 0, 1))."""
    return torch.round(x.double().clamp(0, 1) * (2**bits - 1)).to(torch.int64)


def _hwc(t):
    return t.permute(1, 2, 0).squeeze(-1).numpy()


# ---- round trips, read back by pixlearn and by the reference readers -------------------------


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("ext, bits", [(".png", 8), (".png", 16), (".tif", 8), (".tif", 16)])
def test_integer_round_trip_is_exact(tmp_path, channels, ext, bits):
    x = torch.rand(channels, 9, 11)
    f = tmp_path / f"img{ext}"
    write_image(f, x, bit_depth=bits)
    q = _quantised(x, bits)
    assert torch.equal(read_image(f, dtype=torch.int64), q)
    assert torch.equal(read_image(f, dtype=torch.float64), q.double() / (2**bits - 1))
    # the reference readers see the same pixels
    if ext == ".tif":
        ref = tifffile.imread(f)
    elif bits == 8 or channels == 1:
        ref = np.asarray(Image.open(f))
    elif channels == 2:  # 16-bit gray+alpha: Pillow keeps the high bytes, OpenCV the gray
        high = np.asarray(Image.open(f))[..., [0, 3]]  # Pillow opens it as 8-bit RGBA
        assert np.array_equal(high, _hwc(q >> 8).astype(np.uint8))
        ref = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)[..., :1]
        q = q[:1]
    else:  # 16-bit colour: Pillow would reduce it to 8 bits, OpenCV keeps it (in BGR order)
        ref = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
        ref = cv2.cvtColor(ref, cv2.COLOR_BGRA2RGBA if channels == 4 else cv2.COLOR_BGR2RGB)
    assert ref.dtype == (np.uint8 if bits == 8 else np.uint16)
    assert np.array_equal(ref.astype(np.int64).squeeze(), _hwc(q))


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_float32_tiff_round_trip_is_exact_and_unclipped(tmp_path, channels):
    x = torch.randn(channels, 6, 7)  # values outside [0, 1] are kept in a float TIFF
    f = tmp_path / "f.tiff"
    write_image(f, x)  # float TIFF is the default
    assert torch.equal(read_image(f), x)
    assert np.array_equal(tifffile.imread(f), _hwc(x))
    assert torch.equal(read_image(f, dtype=torch.float64), x.double())


def test_real_images_round_trip(tmp_path):
    for name in ("camera", "astronaut"):
        arr = getattr(skdata, name)()
        f = tmp_path / f"{name}.png"
        write_image(f, to_tensor(arr))
        assert np.array_equal(np.asarray(Image.open(f)), arr)
        assert torch.equal(read_image(f), to_tensor(arr))


def test_jpeg_within_tolerance_and_equal_to_pillow(tmp_path):
    cam = to_tensor(skdata.astronaut())
    f = tmp_path / "a.jpg"
    write_image(f, cam)  # quality 95
    back = read_image(f)
    err = (back - cam).abs()
    # measured on astronaut at quality 95: mean 0.0067, max 0.33
    assert back.shape == cam.shape and err.mean() < 0.01 and err.max() < 0.5
    assert torch.equal(back, to_tensor(np.asarray(Image.open(f))))
    low = tmp_path / "low.jpeg"
    write_image(low, cam, quality=10)
    assert low.stat().st_size < f.stat().st_size
    assert (read_image(low) - cam).abs().mean() > err.mean()
    gray = tmp_path / "g.jpg"
    write_image(gray, cam[:1])
    assert read_image(gray).shape == (1, 512, 512) and Image.open(gray).mode == "L"


# ---- files written by other libraries ---------------------------------------------------------


def test_reads_16bit_colour_png_written_by_opencv(tmp_path):
    rgb = RNG.integers(0, 65536, (23, 31, 3), dtype=np.uint16)
    rgb[:, :15] = np.linspace(0, 60000, 15, dtype=np.uint16)[None, :, None]  # smooth part
    f = tmp_path / "cv.png"
    cv2.imwrite(str(f), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert torch.equal(
        read_image(f, dtype=torch.int64), torch.from_numpy(rgb.astype(np.int64)).permute(2, 0, 1)
    )


def _png_bytes(rows16, channels, filters):
    """A slow reference PNG encoder: filter each row with the given filter type (0..4)."""
    h = rows16.shape[0]
    raw = rows16.astype(">u2").reshape(h, -1).view(np.uint8).astype(np.int64)
    bpp = 2 * channels
    out = []
    for y in range(h):
        up = raw[y - 1] if y else np.zeros_like(raw[y])
        ft = filters[y % len(filters)]
        line = [ft]
        for i in range(raw.shape[1]):
            a = raw[y, i - bpp] if i >= bpp else 0
            b = up[i]
            c = up[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            paeth = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            pred = [0, a, b, (a + b) // 2, paeth][ft]
            line.append((raw[y, i] - pred) % 256)
        out.extend(line)

    def chunk(kind, body):
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    color = {2: 4, 3: 2, 4: 6}[channels]
    header = struct.pack(">IIBBBBB", rows16.shape[1], h, 16, color, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(out)))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("channels", [2, 3, 4])
def test_every_png_filter_type_decodes(tmp_path, channels):
    rgb = RNG.integers(0, 65536, (10, 7, channels), dtype=np.uint16)
    f = tmp_path / "filters.png"
    f.write_bytes(_png_bytes(rgb, channels, filters=[0, 1, 2, 3, 4]))
    assert torch.equal(
        read_image(f, dtype=torch.int64), torch.from_numpy(rgb.astype(np.int64)).permute(2, 0, 1)
    )
    if channels >= 3:  # OpenCV agrees that the file is what we meant
        ref = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
        assert np.array_equal(ref[..., [2, 1, 0]], rgb[..., :3])


def test_palette_bilevel_and_16bit_gray_pngs_from_pillow(tmp_path):
    rgb = RNG.integers(0, 256, (8, 9, 3), dtype=np.uint8)
    pal = Image.fromarray(rgb).quantize(5)
    pal.save(tmp_path / "p.png")
    expected = np.asarray(pal.convert("RGB"))
    labels = read_image(tmp_path / "p.png", dtype=torch.int64)
    assert torch.equal(labels, torch.from_numpy(expected.astype(np.int64)).permute(2, 0, 1))
    assert read_image(tmp_path / "p.png").shape == (3, 8, 9)
    g16 = RNG.integers(0, 65536, (8, 9), dtype=np.uint16)
    Image.fromarray(g16).save(tmp_path / "g16.png")
    g16_read = read_image(tmp_path / "g16.png", dtype=torch.int64)[0]
    assert torch.equal(g16_read, torch.from_numpy(g16.astype(np.int64)))


def test_planar_tiff_is_read_channels_first(tmp_path):
    chw = RNG.integers(0, 65536, (3, 6, 8), dtype=np.uint16)
    f = tmp_path / "planar.tif"
    tifffile.imwrite(f, chw, photometric="rgb", planarconfig="separate")
    assert torch.equal(read_image(f, dtype=torch.int64), torch.from_numpy(chw.astype(np.int64)))
    hwc = tmp_path / "contig.tif"
    tifffile.imwrite(hwc, np.moveaxis(chw, 0, -1), photometric="rgb")
    assert torch.equal(read_image(hwc), read_image(f))


# ---- masks and labels -------------------------------------------------------------------------


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_bool_masks_and_integer_labels(tmp_path, ext):
    mask = torch.rand(1, 7, 9) > 0.5
    write_image(tmp_path / f"m{ext}", mask)
    assert torch.equal(read_image(tmp_path / f"m{ext}"), mask.float())
    assert torch.equal(read_image(tmp_path / f"m{ext}", dtype=torch.int64), mask.long())
    small = torch.randint(0, 256, (7, 9))
    write_image(tmp_path / f"s{ext}", small)  # fits 8 bits: written 8-bit, unscaled
    assert torch.equal(read_image(tmp_path / f"s{ext}", dtype=torch.int64)[0], small)
    assert read_image(tmp_path / f"s{ext}", dtype=torch.int64).dtype == torch.int64
    big = torch.randint(0, 70000, (7, 9)).clamp(max=65535)
    write_image(tmp_path / f"b{ext}", big)  # needs 16 bits
    assert torch.equal(read_image(tmp_path / f"b{ext}", dtype=torch.int64)[0], big)
    if ext == ".png":
        assert Image.open(tmp_path / f"s{ext}").mode == "L"
        assert Image.open(tmp_path / f"m{ext}").mode == "1"
    negative = small.clone()
    negative[0, 0] = -1
    for bad in (big + 65536, negative):
        with pytest.raises(ValueRangeError, match="image"):
            write_image(tmp_path / f"x{ext}", bad)
    with pytest.raises(ValueRangeError, match="image"):
        write_image(tmp_path / f"x{ext}", big, bit_depth=8)


def test_float_values_outside_unit_interval_are_clipped(tmp_path):
    x = torch.tensor([[[-0.5, 0.0, 0.5, 1.0, 1.5]]])
    write_image(tmp_path / "c.png", x)
    assert read_image(tmp_path / "c.png", dtype=torch.int64).tolist() == [[[0, 0, 128, 255, 255]]]


# ---- modes ------------------------------------------------------------------------------------


def test_modes(tmp_path):
    rgba = RNG.integers(0, 256, (5, 6, 4), dtype=np.uint8)
    f = tmp_path / "rgba.png"
    Image.fromarray(rgba).save(f)
    r, g, b = (rgba[..., i] / 255.0 for i in range(3))
    gray = read_image(f, mode="gray", dtype=torch.float64)
    # ITU-R BT.601 luma, alpha dropped
    assert gray.shape == (1, 5, 6)
    assert torch.allclose(gray[0], torch.from_numpy(0.299 * r + 0.587 * g + 0.114 * b), atol=1e-12)
    assert torch.equal(read_image(f, mode="rgb"), read_image(f)[:3])
    assert torch.equal(read_image(f, mode="rgba"), read_image(f))
    cam = tmp_path / "cam.png"
    Image.fromarray(skdata.camera()).save(cam)
    rgba_cam = read_image(cam, mode="rgba")
    assert rgba_cam.shape == (4, 512, 512) and bool((rgba_cam[3] == 1).all())
    assert torch.equal(rgba_cam[:3], read_image(cam).expand(3, -1, -1))
    assert torch.equal(read_image(cam, mode="gray"), read_image(cam))


# ---- layout ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ext, bits", [(".png", 8), (".png", 16), (".tif", 32), (".jpg", 8)])
def test_layouts_write_the_same_file(tmp_path, ext, bits):
    x = torch.rand(3, 10, 12)
    write_image(tmp_path / f"a{ext}", x, bit_depth=bits)
    nc = x.transpose(1, 2).contiguous().transpose(1, 2)  # non-contiguous, same values
    cl = x[None].contiguous(memory_format=torch.channels_last)[0]
    write_image(tmp_path / f"b{ext}", nc, bit_depth=bits)
    write_image(tmp_path / f"c{ext}", cl, bit_depth=bits)
    ref = (tmp_path / f"a{ext}").read_bytes()
    assert not nc.is_contiguous() and (tmp_path / f"b{ext}").read_bytes() == ref
    assert (tmp_path / f"c{ext}").read_bytes() == ref
    assert torch.equal(x, x.clone())  # the input was not modified


def test_2d_image_and_parent_folders(tmp_path):
    x = torch.rand(5, 6)
    f = tmp_path / "a" / "b" / "x.png"
    write_image(f, x)
    assert torch.equal(read_image(f, dtype=torch.int64)[0], _quantised(x, 8))


# ---- errors ------------------------------------------------------------------------------------


def test_missing_and_folder_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope\.png"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(IsADirectoryError, match=str(tmp_path.name)):
        read_image(tmp_path)


def _valid_files(tmp_path):
    x = torch.rand(3, 40, 50)
    files = {}
    for name, bits in (("p8.png", 8), ("p16.png", 16), ("j.jpg", 8), ("t.tif", 16)):
        write_image(tmp_path / name, x, bit_depth=bits)
        files[name] = (tmp_path / name).read_bytes()
    return files


@pytest.mark.parametrize("name", ["p8.png", "p16.png", "j.jpg", "t.tif"])
def test_truncated_files_name_the_file(tmp_path, name):
    data = _valid_files(tmp_path)[name]
    bad = tmp_path / f"cut_{name}"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageFileError, match=re.escape(f"cut_{name}")) as info:
        read_image(bad)
    assert info.value.__cause__ is not None  # the decoder's error is chained
    assert isinstance(info.value, ValueError)


def test_corrupt_empty_and_bad_crc_files(tmp_path):
    junk = tmp_path / "junk.png"
    junk.write_bytes(RNG.integers(0, 256, 500, dtype=np.uint8).tobytes())
    with pytest.raises(ImageFileError, match=r"junk\.png"):
        read_image(junk)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ImageFileError, match=r"empty\.jpg"):
        read_image(empty)
    data = bytearray(_valid_files(tmp_path)["p16.png"])
    data[60] ^= 0xFF  # a flipped byte inside IDAT breaks its CRC
    flipped = tmp_path / "flipped.png"
    flipped.write_bytes(bytes(data))
    with pytest.raises(ImageFileError, match=r"flipped\.png"):
        read_image(flipped)
    stack = tmp_path / "stack.tif"
    tifffile.imwrite(stack, np.zeros((3, 4, 5), np.uint8), photometric="minisblack")
    with pytest.raises(ImageFileError, match=r"stack\.tif"):
        read_image(stack)


def test_write_errors(tmp_path):
    x = torch.rand(3, 4, 5)
    with pytest.raises(ImageFileError, match=r"x\.bmp"):
        write_image(tmp_path / "x.bmp", x)
    with pytest.raises(ValueRangeError, match="image"):
        write_image(tmp_path / "x.png", torch.full((3, 4, 5), float("nan")))
    with pytest.raises(ShapeError, match="image"):
        write_image(tmp_path / "x.png", x[None])  # 4-D
    with pytest.raises(ShapeError, match="image"):
        write_image(tmp_path / "x.png", torch.rand(5, 4, 5))
    with pytest.raises(ShapeError, match="image"):
        write_image(tmp_path / "x.png", torch.rand(3, 0, 5))
    with pytest.raises(ShapeError, match="image"):
        write_image(tmp_path / "x.jpg", torch.rand(4, 4, 5))
    with pytest.raises(WrongTypeError, match="image"):
        write_image(tmp_path / "x.jpg", torch.rand(1, 4, 5) > 0.5)
    with pytest.raises(WrongTypeError, match="image"):
        write_image(tmp_path / "x.png", x.numpy())
    for ext, bits in ((".png", 32), (".jpg", 16), (".tif", 12)):
        with pytest.raises(ValueRangeError, match="bit_depth"):
            write_image(tmp_path / f"x{ext}", x, bit_depth=bits)
    with pytest.raises(ValueRangeError, match="quality"):
        write_image(tmp_path / "x.jpg", x, quality=101)
    assert list(tmp_path.iterdir()) == []  # nothing was written


def test_read_errors_on_arguments(tmp_path):
    f = tmp_path / "x.png"
    write_image(f, torch.rand(3, 4, 5))
    with pytest.raises(ValueRangeError, match="mode"):
        read_image(f, mode="hsv")
    with pytest.raises(ValueRangeError, match="mode"):
        read_image(f, mode="gray", dtype=torch.int64)
    with pytest.raises(WrongTypeError, match="dtype"):
        read_image(f, dtype=torch.bool)


def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    f = tmp_path / "keep.png"
    write_image(f, torch.zeros(1, 4, 4))
    before = f.read_bytes()

    def broken(file, *args):
        file.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(image_module, "_encode", broken)
    with pytest.raises(ImageFileError, match=r"keep\.png"):
        write_image(f, torch.ones(1, 4, 4))
    with pytest.raises(ImageFileError, match=r"new\.png"):
        write_image(tmp_path / "new.png", torch.ones(1, 4, 4))
    assert f.read_bytes() == before  # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.png"]  # no temp, no new file


def test_to_numpy_of_read_image_is_the_stored_array(tmp_path):
    arr = RNG.integers(0, 65536, (6, 7, 4), dtype=np.uint16)
    f = tmp_path / "rgba16.tif"
    tifffile.imwrite(f, arr, photometric="rgb", extrasamples=["unassalpha"])
    assert np.array_equal(to_numpy(read_image(f), dtype=np.uint16), arr)
