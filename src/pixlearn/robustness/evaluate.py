"""Robust accuracy: the accuracy of a classifier on adversarially perturbed inputs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from pixlearn._core.check import check_int, check_tensor, describe
from pixlearn._core.errors import ShapeError, ValueRangeError, WrongTypeError
from pixlearn.interpret._model import eval_mode
from pixlearn.robustness.attacks import fgsm, pgd

__all__ = ["robust_accuracy"]

Attack = Callable[..., Tensor]
_ATTACKS: dict[str, Attack] = {"fgsm": fgsm, "pgd": pgd}


def robust_accuracy(
    model: nn.Module,
    data: tuple[Tensor, Tensor] | Dataset | Iterable[Any],
    attack: str | Attack | None,
    *,
    batch_size: int = 256,
    **attack_kwargs: Any,
) -> float:
    r"""Fraction of examples still classified correctly after ``attack`` perturbed them.

    Args:
        model: a classifier returning raw class scores ``(B, num_classes)``; it runs in
            evaluation mode (its modes are restored after). Batches go to the device of its
            first parameter (or stay where they are for a model without parameters).
        data: the examples: a pair ``(images (N, C, H, W), labels (N,))``, a map-style
            ``Dataset`` of ``(image, label)`` items, or an iterable of ``(images, labels)``
            batches such as a ``DataLoader``.
        attack: ``"fgsm"``, ``"pgd"``, a callable ``attack(model, images, labels, **kw)``
            returning perturbed images, or ``None`` for the clean accuracy.
        batch_size: batch size used to split tensors or a dataset (not a loader), ``>= 1``.
        **attack_kwargs: passed to the attack (``eps=0.1``; for PGD also ``alpha``,
            ``steps``, ``generator``, ...).

    Returns:
        The accuracy, a float in [0, 1].

    Raises:
        ValueRangeError: an unknown attack name, no examples at all.
        WrongTypeError: ``data`` or ``attack`` of an unsupported type.
        ShapeError: images and labels of different lengths.

    Notes:
        :math:`\mathrm{acc}_{adv} = \frac{1}{N}\sum_i [\arg\max_k f_k(A(x_i, y_i)) = y_i]`,
        with :math:`A` the attack; :math:`A(x, y) = x` gives the clean accuracy. The
        adversarial fragility of a network is the gap between the two.

    Example:
        >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))
        >>> x, y = torch.rand(8, 1, 4, 4), torch.randint(0, 3, (8,))
        >>> acc = robust_accuracy(net, (x, y), "fgsm", eps=0.05)
        >>> 0.0 <= acc <= 1.0
        True

    References:
        Madry, A., Makelov, A., Schmidt, L., Tsipras, D., Vladu, A. "Towards deep learning
        models resistant to adversarial attacks." ICLR 2018.
    """
    if not isinstance(model, nn.Module):
        raise WrongTypeError(f"model must be a torch.nn.Module, got {describe(model)}")
    bs = check_int(batch_size, "batch_size", min_value=1)
    fn = _resolve_attack(attack)
    param = next(iter(model.parameters()), None)
    device = param.device if param is not None else None
    correct = total = 0
    with eval_mode(model):
        for images, labels in _batches(data, bs):
            if device is not None:
                images, labels = images.to(device), labels.to(device)
            x = images if fn is None else fn(model, images, labels, **attack_kwargs)
            with torch.no_grad():
                pred = model(x).argmax(dim=1)  # (B,)
            correct += int((pred == labels).sum())
            total += int(labels.numel())
    if total == 0:
        raise ValueRangeError("data must hold at least one example, got none")
    return correct / total


def _resolve_attack(attack: str | Attack | None) -> Attack | None:
    if attack is None or callable(attack):
        return attack
    if isinstance(attack, str):
        if attack not in _ATTACKS:
            names = ", ".join(map(repr, _ATTACKS))
            raise ValueRangeError(f"attack must be one of {names} or a callable, got {attack!r}")
        return _ATTACKS[attack]
    raise WrongTypeError(f"attack must be a name, a callable or None, got {describe(attack)}")


def _batches(data: Any, batch_size: int) -> Iterable[tuple[Tensor, Tensor]]:
    """``(images, labels)`` batches from tensors, a dataset or an iterable of batches."""
    if isinstance(data, (tuple, list)) and len(data) == 2 and isinstance(data[0], Tensor):
        images, labels = check_tensor(data[0], "data[0]"), check_tensor(data[1], "data[1]")
        if labels.dim() != 1 or labels.shape[0] != images.shape[0]:
            raise ShapeError(
                f"data must pair N images with N labels, got images {describe(images)} and "
                f"labels {describe(labels)}"
            )
        return ((images[i : i + batch_size], labels[i : i + batch_size])
                for i in range(0, images.shape[0], batch_size))  # fmt: skip
    if isinstance(data, Dataset) and hasattr(data, "__len__"):
        return (_as_tensors(b) for b in DataLoader(data, batch_size=batch_size, shuffle=False))
    if isinstance(data, Iterable) and not isinstance(data, (str, bytes, Tensor)):
        return (_as_tensors(b) for b in data)
    raise WrongTypeError(
        "data must be (images, labels) tensors, a Dataset or an iterable of batches, "
        f"got {describe(data)}"
    )


def _as_tensors(batch: Any) -> tuple[Tensor, Tensor]:
    if not (isinstance(batch, (tuple, list)) and len(batch) >= 2):
        raise WrongTypeError(f"each batch of data must be (images, labels), got {describe(batch)}")
    images, labels = batch[0], torch.as_tensor(batch[1])
    check_tensor(images, "images")
    return images, labels
