"""Detection metrics: COCO evaluation identical to pycocotools, VOC average precision, PR curves."""

from __future__ import annotations

from pixlearn.metrics.detection.ap import AP_METHODS, VOCResult, average_precision, voc_evaluate
from pixlearn.metrics.detection.coco import COCOEvalResult, evaluate_coco
from pixlearn.metrics.detection.coco_evaluator import COCOEvaluator, coco_ground_truth, coco_results
from pixlearn.metrics.detection.confusion import detection_confusion_matrix
from pixlearn.metrics.detection.curves import pr_curve

__all__ = [
    "AP_METHODS",
    "COCOEvalResult",
    "COCOEvaluator",
    "VOCResult",
    "average_precision",
    "coco_ground_truth",
    "coco_results",
    "detection_confusion_matrix",
    "evaluate_coco",
    "pr_curve",
    "voc_evaluate",
]
