"""Demo chapter "Classical recognition": corners, SIFT matching and RANSAC, HOG, bag of visual
words vs Fisher vectors, and a Viola-Jones face detector.

Each step module imports the one before it (corners, sift_matches, hog_view, encodings,
cascade), so the steps register in that order whatever the order of the imports below.
"""

from __future__ import annotations

from pixlearn.cli.chapters.recognition import cascade, corners, encodings, hog_view, sift_matches
from pixlearn.cli.chapters.recognition.chapter import RECOGNITION

__all__ = ["RECOGNITION", "cascade", "corners", "encodings", "hog_view", "sift_matches"]
