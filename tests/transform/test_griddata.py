import numpy as np
import pytest
import scipy.interpolate
import torch

from pixlearn.transform import griddata

SCIPY_KERNEL = {
    "thin_plate": "thin_plate_spline",
    "gaussian": "gaussian",
    "multiquadric": "multiquadric",
}


def _data(seed, n=200, m=500, pad=0.2):
    rng = np.random.default_rng(seed)
    p = rng.random((n, 2))
    v = rng.random(n)
    q = rng.random((m, 2)) * (1 + 2 * pad) - pad  # some queries outside the hull
    return p, v, q


def _t(*arrays):
    return [torch.from_numpy(a) for a in arrays]


def _smooth(xy):
    return np.sin(3 * xy[..., 0]) * np.cos(2 * xy[..., 1]) + xy[..., 0] ** 2


# ---- references ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_linear_matches_scipy_on_random_data(seed):
    p, v, q = _data(seed)
    ref = scipy.interpolate.griddata(p, v, q, method="linear")
    out = griddata(*_t(p, v, q)).numpy()
    assert np.array_equal(np.isnan(out), np.isnan(ref)) and np.isnan(ref).any()
    np.testing.assert_allclose(out, ref, atol=1e-10, rtol=0)


def test_linear_matches_scipy_on_a_smooth_function_on_a_grid():
    rng = np.random.default_rng(3)
    p = rng.random((400, 2)) * 4 - 2
    yy, xx = np.mgrid[-2.2:2.2:60j, -2.2:2.2:70j]
    q = np.stack([xx, yy], -1)  # (60, 70, 2)
    ref = scipy.interpolate.griddata(p, _smooth(p), q, method="linear", fill_value=-1.0)
    out = griddata(*_t(p, _smooth(p), q), fill_value=-1.0)
    assert out.shape == (60, 70)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-10, rtol=0)
    inside = ref != -1.0
    assert np.abs(ref[inside] - _smooth(q)[inside]).mean() < 0.05  # and it approximates f


def test_linear_with_vector_values_and_float32():
    p, v, q = _data(4, n=50, m=100)
    v2 = np.stack([v, 2 * v + 1], 1)  # (N, 2)
    ref = scipy.interpolate.griddata(p, v2, q, method="linear")
    out = griddata(*_t(p, v2, q))
    assert out.shape == (100, 2)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-10, rtol=0)
    out32 = griddata(*_t(p.astype(np.float32), v.astype(np.float32), q.astype(np.float32)))
    assert out32.dtype == torch.float32
    ref1 = scipy.interpolate.griddata(p, v, q, method="linear")
    ok = ~np.isnan(ref1) & ~np.isnan(out32.numpy())
    np.testing.assert_allclose(out32.numpy()[ok], ref1[ok], atol=1e-4)


def test_nearest_matches_scipy():
    p, v, q = _data(5, n=300, m=1000, pad=0.5)
    ref = scipy.interpolate.griddata(p, v, q, method="nearest")
    np.testing.assert_array_equal(griddata(*_t(p, v, q), method="nearest").numpy(), ref)


@pytest.mark.parametrize("kernel", ["thin_plate", "gaussian", "multiquadric"])
@pytest.mark.parametrize("smoothing", [0.0, 0.01])
def test_rbf_matches_scipy_rbf_interpolator(kernel, smoothing):
    p, v, q = _data(6, n=60, m=80)
    ref = scipy.interpolate.RBFInterpolator(
        p, v, kernel=SCIPY_KERNEL[kernel], epsilon=5.0, smoothing=smoothing, degree=1
    )(q)
    out = griddata(*_t(p, v, q), method="rbf", kernel=kernel, epsilon=5.0, smoothing=smoothing)
    # Gaussian with epsilon 5 is ill-conditioned: outputs of ~30 agree to ~1e-9 relative
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-8, rtol=1e-8)


