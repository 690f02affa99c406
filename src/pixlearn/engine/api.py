"""The Python face of ``pixlearn <task> <mode>``: :func:`train`, :func:`validate`,
:func:`predict`, :func:`export`, all taking the command line's keys as keyword arguments.

Example:
    >>> from pixlearn.engine import train
    >>> result = train("classify", model="lenet5", data="digits", epochs=1, limit=64,
    ...                project=__import__("tempfile").mkdtemp(), progress=False)  # doctest: +SKIP
    >>> result.run_dir.name  # doctest: +SKIP
    'train1'
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pixlearn._core.errors import ValueRangeError
from pixlearn.engine.config import (
    RunConfig,
    build_config,
    config_to_dict,
    parse_devices,
)
from pixlearn.engine.module import TaskModule
from pixlearn.engine.resume import resume_config, user_keys
from pixlearn.engine.runs import (
    load_checkpoint,
    make_run_dir,
    model_state,
    resolve_weights,
    write_args,
)
from pixlearn.engine.task import Task, get_task
from pixlearn.engine.trainer import EpochSampler

__all__ = ["MODES", "RunResult", "export", "predict", "run", "train", "validate"]

MODES: tuple[str, ...] = ("train", "val", "predict", "export")
RUN_DIR_ENV = "PIXLEARN_RUN_DIR"


@dataclasses.dataclass
class RunResult:
    """What a run produced.

    Attributes:
        run_dir: the run folder (``None`` for export, which writes next to the weights).
        metrics: final metrics (train: the best weights on the test split, when it exists).
        model: the trained or loaded model (plain ``nn.Module``, eval mode, CPU).
        weights: the weights file written (train) or used.
        files: other files written (plots, predictions, exported model).
        predictions: one dict per image (predict mode).
        config: the resolved config.
    """

    run_dir: Path | None
    metrics: dict[str, float]
    model: nn.Module | None = None
    weights: Path | None = None
    files: list[Path] = dataclasses.field(default_factory=list)
    predictions: list[dict[str, Any]] | None = None
    config: RunConfig | None = None


def _rank() -> int:
    return int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0")))


def _device(cfg: RunConfig) -> torch.device:
    accelerator, devices = parse_devices(cfg.devices)
    if accelerator != "cpu" and torch.cuda.is_available():
        return torch.device("cuda", devices[0] if isinstance(devices, list) else 0)
    return torch.device("cpu")


def _console_table(title: str, metrics: Mapping[str, float]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in metrics.items():
        table.add_row(k, f"{v:.4f}")
    Console().print(table)


def evaluate(module: TaskModule, dataset: Any, cfg: RunConfig) -> dict[str, Any]:
    """One pass over ``dataset`` on the module's device; returns the task's metric state."""
    from torch.utils.data import DataLoader

    sampler = EpochSampler(len(dataset), cfg.batch, shuffle=False)
    loader = DataLoader(dataset, batch_size=cfg.batch, sampler=sampler, num_workers=cfg.workers)
    device = next(module.model.parameters()).device
    module.eval()
    state = module.task.metric_state(module.meta, device)
    with torch.no_grad():
        for images, labels in loader:
            module.task.update_metrics(state, module, (images.to(device), labels.to(device)))
    return state


def _load_model(task: Task, weights: str, meta_data: dict[str, Any] | None) -> tuple[Any, ...]:
    """Rebuild the model of a weights file; check it against the data's classes if given."""
    from pixlearn.models import create_model

    path = resolve_weights(weights)
    ckpt = load_checkpoint(path)
    info = ckpt["pixlearn"]
    if meta_data is not None and len(info["classes"]) != len(meta_data["classes"]):
        raise ValueRangeError(
            f"weights: {path} was trained for {len(info['classes'])} classes but data "
            f"{task.cfg.data!r} has {len(meta_data['classes'])}; train a new model or pick "
            "matching data"
        )
    model = create_model(info["model"], **info["model_args"])
    model.load_state_dict(model_state(ckpt))
    return model, info, path


def _shared_run_dir(cfg: RunConfig, task: str) -> Path:
    """Rank 0 creates the run folder; the other DDP processes are told which one it is."""
    if os.environ.get(RUN_DIR_ENV) and _rank() > 0:
        return Path(os.environ[RUN_DIR_ENV])
    run_id = os.environ.get("TORCHELASTIC_RUN_ID")
    marker = Path(cfg.project) / task / f".torchrun-{run_id}" if run_id else None
    if marker is not None and _rank() > 0:  # started by torchrun: wait for rank 0's folder
        t0 = time.time()
        while not marker.is_file():
            if time.time() - t0 > 120:
                raise TimeoutError(f"rank {_rank()}: rank 0 did not create a run folder")
            time.sleep(0.2)
        return Path(marker.read_text().strip())
    run_dir = make_run_dir(cfg.project, task, "train", name=cfg.name, exist_ok=cfg.exist_ok)
    if marker is not None:
        marker.write_text(str(run_dir))
    os.environ[RUN_DIR_ENV] = str(run_dir)
    return run_dir


