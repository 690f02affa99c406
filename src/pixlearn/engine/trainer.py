"""The Lightning ``Trainer`` of a run, its data loaders, and the callback writing the run folder.

Reproducibility is built in rather than hoped for: the data order of epoch ``e`` is a permutation
drawn from ``seed + e`` (:class:`EpochSampler`), the same for 1 or N processes, so a resumed run
sees exactly the batches an uninterrupted one sees; ``last.pt`` holds model, optimiser,
scheduler, loop counters and RNG state.

Throughput is kept close to a hand-written loop by removing what costs time at every step or
epoch without changing what is computed: a data set held in memory is read a batch at a time by
one gather (:class:`TensorBatches`) instead of one ``__getitem__`` per item and a collate; the
optimiser step is written out in ``training_step`` (manual optimisation, no closure); the
validation pass is a plain loop at the end of the epoch instead of Lightning's validation loop;
metrics go straight to the loggers instead of through ``self.log``; the TensorBoard files are
flushed every few seconds; checkpoints and ``results.csv`` are written as new files or appended
to (:func:`~pixlearn.engine.runs.replace_file`) rather than overwritten; the step losses are
summed on the device (no host sync); Lightning's own per-batch loop is paid once per chunk of
``steps_per_execution`` mini-batches (:mod:`~pixlearn.engine.chunks`).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as L
import torch
from lightning.pytorch.callbacks import Callback
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler, Subset

from pixlearn.engine._lightning import _FreshFileIO, _RichBar, _TensorBoard
from pixlearn.engine.chunks import ChunkedBatches, ChunkSampler
from pixlearn.engine.config import RunConfig, parse_devices
from pixlearn.engine.runs import (
    append_results,
    plot_results,
    save_weights,
    weights_metadata,
    write_results,
)

__all__ = [
    "EpochSampler",
    "RunWriter",
    "TensorBatches",
    "build_trainer",
    "make_loader",
    "tensor_source",
    "world_info",
]

#: Test hook: the training process kills itself (SIGKILL) after this many optimiser steps
#: (checked after every Lightning batch: with ``steps_per_execution > 1``, after every chunk).
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


def tensor_source(dataset: Any) -> tuple[Tensor, Tensor, Tensor | None] | None:
    """``(images, targets, rows)`` of a data set held in memory, or ``None``.

    Recognised: pixlearn's :class:`~pixlearn.data.datasets.base.TensorDataset` without a
    transform, and ``Subset`` or ``DatasetSubset`` views of it (``rows``: the parent rows of the
    view's items; ``None`` for the whole set). Anything else (files, transforms, ``torch``'s
    ``TensorDataset``, whose items keep their stored dtypes) takes the per-item path.

    Example:
        >>> from pixlearn.data.datasets.base import TensorDataset
        >>> ds = TensorDataset(torch.rand(5, 1, 4, 4), torch.tensor([0, 1, 0, 1, 1]), ["a", "b"])
        >>> images, targets, rows = tensor_source(torch.utils.data.Subset(ds, [3, 1]))
        >>> images.shape, rows.tolist()
        (torch.Size([5, 1, 4, 4]), [3, 1])
    """
    from pixlearn.data.datasets.base import DatasetSubset, TensorDataset

    if isinstance(dataset, (Subset, DatasetSubset)):
        if isinstance(dataset, DatasetSubset) and dataset.transform is not None:
            return None
        parent = tensor_source(dataset.dataset)
        if parent is None:
            return None
        images, targets, rows = parent
        own = torch.as_tensor(dataset.indices, dtype=torch.int64).reshape(-1)
        return images, targets, own if rows is None else rows[own]
    if isinstance(dataset, TensorDataset) and dataset.transform is None:
        return dataset.images, dataset.targets, None
    return None


class TensorBatches(Dataset):
    """A data set held in memory, read a whole batch at a time.

    The data loader calls :meth:`__getitems__` with the batch's indices: one gather
    ``images[rows[indices]]`` replaces ``len(indices)`` calls of ``__getitem__`` and the stacking
    collate (for a small network that per-item work costs as much as the training step). The
    batch equals the default path's exactly: uint8 images are divided by 255 in float32, floating
    images are cast to float32, labels are int64.

    Args:
        images: ``(N, C, H, W)`` uint8 or floating.
        targets: ``(N,)`` integer labels.
        rows: the rows of ``images`` this set lists, in order (``None``: all of them).

    Example:
        >>> ds = TensorBatches(torch.rand(6, 1, 4, 4), torch.arange(6) % 2, torch.tensor([5, 0]))
        >>> x, y = ds.__getitems__([1, 0])
        >>> x.shape, y.tolist(), len(ds)
        (torch.Size([2, 1, 4, 4]), [0, 1], 2)
    """

    def __init__(self, images: Tensor, targets: Tensor, rows: Tensor | None = None) -> None:
        self.images, self.targets, self.rows = images, targets.to(torch.int64), rows

    def __len__(self) -> int:
        return int(self.targets.shape[0] if self.rows is None else self.rows.shape[0])

    def __getitems__(self, indices: Sequence[int]) -> tuple[Tensor, Tensor]:
        idx = torch.as_tensor(indices, dtype=torch.int64)  # (B,)
        if self.rows is not None:
            idx = self.rows[idx]
        x = self.images[idx]  # (B, C, H, W), a copy: the data set is never written
        x = x.to(torch.float32) / 255.0 if x.dtype == torch.uint8 else x.to(torch.float32)
        return x, self.targets[idx]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        x, y = self.__getitems__([index])
        return x[0], y[0]


def _batch_as_is(batch: Any) -> Any:
    """The collate of :class:`TensorBatches`: its batches are already stacked."""
    return batch


def make_loader(
    dataset: Dataset,
    cfg: RunConfig,
    *,
    train: bool,
    rank: int = 0,
    world: int = 1,
    collate: Any = None,
    steps: int = 1,
) -> DataLoader:
    """The data loader of one process: per-process batch ``cfg.batch // world``.

    A data set held in memory (:func:`tensor_source`) without a task collate is read a batch
    at a time (:class:`TensorBatches`); the batches are the same as with the default path.
    ``steps > 1``: each item of the loader is a :class:`~pixlearn.engine.chunks.Chunk` of up to
    ``steps`` consecutive mini-batches (the same mini-batches, in the same order).
    """
    n = len(dataset)  # type: ignore[arg-type]
    sampler = EpochSampler(
        n, cfg.batch, shuffle=train, seed=cfg.seed, rank=rank, world=world, drop_last=train
    )
    source = tensor_source(dataset) if collate is None else None
    if steps > 1:
        if source is not None:
            dataset = ChunkedBatches(TensorBatches(*source), stacked=True)
        else:
            dataset = ChunkedBatches(dataset, collate)
        return DataLoader(
            dataset,
            batch_sampler=ChunkSampler(sampler, sampler.batch // world, steps),
            num_workers=cfg.workers,
            collate_fn=_batch_as_is,
            persistent_workers=cfg.workers > 0,
        )
    if source is not None:
        dataset, collate = TensorBatches(*source), _batch_as_is
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
    """Writes ``results.csv``/``.png``, ``weights/last.pt`` and ``weights/best.pt`` every epoch,
    and stops the run after ``patience`` epochs without improvement.

    Args:
        run_dir: the run folder.
        monitor: metric selecting ``best.pt``; ``mode`` ``"max"`` or ``"min"``.
        patience: stop when ``monitor`` has not improved for this many epochs (0: never).
    """

    def __init__(self, run_dir: Path, monitor: str, mode: str, patience: int = 0) -> None:
        self.run_dir, self.monitor, self.mode, self.patience = run_dir, monitor, mode, patience
        self.rows: list[dict[str, float]] = []
        self.best: float | None = None
        self.wait = 0  # epochs since the last improvement
        self._header: list[str] | None = None  # the header results.csv was written with
        self._t0 = time.perf_counter()
        kill = os.environ.get(KILL_ENV)
        self.kill_after = int(kill) if kill else 0

    def state_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "best": self.best, "wait": self.wait}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rows, self.best = list(state["rows"]), state["best"]
        self.wait = int(state.get("wait", 0))

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, trainer: L.Trainer, *args: Any) -> None:
        if self.kill_after and trainer.global_step >= self.kill_after:
            os.kill(os.getpid(), signal.SIGKILL)  # the resume test: die like a crashed job

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        pl_module.validate_epoch()  # the epoch's validation metrics, into pl_module.epoch_metrics
        total, n = pl_module._train_loss  # a float64 tensor on the device, and a count
        mean = torch.as_tensor(total, dtype=torch.float64, device=pl_module.device) / max(n, 1)
        # every process trains on its own share: average the per-process means
        mean = trainer.strategy.reduce(mean, reduce_op="mean")
        metrics = {"train/loss": float(mean), **pl_module.epoch_metrics}
        metrics["lr"] = float(trainer.optimizers[0].param_groups[0]["lr"])
        pl_module.log_metrics({"train/epoch_loss": metrics["train/loss"], "lr": metrics["lr"]})
        row = {"epoch": float(trainer.current_epoch), **metrics}
        row["time"] = time.perf_counter() - self._t0
        self.rows.append(row)
        value = metrics.get(self.monitor)
        improved = value is not None and (
            self.best is None or (value > self.best if self.mode == "max" else value < self.best)
        )
        if improved:
            self.best, self.wait = value, 0
        else:
            self.wait += 1
        # the monitor is reduced over the processes, so every process decides the same
        if self.patience and self.wait >= self.patience:
            trainer.should_stop = True
        weights = self.run_dir / "weights"
        # every process takes part in saving (a collective under DDP); rank 0 writes
        trainer.save_checkpoint(weights / "last.pt", weights_only=False)
        row["time"] = time.perf_counter() - self._t0  # the whole epoch: steps, validation, saving
        if trainer.is_global_zero:
            path = self.run_dir / "results.csv"
            # one appended line per epoch; the whole file when it is new to this process (a
            # resumed run rewrites what the checkpoint knows) or a new column appears
            if self._header is None or not append_results(path, row, self._header):
                self._header = write_results(path, self.rows)
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

    from lightning.pytorch.callbacks import TQDMProgressBar

    # a short epoch logs less often than every 10 steps: expected, not worth a warning
    warnings.filterwarnings("ignore", message="The number of training batches")
    accelerator, devices, nodes = world_info(cfg)
    count = len(devices) if isinstance(devices, list) else devices
    distributed = count * nodes > 1
    loggers: Any = False
    if logger:
        loggers = [_TensorBoard(str(run_dir), name="tb", version="", default_hp_metric=False)]
    bar: list[Callback] = []
    if progress:
        try:
            bar = [_RichBar(leave=True)]
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
        plugins=[_FreshFileIO()],
    )
