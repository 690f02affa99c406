"""Benchmark of the learning engine (``pixlearn classify train``) and of CNN training steps.

Run as ``python benchmarks/classify.py [--quick] [--quality] [--no-compile] [--threads N]``.
Everything runs in this one process; each time is the median of the repeats after warm-up
(``benchmarks/common.py``).

1. Engine vs plain PyTorch: the same model, data (``digits``), batch, optimiser, schedule, data
   order and per-epoch work, once through ``pixlearn.engine.train`` (Lightning, run folder,
   TensorBoard, checkpoints, plots, final test evaluation) and once as a hand-written loop.
   Both read the in-memory data the same way: a batch is one gather ``images[indices]`` from the
   data set's tensors (the engine's :class:`~pixlearn.engine.trainer.TensorBatches`; the loop
   indexes the tensors itself), no per-item ``__getitem__`` and collate on either side. Per
   epoch both train (forward, cross entropy, backward, AdamW step, per-step cosine schedule, the
   epoch's mean training loss), validate (loss, top-1, top-5, confusion matrix), and save
   ``last.pt`` (model, optimiser, schedule) and, when the validation accuracy improved,
   ``best.pt``; at the end both evaluate the best weights on the test split. Only the engine
   writes ``args.yaml``/``results.csv``/TensorBoard logs and draws ``results.png``, the
   confusion matrix and the misclassified grid (the fixed cost the whole-run row shows). Both
   are checked to end with the same weights before timing. The engine runs with its defaults,
   so ``steps_per_execution=auto``: 8 mini-batches per Lightning batch for this in-memory data
   (the same optimiser steps; Lightning's per-batch loop paid once per 8 steps).
   Ratio = plain time / engine time = engine images/s / plain images/s (target >= 0.95).
   Rows: LeNet-5 batch 32 (a step of a few milliseconds, where per-step fixed costs show),
   LeNet-5 batch 256, and ResNet-18 (small-input stem, 32x32) batch 64, where the step is
   dominated by the network.
2. Forward + backward throughput (images/s) of resnet50, vgg16 and efficientnet_b0 at 224x224:
   the plain module, ``channels_last``, and ``torch.compile`` (when it works on this machine);
   outputs checked to agree with the plain module first. On CUDA (if present) the same rows run on
   the GPU with a larger batch.
3. ``--quality``: the seeded default runs the issue asks for: lenet5 (>= 98.5 % test accuracy in
   under 60 s on one core) and resnet18 small-input (>= 99.0 %) on digits.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F

from common import markdown_table, median_time
from pixlearn.data import load_dataset
from pixlearn.engine import train
from pixlearn.engine.module import build_optimizer, build_scheduler
from pixlearn.engine.runs import read_results
from pixlearn.engine.tasks.classify import ClassifyConfig, _channel_stats
from pixlearn.models import create_model

__all__ = ["main"]


def _tensors(split: str, limit: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """The split's images ``(N, 1, 32, 32)`` float32 and labels, first ``limit`` items."""
    ds = load_dataset("digits", split)
    n = min(limit, len(ds)) if limit else len(ds)
    return ds.images[:n].to(torch.float32), ds.targets[:n], list(ds.classes)


def _evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int) -> float:
    """Validation as the engine does it: loss sum, top-1, top-5, confusion; returns top-1."""
    k = 10
    loss_sum = torch.zeros((), dtype=torch.float64)
    top1, top5 = torch.zeros((), dtype=torch.float64), torch.zeros((), dtype=torch.float64)
    confusion = torch.zeros(k, k, dtype=torch.int64)
    model.eval()
    with torch.no_grad():
        for s in range(0, len(y), batch):
            logits, labels = model(x[s : s + batch]).float(), y[s : s + batch]
            loss_sum += F.cross_entropy(logits, labels, reduction="sum").double()
            hit = logits.topk(5, dim=-1).indices == labels[:, None]  # (B, 5)
            top1 += hit[:, 0].sum()
            top5 += hit.any(dim=1).sum()
            pred = logits.argmax(1)
            confusion += torch.bincount(labels * k + pred, minlength=k * k).view(k, k)
    return float(top1) / max(len(y), 1)


