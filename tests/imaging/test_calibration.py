import cv2
import numpy as np
import pytest
import torch

from pixlearn.imaging import CalibrationResult, calibrate_camera, project_points

D64 = torch.float64
K_TRUE = torch.tensor([[520.0, 0, 322], [0, 515, 238], [0, 0, 1]], dtype=D64)
DIST_TRUE = torch.tensor([-0.28, 0.09, 0.0012, -0.0008, -0.01], dtype=D64)
SIZE = (640, 480)


def _board(cols=9, rows=6, square=0.025):
    jj, ii = torch.meshgrid(
        torch.arange(cols, dtype=D64), torch.arange(rows, dtype=D64), indexing="xy"
    )
    return (
        torch.stack([jj.reshape(-1), ii.reshape(-1), torch.zeros(cols * rows, dtype=D64)], 1)
        * square
    )


def _views(n_views=12, noise=0.1, seed=1):
    """Seeded random poses of a 9x6 board fully inside a 640x480 image, with pixel noise."""
    g = torch.Generator().manual_seed(seed)
    obj = _board()
    objs, imgs, poses = [], [], []
    while len(imgs) < n_views:
        r = (torch.rand(3, generator=g, dtype=D64) - 0.5) * torch.tensor([0.9, 0.9, 0.6], dtype=D64)
        t = torch.tensor([-0.1, -0.06, 0.25], dtype=D64)
        t = t + (torch.rand(3, generator=g, dtype=D64) - 0.5) * torch.tensor(
            [0.1, 0.08, 0.1], dtype=D64
        )
        p = project_points(obj, K_TRUE, r, t, DIST_TRUE)
        if p.min() > 0 and p[:, 0].max() < SIZE[0] and p[:, 1].max() < SIZE[1]:
            objs.append(obj)
            imgs.append(p + noise * torch.randn(p.shape, generator=g, dtype=D64))
            poses.append((r, t))
    return objs, imgs, poses


@pytest.fixture(scope="module")
def noisy():
    objs, imgs, _ = _views()
    # round to float32 once, so that OpenCV (float32 points only) and pixlearn see the same data
    objs = [o.float().double() for o in objs]
    imgs = [p.float().double() for p in imgs]
    return objs, imgs, calibrate_camera(objs, imgs, SIZE)


def test_noise_free_views_recover_the_camera_exactly():
    objs, imgs, poses = _views(n_views=5, noise=0.0)
    res = calibrate_camera(objs, imgs, SIZE)
    assert isinstance(res, CalibrationResult)
    assert torch.allclose(res.K, K_TRUE, rtol=1e-7, atol=1e-6)
    assert torch.allclose(res.dist, DIST_TRUE, atol=1e-7)
    for v, (r, t) in enumerate(poses):
        assert torch.allclose(res.rvecs[v], r, atol=1e-8)
        assert torch.allclose(res.tvecs[v], t, atol=1e-9)
    assert res.rms < 1e-7
    eye = torch.eye(3, dtype=D64).expand(5, 3, 3)
    assert torch.allclose(res.R @ res.R.transpose(1, 2), eye, atol=1e-12)


def test_noisy_views_recover_intrinsics_within_half_a_percent(noisy):
    _, imgs, res = noisy
    true = K_TRUE[[0, 1, 0, 1], [0, 1, 2, 2]]  # fx, fy, cx, cy
    got = res.K[[0, 1, 0, 1], [0, 1, 2, 2]]
    rel = ((got - true) / true).abs()
    assert rel.max() < 0.005  # measured: 0.016 %, 0.011 %, 0.17 %, 0.035 %
    # per-coordinate noise 0.1 px: E[rms^2] = 2 * 0.1^2 * (1 - n_params / n_residuals)
    n_res = 2 * sum(len(p) for p in imgs)
    expected = 0.1 * (2 * (1 - (9 + 6 * len(imgs)) / n_res)) ** 0.5
    assert res.rms == pytest.approx(expected, rel=0.1)  # measured 0.1378 vs 0.1369


