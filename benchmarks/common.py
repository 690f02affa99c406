"""What every benchmark script shares: the timing rule and the Markdown table."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

__all__ = ["markdown_table", "median_time"]


def median_time(
    fn: Callable[[], object],
    *,
    warmup: int = 2,
    repeats: int = 7,
    setup: Callable[[], None] | None = None,
) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` runs after ``warmup`` runs.

    ``setup`` runs untimed before every run (e.g. fresh copies of inputs a peer modifies).
    """
    times = []
    for i in range(warmup + repeats):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub Markdown table, as BENCHMARKS.md holds them."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
