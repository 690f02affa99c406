"""Wavelets and multiresolution analysis: filter banks, the DWT, denoising, scattering.

* :mod:`~pixlearn.wavelets.filters`: Haar, Daubechies, Symlet, biorthogonal and reverse
  biorthogonal filter banks, derived by spectral factorisation;
* :mod:`~pixlearn.wavelets.dwt`: 1-D and 2-D, single and multilevel transforms and their
  inverses (PyWavelets' conventions, batched, differentiable);
* :mod:`~pixlearn.wavelets.denoise`: wavelet shrinkage (VisuShrink, BayesShrink);
* :mod:`~pixlearn.wavelets.scattering`: the 2-D Morlet scattering transform.
"""

from __future__ import annotations

from pixlearn.wavelets.denoise import estimate_sigma_mad, wavelet_denoise
from pixlearn.wavelets.dwt import (
    MODES,
    dwt,
    dwt2,
    dwt_max_level,
    idwt,
    idwt2,
    wavedec,
    wavedec2,
    waverec,
    waverec2,
)
from pixlearn.wavelets.filters import FilterBank, wavelet_filters, wavelist
from pixlearn.wavelets.scattering import littlewood_paley, morlet_filter_bank, scattering2d

__all__ = [
    "MODES",
    "FilterBank",
    "dwt",
    "dwt2",
    "dwt_max_level",
    "estimate_sigma_mad",
    "idwt",
    "idwt2",
    "littlewood_paley",
    "morlet_filter_bank",
    "scattering2d",
    "wavedec",
    "wavedec2",
    "wavelet_denoise",
    "wavelet_filters",
    "wavelist",
    "waverec",
    "waverec2",
]
