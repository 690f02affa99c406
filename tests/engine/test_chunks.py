"""``steps_per_execution``: several mini-batches per Lightning batch must train exactly like one
per batch (weights, results.csv, TensorBoard scalars, step counts), with the loader yielding the
same mini-batches in the same order."""

import math
import os
import signal
import subprocess
import sys

import pytest
import torch
from torch.utils.data import BatchSampler, Subset
from torch.utils.data import TensorDataset as TorchTensorDataset

from pixlearn.data.datasets.base import DatasetSubset, TensorDataset
from pixlearn.engine import build_config, train
from pixlearn.engine.chunks import (
    AUTO_BYTES,
    AUTO_MAX_STEPS,
    AUTO_STEPS,
    Chunk,
    ChunkedBatches,
    ChunkSampler,
    resolve_steps,
)
from pixlearn.engine.config import RunConfig
from pixlearn.engine.module import TaskModule
from pixlearn.engine.runs import read_results
from pixlearn.engine.tasks.classify import ClassifyConfig, ClassifyTask
from pixlearn.engine.trainer import make_loader
from pixlearn.models import create_model

# 176 images, batch 16: 11 optimiser steps per epoch, a multiple of neither 4 nor 8; the step
# losses are logged at mini-batches 0 and 10 of each epoch (log_every_n_steps=10), the second
# inside the last chunk
QUICK = {"model": "lenet5", "data": "digits", "limit": 176, "batch": 16, "devices": "cpu"}
STEPS = 11


# the loader ------------------------------------------------------------------------------------
@pytest.mark.parametrize("n,batch,steps", [(0, 3, 2), (1, 3, 2), (7, 2, 3), (12, 3, 4), (13, 4, 1)])
def test_chunk_sampler_groups_the_batch_sampler_batches(n, batch, steps):
    chunks = list(ChunkSampler(range(n), batch, steps))
    minis = list(BatchSampler(range(n), batch, drop_last=False))
    assert [m for c in chunks for m in c] == minis  # the same mini-batches, in order
    assert all(len(c) == steps for c in chunks[:-1]) and all(0 < len(c) <= steps for c in chunks)
    assert len(ChunkSampler(range(n), batch, steps)) == len(chunks) == math.ceil(len(minis) / steps)


def test_chunk_sampler_rejects_bad_sizes():
    with pytest.raises(ValueError, match=r"batch and steps must be >= 1, got batch=0"):
        ChunkSampler(range(4), 0, 2)
    with pytest.raises(ValueError, match=r"steps=0"):
        ChunkSampler(range(4), 2, 0)


def _data_sets():
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(23, 2, 5, 6, generator=g) * 255).round().to(torch.uint8)
    base = TensorDataset(x, torch.arange(23) % 3, ["a", "b", "c"])
    rows = [5, 0, 22, 7, 7, 13, 1, 2, 3, 9, 11, 4, 6]
    return {
        "pixlearn": base,  # the in-memory path: one gather per chunk
        "subset": Subset(base, rows),
        "dataset_subset": DatasetSubset(base, rows),
        "torch": TorchTensorDataset(torch.rand(17, 1, 3, 3, generator=g), torch.arange(17)),
    }


@pytest.mark.parametrize("steps", [2, 3, 8])
@pytest.mark.parametrize("rank,world", [(0, 1), (1, 2)])
def test_chunked_loader_yields_the_same_mini_batches(steps, rank, world):
    cfg = ClassifyConfig(batch=4, seed=5)
    for name, ds in _data_sets().items():
        one = list(make_loader(ds, cfg, train=True, rank=rank, world=world))
        loader = make_loader(ds, cfg, train=True, rank=rank, world=world, steps=steps)
        loader.batch_sampler.sampler.set_epoch(0)  # what Lightning calls (the same epoch 0)
        chunks = list(loader)
        assert all(isinstance(c, Chunk) for c in chunks), name
        assert len(loader) == len(chunks) == math.ceil(len(one) / steps), name
        flat = [m for c in chunks for m in c]
        assert len(flat) == len(one), name
        for (xa, ya), (xb, yb) in zip(flat, one, strict=True):
            assert torch.equal(xa, xb) and xa.dtype == xb.dtype, name
            assert torch.equal(ya, yb) and ya.dtype == yb.dtype, name
        # Lightning reaches the epoch sampler through the batch sampler to call set_epoch
        loader.batch_sampler.sampler.set_epoch(1)
        again = [m for c in loader for m in c]
        assert not all(torch.equal(a[1], b[1]) for a, b in zip(again, flat, strict=True)), name