def test_rms_no_worse_than_opencv(noisy):
    objs, imgs, res = noisy
    rms_cv, k_cv, d_cv, _, _ = cv2.calibrateCamera(
        [o.numpy().astype(np.float32) for o in objs],
        [p.numpy().astype(np.float32) for p in imgs],
        SIZE,
        None,
        None,
    )
    # measured: 0.13783476269111680 vs OpenCV 0.13783476269111591 (difference 9e-16 px)
    assert res.rms <= rms_cv + 1e-6
    # the same minimum: K within 1.2e-11 px, dist within 2.8e-12 (measured)
    assert np.abs(res.K.numpy() - k_cv).max() < 1e-4
    assert np.abs(res.dist.numpy() - d_cv[0]).max() < 1e-6


def test_per_view_errors_are_consistent_with_rms(noisy):
    objs, imgs, res = noisy
    n = torch.tensor([len(p) for p in imgs], dtype=D64)
    assert res.per_view_errors.shape == (len(imgs),)
    assert (res.per_view_errors**2 * n).sum() / n.sum() == pytest.approx(res.rms**2, rel=1e-12)
    # recompute one view's error from the returned parameters
    v = 3
    uv = project_points(objs[v], res.K, res.rvecs[v], res.tvecs[v], res.dist)
    err = (uv - imgs[v]).pow(2).sum(1).mean().sqrt()
    assert err.item() == pytest.approx(res.per_view_errors[v].item(), rel=1e-10)


def test_accepts_numpy_and_stacked_tensors():
    objs, imgs, _ = _views(n_views=4, noise=0.0)
    a = calibrate_camera([o.numpy() for o in objs], [p.numpy() for p in imgs], SIZE)
    b = calibrate_camera(torch.stack(objs), torch.stack(imgs), SIZE)
    assert torch.allclose(a.K, b.K) and torch.allclose(a.dist, b.dist)


def test_degenerate_views_are_refused():
    obj = _board()
    # every view fronto-parallel: the focal length is not observable
    imgs = [
        project_points(
            obj, K_TRUE, torch.zeros(3, dtype=D64), torch.tensor([-0.1, -0.06, z], dtype=D64)
        )
        for z in (0.2, 0.25, 0.3)
    ]
    with pytest.raises(ValueError, match="image_points"):
        calibrate_camera([obj] * 3, imgs, SIZE)


def test_bad_input():
    objs, imgs, _ = _views(n_views=3, noise=0.0)
    with pytest.raises(ValueError, match="at least 3 views"):
        calibrate_camera(objs[:2], imgs[:2], SIZE)
    with pytest.raises(ValueError, match="image_points"):
        calibrate_camera(objs, imgs[:2], SIZE)
    with pytest.raises(ValueError, match=r"image_points\[1\] has 53"):
        calibrate_camera(objs, [imgs[0], imgs[1][:-1], imgs[2]], SIZE)
    nan = imgs[2].clone()
    nan[0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"image_points\[2\]"):
        calibrate_camera(objs, [imgs[0], imgs[1], nan], SIZE)
    with pytest.raises(ValueError, match=r"object_points\[0\]"):
        calibrate_camera([o[:, :2] for o in objs], imgs, SIZE)
    lifted = objs[1].clone()
    lifted[:, 2] = 0.01
    with pytest.raises(ValueError, match=r"object_points\[1\].*z = 0"):
        calibrate_camera([objs[0], lifted, objs[2]], imgs, SIZE)
    with pytest.raises(ValueError, match="image_size"):
        calibrate_camera(objs, imgs, (0, 480))
    with pytest.raises(TypeError, match="object_points"):
        calibrate_camera("board", imgs, SIZE)
    with pytest.raises(ValueError, match=r"object_points\[0\].*at least 4"):
        calibrate_camera([o[:3] for o in objs], [p[:3] for p in imgs], SIZE)
