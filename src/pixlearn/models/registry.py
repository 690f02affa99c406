"""The model registry: ``@register_model``, ``create_model(name, **kw)``, ``list_models(pattern)``.

Every architecture registers a builder function under its name (``resnet50``, ``lenet5``, ...)
together with the task it serves, so the command line and the engine can build any model from a
string, as ``timm.create_model`` does.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from torch import nn

from pixlearn._core.check import check_choice
from pixlearn._core.errors import WrongTypeError

__all__ = ["ModelEntry", "create_model", "list_models", "model_entry", "register_model"]

TASKS: tuple[str, ...] = ("classify", "segment", "detect", "generate", "restore")

Builder = TypeVar("Builder", bound=Callable[..., nn.Module])


@dataclass(frozen=True)
class ModelEntry:
    """One registered architecture: its name, builder, task and one-line description."""

    name: str
    builder: Callable[..., nn.Module]
    task: str
    summary: str


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(
    fn: Builder | None = None, *, task: str = "classify", name: str | None = None
) -> Builder | Callable[[Builder], Builder]:
    """Register a model builder under ``name`` (default: the function's name).

    Usable bare (``@register_model``) or with options (``@register_model(task="detect")``).
    The summary shown by ``pixlearn models`` is the first line of the builder's docstring.

    Example:
        >>> @register_model(name="_doc_tiny")
        ... def tiny(num_classes: int = 10) -> nn.Module:
        ...     '''A one-layer classifier.'''
        ...     return nn.Linear(4, num_classes)
        >>> create_model("_doc_tiny", num_classes=3).out_features
        3
    """
    check_choice(task, "task", TASKS)

    def decorate(builder: Builder) -> Builder:
        key = name or builder.__name__
        if key in _REGISTRY and _REGISTRY[key].builder is not builder:
            raise ValueError(f"model name {key!r} is already registered")
        doc = (builder.__doc__ or "").strip()
        _REGISTRY[key] = ModelEntry(key, builder, task, doc.splitlines()[0] if doc else "")
        return builder

    return decorate(fn) if fn is not None else decorate


def _load_zoo() -> None:
    # The architectures register themselves when their modules are imported.
    import pixlearn.models.classification  # noqa: F401


def model_entry(name: str) -> ModelEntry:
    """The registry entry of ``name``; unknown names raise ``ValueError`` with close matches."""
    if not isinstance(name, str):
        raise WrongTypeError(f"name: expected a model name (str), got {type(name).__name__}")
    _load_zoo()
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, sorted(_REGISTRY), n=5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"name: unknown model {name!r}{hint} (see `pixlearn models`)")
    return _REGISTRY[name]


def create_model(name: str, **kwargs: object) -> nn.Module:
    """Build the registered model ``name`` with the builder's keyword arguments.

    Example:
        >>> model = create_model("lenet5", num_classes=10)
        >>> sum(p.numel() for p in model.parameters()) > 0
        True
    """
    return model_entry(name).builder(**kwargs)


def list_models(pattern: str = "*", *, task: str | None = None) -> list[str]:
    """Sorted names of the registered models matching the glob ``pattern`` (and ``task``).

    Example:
        >>> "resnet50" in list_models("resnet*")
        True
    """
    _load_zoo()
    if task is not None:
        check_choice(task, "task", TASKS)
    return sorted(
        n
        for n, e in _REGISTRY.items()
        if fnmatch.fnmatch(n, pattern) and (task is None or e.task == task) and n[0] != "_"
    )
