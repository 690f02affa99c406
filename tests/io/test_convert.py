import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data as skdata
from skimage.util import img_as_float, img_as_ubyte, img_as_uint

from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError
from pixlearn.io import to_numpy, to_tensor
from pixlearn.io.convert import _convert_mode

RNG = np.random.default_rng(0)


def _rand_uint(shape, dtype):
    return RNG.integers(0, np.iinfo(dtype).max + 1, size=shape, dtype=dtype)


# ---- reference: scikit-image's img_as_float / img_as_ubyte / img_as_uint -----------------


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("shape", [(7, 9), (7, 9, 1), (7, 9, 2), (7, 9, 3), (7, 9, 4)])
def test_to_tensor_matches_img_as_float(dtype, shape):
    a = _rand_uint(shape, dtype)
    chw = a[None] if a.ndim == 2 else np.moveaxis(a, -1, 0)
    ref = chw / float(np.iinfo(dtype).max)  # closed form: x / 255 or x / 65535, float64
    out64 = to_tensor(a, dtype=torch.float64)
    assert out64.shape == ref.shape and torch.equal(out64, torch.from_numpy(ref))
    assert torch.equal(to_tensor(a), torch.from_numpy(ref).float())
    # scikit-image multiplies by 1/255 instead of dividing: equal to within one ulp
    peer = img_as_float(a)
    peer = peer[None] if a.ndim == 2 else np.moveaxis(peer, -1, 0)
    assert np.abs(out64.numpy() - peer).max() <= 2.3e-16


def test_real_image_camera():
    cam = skdata.camera()
    t = to_tensor(cam)
    assert t.shape == (1, 512, 512) and t.dtype == torch.float32
    assert torch.equal(t, torch.from_numpy(cam / 255.0).float()[None])
    assert np.array_equal(to_numpy(t, dtype=np.uint8), cam)
    ast = skdata.astronaut()
    assert np.array_equal(to_numpy(to_tensor(ast), dtype=np.uint8), ast)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("tdtype", [torch.float32, torch.float64])
def test_round_trip_is_exact(dtype, tdtype):
    for shape in [(5, 6), (5, 6, 2), (5, 6, 3), (5, 6, 4), (3, 5, 6, 3)]:
        a = _rand_uint(shape, dtype)
        back = to_numpy(to_tensor(a, dtype=tdtype), dtype=dtype)
        assert back.dtype == dtype and np.array_equal(back, a)
    # every code value, not only a random sample
    every = np.arange(np.iinfo(dtype).max + 1, dtype=dtype).reshape(1, -1)
    assert np.array_equal(to_numpy(to_tensor(every, dtype=tdtype), dtype=dtype), every)


@pytest.mark.parametrize("np_dtype, ref", [(np.uint8, img_as_ubyte), (np.uint16, img_as_uint)])
def test_to_numpy_matches_skimage_quantisation(np_dtype, ref):
    x = torch.rand(3, 8, 9, dtype=torch.float64)
    x[0, 0, :4] = torch.tensor([0.0, 1.0, 0.5 / 255, 1.5 / 255])  # exact ties round to even
    out = to_numpy(x, dtype=np_dtype)
    expected = ref(np.moveaxis(x.numpy(), 0, -1))
    assert out.dtype == np_dtype and out.shape == (8, 9, 3)
    # skimage rounds to nearest too; the only allowed difference is a tie broken the other way
    assert np.abs(out.astype(np.int64) - expected).max() <= 1
    closed = np.round(np.clip(np.moveaxis(x.numpy(), 0, -1), 0, 1) * np.iinfo(np_dtype).max)
    assert np.array_equal(out, closed.astype(np_dtype))


def test_to_numpy_clips_out_of_range_values():
    x = torch.tensor([[[-0.5, 0.0, 1.0, 1.5]]])
    assert to_numpy(x, dtype=np.uint8).tolist() == [[0, 0, 255, 255]]
    assert to_numpy(x, dtype=np.uint16).tolist() == [[0, 0, 65535, 65535]]
    # a floating output keeps the values as they are
    assert to_numpy(x, dtype=np.float32).tolist() == [[-0.5, 0.0, 1.0, 1.5]]


# ---- dtype rules ----------------------------------------------------------------------------


def test_bool_becomes_zero_one():
    a = RNG.random((4, 5)) > 0.5
    assert torch.equal(to_tensor(a), torch.from_numpy(a.astype(np.float32))[None])
    assert torch.equal(to_tensor(a, dtype=torch.int64), torch.from_numpy(a.astype(np.int64))[None])


