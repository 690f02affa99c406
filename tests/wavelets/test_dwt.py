import numpy as np
import pytest
import pywt
import torch

from pixlearn._core.errors import ShapeError, ValueRangeError
from pixlearn.data.samples import sample
from pixlearn.wavelets import (
    dwt,
    dwt2,
    dwt_max_level,
    idwt,
    idwt2,
    wavedec,
    wavedec2,
    wavelet_filters,
    wavelist,
    waverec,
    waverec2,
)

MODES = ["symmetric", "zero", "periodization"]


@pytest.mark.parametrize("name", wavelist())
def test_filter_banks_equal_pywavelets(name):
    ours = wavelet_filters(name)
    for a, b in zip(ours, pywt.Wavelet(name).filter_bank, strict=True):
        np.testing.assert_allclose(a.numpy(), np.asarray(b), atol=1e-10)


def test_unknown_wavelet_lists_valid_names():
    with pytest.raises(ValueError, match=r"wavelet.*db4.*sym8.*bior6\.8.*got 'db99'"):
        wavelet_filters("db99")


@pytest.mark.parametrize("name", wavelist())
@pytest.mark.parametrize("mode", MODES)
def test_wavedec_and_wavedec2_equal_pywavelets(name, mode):
    rng = np.random.default_rng(0)
    x = rng.random((2, 90))
    level = max(1, min(2, pywt.dwt_max_level(70, name)))
    ref = pywt.wavedec(x, name, mode=mode, level=level)
    ours = wavedec(torch.tensor(x), name, mode=mode, level=level)
    for a, b in zip(ours, ref, strict=True):
        np.testing.assert_allclose(a.numpy(), b, atol=1e-6)
    np.testing.assert_allclose(
        waverec(ours, name, mode=mode).numpy(), pywt.waverec(ref, name, mode=mode), atol=1e-6
    )
    img = rng.random((70, 83))
    ref2 = pywt.wavedec2(img, name, mode=mode, level=level)
    ours2 = wavedec2(torch.tensor(img), name, mode=mode, level=level)
    np.testing.assert_allclose(ours2[0].numpy(), ref2[0], atol=1e-6)
    for a, b in zip(ours2[1:], ref2[1:], strict=True):
        for u, v in zip(a, b, strict=True):
            np.testing.assert_allclose(u.numpy(), v, atol=1e-6)
    ours32 = wavedec2(torch.tensor(img, dtype=torch.float32), name, mode=mode, level=level)
    np.testing.assert_allclose(ours32[-1][2].numpy(), ref2[-1][2], atol=1e-5)


