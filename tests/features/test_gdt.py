import pytest
import torch
from scipy import ndimage

from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError
from pixlearn.data import sample
from pixlearn.features.gdt import distance_transform_generalized as gdt


def _brute(f, w):
    """min over every q of f(q) + a dx + b dx^2 + c dy + d dy^2, by broadcasting."""
    a, b, c, d = w
    h, w_ = f.shape[-2:]
    ys = torch.arange(h, dtype=f.dtype)
    xs = torch.arange(w_, dtype=f.dtype)
    dy = ys[None, None, :, None] - ys[:, None, None, None]  # (py, 1, qy, 1)
    dx = xs[None, None, None, :] - xs[None, :, None, None]  # (1, px, 1, qx)
    tot = f[..., None, None, :, :] + a * dx + b * dx**2 + c * dy + d * dy**2
    return tot.flatten(-2).min(-1).values


def _at_argmin(f, disp, w):
    """f(q*) + cost(q* - p) read at the returned displacement."""
    a, b, c, d = w
    h, w_ = f.shape[-2:]
    dy, dx = disp[..., 0, :, :], disp[..., 1, :, :]
    qy = torch.arange(h)[:, None] + dy
    qx = torch.arange(w_)[None, :] + dx
    assert bool((qy >= 0).all() & (qy < h).all() & (qx >= 0).all() & (qx < w_).all())
    flat = f.reshape(-1, h * w_).gather(1, (qy * w_ + qx).reshape(-1, h * w_)).reshape(f.shape)
    return flat + a * dx + b * dx**2 + c * dy + d * dy**2


WEIGHTS = [(0, 1, 0, 1), (0.3, 0.5, -0.7, 2.0), (0.5, 0, 0.2, 1.0), (0, 0, 0, 0.1), (1, 0.05, 0, 0)]


@pytest.mark.parametrize("w", WEIGHTS)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_equals_brute_force_and_argmin_attains_it(w, dtype):
    g = torch.Generator().manual_seed(0)
    tol = 1e-6 if dtype == torch.float64 else 1e-4
    for shape in [(3, 7, 9), (1, 6), (6, 1), (2, 1, 1), (12, 13)]:
        f = (3 * torch.randn(*shape, generator=g, dtype=torch.float64)).to(dtype)
        d, disp = gdt(f, weights=w)
        assert d.shape == f.shape and d.dtype == dtype
        assert disp.shape == (*shape[:-2], 2, *shape[-2:]) and disp.dtype == torch.int64
        assert (d.double() - _brute(f.double(), w)).abs().max() < tol
        assert (_at_argmin(f.double(), disp, w) - d.double()).abs().max() < tol


def test_real_image_and_batched_weights():
    img = sample("camera")[0, ::16, ::16].double()  # 32x32 of a photo
    f = torch.stack([img, -img, 5 * img])  # (3, 32, 32)
    w = torch.tensor([[0, 0.01, 0, 0.02], [0.1, 0.05, -0.1, 0.05], [0, 1, 0, 1]])
    d, disp = gdt(f, weights=w)
    for i in range(3):
        ref = _brute(f[i], w[i].tolist())
        assert (d[i] - ref).abs().max() < 1e-6
        d1, disp1 = gdt(f[i], weights=w[i])
        assert torch.equal(d1, d[i]) and torch.equal(disp1, disp[i])
    assert torch.equal(gdt(f, weights=w, return_argmin=False), d)


def test_squared_euclidean_distance_transform():
    g = torch.Generator().manual_seed(0)
    mask = torch.rand(40, 50, generator=g, dtype=torch.float64) < 0.05
    f = torch.where(mask, 0.0, 1e10).double()
    d, _ = gdt(f)  # (a, b, c, d) = (0, 1, 0, 1)
    ref = ndimage.distance_transform_edt(~mask.numpy()) ** 2
    assert (d - torch.from_numpy(ref)).abs().max() < 1e-6


def test_input_untouched_non_contiguous_and_empty():
    f = torch.randn(9, 7, dtype=torch.float64)
    before = f.clone()
    d, disp = gdt(f.t(), weights=(0.2, 0.3, 0.1, 0.4))
    assert torch.equal(f, before)
    d2, disp2 = gdt(f.t().contiguous(), weights=(0.2, 0.3, 0.1, 0.4))
    assert torch.equal(d, d2) and torch.equal(disp, disp2)
    e, de = gdt(torch.zeros(0, 4, 5))
    assert e.shape == (0, 4, 5) and de.shape == (0, 2, 4, 5)
    e, de = gdt(torch.zeros(3, 0))
    assert e.shape == (3, 0) and de.shape == (2, 3, 0)


def test_errors():
    with pytest.raises(WrongTypeError, match="f"):
        gdt(torch.zeros(3, 3, dtype=torch.int64))
    with pytest.raises(ValueRangeError, match="f"):
        gdt(torch.zeros(3, 3, dtype=torch.float16))
    with pytest.raises(ValueRangeError, match="f"):
        gdt(torch.tensor([[0.0, float("inf")]]))
    with pytest.raises(ShapeError, match="f"):
        gdt(torch.zeros(3))
    with pytest.raises(ShapeError, match="weights"):
        gdt(torch.zeros(3, 3), weights=(1.0, 1.0))
    with pytest.raises(ValueRangeError, match="weights"):
        gdt(torch.zeros(3, 3), weights=(0.0, -1.0, 0.0, 1.0))
    with pytest.raises(ShapeError, match="weights"):
        gdt(torch.zeros(2, 3, 3), weights=torch.ones(3, 4))
