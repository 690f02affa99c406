import cv2
import numpy as np
import pytest
import torch
from skimage import data

from pixlearn.imaging import find_checkerboard_corners, project_points, render_checkerboard

D64 = torch.float64
PATTERN = (7, 5)  # inner corners (cols, rows)
K = torch.tensor([[300.0, 0, 160], [0, 300, 120], [0, 0, 1]], dtype=D64)
DIST = torch.tensor([-0.2, 0.05, 0.001, -0.001, 0.0], dtype=D64)
POSES = [  # (Rodrigues vector, translation in squares): tilted boards, strong perspective
    ([0.3, -0.25, 0.1], [-3.0, -2.0, 10.0]),
    ([0.0, 0.0, 0.0], [-3.0, -2.0, 9.0]),
    ([0.5, 0.4, 0.3], [-2.5, -2.5, 10.0]),
    ([0.1, -0.5, -0.35], [-3.0, -1.5, 10.0]),
    ([-0.45, 0.2, 0.05], [-3.2, -2.2, 11.0]),
]


def _render(r, t, **kw):
    return render_checkerboard(
        PATTERN, K, torch.tensor(r, dtype=D64), torch.tensor(t, dtype=D64), DIST, **kw
    )


@pytest.fixture(scope="module")
def views():
    """320x240 renders with distortion, mild blur (0.7 px) and noise (1 % of full scale)."""
    g = torch.Generator().manual_seed(0)
    return [
        _render(r, t, supersample=6, blur_sigma=0.7, noise_std=0.01, generator=g) for r, t in POSES
    ]


def test_corners_within_a_tenth_of_a_pixel(views):
    errors = []
    for img, truth in views:
        found = find_checkerboard_corners(img, PATTERN)
        assert found is not None and found.shape == (35, 2) and found.dtype == D64
        # same order as the truth: row by row, x increasing along a row, rows downwards
        errors.append((found - truth).norm(dim=1))
    e = torch.cat(errors)
    print(f"pixlearn corner error: max {e.max():.4f} px, mean {e.mean():.4f} px")
    assert e.max() < 0.1
    assert e.mean() < 0.05


def test_compare_with_opencv(views):
    """Report OpenCV's findChessboardCorners + cornerSubPix on the same images (not asserted)."""
    ours, theirs = [], []
    for img, truth in views:
        ours.append((find_checkerboard_corners(img, PATTERN) - truth).norm(dim=1))
        u8 = (img.clamp(0, 1) * 255).round().numpy().astype(np.uint8)
        ok, c = cv2.findChessboardCorners(u8, PATTERN)
        if ok:
            crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_COUNT, 100, 1e-4)
            c = cv2.cornerSubPix(u8, c, (5, 5), (-1, -1), crit).reshape(-1, 2)
            d = np.linalg.norm(c[:, None] - truth.numpy()[None], axis=2).min(1)  # order-free
            theirs.append(d)
    ours = torch.cat(ours)
    msg = f"pixlearn max {ours.max():.4f} mean {ours.mean():.4f}"
    if theirs:
        t = np.concatenate(theirs)
        msg += f"; OpenCV ({len(theirs)}/{len(views)} found) max {t.max():.4f} mean {t.mean():.4f}"
    print(msg)
    assert ours.max() < 0.1


def test_real_checkerboard_image():
    # scikit-image's board: 8x8 squares of 25 px, inner corners between pixels 25k - 1 and 25k
    img = torch.from_numpy(data.checkerboard()).to(D64) / 255
    found = find_checkerboard_corners(img, (7, 7))
    k = torch.arange(1, 8, dtype=D64) * 25 - 0.5
    yy, xx = torch.meshgrid(k, k, indexing="ij")
    expected = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)
    assert (found - expected).abs().max() < 0.02


