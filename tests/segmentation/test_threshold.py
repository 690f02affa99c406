import numpy as np
import pytest
import skimage.filters as skf
import torch

from pixlearn.data import sample
from pixlearn.exposure import _binning
from pixlearn.segmentation import (
    threshold_li,
    threshold_local,
    threshold_multiotsu,
    threshold_otsu,
)


def _grey(name, dtype):
    img = sample(name, dtype=dtype)
    return img if img.dim() == 2 else img[0]


def _images(dtype):
    g = torch.Generator().manual_seed(5)
    out = {name: _grey(name, dtype) for name in ["camera", "coins", "moon", "page"]}
    out["rand"] = torch.rand(37, 53, generator=g, dtype=dtype)
    out["randn"] = torch.randn(41, 29, generator=g, dtype=dtype) * 3 + 1
    return out


@pytest.fixture(scope="module", params=[torch.float32, torch.float64], ids=["f32", "f64"])
def images(request):
    return _images(request.param)


def test_otsu_equals_skimage_exactly(images):
    for name, img in images.items():
        assert threshold_otsu(img).item() == skf.threshold_otsu(img.numpy()), name


@pytest.mark.parametrize("classes", [3, 4])
def test_multiotsu_equals_skimage_exactly(images, classes):
    for name, img in images.items():
        ours = threshold_multiotsu(img, classes).numpy()
        assert ours.tolist() == skf.threshold_multiotsu(img.numpy(), classes).tolist(), name


def test_li_equals_skimage(images):
    # measured: 0 on the sample images, <= 5e-7 on float32 randn (summation order of the means)
    for name, img in images.items():
        ref = skf.threshold_li(img.numpy())
        assert threshold_li(img).item() == pytest.approx(ref, abs=1e-6), name


def test_li_options_equal_skimage():
    img = _grey("camera", torch.float64)
    ref = skf.threshold_li(img.numpy(), tolerance=0.01, initial_guess=0.3)
    assert threshold_li(img, tolerance=0.01, initial_guess=0.3).item() == pytest.approx(
        ref, abs=1e-12
    )


@pytest.mark.parametrize("method", ["gaussian", "mean", "median"])
@pytest.mark.parametrize("block", [3, 15])
def test_local_equals_skimage(images, method, block):
    # measured: <= 2.4e-7 (float32), <= 3e-15 (float64), 0 for the median
    for name, img in images.items():
        ref = skf.threshold_local(img.numpy(), block, method, offset=0.05)
        ours = threshold_local(img, block, method, offset=0.05).numpy()
        np.testing.assert_allclose(ours, ref, atol=1e-6, err_msg=name)


def test_otsu_separates_two_levels_and_constant_image():
    img = torch.zeros(8, 8)
    img[:, 4:] = 1.0
    t = threshold_otsu(img)
    assert torch.equal(img > t, img == 1.0)
    assert threshold_otsu(torch.full((3, 3), 0.7)).item() == pytest.approx(0.7)
    assert threshold_li(torch.full((3, 3), 0.7)).item() == pytest.approx(0.7)


def test_otsu_batched_blocked_and_edge_values_equal_skimage(monkeypatch):
    # all planes at once (one with a constant plane among them) and planes larger than one
    # binning block (made small here), with values on and next to NumPy's bin edges
    monkeypatch.setattr(_binning, "CHUNK", 1 << 14)
    g = torch.Generator().manual_seed(9)
    e = np.linspace(np.float32(0.1), np.float32(0.9), 65, dtype=np.float32)
    near = np.concatenate([e, np.nextafter(e, np.float32(2)), np.nextafter(e, np.float32(-1))])
    near = torch.from_numpy(near.clip(e[0], e[-1]))
    x = near[torch.randint(0, near.numel(), (3, 400, 380), generator=g)]
    x[1] = 0.3
    t = threshold_otsu(x, 64)
    assert t.shape == (3,)
    for i in range(3):
        assert t[i].item() == skf.threshold_otsu(x[i].numpy(), 64)
    # a constant plane of a huge value is still its own threshold
    big = threshold_otsu(torch.stack([x[0], torch.full_like(x[0], 3e38)]), 64)
    assert big.tolist() == [t[0].item(), torch.tensor(3e38).item()]


