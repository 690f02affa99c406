"""Built-in data: sample photographs, synthetic generators and the detection data formats.

Nothing is downloaded: the photographs are the ones bundled with scikit-image, and the synthetic
sets (``pixlearn.data.synthetic``: cells, digit scenes, shapes) are generated from a seed.
``pixlearn.data.formats`` reads and writes COCO JSON, Pascal VOC XML and YOLO txt.
"""

from pixlearn.data import formats, synthetic
from pixlearn.data.samples import list_samples, sample

__all__ = ["formats", "list_samples", "sample", "synthetic"]