def test_float_arrays_are_kept_as_is_nan_included():
    a = np.array([[-1.0, 0.25, 7.0, np.nan]], dtype=np.float32)
    t = to_tensor(a)
    assert t.dtype == torch.float32 and t.shape == (1, 1, 4)
    assert torch.equal(t[0, 0, :3], torch.tensor([-1.0, 0.25, 7.0])) and torch.isnan(t[0, 0, 3])
    assert to_tensor(a.astype(np.float16), dtype=torch.float16).dtype == torch.float16


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.uint32, np.int64])
def test_other_integers_are_unscaled(dtype):
    a = np.array([[0, 1, 100, 127]], dtype=dtype)
    assert to_tensor(a).tolist() == [[[0.0, 1.0, 100.0, 127.0]]]


def test_integer_dtype_reads_raw_values():
    a = np.array([[0, 3, 65535]], dtype=np.uint16)
    out = to_tensor(a, dtype=torch.int64)
    assert out.dtype == torch.int64 and out.tolist() == [[[0, 3, 65535]]]
    with pytest.raises(ValueRangeError, match="dtype"):
        to_tensor(a, dtype=torch.uint8)  # 65535 does not fit
    with pytest.raises(WrongTypeError, match="dtype"):
        to_tensor(np.zeros((2, 2), np.float32), dtype=torch.int64)


def test_integer_tensors_are_converted_unscaled():
    labels = torch.tensor([[[0, 1, 2, 300]]])
    assert to_numpy(labels, dtype=np.uint16).tolist() == [[0, 1, 2, 300]]
    assert to_numpy(labels).dtype == np.int64
    with pytest.raises(ValueRangeError, match="tensor"):
        to_numpy(labels, dtype=np.uint8)
    with pytest.raises(ValueRangeError, match="tensor"):
        to_numpy(-labels, dtype=np.uint16)
    assert to_numpy(torch.tensor([[True, False]])).dtype == np.bool_


# ---- PIL input --------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA", "1", "I;16"])
def test_pil_images_match_their_arrays(mode):
    a = _rand_uint((6, 7, 4), np.uint8)
    pil = Image.fromarray(a, "RGBA").convert(mode) if mode != "I;16" else None
    if mode == "I;16":
        a16 = _rand_uint((6, 7), np.uint16)
        pil, ref = Image.fromarray(a16), a16
    else:
        ref = np.asarray(pil)
    out = to_tensor(pil, dtype=torch.float64)
    expected = ref / float(np.iinfo(ref.dtype).max) if ref.dtype != np.bool_ else ref * 1.0
    expected = expected[None] if expected.ndim == 2 else np.moveaxis(expected, -1, 0)
    assert torch.equal(out, torch.from_numpy(expected))


def test_pil_palette_becomes_rgb():
    rgb = Image.fromarray(_rand_uint((6, 7, 3), np.uint8)).quantize(8)
    assert rgb.mode == "P"
    expected = np.moveaxis(np.asarray(rgb.convert("RGB")), -1, 0) / 255.0
    assert torch.equal(to_tensor(rgb, dtype=torch.float64), torch.from_numpy(expected))


# ---- cardinality and layout -------------------------------------------------------------------


def test_shapes_stack_and_empty():
    stack = _rand_uint((4, 5, 6, 3), np.uint8)
    out = to_tensor(stack)
    assert out.shape == (4, 3, 5, 6)
    for i in range(4):
        assert torch.equal(out[i], to_tensor(stack[i]))  # batched == per item
    assert to_tensor(stack[:0]).shape == (0, 3, 5, 6)  # zero-size batch
    assert to_tensor(np.zeros((0, 5), np.uint8)).shape == (1, 0, 5)
    assert to_tensor(np.full((1, 1), 255, np.uint8)).tolist() == [[[1.0]]]
    assert to_numpy(out).shape == (4, 5, 6, 3)
    assert np.array_equal(to_numpy(out, dtype=np.uint8), stack)
    assert to_numpy(torch.zeros(2, 1, 5, 6)).shape == (2, 5, 6, 1)  # a stack keeps C == 1
    assert to_numpy(torch.zeros(1, 5, 6)).shape == (5, 6)
    assert to_numpy(torch.zeros(5, 6)).shape == (5, 6)


