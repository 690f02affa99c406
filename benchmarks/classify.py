"""Benchmark of the learning engine (``pixlearn classify train``) and of CNN training steps.

Run as ``python benchmarks/classify.py [--quick] [--quality] [--no-compile]``. Everything runs in
this one process; each time is the median of the repeats after warm-up (``benchmarks/common.py``).

1. Engine vs plain PyTorch: the same model, data (``digits``), batch, optimiser, schedule, data
   order and per-epoch validation, once through ``pixlearn.engine.train`` (Lightning, run folder,
   checkpoints, final test evaluation) and once as a hand-written loop doing the same work. Both
   are checked to end with the same weights before timing. Ratio = plain time / engine time
   (target >= 0.95).
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


def _plain_run(cfg: ClassifyConfig, epoch_times: list[float] | None = None) -> torch.nn.Module:
    """What the engine does for ``cfg`` (augment off), written as a plain PyTorch loop."""
    torch.use_deterministic_algorithms(cfg.deterministic)
    train_ds, val_ds = load_dataset(cfg.data, "train"), load_dataset(cfg.data, "val")
    test_ds = load_dataset(cfg.data, "test")
    mean, std = _channel_stats(train_ds)
    m, s = torch.tensor(mean)[:, None, None], torch.tensor(std)[:, None, None]
    torch.manual_seed(cfg.seed)
    kw = {"num_classes": len(train_ds.classes), "in_chans": 1}
    if cfg.model.startswith("resnet"):
        kw["small_input"] = True
    model = create_model(cfg.model, **kw)
    n = len(train_ds)
    steps = n // cfg.batch
    opt = build_optimizer(model.parameters(), cfg)
    sched = build_scheduler(opt, cfg, steps)
    for epoch in range(cfg.epochs):
        t0 = time.perf_counter()
        g = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
        order = torch.randperm(n, generator=g)[: steps * cfg.batch].tolist()
        loader = torch.utils.data.DataLoader(train_ds, batch_size=cfg.batch, sampler=order)
        model.train()
        for x, y in loader:
            loss = F.cross_entropy(model((x - m) / s), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in torch.utils.data.DataLoader(val_ds, batch_size=cfg.batch):
                correct += int((model((x - m) / s).argmax(1) == y).sum())
        with tempfile.TemporaryDirectory() as d:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict()}, f"{d}/last.pt")
        if epoch_times is not None:
            epoch_times.append(time.perf_counter() - t0)
    with torch.no_grad():
        for x, y in torch.utils.data.DataLoader(test_ds, batch_size=cfg.batch):
            correct += int((model((x - m) / s).argmax(1) == y).sum())
    return model


def engine_vs_plain(model: str, epochs: int, batch: int, repeats: int) -> list[list[object]]:
    """Training images/s of the engine and of a plain loop doing the same work.

    Per epoch: the median epoch time (training steps, validation, checkpoint) over the epochs
    after the first (the warm-up), from the engine's ``results.csv`` and the loop's clock.
    Whole run: ``median_time`` of the complete run, fixed costs (imports excluded) included.
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
    with tempfile.TemporaryDirectory() as d:
        a = train("classify", project=d, devices="cpu", progress=False, epochs=2, **keys).model
    b = _plain_run(ClassifyConfig(epochs=2, **keys))
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
    args = p.parse_args()
    repeats = 1 if args.quick else 3
    print(
        f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads"
    )
    rows = engine_vs_plain("lenet5", 3 if args.quick else 6, 32, repeats)
    if not args.quick:
        rows += engine_vs_plain("resnet18", 2, 64, 1)
    print(
        markdown_table(["training run", "engine img/s", "plain img/s", "ratio plain/engine"], rows)
    )
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
