"""Steps of the "Detection toolkit" demo: anchors, selective search, NMS before and after."""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from pixlearn.cli.chapters.base import DemoSettings
from pixlearn.cli.chapters.detection.chapter import DETECTION
from pixlearn.data import sample
from pixlearn.data.synthetic import digit_scenes
from pixlearn.ops import AnchorGenerator, box_iou, nms, selective_search
from pixlearn.viz import draw_boxes
from pixlearn.viz.report import Section

__all__: list[str] = []


@DETECTION.step("anchor boxes")
def _anchors(sec: Section, cfg: DemoSettings) -> None:
    image = sample("astronaut")  # (3, 512, 512)
    sizes, ratios = ((64,), (128,), (256,)), ((0.5, 1.0, 2.0),) * 3
    generator = AnchorGenerator(sizes, ratios)
    shapes = [(512 // s, 512 // s) for s in (16, 32, 64)]  # strides 16, 32, 64
    levels = generator((512, 512), shapes)
    fig = Figure(figsize=(13, 4.6), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, anchors, (h, w), size in zip(axes, levels, shapes, sizes, strict=True):
        count = anchors.shape[0]
        sec.metric(
            f"anchors on the {h}x{w} level (stride {512 // h})",
            count,
            expected=f"{h}*{w}*3 = {h * w * 3}",
            ok=count == h * w * 3,
        )
        # the 3 anchors of the centre location, and every 4th location's centre
        centre = ((h // 2) * w + w // 2) * 3
        draw_boxes(
            image,
            anchors[centre : centre + 3],
            ax=ax,
            title=f"size {size[0]}, stride {512 // h}: 3 ratios at one location",
        )
        cxy = (anchors[::3, :2] + anchors[::3, 2:]) / 2
        ax.plot(cxy[::4, 0], cxy[::4, 1], ".", color="yellow", markersize=2)
    sec.figure(
        fig,
        "Anchors: one size per feature level, aspect ratios 1:2, 1:1, 2:1, centred "
        "on every stride-aligned location (dots: every 4th location).",
        name="anchors",
    )


@DETECTION.step("selective search")
def _selective_search(sec: Section, cfg: DemoSettings) -> None:
    # 200 px on the long side, as selective search is meant for region proposals, not pixels
    image = F.interpolate(sample("astronaut")[None], size=(200, 200), mode="area")[0]
    start = time.perf_counter()
    boxes = selective_search(image, mode="fast", generator=cfg.generator())
    seconds = time.perf_counter() - start
    # hand-placed objects (in 512 px coordinates): face, badge, helmet, flag
    truth = torch.tensor(
        [[175, 60, 280, 185], [305, 350, 512, 512], [130, 335, 210, 415], [355, 0, 460, 265]],
        dtype=boxes.dtype,
    ) * (200 / 512)
    best = box_iou(truth, boxes).amax(dim=1)
    recall = float((best >= 0.5).float().mean())
    sec.metric("proposals (fast mode, 200x200)", boxes.shape[0])
    sec.metric("time", seconds, unit="s")
    sec.metric("recall of 4 hand-placed objects at IoU 0.5", recall, expected="1", ok=recall == 1)
    fig = Figure(figsize=(11, 5.4), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    draw_boxes(image, boxes[:40], ax=ax1, linewidth=0.8, title="the 40 best-ranked proposals")
    best_idx = box_iou(truth, boxes).argmax(dim=1)
    draw_boxes(
        image,
        boxes[best_idx],
        ax=ax2,
        title="best proposal per object (IoU " + ", ".join(f"{v:.2f}" for v in best.tolist()) + ")",
    )
    sec.figure(
        fig,
        "Selective search: graph-based over-segmentation, then hierarchical grouping "
        "by colour, texture, size and fill similarity; every merge is a proposal.",
        name="selective-search",
    )


@DETECTION.step("non-maximum suppression")
def _nms(sec: Section, cfg: DemoSettings) -> None:
    image, target = digit_scenes(1, size=160, digits_per_image=5, split="val", seed=cfg.seed)[0]
    g = cfg.generator()
    # a detector's raw output: 15 jittered, scored boxes around each object
    gt = target["boxes"]
    k = gt.shape[0]
    wh = (gt[:, 2:] - gt[:, :2]).repeat_interleave(15, 0)
    jitter = torch.randn(k * 15, 4, generator=g) * 0.08 * wh.repeat(1, 2)
    raw = gt.repeat_interleave(15, 0) + jitter
    raw = torch.cat([raw[:, :2].minimum(raw[:, 2:]), raw[:, :2].maximum(raw[:, 2:])], 1)
    scores = torch.rand(k * 15, generator=g)
    kept = nms(raw, scores, 0.5)
    iou = box_iou(raw[kept], raw[kept]).fill_diagonal_(0)
    sec.metric("boxes before / after NMS", f"{raw.shape[0]} / {kept.numel()}")
    sec.metric(
        "largest IoU between kept boxes",
        float(iou.max()),
        expected="<= 0.5",
        ok=float(iou.max()) <= 0.5,
    )
    recovered = float((box_iou(gt, raw[kept]).amax(1) >= 0.5).float().mean())
    sec.metric("objects still covered at IoU 0.5", recovered, expected="1", ok=recovered == 1)
    fig = Figure(figsize=(10, 5.2), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    draw_boxes(image, raw, ax=ax1, linewidth=0.7, title=f"before: {raw.shape[0]} boxes")
    draw_boxes(
        image,
        raw[kept],
        scores=scores[kept],
        ax=ax2,
        title=f"after NMS at IoU 0.5: {kept.numel()} boxes",
    )
    sec.figure(
        fig,
        "Greedy NMS keeps the best-scoring box and drops every box that overlaps "
        "it by more than the threshold, then repeats.",
        name="nms",
    )