def train(
    task: str = "classify",
    *,
    config: str | Path | Mapping[str, Any] | None = None,
    progress: bool = True,
    **overrides: Any,
) -> RunResult:
    """Train a model: ``pixlearn <task> train key=value ...`` from Python.

    Args:
        task: ``classify`` (others: not implemented yet).
        config: a YAML file or mapping of keys; ``overrides`` win over it.
        progress: show the progress bar and the final table.
        **overrides: the command line's keys (``model="lenet5", epochs=5, ...``).

    Returns:
        A :class:`RunResult` with the run folder, the best weights' test metrics and the model.
    """
    from pixlearn.engine.trainer import RunWriter, build_trainer

    cls = get_task(task)
    if overrides.get("resume") or (
        config is not None and user_keys({}, config).get("resume") not in (None, "", "none")
    ):
        cfg, run_dir = resume_config(cls, overrides, config)
        ckpt_path: str | None = str(run_dir / "weights" / "last.pt")
    else:
        cfg = build_config(cls.config_class, overrides, config=config)
        run_dir, ckpt_path = None, None  # type: ignore[assignment]
    t = cls(cfg)
    train_ds, val_ds = t.build_data("train"), t.build_data("val")
    meta = t.data_meta(train_ds)
    if cfg.weights:
        model, info, _ = _load_model(t, cfg.weights, meta)
        model_args = dict(info["model_args"])
        cfg.model = info["model"]  # the weights decide the architecture
    else:
        model, model_args = t.build_model(meta)
    t.check_model(model, meta)  # a class-count mismatch stops here, before any training
    if run_dir is None:
        run_dir = _shared_run_dir(cfg, task)
    else:
        os.environ[RUN_DIR_ENV] = str(run_dir)
    if _rank() == 0:
        write_args(run_dir, config_to_dict(cfg))
    if cfg.compile:
        model.compile()
    module = _EngineModule(t, model, meta, model_args, train_ds=train_ds, val_ds=val_ds)
    callbacks: list[Any] = [RunWriter(run_dir, cls.monitor, cls.monitor_mode, cfg.patience)]
    trainer = build_trainer(cfg, run_dir, callbacks=callbacks, progress=progress)
    torch.manual_seed(cfg.seed)
    trainer.fit(module, ckpt_path=ckpt_path)
    if not trainer.is_global_zero:
        return RunResult(run_dir, {}, config=cfg)
    marker = Path(cfg.project) / task / f".torchrun-{os.environ.get('TORCHELASTIC_RUN_ID')}"
    marker.unlink(missing_ok=True)  # every process has read it before fit's first barrier
    # final evaluation of the best weights, on the test split when the data has one
    best = run_dir / "weights" / "best.pt"
    model = model.cpu()
    model.load_state_dict(model_state(load_checkpoint(best)))
    try:
        test_ds, prefix = t.build_data("test"), "test"
    except ValueError:
        test_ds, prefix = val_ds, "val"
    final = TaskModule(t, model, meta, model_args)
    state = evaluate(final, test_ds, cfg)
    metrics = {k.replace("val/", f"{prefix}/"): v for k, v in t.compute_metrics(state).items()}
    files = t.plots(run_dir, state, meta)
    if progress:
        _console_table(f"{task} train: best weights ({run_dir})", metrics)
    return RunResult(run_dir, metrics, model.eval(), best, files, config=cfg)


