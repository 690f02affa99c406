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
        # (sum of the step losses, number of steps) of the current epoch; the sum is a float64
        # tensor on the model's device, so no step waits for the device to hand a number back
        self._train_loss: tuple[Tensor | float, int] = (0.0, 0)
        self._stats: tuple[Tensor, Tensor] | None = None
        self._stats_key: tuple[torch.dtype, torch.device] | None = None

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

    def forward(self, images: Tensor) -> Any:
        return self.model(self.normalize(images))

    # training ----------------------------------------------------------------------------------
    def on_train_epoch_start(self) -> None:
        self._train_loss = (0.0, 0)

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        losses = self.task.training_step(self, batch)
        # a self.log call costs about 0.5 ms, a fifth of a small network's step: log the step
        # losses every log_every_n_steps steps only (the epoch mean is accumulated below)
        if batch_idx % self.trainer.log_every_n_steps == 0:
            for key, value in losses.items():
                self.log(f"train/{key}", value.detach(), prog_bar=key == "loss", on_step=True)
        total, n = self._train_loss
        # sum in float64 on the device: float(loss) would be a host sync at every step
        self._train_loss = (losses["loss"].detach().to(torch.float64) + total, n + 1)
        return losses["loss"]

    # evaluation --------------------------------------------------------------------------------
    def on_validation_epoch_start(self) -> None:
        self.state = self.task.metric_state(self.meta, self.device)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.task.update_metrics(self.state, self, batch)

    def on_validation_epoch_end(self) -> None:
        # metric sums (correct counts, confusion matrix, loss sums) are exact after a sum over
        # processes, whatever the share of each process
        strategy = self.trainer.strategy
        self.last_state = {
            k: strategy.reduce(v.to(torch.float64), reduce_op="sum").to(v.dtype)
            for k, v in self.state.items()
        }
        metrics = self.task.compute_metrics(self.last_state)
        self.epoch_metrics.update(metrics)
        for key, value in metrics.items():
            self.log(key, value, prog_bar=key == self.task.monitor, sync_dist=False)

    on_test_epoch_start = on_validation_epoch_start

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self.task.update_metrics(self.state, self, batch)

    on_test_epoch_end = on_validation_epoch_end

    # optimisation ------------------------------------------------------------------------------
    def configure_optimizers(self) -> Any:
        optimizer = build_optimizer(self.model.parameters(), self.cfg)
        scheduler = build_scheduler(optimizer, self.cfg, self.steps_per_epoch)
        if scheduler is None:
            return optimizer
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

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
