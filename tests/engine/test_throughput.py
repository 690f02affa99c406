"""What keeps the engine's steps cheap without changing what they compute: batches gathered
straight from in-memory tensors, throttled TensorBoard saves and progress-bar redraws, the epoch
loss summed on the device."""

import types

import pytest
import torch
from lightning.pytorch.callbacks import RichProgressBar
from torch.utils.data import DataLoader, Dataset, Subset
from torch.utils.data import TensorDataset as TorchTensorDataset

from pixlearn.data.datasets.base import DatasetSubset, TensorDataset
from pixlearn.engine import _lightning as lightning_parts
from pixlearn.engine import train
from pixlearn.engine.tasks.classify import ClassifyConfig, _channel_stats
from pixlearn.engine.trainer import (
    TensorBatches,
    _RichBar,
    _TensorBoard,
    make_loader,
    tensor_source,
)


def _images(dtype):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(23, 2, 5, 6, generator=g)
    if dtype == torch.uint8:
        return (x * 255).round().to(torch.uint8)
    return x.to(dtype)


def _data_sets(dtype):
    """Every in-memory kind the fast path recognises, with its own labels."""
    x = _images(dtype)
    y = torch.arange(23) % 3
    base = TensorDataset(x, y, ["a", "b", "c"])
    rows = [5, 0, 22, 7, 7, 13, 1, 2, 3, 9, 11]
    return {
        "pixlearn": base,
        "subset": Subset(base, rows),
        "subset_range": Subset(base, range(17)),
        "dataset_subset": DatasetSubset(base, rows),
        "subset_of_subset": Subset(DatasetSubset(base, rows), [3, 0, 10, 4]),
    }


def _slow_batches(ds, cfg, train, rank, world):
    """The default path: one __getitem__ per item, stacked by torch's default collate."""
    loader = make_loader(ds, cfg, train=train, rank=rank, world=world)
    fast_ds = loader.dataset
    slow = DataLoader(ds, batch_size=loader.batch_size, sampler=loader.sampler)
    return fast_ds, list(loader), list(slow)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.uint8])
@pytest.mark.parametrize("train,rank,world", [(True, 0, 1), (False, 0, 1), (True, 1, 2)])
def test_gathered_batches_equal_the_default_path(dtype, train, rank, world):
    cfg = ClassifyConfig(batch=4, seed=3)
    for name, ds in _data_sets(dtype).items():
        fast_ds, fast, slow = _slow_batches(ds, cfg, train, rank, world)
        assert isinstance(fast_ds, TensorBatches), name
        assert len(fast) == len(slow) > 0, name
        for (xf, yf), (xs, ys) in zip(fast, slow, strict=True):
            assert xf.dtype == xs.dtype == torch.float32, name
            assert yf.dtype == ys.dtype == torch.int64, name
            assert torch.equal(xf, xs) and torch.equal(yf, ys), name


def test_gathered_batches_are_copies():
    ds = TensorDataset(_images(torch.float32), torch.arange(23) % 3, ["a", "b", "c"])
    before = ds.images.clone()
    x, _ = TensorBatches(*tensor_source(ds)).__getitems__([0, 1, 2])
    x += 1.0  # a step that works in place must not reach the data set
    assert torch.equal(ds.images, before)


def test_single_items_equal_the_data_set():
    base = TensorDataset(_images(torch.uint8), torch.arange(23) % 3, ["a", "b", "c"])
    view = DatasetSubset(base, [4, 8, 15])
    fast = TensorBatches(*tensor_source(view))
    assert len(fast) == len(view) == 3
    for i in range(3):
        x, y = fast[i]
        assert torch.equal(x, view[i][0]) and int(y) == view[i][1]


class _Plain(Dataset):
    def __len__(self):
        return 6

    def __getitem__(self, i):
        return torch.full((1, 2, 2), float(i)), i % 2