def test_chunks_cross_worker_processes():
    ds = _data_sets()["subset"]
    one = list(make_loader(ds, ClassifyConfig(batch=4), train=True))
    loader = make_loader(ds, ClassifyConfig(batch=4, workers=1), train=True, steps=2)
    chunks = list(loader)
    assert all(isinstance(c, Chunk) for c in chunks)
    flat = [m for c in chunks for m in c]
    assert all(torch.equal(a[0], b[0]) for a, b in zip(flat, one, strict=True))


def test_chunked_batches_generic_path_uses_the_collate():
    ds = TorchTensorDataset(torch.arange(6.0)[:, None], torch.arange(6))
    chunk = ChunkedBatches(ds, lambda items: [y for _, y in items]).__getitems__([[5, 1], [0]])
    assert chunk == [[torch.tensor(5), torch.tensor(1)], [torch.tensor(0)]]
    assert len(ChunkedBatches(ds)) == 6 and ChunkedBatches(ds)[2][1] == 2


def test_resolve_steps():
    bn = torch.nn.BatchNorm2d(2)  # a model with buffers
    assert resolve_steps("auto", in_memory=True) == AUTO_STEPS == 8
    assert resolve_steps("auto", in_memory=False) == 1  # files: reading costs more than Lightning
    assert resolve_steps("auto", in_memory=True, world=2, model=torch.nn.Linear(2, 2)) == 8
    assert resolve_steps("auto", in_memory=True, world=2, model=bn) == 1  # DDP buffer broadcast
    assert resolve_steps("auto", in_memory=True, world=1, model=bn) == 8
    assert resolve_steps(3, in_memory=False, world=2, model=bn) == 3  # asked for: as asked
    # known mini-batch size: as many as fit in AUTO_BYTES, 1 to AUTO_MAX_STEPS
    assert resolve_steps("auto", in_memory=True, batch_bytes=AUTO_BYTES // 5) == 5
    assert resolve_steps("auto", in_memory=True, batch_bytes=1) == AUTO_MAX_STEPS == 64
    assert resolve_steps("auto", in_memory=True, batch_bytes=AUTO_BYTES * 3) == 1
    assert resolve_steps("auto", in_memory=False, batch_bytes=1) == 1
    assert resolve_steps("auto", in_memory=True, world=2, model=bn, batch_bytes=1) == 1


def test_config_key_steps_per_execution():
    assert RunConfig().steps_per_execution == "auto"
    for given, want in (("auto", "auto"), (" AUTO ", "auto"), ("4", 4), (4, 4), ("1", 1)):
        assert build_config(RunConfig, {"steps_per_execution": given}).steps_per_execution == want
    assert build_config(RunConfig, config={"steps_per_execution": 2}).steps_per_execution == 2
    for bad in ("0", "-1", "x", "2.5", "²", 0, True, 2.0):
        with pytest.raises(ValueError, match=r"steps_per_execution must be an integer >= 1 or"):
            build_config(RunConfig, {"steps_per_execution": bad})
    with pytest.raises(ValueError, match=r"steps_per_execution must be an integer >= 1 or"):
        RunConfig(steps_per_execution=0)


def test_chunks_are_moved_to_the_device_one_mini_batch_at_a_time():
    module = TaskModule(ClassifyTask(ClassifyConfig()), torch.nn.Linear(2, 2), {}, {})
    mini = (torch.rand(2, 1, 4, 4), torch.tensor([0, 1]))
    out = module.transfer_batch_to_device(Chunk([mini, mini]), torch.device("cpu"), 0)
    assert isinstance(out, Chunk) and len(out) == 2 and all(m is mini for m in out)


# whole runs ------------------------------------------------------------------------------------
def _run(project, steps, tb_scalars, **keys):
    res = train(
        "classify",
        project=str(project),
        name=f"n{steps}-{keys.get('precision', '32')}",
        progress=False,
        epochs=2,
        steps_per_execution=steps,
        **{**QUICK, **keys},
    )
    last = torch.load(res.run_dir / "weights" / "last.pt", weights_only=True)
    rows = [
        {k: v for k, v in r.items() if k != "time"}
        for r in read_results(res.run_dir / "results.csv")
    ]
    return last, rows, tb_scalars(res.run_dir / "tb"), res


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tb_scalars):
    project = tmp_path_factory.mktemp("chunks")
    # augmentation on: its random stream is drawn per optimiser step (global_step)
    return {steps: _run(project, steps, tb_scalars) for steps in (1, 4, "auto")}


