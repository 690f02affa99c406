"""Shared pytest set-up: names every doctest can use, and a fixed seed for every test."""

from __future__ import annotations

import os
import sys
from types import ModuleType

import numpy as np
import pytest
import torch

# Under pytest-xdist each worker is its own process: one intra-op thread per worker keeps
# 2 workers on 2 cores from oversubscribing them (OpenMP threads spinning against each other
# made some tests 10x slower).
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _add_doctest_names(doctest_namespace):
    doctest_namespace["torch"] = torch
    doctest_namespace["np"] = np


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)


def _unshadow_reexports() -> None:
    """Undo the shadowing of re-exported functions by their own modules.

    Collecting doctests with ``--import-mode=importlib`` imports e.g. ``morphology/watershed.py``
    again and binds the *module* to ``pixlearn.morphology.watershed``, hiding the function of the
    same name that the package ``__init__`` re-exports. Put every such function back.
    """
    for name, package in list(sys.modules.items()):
        if not (name == "pixlearn" or name.startswith("pixlearn.")):
            continue
        for public in getattr(package, "__all__", ()):
            obj = getattr(package, public, None)
            if isinstance(obj, ModuleType):
                inner = getattr(obj, public, None)
                if inner is not None and not isinstance(inner, ModuleType):
                    setattr(package, public, inner)


def pytest_collectreport(report):
    # after each collected file, before the next one imports names from the package
    _unshadow_reexports()
