"""Augmentation: composable, seeded transforms that move images, boxes, masks and keypoints
together.

A sample is a dict ``{"image", "boxes", "labels", "masks", "keypoints"}`` (only ``"image"``
required), unbatched or batched (see :mod:`pixlearn.augment.base`). Every transform is called as
``transform(sample, generator=g)``; the same generator state gives the same result, and each item
of a batch gets its own draw.
"""

from __future__ import annotations

from pixlearn.augment.base import Batch, Transform
from pixlearn.augment.compose import Compose, FilterBoxes, OneOf
from pixlearn.augment.degrade import Blur, Cutout, GaussianNoise, PoissonNoise
from pixlearn.augment.elastic import ElasticDeformation
from pixlearn.augment.geometric import (
    HorizontalFlip,
    Perspective,
    RandomResizedCrop,
    Rotate,
    Rotate90,
    VerticalFlip,
)
from pixlearn.augment.photometric import Brightness, Contrast, Gamma, HueSaturation

__all__ = [
    "Batch",
    "Blur",
    "Brightness",
    "Compose",
    "Contrast",
    "Cutout",
    "ElasticDeformation",
    "FilterBoxes",
    "Gamma",
    "GaussianNoise",
    "HorizontalFlip",
    "HueSaturation",
    "OneOf",
    "Perspective",
    "PoissonNoise",
    "RandomResizedCrop",
    "Rotate",
    "Rotate90",
    "Transform",
    "VerticalFlip",
]
