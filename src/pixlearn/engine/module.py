"""``TaskModule``: the one LightningModule that runs any :class:`~pixlearn.engine.task.Task`.

The model stays a plain ``nn.Module`` (``self.model``); this wrapper adds what training needs:
input normalisation, the optimiser and learning-rate schedule, metric sums reduced over the DDP
processes, and the extra state (RNG, pixlearn metadata) that makes ``last.pt`` resumable.
"""

from __future__ import annotations

import math
import random
from typing import Any

import lightning.pytorch as L
import numpy as np
import torch
from torch import Tensor, nn

from pixlearn.engine._lightning import direct_steps
from pixlearn.engine.chunks import Chunk
from pixlearn.engine.config import RunConfig
from pixlearn.engine.task import Task

__all__ = ["TaskModule", "build_optimizer", "build_scheduler"]


def build_optimizer(params: Any, cfg: RunConfig) -> torch.optim.Optimizer:
    """The optimiser named by ``cfg.optimizer`` (SGD with Nesterov momentum 0.9, Adam, AdamW)."""
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=0.9, nesterov=True, weight_decay=cfg.weight_decay
        )
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def build_scheduler(
    optimizer: torch.optim.Optimizer, cfg: RunConfig, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """A per-step learning-rate schedule.

    ``cosine``: :math:`\\eta_t = \\eta_0 \\cdot \\tfrac12 (1 + \\cos(\\pi t / T))` with a linear
    warm-up over the first epoch; ``step``: divide by 10 at 1/2 and 3/4 of training;
    ``onecycle``: Smith's one-cycle policy.
    """
    total = max(1, cfg.epochs * steps_per_epoch)
    if cfg.scheduler == "none":
        return None
    if cfg.scheduler == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=total)
    if cfg.scheduler == "step":
        marks = [total // 2, (3 * total) // 4]
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=marks, gamma=0.1)
    warm = min(steps_per_epoch, total // 4)

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        # eta_t / eta_0 = (1 + cos(pi * t / T)) / 2, t counted after the warm-up
        return 0.5 * (1.0 + math.cos(math.pi * (step - warm) / max(1, total - warm)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


class TaskModule(L.LightningModule):
    """Trains and evaluates ``model`` for ``task``.

    Args:
        task: the task (config, loss, metrics).
        model: the plain network.
        meta: the data description (class names, channels, normalisation ``mean``/``std``).
        model_args: keyword arguments the model was built with (saved with the weights).
        steps_per_epoch: optimiser steps per epoch (for the schedule).
    """

    def __init__(
        self,
        task: Task,
        model: nn.Module,
        meta: dict[str, Any],
        model_args: dict[str, Any],
        *,
        steps_per_epoch: int = 1,
    ) -> None:
        super().__init__()
        self.task, self.model, self.meta, self.model_args = task, model, meta, model_args
        self.cfg = task.cfg
        self.steps_per_epoch = steps_per_epoch
        self.state: dict[str, Tensor] = {}
        self.last_state: dict[str, Tensor] = {}
        self.epoch_metrics: dict[str, float] = {}
        #: what the progress bar shows next to Lightning's own entries (last step loss, monitor)
        self.bar_metrics: dict[str, float] = {}
        # (sum of the step losses, number of steps) of the current epoch; the sum is a float64
        # tensor on the model's device, so no step waits for the device to hand a number back
        self._train_loss: tuple[Tensor | float, int] = (0.0, 0)
        #: (optimiser step, detached step losses) to log at the end of the Lightning batch
        self._step_losses: list[tuple[int, dict[str, Tensor]]] = []
        self._stats: tuple[Tensor, Tensor] | None = None
        self._stats_key: tuple[torch.dtype, torch.device] | None = None
        self._scheduler: Any = None
        #: backward and optimiser step without Lightning's wrappers (see _lightning.direct_steps)
        self._direct = False
        self.automatic_optimization = False  # training_step makes the optimiser step itself

    def normalize(self, images: Tensor) -> Tensor:
        """``(x - mean) / std`` per channel, with the training set's statistics."""
        key = (images.dtype, images.device)
        if self._stats_key != key:  # built once per dtype/device, not at every step
            self._stats = tuple(
                torch.tensor(self.meta[k], dtype=images.dtype, device=images.device)[:, None, None]
                for k in ("mean", "std")
            )
            self._stats_key = key
        mean, std = self._stats  # (C, 1, 1) each
        return (images - mean) / std  # (B, C, H, W)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Write ``metrics`` to the run's loggers (TensorBoard) at ``step`` (default: the current
        optimiser step).

        The values are plain floats, already reduced over the processes where needed, so they go
        straight to the loggers (which write on rank 0 only). ``LightningModule.log`` would do
        the same through Lightning's result collection, about 0.5 ms per call: as much as a
        fifth of a small network's step.
        """
        for logger in self.loggers:
            logger.log_metrics(metrics, step=self.global_step if step is None else step)

    def forward(self, images: Tensor) -> Any:
        return self.model(self.normalize(images))

    # training ----------------------------------------------------------------------------------
    def on_train_start(self) -> None:
        # the schedule Lightning built from configure_optimizers (restored on resume)
        scheduler = self.lr_schedulers()
        self._scheduler = scheduler[0] if isinstance(scheduler, list) else scheduler
        self._direct = direct_steps(self.trainer, self)

    def on_train_epoch_start(self) -> None:
        self._train_loss = (0.0, 0)

    @property
    def steps_done(self) -> int:
        """The mini-batches (optimiser steps) of the current epoch done so far."""
        return self._train_loss[1]

    def training_step(self, batch: Any, batch_idx: int) -> None:
        # a Chunk (steps_per_execution > 1) carries consecutive mini-batches: one optimiser step
        # each, exactly as if Lightning had handed them over one at a time
        minis = batch if isinstance(batch, Chunk) else (batch,)
        bar = self.trainer.progress_bar_callback
        tick = getattr(bar, "tick", None) if len(minis) > 1 else None
        for mini in minis:
            self._optimizer_step(mini)
            if tick is not None:  # the bar counts mini-batches, not chunks
                tick(self.trainer, self)
        # the step losses kept for the loggers, written once per Lightning batch, so that the
        # steps of a chunk run back to back (a logger call costs 0.1-0.2 ms inside the loop)
        for step, losses in self._step_losses:
            values = {f"train/{k}": float(v) for k, v in losses.items()}
            self.bar_metrics["loss"] = values["train/loss"]
            self.log_metrics(values, step)
        self._step_losses.clear()

    def _optimizer_step(self, batch: Any) -> None:
        # one optimiser step, written out (manual optimisation): Lightning's automatic loop wraps
        # the same four calls in a closure and a dozen hooks, a fifth of a small network's step.
        # manual_backward scales the loss under 16-mixed and lets DDP reduce the gradients (it
        # prepares DDP's reducer before every backward, so several steps per Lightning batch
        # are each reduced); optimizer.step() goes through the precision plugin (unscale, skip
        # on inf) and counts trainer.global_step. Where those wrappers only call hooks nobody
        # overrides (self._direct), the bare calls do the same work without them.
        optimizer, step = self.optimizers(), self.global_step
        total, n = self._train_loss  # n: the mini-batches of this epoch so far
        losses = self.task.training_step(self, batch)
        loss = losses["loss"]
        optimizer.zero_grad(set_to_none=True)  # type: ignore[union-attr]
        if self._direct:
            loss.backward()
            optimizer._on_before_step()  # type: ignore[union-attr]  # counts global_step
            optimizer.optimizer.step()  # type: ignore[union-attr]
            optimizer._on_after_step()  # type: ignore[union-attr]
        else:
            self.manual_backward(loss)
            optimizer.step()  # type: ignore[union-attr]
        if self._scheduler is not None:
            self._scheduler.step()  # a per-step schedule
        # the step losses go to the loggers every log_every_n_steps mini-batches of the epoch
        # (the epoch mean is accumulated below)
        if n % self.trainer.log_every_n_steps == 0:
            self._step_losses.append((step, {k: v.detach() for k, v in losses.items()}))
        # sum in float64 on the device: float(loss) would be a host sync at every step
        self._train_loss = (loss.detach().to(torch.float64) + total, n + 1)

    # evaluation --------------------------------------------------------------------------------
    def validation_loader(self) -> Any:
        """This process's validation data loader, or ``None`` (no validation). A subclass's.

        Not Lightning's ``val_dataloader`` hook: the pass runs in :meth:`validate_epoch`.
        """
        return None

    def validate_epoch(self) -> dict[str, float]:
        """The validation pass at the end of a training epoch; returns the epoch's metrics.

        The loop is written out instead of running Lightning's validation loop: its hooks,
        result collection and loader set-up cost a few milliseconds per epoch, as much as 5 % of
        a small network's epoch. The work is the same: the model in eval mode without
        gradients, this process's share of the data (every index once over the processes), the
        task's metric sums reduced over the processes, then the metrics logged. Called by
        :class:`~pixlearn.engine.trainer.RunWriter` before it writes the epoch's row.
        """
        loader = self.validation_loader()
        if loader is None:
            return {}
        was_training = self.training
        self.eval()
        # the task keeps example images only for the final evaluation's plots
        self.state = self.task.metric_state(self.meta, self.device, keep_examples=False)
        # under the run's precision (autocast for the mixed ones), as Lightning's loop would
        precision = self.trainer.precision_plugin
        with torch.no_grad(), precision.val_step_context():
            for item in loader:
                item = self.transfer_batch_to_device(item, self.device, 0)
                for batch in item if isinstance(item, Chunk) else (item,):
                    self.task.update_metrics(self.state, self, batch)
        metrics = self._reduce_metrics()
        self.train(was_training)
        return metrics

    def transfer_batch_to_device(
        self, batch: Any, device: torch.device, dataloader_idx: int
    ) -> Any:
        # Lightning's hook, called for every training batch: a tuple of tensors already on
        # the device is passed through without the generic traversal of the batch
        if isinstance(batch, Chunk):  # each mini-batch on its own
            return Chunk(self.transfer_batch_to_device(b, device, dataloader_idx) for b in batch)
        if isinstance(batch, (tuple, list)) and all(
            isinstance(t, Tensor) and t.device == device for t in batch
        ):
            return batch
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    def _reduce_metrics(self) -> dict[str, float]:
        # metric sums (correct counts, confusion matrix, loss sums) are exact after a sum over
        # processes, whatever the share of each process
        strategy = self.trainer.strategy
        self.last_state = {
            k: strategy.reduce(v.to(torch.float64), reduce_op="sum").to(v.dtype)
            for k, v in self.state.items()
        }
        metrics = self.task.compute_metrics(self.last_state)
        self.epoch_metrics.update(metrics)
        self.log_metrics(metrics)
        if self.task.monitor in metrics:
            self.bar_metrics[self.task.monitor] = metrics[self.task.monitor]
        return metrics

    # optimisation ------------------------------------------------------------------------------
    def configure_optimizers(self) -> Any:
        optimizer = build_optimizer(self.model.parameters(), self.cfg)
        scheduler = build_scheduler(optimizer, self.cfg, self.steps_per_epoch)
        if scheduler is None:
            return optimizer
        # stepped by training_step after every optimiser step (manual optimisation)
        return {"optimizer": optimizer, "lr_scheduler": scheduler}

    # checkpoint extras -------------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        from pixlearn.engine.runs import weights_metadata

        checkpoint["pixlearn"] = weights_metadata(
            task=self.task.name,
            model_name=self.cfg.model,
            model_args=self.model_args,
            meta=self.meta,
            epoch=self.current_epoch,
            metrics=self.epoch_metrics,
        )
        # plain types only, so that the checkpoint loads with torch.load(weights_only=True)
        kind, keys, pos, has_gauss, gauss = np.random.get_state()  # type: ignore[misc]
        checkpoint["rng"] = {
            "torch": torch.get_rng_state(),
            "numpy": (str(kind), torch.from_numpy(keys.copy()), int(pos), int(has_gauss), gauss),
            "python": random.getstate(),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        rng = checkpoint.get("rng")
        if rng:
            torch.set_rng_state(rng["torch"])
            kind, keys, pos, has_gauss, gauss = rng["numpy"]
            np.random.set_state((kind, keys.numpy(), pos, has_gauss, float(gauss)))
            random.setstate(rng["python"])
