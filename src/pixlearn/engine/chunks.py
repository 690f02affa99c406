"""Several mini-batches per Lightning batch (Keras' ``steps_per_execution``).

Lightning spends a fixed time on every batch it hands to ``training_step``: about 16 hook calls,
its data fetcher, progress counters, about 0.15 ms in all. Next to a small network's step (LeNet-5
at batch 32 takes about 2 ms on a CPU) that is several per cent of the run. With
``steps_per_execution=N`` the training loader yields a :class:`Chunk` of up to ``N`` consecutive
mini-batches as one Lightning batch, and :class:`~pixlearn.engine.module.TaskModule` makes one
optimiser step per mini-batch: the same mini-batches in the same order, the same steps, the same
schedule, only Lightning's per-batch cost is paid once per chunk.

Notes:
    With ``S`` mini-batches per epoch the loader yields :math:`\\lceil S / N \\rceil` chunks;
    chunk ``c`` holds mini-batches :math:`cN, \\dots, \\min((c+1)N, S) - 1` (the last chunk of an
    epoch is shorter when ``N`` does not divide ``S``). Lightning's overhead per mini-batch falls
    from :math:`t_L` to :math:`t_L / N`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset, Sampler, default_collate

from pixlearn._core.errors import ValueRangeError

__all__ = [
    "AUTO_BYTES",
    "AUTO_MAX_STEPS",
    "AUTO_STEPS",
    "Chunk",
    "ChunkSampler",
    "ChunkedBatches",
    "resolve_steps",
]

#: Mini-batches per chunk under ``steps_per_execution=auto`` for data held in memory when the
#: size of a mini-batch is not known: Lightning's per-batch cost (a fraction of a millisecond)
#: then costs a few per cent of a 2 ms step at most.
AUTO_STEPS = 8
#: ... and when it is known: as many mini-batches as fit in this many bytes of images (a chunk
#: is gathered at once), at most :data:`AUTO_MAX_STEPS`. The progress bar counts mini-batches,
#: so a long chunk still moves it.
AUTO_BYTES = 8 * 2**20
AUTO_MAX_STEPS = 64


class Chunk(list):  # type: ignore[type-arg]
    """Consecutive mini-batches handed to ``training_step`` as one Lightning batch.

    A ``list`` of the mini-batches, each as the data loader would give it alone; its own type so
    that a task whose batches are lists is never mistaken for a chunk.

    Example:
        >>> chunk = Chunk([(torch.zeros(2, 1), torch.tensor([0, 1]))])
        >>> len(chunk), isinstance(chunk, list)
        (1, True)
    """


def resolve_steps(
    value: int | str,
    *,
    in_memory: bool,
    world: int = 1,
    model: nn.Module | None = None,
    batch_bytes: int | None = None,
) -> int:
    """The number of mini-batches per chunk for the key ``steps_per_execution``.

    An integer is used as it is. ``auto`` gives, when the training data is read from memory
    (where Lightning's per-batch cost is a visible share of a small network's step), as many
    mini-batches of ``batch_bytes`` as fit in :data:`AUTO_BYTES` (1 to :data:`AUTO_MAX_STEPS`;
    :data:`AUTO_STEPS` when the size is not given), and 1 for data read from files or through a
    task's collate (where reading costs more than Lightning).
    Under DDP ``auto`` also stays at 1 when the model has buffers: DDP copies rank 0's buffers
    (batch-norm statistics) to the other processes at every forward of the wrapped module, i.e.
    once per chunk, so the other processes' buffers would drift within a chunk.

    Args:
        value: the key's value, ``"auto"`` or an integer >= 1.
        in_memory: the training data is read from tensors in memory.
        world: number of processes.
        model: the network (only its buffers are looked at).
        batch_bytes: bytes of the images of one mini-batch as the loader gives them.

    Returns:
        The chunk length ``N >= 1``.

    Example:
        >>> resolve_steps("auto", in_memory=True), resolve_steps("auto", in_memory=False)
        (8, 1)
        >>> resolve_steps("auto", in_memory=True, batch_bytes=32 * 4 * 32 * 32)  # 128 KiB
        64
        >>> resolve_steps("auto", in_memory=True, batch_bytes=256 * 4 * 32 * 32)  # 1 MiB
        8
        >>> resolve_steps(3, in_memory=False)
        3
    """
    if value != "auto":
        return int(value)
    if not in_memory:
        return 1
    if world > 1 and model is not None and any(True for _ in model.buffers()):
        return 1
    if batch_bytes is None:
        return AUTO_STEPS
    return max(1, min(AUTO_MAX_STEPS, AUTO_BYTES // max(batch_bytes, 1)))


class ChunkSampler(Sampler[list[list[int]]]):
    """Groups the indices of ``sampler`` into mini-batches of ``batch``, and those into chunks
    of up to ``steps`` mini-batches.

    Used as a data loader's ``batch_sampler``; Lightning finds ``sampler`` through it to call
    ``set_epoch``. The mini-batches are those ``BatchSampler(sampler, batch, drop_last=False)``
    gives, in the same order.

    Args:
        sampler: the per-process index sampler (:class:`~pixlearn.engine.trainer.EpochSampler`).
        batch: per-process mini-batch size.
        steps: mini-batches per chunk.

    Example:
        >>> list(ChunkSampler(range(7), 2, 3))
        [[[0, 1], [2, 3], [4, 5]], [[6]]]
    """

    def __init__(self, sampler: Sampler[int] | Sequence[int], batch: int, steps: int) -> None:
        if batch < 1 or steps < 1:
            raise ValueRangeError(f"batch and steps must be >= 1, got batch={batch}, steps={steps}")
        self.sampler, self.batch, self.steps = sampler, batch, steps

    def __iter__(self) -> Iterator[list[list[int]]]:
        chunk: list[list[int]] = []
        mini: list[int] = []
        for index in self.sampler:
            mini.append(int(index))
            if len(mini) == self.batch:
                chunk.append(mini)
                mini = []
                if len(chunk) == self.steps:
                    yield chunk
                    chunk = []
        if mini:
            chunk.append(mini)
        if chunk:
            yield chunk

    def __len__(self) -> int:
        # ceil(ceil(n / batch) / steps) chunks
        minis = -(-len(self.sampler) // self.batch)  # type: ignore[arg-type]
        return -(-minis // self.steps)


class ChunkedBatches(Dataset):
    """Reads a whole :class:`Chunk` per call of ``__getitems__`` (the loader's batch sampler is a
    :class:`ChunkSampler`).

    Args:
        dataset: the data set.
        collate: how one mini-batch's items are put together (default: torch's
            ``default_collate``); not used when ``stacked``.
        stacked: ``dataset.__getitems__(indices)`` returns a tuple of tensors stacked along the
            first dimension (:class:`~pixlearn.engine.trainer.TensorBatches`): the whole chunk
            is then read by one call and cut into its mini-batches (views, no copy).

    Example:
        >>> from pixlearn.engine.trainer import TensorBatches
        >>> data = TensorBatches(torch.rand(5, 1, 2, 2), torch.arange(5))
        >>> ds = ChunkedBatches(data, stacked=True)
        >>> chunk = ds.__getitems__([[4, 0], [2]])
        >>> [y.tolist() for _, y in chunk]
        [[4, 0], [2]]
    """

    def __init__(
        self,
        dataset: Dataset,
        collate: Callable[[list[Any]], Any] | None = None,
        *,
        stacked: bool = False,
    ) -> None:
        self.dataset, self.collate, self.stacked = dataset, collate or default_collate, stacked

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitems__(self, chunk: Sequence[Sequence[int]]) -> Chunk:
        if not self.stacked:
            return Chunk(self.collate([self.dataset[i] for i in mini]) for mini in chunk)
        sizes = [len(mini) for mini in chunk]
        flat = [i for mini in chunk for i in mini]
        parts = self.dataset.__getitems__(flat)  # type: ignore[attr-defined]
        # each tensor (sum(sizes), ...) cut along the first dimension: contiguous views
        pieces = [torch.split(t, sizes) for t in parts]
        return Chunk(tuple(p[k] for p in pieces) for k in range(len(sizes)))

    def __getitem__(self, index: int) -> Any:
        return self.dataset[index]
