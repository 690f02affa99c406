import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from pixlearn.data import sample
from pixlearn.transform import cubic, resize

PIL_FILTER = {"linear": Image.BILINEAR, "cubic": Image.BICUBIC, "lanczos3": Image.LANCZOS}
# sizes from 512 with no exact nearest-neighbour ties (c_i + 1/2 never an integer)
SIZES = [(256, 256), (1000, 700), (123, 517), (300, 1001)]


@pytest.fixture(scope="module")
def camera():
    return sample("camera")[0]  # (512, 512) float32


@pytest.mark.parametrize("size", SIZES)
def test_no_antialias_matches_opencv(camera, size):
    h, w = size
    a = camera.numpy()
    out = resize(camera, size, interpolation="linear", antialias=False).numpy()
    # measured: 1.8e-7 (float32 rounding)
    np.testing.assert_allclose(
        out, cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR), atol=1e-6
    )


@pytest.mark.parametrize("size", [(256, 256), (1024, 700), (128, 1024), (1024, 1024)])
def test_nearest_matches_opencv_nearest_exact(camera, size):
    h, w = size
    ref = cv2.resize(camera.numpy(), (w, h), interpolation=cv2.INTER_NEAREST_EXACT)
    assert np.array_equal(resize(camera, size, interpolation="nearest").numpy(), ref)


def test_nearest_rounds_ties_up():
    # 2 -> 1 puts the output centre at c = 0.5, half-way: floor(c + 1/2) takes sample 1
    assert resize(torch.tensor([[1.0, 2.0]]), (1, 1), interpolation="nearest").item() == 2.0


@pytest.mark.parametrize("size", [(5, 7), (13, 4), (9, 9)])
def test_cubic_no_antialias_matches_slow_keys_loop(size):
    f = torch.rand(8, 6, dtype=torch.float64)
    out = resize(f, size, interpolation="cubic", antialias=False)
    h, w = f.shape
    ref = np.zeros(size)
    t = torch.arange(-3.0, 4.0, dtype=torch.float64)
    for i in range(size[0]):
        for j in range(size[1]):
            cy, cx = (i + 0.5) * h / size[0] - 0.5, (j + 0.5) * w / size[1] - 0.5
            acc = 0.0
            for p in (np.floor(cy) + t).tolist():
                for q in (np.floor(cx) + t).tolist():
                    wgt = float(
                        cubic(torch.tensor(cy - p, dtype=torch.float64))
                        * cubic(torch.tensor(cx - q, dtype=torch.float64))
                    )
                    acc += wgt * float(f[min(max(int(p), 0), h - 1), min(max(int(q), 0), w - 1)])
            ref[i, j] = acc
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)


@pytest.mark.parametrize("name", ["linear", "cubic", "lanczos3"])
@pytest.mark.parametrize("size", [*SIZES, (64, 64)])
def test_antialias_matches_pil_float(camera, name, size):
    h, w = size
    a = camera.numpy()
    ref = np.asarray(Image.fromarray(a, mode="F").resize((w, h), PIL_FILTER[name]))
    # measured: <= 3.6e-7 over the whole image, borders included
    np.testing.assert_allclose(resize(camera, size, interpolation=name).numpy(), ref, atol=2e-6)


@pytest.mark.parametrize("name", ["linear", "cubic", "lanczos3"])
def test_antialias_matches_pil_uint8(camera, name):
    u8 = (camera.numpy() * 255).round().astype(np.uint8)
    ref = np.asarray(Image.fromarray(u8).resize((200, 300), PIL_FILTER[name])).astype(np.float64)
    out = resize(torch.from_numpy(u8).double(), (300, 200), interpolation=name)
    out = out.round().clamp(0, 255).numpy()
    diff = np.abs(out - ref)
    # PIL rounds and clips to uint8 between its two passes: mostly within 1 level (1/255);
    # measured 99.8-100% within one level, a few pixels further near clipped overshoots
    assert np.mean(diff <= 1) > 0.99
    if name == "linear":
        assert diff.max() <= 1


def test_upsample_then_downsample_band_limited_image():
    y, x = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    f = 0.5 + 0.2 * torch.sin(2 * torch.pi * x / 16) * torch.cos(2 * torch.pi * y / 21)
    for name, antialias, tol in [
        ("cubic", True, 1e-3),  # measured 1.7e-4
        ("cubic", False, 1e-3),  # measured 5.5e-5
        ("lanczos3", True, 1e-3),  # measured 2.1e-4
        ("linear", True, 2e-2),  # measured 8.9e-3: the triangle is a weaker low-pass
    ]:
        up = resize(f, 128, interpolation=name, antialias=antialias)
        back = resize(up, 64, interpolation=name, antialias=antialias)
        assert (back - f)[4:-4, 4:-4].abs().max() < tol, name


def test_constant_image_stays_constant_and_same_size_is_exact():
    c = torch.full((3, 17, 9), 0.3, dtype=torch.float64)
    for name in ("nearest", "linear", "cubic", "lanczos3"):
        torch.testing.assert_close(
            resize(c, (6, 40), interpolation=name), torch.full((3, 6, 40), 0.3, dtype=torch.float64)
        )
    f = torch.rand(5, 6)
    out = resize(f, (5, 6), interpolation="lanczos3")
    assert torch.equal(out, f) and out.data_ptr() != f.data_ptr()


def test_shrinking_averages_out_a_checkerboard():
    board = (torch.arange(64)[:, None] + torch.arange(64)[None, :]).remainder(2).double()
    # antialias: flat grey (the edge pixels renormalise a clipped window)
    assert resize(board, 8)[1:-1, 1:-1].sub(0.5).abs().max() < 1e-12
    assert resize(board, 8, antialias=False).sub(0.5).abs().max() < 1e-12  # factor 8, 2 taps
    # a non-integer factor without antialias aliases
    assert resize(board, 9, antialias=False).sub(0.5).abs().max() > 0.1
    assert resize(board, 9)[1:-1, 1:-1].sub(0.5).abs().max() < 0.05


def test_batched_equals_per_item_and_layout():
    x = torch.rand(2, 3, 20, 30)
    out = resize(x, (7, 45), interpolation="cubic")
    assert out.shape == (2, 3, 7, 45) and out.dtype == torch.float32
    torch.testing.assert_close(out[1, 2], resize(x[1, 2], (7, 45), interpolation="cubic"))
    assert resize(x[:0], (7, 45)).shape == (0, 3, 7, 45)
    xt = torch.rand(30, 20).t()
    torch.testing.assert_close(resize(xt, 11), resize(xt.contiguous(), 11))
    cl = x.contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(resize(cl, (7, 45)), resize(x, (7, 45)))


@pytest.mark.parametrize("name", ["linear", "cubic", "lanczos3", "nearest"])
def test_gradcheck(name):
    x = torch.rand(1, 7, 9, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: resize(t, (4, 12), interpolation=name), (x,))


def test_errors_name_the_argument():
    x = torch.rand(8, 8)
    for bad in (0, -3, (4, 0)):
        with pytest.raises(ValueError, match="size"):
            resize(x, bad)
    with pytest.raises(TypeError, match="size"):
        resize(x, 2.5)
    with pytest.raises(ValueError, match="interpolation"):
        resize(x, 4, interpolation="area")
    with pytest.raises(TypeError, match=r"image.*float"):
        resize(x.to(torch.uint8), 4)
    with pytest.raises(ValueError, match="image"):
        resize(torch.full((4, 4), float("nan")), 2)
    with pytest.raises(ValueError, match="image"):
        resize(torch.zeros(0, 4), 2)
