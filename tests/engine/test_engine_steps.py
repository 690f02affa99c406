"""What the engine's cheap paths must keep: the manual optimisation step equals a hand-written
loop (per-step schedule, step count), the written-out validation pass equals a plain evaluation,
precision plugins, early stopping, metrics reaching TensorBoard and the progress bar, and the
checkpoint files written as new files (crash-safe, resumable)."""

import types

import pytest
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import Callback, RichProgressBar
from lightning.pytorch.plugins.precision import MixedPrecision, Precision
from lightning.pytorch.profilers import PassThroughProfiler, SimpleProfiler
from lightning.pytorch.strategies import DDPStrategy, SingleDeviceStrategy

from pixlearn.data import load_dataset
from pixlearn.engine import module as module_lib
from pixlearn.engine import train
from pixlearn.engine._lightning import direct_steps
from pixlearn.engine.module import TaskModule, build_optimizer, build_scheduler
from pixlearn.engine.runs import (
    append_results,
    read_results,
    recover_file,
    replace_file,
    write_results,
)
from pixlearn.engine.tasks.classify import ClassifyConfig, ClassifyTask
from pixlearn.engine.trainer import _RichBar
from pixlearn.models import create_model

# 96 images, batch 32: 3 optimiser steps per epoch
QUICK = {"model": "lenet5", "data": "digits", "limit": 96, "batch": 32, "devices": "cpu"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    project = tmp_path_factory.mktemp("steps")
    return train("classify", project=str(project), progress=False, epochs=3, augment=False, **QUICK)


def _split(split, n=96):
    ds = load_dataset("digits", split)
    return ds.images[:n].to(torch.float32), ds.targets[:n]


def _plain_loop(meta, epochs, batch, seed=0):
    """The engine's training written by hand: same init, data order, AdamW, per-step cosine."""
    cfg = ClassifyConfig(epochs=epochs, batch=batch, augment=False, limit=96)
    x, y = _split("train")
    mean, std = torch.tensor(meta["mean"])[:, None, None], torch.tensor(meta["std"])[:, None, None]
    torch.manual_seed(seed)
    model = create_model("lenet5", num_classes=10, in_chans=1, small_input=True)
    steps = len(y) // batch
    opt = build_optimizer(model.parameters(), cfg)
    sched = build_scheduler(opt, cfg, steps)
    lrs = []
    for epoch in range(epochs):
        g = torch.Generator().manual_seed(seed * 100_003 + epoch)
        order = torch.randperm(len(y), generator=g)
        for s in range(steps):
            idx = order[s * batch : (s + 1) * batch]
            loss = F.cross_entropy(model((x[idx] - mean) / std), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    return model, lrs


def test_training_steps_equal_a_hand_written_loop(run):
    last = torch.load(run.run_dir / "weights" / "last.pt", weights_only=True)
    assert last["global_step"] == 3 * 3  # every optimiser step counted (manual optimisation)
    assert last["lr_schedulers"][0]["last_epoch"] == 9  # the schedule stepped once per step
    meta = torch.load(run.weights, weights_only=True)["pixlearn"]
    model, lrs = _plain_loop(meta, epochs=3, batch=32)
    for k, v in model.state_dict().items():
        torch.testing.assert_close(last["state_dict"][f"model.{k}"], v, atol=1e-6, rtol=1e-5)
    rows = read_results(run.run_dir / "results.csv")
    assert [r["lr"] for r in rows] == pytest.approx(lrs, rel=1e-5)


def _last(res):
    return torch.load(res.run_dir / "weights" / "last.pt", weights_only=True)


def test_direct_steps_equal_lightnings_wrappers(run, tmp_path, monkeypatch, tb_scalars):
    # the default run went past Lightning's backward/step wrappers (nothing to call in them)
    seen = []
    monkeypatch.setattr(
        module_lib, "direct_steps", lambda *a: seen.append(direct_steps(*a)) or False
    )
    res = train("classify", project=str(tmp_path), progress=False, epochs=3, augment=False, **QUICK)
    assert seen == [True]  # the decision for this run; the run itself took the wrappers
    a, b = _last(run), _last(res)
    assert a["global_step"] == b["global_step"] == 9  # the step count kept without the wrappers
    for k, v in a["state_dict"].items():
        assert torch.equal(b["state_dict"][k], v), k
    sa, sb = a["optimizer_states"][0]["state"], b["optimizer_states"][0]["state"]
    assert all(torch.equal(sa[i]["exp_avg_sq"], sb[i]["exp_avg_sq"]) for i in sa)
    assert a["loops"] == b["loops"]  # every progress counter Lightning restores on resume
    assert tb_scalars(run.run_dir / "tb") == tb_scalars(res.run_dir / "tb")


def test_overridden_step_hooks_are_still_called(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(
        TaskModule, "on_before_optimizer_step", lambda self, opt: calls.append(self.global_step)
    )
    res = train("classify", project=str(tmp_path), progress=False, epochs=2, augment=False, **QUICK)
    assert calls == list(range(6))  # once before every optimiser step, in order
    assert _last(res)["global_step"] == 6


def test_direct_steps_only_where_the_wrappers_do_nothing():
    model = TaskModule(ClassifyTask(ClassifyConfig()), torch.nn.Linear(2, 2), {}, {})
    plain = {
        "strategy": SingleDeviceStrategy(torch.device("cpu")),
        "precision_plugin": Precision(),
        "profiler": PassThroughProfiler(),
        "gradient_clip_val": None,
        "callbacks": [Callback()],
    }
    assert direct_steps(types.SimpleNamespace(**plain), model)

    class Hooked(Callback):
        def on_after_backward(self, trainer, pl_module):
            pass

    scaled = MixedPrecision("16-mixed", "cpu", scaler=torch.amp.GradScaler("cpu"))
    for key, value in [
        ("strategy", DDPStrategy()),  # DDP's reducer is prepared in manual_backward
        ("precision_plugin", scaled),  # the loss is scaled, the step unscaled
        ("profiler", SimpleProfiler()),
        ("gradient_clip_val", 1.0),
        ("callbacks", [Callback(), Hooked()]),
    ]:
        assert not direct_steps(types.SimpleNamespace(**{**plain, key: value}), model), key
    assert direct_steps(
        types.SimpleNamespace(**{**plain, "precision_plugin": MixedPrecision("bf16-mixed", "cpu")}),
        model,
    )


def test_validation_pass_equals_a_plain_evaluation(run):
    last = torch.load(run.run_dir / "weights" / "last.pt", weights_only=True)
    meta = torch.load(run.weights, weights_only=True)["pixlearn"]
    model = create_model("lenet5", num_classes=10, in_chans=1, small_input=True)
    model.load_state_dict({k[6:]: v for k, v in last["state_dict"].items()})
    x, y = _split("val")
    with torch.no_grad():
        logits = model.eval()((x - meta["mean"][0]) / meta["std"][0]).double()
    row = read_results(run.run_dir / "results.csv")[-1]
    assert row["val/acc"] == pytest.approx(float((logits.argmax(1) == y).double().mean()), abs=1e-6)
    assert row["val/loss"] == pytest.approx(float(F.cross_entropy(logits, y)), rel=1e-5)
    # no misclassified examples are gathered during training, only for the final plots
    assert (run.run_dir / "misclassified.png").is_file()


def test_metrics_reach_tensorboard(run, tb_scalars):
    events = tb_scalars(run.run_dir / "tb")
    tags = {t for t, _, _ in events}
    assert {"train/loss", "val/acc", "val/loss", "val/top5", "lr"} <= tags
    rows = read_results(run.run_dir / "results.csv")
    acc = sorted((s, v) for t, s, v in events if t == "val/acc")
    assert [s for s, _ in acc] == [3, 6, 9]  # logged at the optimiser step ending each epoch
    assert [v for _, v in acc] == pytest.approx([r["val/acc"] for r in rows], abs=1e-6)
    steps = sorted(s for t, s, _ in events if t == "train/loss")
    assert steps == [0, 3, 6]  # batches 0, 10, 20... of every epoch (log_every_n_steps=10)


def test_progress_bar_shows_the_engine_metrics(monkeypatch):
    monkeypatch.setattr(RichProgressBar, "get_metrics", lambda self, t, m: {"v_num": 3})
    module = types.SimpleNamespace(bar_metrics={"loss": 0.123456, "val/acc": 0.5})
    got = _RichBar().get_metrics(None, module)
    assert got == {"v_num": 3, "loss": "0.1235", "val/acc": "0.5"}
    assert _RichBar().get_metrics(None, object()) == {"v_num": 3}


def test_transfer_passes_batches_on_the_device_through():
    task = ClassifyTask(ClassifyConfig())
    module = TaskModule(task, torch.nn.Linear(2, 2), {"mean": [0.0], "std": [1.0]}, {})
    batch = (torch.rand(2, 1, 4, 4), torch.tensor([0, 1]))
    out = module.transfer_batch_to_device(batch, torch.device("cpu"), 0)
    assert out is batch
    nested = {"images": batch[0], "labels": [batch[1]]}  # other batches: Lightning's traversal
    out = module.transfer_batch_to_device(nested, torch.device("cpu"), 0)
    assert torch.equal(out["images"], batch[0]) and torch.equal(out["labels"][0], batch[1])


@pytest.mark.slow
def test_mixed_precision_trains(tmp_path, run):
    w32 = run.model.state_dict()  # the float32 run of the same configuration
    for precision in ("bf16-mixed", "16-mixed"):  # 16-mixed runs as bf16 on a CPU
        res = train(
            "classify",
            project=str(tmp_path),
            name=precision,
            progress=False,
            epochs=3,
            precision=precision,
            augment=False,
            **QUICK,
        )
        rows = read_results(res.run_dir / "results.csv")
        assert rows[-1]["train/loss"] < rows[0]["train/loss"]
        w = res.model.state_dict()
        # autocast was on: not the float32 weights, but close to them after a few steps
        assert any(not torch.equal(w[k], w32[k]) for k in w32)
        for k in w32:
            torch.testing.assert_close(w[k], w32[k], atol=0.05, rtol=0.0)
        assert all(v.dtype == torch.float32 for v in w.values())
        # the validation pass ran under autocast too: its loss is not the float32 one
        last = torch.load(res.run_dir / "weights" / "last.pt", weights_only=True)
        meta = torch.load(res.weights, weights_only=True)["pixlearn"]
        model = create_model("lenet5", num_classes=10, in_chans=1, small_input=True).eval()
        model.load_state_dict({k[6:]: v for k, v in last["state_dict"].items()})
        x, y = _split("val")
        with torch.no_grad():
            loss32 = float(F.cross_entropy(model((x - meta["mean"][0]) / meta["std"][0]), y))
        assert rows[-1]["val/loss"] == pytest.approx(loss32, rel=0.05)
        assert rows[-1]["val/loss"] != pytest.approx(loss32, rel=1e-5)


def test_patience_stops_a_run_without_progress(tmp_path):
    # a vanishing learning rate: validation accuracy never improves after the first epoch
    res = train(
        "classify",
        project=str(tmp_path),
        progress=False,
        epochs=6,
        lr=1e-12,
        scheduler="none",
        patience=2,
        augment=False,
        **QUICK,
    )
    rows = read_results(res.run_dir / "results.csv")
    assert [r["epoch"] for r in rows] == [0.0, 1.0, 2.0]  # epoch 0 best, then 2 without gain
    last = torch.load(res.run_dir / "weights" / "last.pt", weights_only=True)
    assert last["callbacks"]["RunWriter"]["wait"] == 2


def test_replace_file_writes_new_files(tmp_path):
    path = tmp_path / "w.pt"
    replace_file(path, lambda tmp: torch.save({"a": 1}, tmp))
    first = path.stat().st_ino
    replace_file(path, lambda tmp: torch.save({"a": 2}, tmp))
    assert torch.load(path)["a"] == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["w.pt"]
    assert path.stat().st_ino != first or path.stat().st_size > 0  # a new file took its place

    def fail(tmp):
        tmp.write_bytes(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        replace_file(path, fail)
    assert torch.load(path)["a"] == 2  # the old file is whole
    # a leftover .tmp is never appended to or kept
    replace_file(path, lambda tmp: torch.save({"a": 3}, tmp))
    assert torch.load(path)["a"] == 3 and not (tmp_path / "w.pt.tmp").exists()


def test_recover_file_puts_back_a_complete_tmp(tmp_path):
    path = tmp_path / "last.pt"
    tmp = tmp_path / "last.pt.tmp"
    assert recover_file(path) is False  # nothing there
    torch.save({"a": 1}, tmp)  # the crash came after the old file was removed
    assert recover_file(path) is True
    assert torch.load(path)["a"] == 1 and not tmp.exists()
    torch.save({"a": 2}, tmp)  # with the old file still there, the .tmp is incomplete
    assert recover_file(path) is False
    assert torch.load(path)["a"] == 1


def test_appended_results_equal_a_rewrite(tmp_path):
    rows = [{"epoch": 0.0, "loss": 1.5, "acc": 0.25}, {"epoch": 1.0, "loss": 1.25, "acc": 0.5}]
    header = write_results(tmp_path / "a.csv", rows[:1])
    assert header == ["epoch", "loss", "acc"]
    assert append_results(tmp_path / "a.csv", rows[1], header)
    write_results(tmp_path / "b.csv", rows)
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    assert read_results(tmp_path / "a.csv") == rows
    # a new column: nothing appended, the caller rewrites the file
    assert not append_results(tmp_path / "a.csv", {"epoch": 2.0, "new": 1.0}, header)
    assert len(read_results(tmp_path / "a.csv")) == 2


@pytest.mark.slow
def test_compiled_model_trains_like_the_plain_one(tmp_path, run):
    res = train(
        "classify",
        project=str(tmp_path),
        progress=False,
        epochs=3,
        compile=True,
        augment=False,
        **QUICK,
    )
    for k, v in run.model.state_dict().items():  # the same keys: the weights load anywhere
        torch.testing.assert_close(res.model.state_dict()[k], v, atol=1e-4, rtol=1e-4)


def test_metric_state_without_examples_keeps_the_same_sums():
    g = torch.Generator().manual_seed(1)
    images = torch.rand(40, 1, 32, 32, generator=g)
    labels = torch.randint(0, 10, (40,), generator=g)
    task = ClassifyTask(ClassifyConfig())
    torch.manual_seed(0)
    model = create_model("lenet5", num_classes=10, in_chans=1, small_input=True).eval()
    meta = {"classes": [str(d) for d in range(10)], "imgsz": 32, "mean": [0.5], "std": [0.25]}
    module = TaskModule(task, model, meta, {}).eval()
    states = {}
    for keep in (True, False):
        states[keep] = task.metric_state(meta, torch.device("cpu"), keep_examples=keep)
        with torch.no_grad():
            task.update_metrics(states[keep], module, (images, labels))
        assert (len(task.wrong) > 0) is keep  # an untrained network errs: kept only if asked
    for k, v in states[True].items():
        assert torch.equal(v, states[False][k]), k
