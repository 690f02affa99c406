"""VGG-11/13/16/19 (with and without batch norm): depth from stacks of 3x3 convolutions."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from pixlearn._core.check import check_int, check_range
from pixlearn.models.registry import register_model

__all__ = [
    "VGG",
    "vgg11",
    "vgg11_bn",
    "vgg13",
    "vgg13_bn",
    "vgg16",
    "vgg16_bn",
    "vgg19",
    "vgg19_bn",
]

# The paper's configurations A, B, D, E: conv widths, "M" a 2x2 stride-2 max-pool.
CFGS: dict[str, list[int | str]] = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", *[256] * 3, "M", *[512] * 3, "M", *[512] * 3, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", *[256] * 4, "M", *[512] * 4, "M", *[512] * 4, "M"],
}


class VGG(nn.Module):
    r"""VGG: blocks of 3x3 convs (+ BN) separated by max-pools, then three fully connected layers.

    Args:
        cfg: conv widths and ``"M"`` pools, e.g. ``CFGS["vgg16"]``.
        num_classes: outputs of the last layer.
        in_chans: input channels.
        batch_norm: put a BatchNorm2d after every conv (the ``_bn`` variants).
        small_input: accepted for a uniform interface and ignored: VGG already runs on 32x32
            (its five pools reach 1x1 and the adaptive pooling does the rest).
        drop_rate: dropout after the two hidden fully connected layers (0.5).
        act_layer: activation factory (ReLU).

    Shape:
        ``(B, in_chans, H, W) -> (B, num_classes)`` for ``H, W >= 32``; the last map (``H/32``)
        is adaptively average-pooled to 7x7 (25088 inputs to fc6).

    Notes:
        Two stacked 3x3 convs see a 5x5 window with :math:`2 \cdot 9 C^2 = 18 C^2` weights
        instead of :math:`25 C^2`, and three see 7x7 with :math:`27 C^2` instead of
        :math:`49 C^2`, with a non-linearity between each: deeper, cheaper, more
        discriminative. Layout ``features.i``/``classifier.i`` is torchvision's.

    Example:
        >>> vgg11(num_classes=10)(torch.rand(1, 3, 32, 32)).shape
        torch.Size([1, 10])

    References:
        Simonyan, K., Zisserman, A. "Very deep convolutional networks for large-scale image
        recognition." ICLR 2015.
    """

    def __init__(
        self,
        cfg: list[int | str],
        *,
        num_classes: int = 1000,
        in_chans: int = 3,
        batch_norm: bool = False,
        small_input: bool = False,
        drop_rate: float = 0.5,
        act_layer: Callable[..., nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        check_int(num_classes, "num_classes", min_value=1)
        check_int(in_chans, "in_chans", min_value=1)
        check_range(drop_rate, "drop_rate", 0.0, 1.0, high_inclusive=False)
        layers: list[nn.Module] = []
        chs = in_chans
        for v in cfg:
            if v == "M":
                layers.append(nn.MaxPool2d(2, stride=2))
                continue
            layers.append(nn.Conv2d(chs, int(v), 3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(int(v)))
            layers.append(act_layer(inplace=True))
            chs = int(v)
        self.features = nn.Sequential(*layers)
        self.num_features = chs
        self.avgpool = nn.AdaptiveAvgPool2d(7)
        self.classifier = nn.Sequential(
            nn.Linear(chs * 7 * 7, 4096),
            act_layer(inplace=True),
            nn.Dropout(drop_rate),
            nn.Linear(4096, 4096),
            act_layer(inplace=True),
            nn.Dropout(drop_rate),
            nn.Linear(4096, num_classes),
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: Tensor) -> Tensor:
        """The last feature map ``(B, 512, H/32, W/32)``."""
        return self.features(x)

    def forward_head(self, x: Tensor, *, pre_logits: bool = False) -> Tensor:
        """Pool to 7x7, flatten, fc6-fc7(-fc8); ``pre_logits`` stops before fc8."""
        x = torch.flatten(self.avgpool(x), 1)  # (B, 25088)
        return self.classifier[:-1](x) if pre_logits else self.classifier(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


@register_model
def vgg11(**kwargs: object) -> VGG:
    """VGG-11 (configuration A), 132.9 M parameters."""
    return VGG(CFGS["vgg11"], **kwargs)  # type: ignore[arg-type]


@register_model
def vgg13(**kwargs: object) -> VGG:
    """VGG-13 (configuration B), 133.0 M parameters."""
    return VGG(CFGS["vgg13"], **kwargs)  # type: ignore[arg-type]


@register_model
def vgg16(**kwargs: object) -> VGG:
    """VGG-16 (configuration D), 138.4 M parameters."""
    return VGG(CFGS["vgg16"], **kwargs)  # type: ignore[arg-type]


@register_model
def vgg19(**kwargs: object) -> VGG:
    """VGG-19 (configuration E), 143.7 M parameters."""
    return VGG(CFGS["vgg19"], **kwargs)  # type: ignore[arg-type]


@register_model
def vgg11_bn(**kwargs: object) -> VGG:
    """VGG-11 with batch normalisation after every conv."""
    return VGG(CFGS["vgg11"], batch_norm=True, **kwargs)  # type: ignore[arg-type]


@register_model
def vgg13_bn(**kwargs: object) -> VGG:
    """VGG-13 with batch normalisation after every conv."""
    return VGG(CFGS["vgg13"], batch_norm=True, **kwargs)  # type: ignore[arg-type]


@register_model
def vgg16_bn(**kwargs: object) -> VGG:
    """VGG-16 with batch normalisation after every conv."""
    return VGG(CFGS["vgg16"], batch_norm=True, **kwargs)  # type: ignore[arg-type]


@register_model
def vgg19_bn(**kwargs: object) -> VGG:
    """VGG-19 with batch normalisation after every conv."""
    return VGG(CFGS["vgg19"], batch_norm=True, **kwargs)  # type: ignore[arg-type]
