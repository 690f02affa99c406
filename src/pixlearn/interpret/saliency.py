"""Class saliency maps: which pixels change a class score the most (Simonyan et al. 2014)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from pixlearn.interpret._model import as_batch, class_scores, eval_mode, targets_for

__all__ = ["class_saliency"]


def class_saliency(model: nn.Module, image: Tensor, target: int | Tensor) -> Tensor:
    r"""Image-specific class saliency: the largest absolute gradient of the class score.

    Args:
        model: a classifier returning raw class scores ``(B, num_classes)`` (run in
            evaluation mode; its modes are restored after; its parameters' ``.grad`` are left
            untouched).
        image: the input, ``(C, H, W)`` or ``(B, C, H, W)``, float, finite.
        target: the class whose score is explained: an int, or one index per image ``(B,)``.

    Returns:
        The saliency map, ``(H, W)`` for one image or ``(B, H, W)``, non-negative, in the
        image's dtype.

    Shape:
        ``(C, H, W) -> (H, W)``; ``(B, C, H, W) -> (B, H, W)``.

    Raises:
        ValueRangeError: ``target`` outside ``[0, num_classes)``, a non-finite image.
        ShapeError: an image that is not 3-D or 4-D, a ``target`` tensor of the wrong length,
            a model output that is not ``(B, num_classes)``.

    Notes:
        With :math:`S_c(x)` the score of class :math:`c` before the softmax, the first-order
        Taylor expansion :math:`S_c(x) \approx w^\top x + b` around the image has
        :math:`w = \partial S_c / \partial x`; the saliency of pixel :math:`(i, j)` is
        :math:`M_{ij} = \max_k |w_{k,i,j}|` over the colour channels :math:`k`. One backward
        pass per batch: the images of a batch are independent in evaluation mode, so the
        gradient of :math:`\sum_b S_{c_b}(x_b)` with respect to :math:`x_b` is that of
        :math:`S_{c_b}(x_b)` alone.

    Example:
        >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(2 * 4 * 4, 3))
        >>> class_saliency(net, torch.rand(2, 4, 4), target=1).shape
        torch.Size([4, 4])

    References:
        Simonyan, K., Vedaldi, A., Zisserman, A. "Deep inside convolutional networks:
        visualising image classification models and saliency maps." ICLR workshop 2014.
    """
    x, single = as_batch(image)
    t = targets_for(target, x.shape[0], x.device)
    x = x.detach().clone().requires_grad_(True)  # (B, C, H, W), a leaf of our own
    with torch.enable_grad(), eval_mode(model):
        scores = class_scores(model, x, t)  # (B,)
        # (B, C, H, W) = dS_c / dx; scores that ignore the image have zero gradient
        (grad,) = torch.autograd.grad(scores.sum(), x, allow_unused=True)
        grad = torch.zeros_like(x) if grad is None else grad
    # M_ij = max_k |dS_c / dx_kij|
    sal = grad.abs().amax(dim=-3)  # (B, H, W)
    return sal[0] if single else sal
