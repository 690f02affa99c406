"""Augmentation: composable, seeded transforms that move images, boxes, masks and keypoints
together."""

from __future__ import annotations