def test_idw_matches_slow_loop():
    p, v, q = _data(7, n=20, m=15)
    out = griddata(*_t(p, v, q), method="idw", power=3.0).numpy()
    for i, x in enumerate(q):
        w = [np.linalg.norm(x - pi) ** -3.0 for pi in p]
        assert out[i] == pytest.approx(np.dot(w, v) / np.sum(w), abs=1e-12)


# ---- properties ------------------------------------------------------------------------------


def test_linear_reproduces_a_linear_function_inside_the_hull():
    p, _, q = _data(8)
    f = 2.0 - 3.0 * p[:, 0] + 0.5 * p[:, 1]
    out = griddata(*_t(p, f, q)).numpy()
    inside = ~np.isnan(out)
    np.testing.assert_allclose(out[inside], (2.0 - 3.0 * q[:, 0] + 0.5 * q[:, 1])[inside], 1e-12)
    np.testing.assert_allclose(griddata(*_t(p, f, p)).numpy(), f, atol=1e-12)  # the data


def test_rbf_reproduces_linear_functions_everywhere():
    p, _, q = _data(9, n=40)
    f = 1.0 + p[:, 0] - 2.0 * p[:, 1]
    out = griddata(*_t(p, f, q), method="rbf", smoothing=0.1).numpy()
    np.testing.assert_allclose(out, 1.0 + q[:, 0] - 2.0 * q[:, 1], atol=1e-9)


@pytest.mark.parametrize(
    "kw",
    [
        {"method": "idw"},
        {"method": "idw", "power": 1.0},
        {"method": "rbf"},
        {"method": "rbf", "kernel": "gaussian", "epsilon": 4.0},
        {"method": "rbf", "kernel": "multiquadric", "epsilon": 4.0},
    ],
)
def test_idw_and_rbf_interpolate_the_data_and_reproduce_constants(kw):
    p, v, q = _data(10, n=40)
    out = griddata(*_t(p, v, p), **kw).numpy()
    np.testing.assert_allclose(out, v, atol=1e-9)
    const = griddata(*_t(p, np.full(40, 0.7), q), **kw).numpy()
    np.testing.assert_allclose(const, 0.7, atol=1e-9)


def test_rbf_smoothing_stops_interpolating_and_shrinks_the_roughness():
    p, v, _ = _data(11, n=40)
    exact = griddata(*_t(p, v, p), method="rbf").numpy()
    smooth = griddata(*_t(p, v, p), method="rbf", smoothing=1.0).numpy()
    assert np.abs(exact - v).max() < 1e-9 and np.abs(smooth - v).max() > 1e-3


def test_idw_stays_within_the_data_range():
    p, v, q = _data(12)
    out = griddata(*_t(p, v, q), method="idw")
    assert out.min() >= v.min() and out.max() <= v.max()


def test_linear_on_hull_vertices_and_fill_value():
    p = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.5, 0.5]])
    v = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    q = np.array([[1.0, 1.0], [0.5, 0.0], [1.5, 0.5], [-1e-3, 0.5]])
    out = griddata(*_t(p, v, q), fill_value=-7.0).numpy()
    np.testing.assert_allclose(out, [4.0, 1.5, -7.0, -7.0], atol=1e-14)


# ---- cardinality, layout, gradients ----------------------------------------------------------


@pytest.mark.parametrize("method", ["linear", "nearest", "idw", "rbf"])
def test_query_shapes_empty_and_non_contiguous(method):
    p, v, q = _t(*_data(13, n=30, m=24))
    grid = q.reshape(4, 6, 2)
    out = griddata(p, v, grid, method=method)
    assert out.shape == (4, 6) and out.dtype == torch.float64
    flat = griddata(p, v, q, method=method)
    torch.testing.assert_close(out.reshape(-1), flat, equal_nan=True)
    assert griddata(p, v, q[:0], method=method).shape == (0,)
    # non-contiguous inputs: points as a transposed view, query with a stride
    pt = p.t().contiguous().t()
    qs = torch.stack([q, q], 1)[:, 0]
    assert not pt.is_contiguous() and not qs.is_contiguous()
    torch.testing.assert_close(griddata(pt, v, qs, method=method), flat, equal_nan=True)


