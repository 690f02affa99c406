"""Figures and reports: optics panels (PSF/OTF/MTF, aliasing, microscope) and the HTML report."""

from pixlearn.viz.optics import plot_aliasing, plot_microscope, plot_psf_otf, zone_plate
from pixlearn.viz.report import Report, Section

__all__ = ["Report", "Section", "plot_aliasing", "plot_microscope", "plot_psf_otf", "zone_plate"]
