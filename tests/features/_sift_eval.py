"""Repeatability of SIFT under known warps, shared by test_sift.py and benchmarks/features_sift.py.

The score of a detector on a pair (image, warped image with known homography H) is the fraction
of keypoints of the first image (those that H maps inside the second) that are matched by the
ratio test (0.8, cross-checked) to a keypoint of the second image lying within 2 px of H p.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch

from pixlearn.features import SIFT, match_descriptors
from pixlearn.transform import perspective_warp


def warp_matrix(shape: tuple[int, int], angle: float, scale: float) -> tuple[np.ndarray, tuple]:
    """Rotation by ``angle`` degrees and scaling by ``scale`` about the centres; output shape."""
    h, w = shape
    oh, ow = round(h * scale), round(w * scale)
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    t_in = np.array([[1, 0, -(w - 1) / 2], [0, 1, -(h - 1) / 2], [0, 0, 1]])
    rs = np.array([[scale * c, -scale * s, 0], [scale * s, scale * c, 0], [0, 0, 1]])
    t_out = np.array([[1, 0, (ow - 1) / 2], [0, 1, (oh - 1) / 2], [0, 0, 1]])
    return t_out @ rs @ t_in, (oh, ow)


def make_pair(
    img: torch.Tensor, angle: float = 0.0, scale: float = 1.0, gain: float = 1.0, bias: float = 0.0
) -> tuple[torch.Tensor, np.ndarray]:
    hmat, out_shape = warp_matrix(tuple(img.shape[-2:]), angle, scale)
    warped = perspective_warp(
        img, torch.tensor(hmat, dtype=img.dtype), output_shape=out_shape, interpolation="cubic"
    ).clamp(0, 1)
    return (warped * gain + bias).clamp(0, 1), hmat


def _score(xy1, d1, xy2, d2, hmat, shape2) -> float:
    q = np.c_[xy1, np.ones(len(xy1))] @ hmat.T
    p = q[:, :2] / q[:, 2:]
    h, w = shape2
    inside = (p[:, 0] >= 0) & (p[:, 0] <= w - 1) & (p[:, 1] >= 0) & (p[:, 1] <= h - 1)
    if inside.sum() == 0:
        return 0.0
    m = match_descriptors(torch.as_tensor(d1), torch.as_tensor(d2), max_ratio=0.8).numpy()
    err = np.linalg.norm(p[m[:, 0]] - xy2[m[:, 1]], axis=1)
    correct = np.unique(m[err < 2, 0])
    return float(inside[correct].sum() / inside.sum())


def pixlearn_rate(img, warped, hmat, sift: SIFT | None = None) -> float:
    sift = sift or SIFT()
    k1, d1 = sift.detect_and_compute(img)
    k2, d2 = sift.detect_and_compute(warped)
    return _score(k1.xy().numpy(), d1, k2.xy().numpy(), d2, hmat, warped.shape[-2:])


def opencv_rate(img, warped, hmat) -> float:
    sift = cv2.SIFT_create()

    def run(t):
        a = (t.squeeze().numpy() * 255).round().astype(np.uint8)
        k, d = sift.detectAndCompute(a, None)
        xy = np.array([kp.pt for kp in k], dtype=np.float64).reshape(-1, 2)
        return xy, (np.zeros((0, 128), np.float32) if d is None else d)

    xy1, d1 = run(img)
    xy2, d2 = run(warped)
    return _score(xy1, d1, xy2, d2, hmat, warped.shape[-2:])
