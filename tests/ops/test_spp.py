import math

import numpy as np
import pytest
import torch

from pixlearn.ops import SpatialPyramidPool, spatial_pyramid_pool


def _slow_spp(x, levels, mode):
    """He et al. 2014: window ceil(a/n), stride floor(a/n), per level, channel-major."""
    f = x.double().numpy()
    n_b, c, h, w = f.shape
    out = []
    for n in levels:
        wh, ww, sh, sw = math.ceil(h / n), math.ceil(w / n), h // n, w // n
        lvl = np.zeros((n_b, c, n, n))
        for i in range(n):
            for j in range(n):
                win = f[:, :, i * sh : i * sh + wh, j * sw : j * sw + ww]
                lvl[:, :, i, j] = win.max((2, 3)) if mode == "max" else win.mean((2, 3))
        out.append(lvl.reshape(n_b, -1))
    return torch.from_numpy(np.concatenate(out, 1))


@pytest.mark.parametrize("size", [(4, 4), (13, 13), (7, 10), (16, 9)])
@pytest.mark.parametrize("mode", ["max", "avg"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_slow_loop(size, mode, dtype):
    gen = torch.Generator().manual_seed(size[0] * 31 + size[1])
    x = torch.randn(2, 3, *size, generator=gen, dtype=torch.float64).to(dtype)
    out = spatial_pyramid_pool(x, (1, 2, 4), mode=mode)
    assert out.shape == (2, 3 * 21) and out.dtype == dtype
    tol = 1e-6 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(out.double(), _slow_spp(x, (1, 2, 4), mode), rtol=0, atol=tol)


def test_level_one_is_global_pooling_and_size_is_independent_of_input():
    x = torch.rand(3, 5, 11, 17)
    assert torch.equal(spatial_pyramid_pool(x, (1,)), x.amax((2, 3)))
    torch.testing.assert_close(spatial_pyramid_pool(x, (1,), mode="avg"), x.mean((2, 3)))
    assert spatial_pyramid_pool(torch.rand(1, 5, 30, 21), (3, 1)).shape == (1, 5 * 10)


def test_leading_dims_unbatched_non_contiguous_and_module():
    x = torch.rand(2, 3, 4, 9, 9)
    out = spatial_pyramid_pool(x)
    assert out.shape == (2, 3, 4 * 21)
    assert torch.equal(out[1, 2], spatial_pyramid_pool(x[1, 2]))
    xt = x.transpose(-1, -2).contiguous().transpose(-1, -2)
    assert torch.equal(spatial_pyramid_pool(xt), out)
    assert torch.equal(SpatialPyramidPool((1, 2, 4))(x), out)
    assert torch.equal(
        SpatialPyramidPool((2,), mode="avg")(x), spatial_pyramid_pool(x, (2,), mode="avg")
    )


def test_gradcheck():
    x = torch.rand(1, 2, 7, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: spatial_pyramid_pool(t, (1, 3), mode="avg"), x)
    assert torch.autograd.gradcheck(lambda t: spatial_pyramid_pool(t, (1, 2)), x)


@pytest.mark.parametrize(
    ("x", "kwargs", "error", "match"),
    [
        (torch.rand(1, 2, 3, 3), {}, ValueError, "features.*at least 4x4"),
        (torch.rand(2, 3, 3).int(), {}, TypeError, "features"),
        (torch.rand(8, 8), {}, ValueError, "features"),
        (torch.rand(1, 1, 8, 8), {"levels": (1, 0)}, ValueError, "levels"),
        (torch.rand(1, 1, 8, 8), {"levels": ()}, ValueError, "levels"),
        (torch.rand(1, 1, 8, 8), {"mode": "sum"}, ValueError, "mode"),
        (torch.full((1, 1, 8, 8), float("nan")), {}, ValueError, "features"),
    ],
)
def test_bad_input(x, kwargs, error, match):
    with pytest.raises(error, match=match):
        spatial_pyramid_pool(x, **kwargs)