def test_other_data_sets_keep_the_default_path():
    x, y = _images(torch.float32), torch.arange(23) % 3
    with_transform = TensorDataset(x, y, ["a", "b", "c"], transform=lambda im: im * 2)
    others = [
        with_transform,
        Subset(with_transform, [1, 2]),
        DatasetSubset(TensorDataset(x, y, ["a", "b", "c"]), [1, 2], transform=lambda im: im),
        _Plain(),
        Subset(_Plain(), [0, 1]),
        TorchTensorDataset(x, y),  # its items keep the stored dtypes: the default path
        TorchTensorDataset(x),
    ]
    cfg = ClassifyConfig(batch=2)
    for ds in others:
        assert tensor_source(ds) is None, ds
        assert make_loader(ds, cfg, train=True).dataset is ds
    # the transform is applied on the default path
    xb, _ = next(iter(make_loader(with_transform, ClassifyConfig(batch=2), train=False)))
    torch.testing.assert_close(xb, x[:2] * 2, rtol=0, atol=0)
    # a task's own collate is kept, and with it the per-item path
    ds = TensorDataset(x, y, ["a", "b", "c"])
    collate = lambda items: len(items)  # noqa: E731
    loader = make_loader(ds, cfg, train=False, collate=collate)
    assert loader.dataset is ds and next(iter(loader)) == 2


def test_channel_stats_fast_path_equals_the_item_loop():
    x, y = _images(torch.uint8), torch.arange(23) % 3
    base = TensorDataset(x, y, ["a", "b", "c"])

    class Items(Dataset):  # the same items, without tensors the engine can see
        def __len__(self):
            return len(base)

        def __getitem__(self, i):
            return base[i]

    for n_max in (2000, 7):
        assert _channel_stats(base, n_max) == _channel_stats(Items(), n_max)
    mean, std = _channel_stats(Subset(base, range(10)))
    ref = x[:10].double() / 255.0
    assert mean == pytest.approx(ref.mean(dim=(0, 2, 3)).tolist(), abs=1e-6)
    assert std == pytest.approx(ref.std(dim=(0, 2, 3)).tolist(), abs=1e-6)


def test_tensorboard_saves_are_throttled(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(
        "lightning.pytorch.loggers.TensorBoardLogger.save", lambda self: calls.append(1)
    )
    logger = _TensorBoard(str(tmp_path), name="tb", version="", every=3600.0)
    for _ in range(20):  # what Lightning does after every logged step
        logger.save()
    assert calls == []
    logger.every = 0.0
    logger.save()
    assert calls == [1]
    logger.every = 3600.0
    logger.save()
    assert calls == [1]


def test_tensorboard_files_are_complete_at_the_end(tmp_path):
    logger = _TensorBoard(str(tmp_path), name="tb", version="", every=3600.0)
    logger.log_metrics({"train/loss": 1.5}, step=0)
    logger.save()
    logger.finalize("success")  # the last save always writes
    assert (tmp_path / "tb" / "hparams.yaml").is_file()
    events = list((tmp_path / "tb").glob("events.out.tfevents.*"))
    assert len(events) == 1 and events[0].stat().st_size > 40  # the scalar was written


def test_progress_bar_counts_mini_batches(monkeypatch, tmp_path):
    # 11 mini-batches per epoch in chunks of 4: the bar moves after every mini-batch
    seen = []
    monkeypatch.setattr(
        RichProgressBar, "on_train_batch_end", lambda self, t, m, o, b, i: seen.append(i)
    )
    clock = iter(range(10**6))  # a clock that always lets the bar redraw
    monkeypatch.setattr(lightning_parts.time, "monotonic", lambda: float(next(clock)))
    quick = {"model": "lenet5", "data": "digits", "limit": 176, "batch": 16, "devices": "cpu"}
    train("classify", project=str(tmp_path), epochs=1, steps_per_execution=4, **quick)
    assert seen[:5] == [0, 1, 2, 3, 3]  # 4 mini-batches, then the end of the chunk
    assert sorted(set(seen)) == list(range(11))
    bar = _RichBar()
    bar._trainer = types.SimpleNamespace(lightning_module=types.SimpleNamespace(steps_per_epoch=11))
    assert bar.total_train_batches == 11  # mini-batches, not the 3 chunks


def test_progress_bar_redraws_at_most_every_interval(monkeypatch):
    seen = []
    monkeypatch.setattr(
        RichProgressBar, "on_train_batch_end", lambda self, t, m, o, b, i: seen.append(i)
    )
    trainer = types.SimpleNamespace(num_training_batches=12)
    bar = _RichBar(every=3600.0)
    for i in range(12):
        bar.on_train_batch_end(trainer, None, None, None, i)
    assert seen == [0, 11]  # the first draw, then only the last step of the epoch
    seen.clear()
    bar = _RichBar(every=0.0)
    for i in range(12):
        bar.on_train_batch_end(trainer, None, None, None, i)
    assert seen == list(range(12))
    with pytest.raises(ValueError, match="every"):
        _RichBar(every=-1.0)
    with pytest.raises(ValueError, match="every"):
        _TensorBoard("unused", every=-1.0)
