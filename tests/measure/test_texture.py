import math

import numpy as np
import pytest
import skimage.data
import torch
from skimage.feature import graycomatrix as sk_glcm
from skimage.feature import graycoprops as sk_props

from pixlearn.measure import graycomatrix, graycoprops

DIST = [0, 1, 2, 5]
ANG = [0.0, math.pi / 6, math.pi / 4, math.pi / 2, 3 * math.pi / 4, math.pi, -math.pi / 3]
PROPS = ["contrast", "dissimilarity", "homogeneity", "energy", "correlation", "ASM"]
PROPS += ["mean", "variance", "std", "entropy"]


@pytest.mark.parametrize("symmetric", [False, True])
@pytest.mark.parametrize("normed", [False, True])
def test_counts_equal_skimage_on_camera(symmetric, normed):
    img = skimage.data.camera()[::4, ::4] // 32  # (128, 128), 8 levels
    ours = graycomatrix(
        torch.from_numpy(img), DIST, ANG, levels=8, symmetric=symmetric, normed=normed
    )
    ref = sk_glcm(img, DIST, ANG, levels=8, symmetric=symmetric, normed=normed)
    if normed:
        np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-12, atol=0)
    else:
        assert ours.dtype == torch.int64
        np.testing.assert_array_equal(ours.numpy(), ref)


@pytest.mark.parametrize("seed", range(3))
def test_props_equal_skimage_on_random_images(seed):
    rng = np.random.default_rng(seed)
    levels = int(rng.integers(2, 20))
    img = rng.integers(0, levels, size=rng.integers(3, 40, size=2)).astype(np.uint8)
    P = sk_glcm(img, DIST, ANG, levels=levels)
    np.testing.assert_array_equal(graycomatrix(torch.from_numpy(img), DIST, ANG, levels=levels), P)
    for prop in PROPS:
        ref = sk_props(P, prop)
        np.testing.assert_allclose(
            graycoprops(torch.from_numpy(P.astype(np.int64)), prop).numpy(),
            ref,
            rtol=1e-10,
            atol=1e-12,
        )


def test_constant_image_correlation_is_one_and_texture_is_flat():
    P = graycomatrix(torch.full((6, 6), 3), [1], [0.0], levels=4)
    assert graycoprops(P, "correlation").item() == 1.0
    assert graycoprops(P, "contrast").item() == 0.0 and graycoprops(P, "energy").item() == 1.0


def test_batched_equals_per_item_and_non_contiguous():
    x = torch.randint(0, 6, (2, 3, 17, 13))
    P = graycomatrix(x, [1, 3], [0.0, math.pi / 2], levels=6)
    assert P.shape == (2, 3, 6, 6, 2, 2)
    assert torch.equal(P[1, 2], graycomatrix(x[1, 2], [1, 3], [0.0, math.pi / 2], levels=6))
    c = graycoprops(P, "homogeneity")
    assert c.shape == (2, 3, 2, 2)
    torch.testing.assert_close(c[0, 1], graycoprops(P[0, 1], "homogeneity"))
    t = x[0, 0].t()
    assert torch.equal(
        graycomatrix(t, [1], [0.5], levels=6), graycomatrix(t.contiguous(), [1], [0.5], levels=6)
    )
    assert graycomatrix(torch.zeros(0, 5, 5, dtype=torch.int64), [1], [0.0], levels=2).shape == (
        0,
        2,
        2,
        1,
        1,
    )


def test_transpose_symmetry():
    # the pair at angle a + pi is the pair at a read backwards: P(a + pi) = P(a)^T
    x = torch.randint(0, 5, (20, 20))
    P = graycomatrix(x, [1, 2], [math.pi / 4, 5 * math.pi / 4], levels=5)
    assert torch.equal(P[..., 0], P[..., 1].transpose(0, 1))


def test_bad_inputs():
    img = torch.randint(0, 8, (5, 5))
    with pytest.raises(ValueError, match="levels"):
        graycomatrix(img, [1], [0.0], levels=4)
    with pytest.raises(ValueError, match="image must be >= 0"):
        graycomatrix(img - 3, [1], [0.0], levels=8)
    with pytest.raises(TypeError, match="image must be an integer"):
        graycomatrix(img.float(), [1], [0.0], levels=8)
    with pytest.raises(ValueError, match="distances"):
        graycomatrix(img, [-1], [0.0], levels=8)
    with pytest.raises(ValueError, match="angles"):
        graycomatrix(img, [1], [], levels=8)
    P = graycomatrix(img, [1], [0.0], levels=8)
    with pytest.raises(ValueError, match="prop"):
        graycoprops(P, "roughness")
    with pytest.raises(ValueError, match="P must be"):
        graycoprops(P[..., 0], "contrast")
