import cv2
import numpy as np
import pytest
import skimage.transform as st
import torch

from pixlearn.data import sample
from pixlearn.transform import (
    affine_warp,
    estimate_homography,
    perspective_warp,
    rotate,
    swirl,
    translate,
)

H_TRUE = np.array([[1.05, 0.1, -20.0], [0.02, 0.95, 10.0], [1e-4, 2e-4, 1.0]])


@pytest.fixture(scope="module")
def camera():
    return sample("camera", dtype=torch.float64)[0]  # (512, 512)


def _bilinear(f, x, y):
    """Slow bilinear value of f at (x, y), 0 outside (index-level constant border)."""
    h, w = f.shape
    x0, y0 = int(np.floor(x)), int(np.floor(y))
    acc = 0.0
    for i, wy in ((y0, 1 - (y - y0)), (y0 + 1, y - y0)):
        for j, wx in ((x0, 1 - (x - x0)), (x0 + 1, x - x0)):
            if 0 <= i < h and 0 <= j < w:
                acc += wy * wx * f[i, j]
    return acc


def test_affine_matches_opencv_on_dyadic_coordinates(camera):
    # OpenCV quantises source coordinates to 1/32 pixel: an inverse map onto multiples of 1/4
    # makes its answer exact, so the comparison can be tight (measured 1e-13)
    inv = np.array([[1.25, 0.5, -3.5], [-0.25, 0.75, 2.0]])
    ref = cv2.warpAffine(
        camera.numpy(), inv, (512, 512), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    )
    out = affine_warp(camera, np.linalg.inv(np.vstack([inv, [0, 0, 1]])))
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-10)
    out32 = affine_warp(camera.float(), torch.linalg.inv(torch.tensor(np.vstack([inv, [0, 0, 1]]))))
    np.testing.assert_allclose(out32.numpy(), ref, atol=1e-4)  # measured 1.2e-7


def test_affine_generic_matrix_matches_slow_loop_and_opencv(camera):
    m = cv2.getRotationMatrix2D((200.3, 260.7), 23.0, 1.1)
    out = affine_warp(camera, m).numpy()
    ref = cv2.warpAffine(camera.numpy(), m, (512, 512), flags=cv2.INTER_LINEAR)
    diff = np.abs(out - ref)[5:-5, 5:-5]
    # OpenCV's 1/32-pixel coordinates: measured max 1.5e-2, mean 3.1e-4
    assert diff.max() < 3e-2 and diff.mean() < 1e-3
    inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))
    rng = np.random.default_rng(0)
    for y, x in rng.integers(0, 512, size=(40, 2)):
        sx, sy, _ = inv @ np.array([x, y, 1.0])
        assert out[y, x] == pytest.approx(_bilinear(camera.numpy(), sx, sy), abs=1e-12)


def test_identity_warps_are_exact():
    f = torch.rand(2, 9, 11)
    for name in ("nearest", "linear", "cubic"):
        assert torch.equal(affine_warp(f, torch.eye(3), interpolation=name), f)
        assert torch.equal(perspective_warp(f, 2 * torch.eye(3), interpolation=name), f)
        assert torch.equal(rotate(f, 0.0, interpolation=name), f)
        assert torch.equal(translate(f, (0, 0), interpolation=name), f)


@pytest.mark.parametrize(("angle", "resize"), [(30, False), (30, True), (-17.5, True), (90, False)])
def test_rotate_matches_skimage(camera, angle, resize):
    ref = st.rotate(camera.numpy(), angle, resize=resize, order=1)
    out = rotate(camera, angle, resize=resize).numpy()
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, atol=1e-10)  # measured 6e-14, borders included
    centre = (100.5, 300.25)
    ref = st.rotate(camera.numpy(), angle, center=centre, order=3, mode="edge")
    out = rotate(camera, angle, center=centre, interpolation="cubic", border="replicate")
    # skimage's order 3 is a cubic spline, not Keys: close but not equal
    assert np.abs(out.numpy() - ref)[4:-4, 4:-4].mean() < 1e-2


def test_rotate_by_90_is_rot90():
    f = torch.rand(3, 10, 10, dtype=torch.float64)
    torch.testing.assert_close(rotate(f, 90), torch.rot90(f, 1, (-2, -1)), atol=1e-12, rtol=0)
    torch.testing.assert_close(rotate(f, -90), torch.rot90(f, -1, (-2, -1)), atol=1e-12, rtol=0)
    g = torch.rand(6, 10, dtype=torch.float64)  # non-square: resize gives the rot90 shape
    torch.testing.assert_close(rotate(g, 90, resize=True), torch.rot90(g), atol=1e-12, rtol=0)


