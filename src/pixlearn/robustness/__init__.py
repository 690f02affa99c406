"""Adversarial robustness: FGSM and PGD attacks and the accuracy that survives them.

The syllabus warns of the adversarial fragility of neural networks: changes to the input too
small to see can change the output completely. These attacks measure how much.
"""

from __future__ import annotations

from pixlearn.robustness.attacks import fgsm, pgd
from pixlearn.robustness.evaluate import robust_accuracy

__all__ = ["fgsm", "pgd", "robust_accuracy"]
