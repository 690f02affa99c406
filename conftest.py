"""Shared pytest set-up: names every doctest can use, and a fixed seed for every test."""

from __future__ import annotations

import os

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
