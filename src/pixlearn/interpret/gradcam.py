"""Grad-CAM: where in the image a convolutional layer found evidence for a class."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pixlearn._core.check import describe
from pixlearn._core.errors import ShapeError
from pixlearn.interpret._model import (
    as_batch,
    class_scores,
    eval_mode,
    resolve_layer,
    targets_for,
)

__all__ = ["grad_cam"]


def grad_cam(
    model: nn.Module, image: Tensor, target: int | Tensor, layer: str | nn.Module
) -> Tensor:
    r"""Gradient-weighted class activation map of ``layer`` for class ``target``.

    Args:
        model: a classifier returning raw class scores ``(B, num_classes)`` (run in
            evaluation mode; its modes are restored after; its parameters' ``.grad`` are left
            untouched).
        image: the input, ``(C, H, W)`` or ``(B, C, H, W)``, float, finite.
        target: the class to explain: an int, or one index per image ``(B,)``.
        layer: a layer with a ``(B, K, h, w)`` output, by dotted name (``model.named_modules()``)
            or as the module; usually the last convolutional block.

    Returns:
        The map upsampled to the image size, in [0, 1], ``(H, W)`` or ``(B, H, W)``, detached.
        Each map is divided by its maximum; a map without positive evidence is all zeros.

    Shape:
        ``(C, H, W) -> (H, W)``; ``(B, C, H, W) -> (B, H, W)``.

    Raises:
        ValueRangeError: ``layer`` not in ``model``, ``target`` outside ``[0, num_classes)``.
        ShapeError: the layer's output is not ``(B, K, h, w)``, the model output is not
            ``(B, num_classes)``, a bad image.

    Notes:
        With :math:`A^k` the layer's :math:`k`-th activation map (:math:`h \times w` pixels) and
        :math:`y^c` the score of class :math:`c` before the softmax, the weight of map
        :math:`k` is the global average of the gradient,
        :math:`\alpha_k^c = \frac{1}{hw} \sum_{i,j} \partial y^c / \partial A^k_{ij}`, and the map
        is :math:`L^c = \mathrm{ReLU}(\sum_k \alpha_k^c A^k)`: only features with a positive
        influence on the class. :math:`L^c` is resized to :math:`H \times W` bilinearly
        (half-pixel centres) and divided by its maximum.

    Example:
        >>> net = torch.nn.Sequential(
        ...     torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(),
        ...     torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(4, 2))
        >>> cam = grad_cam(net, torch.rand(1, 8, 8), target=0, layer="1")
        >>> cam.shape, bool(cam.min() >= 0), bool(cam.max() <= 1)
        (torch.Size([8, 8]), True, True)

    References:
        Selvaraju, R. R., Cogswell, M., Das, A., Vedantam, R., Parikh, D., Batra, D.
        "Grad-CAM: visual explanations from deep networks via gradient-based localization."
        ICCV 2017.
    """
    module = resolve_layer(model, layer)
    x, single = as_batch(image)
    t = targets_for(target, x.shape[0], x.device)
    caught: list[object] = []

    def hook(_mod: nn.Module, _inp: object, out: object) -> None:
        caught.append(out)

    handle = module.register_forward_hook(hook)
    try:
        with torch.enable_grad(), eval_mode(model):
            x = x.detach()
            scores = class_scores(model, x, t)  # (B,) = y^c per image
            acts = caught[-1] if caught else None
            if not isinstance(acts, Tensor) or acts.dim() != 4 or acts.shape[0] != x.shape[0]:
                got = "nothing" if acts is None else describe(acts)
                raise ShapeError(f"layer must output activation maps (B, K, h, w), got {got}")
            if not acts.requires_grad:
                raise ShapeError("layer must lie on the path from the image to the class scores")
            # (B, K, h, w) = dy^c / dA^k; a score that ignores the layer has zero gradient
            (grads,) = torch.autograd.grad(scores.sum(), acts, allow_unused=True)
            grads = torch.zeros_like(acts) if grads is None else grads
    finally:
        handle.remove()
    acts = acts.detach()
    # alpha_k = (1 / hw) sum_ij dy^c / dA^k_ij
    alpha = grads.mean(dim=(-2, -1))  # (B, K)
    # L = ReLU(sum_k alpha_k A^k)
    cam = torch.relu((alpha[:, :, None, None] * acts).sum(dim=1))  # (B, h, w)
    cam = F.interpolate(cam[:, None], size=x.shape[-2:], mode="bilinear", align_corners=False)
    cam = cam[:, 0]  # (B, H, W)
    peak = cam.amax(dim=(-2, -1), keepdim=True)  # (B, 1, 1)
    cam = torch.where(peak > 0, cam / peak.clamp_min(torch.finfo(cam.dtype).tiny), 0.0)
    return cam[0] if single else cam
