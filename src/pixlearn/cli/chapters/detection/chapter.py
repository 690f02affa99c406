"""The chapter object of "Detection toolkit"; its steps live in the sibling modules."""

from __future__ import annotations

from pixlearn.cli.chapters.base import Chapter

__all__ = ["DETECTION"]

DETECTION = Chapter(
    "Detection toolkit",
    "The parts every detector is built from, each measured on built-in data: anchor boxes, "
    "selective-search region proposals, non-maximum suppression, and the COCO evaluation "
    "(identical to pycocotools) of a simple classical baseline on synthetic digit scenes.",
)
