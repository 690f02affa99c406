import math

import numpy as np
import pytest
import torch

from pixlearn.ops import RoIAlign, roi_align


def _bilinear(f, y, x):
    """torchvision's bilinear_interpolate, written out for one channel plane f (H, W)."""
    h, w = f.shape
    if y < -1.0 or y > h or x < -1.0 or x > w:
        return 0.0
    y, x = max(y, 0.0), max(x, 0.0)
    y0, x0 = int(y), int(x)
    if y0 >= h - 1:
        y0 = y1 = h - 1
        y = float(y0)
    else:
        y1 = y0 + 1
    if x0 >= w - 1:
        x0 = x1 = w - 1
        x = float(x0)
    else:
        x1 = x0 + 1
    ly, lx = y - y0, x - x0
    hy, hx = 1 - ly, 1 - lx
    return hy * hx * f[y0, x0] + hy * lx * f[y0, x1] + ly * hx * f[y1, x0] + ly * lx * f[y1, x1]


def _slow_roi_align(feats, rois, out_hw, scale, ratio, aligned):
    """The documented definition, one output value at a time (float64, NumPy)."""
    f = feats.double().numpy()
    oh, ow = out_hw
    out = np.zeros((len(rois), f.shape[1], oh, ow))
    off = 0.5 if aligned else 0.0
    for k, (b, x1, y1, x2, y2) in enumerate(rois.double().tolist()):
        sx, sy = x1 * scale - off, y1 * scale - off
        rw, rh = x2 * scale - off - sx, y2 * scale - off - sy
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / oh, rw / ow
        gy = ratio if ratio > 0 else math.ceil(rh / oh)
        gx = ratio if ratio > 0 else math.ceil(rw / ow)
        count = max(gy * gx, 1)
        for c in range(f.shape[1]):
            for i in range(oh):
                for j in range(ow):
                    acc = 0.0
                    for p in range(gy):
                        y = sy + i * bh + (p + 0.5) * bh / gy
                        for q in range(gx):
                            x = sx + j * bw + (q + 0.5) * bw / gx
                            acc += _bilinear(f[int(b), c], y, x)
                    out[k, c, i, j] = acc / count
    return torch.from_numpy(out)


def _random_rois(gen, n, batch, size, scale):
    """Boxes in image pixels, some partly outside the map, a few of zero width or height."""
    extent = size / scale
    xy = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 1.4 * extent - 0.2 * extent
    wh = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 0.8 * extent
    wh[::5, 0] = 0.0  # zero width
    wh[::7] = 0.0  # zero area
    b = torch.randint(0, batch, (n, 1), generator=gen).double()
    return torch.cat([b, xy, xy + wh], 1)


CASES = [
    # (scale, ratio, aligned, output)
    (1.0, 2, False, (7, 7)),
    (1.0, -1, True, (3, 5)),
    (0.25, 0, False, (4, 2)),
    (0.25, 3, True, (7, 7)),
    (1 / 16, -1, True, (2, 3)),
    (1 / 16, 1, False, (5, 4)),
]


@pytest.mark.parametrize(("scale", "ratio", "aligned", "out_hw"), CASES)
@pytest.mark.parametrize(("dtype", "tol"), [(torch.float32, 1e-5), (torch.float64, 1e-10)])
def test_matches_slow_bilinear_loop(scale, ratio, aligned, out_hw, dtype, tol):
    gen = torch.Generator().manual_seed(int(scale * 1000) + ratio + 7 * aligned)
    feats = torch.rand(2, 2, 9, 11, generator=gen, dtype=torch.float64)
    rois = _random_rois(gen, 15, 2, 10, scale)
    out = roi_align(feats.to(dtype), rois.to(dtype), out_hw, scale, ratio, aligned)
    assert out.shape == (15, 2, *out_hw) and out.dtype == dtype
    ref = _slow_roi_align(feats.to(dtype), rois.to(dtype), out_hw, scale, ratio, aligned)
    torch.testing.assert_close(out.double(), ref, rtol=0, atol=tol)


