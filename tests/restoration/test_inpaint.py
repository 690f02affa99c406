import numpy as np
import pytest
import skimage.data
import skimage.restoration as skr
import torch

from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError
from pixlearn.restoration import inpaint_biharmonic
from pixlearn.restoration.inpaint import _axis_stencils


@pytest.fixture(scope="module")
def camera():
    return skimage.data.camera()[::4, ::4] / 255.0  # (128, 128) float64


def _scratches(h, w, seed=0):
    """Thin random lines and a block: the kind of damage inpainting repairs."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((h, w), bool)
    for _ in range(4):
        r = rng.integers(0, h)
        mask[r : r + 2, rng.integers(0, w // 2) : rng.integers(w // 2, w)] = True
        c = rng.integers(0, w)
        mask[rng.integers(0, h // 2) : rng.integers(h // 2, h), c] = True
    mask[h // 3 : h // 3 + 6, w // 2 : w // 2 + 8] = True
    return mask


def test_equals_skimage_on_camera_scratches(camera):
    mask = _scratches(*camera.shape)
    ref = skr.inpaint_biharmonic(camera, mask)
    for split in (False, True):
        out = inpaint_biharmonic(torch.from_numpy(camera), torch.from_numpy(mask),
                                 split_into_regions=split)  # fmt: skip
        np.testing.assert_allclose(out.numpy(), ref, atol=1e-9, rtol=0)
    # the known pixels are untouched
    assert np.array_equal(out.numpy()[~mask], camera[~mask])


@pytest.mark.parametrize("seed", range(6))
def test_random_masks_touching_the_border_equal_skimage(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(1, 24, size=2)
    image = rng.random((h, w))
    mask = rng.random((h, w)) < rng.uniform(0.1, 0.7)
    mask.flat[rng.integers(0, h * w)] = False  # at least one known pixel
    ref = skr.inpaint_biharmonic(image, mask)
    out = inpaint_biharmonic(torch.from_numpy(image), torch.from_numpy(mask))
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-9, rtol=0)
    split = inpaint_biharmonic(torch.from_numpy(image), torch.from_numpy(mask),
                               split_into_regions=True)  # fmt: skip
    np.testing.assert_allclose(split.numpy(), ref, atol=1e-9, rtol=0)


def test_float32_and_channels_equal_skimage():
    rgb = skimage.data.astronaut()[::8, ::8] / 255.0  # (64, 64, 3)
    mask = _scratches(64, 64, seed=3)
    ref = skr.inpaint_biharmonic(rgb.astype(np.float32), mask, channel_axis=-1)
    x = torch.from_numpy(rgb.astype(np.float32))
    out = inpaint_biharmonic(x, torch.from_numpy(mask), channel_axis=-1)  # (H, W, C)
    assert out.shape == x.shape and out.dtype == torch.float32
    # scikit-image solves in float32 (1e-6 off); pixlearn in float64, rounded once at the end
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-5, rtol=0)
    ref64 = skr.inpaint_biharmonic(rgb, mask, channel_axis=-1)
    np.testing.assert_allclose(out.numpy(), ref64, atol=1e-7, rtol=0)
    # the pixlearn layout (C, H, W) gives the same
    chw = inpaint_biharmonic(x.permute(2, 0, 1), torch.from_numpy(mask))
    assert torch.equal(chw.permute(1, 2, 0), out)


def test_stencil_is_the_13_point_bilaplacian_and_reflects_at_the_border():
    d1, d2 = _axis_stencils(9)
    assert d1[4].tolist() == [0, 1, -2, 1, 0] and d2[4].tolist() == [1, -4, 6, -4, 1]
    # at sample 0 the window is [0, 2] and L = [[-1, 1, 0], [1, -2, 1], [0, 1, -1]]
    assert d1[0].tolist() == [0, 0, -1, 1, 0]
    assert d2[0].tolist() == [0, 0, 2, -3, 1]  # L^2 e_0 = (1 + 1, -1 - 2, 1)
    # every row of L^2 sums to 0: constants are biharmonic everywhere, borders included
    np.testing.assert_allclose(d2.sum(1), 0, atol=0)


def test_biharmonic_functions_are_recovered_exactly():
    y, x = torch.meshgrid(torch.arange(20.0, dtype=torch.float64),
                          torch.arange(24.0, dtype=torch.float64), indexing="ij")  # fmt: skip
    mask = torch.zeros(20, 24, dtype=torch.bool)
    mask[6:14, 5:19] = True  # two pixels from every border: full stencils
    for f in (0.3 + 0 * x, (y + 2 * x) / 60, (x * x - y * y) / 600, (x**3 - 3 * x * y * y) / 3e4):
        lo, hi = f[~mask].min(), f[~mask].max()
        if hi > lo:
            f = (f - lo) / (hi - lo)  # in [0, 1]: the final clip is inactive
        out = inpaint_biharmonic(f, mask)
        assert float((out - f).abs().max()) < 1e-9


def test_smooth_image_is_filled_closely_and_better_than_a_constant(camera):
    # the syllabus: inpainting restores damaged regions; on a smooth field the fill is close
    y, x = np.mgrid[0:64, 0:64] / 64.0
    smooth = 0.5 + 0.3 * np.sin(3 * x) * np.cos(2 * y)
    mask = _scratches(64, 64, seed=1)
    out = inpaint_biharmonic(torch.from_numpy(smooth), torch.from_numpy(mask)).numpy()
    assert np.abs(out - smooth)[mask].max() < 5e-3  # measured 1.9e-3
    # camera: far better than filling with the mean of the known pixels
    mask = _scratches(*camera.shape, seed=2)
    out = inpaint_biharmonic(torch.from_numpy(camera), torch.from_numpy(mask)).numpy()
    err = np.abs(out - camera)[mask].mean()
    assert err < 0.5 * np.abs(camera[~mask].mean() - camera)[mask].mean()


def test_batched_masks_and_shared_mask_equal_per_item():
    g = torch.Generator().manual_seed(0)
    images = torch.rand(2, 3, 12, 11, generator=g, dtype=torch.float64)
    masks = torch.rand(2, 1, 12, 11, generator=g) < 0.3
    out = inpaint_biharmonic(images, masks)
    assert out.shape == images.shape
    for b in range(2):
        for c in range(3):
            one = inpaint_biharmonic(images[b, c], masks[b, 0])
            torch.testing.assert_close(out[b, c], one, atol=1e-12, rtol=0)
    shared = inpaint_biharmonic(images, masks[0, 0])  # one (H, W) mask for all six images
    for b in range(2):
        torch.testing.assert_close(shared[b], inpaint_biharmonic(images[b], masks[0, 0]))
    # a zero-size batch, an empty mask, a 0/1 float mask
    empty = inpaint_biharmonic(torch.zeros(0, 12, 11), masks[0, 0])
    assert empty.shape == (0, 12, 11)
    assert torch.equal(inpaint_biharmonic(images, torch.zeros(12, 11, dtype=torch.bool)), images)
    torch.testing.assert_close(inpaint_biharmonic(images, masks.double()), out)


def test_non_contiguous_input_and_input_not_modified():
    g = torch.Generator().manual_seed(1)
    base = torch.rand(15, 13, generator=g, dtype=torch.float64)
    mask = torch.rand(15, 13, generator=g) < 0.4
    ref = inpaint_biharmonic(base.T.contiguous(), mask.T.contiguous())
    view, before = base.T, base.clone()
    assert not view.is_contiguous()
    torch.testing.assert_close(inpaint_biharmonic(view, mask.T), ref, atol=0, rtol=0)
    assert torch.equal(base, before)


def test_errors():
    image = torch.rand(8, 8)
    mask = torch.zeros(8, 8, dtype=torch.bool)
    mask[2, 2] = True
    with pytest.raises(ShapeError, match="mask"):
        inpaint_biharmonic(image, mask[:7])
    with pytest.raises(ShapeError, match="mask"):
        inpaint_biharmonic(torch.rand(2, 8, 8), torch.zeros(3, 8, 8, dtype=torch.bool))
    with pytest.raises(ValueRangeError, match="mask"):
        inpaint_biharmonic(image, torch.ones(8, 8, dtype=torch.bool))
    with pytest.raises(WrongTypeError, match="mask"):
        inpaint_biharmonic(image, mask.float() * 2)
    with pytest.raises(WrongTypeError, match="mask"):
        inpaint_biharmonic(image, mask.numpy())
    with pytest.raises(ValueRangeError, match="image"):
        inpaint_biharmonic(torch.full((8, 8), float("nan")), mask)
    with pytest.raises(WrongTypeError, match="image"):
        inpaint_biharmonic(torch.zeros(8, 8, dtype=torch.uint8), mask)
    with pytest.raises(ShapeError, match="channel_axis"):
        inpaint_biharmonic(torch.rand(8, 8, 3), mask, channel_axis=3)
    with pytest.raises(ShapeError, match="channel axis"):
        inpaint_biharmonic(image, mask, channel_axis=0)