@pytest.mark.parametrize("steps", [4, "auto"])
def test_chunked_runs_equal_one_mini_batch_per_lightning_batch(runs, steps):
    (a, rows_a, ev_a, _), (b, rows_b, ev_b, _) = runs[1], runs[steps]
    assert a["global_step"] == b["global_step"] == 2 * STEPS  # optimiser steps, not chunks
    assert a["lr_schedulers"][0]["last_epoch"] == b["lr_schedulers"][0]["last_epoch"] == 22
    # bitwise: the same mini-batches (views of one gather) through the same operations
    for k, v in a["state_dict"].items():
        assert torch.equal(b["state_dict"][k], v), k
    sa, sb = a["optimizer_states"][0]["state"], b["optimizer_states"][0]["state"]
    assert all(torch.equal(sa[i]["exp_avg_sq"], sb[i]["exp_avg_sq"]) for i in sa)
    assert rows_a == rows_b and len(rows_a) == 2  # every results.csv column but time
    assert ev_a == ev_b  # every TensorBoard scalar, tag, step and value
    steps_logged = sorted(s for t, s, _ in ev_a if t == "train/loss")
    assert steps_logged == [0, 10, 11, 21]  # mini-batches 0 and 10 of each epoch
    # Lightning counted one batch per chunk: its per-batch loop ran ceil(11 / N) times an epoch
    # auto: a mini-batch of 16 float32 32x32 images is 64 KiB, so AUTO_MAX_STEPS (one chunk)
    n = AUTO_MAX_STEPS if steps == "auto" else steps
    done = b["loops"]["fit_loop"]["epoch_loop.batch_progress"]["total"]["completed"]
    assert done == 2 * math.ceil(STEPS / n)
    assert a["loops"]["fit_loop"]["epoch_loop.batch_progress"]["total"]["completed"] == 2 * STEPS


@pytest.mark.slow
def test_chunked_runs_equal_under_bf16_mixed(tmp_path, tb_scalars):
    # bf16 is slow on most CPUs: 48 images, 3 steps per epoch, chunks of 2 and 1
    (a, rows_a, ev_a, _), (b, rows_b, ev_b, _) = (
        _run(tmp_path, s, tb_scalars, precision="bf16-mixed", limit=48) for s in (1, 2)
    )
    assert a["global_step"] == b["global_step"] == 2 * 3
    for k, v in a["state_dict"].items():
        assert torch.equal(b["state_dict"][k], v), k
    assert rows_a == rows_b and ev_a == ev_b


def test_chunked_run_keeps_the_model_state_and_patience(runs, tmp_path):
    # patience counts epochs, whatever the chunking
    res = train(
        "classify",
        project=str(tmp_path),
        progress=False,
        epochs=5,
        lr=1e-12,
        scheduler="none",
        patience=2,
        augment=False,
        steps_per_execution=4,
        **QUICK,
    )
    assert [r["epoch"] for r in read_results(res.run_dir / "results.csv")] == [0.0, 1.0, 2.0]
    # the trained model of the chunked run is a plain model with the same keys
    ref = create_model("lenet5", num_classes=10, in_chans=1, small_input=True)
    assert res.model.state_dict().keys() == ref.state_dict().keys()
    # the run records the key as given (resume compares it)
    assert runs["auto"][3].config.steps_per_execution == "auto"


@pytest.mark.slow
def test_killed_chunked_run_resumed_with_other_chunks_equals_uninterrupted(runs, tmp_path):
    # a real SIGKILL after the chunk that ends at step 15 (epoch 1, chunks 11-14 and 15-18):
    # last.pt holds epoch 0; the resumed run takes one mini-batch per Lightning batch
    words = [f"{k}={v}" for k, v in {**QUICK, "epochs": 2, "steps_per_execution": 4}.items()]
    env = {
        **os.environ,
        "PIXLEARN_KILL_AFTER_STEPS": "14",
        "OMP_NUM_THREADS": str(torch.get_num_threads()),  # bitwise sums need the same threads
    }
    cmd = [sys.executable, "-m", "pixlearn", "classify", "train", f"project={tmp_path}"]
    killed = subprocess.run([*cmd, *words, "name=k"], env=env, capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    run = tmp_path / "classify" / "k"
    partial = torch.load(run / "weights" / "last.pt", weights_only=True)
    assert (partial["epoch"], partial["global_step"]) == (0, STEPS)
    resumed = train("classify", resume=str(run), steps_per_execution=1, progress=False)
    assert resumed.config.steps_per_execution == 1  # a key that may change on resume
    last, rows, _, _ = runs[1]
    b = torch.load(run / "weights" / "last.pt", weights_only=True)
    assert (b["epoch"], b["global_step"]) == (last["epoch"], last["global_step"]) == (1, 22)
    for k, v in last["state_dict"].items():
        assert torch.equal(b["state_dict"][k], v), k
    assert [
        {k: v for k, v in r.items() if k != "time"} for r in read_results(run / "results.csv")
    ] == rows
