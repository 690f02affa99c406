"""Built-in data: sample photographs and synthetic generators with perfect ground truth.

Nothing is downloaded: the photographs are the ones bundled with scikit-image, and the synthetic
sets (``pixlearn.data.synthetic``) are generated from a seed.
"""

from pixlearn.data import synthetic
from pixlearn.data.samples import list_samples, sample

__all__ = ["list_samples", "sample", "synthetic"]
