"""`pixlearn demo`: run every implemented chapter on built-in data and write an HTML report."""

from __future__ import annotations

import time
import traceback
from pathlib import Path

import torch
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import pixlearn
from pixlearn.cli.chapters import CHAPTERS, Chapter, DemoSettings
from pixlearn.viz.report import Report

__all__ = ["run_demo"]


def run_demo(
    out: str | Path = "runs/demo",
    *,
    quick: bool = False,
    seed: int = 0,
    chapters: list[Chapter] | None = None,
    console: Console | None = None,
) -> tuple[Path, bool]:
    """Run the chapters, write ``out/report.html``; return its path and whether all steps ran.

    A step that raises does not stop the demo: its traceback goes into the report, the other
    steps still run, and the report is written in every case.
    """
    console = console or Console()
    chapters = CHAPTERS if chapters is None else chapters
    settings = DemoSettings(quick=quick, seed=seed)
    report = Report(
        "pixlearn demo",
        subtitle=f"pixlearn {pixlearn.__version__}, torch {torch.__version__}"
        + (", quick mode" if quick else ""),
    )
    all_ok = True
    total = sum(len(ch.steps) for ch in chapters)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("demo", total=total)
        for chapter in chapters:
            section = report.section(chapter.title, chapter.intro)
            start = time.perf_counter()
            errors = []
            for name, step in chapter.steps:
                progress.update(task, description=f"{chapter.title}: {name}")
                t0 = time.perf_counter()
                try:
                    step(section, settings)
                except Exception:
                    all_ok = False
                    errors.append(f"step '{name}' failed:\n{traceback.format_exc()}")
                    progress.console.print(f"[red]step '{name}' failed[/red] (see the report)")
                else:
                    progress.console.print(
                        f"  {chapter.title}: {name} [dim]({time.perf_counter() - t0:.1f} s)[/dim]"
                    )
                progress.advance(task)
            section.seconds = time.perf_counter() - start
            section.error = "\n".join(errors) or None
    path = report.write(out)
    _print_summary(console, report)
    console.print(f"report: [bold]{path}[/bold]")
    return path, all_ok


def _print_summary(console: Console, report: Report) -> None:
    for sec in report.sections:
        if not sec.metrics:
            continue
        table = Table(title=sec.title, title_justify="left")
        for col in ("metric", "measured", "expected", ""):
            table.add_column(col)
        for m in sec.metrics:
            mark = {True: "[green]holds[/green]", False: "[red]fails[/red]"}.get(m.ok, "")
            table.add_row(m.name, m.formatted(), m.expected, mark)
        console.print(table)
