import numpy as np
import pytest
import skimage.transform as skt
import torch

from pixlearn.data import sample
from pixlearn.transform import (
    gaussian_pyramid,
    laplacian_pyramid,
    pyramid_max_levels,
    reconstruct_laplacian_pyramid,
)


def _rand(*shape, seed=0, dtype=torch.float64):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# ---- reference: scikit-image ------------------------------------------------------------------
# skimage.transform.pyramid_gaussian blurs with scipy.ndimage's mode name ('reflect' there is
# the half-sample symmetric extension, which pixlearn's filters do not offer), so conventions
# match exactly with mode 'wrap' (border 'circular') and 'constant' (zeros).


@pytest.mark.parametrize(("mode", "border"), [("wrap", "circular"), ("constant", "constant")])
@pytest.mark.parametrize("shape", [(64, 64), (65, 37), (7, 5), (1, 9)])
@pytest.mark.parametrize(("downscale", "sigma"), [(2, None), (3, 1.3), (2.5, None)])
def test_gaussian_pyramid_equals_skimage(shape, mode, border, downscale, sigma):
    x = _rand(*shape, seed=1)
    ref = list(skt.pyramid_gaussian(x.numpy(), downscale=downscale, sigma=sigma, mode=mode))
    out = gaussian_pyramid(x, len(ref), sigma=sigma, downscale=downscale, border=border)
    assert len(ref) == pyramid_max_levels(*shape, downscale=downscale)
    for a, b in zip(out, ref, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a.numpy(), b, atol=1e-12)


def test_gaussian_pyramid_on_a_real_image_float32():
    img = sample("camera")[0]  # (512, 512)
    ref = list(skt.pyramid_gaussian(img.double().numpy(), max_layer=4, mode="wrap"))
    out = gaussian_pyramid(img, 5, border="circular")
    assert out[0].dtype == torch.float32
    for a, b in zip(out, ref, strict=True):
        np.testing.assert_allclose(a.numpy(), b, atol=1e-5)


def test_level_sizes_follow_the_ceil_rule_and_level_zero_is_a_copy():
    x = _rand(3, 37, 50, seed=2)
    pyr = gaussian_pyramid(x, 4)
    assert [tuple(p.shape) for p in pyr] == [(3, 37, 50), (3, 19, 25), (3, 10, 13), (3, 5, 7)]
    assert torch.equal(pyr[0], x) and pyr[0].data_ptr() != x.data_ptr()


@pytest.mark.parametrize(("h", "w", "d"), [(512, 512, 2), (5, 3, 2), (1, 1, 2), (100, 7, 3)])
def test_max_levels_agree_with_skimage(h, w, d):
    ref = len(list(skt.pyramid_gaussian(np.zeros((h, w)), downscale=d)))
    assert pyramid_max_levels(h, w, downscale=d) == ref


# ---- Laplacian pyramid: exact reconstruction ---------------------------------------------------


@pytest.mark.parametrize("shape", [(64, 64), (37, 50), (1, 3, 33, 17), (2, 1, 9, 1)])
def test_laplacian_pyramid_reconstructs_exactly(shape):
    x = _rand(*shape, seed=3, dtype=torch.float32)
    levels = pyramid_max_levels(*shape[-2:])
    pyr = laplacian_pyramid(x, levels)
    assert [p.shape[-2:] for p in pyr] == [p.shape[-2:] for p in gaussian_pyramid(x, levels)]
    assert (reconstruct_laplacian_pyramid(pyr) - x).abs().max() < 1e-6


def test_laplacian_pyramid_of_a_real_image():
    img = sample("astronaut")  # (3, 512, 512)
    pyr = laplacian_pyramid(img, 6, downscale=2)
    assert (reconstruct_laplacian_pyramid(pyr) - img).abs().max() < 1e-6
    # the bands are band-pass: near-zero mean, far less energy than the image
    for band in pyr[:-1]:
        assert band.mean().abs() < 0.01
        assert band.std() < 0.5 * img.std()
    x64 = img.double()
    assert (reconstruct_laplacian_pyramid(laplacian_pyramid(x64, 6)) - x64).abs().max() < 1e-12


