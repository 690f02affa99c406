"""The task interface: the part of a learning run that depends on what is learned.

The engine (:mod:`pixlearn.engine.module`, :mod:`pixlearn.engine.runs`) is the same for every
task; a :class:`Task` supplies its config keys, its data, its model, its loss, its metrics, its
plots and its prediction writer. Tasks register under the name the command line uses
(``pixlearn classify train``) with :func:`register_task`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

from pixlearn._core.errors import ValueRangeError
from pixlearn.engine.config import RunConfig

__all__ = ["TASK_NAMES", "Task", "get_task", "implemented_tasks", "register_task"]

#: Every task of the command line; the ones not registered yet answer "not implemented yet".
TASK_NAMES: tuple[str, ...] = ("classify", "segment", "detect", "generate", "restore")

T = TypeVar("T", bound="type[Task]")

_TASKS: dict[str, type[Task]] = {}


class Task:
    """Base class of a task. Subclasses set the class attributes and implement the methods.

    Attributes:
        name: the command-line name (set by :func:`register_task`).
        config_class: the dataclass of the task's keys.
        monitor: metric deciding which epoch's weights are ``best.pt``.
        monitor_mode: ``"max"`` if a larger ``monitor`` is better, else ``"min"``.
    """

    name: ClassVar[str] = ""
    config_class: ClassVar[type[RunConfig]] = RunConfig
    monitor: ClassVar[str] = "val/loss"
    monitor_mode: ClassVar[str] = "min"

    def __init__(self, cfg: RunConfig) -> None:
        self.cfg = cfg

    # data and model -------------------------------------------------------------------------
    def build_data(self, split: str) -> Dataset:
        """The data set of ``split`` (``train``, ``val`` or ``test``)."""
        raise NotImplementedError

    def data_meta(self, dataset: Dataset) -> dict[str, Any]:
        """What the model must agree with: e.g. class names, channels, image size."""
        raise NotImplementedError

    def build_model(self, meta: dict[str, Any]) -> tuple[nn.Module, dict[str, Any]]:
        """The model and the keyword arguments it was built with."""
        raise NotImplementedError

    def check_model(self, model: nn.Module, meta: dict[str, Any]) -> None:
        """Raise before training if ``model`` cannot learn the data described by ``meta``."""

    def collate(self) -> Callable[[list[Any]], Any] | None:
        """The data loader's collate function (``None``: torch's default)."""
        return None

    # one step ----------------------------------------------------------------------------------
    def training_step(self, module: Any, batch: Any) -> dict[str, Tensor]:
        """Losses of a training batch; the key ``loss`` is minimised."""
        raise NotImplementedError

    def metric_state(
        self, meta: dict[str, Any], device: torch.device, *, keep_examples: bool = True
    ) -> dict[str, Tensor]:
        """Fresh sums a validation epoch accumulates (summed over processes before use).

        ``keep_examples``: also keep the examples :meth:`plots` shows (e.g. misclassified
        images); the validation passes during training do without them.
        """
        raise NotImplementedError

    def update_metrics(self, state: dict[str, Tensor], module: Any, batch: Any) -> Any:
        """Add one validation batch to ``state``; return the model outputs."""
        raise NotImplementedError

    def compute_metrics(self, state: dict[str, Tensor]) -> dict[str, float]:
        """Metrics from the (process-summed) state."""
        raise NotImplementedError

    # outputs -----------------------------------------------------------------------------------
    def plots(
        self, out: Path, state: dict[str, Tensor], meta: dict[str, Any], extra: Any
    ) -> list[Path]:
        """Write the task's plots into ``out``; return their paths."""
        return []

    def predict(
        self, model: nn.Module, meta: dict[str, Any], sources: Sequence[str], out: Path
    ) -> list[dict[str, Any]]:
        """Predict ``sources`` (files, folders, globs); write annotated outputs into ``out``."""
        raise NotImplementedError


def register_task(name: str) -> Callable[[T], T]:
    """Register a :class:`Task` subclass under ``name`` (one of :data:`TASK_NAMES`).

    Example:
        >>> "classify" in implemented_tasks()
        True
    """
    if name not in TASK_NAMES:
        raise ValueRangeError(f"name must be one of {', '.join(TASK_NAMES)}; got {name!r}")

    def decorate(cls: T) -> T:
        cls.name = name
        _TASKS[name] = cls
        return cls

    return decorate


def _load_tasks() -> None:
    import pixlearn.engine.tasks  # noqa: F401  (the tasks register themselves)


def implemented_tasks() -> list[str]:
    """Names of the tasks that can run, in command-line order."""
    _load_tasks()
    return [n for n in TASK_NAMES if n in _TASKS]


def get_task(name: str) -> type[Task]:
    """The registered task class ``name``.

    Raises:
        NotImplementedError: a known task that has no implementation yet.
        ValueError: an unknown task name.

    Example:
        >>> get_task("classify").name
        'classify'
    """
    _load_tasks()
    if name in _TASKS:
        return _TASKS[name]
    if name in TASK_NAMES:
        raise NotImplementedError(
            f"task {name!r} is not implemented yet; implemented: {', '.join(implemented_tasks())}"
        )
    raise ValueRangeError(f"task must be one of {', '.join(TASK_NAMES)}; got {name!r}")
