"""Run configuration: one dataclass of keys per task, filled from YAML and ``key=value`` words.

A run is described by flat keys a user can type (``model=lenet5 data=digits epochs=10``). The
keys shared by every task live in :class:`RunConfig`; a task adds its own by subclassing it.
Values are resolved in order *defaults < config file < command line*, each value is converted to
the type the dataclass field declares, and an unknown key is an error listing the valid ones.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from pixlearn._core.errors import DataFormatError, ValueRangeError, WrongTypeError

__all__ = [
    "RESULT_NEUTRAL_KEYS",
    "RunConfig",
    "build_config",
    "config_to_dict",
    "load_yaml",
    "parse_devices",
    "parse_overrides",
    "parse_value",
]

C = TypeVar("C", bound="RunConfig")

#: Keys that never change what a training run computes: resuming may change them freely.
RESULT_NEUTRAL_KEYS: frozenset[str] = frozenset(
    {
        "resume",
        "name",
        "exist_ok",
        "workers",
        "project",
        "devices",
        "nodes",
        "source",
        "format",
        "split",
        "steps_per_execution",  # the same optimiser steps, only grouped differently
    }
)


@dataclasses.dataclass
class RunConfig:
    """The keys every task understands (``pixlearn <task> <mode> key=value ...``).

    Attributes:
        model: registered model name (``pixlearn models``), e.g. ``lenet5``.
        data: data-set spec resolved by :mod:`pixlearn.data`, e.g. ``digits`` or ``folder:/path``.
        devices: ``cpu``, ``cpu:N`` (N CPU processes with DDP), ``auto``, a GPU index ``0`` or a
            list ``0,1``.
        nodes: number of machines (DDP across nodes).
        precision: ``32``, ``bf16-mixed`` or ``16-mixed``.
        compile: wrap the model in ``torch.compile``.
        seed: seed of every random step (initialisation, data order, augmentation).
        deterministic: ask torch for deterministic kernels.
        batch: global batch size (split evenly over the processes).
        epochs: training epochs.
        lr: initial learning rate.
        optimizer: ``sgd``, ``adam`` or ``adamw``.
        scheduler: ``cosine``, ``step``, ``onecycle`` or ``none``.
        weight_decay: decoupled (AdamW) or L2 (SGD, Adam) weight decay.
        workers: data-loader worker processes.
        imgsz: side the images are resized to; ``None`` keeps the data set's size.
        project: folder holding ``<task>/<mode>N`` run folders.
        name: run folder name instead of the automatic ``<mode>N``.
        exist_ok: reuse the folder ``name`` if it exists.
        resume: run folder, its ``last.pt``, or ``auto`` (the latest run of the task).
        weights: weights file or run folder to start from (train; its architecture replaces
            ``model``) or to evaluate (val, predict, export).
        patience: stop after this many epochs without improvement (0: never).
        steps_per_execution: mini-batches per Lightning batch (Keras' ``steps_per_execution``):
            an integer >= 1 or ``auto`` (8 for data held in memory, 1 for files; see
            :func:`~pixlearn.engine.chunks.resolve_steps`). Each mini-batch still gets its own
            optimiser step, so the result does not depend on it; only Lightning's per-batch
            overhead is shared by the chunk.
        source: files, folders or globs to predict (comma-separated).
        format: export format, ``onnx`` or ``torchscript``.
    """

    model: str = "lenet5"
    data: str = "digits"
    devices: str = "auto"
    nodes: int = 1
    precision: str = "32"
    compile: bool = False
    seed: int = 0
    deterministic: bool = True
    batch: int = 32
    epochs: int = 30
    lr: float = 2e-3
    optimizer: str = "adamw"
    scheduler: str = "cosine"
    weight_decay: float = 5e-4
    workers: int = 0
    imgsz: int | None = None
    project: str = "runs"
    name: str | None = None
    exist_ok: bool = False
    resume: str | None = None
    weights: str | None = None
    patience: int = 0
    steps_per_execution: int | str = "auto"
    source: str | None = None
    format: str = "onnx"

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check the values; raise ``ValueError`` naming the key."""
        _choice(self.precision, "precision", ("32", "bf16-mixed", "16-mixed"))
        _choice(self.optimizer, "optimizer", ("sgd", "adam", "adamw"))
        _choice(self.scheduler, "scheduler", ("cosine", "step", "onecycle", "none"))
        _choice(self.format, "format", ("onnx", "torchscript"))
        for key in ("batch", "epochs", "nodes"):
            if getattr(self, key) < 1:
                raise ValueRangeError(f"{key} must be >= 1, got {getattr(self, key)}")
        for key in ("workers", "patience", "seed"):
            if getattr(self, key) < 0:
                raise ValueRangeError(f"{key} must be >= 0, got {getattr(self, key)}")
        if not self.lr > 0:
            raise ValueRangeError(f"lr must be > 0, got {self.lr}")
        if not self.weight_decay >= 0:
            raise ValueRangeError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.imgsz is not None and self.imgsz < 8:
            raise ValueRangeError(f"imgsz must be >= 8 (or none), got {self.imgsz}")
        parse_devices(self.devices)
        self.steps_per_execution = _steps_per_execution(self.steps_per_execution)

    @classmethod
    def keys(cls) -> list[str]:
        """The valid keys, sorted."""
        return sorted(f.name for f in dataclasses.fields(cls))


def _choice(value: str, name: str, choices: Iterable[str]) -> None:
    if value not in choices:
        raise ValueRangeError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


def _steps_per_execution(value: Any) -> int | str:
    """``auto`` or an integer >= 1 (typed as text on the command line)."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word == "auto":
            return "auto"
        value = int(word) if word.isascii() and word.isdigit() else value
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueRangeError(f"steps_per_execution must be an integer >= 1 or auto, got {value!r}")
    return value


def parse_devices(devices: str) -> tuple[str, int | list[int]]:
    """Split a ``devices`` value into a Lightning ``(accelerator, devices)`` pair.

    Example:
        >>> parse_devices("cpu"), parse_devices("cpu:2"), parse_devices("0,1")
        (('cpu', 1), ('cpu', 2), ('gpu', [0, 1]))
    """
    text = str(devices).strip().lower().replace(" ", "")
    if text == "auto":
        return "auto", 1
    if text == "cpu":
        return "cpu", 1
    if text.startswith("cpu:") and text[4:].isdigit() and int(text[4:]) >= 1:
        return "cpu", int(text[4:])
    parts = text.strip("[]").split(",")
    if parts and all(p.isdigit() for p in parts):
        return "gpu", [int(p) for p in parts]
    raise ValueRangeError(
        f"devices must be cpu, cpu:N, auto, a GPU index (0) or a list (0,1); got {devices!r}"
    )


def _field_types(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def parse_value(text: Any, annotation: Any, key: str) -> Any:
    """Convert ``text`` (a command-line word or a YAML value) to the type ``annotation``.

    Example:
        >>> parse_value("true", bool, "compile"), parse_value("3", int | None, "imgsz")
        (True, 3)
    """
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        if text is None or (isinstance(text, str) and text.strip().lower() in ("none", "null", "")):
            return None
        (annotation,) = (a for a in args if a is not type(None))
    if annotation is bool:
        if isinstance(text, bool):
            return text
        word = str(text).strip().lower()
        if word in ("true", "1", "yes", "on"):
            return True
        if word in ("false", "0", "no", "off"):
            return False
        raise ValueRangeError(f"{key} must be true or false, got {text!r}")
    if annotation is int:
        if isinstance(text, bool):
            raise WrongTypeError(f"{key} must be an integer, got {text!r}")
        try:
            value = float(text) if not isinstance(text, int) else text
        except (TypeError, ValueError):
            raise WrongTypeError(f"{key} must be an integer, got {text!r}") from None
        if value != int(value):
            raise WrongTypeError(f"{key} must be an integer, got {text!r}")
        return int(value)
    if annotation is float:
        try:
            return float(text)
        except (TypeError, ValueError):
            raise WrongTypeError(f"{key} must be a number, got {text!r}") from None
    if isinstance(text, (list, tuple)):  # a YAML list such as devices: [0, 1]
        return ",".join(str(t) for t in text)
    return str(text)


def parse_overrides(words: Iterable[str]) -> dict[str, str]:
    """Split ``key=value`` words into a dict (later words win).

    Example:
        >>> parse_overrides(["model=lenet5", "epochs=3"])
        {'model': 'lenet5', 'epochs': '3'}
    """
    out: dict[str, str] = {}
    for word in words:
        if "=" not in word or word.startswith("="):
            raise ValueRangeError(f"arguments must be key=value, got {word!r}")
        key, value = word.split("=", 1)
        out[key.strip()] = value.strip()
    return out


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a flat ``key: value`` YAML file; a missing or malformed file names its path."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise DataFormatError(f"{path}: not valid YAML ({err})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DataFormatError(
            f"{path}: expected a mapping of key: value, got {type(data).__name__}"
        )
    return {str(k): v for k, v in data.items()}


def build_config(
    cls: type[C],
    overrides: Mapping[str, Any] | None = None,
    *,
    config: str | Path | Mapping[str, Any] | None = None,
) -> C:
    """Resolve a config: the dataclass defaults, then ``config`` (a YAML path or a dict), then
    ``overrides`` (command-line words or Python keywords).

    Args:
        cls: the task's config dataclass (a :class:`RunConfig` subclass).
        overrides: ``{key: value}``, values as typed text or Python values.
        config: a YAML file (or mapping) of keys; ``overrides`` win over it.

    Returns:
        The validated config.

    Example:
        >>> cfg = build_config(RunConfig, {"epochs": "3"}, config={"epochs": 5, "lr": 0.1})
        >>> cfg.epochs, cfg.lr
        (3, 0.1)
    """
    merged: dict[str, Any] = {}
    if config is not None:
        merged.update(load_yaml(config) if isinstance(config, (str, Path)) else dict(config))
    merged.update(overrides or {})
    hints = _field_types(cls)
    unknown = sorted(set(merged) - set(hints))
    if unknown:
        raise ValueRangeError(
            f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"valid keys: {', '.join(cls.keys())}"
        )
    values = {k: parse_value(v, hints[k], k) for k, v in merged.items()}
    return cls(**values)


def config_to_dict(cfg: RunConfig) -> dict[str, Any]:
    """The config as a plain dict (what ``args.yaml`` holds)."""
    return dataclasses.asdict(cfg)
