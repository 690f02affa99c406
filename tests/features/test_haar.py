import numpy as np
import pytest
import torch
from skimage.feature import haar_like_feature as sk_feature
from skimage.feature import haar_like_feature_coord as sk_coord
from skimage.transform import integral_image as sk_integral_image

from pixlearn.data import sample
from pixlearn.features import haar_like_feature, haar_like_feature_coords, integral_image

TYPES = ["type-2-x", "type-2-y", "type-3-x", "type-3-y", "type-4"]


def _to_boxes(sk):
    return np.array(
        [
            [[c0, r0, c1 + 1, r1 + 1] for (r0, c0), (r1, c1) in f] + [[0, 0, 0, 0]] * (4 - len(f))
            for f in sk
        ]
    )


@pytest.mark.parametrize("size", [(1, 1), (3, 2), (5, 4), (8, 7)])
def test_coords_equal_skimage_in_order(size):
    w, h = size
    coords, types = haar_like_feature_coords(w, h)
    ref, ref_types = sk_coord(w, h)
    assert coords.dtype == torch.int64 and coords.shape == (len(ref), 4, 4)
    np.testing.assert_array_equal(coords.numpy(), _to_boxes(ref).reshape(-1, 4, 4))
    assert types == list(ref_types)


@pytest.mark.parametrize("kind", TYPES)
def test_values_equal_skimage_integers_exact(kind):
    img = np.random.default_rng(0).integers(0, 256, (9, 8)).astype(np.uint8)
    ours = haar_like_feature(integral_image(torch.from_numpy(img)), 0, 0, 8, 9, kind)
    ref = sk_feature(sk_integral_image(img), 0, 0, 8, 9, kind)
    assert ours.dtype == torch.int64
    np.testing.assert_array_equal(ours.numpy(), ref)


def test_window_on_a_real_image_equals_skimage_on_the_crop():
    img = sample("astronaut").mean(0).double()
    r, c, w, h = 100, 200, 10, 9
    ours = haar_like_feature(integral_image(img), r, c, w, h)
    crop = img[r : r + h, c : c + w].numpy()
    ref = sk_feature(sk_integral_image(crop), 0, 0, w, h)
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-10, atol=1e-10)


def test_subset_of_coords_and_batching():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 12, 12, generator=g, dtype=torch.float64)
    ii = integral_image(x)
    coords, types = haar_like_feature_coords(6, 6)
    full = haar_like_feature(ii, 2, 3, 6, 6)
    sub = haar_like_feature(ii, 2, 3, 6, 6, types[::7], coords[::7])
    torch.testing.assert_close(sub, full[:, ::7], rtol=0, atol=1e-12)
    torch.testing.assert_close(full[1], haar_like_feature(ii[1], 2, 3, 6, 6))
    # slow-loop reference on one feature, any window offset
    f = 123
    s = [
        float(x[1, 2 + y1 : 2 + y2, 3 + x1 : 3 + x2].sum()) for x1, y1, x2, y2 in coords[f].tolist()
    ]
    assert full[1, f].item() == pytest.approx(-s[0] + s[1] - s[2] + s[3], abs=1e-12)


def test_errors_name_the_argument():
    ii = integral_image(torch.rand(6, 6))
    with pytest.raises(ValueError, match="window"):
        haar_like_feature(ii, 2, 0, 5, 5)
    with pytest.raises(ValueError, match="feature_type"):
        haar_like_feature_coords(4, 4, "type-5")
    with pytest.raises(ValueError, match="width"):
        haar_like_feature_coords(0, 4)
    coords, types = haar_like_feature_coords(4, 4)
    with pytest.raises(ValueError, match="feature_type"):
        haar_like_feature(ii, 0, 0, 4, 4, types[:3], coords)
    with pytest.raises(ValueError, match="feature_coord"):
        haar_like_feature(ii, 0, 0, 4, 4, None, coords[:, :2])