def test_laplacian_pyramid_of_a_constant_is_zero_detail():
    x = torch.full((1, 21, 30), 0.25)
    pyr = laplacian_pyramid(x, 4)
    for band in pyr[:-1]:
        assert band.abs().max() < 1e-7
    torch.testing.assert_close(pyr[-1], torch.full_like(pyr[-1], 0.25))


def test_laplacian_bands_are_gaussian_minus_expanded_coarser():
    x = _rand(32, 32, seed=4)
    gauss = gaussian_pyramid(x, 3)
    lap = laplacian_pyramid(x, 3)
    torch.testing.assert_close(lap[-1], gauss[-1])
    # expanding a 16x16 level to 32x32 by linear interpolation: half-pixel centres
    coarse = torch.from_numpy(
        skt.resize(gauss[1].numpy(), (32, 32), order=1, mode="edge", anti_aliasing=False)
    )
    torch.testing.assert_close(lap[0], gauss[0] - coarse, rtol=0, atol=1e-12)


# ---- cardinality, layout, gradients -----------------------------------------------------------


def test_batched_equals_per_item():
    x = _rand(2, 3, 20, 24, seed=5, dtype=torch.float32)
    pyr = gaussian_pyramid(x, 3)
    one = gaussian_pyramid(x[1, 2], 3)
    for a, b in zip(pyr, one, strict=True):
        torch.testing.assert_close(a[1, 2], b)
    assert [p.shape for p in gaussian_pyramid(torch.zeros(0, 3, 8, 8), 2)] == [
        (0, 3, 8, 8),
        (0, 3, 4, 4),
    ]


def test_non_contiguous_input():
    x = _rand(30, 22, seed=6).t()
    for a, b in zip(laplacian_pyramid(x, 3), laplacian_pyramid(x.contiguous(), 3), strict=True):
        torch.testing.assert_close(a, b)


def test_gradcheck():
    x = _rand(1, 9, 7, seed=7).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: tuple(gaussian_pyramid(t, 3)), (x,))
    assert torch.autograd.gradcheck(lambda t: tuple(laplacian_pyramid(t, 3)), (x,))
    assert torch.autograd.gradcheck(
        lambda a, b: reconstruct_laplacian_pyramid([a, b]),
        (x, _rand(1, 5, 4, seed=8).requires_grad_()),
    )


# ---- errors ------------------------------------------------------------------------------------


def test_levels_too_deep_for_the_image():
    with pytest.raises(ValueError, match="levels must be <= 6 for a 20x32 image"):
        gaussian_pyramid(torch.rand(20, 32), 7)
    with pytest.raises(ValueError, match="levels"):
        laplacian_pyramid(torch.rand(4, 4), 4)
    assert len(laplacian_pyramid(torch.rand(4, 4), 3)) == 3  # 4x4, 2x2, 1x1


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"levels": 0}, "levels"),
        ({"levels": 2.0}, "levels"),
        ({"levels": 2, "downscale": 1.0}, "downscale"),
        ({"levels": 2, "sigma": 0.0}, "sigma"),
        ({"levels": 2, "sigma": -1.0}, "sigma"),
        ({"levels": 2, "border": "mirror"}, "border"),
    ],
)
def test_bad_options(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name):
        gaussian_pyramid(torch.rand(16, 16), **kwargs)


def test_bad_images_and_pyramids():
    with pytest.raises(TypeError, match=r"image.*float"):
        gaussian_pyramid(torch.ones(8, 8, dtype=torch.uint8), 2)
    with pytest.raises(ValueError, match="image"):
        laplacian_pyramid(torch.full((8, 8), float("nan")), 2)
    with pytest.raises(ValueError, match="pyramid"):
        reconstruct_laplacian_pyramid([])
    with pytest.raises(ValueError, match=r"pyramid\[1\]"):
        reconstruct_laplacian_pyramid([torch.rand(8, 8), torch.rand(16, 16)])
    with pytest.raises(ValueError, match=r"pyramid\[1\]"):
        reconstruct_laplacian_pyramid([torch.rand(2, 8, 8), torch.rand(3, 4, 4)])
