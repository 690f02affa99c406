"""Interpretation of convolutional networks: filters, activation maps, saliency and Grad-CAM.

The syllabus' ZFNet idea: looking at what a network computes (its first-layer filters, the
activation maps of a layer, the pixels a class score depends on, the regions a layer found
evidence in) helps to understand a model and to improve it.
"""

from __future__ import annotations

from pixlearn.interpret.activations import activation_maps
from pixlearn.interpret.filters import filter_grid
from pixlearn.interpret.gradcam import grad_cam
from pixlearn.interpret.saliency import class_saliency

__all__ = ["activation_maps", "class_saliency", "filter_grid", "grad_cam"]
