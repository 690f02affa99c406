"""Models: the registry (``create_model``, ``list_models``) and the architectures of the syllabus.

Classifiers expose ``forward_features``, ``forward_head`` and ``num_features``; state-dict names
follow torchvision's where torchvision has the architecture, so its weights load unchanged.
"""

from pixlearn.models.registry import (
    ModelEntry,
    create_model,
    list_models,
    model_entry,
    register_model,
)
from pixlearn.models.summary import summarize
from pixlearn.models.weights import load_weights

__all__ = [
    "ModelEntry",
    "create_model",
    "list_models",
    "load_weights",
    "model_entry",
    "register_model",
    "summarize",
]