def test_aligned_on_a_linear_ramp_equals_the_bin_centre():
    # f(y, x) = 2 y + 3 x + 1 at cell centres; the mean of a linear function over the samples
    # of a bin is its value at the bin centre, and aligned=True puts cell i's value at i + 1/2
    h, w = 40, 50
    y, x = torch.meshgrid(torch.arange(h + 0.0), torch.arange(w + 0.0), indexing="ij")
    feats = (2 * y + 3 * x + 1).double()[None, None]
    boxes = torch.tensor([[3.3, 4.1, 20.7, 11.9], [10.0, 10.0, 10.5, 30.0]], dtype=torch.float64)
    oh, ow = 4, 3
    out = roi_align(feats, [boxes], (oh, ow), 1.0, 2, True)[:, 0]
    for k, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        cy = (
            y1 + (torch.arange(oh, dtype=torch.float64) + 0.5) * (y2 - y1) / oh
        )  # bin centres, continuous coords
        cx = x1 + (torch.arange(ow, dtype=torch.float64) + 0.5) * (x2 - x1) / ow
        expected = 2 * (cy[:, None] - 0.5) + 3 * (cx[None, :] - 0.5) + 1
        torch.testing.assert_close(out[k], expected.double(), rtol=0, atol=1e-10)


def test_list_and_k5_forms_agree_and_keep_order():
    gen = torch.Generator().manual_seed(1)
    feats = torch.rand(3, 4, 12, 12, generator=gen)
    boxes = [torch.tensor([[1.0, 2.0, 9.0, 7.0]]), torch.zeros(0, 4), torch.rand(4, 2) * 5]
    boxes[2] = torch.cat([boxes[2], boxes[2] + 4], 1)
    rois = torch.cat([torch.tensor([[0.0]]), torch.full((4, 1), 2.0)])
    rois = torch.cat([rois, torch.cat([boxes[0], boxes[2]])], 1)
    a = roi_align(feats, boxes, 3, 0.5, -1, True)
    b = roi_align(feats, rois, 3, 0.5, -1, True)
    assert torch.equal(a, b)
    # per-image calls give the same rows
    torch.testing.assert_close(a[1:], roi_align(feats[2:], [boxes[2]], 3, 0.5, -1, True))


def test_adaptive_groups_do_not_reorder_boxes():
    feats = torch.rand(1, 3, 30, 30, dtype=torch.float64)
    rois = torch.tensor([[0, 0, 0, 28, 28], [0, 1, 1, 3, 3], [0, 2, 0, 20, 9.0]]).double()
    out = roi_align(feats, rois, 2, 1.0, -1, False)
    for k in range(3):
        torch.testing.assert_close(out[k : k + 1], roi_align(feats, rois[k : k + 1], 2))


def test_empty_box_list_gives_empty_output_with_gradient_path():
    feats = torch.rand(2, 5, 8, 8, requires_grad=True)
    out = roi_align(feats, [torch.zeros(0, 4), torch.zeros(0, 4)], (3, 4))
    assert out.shape == (0, 5, 3, 4)
    assert roi_align(feats, torch.zeros(0, 5), 2).shape == (0, 5, 2, 2)


def test_non_contiguous_and_channels_last_features():
    feats = torch.rand(2, 3, 10, 12)
    rois = torch.tensor([[1, 0.5, 1.5, 9.0, 8.0], [0, 2.0, 2.0, 11.0, 6.0]])
    ref = roi_align(feats, rois, 3, 1.0, 2, True)
    cl = feats.to(memory_format=torch.channels_last)
    nc = feats.transpose(2, 3).contiguous().transpose(2, 3)
    assert torch.allclose(roi_align(cl, rois, 3, 1.0, 2, True), ref)
    assert torch.allclose(roi_align(nc, rois, 3, 1.0, 2, True), ref)
    # non-contiguous boxes
    r2 = torch.cat([rois, rois], 1)[:, :5]
    assert torch.equal(roi_align(feats, r2, 3, 1.0, 2, True), ref)


def test_input_is_not_modified_and_boxes_get_no_gradient():
    feats = torch.rand(1, 2, 6, 6)
    boxes = torch.tensor([[0.0, 1.0, 1.0, 5.0, 5.0]], requires_grad=True)
    f0, b0 = feats.clone(), boxes.detach().clone()
    roi_align(feats, boxes, 2).sum()
    assert torch.equal(feats, f0) and torch.equal(boxes.detach(), b0)


