"""The classical-recognition suite in one run: the integral image and Viola-Jones, HOG and
Harris, SIFT (timing and repeatability under warps), SURF, and the HOG + SVM face detector, each
against its peer in this process.

Run as ``python benchmarks/features.py``; the parts are ``features_vj.py``, ``features_hog.py``,
``features_sift.py``, ``features_surf.py``, ``features_hog_detector.py`` (and, longer,
``features_dpm.py``: DPM vs HOG + SVM, and ``features_bovw.py``, an accuracy table).
"""

from __future__ import annotations

import features_hog
import features_hog_detector
import features_sift
import features_surf
import features_vj


def main() -> None:
    features_vj.main()
    print()
    features_hog.main()
    print()
    print(features_sift.timing())
    print()
    print(features_sift.repeatability())
    print()
    print(features_surf.main())
    print()
    features_hog_detector.main()


if __name__ == "__main__":
    main()
