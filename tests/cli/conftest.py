"""Shared fixtures of the command-line tests."""

import time

import pytest
import torch

from pixlearn.cli.chapters.base import Chapter, DemoSettings
from pixlearn.viz.report import Report


@pytest.fixture(scope="session")
def run_chapter():
    """Run every step of a demo chapter once in quick mode and return ``(report, section,
    seconds per step)``. One torch thread: on a shared 2-core machine two OpenMP threads for
    these small tensors wait on each other."""

    def run(chapter: Chapter):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        report = Report("test")
        sec = report.section(chapter.title, chapter.intro)
        seconds = {}
        try:
            for name, step in chapter.steps:
                t0 = time.perf_counter()
                step(sec, DemoSettings(quick=True, seed=0))
                seconds[name] = time.perf_counter() - t0
        finally:
            torch.set_num_threads(threads)
        return report, sec, seconds

    return run
