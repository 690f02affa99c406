"""Filters: convolution and correlation, Gaussian and derivative filters, rank filters, Gabor
banks, frequency-domain filters and template matching."""

from __future__ import annotations