def test_translate_by_integers_shifts_exactly():
    f = torch.rand(2, 7, 9)
    out = translate(f, (2, -3))
    assert torch.equal(out[..., 2:, :6], f[..., :-2, 3:])
    assert torch.all(out[..., :2, :] == 0) and torch.all(out[..., :, 6:] == 0)
    out = translate(f, (1, 1), border="replicate", interpolation="cubic")
    assert torch.equal(out[..., 1:, 1:], f[..., :-1, :-1])
    assert torch.equal(out[..., 0, 1:], f[..., 0, :-1])
    half = translate(f.double(), (0, 0.5))
    torch.testing.assert_close(half[..., 1:], (f[..., 1:] + f[..., :-1]).double() / 2)


def test_perspective_matches_slow_loop_and_opencv(camera):
    out = perspective_warp(camera, H_TRUE).numpy()
    ref = cv2.warpPerspective(camera.numpy(), H_TRUE, (512, 512), flags=cv2.INTER_LINEAR)
    diff = np.abs(out - ref)[5:-5, 5:-5]
    assert diff.max() < 3e-2 and diff.mean() < 1e-3  # 1/32-pixel: measured 1.3e-2, 2.5e-4
    inv = np.linalg.inv(H_TRUE)
    rng = np.random.default_rng(1)
    for y, x in rng.integers(0, 512, size=(40, 2)):
        u, v, w = inv @ np.array([x, y, 1.0])
        assert out[y, x] == pytest.approx(_bilinear(camera.numpy(), u / w, v / w), abs=1e-12)


def test_perspective_behind_the_camera_is_outside():
    f = torch.ones(8, 8)
    # the preimage has w = 1 - x / 2 <= 0 for x >= 2
    h = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.0, 1.0]])
    out = perspective_warp(f, h, value=0.5)
    assert torch.all(torch.isfinite(out)) and torch.all(out[:, 3:] == 0.5)


@pytest.mark.parametrize(
    ("mode", "border"), [("reflect", "reflect"), ("constant", "constant"), ("edge", "replicate")]
)
def test_swirl_matches_skimage(camera, mode, border):
    kw = {"strength": 3.0, "radius": 200.0, "rotation": 0.3}
    ref = st.swirl(camera.numpy(), order=1, mode=mode, **kw)
    out = swirl(camera, border=border, **kw)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-10)  # measured 1.3e-13
    ref = st.swirl(camera.numpy(), center=(100, 350), strength=-2, radius=80, order=1)
    out = swirl(camera, center=(100, 350), strength=-2, radius=80)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-10)


def test_estimate_homography_exact_and_noisy():
    g = torch.Generator().manual_seed(0)
    src = torch.rand(20, 2, generator=g, dtype=torch.float64) * 500
    q = torch.cat([src, torch.ones(20, 1, dtype=torch.float64)], 1) @ torch.tensor(H_TRUE).T
    dst = q[:, :2] / q[:, 2:]
    np.testing.assert_allclose(estimate_homography(src, dst).numpy(), H_TRUE, atol=1e-9)
    np.testing.assert_allclose(estimate_homography(src[:4], dst[:4]).numpy(), H_TRUE, atol=1e-9)
    noisy = dst + 0.5 * torch.randn(20, 2, generator=g, dtype=torch.float64)
    ref, _ = cv2.findHomography(src.numpy(), noisy.numpy(), 0)
    est = estimate_homography(src, noisy).numpy()
    # both minimise the reprojection error: measured 5.4e-7 relative to the largest entry
    assert np.abs(est - ref).max() / np.abs(ref).max() < 2e-6
    # the plain DLT minimises an algebraic error instead: clearly different
    plain = estimate_homography(src, noisy, refine=False).numpy()
    assert np.abs(plain - ref).max() / np.abs(ref).max() > 1e-5
    assert estimate_homography(src.float(), dst.float()).dtype == torch.float32


def test_homography_round_trip_through_perspective_warp():
    y, x = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    f = (torch.sin(x / 4) * torch.cos(y / 5)).double()  # smooth: interpolation is accurate
    h = estimate_homography(
        torch.tensor([[0.0, 0.0], [31, 0], [31, 31], [0, 31]], dtype=torch.float64),
        torch.tensor([[1.0, 2.0], [30, 0], [31, 29], [2, 31]], dtype=torch.float64),
    )
    back = perspective_warp(
        perspective_warp(f, h, interpolation="cubic"), torch.linalg.inv(h), interpolation="cubic"
    )
    assert (back - f)[8:-8, 8:-8].abs().max() < 1e-2


def test_batched_layout_and_dtype():
    x = torch.rand(2, 3, 16, 20)
    out = rotate(x, 30)
    assert out.shape == x.shape and out.dtype == torch.float32
    torch.testing.assert_close(out[1, 2], rotate(x[1, 2], 30))
    assert swirl(x[:0]).shape == (0, 3, 16, 20)
    xt = torch.rand(20, 16).t()
    torch.testing.assert_close(
        affine_warp(xt, [[1, 0.2, 1], [0, 1, 0]]),
        affine_warp(xt.contiguous(), [[1, 0.2, 1], [0, 1, 0]]),
    )
    assert affine_warp(x, np.eye(3), output_shape=(5, 7)).shape == (2, 3, 5, 7)


