"""The Lightning ``Trainer`` of a run, its data loaders, and the callback writing the run folder.

Reproducibility is built in rather than hoped for: the data order of epoch ``e`` is a permutation
drawn from ``seed + e`` (:class:`EpochSampler`), the same for 1 or N processes, so a resumed run
sees exactly the batches an uninterrupted one sees; ``last.pt`` holds model, optimiser,
scheduler, loop counters and RNG state.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import torch
from lightning.pytorch.callbacks import Callback
from torch.utils.data import DataLoader, Dataset, Sampler

from pixlearn.engine.config import RunConfig, parse_devices
from pixlearn.engine.runs import plot_results, save_weights, weights_metadata, write_results

__all__ = ["EpochSampler", "RunWriter", "build_trainer", "make_loader", "world_info"]

#: Test hook: the training process kills itself (SIGKILL) after this many optimiser steps.
KILL_ENV = "PIXLEARN_KILL_AFTER_STEPS"


def world_info(cfg: RunConfig) -> tuple[str, int | list[int], int]:
    """``(accelerator, devices, nodes)`` for Lightning; under ``torchrun`` its environment wins."""
    accelerator, devices = parse_devices(cfg.devices)
    if "LOCAL_WORLD_SIZE" in os.environ and "WORLD_SIZE" in os.environ:
        local, world = int(os.environ["LOCAL_WORLD_SIZE"]), int(os.environ["WORLD_SIZE"])
        return accelerator, local, max(1, world // max(local, 1))
    return accelerator, devices, cfg.nodes


class EpochSampler(Sampler[int]):
    """Indices of this process for one epoch, reproducible from ``(seed, epoch)``.

    The global order is ``randperm(n)`` drawn from ``seed + epoch`` (or ``0..n-1`` without
    shuffling). With ``world`` processes, each global batch of ``batch`` indices is cut into
    ``world`` equal slices and process ``rank`` takes slice ``rank``: the union of the processes'
    batches is the single-process batch, so DDP's averaged gradient equals the global one.

    Args:
        n: data-set length.
        batch: global batch size.
        shuffle: permute every epoch (training) or keep the order (evaluation).
        seed: base seed of the permutations.
        rank: this process's index.
        world: number of processes.
        drop_last: drop the last incomplete global batch (training).

    Example:
        >>> s = EpochSampler(10, 4, shuffle=False, rank=1, world=2, drop_last=True)
        >>> list(s)
        [2, 3, 6, 7]
    """

    def __init__(
        self,
        n: int,
        batch: int,
        *,
        shuffle: bool,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
        drop_last: bool = False,
    ) -> None:
        self.n, self.shuffle, self.seed, self.rank, self.world = n, shuffle, seed, rank, world
        self.drop_last = drop_last
        # the global batch must split evenly over the processes
        self.batch = max(world, (min(batch, max(n, 1)) // world) * world)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning at the start of every epoch."""
        self.epoch = epoch

    def _order(self) -> list[int]:
        if not self.shuffle:
            return list(range(self.n))
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return torch.randperm(self.n, generator=g).tolist()

    def __iter__(self) -> Iterator[int]:
        order, b, per = self._order(), self.batch, self.batch // self.world
        if self.drop_last:
            full = (self.n // b) * b
            for start in range(0, full, b):
                yield from order[start + self.rank * per : start + (self.rank + 1) * per]
        else:  # evaluation: process r takes every world-th index, so each index is seen once
            yield from order[self.rank :: self.world]

    def __len__(self) -> int:
        if self.drop_last:
            return (self.n // self.batch) * (self.batch // self.world)
        return len(range(self.rank, self.n, self.world))


def make_loader(
    dataset: Dataset,
    cfg: RunConfig,
    *,
    train: bool,
    rank: int = 0,
    world: int = 1,
    collate: Any = None,
) -> DataLoader:
    """The data loader of one process: per-process batch ``cfg.batch // world``."""
    n = len(dataset)  # type: ignore[arg-type]
    sampler = EpochSampler(
        n, cfg.batch, shuffle=train, seed=cfg.seed, rank=rank, world=world, drop_last=train
    )
    return DataLoader(
        dataset,
        batch_size=sampler.batch // world,
        sampler=sampler,
        num_workers=cfg.workers,
        collate_fn=collate,
        persistent_workers=cfg.workers > 0,
        drop_last=False,
    )


class RunWriter(Callback):
    """Writes ``results.csv``/``.png``, ``weights/last.pt`` and ``weights/best.pt`` every epoch.

    Args:
        run_dir: the run folder.
        monitor: metric selecting ``best.pt``; ``mode`` ``"max"`` or ``"min"``.
    """

    def __init__(self, run_dir: Path, monitor: str, mode: str) -> None:
        self.run_dir, self.monitor, self.mode = run_dir, monitor, mode
        self.rows: list[dict[str, float]] = []
        self.best: float | None = None
        self._t0 = time.perf_counter()
        kill = os.environ.get(KILL_ENV)
        self.kill_after = int(kill) if kill else 0

    def state_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "best": self.best}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rows, self.best = list(state["rows"]), state["best"]

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        if self.kill_after and trainer.global_step >= self.kill_after:
            os.kill(os.getpid(), signal.SIGKILL)  # the resume test: die like a crashed job

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        total, n = pl_module._train_loss
        mean = torch.tensor(total / max(n, 1), dtype=torch.float64, device=pl_module.device)
        # every process trains on its own share: average the per-process means
        mean = trainer.strategy.reduce(mean, reduce_op="mean")
        metrics = {"train/loss": float(mean), **pl_module.epoch_metrics}
        metrics["lr"] = float(trainer.optimizers[0].param_groups[0]["lr"])
        row = {"epoch": float(trainer.current_epoch), **metrics}
        row["time"] = time.perf_counter() - self._t0
        self.rows.append(row)
        value = metrics.get(self.monitor)
        improved = value is not None and (
            self.best is None or (value > self.best if self.mode == "max" else value < self.best)
        )
        if improved:
            self.best = value
        weights = self.run_dir / "weights"
        # every process takes part in saving (a collective under DDP); rank 0 writes
        trainer.save_checkpoint(weights / "last.pt", weights_only=False)
        row["time"] = time.perf_counter() - self._t0  # the whole epoch: steps, validation, saving
        if trainer.is_global_zero:
            write_results(self.run_dir / "results.csv", self.rows)
            if improved:
                meta = weights_metadata(
                    task=pl_module.task.name,
                    model_name=pl_module.cfg.model,
                    model_args=pl_module.model_args,
                    meta=pl_module.meta,
                    epoch=trainer.current_epoch,
                    metrics=metrics,
                )
                save_weights(weights / "best.pt", pl_module.model, meta)

    def on_train_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        # the curves once at the end (a plot per epoch would cost more than a small epoch)
        if trainer.is_global_zero and self.rows:
            plot_results(self.rows, self.run_dir / "results.png")


def build_trainer(
    cfg: RunConfig,
    run_dir: Path,
    *,
    callbacks: list[Callback] | None = None,
    progress: bool = True,
    logger: bool = True,
) -> L.Trainer:
    """The Lightning Trainer for ``cfg``: devices, nodes, precision, determinism, DDP, loggers."""
    import warnings

    from lightning.pytorch.callbacks import RichProgressBar, TQDMProgressBar

    # a short epoch logs less often than every 10 steps: expected, not worth a warning
    warnings.filterwarnings("ignore", message="The number of training batches")
    accelerator, devices, nodes = world_info(cfg)
    count = len(devices) if isinstance(devices, list) else devices
    distributed = count * nodes > 1
    loggers: Any = False
    if logger:
        from lightning.pytorch.loggers import TensorBoardLogger

        loggers = [TensorBoardLogger(str(run_dir), name="tb", version="", default_hp_metric=False)]
    bar: list[Callback] = []
    if progress:
        try:
            bar = [RichProgressBar(leave=True)]
        except (ImportError, ModuleNotFoundError):  # pragma: no cover - rich is a dependency
            bar = [TQDMProgressBar()]
    return L.Trainer(
        accelerator=accelerator,
        devices=devices,
        num_nodes=nodes,
        strategy="ddp" if distributed else "auto",
        precision=cfg.precision,  # type: ignore[arg-type]
        max_epochs=cfg.epochs,
        deterministic=cfg.deterministic,
        logger=loggers,
        callbacks=[*(callbacks or []), *bar],
        enable_progress_bar=progress,
        enable_checkpointing=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        use_distributed_sampler=False,
        log_every_n_steps=10,
        default_root_dir=str(run_dir),
    )