@pytest.mark.parametrize("method", ["linear", "nearest", "idw", "rbf"])
def test_inputs_not_modified(method):
    p, v, q = _t(*_data(14, n=20, m=10))
    copies = [x.clone() for x in (p, v, q)]
    griddata(p, v, q, method=method)
    assert all(torch.equal(a, b) for a, b in zip((p, v, q), copies, strict=True))


@pytest.mark.parametrize("method", ["linear", "idw", "rbf"])
def test_gradcheck_values(method):
    p, v, q = _t(*_data(15, n=12, m=8, pad=0.0))
    p[:4] = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # hull = unit square
    q = 0.05 + 0.9 * q
    v = v.requires_grad_()
    assert torch.autograd.gradcheck(lambda t: griddata(p, t, q, method=method), (v,))


def test_gradcheck_query_linear_and_rbf():
    p, v, q = _t(*_data(16, n=12, m=5, pad=0.0))
    p[:4] = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # hull = unit square
    q = (0.05 + 0.9 * q).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: griddata(p, v, t), (q,))
    assert torch.autograd.gradcheck(lambda t: griddata(p, v, t, method="rbf"), (q,))


# ---- errors ----------------------------------------------------------------------------------


def test_too_few_points_for_linear():
    p, v, q = _t(*_data(17, n=2, m=3))
    with pytest.raises(ValueError, match="points must hold at least 3"):
        griddata(p, v, q)


def test_collinear_points_for_linear_and_rbf():
    p = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], dtype=torch.float64)
    v = torch.arange(4, dtype=torch.float64)
    with pytest.raises(ValueError, match="points cannot be triangulated"):
        griddata(p, v, p)
    with pytest.raises(ValueError, match="points are degenerate"):
        griddata(p, v, p, method="rbf")


def test_linear_needs_2d_points():
    p = torch.rand(10, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"points must have shape \(N, 2\)"):
        griddata(p, torch.rand(10, dtype=torch.float64), p)


@pytest.mark.parametrize(
    ("points", "values", "query", "match"),
    [
        (torch.rand(10), torch.rand(10), torch.rand(3, 2), "points must have shape"),
        (torch.rand(10, 2), torch.rand(9), torch.rand(3, 2), "values must have shape"),
        (torch.rand(10, 2), torch.rand(10), torch.rand(3, 3), "query must have shape"),
        (torch.rand(0, 2), torch.rand(0), torch.rand(3, 2), "points must hold at least"),
    ],
)
def test_mismatched_shapes(points, values, query, match):
    with pytest.raises(ValueError, match=match):
        griddata(points, values, query, method="nearest")


@pytest.mark.parametrize("name", ["points", "values", "query"])
def test_nan_refused(name):
    args = {"points": torch.rand(10, 2), "values": torch.rand(10), "query": torch.rand(3, 2)}
    args[name][1, 0 if name != "values" else ...] = float("nan")
    with pytest.raises(ValueError, match=f"{name} must be finite"):
        griddata(**args)


def test_integer_input_and_non_tensor_refused():
    with pytest.raises(TypeError, match="values must be a floating"):
        griddata(torch.rand(5, 2), torch.arange(5), torch.rand(3, 2))
    with pytest.raises(TypeError, match=r"points must be a torch\.Tensor"):
        griddata(np.random.rand(5, 2), torch.rand(5), torch.rand(3, 2))


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"method": "cubic"}, "method"),
        ({"method": "rbf", "kernel": "cubic"}, "kernel"),
        ({"method": "rbf", "epsilon": 0.0}, "epsilon"),
        ({"method": "rbf", "smoothing": -1.0}, "smoothing"),
        ({"method": "idw", "power": -2.0}, "power"),
    ],
)
def test_bad_options(kw, match):
    with pytest.raises(ValueError, match=match):
        griddata(torch.rand(10, 2), torch.rand(10), torch.rand(3, 2), **kw)
