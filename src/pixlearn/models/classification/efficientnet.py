"""EfficientNet-B0..B7: one MBConv baseline scaled in width, depth and resolution together."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor, nn

from pixlearn._core.check import check_int, check_range
from pixlearn.models.registry import register_model
from pixlearn.nn.conv import ConvNormAct
from pixlearn.nn.mbconv import MBConv

__all__ = [
    "VARIANTS",
    "EfficientNet",
    "efficientnet_b0",
    "efficientnet_b1",
    "efficientnet_b2",
    "efficientnet_b3",
    "efficientnet_b4",
    "efficientnet_b5",
    "efficientnet_b6",
    "efficientnet_b7",
    "round_filters",
    "round_repeats",
]

# The B0 baseline found by architecture search (table 1 of the paper):
# (expand ratio, kernel, stride, in channels, out channels, repeats) per stage.
BASELINE: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
)


@dataclass(frozen=True)
class Variant:
    """Scaling coefficients of one EfficientNet: width, depth, resolution, dropout."""

    width: float
    depth: float
    resolution: int
    dropout: float


# Compound scaling: depth d = alpha^phi, width w = beta^phi, resolution r = gamma^phi with
# alpha = 1.2, beta = 1.1, gamma = 1.15 (alpha beta^2 gamma^2 ~ 2, so FLOPs ~ 2^phi); the
# released models round these to the values below.
VARIANTS: dict[str, Variant] = {
    "b0": Variant(1.0, 1.0, 224, 0.2),
    "b1": Variant(1.0, 1.1, 240, 0.2),
    "b2": Variant(1.1, 1.2, 260, 0.3),
    "b3": Variant(1.2, 1.4, 300, 0.3),
    "b4": Variant(1.4, 1.8, 380, 0.4),
    "b5": Variant(1.6, 2.2, 456, 0.4),
    "b6": Variant(1.8, 2.6, 528, 0.5),
    "b7": Variant(2.0, 3.1, 600, 0.5),
}


def round_filters(channels: int, width: float, *, divisor: int = 8) -> int:
    """Scale a channel count by ``width`` and round to a multiple of ``divisor`` (>= 90 %).

    Example:
        >>> round_filters(32, 1.1), round_filters(320, 2.0)
        (32, 640)
    """
    v = channels * width
    # nearest multiple of the divisor, but never more than 10 % below the exact value
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new < 0.9 * v:
        new += divisor
    return int(new)


def round_repeats(repeats: int, depth: float) -> int:
    """Scale a stage's number of blocks by ``depth``, rounding up.

    Example:
        >>> round_repeats(3, 1.4)
        5
    """
    return math.ceil(repeats * depth)


class EfficientNet(nn.Module):
    r"""EfficientNet: a 3x3 stem, seven MBConv stages, a 1x1 head conv, pooling and a classifier.

    Args:
        width: channel multiplier :math:`w`.
        depth: block-count multiplier :math:`d`.
        num_classes: outputs of the classifier.
        in_chans: input channels.
        small_input: stride-1 stem for 32x32 inputs (final map 2x2 instead of 1x1).
        drop_rate: dropout before the classifier.
        drop_path_rate: stochastic-depth probability, growing linearly from 0 at the first
            block to ``drop_path_rate * (N - 1) / N`` at the last (0.2 in the paper).
        norm_layer: normalisation factory.
        act_layer: activation factory (SiLU / swish).

    Shape:
        ``(B, in_chans, H, W) -> (B, num_classes)``; ``forward_features`` gives
        ``(B, num_features, H/32, W/32)`` with ``num_features = 4 * round_filters(320, w)``.

    Notes:
        Compound scaling grows depth, width and resolution together,
        :math:`d = \alpha^\phi, w = \beta^\phi, r = \gamma^\phi` subject to
        :math:`\alpha \beta^2 \gamma^2 \approx 2`, because a larger input needs more layers
        (receptive field) and more channels (finer patterns). Layout (``features.i.j.block``,
        ``classifier.1``) is torchvision's.

    Example:
        >>> model = efficientnet_b0(num_classes=10)
        >>> model(torch.rand(1, 3, 64, 64)).shape
        torch.Size([1, 10])

    References:
        Tan, M., Le, Q. "EfficientNet: Rethinking model scaling for convolutional neural
        networks." ICML 2019.
    """

    def __init__(
        self,
        width: float = 1.0,
        depth: float = 1.0,
        *,
        num_classes: int = 1000,
        in_chans: int = 3,
        small_input: bool = False,
        drop_rate: float = 0.2,
        drop_path_rate: float = 0.2,
        norm_layer: Callable[..., nn.Module] = nn.BatchNorm2d,
        act_layer: Callable[..., nn.Module] = nn.SiLU,
    ) -> None:
        super().__init__()
        check_int(num_classes, "num_classes", min_value=1)
        check_int(in_chans, "in_chans", min_value=1)
        check_range(drop_rate, "drop_rate", 0.0, 1.0, high_inclusive=False)
        check_range(drop_path_rate, "drop_path_rate", 0.0, 1.0, high_inclusive=False)
        cna = partial(ConvNormAct, norm_layer=norm_layer, act_layer=act_layer)
        stem = round_filters(BASELINE[0][3], width)
        layers: list[nn.Module] = [cna(in_chans, stem, 3, stride=1 if small_input else 2)]
        total = sum(round_repeats(s[5], depth) for s in BASELINE)
        block_id = 0
        for expand, k, stride, c_in, c_out, n in BASELINE:
            c_in, c_out = round_filters(c_in, width), round_filters(c_out, width)
            stage = []
            for i in range(round_repeats(n, depth)):
                stage.append(
                    MBConv(
                        c_in if i == 0 else c_out,
                        c_out,
                        kernel_size=k,
                        stride=stride if i == 0 else 1,
                        expand_ratio=expand,
                        se_ratio=0.25,
                        drop_path=drop_path_rate * block_id / total,
                        norm_layer=norm_layer,
                        act_layer=act_layer,
                    )
                )
                block_id += 1
            layers.append(nn.Sequential(*stage))
        last_in = round_filters(BASELINE[-1][4], width)
        self.num_features = 4 * last_in
        layers.append(cna(last_in, self.num_features, 1))  # (B, num_features, H/32, W/32)
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Dropout(drop_rate, inplace=True), nn.Linear(self.num_features, num_classes)
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                bound = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -bound, bound)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: Tensor) -> Tensor:
        """The last feature map, ``(B, num_features, h, w)``."""
        return self.features(x)

    def forward_head(self, x: Tensor, *, pre_logits: bool = False) -> Tensor:
        """Global average pooling, dropout, linear classifier."""
        x = torch.flatten(self.avgpool(x), 1)  # (B, num_features)
        return self.classifier[0](x) if pre_logits else self.classifier(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


def _build(name: str, kwargs: dict) -> EfficientNet:
    v = VARIANTS[name]
    kwargs.setdefault("drop_rate", v.dropout)
    if name in ("b5", "b6", "b7"):
        # torchvision's B5-B7 weights come from TensorFlow, trained with these BN settings
        kwargs.setdefault("norm_layer", partial(nn.BatchNorm2d, eps=1e-3, momentum=0.01))
    return EfficientNet(v.width, v.depth, **kwargs)


@register_model
def efficientnet_b0(**kwargs: object) -> EfficientNet:
    """EfficientNet-B0 (w 1.0, d 1.0, 224 px), 5.3 M parameters."""
    return _build("b0", kwargs)


@register_model
def efficientnet_b1(**kwargs: object) -> EfficientNet:
    """EfficientNet-B1 (w 1.0, d 1.1, 240 px), 7.8 M parameters."""
    return _build("b1", kwargs)


@register_model
def efficientnet_b2(**kwargs: object) -> EfficientNet:
    """EfficientNet-B2 (w 1.1, d 1.2, 260 px), 9.1 M parameters."""
    return _build("b2", kwargs)


@register_model
def efficientnet_b3(**kwargs: object) -> EfficientNet:
    """EfficientNet-B3 (w 1.2, d 1.4, 300 px), 12.2 M parameters."""
    return _build("b3", kwargs)


@register_model
def efficientnet_b4(**kwargs: object) -> EfficientNet:
    """EfficientNet-B4 (w 1.4, d 1.8, 380 px), 19.3 M parameters."""
    return _build("b4", kwargs)


@register_model
def efficientnet_b5(**kwargs: object) -> EfficientNet:
    """EfficientNet-B5 (w 1.6, d 2.2, 456 px), 30.4 M parameters."""
    return _build("b5", kwargs)


@register_model
def efficientnet_b6(**kwargs: object) -> EfficientNet:
    """EfficientNet-B6 (w 1.8, d 2.6, 528 px), 43.0 M parameters."""
    return _build("b6", kwargs)


@register_model
def efficientnet_b7(**kwargs: object) -> EfficientNet:
    """EfficientNet-B7 (w 2.0, d 3.1, 600 px), 66.3 M parameters."""
    return _build("b7", kwargs)
