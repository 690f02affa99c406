import math

import numpy as np
import pytest
import skimage.morphology as skm
import torch

from pixlearn.morphology import diamond, disk, ellipse, line, rectangle, square


def _np(fp):
    assert fp.dtype == torch.bool and fp.dim() == 2
    return fp.numpy()


@pytest.mark.parametrize("radius", range(0, 12))
def test_disk_and_diamond_equal_skimage(radius):
    assert np.array_equal(_np(disk(radius)), skm.disk(radius).astype(bool))
    loose = disk(radius, strict_radius=False)
    assert np.array_equal(_np(loose), skm.disk(radius, strict_radius=False).astype(bool))
    assert np.array_equal(_np(diamond(radius)), skm.diamond(radius).astype(bool))


@pytest.mark.parametrize("width", range(0, 9))
@pytest.mark.parametrize("height", range(0, 9))
def test_ellipse_equals_skimage(width, height):
    ref = skm.ellipse(width, height).astype(bool)
    assert _np(ellipse(width, height)).shape == (2 * height + 1, 2 * width + 1)
    assert np.array_equal(_np(ellipse(width, height)), ref)


@pytest.mark.parametrize(("h", "w"), [(1, 1), (3, 3), (2, 5), (4, 1)])
def test_square_and_rectangle_equal_skimage(h, w):
    assert np.array_equal(_np(rectangle(h, w)), skm.footprint_rectangle((h, w)).astype(bool))
    assert np.array_equal(_np(square(h)), skm.footprint_rectangle((h, h)).astype(bool))


def _line_reference(length, angle):
    """Slow loop from the documented definition."""
    half = (length - 1) / 2
    t = math.radians(angle)

    def rnd(v):
        v = round(v, 9)
        return int(math.copysign(math.floor(abs(v) + 0.5), v))

    dy, dx = rnd(-half * math.sin(t)), rnd(half * math.cos(t))
    n = max(abs(dy), abs(dx))
    out = np.zeros((2 * abs(dy) + 1, 2 * abs(dx) + 1), bool)
    for k in range(-n, n + 1):
        r = rnd(k * dy / n) if n else 0
        c = rnd(k * dx / n) if n else 0
        out[r + abs(dy), c + abs(dx)] = True
    return out, n


@pytest.mark.parametrize("length", [1, 3, 5, 9, 15])
@pytest.mark.parametrize("angle", [0, 10, 30, 45, 60, 90, 120, 135, 170, 180, -45, 400])
def test_line_reference_and_properties(length, angle):
    fp = _np(line(length, angle))
    ref, n = _line_reference(length, angle)
    assert np.array_equal(fp, ref)
    assert fp.sum() == 2 * n + 1
    assert np.array_equal(fp, fp[::-1, ::-1])  # symmetric about the centre
    assert fp[fp.shape[0] // 2, fp.shape[1] // 2]
    ys, xs = np.nonzero(fp)  # 8-connected: consecutive pixels along the major axis touch
    order = np.argsort(xs if fp.shape[1] >= fp.shape[0] else ys, kind="stable")
    steps = np.abs(np.diff(np.stack([ys[order], xs[order]]), axis=1))
    assert steps.max(initial=0) <= 1


def test_line_axes_and_diagonal():
    assert torch.equal(line(7, 0), torch.ones(1, 7, dtype=torch.bool))
    assert torch.equal(line(7, 90), torch.ones(7, 1, dtype=torch.bool))
    # the ends are (length - 1) / 2 away in Euclidean distance: 3 * cos(45 deg) rounds to 2
    assert torch.equal(line(7, -45), torch.eye(5, dtype=torch.bool))
    assert torch.equal(line(7, 45), torch.eye(5, dtype=torch.bool).flip(1))


@pytest.mark.parametrize(
    ("fn", "args", "name", "exc"),
    [
        (disk, (-1,), "radius", ValueError),
        (disk, (1.5,), "radius", TypeError),
        (diamond, (-2,), "radius", ValueError),
        (square, (0,), "width", ValueError),
        (rectangle, (0, 3), "nrows", ValueError),
        (rectangle, (3, 0), "ncols", ValueError),
        (ellipse, (-1, 2), "width", ValueError),
        (ellipse, (2, -1), "height", ValueError),
        (line, (4, 0.0), "length", ValueError),
        (line, (0, 0.0), "length", ValueError),
        (line, (5, float("nan")), "angle", ValueError),
    ],
)
def test_bad_arguments(fn, args, name, exc):
    with pytest.raises(exc, match=name):
        fn(*args)
