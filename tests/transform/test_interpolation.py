import math

import numpy as np
import pytest
import torch

from pixlearn.transform import (
    BORDERS,
    INTERPOLATIONS,
    KERNEL_SUPPORT,
    cubic,
    kernel,
    lanczos3,
    linear,
    nearest,
    sample,
)

KERNELS = {"nearest": nearest, "linear": linear, "cubic": cubic, "lanczos3": lanczos3}


def _keys(t, a=-0.5):
    s = abs(t)
    if s <= 1:
        return (a + 2) * s**3 - (a + 3) * s**2 + 1
    if s < 2:
        return a * s**3 - 5 * a * s**2 + 8 * a * s - 4 * a
    return 0.0


def _lanczos(t):
    if t == 0:
        return 1.0
    if abs(t) >= 3:
        return 0.0
    return 3 * math.sin(math.pi * t) * math.sin(math.pi * t / 3) / (math.pi * t) ** 2


def _index(i, n, border):
    if 0 <= i < n:
        return i
    if border == "constant":
        return None
    if border == "replicate" or n == 1:
        return min(max(i, 0), n - 1)
    p = 2 * (n - 1)
    i %= p
    return i if i < n else p - i


def _normalised(k):
    def fn(t):
        frac = t - math.floor(t)
        return k(t) / sum(k(frac - n) for n in range(-3, 4))

    return fn


def _slow_sample(f, ys, xs, name, border, value):
    """g = sum_ij f~[i, j] k(y - i) k(x - j) by explicit loops over a wide window."""
    k = {"nearest": lambda t: float(-0.5 <= t < 0.5), "linear": lambda t: max(0.0, 1 - abs(t))}
    k |= {"cubic": _keys, "lanczos3": _lanczos}
    fn = k[name]
    if name == "lanczos3":  # the weights of each axis normalised to sum 1
        fn = _normalised(_lanczos)
    h, w = f.shape
    out = np.zeros(ys.shape)
    for p in np.ndindex(ys.shape):
        y, x = ys[p], xs[p]
        acc = 0.0
        for i in range(math.floor(y) - 4, math.floor(y) + 5):
            for j in range(math.floor(x) - 4, math.floor(x) + 5):
                wgt = fn(y - i) * fn(x - j)
                if wgt == 0:
                    continue
                ii, jj = _index(i, h, border), _index(j, w, border)
                acc += wgt * (value if ii is None or jj is None else f[ii, jj])
        out[p] = acc
    return out


# ---- kernels ---------------------------------------------------------------------------------


def test_kernels_equal_their_closed_forms():
    t = torch.linspace(-4, 4, 801, dtype=torch.float64)
    np.testing.assert_allclose(cubic(t).numpy(), [_keys(v) for v in t.tolist()], atol=1e-14)
    np.testing.assert_allclose(lanczos3(t).numpy(), [_lanczos(v) for v in t.tolist()], atol=1e-14)
    np.testing.assert_allclose(linear(t).numpy(), np.maximum(0, 1 - np.abs(t.numpy())), atol=0)
    assert cubic(torch.tensor([0.5]), a=-0.75).item() == pytest.approx(0.59375)


@pytest.mark.parametrize("name", INTERPOLATIONS)
def test_partition_of_unity_and_interpolating(name):
    fn = KERNELS[name]
    shifts = torch.linspace(0, 1, 101, dtype=torch.float64)[:-1]  # (S,)
    n = torch.arange(-5, 6, dtype=torch.float64)  # integers
    total = fn(shifts[:, None] - n[None, :]).sum(1)
    # Lanczos is only approximately a partition of unity
    tol = 1e-2 if name == "lanczos3" else 1e-14
    np.testing.assert_allclose(total.numpy(), 1.0, atol=tol)
    at_integers = fn(n)
    np.testing.assert_allclose(at_integers.numpy(), (n == 0).double().numpy(), atol=1e-15)
    assert fn(torch.tensor([KERNEL_SUPPORT[name] + 1e-9], dtype=torch.float64)).item() == 0


