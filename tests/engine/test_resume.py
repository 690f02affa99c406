"""Resume equivalence: a process killed mid-run and resumed ends with the same weights as an
uninterrupted run (the kill is a real SIGKILL of a real subprocess)."""

import os
import signal
import subprocess
import sys

import pytest
import torch

from pixlearn.engine import train
from pixlearn.engine.runs import load_checkpoint, read_results

# 96 images, batch 32: 3 optimiser steps per epoch, 3 epochs; the kill comes at step 5,
# in the middle of the second epoch, so last.pt holds epoch 0 and epoch 1 must be redone
ARGS = {"epochs": 3, "limit": 96, "batch": 32, "devices": "cpu", "model": "lenet5"}


def _cli(project, *words, env=None):
    cmd = [sys.executable, "-m", "pixlearn", "classify", "train", f"project={project}", *words]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    project = tmp_path_factory.mktemp("resume")
    straight = train("classify", project=str(project), name="straight", progress=False, **ARGS)
    words = [f"{k}={v}" for k, v in ARGS.items()]
    # the same number of intra-op threads as this process: float sums are only bitwise
    # reproducible at a fixed thread count (pytest-xdist workers run with one thread)
    threads = str(torch.get_num_threads())
    env = {**os.environ, "PIXLEARN_KILL_AFTER_STEPS": "5", "OMP_NUM_THREADS": threads}
    killed = _cli(project, *words, "name=killed", env=env)
    return project, straight, killed


@pytest.mark.slow
def test_killed_then_resumed_equals_uninterrupted(runs):
    project, straight, killed = runs
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    run = project / "classify" / "killed"
    partial = torch.load(run / "weights" / "last.pt", weights_only=True)
    assert (partial["epoch"], partial["global_step"]) == (0, 3)  # the end of epoch 0
    assert len(read_results(run / "results.csv")) == 1
    resumed = train("classify", resume=str(run), progress=False)
    assert resumed.run_dir == run
    a = torch.load(straight.run_dir / "weights" / "last.pt", weights_only=True)
    b = torch.load(run / "weights" / "last.pt", weights_only=True)
    assert (b["epoch"], b["global_step"]) == (a["epoch"], a["global_step"]) == (2, 9)
    for k, v in a["state_dict"].items():
        assert torch.equal(b["state_dict"][k], v), k
    # optimiser moments and the schedule's position are restored too
    sa, sb = a["optimizer_states"][0]["state"], b["optimizer_states"][0]["state"]
    assert all(torch.equal(sa[i]["exp_avg_sq"], sb[i]["exp_avg_sq"]) for i in sa)
    assert a["lr_schedulers"][0]["last_epoch"] == b["lr_schedulers"][0]["last_epoch"] == 9
    # the epoch rows match, apart from the time column
    ra, rb = read_results(straight.run_dir / "results.csv"), read_results(run / "results.csv")
    assert [{k: v for k, v in r.items() if k != "time"} for r in ra] == [
        {k: v for k, v in r.items() if k != "time"} for r in rb
    ]
    assert resumed.metrics == straight.metrics
    best = load_checkpoint(run)["pixlearn"]
    assert best["epoch"] in (0, 1, 2) and best["model"] == "lenet5"


def test_refuses_to_resume_with_args_that_change_the_result(runs):
    _, straight, _ = runs
    with pytest.raises(ValueError, match=r"would change the result: lr \(0\.002 -> 0\.1\)"):
        train("classify", resume=str(straight.run_dir), lr=0.1, progress=False)
    with pytest.raises(ValueError, match=r"epochs \(3 -> 5\).*seed \(0 -> 1\)"):
        train("classify", resume=str(straight.run_dir), epochs=5, seed=1, progress=False)


def test_resume_auto_and_missing_runs(runs, tmp_path):
    project, *_ = runs
    with pytest.raises(FileNotFoundError, match=r"resume=auto: no run"):
        train("classify", resume="auto", project=str(tmp_path), progress=False)
    with pytest.raises(FileNotFoundError, match=r"no weights/last\.pt"):
        train("classify", resume=str(tmp_path), progress=False)
    # auto picks the latest resumable run; a finished run resumes to the same weights
    res = train("classify", resume="auto", project=str(project), workers=0, progress=False)
    assert res.run_dir.parent == project / "classify"
