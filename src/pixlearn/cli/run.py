"""``pixlearn <task> <mode> key=value ... [--config f.yaml]``, ``pixlearn models`` and
``pixlearn model summary``: the command-line face of :mod:`pixlearn.engine`.

``register(app)`` adds one command per task (``classify``, ``segment``, ``detect``, ``generate``,
``restore``); the words after the mode are ``key=value`` pairs, resolved over the ``--config``
file and the task's defaults (``pixlearn classify train model=lenet5 data=digits epochs=10``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["TASK_NAMES", "register", "run_command"]

#: The task commands (the same tuple as ``pixlearn.engine.task.TASK_NAMES``, kept here so that
#: building the command line does not import torch).
TASK_NAMES: tuple[str, ...] = ("classify", "segment", "detect", "generate", "restore")

_EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)


def run_command(task: str, mode: str, words: list[str], config: Path | None) -> None:
    """Run ``pixlearn <task> <mode> words... --config config``; errors end with exit code 2."""
    from pixlearn._core.errors import PixlearnError
    from pixlearn.engine import run
    from pixlearn.engine.config import parse_overrides

    try:
        overrides = parse_overrides(words)
        run(task, mode, overrides, config=config)
    except (PixlearnError, ValueError, TypeError, FileNotFoundError, NotImplementedError) as err:
        raise _fail(str(err)) from None


def _task_command(task: str):  # type: ignore[no-untyped-def]
    def command(
        ctx: typer.Context,
        mode: Annotated[str, typer.Argument(help="train, val, predict or export.")],
        config: Annotated[
            Path | None, typer.Option("--config", help="YAML file of keys (key=value wins).")
        ] = None,
    ) -> None:
        run_command(task, mode, list(ctx.args), config)

    command.__doc__ = (
        f"{task.capitalize()}: pixlearn {task} train|val|predict|export key=value ... "
        "(keys: model data devices nodes precision compile seed deterministic batch epochs lr "
        "optimizer scheduler workers imgsz name exist_ok resume weights patience "
        "steps_per_execution source format ...)"
    )
    return command


def _models(
    pattern: Annotated[str, typer.Argument(help="Glob pattern, e.g. 'resnet*'.")] = "*",
    task: Annotated[str | None, typer.Option("--task", help="Only models of this task.")] = None,
) -> None:
    """List the registered models (name, task, description)."""
    from rich.console import Console
    from rich.table import Table

    from pixlearn.models import list_models, model_entry

    try:
        names = list_models(pattern, task=task)
    except ValueError as err:
        raise _fail(str(err)) from None
    table = Table(title=f"{len(names)} models")
    for col in ("name", "task", "description"):
        table.add_column(col)
    for name in names:
        entry = model_entry(name)
        table.add_row(name, entry.task, entry.summary)
    Console().print(table)


def _summary(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Registered model name.")],
) -> None:
    """Print layers, output shapes, parameters, receptive field and FLOPs: NAME [imgsz=224]
    [in_chans=3] [num_classes=1000]."""
    from rich.console import Console

    import pixlearn.models as models
    from pixlearn.engine.config import parse_overrides

    try:
        keys = parse_overrides(list(ctx.args))
        unknown = sorted(set(keys) - {"imgsz", "in_chans", "num_classes"})
        if unknown:
            raise ValueError(
                f"unknown key {', '.join(unknown)}; valid keys: imgsz, in_chans, num_classes"
            )
        imgsz = int(keys.get("imgsz", 224))
        in_chans = int(keys.get("in_chans", 3))
        kwargs: dict[str, object] = {"in_chans": in_chans}
        if "num_classes" in keys:
            kwargs["num_classes"] = int(keys["num_classes"])
        if imgsz <= 64:
            kwargs["small_input"] = True
        try:
            model = models.create_model(name, **kwargs)
        except TypeError:  # a model without the small-input stem
            kwargs.pop("small_input", None)
            model = models.create_model(name, **kwargs)
    except (ValueError, TypeError) as err:
        raise _fail(str(err)) from None
    summarize = getattr(models, "summarize", None)
    if summarize is None:
        raise _fail("model summary needs pixlearn.models.summarize, which is not available")
    report = summarize(model, (1, in_chans, imgsz, imgsz))
    text = report.table() if hasattr(report, "table") else str(report)
    Console(width=max(120, Console().width)).print(text, highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    """Add the task commands, ``models`` and ``model summary`` to the ``pixlearn`` app."""
    for task in TASK_NAMES:
        app.command(name=task, context_settings=_EXTRA)(_task_command(task))
    app.command(name="models")(_models)
    model_app = typer.Typer(help="One model: its layers, shapes and costs.", no_args_is_help=True)
    model_app.command(name="summary", context_settings=_EXTRA)(_summary)
    app.add_typer(model_app, name="model")