def test_render_is_an_exact_area_average():
    # fronto-parallel, no distortion: squares of 30 px starting at a fractional pixel position
    Kf = torch.tensor([[300.0, 0, 100.3], [0, 300, 80.6], [0, 0, 1]], dtype=D64)
    img, corners = render_checkerboard(
        (3, 2),
        Kf,
        torch.zeros(3, dtype=D64),
        torch.tensor([0, 0, 10.0], dtype=D64),
        dist=None,
        image_size=(200, 160),
        supersample=8,
    )
    assert torch.allclose(corners[0], torch.tensor([100.3, 80.6], dtype=D64))
    # pixel 100 covers x in [99.5, 100.5]; the edge x = 100.3 leaves 0.8 of it in the light
    # square on the left and 0.2 in the dark one on the right (row 95: between the corner rows)
    row = 95
    expected = 0.9 * 0.8 + 0.1 * 0.2
    assert img[row, 100].item() == pytest.approx(expected, abs=0.8 / 64)  # 64 samples
    assert img[row, 90].item() == pytest.approx(0.9) and img[row, 110].item() == pytest.approx(0.1)
    assert img.dtype == D64
    assert img.min() >= 0.1 - 1e-12 and img.max() <= 0.9 + 1e-12


def test_render_corners_are_the_projection_and_noise_is_seeded():
    r, t = POSES[0]
    a, ca = _render(r, t, supersample=1, noise_std=0.05, generator=torch.Generator().manual_seed(3))
    b, cb = _render(r, t, supersample=1, noise_std=0.05, generator=torch.Generator().manual_seed(3))
    clean, _ = _render(r, t, supersample=1)
    assert torch.equal(a, b) and torch.equal(ca, cb)
    assert (a - clean).std().item() == pytest.approx(0.05, rel=0.05)
    jj, ii = torch.meshgrid(torch.arange(7.0), torch.arange(5.0), indexing="xy")
    board = torch.stack([jj.reshape(-1), ii.reshape(-1), torch.zeros(35)], 1).to(D64)
    assert torch.allclose(
        ca, project_points(board, K, torch.tensor(r, dtype=D64), torch.tensor(t, dtype=D64), DIST)
    )


def test_non_contiguous_and_float32_images(views):
    img, truth = views[0]
    ref = find_checkerboard_corners(img, PATTERN)
    t = img.t().contiguous().t()
    assert not t.is_contiguous()
    assert torch.equal(find_checkerboard_corners(t, PATTERN), ref)
    f32 = find_checkerboard_corners(img.float(), PATTERN)
    assert f32.dtype == torch.float32 and (f32.double() - truth).norm(dim=1).max() < 0.1
    assert torch.equal(
        find_checkerboard_corners(img * 100 + 7, PATTERN).round(decimals=6), ref.round(decimals=6)
    )


def test_not_found_returns_none(views):
    img, _ = views[0]
    assert find_checkerboard_corners(torch.full((240, 320), 0.5, dtype=D64), PATTERN) is None
    noise = torch.rand(240, 320, generator=torch.Generator().manual_seed(0), dtype=D64)
    assert find_checkerboard_corners(noise, PATTERN) is None
    assert find_checkerboard_corners(img, (6, 5)) is None  # another pattern size
    assert find_checkerboard_corners(img[:, :150], PATTERN) is None  # board cut by the border
    off, _ = _render([-0.4, 0.3, -0.2], [-3.5, -2.5, 11.0], supersample=1)  # partly outside
    assert find_checkerboard_corners(off, PATTERN) is None


def test_bad_input():
    img = torch.zeros(40, 40)
    with pytest.raises(TypeError, match=r"image.*float"):
        find_checkerboard_corners(torch.zeros(40, 40, dtype=torch.uint8), PATTERN)
    with pytest.raises(ValueError, match="image"):
        find_checkerboard_corners(torch.zeros(2, 40, 40), PATTERN)
    nan = img.clone()
    nan[3, 3] = float("nan")
    with pytest.raises(ValueError, match="image"):
        find_checkerboard_corners(nan, PATTERN)
    with pytest.raises(ValueError, match="pattern_size"):
        find_checkerboard_corners(img, (1, 5))
    with pytest.raises(ValueError, match="sigma"):
        find_checkerboard_corners(img, PATTERN, sigma=0.0)
    with pytest.raises(ValueError, match="supersample"):
        render_checkerboard(
            PATTERN, K, torch.zeros(3, dtype=D64), torch.ones(3, dtype=D64), supersample=0
        )
    with pytest.raises(ValueError, match="square_size"):
        render_checkerboard(
            PATTERN, K, torch.zeros(3, dtype=D64), torch.ones(3, dtype=D64), square_size=-1.0
        )
