import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.data
import torch

from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError
from pixlearn.metrics import psnr
from pixlearn.restoration import guided_filter
from pixlearn.restoration.dehaze import guided_filter as guided_filter_from_dehaze


def _slow_guided(guide, src, r, eps):
    """He et al.'s Algorithm 1, one window at a time (float64 NumPy)."""
    h, w = guide.shape
    a = np.zeros((h, w))
    b = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            win = (slice(max(y - r, 0), y + r + 1), slice(max(x - r, 0), x + r + 1))
            i, p = guide[win], src[win]
            mu, pm = i.mean(), p.mean()
            a[y, x] = ((i * p).mean() - mu * pm) / (i.var() + eps)
            b[y, x] = pm - a[y, x] * mu
    q = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            win = (slice(max(y - r, 0), y + r + 1), slice(max(x - r, 0), x + r + 1))
            q[y, x] = a[win].mean() * guide[y, x] + b[win].mean()
    return q


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("r", "eps"), [(0, 0.1), (1, 1e-3), (3, 0.02), (30, 1e-2)])
def test_guided_filter_equals_slow_loop(seed, r, eps):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(1, 14, size=2)
    guide, src = rng.random((h, w)), rng.random((h, w))
    out = guided_filter(torch.from_numpy(guide), torch.from_numpy(src), r, eps)
    np.testing.assert_allclose(out.numpy(), _slow_guided(guide, src, r, eps), atol=1e-10)
    out32 = guided_filter(torch.from_numpy(guide).float(), torch.from_numpy(src).float(), r, eps)
    assert out32.dtype == torch.float32
    np.testing.assert_allclose(out32.numpy(), _slow_guided(guide, src, r, eps), atol=1e-5)


def test_guided_filter_on_a_real_image_and_its_properties():
    cam = torch.from_numpy(skimage.data.camera()[::8, ::8] / 255.0)  # (64, 64)
    g = torch.Generator().manual_seed(0)
    noisy = cam + 0.05 * torch.randn(cam.shape, generator=g, dtype=cam.dtype)
    out = guided_filter(cam, noisy, 2, 0.01)
    ref = _slow_guided(cam.numpy(), noisy.numpy(), 2, 0.01)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-10)
    assert float(psnr(out, cam)) > float(psnr(noisy, cam)) + 3  # it denoises
    # linear in src for a fixed guide
    other = torch.rand(cam.shape, generator=g, dtype=cam.dtype)
    lhs = guided_filter(cam, 2 * noisy - 3 * other, 2, 0.01)
    rhs = 2 * out - 3 * guided_filter(cam, other, 2, 0.01)
    torch.testing.assert_close(lhs, rhs, atol=1e-12, rtol=0)
    # a constant stays constant; a huge eps gives the box mean of the box mean (a = 0)
    const = torch.full_like(cam, 0.3)
    torch.testing.assert_close(guided_filter(cam, const, 3, 1e-3), const, atol=1e-12, rtol=0)
    box = ndi.uniform_filter(ndi.uniform_filter(noisy.numpy(), 5, mode="constant"), 5,
                             mode="constant")  # fmt: skip
    far = guided_filter(cam, noisy, 2, 1e12)[2:-2, 2:-2].numpy()  # windows inside the image
    np.testing.assert_allclose(far[2:-2, 2:-2], box[4:-4, 4:-4], atol=1e-9)
    # with the image as its own guide and a small eps, its edges survive
    assert float((guided_filter(cam, cam, 2, 1e-6) - cam).abs().max()) < 1e-2


