"""Step of the "Classical recognition" demo: SIFT matches across a known warp, and RANSAC."""

from __future__ import annotations

import math

import torch
from matplotlib.figure import Figure
from torch import Tensor

import pixlearn.cli.chapters.recognition.corners  # noqa: F401  (its step comes first)
from pixlearn.cli.chapters.base import DemoSettings, image_axes
from pixlearn.cli.chapters.recognition.chapter import RECOGNITION
from pixlearn.data import sample
from pixlearn.features import SIFT, match_descriptors, ransac_homography
from pixlearn.transform import perspective_warp
from pixlearn.viz.report import Section

__all__ = ["project", "rotation_about_centre"]

ANGLE, SCALE, GAIN, BIAS = 30.0, 0.8, 0.7, 0.15


def rotation_about_centre(shape: tuple[int, int], angle: float, scale: float) -> Tensor:
    """The 3x3 homography rotating by ``angle`` degrees and scaling about the image centre.

    ``H = T(c) R(angle) S(scale) T(-c)`` with ``c = ((W - 1) / 2, (H - 1) / 2)``, float64.

    Example:
        >>> h = rotation_about_centre((5, 5), 90.0, 1.0)
        >>> project(h, torch.tensor([[2.0, 2.0], [3.0, 2.0]], dtype=torch.float64)).round()
        tensor([[2., 2.],
                [2., 3.]], dtype=torch.float64)
    """
    h, w = shape
    cx, cy = (w - 1) / 2, (h - 1) / 2
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    to_origin = torch.tensor([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]], dtype=torch.float64)
    turn = torch.tensor([[scale * c, -scale * s, 0], [scale * s, scale * c, 0], [0, 0, 1]],
                        dtype=torch.float64)  # fmt: skip
    back = torch.tensor([[1, 0, cx], [0, 1, cy], [0, 0, 1]], dtype=torch.float64)
    return back @ turn @ to_origin


def project(hmat: Tensor, xy: Tensor) -> Tensor:
    """Points ``(N, 2)`` mapped by a homography: ``(u / w, v / w)`` with ``(u, v, w) = H p``."""
    q = torch.cat([xy, torch.ones_like(xy[:, :1])], 1) @ hmat.T  # (N, 3)
    return q[:, :2] / q[:, 2:]


@RECOGNITION.step("SIFT matches and RANSAC homography")
def _sift(sec: Section, cfg: DemoSettings) -> None:
    step = 2 if cfg.quick else 1
    img = sample("camera", dtype=torch.float64)[0, ::step, ::step].contiguous()  # (256 or 512)^2
    h, w = img.shape
    true_h = rotation_about_centre((h, w), ANGLE, SCALE)
    # the warped copy: rotated, shrunk, and with a changed brightness and contrast
    warped = perspective_warp(img, true_h, interpolation="cubic").clamp(0, 1)
    warped = (GAIN * warped + BIAS).clamp(0, 1)
    sift = SIFT()
    kp1, d1 = sift.detect_and_compute(img)
    kp2, d2 = sift.detect_and_compute(warped)
    matches = match_descriptors(d1, d2, max_ratio=0.8, cross_check=True)  # (M, 2)
    src, dst = kp1.xy()[matches[:, 0]], kp2.xy()[matches[:, 1]]  # (M, 2) each
    est_h, inliers = ransac_homography(src, dst, threshold=3.0, generator=cfg.generator())
    # how far the estimated warp puts the four image corners from where the true one does
    corners = torch.tensor([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=img.dtype)
    err = (project(est_h, corners) - project(true_h, corners)).norm(dim=1)  # (4,)
    rms = float(err.square().mean().sqrt())
    # a match is correct when the true warp sends the first keypoint within 2 px of the second
    correct = (project(true_h, src) - dst).norm(dim=1) < 2.0  # (M,)
    sec.text(f"camera ({h}x{w}) against a copy rotated by {ANGLE:g} degrees, scaled by "
             f"{SCALE:g} about its centre and with brightness changed to {GAIN:g} I + {BIAS:g}. "
             "Descriptors are matched by Lowe's ratio test (0.8) with a cross-check; RANSAC "
             "fits a homography to 4-point samples and refits it on the inliers "
             "(reprojection error < 3 px).")  # fmt: skip
    sec.metric("SIFT keypoints (original / warped)", f"{len(kp1)} / {len(kp2)}")
    sec.metric("matches after ratio test and cross-check", len(matches))
    sec.metric("RANSAC inliers", int(inliers.sum()), expected=f"of {len(matches)} matches")
    sec.metric("matches correct under the known warp (< 2 px)", float(correct.double().mean()),
               expected="most")  # fmt: skip
    sec.metric("RMS corner error of the recovered homography", rms, unit="px", expected="< 1",
               ok=rms < 1.0)  # fmt: skip
    fig = Figure(figsize=(12, 5.4), layout="constrained")
    ax = image_axes(fig, 1)[0]
    # the two images side by side on one canvas, the warped one shifted right by w + gap
    gap = 8
    canvas = torch.ones(max(h, warped.shape[0]), w + gap + warped.shape[1], dtype=img.dtype)
    canvas[:h, :w] = img
    canvas[: warped.shape[0], w + gap :] = warped
    ax.imshow(canvas.numpy(), cmap="gray", vmin=0, vmax=1)
    for keep, colour in ((~inliers, "red"), (inliers, "lime")):
        a, b = src[keep].numpy(), dst[keep].numpy()
        for (x1, y1), (x2, y2) in zip(a, b, strict=True):
            ax.plot([x1, x2 + w + gap], [y1, y2], "-", color=colour, linewidth=0.6)
    ax.set_title(f"{int(inliers.sum())} RANSAC inliers (green), "
                 f"{int((~inliers).sum())} outliers (red)", fontsize=9)  # fmt: skip
    sec.figure(fig, "SIFT matches between camera and its rotated, scaled, re-lit copy. SIFT "
               "finds extrema of the difference-of-Gaussians scale space and describes each by "
               "4x4 histograms of 8 gradient orientations, relative to its dominant "
               "orientation and scale, hence the invariance.", name="sift")  # fmt: skip