def test_thresholds_invariant_to_shift_and_scale():
    img = _grey("coins", torch.float64)
    t = threshold_otsu(img)
    assert threshold_otsu(img * 2 + 1).item() == pytest.approx(t.item() * 2 + 1, abs=1e-9)
    m = threshold_multiotsu(img, 3)
    assert torch.allclose(threshold_multiotsu(img * 2 + 1, 3), m * 2 + 1, atol=1e-9)


def test_batched_equals_per_item_shapes_and_empty_batch():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, 20, 24, generator=g, dtype=torch.float64)
    for fn in [threshold_otsu, threshold_li]:
        out = fn(x)
        assert out.shape == (2, 3) and out.dtype == torch.float64
        assert out[1, 2].item() == fn(x[1, 2]).item()
    mo = threshold_multiotsu(x, 4)
    assert mo.shape == (2, 3, 3) and torch.equal(mo[0, 1], threshold_multiotsu(x[0, 1], 4))
    loc = threshold_local(x, 5, "median")
    assert loc.shape == x.shape and torch.equal(loc[1, 0], threshold_local(x[1, 0], 5, "median"))
    assert threshold_otsu(x).dim() == 2 and threshold_otsu(x[0, 0]).dim() == 0
    empty = torch.zeros(0, 10, 10)
    assert threshold_otsu(empty).shape == (0,)
    assert threshold_multiotsu(empty, 3).shape == (0, 2)
    assert threshold_local(empty, 3).shape == (0, 10, 10)


def test_non_contiguous_and_input_unchanged():
    g = torch.Generator().manual_seed(2)
    x = torch.rand(30, 20, generator=g)
    xt, before = x.t(), x.clone()
    assert threshold_otsu(xt).item() == threshold_otsu(xt.contiguous()).item()
    assert torch.equal(threshold_local(xt, 7), threshold_local(xt.contiguous(), 7))
    assert torch.equal(x, before)


def test_local_is_a_local_mean():
    img = torch.full((9, 9), 0.5, dtype=torch.float64)
    for m in ["gaussian", "mean", "median"]:
        assert torch.allclose(threshold_local(img, 5, m, offset=0.1), img - 0.1)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: threshold_otsu(torch.zeros(5)), ValueError, "image"),
        (lambda: threshold_otsu(torch.zeros(4, 4, dtype=torch.uint8)), TypeError, "image"),
        (lambda: threshold_otsu(torch.zeros(0, 4)), ValueError, "image"),
        (lambda: threshold_otsu(torch.tensor([[0.0, float("nan")]])), ValueError, "image"),
        (lambda: threshold_otsu(torch.rand(4, 4), nbins=1), ValueError, "nbins"),
        (lambda: threshold_multiotsu(torch.rand(4, 4), classes=1), ValueError, "classes"),
        (lambda: threshold_multiotsu(torch.tensor([[0.0, 1.0]]), classes=3), ValueError, "classes"),
        (lambda: threshold_li(torch.tensor([[0.0, float("inf")]])), ValueError, "image"),
        (lambda: threshold_li(torch.rand(4, 4), tolerance=-1.0), ValueError, "tolerance"),
        (lambda: threshold_li(torch.rand(4, 4), initial_guess=5.0), ValueError, "initial_guess"),
        (lambda: threshold_local(torch.rand(4, 4), 4), ValueError, "block_size"),
        (lambda: threshold_local(torch.rand(4, 4), 3, "max"), ValueError, "method"),
        (lambda: threshold_local(torch.rand(4, 4), 3, offset=float("nan")), ValueError, "offset"),
    ],
)
def test_bad_inputs(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