class _EngineModule(TaskModule):
    """TaskModule with the loaders of a run (built after DDP set the rank and world size)."""

    def __init__(self, *args: Any, train_ds: Any, val_ds: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.train_ds, self.val_ds = train_ds, val_ds
        self._val_loader: Any = None

    def _loader(self, ds: Any, train: bool, steps: int = 1) -> Any:
        from pixlearn.engine.trainer import make_loader

        world = self.trainer.world_size
        return make_loader(
            ds,
            self.cfg,
            train=train,
            rank=self.global_rank,
            world=world,
            collate=self.task.collate(),
            steps=steps,
        )

    def _steps(self, ds: Any) -> int:
        """Mini-batches per loader item for ``ds`` (``steps_per_execution``)."""
        from pixlearn.engine.chunks import resolve_steps
        from pixlearn.engine.trainer import tensor_source

        source = tensor_source(ds) if self.task.collate() is None else None
        world = self.trainer.world_size
        # a mini-batch as the loader gives it: float32 images, this process's share
        size = None if source is None else 4 * source[0][0].numel() * (self.cfg.batch // world)
        return resolve_steps(
            self.cfg.steps_per_execution,
            in_memory=source is not None,
            world=world,
            model=self.model,
            batch_bytes=size,
        )

    def train_dataloader(self) -> Any:
        # several mini-batches per Lightning batch (steps_per_execution): the same steps
        return self._loader(self.train_ds, True, self._steps(self.train_ds))

    def validation_loader(self) -> Any:
        if self._val_loader is None:  # built once: its sampler's order never changes
            # chunks here too: one loader item (and its fixed cost) per N mini-batches
            self._val_loader = self._loader(self.val_ds, False, self._steps(self.val_ds))
        return self._val_loader

    def configure_optimizers(self) -> Any:
        world, n = self.trainer.world_size, len(self.train_ds)
        global_batch = max(world, (min(self.cfg.batch, n) // world) * world)  # as EpochSampler
        self.steps_per_epoch = max(1, n // global_batch)
        return super().configure_optimizers()


def _mode_setup(task: str, mode: str, overrides: Mapping[str, Any], config: Any) -> tuple[Any, ...]:
    cls = get_task(task)
    cfg = build_config(cls.config_class, overrides, config=config)
    if not cfg.weights:
        raise ValueRangeError(f"weights: {task} {mode} needs weights=<file or run folder>")
    return cls(cfg), cfg


def validate(
    task: str = "classify",
    *,
    config: str | Path | Mapping[str, Any] | None = None,
    progress: bool = True,
    **overrides: Any,
) -> RunResult:
    """Evaluate weights on a split (``split=val`` by default): ``pixlearn <task> val``."""
    t, cfg = _mode_setup(task, "val", overrides, config)
    ds = t.build_data(getattr(cfg, "split", "val"))
    data_meta = {"classes": list(ds.classes)}  # type: ignore[attr-defined]
    model, info, path = _load_model(t, cfg.weights, data_meta)
    module = TaskModule(t, model.to(_device(cfg)), info, info["model_args"])
    state = evaluate(module, ds, cfg)
    metrics = t.compute_metrics(state)
    run_dir = make_run_dir(cfg.project, task, "val", name=cfg.name, exist_ok=cfg.exist_ok)
    write_args(run_dir, config_to_dict(cfg))
    import json

    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=1))
    files = t.plots(run_dir, {k: v.cpu() for k, v in state.items()}, info)
    if progress:
        _console_table(f"{task} val: {path}", metrics)
    return RunResult(run_dir, metrics, model.cpu().eval(), path, files, config=cfg)


def predict(
    task: str = "classify",
    *,
    config: str | Path | Mapping[str, Any] | None = None,
    progress: bool = True,
    **overrides: Any,
) -> RunResult:
    """Predict files, folders or globs (``source=``): ``pixlearn <task> predict``."""
    t, cfg = _mode_setup(task, "predict", overrides, config)
    if not cfg.source:
        raise ValueRangeError("source: predict needs source=<files, folders or globs>")
    model, info, path = _load_model(t, cfg.weights, None)
    run_dir = make_run_dir(cfg.project, task, "predict", name=cfg.name, exist_ok=cfg.exist_ok)
    write_args(run_dir, config_to_dict(cfg))
    sources = [s for s in str(cfg.source).split(",") if s]
    rows = t.predict(model.to(_device(cfg)), info, sources, run_dir)
    files = [run_dir / "predictions.csv", run_dir / "predictions.json"]
    if progress:
        from rich.console import Console

        Console().print(f"{len(rows)} predictions written to [bold]{run_dir}[/bold]")
    return RunResult(run_dir, {}, model.cpu().eval(), path, files, predictions=rows, config=cfg)


def export(
    task: str = "classify",
    *,
    config: str | Path | Mapping[str, Any] | None = None,
    progress: bool = True,
    **overrides: Any,
) -> RunResult:
    """Export weights to ``format=onnx|torchscript`` next to them and check the export."""
    from pixlearn.engine.export import export_model

    t, cfg = _mode_setup(task, "export", overrides, config)
    model, info, path = _load_model(t, cfg.weights, None)
    suffix = ".onnx" if cfg.format == "onnx" else ".torchscript"
    out, diff = export_model(
        model,
        path.with_suffix(suffix),
        fmt=cfg.format,
        in_chans=info["in_chans"],
        imgsz=int(cfg.imgsz or info["imgsz"]),
        mean=info["mean"],
        std=info["std"],
    )
    if progress:
        from rich.console import Console

        Console().print(f"exported [bold]{out}[/bold]; max abs difference vs PyTorch: {diff:.3e}")
    return RunResult(None, {"max_abs_diff": diff}, model.eval(), path, [out], config=cfg)


def run(
    task: str,
    mode: str,
    overrides: Mapping[str, Any] | None = None,
    *,
    config: str | Path | Mapping[str, Any] | None = None,
    progress: bool = True,
) -> RunResult:
    """Dispatch ``pixlearn <task> <mode>``: the same as calling :func:`train` etc."""
    funcs = {"train": train, "val": validate, "predict": predict, "export": export}
    if mode not in funcs:
        raise ValueRangeError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    cls = get_task(task)  # "not implemented yet" before anything else
    overrides = dict(overrides or {})
    if {"config", "progress", "task"} & overrides.keys():
        # not keys but arguments of the Python API: the usual "unknown key" error names them
        build_config(cls.config_class, overrides, config=config)
    return funcs[mode](task, config=config, progress=progress, **overrides)
