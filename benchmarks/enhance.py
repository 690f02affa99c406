"""Benchmarks of the enhancement chapter: filters, template matching, exposure, geometry.

Run as ``python benchmarks/enhance.py`` (a few minutes on 2 cores); each part can also run alone
(``python benchmarks/enhance_filters.py`` ...). Every part times pixlearn against scikit-image and
OpenCV in this one process on the same float32 data (2048x2048 and a batch of 64 x 256x256),
checks the outputs agree first, and prints medians and ratios (peer time / pixlearn time: above
1 means pixlearn is faster).
"""

from __future__ import annotations

import importlib

__all__ = ["main"]

PARTS = ("enhance_filters", "enhance_template", "enhance_exposure", "enhance_transform")


def main() -> None:
    for name in PARTS:
        part = importlib.import_module(name)
        print(f"\n## {part.__doc__.strip().splitlines()[0]}\n")
        part.main()


if __name__ == "__main__":
    main()
