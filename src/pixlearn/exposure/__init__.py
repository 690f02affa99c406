"""Exposure: point transforms, intensity stretching, histograms, equalisation and CLAHE."""

from __future__ import annotations