def test_output_is_a_contiguous_copy():
    a = _rand_uint((5, 6, 3), np.uint8)
    for arr in (a, a.astype(np.float32)):
        t = to_tensor(arr, dtype=torch.float32)
        assert t.is_contiguous() and not np.shares_memory(t.numpy(), arr)
        before = t.clone()
        arr[...] = 0
        assert torch.equal(t, before)
    x = torch.rand(2, 3, 4)
    n = to_numpy(x)
    n[...] = 5
    assert x.max() <= 1


def test_non_contiguous_and_read_only_arrays():
    a = _rand_uint((10, 12, 3), np.uint8)
    view = a[::2, ::-1]  # strided, negative strides
    assert torch.equal(to_tensor(view), to_tensor(view.copy()))
    ro = a.copy()
    ro.flags.writeable = False
    assert torch.equal(to_tensor(ro), to_tensor(a))


def test_to_numpy_layouts_and_autograd():
    x = torch.rand(3, 6, 8)
    ref = to_numpy(x, dtype=np.uint8)
    cl = x[None].contiguous(memory_format=torch.channels_last)[0]
    nc = torch.rand(3, 8, 6).transpose(1, 2)
    assert np.array_equal(to_numpy(cl, dtype=np.uint8), ref)
    assert np.array_equal(to_numpy(nc), to_numpy(nc.contiguous()))
    g = x.clone().requires_grad_(True)
    assert np.array_equal(to_numpy(g, dtype=np.uint8), ref)  # detached
    assert to_numpy(x.double()).dtype == np.float64
    assert to_numpy(x.bfloat16()).dtype == np.float32


# ---- mode conversion --------------------------------------------------------------------------


def test_gray_is_bt601_luma():
    rgb = _rand_uint((6, 7, 3), np.uint8)
    t = to_tensor(rgb, dtype=torch.float64)
    gray = _convert_mode(t, "gray")
    r, g, b = (rgb[..., i] / 255.0 for i in range(3))
    closed = 0.299 * r + 0.587 * g + 0.114 * b
    assert gray.shape == (1, 6, 7)
    assert torch.allclose(gray[0], torch.from_numpy(closed), atol=1e-12, rtol=0)
    # Pillow's "L" uses the same weights in fixed point, rounded to integers
    pil_l = np.asarray(Image.fromarray(rgb).convert("L")) / 255.0
    assert np.abs(gray[0].numpy() - pil_l).max() <= 1 / 255 + 1e-12
    rgba = _convert_mode(gray, "rgba")
    assert rgba.shape == (4, 6, 7) and torch.equal(rgba[3], torch.ones(6, 7, dtype=torch.float64))
    assert torch.equal(_convert_mode(rgba, "rgb"), gray.expand(3, 6, 7))
    batched = _convert_mode(t[None].expand(2, 3, 6, 7), "gray")
    assert torch.equal(batched[1], gray)


# ---- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, exc",
    [
        ([[0, 1]], WrongTypeError),
        (torch.zeros(3, 4), WrongTypeError),
        (np.zeros((4, 5, 5)), ShapeError),  # channels-first by mistake
        (np.zeros(4), ShapeError),
        (np.zeros((1, 2, 3, 4, 3)), ShapeError),
        (np.zeros((3, 3), np.complex64), WrongTypeError),
        (np.zeros((3, 3), object), WrongTypeError),
    ],
)
def test_to_tensor_refuses_bad_arrays(bad, exc):
    with pytest.raises(exc, match="array"):
        to_tensor(bad)


def test_to_tensor_refuses_bad_dtype():
    for bad in (torch.bool, np.float32, "float32"):
        with pytest.raises(WrongTypeError, match="dtype"):
            to_tensor(np.zeros((2, 2), np.uint8), dtype=bad)


def test_to_numpy_refuses_bad_input():
    with pytest.raises(WrongTypeError, match="tensor"):
        to_numpy(np.zeros((2, 2)))
    with pytest.raises(ShapeError, match="tensor"):
        to_numpy(torch.zeros(1, 1, 1, 2, 2))
    with pytest.raises(ValueRangeError, match="tensor"):
        to_numpy(torch.tensor([[0.5, float("nan")]]), dtype=np.uint8)
    with pytest.raises(ValueRangeError, match="dtype"):
        to_numpy(torch.zeros(2, 2), dtype=np.int8)
    with pytest.raises(WrongTypeError, match="dtype"):
        to_numpy(torch.zeros(2, 2), dtype=object())