def test_guided_filter_batched_noncontiguous_and_gradients():
    g = torch.Generator().manual_seed(2)
    guide = torch.rand(2, 3, 9, 10, generator=g, dtype=torch.float64)
    src = torch.rand(3, 9, 10, generator=g, dtype=torch.float64)  # broadcast over the batch
    out = guided_filter(guide, src, 2, 0.05)
    assert out.shape == (2, 3, 9, 10)
    torch.testing.assert_close(out[1, 2], guided_filter(guide[1, 2], src[2], 2, 0.05))
    t_out = guided_filter(guide.transpose(-1, -2), src.transpose(-1, -2), 2, 0.05)
    torch.testing.assert_close(t_out, out.transpose(-1, -2), atol=1e-12, rtol=0)
    assert guided_filter(torch.zeros(0, 4, 4), torch.zeros(4, 4), 1, 0.1).shape == (0, 4, 4)
    a = torch.rand(5, 6, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.rand(5, 6, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, y: guided_filter(x, y, 1, 0.1), (a, b))


def _slow_colour(guide, src, r, eps):
    """Colour-guide filter, one window at a time: a ridge regression p ~ a^T I + b per window.

    Written from the least-squares problem itself (normal equations of [I, 1] with the penalty
    eps |a|^2, solved by np.linalg.solve), not from the covariance formula under test.
    """
    _, h, w = guide.shape
    coef = np.zeros((h, w, 4))  # (a_r, a_g, a_b, b) of the window centred at each pixel
    for y in range(h):
        for x in range(w):
            win = (slice(max(y - r, 0), y + r + 1), slice(max(x - r, 0), x + r + 1))
            design = np.concatenate([guide[:, win[0], win[1]].reshape(3, -1).T,
                                     np.ones((src[win].size, 1))], axis=1)  # fmt: skip
            n = len(design)
            # min_theta (1/n) |X theta - p|^2 + eps |a|^2
            penalty = np.diag([eps, eps, eps, 0.0]) * n
            coef[y, x] = np.linalg.solve(design.T @ design + penalty, design.T @ src[win].ravel())
    q = np.zeros((h, w))
    for y in range(h):
        for x in range(w):
            win = (slice(max(y - r, 0), y + r + 1), slice(max(x - r, 0), x + r + 1))
            mean = coef[win].reshape(-1, 4).mean(0)
            q[y, x] = mean[:3] @ guide[:, y, x] + mean[3]
    return q


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(("r", "eps"), [(0, 0.1), (1, 1e-3), (2, 0.02), (20, 1e-2)])
def test_colour_guide_equals_slow_ridge_regression(seed, r, eps):
    rng = np.random.default_rng(10 + seed)
    h, w = rng.integers(1, 12, size=2)
    guide, src = rng.random((3, h, w)), rng.random((h, w))
    ref = _slow_colour(guide, src, r, eps)
    out = guided_filter(torch.from_numpy(guide), torch.from_numpy(src), r, eps, color_guide=True)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)  # measured 3.6e-15 (float32: 5e-8)
    g32, s32 = torch.from_numpy(guide).float(), torch.from_numpy(src).float()
    out32 = guided_filter(g32, s32, r, eps, color_guide=True)
    assert out32.dtype == torch.float32
    np.testing.assert_allclose(out32.numpy(), ref, atol=1e-5)


def test_colour_guide_on_a_real_photo():
    rgb = torch.from_numpy(skimage.data.astronaut()[::16, ::16] / 255.0).permute(2, 0, 1)
    grey = rgb.mean(0)  # (32, 32)
    g = torch.Generator().manual_seed(0)
    noisy = grey + 0.05 * torch.randn(grey.shape, generator=g, dtype=grey.dtype)
    out = guided_filter(rgb, noisy, 2, 0.01, color_guide=True)
    ref = _slow_colour(rgb.numpy(), noisy.numpy(), 2, 0.01)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-10)
    assert float(psnr(out, grey)) > float(psnr(noisy, grey)) + 2  # it denoises


def test_colour_guide_properties():
    g = torch.Generator().manual_seed(4)
    guide = torch.rand(3, 20, 23, generator=g, dtype=torch.float64)
    src = torch.rand(20, 23, generator=g, dtype=torch.float64)
    # a constant guide has Sigma = 0 and cov = 0, so a = 0 and q is the box mean of the box
    # mean of src (windows cut at the border: the sums divided by the pixel counts)
    flat = torch.full_like(guide, 0.4)
    ones = np.ones(src.shape)

    def box(v):
        return ndi.uniform_filter(v, 7, mode="constant") / ndi.uniform_filter(
            ones, 7, mode="constant"
        )

    ref = box(box(src.numpy()))
    out = guided_filter(flat, src, 3, 1e-2, color_guide=True)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)
    # eps -> 0 on src = c^T I + d: the local linear model is exact, src comes back
    lin = 0.7 * guide[0] - 1.3 * guide[1] + 0.4 * guide[2] + 0.25
    for eps, tol in [(1e-4, 1e-2), (1e-7, 1e-5), (1e-10, 1e-8)]:
        err = float((guided_filter(guide, lin, 2, eps, color_guide=True) - lin).abs().max())
        assert err < tol  # measured 1.5e-3, 1.5e-6, 1.5e-9: linear in eps
    # three equal channels: (v 11^T + eps U)^-1 1 = 1 / (3 v + eps) (Sherman-Morrison), so the
    # colour filter is exactly the grey filter with eps / 3
    grey = guide[0]
    same = guided_filter(grey.expand(3, -1, -1), src, 2, 0.03, color_guide=True)
    torch.testing.assert_close(same, guided_filter(grey, src, 2, 0.01), atol=1e-12, rtol=0)
    # linear in src for a fixed guide
    other = torch.rand(src.shape, generator=g, dtype=src.dtype)
    lhs = guided_filter(guide, 2 * src - 3 * other, 2, 0.01, color_guide=True)
    rhs = 2 * guided_filter(guide, src, 2, 0.01, color_guide=True) - 3 * guided_filter(
        guide, other, 2, 0.01, color_guide=True
    )
    torch.testing.assert_close(lhs, rhs, atol=1e-12, rtol=0)


