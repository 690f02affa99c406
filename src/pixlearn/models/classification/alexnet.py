"""AlexNet and ZFNet: the two ImageNet winners (2012, 2013) that started deep learning for vision.

Both share one layout, torchvision's ``AlexNet``: ``features`` (convs, ReLUs, max-pools),
``avgpool`` (adaptive, to 6x6) and ``classifier`` (dropout, fc 4096, dropout, fc 4096, fc).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from pixlearn._core.check import check_int, check_range
from pixlearn.models.registry import register_model

__all__ = ["AlexNet", "alexnet", "zfnet"]

# (out_channels, kernel, stride, padding) per conv; "M" is a 3x3 stride-2 max-pool
_ALEXNET: list = [(64, 11, 4, 2), "M", (192, 5, 1, 2), "M", (384, 3, 1, 1), (256, 3, 1, 1)]
_ALEXNET += [(256, 3, 1, 1), "M"]
# ZFNet shrinks the first layer (7x7 stride 2 instead of 11x11 stride 4): the deconvnet
# visualisations showed aliasing and dead filters in AlexNet's first layer.
_ZFNET: list = [(96, 7, 2, 1), "Mp", (256, 5, 2, 0), "Mp", (384, 3, 1, 1), (384, 3, 1, 1)]
_ZFNET += [(256, 3, 1, 1), "M"]
_SMALL_STEM = (64, 3, 1, 1)


class AlexNet(nn.Module):
    r"""AlexNet-style network: five convs with max-pooling, then three fully connected layers.

    Args:
        cfg: the conv/pool sequence (see :func:`alexnet` and :func:`zfnet`).
        num_classes: outputs of the last layer.
        in_chans: input channels.
        small_input: replace the first conv by a 3x3 stride-1 conv, so 32x32 inputs keep
            enough resolution (the ImageNet stem needs at least 63x63).
        drop_rate: dropout probability before each hidden fully connected layer (0.5).
        act_layer: activation factory (ReLU, AlexNet's key choice over tanh).

    Shape:
        ``(B, in_chans, H, W) -> (B, num_classes)``; the last feature map is adaptively
        average-pooled to 6x6, so ``fc6`` sees :math:`256 \cdot 6 \cdot 6 = 9216` values.

    Notes:
        Local response normalisation and the two-GPU grouping of the paper are left out, as in
        torchvision (whose single-GPU "one weird trick" widths 64-192-384-256-256 are used).

    Example:
        >>> alexnet(num_classes=10)(torch.rand(1, 3, 224, 224)).shape
        torch.Size([1, 10])

    References:
        Krizhevsky, A., Sutskever, I., Hinton, G. "ImageNet classification with deep
        convolutional neural networks." NeurIPS 2012.
    """

    def __init__(
        self,
        cfg: list,
        *,
        num_classes: int = 1000,
        in_chans: int = 3,
        small_input: bool = False,
        drop_rate: float = 0.5,
        act_layer: Callable[..., nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        check_int(num_classes, "num_classes", min_value=1)
        check_int(in_chans, "in_chans", min_value=1)
        check_range(drop_rate, "drop_rate", 0.0, 1.0, high_inclusive=False)
        if small_input:
            cfg = [(cfg[0][0], *_SMALL_STEM[1:]), *cfg[1:]]
        layers: list[nn.Module] = []
        chs = in_chans
        for item in cfg:
            if item == "M":
                layers.append(nn.MaxPool2d(3, stride=2))
            elif item == "Mp":
                layers.append(nn.MaxPool2d(3, stride=2, padding=1))
            else:
                out, k, s, p = item
                layers += [nn.Conv2d(chs, out, k, stride=s, padding=p), act_layer(inplace=True)]
                chs = out
        self.features = nn.Sequential(*layers)
        self.num_features = chs
        self.avgpool = nn.AdaptiveAvgPool2d(6)
        self.classifier = nn.Sequential(
            nn.Dropout(drop_rate),
            nn.Linear(chs * 6 * 6, 4096),  # fc6
            act_layer(inplace=True),
            nn.Dropout(drop_rate),
            nn.Linear(4096, 4096),  # fc7
            act_layer(inplace=True),
            nn.Linear(4096, num_classes),  # fc8
        )

    def forward_features(self, x: Tensor) -> Tensor:
        """The last feature map ``(B, 256, h, w)`` (6x6 at 224x224)."""
        return self.features(x)

    def forward_head(self, x: Tensor, *, pre_logits: bool = False) -> Tensor:
        """Pool to 6x6, flatten, fc6-fc7(-fc8); ``pre_logits`` stops before fc8."""
        x = torch.flatten(self.avgpool(x), 1)  # (B, 9216)
        return self.classifier[:-1](x) if pre_logits else self.classifier(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


@register_model
def alexnet(**kwargs: object) -> AlexNet:
    """AlexNet (Krizhevsky 2012, torchvision's single-tower widths), 61.1 M parameters."""
    return AlexNet(_ALEXNET, **kwargs)  # type: ignore[arg-type]


@register_model
def zfnet(**kwargs: object) -> AlexNet:
    """ZFNet (Zeiler & Fergus 2013): AlexNet with a 7x7 stride-2 first layer, 62.4 M parameters.

    224 -> conv 7x7/2 (96) -> 110 -> pool -> 55 -> conv 5x5/2 (256) -> 26 -> pool -> 13 ->
    3 convs 3x3 (384, 384, 256) -> pool -> 6. The paper's contrast normalisation is left out.

    References:
        Zeiler, M. D., Fergus, R. "Visualizing and understanding convolutional networks."
        ECCV 2014.
    """
    return AlexNet(_ZFNET, **kwargs)  # type: ignore[arg-type]
