"""The engine's variants of Lightning parts: a checkpoint writer that writes new files, a
TensorBoard logger that flushes every few seconds, a progress bar that redraws at most every
tenth of a second and shows the engine's metrics (used by :func:`~pixlearn.engine.trainer.
build_trainer`), and the test of when an optimiser step may bypass Lightning's step wrappers
(:func:`direct_steps`, used by :class:`~pixlearn.engine.module.TaskModule`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import torch
from lightning.fabric.plugins import TorchCheckpointIO
from lightning.pytorch.callbacks import Callback, RichProgressBar
from lightning.pytorch.loggers import TensorBoardLogger
from lightning.pytorch.plugins.precision import MixedPrecision, Precision
from lightning.pytorch.profilers import PassThroughProfiler
from lightning.pytorch.strategies import SingleDeviceStrategy
from lightning.pytorch.utilities.model_helpers import is_overridden

from pixlearn._core.errors import ValueRangeError
from pixlearn.engine.runs import replace_file

__all__ = ["_FreshFileIO", "_RichBar", "_TensorBoard", "direct_steps"]

#: the hooks Lightning calls around a manual backward and optimiser step
_STEP_HOOKS = ("on_before_backward", "on_after_backward", "on_before_optimizer_step")


class _FreshFileIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, saving through :func:`~pixlearn.engine.runs.replace_file`.

    The stock writer renames a temporary file over the old checkpoint, which makes ext4 flush
    it at once (milliseconds per epoch); a new file in the old one's place costs a fraction.
    """

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None
    ) -> None:
        if storage_options is not None:
            raise TypeError(f"storage_options must be None for {type(self).__name__}")
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        replace_file(target, lambda tmp: torch.save(checkpoint, tmp))


class _TensorBoard(TensorBoardLogger):
    """Lightning's TensorBoard logger, writing its files every ``every`` seconds and at the end.

    Lightning calls ``save`` after every logged step; the stock logger then flushes the event
    file and looks for its ``hparams.yaml`` on disk, a few milliseconds each time. The events
    stay in the writer's queue until the next save here (at the latest at ``finalize``).
    """

    def __init__(self, *args: Any, every: float = 5.0, **kwargs: Any) -> None:
        if not every >= 0:
            raise ValueRangeError(f"every must be >= 0 seconds, got {every}")
        super().__init__(*args, **kwargs)
        self.every, self._saved = every, time.monotonic()

    def save(self) -> None:
        if time.monotonic() - self._saved >= self.every:
            super().save()
            self._saved = time.monotonic()

    def finalize(self, status: str) -> None:
        self._saved = -float("inf")  # the last save always writes
        super().finalize(status)


class _RichBar(RichProgressBar):
    """Lightning's rich progress bar, counting mini-batches (optimiser steps) and redrawn at
    most every ``every`` seconds (and at the end of an epoch).

    With ``steps_per_execution`` a Lightning batch carries a chunk of mini-batches: the bar's
    total is the epoch's mini-batches (``pl_module.steps_per_epoch``) and the module calls
    :meth:`tick` after each of them, so a chunk of slow steps still moves the bar. The stock bar
    also updates its task, gathers the logged metrics and redraws after every batch, about a
    tenth of a millisecond of Python per step; the screen itself refreshes at 10 Hz.
    """

    def __init__(self, every: float = 0.1, **kwargs: Any) -> None:
        if not every >= 0:
            raise ValueRangeError(f"every must be >= 0 seconds, got {every}")
        super().__init__(**kwargs)
        self.every, self._drawn = every, -float("inf")

    @property
    def total_train_batches(self) -> int | float:
        steps = getattr(self.trainer.lightning_module, "steps_per_epoch", None)
        return super().total_train_batches if steps is None else steps

    def tick(self, trainer: L.Trainer, pl_module: Any) -> None:
        """Show the mini-batches of this epoch done so far (``pl_module.steps_done``), if
        ``every`` seconds have passed since the last drawing."""
        self._draw(trainer, pl_module, pl_module.steps_done, last=False)

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        # a TaskModule counts its mini-batches; any other module Lightning's batches
        done = getattr(pl_module, "steps_done", batch_idx + 1)
        self._draw(trainer, pl_module, done, batch_idx + 1 >= trainer.num_training_batches)

    def _draw(self, trainer: L.Trainer, pl_module: Any, done: int, last: bool) -> None:
        """Lightning's update of the bar to ``done`` batches, at most every ``every`` s."""
        now = time.monotonic()
        if last or now - self._drawn >= self.every:
            super().on_train_batch_end(trainer, pl_module, None, None, done - 1)
            self._drawn = now

    def get_metrics(self, trainer: L.Trainer, pl_module: Any) -> dict[str, Any]:
        # the engine logs straight to TensorBoard, not through self.log: it hands the bar its
        # last step loss and the monitored metric itself
        metrics = super().get_metrics(trainer, pl_module)
        extra = getattr(pl_module, "bar_metrics", {})
        return {**metrics, **{k: f"{v:.4g}" for k, v in extra.items()}}


def direct_steps(trainer: L.Trainer, module: L.LightningModule) -> bool:
    """Whether ``loss.backward()`` and the bare optimiser's ``step()`` do exactly what
    ``module.manual_backward(loss)`` and ``LightningOptimizer.step()`` would in ``trainer``.

    Lightning's wrappers add, per step: the ``on_before_backward``/``on_after_backward``/
    ``on_before_optimizer_step`` hooks of every callback and of the module, each inside a
    profiler section; the loss scaling of ``16-mixed``; DDP's reducer preparation before the
    backward; gradient clipping; and the optimiser-step count (``global_step``). Together
    0.05-0.1 ms per step on a CPU, a few per cent of a small network's step. They are all
    no-ops when the strategy is a single device, the precision is ``32-true`` or ``bf16-mixed``
    (no scaler), no profiler or clipping is set and no callback or the module overrides the
    hooks (or the module its ``backward``); the step count is then kept by the optimiser's
    ``_on_before_step``/``_on_after_step``, which Lightning's manual loop installs for that
    purpose.
    """
    precision = trainer.precision_plugin
    plain_precision = type(precision) is Precision or (
        type(precision) is MixedPrecision and precision.scaler is None
    )
    hooked = any(
        is_overridden(hook, cb, Callback) for cb in trainer.callbacks for hook in _STEP_HOOKS
    ) or any(is_overridden(hook, module, L.LightningModule) for hook in (*_STEP_HOOKS, "backward"))
    return (
        type(trainer.strategy) is SingleDeviceStrategy
        and plain_precision
        and isinstance(trainer.profiler, PassThroughProfiler)
        and not trainer.gradient_clip_val
        and not hooked
    )