def test_colour_guide_keeps_an_edge_of_equal_brightness():
    # red | green halves with the same channel mean: the grey guide sees no edge, the colour
    # guide does, and the noisy step in src is restored sharp only by the colour guide
    g = torch.Generator().manual_seed(5)
    rgb = torch.zeros(3, 32, 32, dtype=torch.float64)
    rgb[0, :, :16], rgb[1, :, 16:] = 0.6, 0.6
    rgb = rgb + 0.02 * torch.rand(rgb.shape, generator=g, dtype=rgb.dtype)
    step = torch.zeros(32, 32, dtype=torch.float64)
    step[:, 16:] = 1.0
    noisy = step + 0.1 * torch.randn(step.shape, generator=g, dtype=step.dtype)
    colour = guided_filter(rgb, noisy, 4, 1e-3, color_guide=True)
    grey = guided_filter(rgb.mean(0), noisy, 4, 1e-3)
    band = slice(12, 20)  # the columns next to the edge
    err_colour = float((colour - step)[:, band].abs().mean())
    err_grey = float((grey - step)[:, band].abs().mean())
    assert err_colour < 0.03 and err_grey > 0.2  # measured 0.011 and 0.31 (noisy: 0.08)


def test_colour_guide_batched_broadcast_layouts_and_gradients():
    g = torch.Generator().manual_seed(6)
    guide = torch.rand(2, 3, 9, 10, generator=g, dtype=torch.float64)
    src = torch.rand(9, 10, generator=g, dtype=torch.float64)  # broadcast over the batch
    out = guided_filter(guide, src, 2, 0.05, color_guide=True)
    assert out.shape == (2, 9, 10)
    torch.testing.assert_close(out[1], guided_filter(guide[1], src, 2, 0.05, color_guide=True))
    # one colour guide for several sources
    many = torch.rand(4, 9, 10, generator=g, dtype=torch.float64)
    out4 = guided_filter(guide[0], many, 2, 0.05, color_guide=True)
    assert out4.shape == (4, 9, 10)
    torch.testing.assert_close(out4[3], guided_filter(guide[0], many[3], 2, 0.05, color_guide=True))
    # transposed views and channels-last memory give the same result
    t_out = guided_filter(guide.transpose(-1, -2), src.transpose(-1, -2), 2, 0.05, color_guide=True)
    torch.testing.assert_close(t_out, out.transpose(-1, -2), atol=1e-12, rtol=0)
    cl = guide.contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(guided_filter(cl, src, 2, 0.05, color_guide=True), out)
    empty = guided_filter(torch.zeros(0, 3, 4, 4), torch.zeros(4, 4), 1, 0.1, color_guide=True)
    assert empty.shape == (0, 4, 4)
    # the input is not modified; float32 in, float32 out
    before = guide.clone()
    guided_filter(guide.float(), src.float(), 2, 0.05, color_guide=True)
    assert torch.equal(guide, before)
    a = torch.rand(3, 5, 6, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.rand(5, 6, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, y: guided_filter(x, y, 1, 0.1, color_guide=True), (a, b)
    )


def test_guided_filter_errors_and_the_dehaze_import():
    img = torch.rand(3, 16, 16)
    assert guided_filter_from_dehaze is guided_filter  # the old import path still works
    with pytest.raises(ShapeError, match="src"):
        guided_filter(img[0], img[0, :8], 2, 0.1)
    with pytest.raises(ShapeError, match="src"):
        guided_filter(torch.rand(2, 8, 8), torch.rand(3, 8, 8), 2, 0.1)
    with pytest.raises(ShapeError, match="src"):
        guided_filter(torch.rand(2, 3, 8, 8), torch.rand(3, 8, 8), 2, 0.1, color_guide=True)
    with pytest.raises(ValueRangeError, match="radius"):
        guided_filter(img[0], img[1], -1, 0.1)
    with pytest.raises(ValueRangeError, match="eps"):
        guided_filter(img[0], img[1], 1, 0.0)
    with pytest.raises(WrongTypeError, match="guide"):
        guided_filter(img[0].to(torch.uint8), img[1], 1, 0.1)
    with pytest.raises(ValueRangeError, match="guide"):
        guided_filter(torch.full((3, 4, 4), float("nan")), img[0, :4, :4], 1, 0.1)
    with pytest.raises(ShapeError, match="guide must have 3 colour channels"):
        guided_filter(torch.rand(2, 16, 16), img[0], 1, 0.1, color_guide=True)
    with pytest.raises(ShapeError, match="guide"):
        guided_filter(img[0], img[1], 1, 0.1, color_guide=True)
