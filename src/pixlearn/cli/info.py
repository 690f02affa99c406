"""`pixlearn info`: the environment banner and what each module implements."""

from __future__ import annotations

import importlib
import os
import platform
import sys

import torch
from rich.console import Console
from rich.table import Table

import pixlearn

__all__ = ["MODULES", "environment", "modules_table"]

# Subpackages in the order of the syllabus; a module not written yet is listed as planned.
MODULES: tuple[str, ...] = (
    "io",
    "imaging",
    "data",
    "viz",
    "filters",
    "exposure",
    "color",
    "transform",
    "augment",
    "restoration",
    "wavelets",
    "compression",
    "morphology",
    "segmentation",
    "measure",
    "features",
    "ops",
    "nn",
    "losses",
    "metrics",
    "models",
    "interpret",
    "robustness",
    "engine",
)


def environment() -> dict[str, str]:
    """pixlearn, Python, torch, devices and threads, as strings."""
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [
            f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())
        ]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    return {
        "pixlearn": pixlearn.__version__,
        "python": f"{platform.python_version()} ({sys.executable})",
        "torch": torch.__version__,
        "platform": platform.platform(),
        "devices": ", ".join(devices),
        "threads": f"{torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs",
    }


def modules_table() -> Table:
    """One row per subpackage: its one-line description and its public names."""
    table = Table(title="modules")
    for col in ("module", "status", "implements"):
        table.add_column(col)
    for name in MODULES:
        try:
            mod = importlib.import_module(f"pixlearn.{name}")
        except ModuleNotFoundError:
            table.add_row(f"pixlearn.{name}", "[dim]planned[/dim]", "")
            continue
        # the docstring's first paragraph, which may wrap over several lines
        doc = " ".join((mod.__doc__ or "").strip().split("\n\n")[0].split())
        names = getattr(mod, "__all__", [])
        summary = doc + (f"\n[dim]{', '.join(names)}[/dim]" if names else "")
        table.add_row(f"pixlearn.{name}", "[green]ready[/green]", summary)
    return table


def print_info(console: Console | None = None) -> None:
    """Print the banner and the module table."""
    console = console or Console()
    banner = Table.grid(padding=(0, 2))
    for key, value in environment().items():
        banner.add_row(f"[bold]{key}[/bold]", value)
    console.print(banner)
    console.print(modules_table())