@pytest.mark.parametrize(
    "name", ["haar", "db4", "sym5", "bior2.4", "bior4.4", "bior5.5", "rbio3.1"]
)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("size", [(33, 47), (64, 64), (51, 40)])
def test_waverec2_inverts_wavedec2(name, mode, size):
    x = torch.rand(2, *size, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    level = dwt_max_level(min(size), name)
    y = waverec2(wavedec2(x, name, mode=mode, level=level), name, mode=mode)
    torch.testing.assert_close(y[..., : size[0], : size[1]], x, atol=1e-10, rtol=0)


def test_real_image_matches_pywavelets():
    img = sample("camera", dtype=torch.float64).squeeze()
    ref = pywt.wavedec2(img.numpy(), "db2", level=3)
    ours = wavedec2(img, "db2", level=3)
    np.testing.assert_allclose(ours[0].numpy(), ref[0], atol=1e-8)


def test_batched_equals_per_item_and_non_contiguous():
    x = torch.rand(3, 2, 20, 24, dtype=torch.float64)
    out = wavedec2(x, "db2", level=2)
    one = wavedec2(x[1, 0], "db2", level=2)
    torch.testing.assert_close(out[0][1, 0], one[0])
    xt = x.transpose(-1, -2)
    torch.testing.assert_close(wavedec2(xt, "db2")[0], wavedec2(xt.contiguous(), "db2")[0])
    empty = wavedec2(torch.zeros(0, 16, 16), "haar", level=1)
    assert empty[0].shape == (0, 8, 8)


def test_gradcheck():
    x = torch.rand(9, 10, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: wavedec2(t, "db2", level=1)[1][2], (x,))
    assert torch.autograd.gradcheck(lambda t: idwt(*dwt(t, "sym3"), "sym3"), (x,))


def test_max_level_and_errors():
    assert dwt_max_level(64, "db2") == pywt.dwt_max_level(64, 4)
    with pytest.raises(ValueRangeError, match="level must be <= 3"):
        wavedec2(torch.rand(32, 32), "db2", level=4)
    with pytest.raises(ValueError, match="image must be finite"):
        wavedec2(torch.full((8, 8), float("nan")), "haar")
    with pytest.raises(ValueError, match="mode"):
        dwt(torch.rand(8), "haar", mode="reflect")
    with pytest.raises(TypeError, match="x must be a floating"):
        dwt(torch.ones(8, dtype=torch.int64), "haar")
    with pytest.raises(ShapeError, match="cA and cD"):
        idwt(torch.rand(4), torch.rand(5), "haar")


@pytest.mark.parametrize("name", ["haar", "db8", "sym5", "bior6.8"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_signals_shorter_than_the_filter_equal_pywavelets(name, mode, n):
    # short signals take the index-map extension (several mirrors or periods), long ones the
    # concatenated edge slices: both must give PyWavelets' coefficients and inverse
    x = np.random.default_rng(n).random((2, n))
    cA, cD = dwt(torch.tensor(x), name, mode=mode)
    rA, rD = pywt.dwt(x, name, mode=mode)
    np.testing.assert_allclose(cA.numpy(), rA, atol=1e-10)
    np.testing.assert_allclose(cD.numpy(), rD, atol=1e-10)
    np.testing.assert_allclose(
        idwt(cA, cD, name, mode=mode).numpy(), pywt.idwt(rA, rD, name, mode=mode), atol=1e-10
    )
    img = np.random.default_rng(n).random((n, n + 3))
    ours = dwt2(torch.tensor(img), name, mode=mode)
    ref = pywt.dwt2(img, name, mode=mode)
    np.testing.assert_allclose(ours[0].numpy(), ref[0], atol=1e-10)
    for u, v in zip(ours[1], ref[1], strict=True):
        np.testing.assert_allclose(u.numpy(), v, atol=1e-10)
    np.testing.assert_allclose(
        idwt2(*ours, name, mode=mode).numpy(), pywt.idwt2(ref, name, mode=mode), atol=1e-10
    )


@pytest.mark.parametrize("mode", MODES)
def test_float32_stays_float32_and_layouts_agree(mode):
    x = torch.rand(2, 3, 30, 35, generator=torch.Generator().manual_seed(2))
    coeffs = wavedec2(x, "db3", mode=mode, level=2)
    assert coeffs[0].dtype == torch.float32 and coeffs[-1][2].dtype == torch.float32
    assert waverec2(coeffs, "db3", mode=mode).dtype == torch.float32
    ref = pywt.wavedec2(x.double().numpy(), "db3", mode=mode, level=2)
    np.testing.assert_allclose(coeffs[-1][1].numpy(), ref[-1][1], atol=1e-5)
    cl = x.contiguous(memory_format=torch.channels_last)
    for a, b in zip(wavedec2(cl, "db3", mode=mode, level=2)[1], coeffs[1], strict=True):
        torch.testing.assert_close(a, b)
    xe = x[:1, :1].expand(2, 3, 30, 35)  # a broadcast (zero-stride) input
    torch.testing.assert_close(
        wavedec2(xe, "db3", mode=mode, level=2)[0], wavedec2(xe.contiguous(), "db3", mode=mode)[0]
    )


@pytest.mark.parametrize("mode", ["periodization", "zero"])
def test_gradcheck_other_modes_and_odd_sizes(mode):
    x = torch.rand(7, 9, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda t: torch.cat([c.flatten() for c in dwt2(t, "db2", mode=mode)[1]]), (x,)
    )
    cA, details = dwt2(x.detach(), "bior2.2", mode=mode)
    cA.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a: idwt2(a, details, "bior2.2", mode=mode), (cA,))
