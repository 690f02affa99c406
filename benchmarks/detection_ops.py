"""Benchmarks of the detection toolkit: NMS, RoI Align and COCO evaluation, one after another.

Run as ``python benchmarks/detection_ops.py`` (about 2 minutes on 2 cores); each part can also
run alone (``python benchmarks/detection_ops_nms.py`` ...). Every part times pixlearn and its peer
in this one process on the same data, checks the outputs agree first, and prints a table of
medians and ratios (peer time / pixlearn time: above 1 means pixlearn is faster).
"""

from __future__ import annotations

import detection_ops_coco
import detection_ops_nms
import detection_ops_roi

__all__ = ["main"]


def main() -> None:
    for part in (detection_ops_nms, detection_ops_roi, detection_ops_coco):
        print(f"\n## {part.__doc__.strip().splitlines()[0]}\n")
        part.main()


if __name__ == "__main__":
    main()
