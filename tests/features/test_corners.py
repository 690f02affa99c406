import numpy as np
import pytest
import skimage
import torch
from skimage.feature import (
    corner_harris,
    corner_shi_tomasi,
    hessian_matrix,
    hessian_matrix_eigvals,
)

from pixlearn.features.corners import (
    harris_corners,
    harris_response,
    hessian_eigenvalues,
    hessian_ridges,
    shi_tomasi_corners,
    shi_tomasi_response,
)


def _images():
    rng = np.random.default_rng(0)
    return [rng.random((40, 50)), skimage.data.camera()[100:228, 100:260] / 255.0]


@pytest.mark.parametrize("sigma", [1.0, 2.0])
def test_responses_equal_skimage(sigma):
    for img in _images():
        t = torch.from_numpy(img)
        ref = corner_harris(img, sigma=sigma)
        assert np.abs(harris_response(t, sigma=sigma).numpy() - ref).max() < 1e-12
        ref = corner_harris(img, method="eps", sigma=sigma)
        out = harris_response(t, method="eps", sigma=sigma).numpy()
        assert np.abs(out - ref).max() < 1e-12
        ref = corner_shi_tomasi(img, sigma=sigma)
        assert np.abs(shi_tomasi_response(t, sigma=sigma).numpy() - ref).max() < 1e-12
        ref = hessian_matrix_eigvals(hessian_matrix(img, sigma, use_gaussian_derivatives=True))
        assert np.abs(hessian_eigenvalues(t, sigma).numpy() - ref).max() < 1e-12


def test_checkerboard_corners_within_one_pixel():
    # 4x4 squares of 16 px: the inner corners are at multiples of 16
    y, x = torch.meshgrid(torch.arange(64), torch.arange(64), indexing="ij")
    board = (((y // 16) + (x // 16)) % 2).double()
    truth = torch.tensor([[r, c] for r in (16, 32, 48) for c in (16, 32, 48)])
    for found in (
        harris_corners(board, min_distance=5, threshold_rel=0.1),
        shi_tomasi_corners(board, min_distance=5, threshold_rel=0.1),
    ):
        assert len(found) == 9
        d = (found[:, None, :] - truth[None] + 0.5).abs().amax(-1)  # corner between pixels
        assert bool((d.amin(1) <= 1.0).all())


def test_harris_is_negative_on_edges_and_rotation_invariant():
    img = torch.zeros(32, 32, dtype=torch.float64)
    img[:, 16:] = 1.0
    r = harris_response(img)
    assert r[16, 15] < 0 and r[16, 16] < 0  # an edge: one large eigenvalue
    x = torch.rand(30, 30, dtype=torch.float64)
    assert torch.allclose(harris_response(x.rot90(1, (0, 1))), harris_response(x).rot90(1, (0, 1)))


def test_hessian_ridges_peak_on_lines():
    img = torch.zeros(31, 31, dtype=torch.float64)
    img[:, 15] = 1.0
    bright = hessian_ridges(img, 1.5)
    assert bool((bright.argmax(-1) == 15).all())
    dark = hessian_ridges(1.0 - img, 1.5, black_ridges=True)
    assert torch.allclose(dark, bright, atol=1e-12)
    assert bool((bright >= 0).all())


def test_batched_equals_per_item_and_non_contiguous():
    x = torch.rand(3, 24, 28, dtype=torch.float64)
    assert torch.allclose(harris_response(x)[1], harris_response(x[1]))
    assert torch.allclose(hessian_ridges(x, 2.0)[2], hessian_ridges(x[2], 2.0))
    y = torch.rand(28, 24, dtype=torch.float64)
    assert torch.allclose(shi_tomasi_response(y.t()), shi_tomasi_response(y.t().contiguous()))


def test_bad_input():
    with pytest.raises(ValueError, match="sigma"):
        harris_response(torch.rand(8, 8), sigma=0.0)
    with pytest.raises(ValueError, match="k"):
        harris_response(torch.rand(8, 8), k=1.0)
    with pytest.raises(ValueError, match="method"):
        harris_response(torch.rand(8, 8), method="x")
    with pytest.raises(TypeError, match="image"):
        shi_tomasi_response(torch.ones(8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="image"):
        harris_corners(torch.rand(2, 8, 8))
    with pytest.raises(ValueError, match="image"):
        hessian_ridges(torch.full((8, 8), float("nan")), 1.0)
