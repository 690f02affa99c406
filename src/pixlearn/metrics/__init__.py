"""Metrics: image quality (MSE, PSNR, SSIM) and detection (COCO-exact AP, VOC AP, confusion);
more tasks come with their chapters."""

from __future__ import annotations

from pixlearn.metrics import detection
from pixlearn.metrics.quality import mse, psnr, ssim

__all__ = ["detection", "mse", "psnr", "ssim"]
