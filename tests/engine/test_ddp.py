"""DDP on CPU: 2 processes (gloo, Lightning's ddp strategy) give the metrics of 1 process.

The global batch is split evenly over the processes (EpochSampler), the gradients are averaged by
DDP and the validation sums are reduced over the processes, so only floating-point summation order
differs from the single-process run.
"""

import subprocess
import sys

import pytest
import torch

from pixlearn.engine import train
from pixlearn.engine.runs import read_results

ARGS = {"epochs": 2, "limit": 64, "batch": 32, "augment": "false", "model": "lenet5"}


@pytest.mark.slow
def test_two_cpu_processes_equal_one(tmp_path):
    words = [f"{k}={v}" for k, v in ARGS.items()]
    cmd = [sys.executable, "-m", "pixlearn", "classify", "train", f"project={tmp_path}"]
    two = subprocess.run(
        [*cmd, *words, "devices=cpu:2", "name=two"], capture_output=True, text=True, timeout=300
    )
    assert two.returncode == 0, two.stderr[-3000:]
    assert "strategy=ddp" in two.stderr or "distributed_backend=gloo" in two.stderr
    one = train(
        "classify", project=str(tmp_path), name="one", devices="cpu", progress=False, **ARGS
    )
    # started by torchrun (2 processes, TorchElastic environment): one run folder, same results
    rdzv = ["--nproc_per_node=2", "--rdzv-backend=c10d", "--rdzv-endpoint=localhost:0"]
    tr = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            *rdzv,
            "-m",
            "pixlearn",
            *cmd[3:],
            *words,
            "devices=cpu",
            "name=torchrun",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tr.returncode == 0, tr.stderr[-3000:]
    names = sorted(p.name for p in (tmp_path / "classify").iterdir())
    assert names == ["one", "torchrun", "two"]  # no stray folder or marker file
    r1 = read_results(tmp_path / "classify" / "one" / "results.csv")
    w1 = torch.load(one.run_dir / "weights" / "last.pt", weights_only=True)["state_dict"]
    for other in ("two", "torchrun"):
        r2 = read_results(tmp_path / "classify" / other / "results.csv")
        assert len(r1) == len(r2) == 2
        for a, b in zip(r1, r2, strict=True):
            for key in ("train/loss", "val/loss", "val/acc", "val/top5", "lr"):
                assert abs(a[key] - b[key]) <= 1e-5 * max(1.0, abs(a[key])), (key, a, b)
        w2 = torch.load(tmp_path / "classify" / other / "weights" / "last.pt", weights_only=True)
        for k, v in w1.items():
            torch.testing.assert_close(w2["state_dict"][k], v, atol=1e-5, rtol=1e-4)
