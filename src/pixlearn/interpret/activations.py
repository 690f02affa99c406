"""Activation maps: what one layer of a network computes for an image, caught by a forward hook."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from pixlearn._core.check import describe
from pixlearn._core.errors import WrongTypeError
from pixlearn.interpret._model import as_batch, eval_mode, resolve_layer

__all__ = ["activation_maps"]


def activation_maps(model: nn.Module, image: Tensor, layer: str | nn.Module) -> Tensor:
    r"""The output of one layer of ``model`` when it classifies ``image``.

    Args:
        model: the network (run in evaluation mode; its train/eval modes are restored after).
        image: the input, ``(C, H, W)`` or ``(B, C, H, W)``, float, finite.
        layer: the layer's dotted name as listed by ``model.named_modules()`` (e.g.
            ``"features.0"``, ``"layer1.0.conv1"``) or the sub-module itself.

    Returns:
        The layer's output, detached: ``(K, h, w)`` for a single image, ``(B, K, h, w)`` for a
        batch (for a convolution, one activation map per filter ``k``).

    Shape:
        ``(C, H, W) -> (K, h, w)``; ``(B, C, H, W) -> (B, K, h, w)``; whatever the layer
        outputs, with the batch dimension removed again for a single image.

    Raises:
        ValueRangeError: ``layer`` is not a module of ``model`` (the message lists its layers).
        WrongTypeError: ``layer`` is neither a name nor a module, or the layer's output is not
            a tensor.

    Notes:
        A forward hook on the layer records its output :math:`A = f_\ell(\dots f_1(x))` during
        one forward pass (under ``torch.no_grad``); the hook is removed afterwards even if the
        forward pass fails. Looking at these maps is the first step of Zeiler and Fergus'
        visualisation, which showed what each layer responds to.

    Example:
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten())
        >>> activation_maps(net, torch.rand(1, 8, 8), "1").shape
        torch.Size([4, 6, 6])

    References:
        Zeiler, M. D., Fergus, R. "Visualizing and understanding convolutional networks."
        ECCV 2014.
    """
    module = resolve_layer(model, layer)
    x, single = as_batch(image)
    caught: list[object] = []

    def hook(_mod: nn.Module, _inp: object, out: object) -> None:
        caught.append(out)

    handle = module.register_forward_hook(hook)
    try:
        with torch.no_grad(), eval_mode(model):
            model(x)
    finally:
        handle.remove()
    out = caught[-1] if caught else None
    if not isinstance(out, Tensor):
        name = layer if isinstance(layer, str) else type(layer).__name__
        raise WrongTypeError(
            f"layer {name!r} must output a tensor (and run in the forward pass), "
            f"got {'nothing' if out is None else describe(out)}"
        )
    return out[0] if single else out
