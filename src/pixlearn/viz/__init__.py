"""Figures and reports: optics panels, detection figures and the HTML report."""

from pixlearn.viz.detection import draw_boxes, plot_confusion_matrix, plot_pr_curve
from pixlearn.viz.optics import plot_aliasing, plot_microscope, plot_psf_otf, zone_plate
from pixlearn.viz.report import Report, Section

__all__ = [
    "Report",
    "Section",
    "draw_boxes",
    "plot_aliasing",
    "plot_confusion_matrix",
    "plot_microscope",
    "plot_pr_curve",
    "plot_psf_otf",
    "zone_plate",
]
