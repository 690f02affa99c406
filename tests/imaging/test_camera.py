import cv2
import numpy as np
import pytest
import torch

from pixlearn.imaging import (
    distort_points,
    project_points,
    rotation_from_vector,
    undistort_points,
    vector_from_rotation,
)

D64 = torch.float64
K = torch.tensor([[800.0, 0, 320], [0, 780, 240], [0, 0, 1]], dtype=D64)
DIST = torch.tensor([-0.25, 0.08, 0.001, -0.002, 0.01], dtype=D64)
RVEC = torch.tensor([0.1, -0.3, 0.2], dtype=D64)
TVEC = torch.tensor([0.2, -0.1, 0.5], dtype=D64)


def _points(n=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g, dtype=D64)
    x[:, 2] += 6  # in front of the camera
    return x


def _ideal(points, rvec=RVEC, tvec=TVEC):
    xc = points @ rotation_from_vector(rvec).T + tvec
    return xc[:, :2] / xc[:, 2:]


@pytest.mark.parametrize("dist", [None, DIST, DIST[:4]])
def test_project_points_matches_opencv(dist):
    X = _points()
    ours = project_points(X, K, RVEC, TVEC, dist)
    cv_dist = None if dist is None else dist.numpy()
    ref, _ = cv2.projectPoints(X.numpy(), RVEC.numpy(), TVEC.numpy(), K.numpy(), cv_dist)
    assert np.abs(ours.numpy() - ref[:, 0]).max() < 1e-9


def test_rotation_matrix_and_vector_give_the_same_projection():
    X = _points()
    a = project_points(X, K, RVEC, TVEC, DIST)
    b = project_points(X, K, rotation_from_vector(RVEC), TVEC, DIST)
    assert torch.allclose(a, b, atol=1e-12, rtol=0)


@pytest.mark.parametrize("angle", [0.0, 1e-9, 1e-4, 0.5, 2.0, 3.0, np.pi - 1e-7, np.pi])
def test_rodrigues_matches_opencv_and_round_trips(angle):
    axis = torch.tensor([1.0, 2.0, -0.5], dtype=D64)
    r = axis / axis.norm() * angle
    R = rotation_from_vector(r)
    ref, _ = cv2.Rodrigues(r.numpy())
    assert np.abs(R.numpy() - ref).max() < 1e-12
    assert torch.allclose(R @ R.T, torch.eye(3, dtype=D64), atol=1e-12)
    assert torch.linalg.det(R).item() == pytest.approx(1.0, abs=1e-12)
    back = vector_from_rotation(R)
    # at an angle of pi, r and -r are the same rotation
    assert torch.allclose(rotation_from_vector(back), R, atol=1e-12)
    if angle < 3.0:
        assert torch.allclose(back, r, atol=1e-12)
        ref_back, _ = cv2.Rodrigues(R.numpy())
        assert np.abs(back.numpy() - ref_back[:, 0]).max() < 1e-9


def test_distort_points_closed_form_and_identity():
    p = torch.tensor([[0.3, -0.2], [0.0, 0.0]], dtype=D64)
    assert torch.equal(distort_points(p, torch.zeros(5, dtype=D64)), p)
    k1, k2, p1, p2, k3 = DIST.tolist()
    x, y = 0.3, -0.2
    r2 = x * x + y * y
    rad = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
    expected = [
        x * rad + 2 * p1 * x * y + p2 * (r2 + 2 * x * x),
        y * rad + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y,
    ]
    assert torch.allclose(distort_points(p, DIST)[0], torch.tensor(expected, dtype=D64), atol=1e-15)
    assert torch.equal(distort_points(p, DIST)[1], p[1])  # the centre does not move


def test_undistort_inverts_projection_and_matches_opencv():
    X = _points()
    uv = project_points(X, K, RVEC, TVEC, DIST)
    ours = undistort_points(uv, K, DIST)
    # round trip: the ideal normalised coordinates (measured max error ~2e-16)
    assert (ours - _ideal(X)).abs().max() < 1e-12
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 200, 1e-16)
    ref = cv2.undistortPoints(uv.numpy()[:, None], K.numpy(), DIST.numpy(), criteria=crit)
    assert np.abs(ours.numpy() - ref[:, 0]).max() < 1e-12
    # mapped back through K: the undistorted (pinhole) projection, and OpenCV with P = K
    pix = undistort_points(uv, K, DIST, new_K=K)
    assert (pix - project_points(X, K, RVEC, TVEC)).abs().max() < 1e-9
    ref = cv2.undistortPoints(
        uv.numpy()[:, None], K.numpy(), DIST.numpy(), P=K.numpy(), criteria=crit
    )
    assert np.abs(pix.numpy() - ref[:, 0]).max() < 1e-9


def test_undistort_zero_iterations_is_the_distorted_point():
    uv = project_points(_points(), K, RVEC, TVEC, DIST)
    x0 = undistort_points(uv, K, DIST, iterations=0)
    assert torch.allclose(x0, undistort_points(uv, K, torch.zeros(5, dtype=D64)), atol=1e-15)