def test_gradcheck():
    x = torch.rand(1, 6, 7, dtype=torch.float64, requires_grad=True)
    for fn in (
        lambda t: affine_warp(t, [[0.9, 0.2, 0.3], [-0.1, 1.1, 0.2]], interpolation="cubic"),
        lambda t: rotate(t, 25, border="reflect"),
        lambda t: translate(t, (0.3, -1.2)),
        lambda t: perspective_warp(t, H_TRUE / 10 + np.eye(3), interpolation="lanczos3"),
        lambda t: swirl(t, strength=2, radius=5),
    ):
        assert torch.autograd.gradcheck(fn, (x,))


def test_errors_name_the_argument():
    f = torch.rand(8, 8)
    with pytest.raises(ValueError, match=r"homography.*invertible"):
        perspective_warp(f, torch.zeros(3, 3))
    with pytest.raises(ValueError, match=r"matrix.*invertible"):
        affine_warp(f, [[1, 2, 0], [2, 4, 0]])
    with pytest.raises(ValueError, match="matrix"):
        affine_warp(f, torch.ones(3, 3))  # not affine
    with pytest.raises(ValueError, match="matrix"):
        affine_warp(f, torch.eye(2))
    with pytest.raises(ValueError, match="matrix"):
        affine_warp(f, [[1, 0, float("nan")], [0, 1, 0]])
    with pytest.raises(ValueError, match="interpolation"):
        rotate(f, 10, interpolation="bicubic")
    with pytest.raises(ValueError, match="border"):
        rotate(f, 10, border="wrap")
    with pytest.raises(ValueError, match="angle"):
        rotate(f, float("inf"))
    with pytest.raises(ValueError, match="output_shape"):
        affine_warp(f, torch.eye(3), output_shape=(0, 4))
    with pytest.raises(ValueError, match="radius"):
        swirl(f, radius=0)
    with pytest.raises(ValueError, match="shift"):
        translate(f, (1,))
    with pytest.raises(TypeError, match=r"image.*float"):
        rotate(f.to(torch.uint8), 10)
    with pytest.raises(ValueError, match="image"):
        swirl(torch.full((4, 4), float("nan")))
    with pytest.raises(ValueError, match="image"):
        translate(torch.zeros(3, 0), (1, 1))


def test_homography_errors():
    sq = torch.tensor([[0.0, 0], [1, 0], [1, 1], [0, 1]])
    line = torch.tensor([[0.0, 0], [1, 1], [2, 2], [3, 3]])
    with pytest.raises(ValueError, match=r"src.*degenerate"):
        estimate_homography(line, sq)
    with pytest.raises(ValueError, match=r"dst.*degenerate"):
        estimate_homography(sq, line)
    three = torch.tensor([[0.0, 0], [1, 0], [2, 0], [0, 1]])  # three on one line
    with pytest.raises(ValueError, match="degenerate"):
        estimate_homography(three, sq)
    with pytest.raises(ValueError, match="src"):
        estimate_homography(sq[:3], sq[:3])
    with pytest.raises(ValueError, match="dst"):
        estimate_homography(sq, torch.rand(5, 2))
    with pytest.raises(TypeError, match="src"):
        estimate_homography(sq.long(), sq)
    with pytest.raises(ValueError, match="dst"):
        estimate_homography(sq, torch.full((4, 2), float("nan")))


@pytest.mark.parametrize(
    ("border", "value"),
    [("constant", 0.0), ("constant", 0.3), ("replicate", 0.0), ("reflect", 0.0)],
)
def test_rotate_linear_fast_path_equals_generic_sampler(border, value):
    # rotate's bilinear path (grid_sample, coordinates in the image's dtype) against
    # affine_warp's generic sampler (float64 coordinates) with the same map
    g = torch.Generator().manual_seed(11)
    x = torch.rand(2, 37, 50, generator=g, dtype=torch.float64)
    m = cv2.getRotationMatrix2D((49 / 2, 36 / 2), 23.0, 1.0)
    for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 5e-4)):  # measured 2e-14, 4e-6
        xd = x.to(dtype)
        ours = rotate(xd, 23.0, border=border, value=value)
        ref = affine_warp(xd.double(), m, border=border, value=value)
        assert ours.dtype == dtype
        torch.testing.assert_close(ours.double(), ref, atol=tol, rtol=0)
    # where grid_sample does not apply: float16, a one-pixel side
    half = rotate(x.half(), 23.0, border=border, value=value)
    torch.testing.assert_close(
        half.double(), affine_warp(x, m, border=border, value=value), atol=2e-2, rtol=0
    )
    row = x[:, :1]
    m_row = cv2.getRotationMatrix2D((49 / 2, 0.0), 23.0, 1.0)
    torch.testing.assert_close(
        rotate(row, 23.0, border=border, value=value),
        affine_warp(row, m_row, border=border, value=value),
        atol=1e-12,
        rtol=0,
    )
