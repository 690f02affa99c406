"""The classical-recognition suite in one run: HOG and Harris, SIFT (timing and repeatability
under warps) and the HOG + SVM face detector, each against its peer in this process.

Run as ``python benchmarks/features.py``; the parts are ``features_hog.py``,
``features_sift.py``, ``features_hog_detector.py`` (and ``features_bovw.py``, an accuracy table).
"""

from __future__ import annotations

import features_hog
import features_hog_detector
import features_sift


def main() -> None:
    features_hog.main()
    print()
    print(features_sift.timing())
    print()
    print(features_sift.repeatability())
    print()
    features_hog_detector.main()


if __name__ == "__main__":
    main()
