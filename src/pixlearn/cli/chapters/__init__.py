"""The chapters of `pixlearn demo`: one module per syllabus chapter that has landed.

A chapter is a :class:`~pixlearn.cli.chapters.base.Chapter`: a title, an introduction and a list
of named steps. Each step receives the chapter's report section and the demo settings, computes
on built-in data, and adds figures and measured metrics to the section. Later chapters append
themselves to :data:`CHAPTERS`.
"""

from __future__ import annotations

from pixlearn.cli.chapters.base import Chapter, DemoSettings
from pixlearn.cli.chapters.classification import CLASSIFICATION
from pixlearn.cli.chapters.detection import DETECTION
from pixlearn.cli.chapters.enhancement import ENHANCEMENT
from pixlearn.cli.chapters.imaging import IMAGING
from pixlearn.cli.chapters.morphology import MORPHOLOGY
from pixlearn.cli.chapters.multiscale import MULTISCALE
from pixlearn.cli.chapters.recognition import RECOGNITION
from pixlearn.cli.chapters.restoration import RESTORATION

# in the order of the syllabus
CHAPTERS: list[Chapter] = [
    IMAGING,
    ENHANCEMENT,
    RESTORATION,
    MULTISCALE,
    MORPHOLOGY,
    RECOGNITION,
    CLASSIFICATION,
    DETECTION,
]

__all__ = ["CHAPTERS", "Chapter", "DemoSettings"]
