import numpy as np
import pytest
import skimage
import torch
from skimage.feature import hog as sk_hog

from pixlearn.features.hog import hog, hog_cell_histograms


def _cam():
    return skimage.data.camera()[:200, :230] / 255.0


@pytest.mark.parametrize("norm", ["L1", "L1-sqrt", "L2", "L2-Hys"])
@pytest.mark.parametrize(("ppc", "cpb", "n"), [((8, 8), (3, 3), 9), ((6, 7), (2, 1), 8), (5, 1, 4)])
def test_equals_skimage_on_random_and_camera(norm, ppc, cpb, n):
    rng = np.random.default_rng(0)
    # on the quantised camera, gradients at exactly 45 or 135 degrees (bin edges for n = 4, 8)
    # are frequent and NumPy's SIMD arctan2 rounds them either way: use 9 and 6 bins there
    for img, bins in ((rng.random((67, 81)), n), (_cam(), 9), (_cam(), 6)):
        n = bins
        ref = sk_hog(
            img,
            n,
            ppc if isinstance(ppc, tuple) else (ppc, ppc),
            cpb if isinstance(cpb, tuple) else (cpb, cpb),
            norm,
        )
        out = hog(torch.from_numpy(img), n, ppc, cpb, norm)
        # scikit-image sums each cell in float32: agreement ~1e-7
        np.testing.assert_allclose(out.numpy(), ref, atol=1e-6, rtol=0)


def test_block_layout_and_transform_sqrt():
    img = _cam()
    ref = sk_hog(img, 9, (8, 8), (2, 2), transform_sqrt=True, feature_vector=False)
    out = hog(torch.from_numpy(img), 9, 8, 2, transform_sqrt=True, feature_vector=False)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-6)


def test_multichannel_equals_skimage():
    rng = np.random.default_rng(1)
    # a tiny jitter breaks exact ties between channels, which scikit-image settles by the
    # rounding of np.hypot (it differs between its SIMD and scalar paths)
    ast = skimage.data.astronaut()[100:300, 150:370] / 255.0 + 1e-9 * rng.random((200, 220, 3))
    for img in (rng.random((48, 56, 3)), ast):
        ref = sk_hog(img, 9, (8, 8), (3, 3), channel_axis=-1)
        out = hog(torch.from_numpy(img).permute(2, 0, 1), 9, (8, 8), (3, 3), multichannel=True)
        np.testing.assert_allclose(out.numpy(), ref, atol=1e-6)


@pytest.mark.parametrize("ppc", [(8, 8), (7, 9)])
def test_visualisation_equals_skimage(ppc):
    img = _cam()
    _, ref = sk_hog(img, 9, ppc, (3, 3), visualize=True)
    _, out = hog(torch.from_numpy(img), 9, ppc, (3, 3), visualize=True)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-6)


def test_float32_keeps_dtype():
    img = _cam().astype(np.float32)
    out = hog(torch.from_numpy(img))
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), sk_hog(img), atol=1e-6)


def test_batched_equals_per_item_and_empty_batch():
    x = torch.rand(3, 2, 40, 48, dtype=torch.float64)
    out = hog(x, 9, 8, 2)
    assert out.shape == (3, 2, 4 * 5 * 2 * 2 * 9)
    assert torch.allclose(out[1, 0], hog(x[1, 0], 9, 8, 2), atol=1e-12)
    assert hog(torch.zeros(0, 40, 48), 9, 8, 2).shape == (0, 720)


def test_non_contiguous_input():
    x = torch.rand(48, 40, dtype=torch.float64)
    assert torch.allclose(hog(x.t(), 9, 8, 2), hog(x.t().contiguous(), 9, 8, 2))


def test_properties_contrast_invariance_and_unit_blocks():
    x = torch.rand(32, 32, dtype=torch.float64)
    a, b = hog(x, 9, 8, 2, "L2"), hog(3.0 * x, 9, 8, 2, "L2")
    assert torch.allclose(a, b, atol=1e-6)  # block normalisation: invariant to contrast
    blocks = hog(x, 9, 8, 2, "L2", feature_vector=False)
    norms = blocks.square().sum((-3, -2, -1))
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-6)


def test_cell_histogram_of_a_ramp_is_one_bin():
    ramp = (torch.arange(16.0).repeat(16, 1) / 16).double()
    h = hog_cell_histograms(ramp, 9, 8)
    assert h[..., 1:].abs().max() == 0 and h[..., 0].min() > 0


def test_image_smaller_than_a_block_is_refused():
    with pytest.raises(ValueError, match=r"image.*block"):
        hog(torch.rand(20, 20), 9, 8, 3)
    with pytest.raises(ValueError, match=r"image.*cell"):
        hog(torch.rand(5, 20), 9, 8, 1)


def test_bad_options():
    with pytest.raises(ValueError, match="block_norm"):
        hog(torch.rand(32, 32), block_norm="L3")
    with pytest.raises(ValueError, match="orientations"):
        hog(torch.rand(32, 32), 0)
    with pytest.raises(TypeError, match="image"):
        hog(torch.ones(32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match="image"):
        hog(torch.full((32, 32), float("nan")))
    with pytest.raises(ValueError, match="transform_sqrt"):
        hog(-torch.rand(32, 32), transform_sqrt=True)