def _plain_run(cfg: ClassifyConfig, epoch_times: list[float] | None = None) -> torch.nn.Module:
    """What the engine does for ``cfg`` (augment off), written as a plain PyTorch loop.

    Returns the best weights (highest validation accuracy), as ``train`` does.
    """
    torch.use_deterministic_algorithms(cfg.deterministic)
    x_train, y_train, classes = _tensors("train", cfg.limit)
    x_val, y_val, _ = _tensors("val", cfg.limit)
    x_test, y_test, _ = _tensors("test", cfg.limit)
    mean, std = _channel_stats(torch.utils.data.TensorDataset(x_train, y_train))
    m, s = torch.tensor(mean)[:, None, None], torch.tensor(std)[:, None, None]
    torch.manual_seed(cfg.seed)
    # the engine builds small-input variants for 32x32 data (LeNet-5 is made for 32x32 anyway)
    model = create_model(cfg.model, num_classes=len(classes), in_chans=1, small_input=True)
    n, b = len(y_train), cfg.batch
    steps = n // b
    opt = build_optimizer(model.parameters(), cfg)
    sched = build_scheduler(opt, cfg, steps)
    best_acc, best = -1.0, None
    with tempfile.TemporaryDirectory() as d:
        for epoch in range(cfg.epochs):
            t0 = time.perf_counter()
            g = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
            order = torch.randperm(n, generator=g)  # (n,) the engine's EpochSampler order
            model.train()
            loss_sum = torch.zeros((), dtype=torch.float64)
            for step in range(steps):
                idx = order[step * b : (step + 1) * b]
                x, y = x_train[idx], y_train[idx]  # (B, 1, 32, 32), (B,): one gather each
                loss = F.cross_entropy(model((x - m) / s), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                if sched is not None:
                    sched.step()
                loss_sum += loss.detach().double()
            acc = _evaluate(model, (x_val - m) / s, y_val, b)
            train_loss = float(loss_sum) / steps  # the epoch row's train/loss
            state = {"model": model.state_dict(), "opt": opt.state_dict(), "loss": train_loss}
            if sched is not None:
                state["sched"] = sched.state_dict()
            torch.save(state, f"{d}/last.pt")
            if acc > best_acc:
                best_acc, best = acc, {k: v.clone() for k, v in model.state_dict().items()}
                torch.save(best, f"{d}/best.pt")
            if epoch_times is not None:
                epoch_times.append(time.perf_counter() - t0)
    final = create_model(cfg.model, num_classes=len(classes), in_chans=1, small_input=True)
    final.load_state_dict(best)
    _evaluate(final, (x_test - m) / s, y_test, b)
    return final  # as the engine's result: the best weights


def engine_vs_plain(
    model: str, epochs: int, batch: int, repeats: int, *, check_limit: int = 0
) -> list[list[object]]:
    """Training images/s of the engine and of a plain loop doing the same work.

    Per epoch: the median epoch time (training steps, validation, checkpoints) over the epochs
    after the first (the warm-up), from the engine's ``results.csv`` and the loop's clock.
    Whole run: ``median_time`` of the complete run, fixed costs (imports excluded) included.
    ``check_limit``: the weights check runs on the first ``check_limit`` items (0: all).
    """
    keys = {"model": model, "data": "digits", "batch": batch, "augment": False}
    n_epoch = (len(load_dataset("digits", "train")) // batch) * batch
    epoch_engine: list[float] = []
    epoch_plain: list[float] = []

    def engine() -> torch.nn.Module:
        with tempfile.TemporaryDirectory() as d:
            res = train("classify", project=d, devices="cpu", progress=False, epochs=epochs, **keys)
            epoch_engine.extend(r["time"] for r in read_results(res.run_dir / "results.csv")[1:])
            return res.model

    def plain() -> torch.nn.Module:
        times: list[float] = []
        out = _plain_run(ClassifyConfig(epochs=epochs, **keys), times)
        epoch_plain.extend(times[1:])
        return out

    # the same computation, before any timing (2 epochs: later, rounding differences grow)
    check = {**keys, "epochs": 2, "limit": check_limit}
    with tempfile.TemporaryDirectory() as d:
        a = train("classify", project=d, devices="cpu", progress=False, **check).model
    b = _plain_run(ClassifyConfig(**check))
    for k, v in a.state_dict().items():
        torch.testing.assert_close(v, b.state_dict()[k], atol=1e-4, rtol=1e-4)
    # interleaved, so that both sides see the same machine load
    runs: dict[str, list[float]] = {"engine": [], "plain": []}
    for _ in range(repeats):
        runs["engine"].append(median_time(engine, warmup=0, repeats=1))
        runs["plain"].append(median_time(plain, warmup=0, repeats=1))
    t_engine, t_plain = statistics.median(runs["engine"]), statistics.median(runs["plain"])
    e_engine, e_plain = statistics.median(epoch_engine), statistics.median(epoch_plain)
    return [
        [
            f"{model} digits, batch {batch}, per epoch",
            f"{n_epoch / e_engine:.0f}",
            f"{n_epoch / e_plain:.0f}",
            f"{e_plain / e_engine:.2f}",
        ],
        [
            f"{model} digits, batch {batch}, whole {epochs}-epoch run",
            f"{n_epoch * epochs / t_engine:.0f}",
            f"{n_epoch * epochs / t_plain:.0f}",
            f"{t_plain / t_engine:.2f}",
        ],
    ]


def throughput(device: str, batch: int, compile_: bool, repeats: int) -> list[list[object]]:
    rows = []
    for name in ("resnet50", "vgg16", "efficientnet_b0"):
        torch.manual_seed(0)
        base = create_model(name, num_classes=1000).to(device)
        x = torch.rand(batch, 3, 224, 224, device=device)
        y = torch.randint(0, 1000, (batch,), device=device)
        variants = {"plain": (base, x)}
        # separate copies: training one variant must not move another's BatchNorm statistics
        cl = create_model(name, num_classes=1000).to(device).to(memory_format=torch.channels_last)
        cl.load_state_dict(base.state_dict())
        variants["channels_last"] = (cl, x.to(memory_format=torch.channels_last))
        if compile_:
            copy = create_model(name, num_classes=1000).to(device)
            copy.load_state_dict(base.state_dict())
            variants["compile"] = (torch.compile(copy), x)
        base.eval()
        with torch.no_grad():
            ref = base(x)
        times: dict[str, str] = {}
        for label, (model, inp) in variants.items():
            model.train()

            def step(
                model: torch.nn.Module = model, inp: torch.Tensor = inp, y: torch.Tensor = y
            ) -> None:
                loss = F.cross_entropy(model(inp), y)
                loss.backward()
                if device == "cuda":
                    torch.cuda.synchronize()

            try:
                model.eval()
                with torch.no_grad():
                    torch.testing.assert_close(model(inp), ref, atol=1e-3, rtol=1e-3)
                model.train()
                t = median_time(step, warmup=2 if label == "compile" else 1, repeats=repeats)
                times[label] = f"{batch / t:.1f}"
            except Exception as err:  # compile may need a toolchain this machine lacks
                times[label] = f"fails ({type(err).__name__})"
        rows.append(
            [
                f"{name} {device} b{batch}",
                times["plain"],
                times["channels_last"],
                times.get("compile", "-"),
            ]
        )
    return rows


def quality(models: list[str]) -> list[list[object]]:
    rows = []
    for name in models:
        torch.set_num_threads(1)  # the budget: one core
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as d:
            res = train(
                "classify", model=name, data="digits", devices="cpu", project=d, progress=False
            )
        rows.append([name, f"{res.metrics['test/acc']:.2%}", f"{time.perf_counter() - t0:.1f} s"])
        torch.set_num_threads(torch.get_num_interop_threads())
    return rows


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true", help="fewer epochs and repeats")
    p.add_argument("--quality", action="store_true", help="the seeded accuracy runs")
    p.add_argument("--no-compile", action="store_true", help="skip torch.compile rows")
    p.add_argument("--engine-only", action="store_true", help="only the engine vs plain rows")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    repeats = 1 if args.quick else 5
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads"
    )
    rows = engine_vs_plain("lenet5", 3 if args.quick else 6, 32, repeats)
    rows += engine_vs_plain("lenet5", 3 if args.quick else 6, 256, repeats)
    rows += engine_vs_plain("resnet18", 2, 64, 1, check_limit=128)
    print(markdown_table(["training run", "engine img/s", "plain img/s", "engine / plain"], rows))
    if args.engine_only:
        return
    print()
    rows = throughput("cpu", 4, not args.no_compile, 1 if args.quick else 3)
    if torch.cuda.is_available():
        rows += throughput("cuda", 32, not args.no_compile, 5)
    header = ["fwd+bwd 224x224", "plain img/s", "channels_last img/s", "compile img/s"]
    print(markdown_table(header, rows))
    if args.quality:
        print()
        print(
            markdown_table(
                ["model (digits)", "test accuracy", "time"], quality(["lenet5", "resnet18"])
            )
        )


if __name__ == "__main__":
    main()
