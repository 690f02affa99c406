"""Step of the "Classical recognition" demo: the bundled Viola-Jones face cascade."""

from __future__ import annotations

import time

import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

import pixlearn.cli.chapters.recognition.encodings  # noqa: F401  (its step comes first)
from pixlearn.cli.chapters.base import DemoSettings, image_axes
from pixlearn.cli.chapters.recognition.chapter import RECOGNITION
from pixlearn.data import load_dataset, sample
from pixlearn.features import ViolaJones
from pixlearn.ops import box_iou
from pixlearn.viz import draw_boxes
from pixlearn.viz.report import Section

__all__ = ["ASTRONAUT_FACE"]

# the face of `astronaut` (512x512), marked by hand: xyxy from the hairline to the chin
ASTRONAUT_FACE = (175.0, 80.0, 275.0, 180.0)


def _faces(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Face and non-face 25x25 grey patches ``(N, 25, 25)`` of one LFW split."""
    ds = load_dataset("faces", split)
    return ds.images[ds.targets == 1][:, 0], ds.images[ds.targets == 0][:, 0]


@RECOGNITION.step("Viola-Jones face detector")
def _viola_jones(sec: Section, cfg: DemoSettings) -> None:
    vj = ViolaJones.pretrained()
    test_faces, test_others = _faces("test")
    detection = float(vj.predict(test_faces).double().mean())
    false_pos = float(vj.predict(test_others).double().mean())
    n_stumps = sum(len(st["alpha"]) for st in vj.stages)
    sec.text(f"pixlearn's bundled face cascade (`ViolaJones.pretrained()`): {len(vj.stages)} "
             f"boosted stages of {n_stumps} decision stumps on Haar features, trained by "
             "`benchmarks/train_face_cascade.py` on the LFW train and val faces (mirrored, "
             "shifted and zoomed copies) against windows of face-free photos, each stage on the "
             "windows the stages before it still accept (bootstrapping). Each stage keeps "
             "99.95 % of the faces and passes at most 40 % of its negatives, so the rates "
             "multiply along the cascade. The held-out rates are on the LFW test patches, "
             "which the cascade never saw.")  # fmt: skip
    sec.metric("held-out detection rate (LFW test faces)", detection,
               expected=">= 0.95", ok=detection >= 0.95)  # fmt: skip
    sec.metric("held-out false-positive rate (LFW test non-faces)", false_pos,
               expected="<= 0.01", ok=false_pos <= 0.01)  # fmt: skip
    sec.metric("cascade stages / stumps", f"{len(vj.stages)} / {n_stumps}")

    grey = sample("astronaut").mean(0)  # (512, 512)
    t0 = time.perf_counter()
    boxes, scores = vj.detect(grey)  # (M, 4) xyxy, (M,)
    seconds = time.perf_counter() - t0
    face = torch.tensor([ASTRONAUT_FACE], dtype=boxes.dtype)  # (1, 4)
    best_iou = float(box_iou(boxes, face).max()) if len(boxes) else 0.0
    sec.metric("detections on astronaut (512x512)", len(boxes))
    sec.metric("best IoU with the hand-marked face", best_iou, expected=">= 0.5",
               ok=best_iou >= 0.5)  # fmt: skip
    sec.metric("detection time", seconds, unit="s")
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    ax_img, ax_faces = image_axes(fig, 2)
    draw_boxes(grey.clamp(0, 1), boxes, scores=scores, ax=ax_img,
               title=f"{len(boxes)} detections (dashed: the face)")  # fmt: skip
    x1, y1, x2, y2 = face[0].tolist()
    ax_img.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, linestyle="--",
                               edgecolor="yellow", linewidth=1.2))  # fmt: skip
    margin = vj.decision_function(test_faces)  # (N,)
    order = margin.argsort(descending=True)
    strip = torch.cat([test_faces[i] for i in order[:4].tolist()]
                      + [test_faces[i] for i in order[-4:].tolist()], dim=1)  # fmt: skip
    ax_faces.imshow(strip.numpy(), cmap="gray")
    ax_faces.set_title("held-out faces: 4 highest and 4 lowest cascade margins", fontsize=9)
    sec.figure(fig, "Left: the cascade slid over a pyramid of the grey astronaut (step 2 px, "
               "scale factor 1.25), similar raw windows grouped as OpenCV's groupRectangles does "
               "(kept when more than 3 agree, boxes averaged). Right: the "
               "test faces the cascade is most and least sure of.", name="viola-jones")  # fmt: skip