def test_batched_equals_per_item_and_zero_size():
    g = torch.Generator().manual_seed(1)
    X = torch.stack([_points(20, s) for s in range(4)])  # (4, 20, 3)
    rv = torch.randn(4, 3, generator=g, dtype=D64) * 0.3  # (4, 3) Rodrigues vectors
    tv = torch.randn(4, 3, generator=g, dtype=D64) * 0.2
    out = project_points(X, K, rv, tv, DIST)
    assert out.shape == (4, 20, 2)
    # a (..., 3, 3) R is always a matrix: the same result through rotation matrices
    assert torch.allclose(project_points(X, K, rotation_from_vector(rv), tv, DIST), out, atol=1e-12)
    for b in range(4):
        assert torch.allclose(out[b], project_points(X[b], K, rv[b], tv[b], DIST), atol=1e-12)
        und = undistort_points(out, K, DIST)
        assert torch.allclose(und[b], undistort_points(out[b], K, DIST), atol=1e-15)
    assert project_points(X[:0], K, RVEC, TVEC, DIST).shape == (0, 20, 2)
    assert project_points(X[:, :0], K, RVEC, TVEC, DIST).shape == (4, 0, 2)
    assert undistort_points(out[:0], K, DIST).shape == (0, 20, 2)


def test_non_contiguous_and_float32():
    X = _points()
    Xt = X.t().contiguous().t()  # same values, transposed strides
    assert not Xt.is_contiguous()
    assert torch.equal(
        project_points(Xt, K, RVEC, TVEC, DIST), project_points(X, K, RVEC, TVEC, DIST)
    )
    out32 = project_points(X.float(), K.float(), RVEC.float(), TVEC.float(), DIST.float())
    assert out32.dtype == torch.float32
    assert torch.allclose(out32.double(), project_points(X, K, RVEC, TVEC, DIST), atol=1e-3)
    assert X.equal(_points())  # the input is not modified


def test_gradcheck_project_points():
    X = _points(5).requires_grad_()
    Kp = K.clone().requires_grad_()
    args = (
        X,
        Kp,
        RVEC.clone().requires_grad_(),
        TVEC.clone().requires_grad_(),
        DIST.clone().requires_grad_(),
    )
    assert torch.autograd.gradcheck(project_points, args)


def test_gradcheck_rotation_near_zero_and_undistort():
    r = torch.tensor([1e-5, -2e-5, 3e-6], dtype=D64, requires_grad=True)
    assert torch.autograd.gradcheck(rotation_from_vector, (r,))
    r = RVEC.clone().requires_grad_()
    assert torch.autograd.gradcheck(rotation_from_vector, (r,))
    uv = project_points(_points(4), K, RVEC, TVEC, DIST).requires_grad_()
    d = DIST.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: undistort_points(a, K, b), (uv, d))


@pytest.mark.parametrize(
    ("kwargs", "match", "exc"),
    [
        ({"points_3d": torch.zeros(4, 2, dtype=D64)}, "points_3d", ValueError),
        ({"points_3d": torch.zeros(4, 3, dtype=torch.int64)}, "points_3d", TypeError),
        ({"points_3d": torch.full((4, 3), float("nan"), dtype=D64)}, "points_3d", ValueError),
        ({"K": torch.eye(2, dtype=D64)}, "K", ValueError),
        ({"R": torch.zeros(4, dtype=D64)}, "R", ValueError),
        ({"t": torch.zeros(2, dtype=D64)}, "t", ValueError),
        ({"dist": torch.zeros(3, dtype=D64)}, "dist", ValueError),
        ({"points_3d": np.zeros((4, 3))}, "points_3d", TypeError),
    ],
)
def test_project_points_bad_input(kwargs, match, exc):
    args = {"points_3d": _points(4), "K": K, "R": RVEC, "t": TVEC, "dist": DIST} | kwargs
    with pytest.raises(exc, match=match):
        project_points(**args)


def test_other_bad_input():
    uv = torch.zeros(3, 2, dtype=D64)
    with pytest.raises(ValueError, match="iterations"):
        undistort_points(uv, K, DIST, iterations=-1)
    with pytest.raises(ValueError, match="points_pixels"):
        undistort_points(torch.zeros(3, 3, dtype=D64), K, DIST)
    with pytest.raises(ValueError, match="new_K"):
        undistort_points(uv, K, DIST, new_K=torch.eye(4, dtype=D64))
    with pytest.raises(ValueError, match="R"):
        vector_from_rotation(torch.eye(4, dtype=D64))
    with pytest.raises(ValueError, match="rvec"):
        rotation_from_vector(torch.zeros(2, dtype=D64))
    with pytest.raises(ValueError, match="points_normalized"):
        distort_points(torch.zeros(3), DIST)