def test_kernel_lookup_and_unknown_name():
    assert kernel("cubic") is cubic
    with pytest.raises(ValueError, match="interpolation"):
        kernel("bicubic")


# ---- sampler ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", INTERPOLATIONS)
@pytest.mark.parametrize("border", BORDERS)
def test_sample_matches_slow_loop(name, border):
    g = torch.Generator().manual_seed(1)
    f = torch.rand(6, 7, dtype=torch.float64, generator=g)
    ys = torch.rand(5, 4, dtype=torch.float64, generator=g) * 10 - 2  # also outside
    xs = torch.rand(5, 4, dtype=torch.float64, generator=g) * 11 - 2
    out = sample(f, ys, xs, interpolation=name, border=border, value=0.25)
    ref = _slow_sample(f.numpy(), ys.numpy(), xs.numpy(), name, border, 0.25)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)


@pytest.mark.parametrize("name", ["nearest", "linear", "cubic"])
def test_sample_at_pixel_centres_is_exact(name):
    f = torch.rand(2, 9, 8)
    ys, xs = torch.meshgrid(torch.arange(9.0), torch.arange(8.0), indexing="ij")
    assert torch.equal(sample(f, ys, xs, interpolation=name), f)


def test_batched_shared_and_per_image_coordinates():
    f = torch.rand(3, 2, 10, 11, dtype=torch.float64)
    ys = torch.rand(3, 2, 4, 5, dtype=torch.float64) * 9
    xs = torch.rand(3, 2, 4, 5, dtype=torch.float64) * 10
    per_image = sample(f, ys, xs, interpolation="cubic")
    assert per_image.shape == (3, 2, 4, 5)
    for i in range(3):
        for c in range(2):
            ref = sample(f[i, c], ys[i, c], xs[i, c], interpolation="cubic")
            torch.testing.assert_close(per_image[i, c], ref, rtol=0, atol=1e-14)
    shared = sample(f, ys[0, 0], xs[0, 0])
    torch.testing.assert_close(shared[2, 1], sample(f[2, 1], ys[0, 0], xs[0, 0]))
    assert sample(f[:0], ys[0, 0], xs[0, 0]).shape == (0, 2, 4, 5)


def test_non_contiguous_input_and_dtype():
    f = torch.rand(12, 10).t()
    ys, xs = torch.rand(3, 3) * 9, torch.rand(3, 3) * 11
    out = sample(f, ys, xs)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, sample(f.contiguous(), ys, xs))


def test_gradcheck():
    f = torch.rand(5, 6, dtype=torch.float64, requires_grad=True)
    ys = torch.rand(3, 4, dtype=torch.float64) * 6 - 1
    xs = torch.rand(3, 4, dtype=torch.float64) * 7 - 1
    for name in INTERPOLATIONS:
        assert torch.autograd.gradcheck(lambda t, n=name: sample(t, ys, xs, interpolation=n), (f,))


def test_errors_name_the_argument():
    f, c = torch.rand(4, 4), torch.zeros(2, 2)
    with pytest.raises(ValueError, match="interpolation"):
        sample(f, c, c, interpolation="spline")
    with pytest.raises(ValueError, match="border"):
        sample(f, c, c, border="wrap")
    with pytest.raises(TypeError, match=r"image.*float"):
        sample(f.to(torch.uint8), c, c)
    with pytest.raises(TypeError, match="coords_y"):
        sample(f, c.long(), c)
    with pytest.raises(ValueError, match="coords_x"):
        sample(f, c, torch.zeros(2, 3))
    with pytest.raises(ValueError, match="coords_y"):
        sample(f, torch.zeros(5, 2, 2), torch.zeros(5, 2, 2))
    with pytest.raises(ValueError, match="image"):
        sample(torch.tensor([[float("nan")]]), c, c)
    with pytest.raises(ValueError, match="image"):
        sample(torch.zeros(0, 3), c, c)
    with pytest.raises(ValueError, match="value"):
        sample(f, c, c, value=float("inf"))