@pytest.mark.parametrize(("ratio", "aligned"), [(2, False), (-1, True), (3, True)])
def test_gradcheck(ratio, aligned):
    gen = torch.Generator().manual_seed(3)
    feats = torch.rand(2, 2, 7, 8, generator=gen, dtype=torch.float64, requires_grad=True)
    rois = torch.tensor(
        [[0, 0.3, 0.7, 5.2, 6.1], [1, -2.0, 3.0, 9.5, 8.5], [1, 2.0, 2.0, 2.0, 4.0]],
        dtype=torch.float64,
    )
    assert torch.autograd.gradcheck(
        lambda f: roi_align(f, rois, (3, 2), 0.9, ratio, aligned), feats
    )


def test_module_equals_function():
    feats = torch.rand(1, 3, 16, 16)
    rois = torch.tensor([[0.0, 8.0, 8.0, 40.0, 60.0]])
    mod = RoIAlign((2, 3), spatial_scale=0.25, sampling_ratio=2, aligned=True)
    assert torch.equal(mod(feats, rois), roi_align(feats, rois, (2, 3), 0.25, 2, True))
    assert "aligned=True" in repr(mod)


def test_float16_features_close_to_float32():
    feats = torch.rand(1, 4, 10, 10)
    rois = torch.tensor([[0.0, 1.0, 1.0, 8.0, 9.0]])
    out = roi_align(feats.half(), rois, 3, 1.0, 2, True)
    assert out.dtype == torch.float16
    torch.testing.assert_close(
        out.float(), roi_align(feats, rois, 3, 1.0, 2, True), atol=2e-3, rtol=0
    )


F = torch.rand(2, 3, 8, 8)


@pytest.mark.parametrize(
    ("features", "boxes", "kwargs", "error", "match"),
    [
        (F, torch.zeros(1, 4), {}, ValueError, "boxes.*\\(K, 5\\)"),
        (F, [torch.zeros(1, 5), torch.zeros(0, 4)], {}, ValueError, r"boxes\[0\].*\(K, 4\)"),
        (F, [torch.zeros(1, 4)], {}, ValueError, "boxes.*per image"),
        (F, torch.tensor([[2.0, 0, 0, 1, 1]]), {}, ValueError, r"boxes\[:, 0\].*batch"),
        (F, torch.tensor([[0.5, 0, 0, 1, 1]]), {}, ValueError, r"boxes\[:, 0\].*batch"),
        (F, torch.tensor([[0, 0, float("nan"), 1, 1]]), {}, ValueError, "boxes.*finite"),
        (F, [torch.tensor([[0, 0, 1, float("inf")]]), torch.zeros(0, 4)], {}, ValueError, "boxes"),
        (F, torch.tensor([[0, 3.0, 0, 1, 1]]), {}, ValueError, "boxes.*x2 >= x1.*row 0"),
        (F, torch.zeros(1, 5, dtype=torch.int64), {}, TypeError, "boxes.*floating"),
        (F.long(), torch.zeros(1, 5), {}, TypeError, "features.*floating"),
        (F[0], torch.zeros(1, 5), {}, ValueError, "features.*4 dimensions"),
        (F, torch.zeros(1, 5), {"output_size": 0}, ValueError, "output_size"),
        (F, torch.zeros(1, 5), {"output_size": (2, -1)}, ValueError, "output_size"),
        (F, torch.zeros(1, 5), {"spatial_scale": 0.0}, ValueError, "spatial_scale"),
        (F, torch.zeros(1, 5), {"sampling_ratio": 1.5}, TypeError, "sampling_ratio"),
        (F, [1, 2], {}, TypeError, r"boxes\[0\]"),
        (F, "boxes", {}, TypeError, "boxes"),
    ],
)
def test_bad_input_is_refused_naming_the_argument(features, boxes, kwargs, error, match):
    kwargs = {"output_size": 2, **kwargs}
    with pytest.raises(error, match=match):
        roi_align(features, boxes, **kwargs)


def test_nan_features_refused():
    feats = torch.rand(1, 1, 4, 4)
    feats[0, 0, 1, 1] = float("nan")
    with pytest.raises(ValueError, match="features"):
        roi_align(feats, torch.zeros(1, 5), 2)
