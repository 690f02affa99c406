"""Step of the "Detection toolkit" demo: a classical baseline evaluated the COCO way.

The baseline is made only of the toolkit's parts: selective-search proposals, RoI Align to cut
each proposal to the 8x8 grid of the training digits, a nearest-neighbour classifier (cosine
similarity to scikit-learn's training digits) for the label and score, and per-class NMS.
It is no match for a trained CNN; it gives the evaluation something honest to measure.
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from pixlearn.cli.chapters.base import DemoSettings
from pixlearn.cli.chapters.detection import parts  # noqa: F401  (its steps come first)
from pixlearn.cli.chapters.detection.chapter import DETECTION
from pixlearn.data.synthetic import digit_scenes, to_coco
from pixlearn.metrics.detection import (
    coco_results,
    detection_confusion_matrix,
    evaluate_coco,
    pr_curve,
)
from pixlearn.ops import batched_nms, remove_small_boxes, roi_align, selective_search
from pixlearn.viz import draw_boxes, plot_confusion_matrix, plot_pr_curve
from pixlearn.viz.report import Section

__all__: list[str] = []


def _unit(x: torch.Tensor) -> torch.Tensor:
    """Rows minus their mean, scaled to unit length (cosine similarity becomes a dot product)."""
    x = x - x.mean(dim=1, keepdim=True)
    return x / x.norm(dim=1, keepdim=True).clamp_min(1e-8)


def _templates() -> tuple[torch.Tensor, torch.Tensor]:
    """The training digits as unit vectors (N, 64) and their labels (N,)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).reshape(-1, 64) / 16
    return _unit(x), torch.tensor(digits.target, dtype=torch.int64)


def _detect(image: torch.Tensor, templates, labels, generator) -> dict[str, torch.Tensor]:
    boxes = selective_search(image, mode="fast", generator=generator)
    boxes = boxes[remove_small_boxes(boxes, 8.0)]
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    boxes = boxes[(h / w > 0.8) & (h / w < 4.0)]  # digits are upright, taller than wide
    # a digit's 8x8 scan has a one-pixel margin: grow the box by 1/6 to match it
    pad = (boxes[:, 2:] - boxes[:, :2]).repeat(1, 2) / 6 * torch.tensor([-1, -1, 1, 1])
    crops = roi_align(image[None], [boxes + pad], (8, 8), sampling_ratio=2, aligned=True)
    # ink may be darker or lighter than the background: score both polarities
    sim = (_unit(crops.mean(dim=1).reshape(-1, 64)) @ templates.T).abs()  # (P, N)
    best, idx = sim.max(dim=1)
    scores, cls = (best + 1) / 2, labels[idx]
    keep = batched_nms(boxes, scores, cls, 0.3)[:100]
    return {"boxes": boxes[keep], "scores": scores[keep], "labels": cls[keep]}


@DETECTION.step("COCO evaluation of a classical baseline on digit scenes")
def _baseline(sec: Section, cfg: DemoSettings) -> None:
    n = 8 if cfg.quick else 40
    data = digit_scenes(n, size=128, digits_per_image=(2, 4), split="val", seed=cfg.seed)
    templates, labels = _templates()
    g = cfg.generator()
    predictions, targets = [], []
    for image, target in data:
        predictions.append(_detect(image, templates, labels, g))
        targets.append(target)
    ground_truth = to_coco(data)
    ids = [img["id"] for img in ground_truth["images"]]
    result = evaluate_coco(ground_truth, coco_results(predictions, ids), "bbox")
    names = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
    for name, value in zip(names, result.stats.tolist(), strict=True):
        sec.metric(f"{name} ({n} val scenes)", value)
    sec.text(
        "The table is the 12 COCO numbers of the baseline, computed by pixlearn's evaluator, "
        "which the tests hold equal to pycocotools' COCOeval to 1e-10. -1 marks an area range "
        "without ground truth in these scenes."
    )
    curves = pr_curve(result, iou_threshold=0.5)  # category id -> (recall, precision)
    fig = plot_pr_curve(
        [r for r, _ in curves.values()],
        [p for _, p in curves.values()],
        [f"{k}  AP50 {float(p.mean()):.2f}" for k, (_, p) in curves.items()],
        title="precision-recall at IoU 0.5",
    )
    sec.figure(fig, "Precision against recall at IoU 0.5 for each digit class.", name="pr")
    matrix = detection_confusion_matrix(
        predictions, targets, 10, iou_threshold=0.5, score_threshold=0.75
    )
    sec.figure(
        plot_confusion_matrix(matrix, [str(k) for k in range(10)]),
        "Detection confusion matrix (score >= 0.75, IoU 0.5): rows predicted, columns "
        "true, with a background row (missed digits) and column (false alarms).",
        name="confusion",
    )
    fig = Figure(figsize=(12, 3.4), layout="constrained")
    axes = fig.subplots(1, 4)
    for ax, (image, _), pred in zip(axes, data, predictions, strict=False):
        top = pred["scores"] >= 0.75
        draw_boxes(image, pred["boxes"][top], pred["labels"][top], pred["scores"][top], ax=ax)
    sec.figure(
        fig,
        "Baseline detections with score >= 0.75 on the first validation scenes.",
        name="detections",
    )
