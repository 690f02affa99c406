"""ResNet-18/34/50/101/152: deep networks made trainable by identity shortcuts.

Parameter names follow torchvision's ``ResNet`` (``conv1``, ``bn1``, ``layer1..4``, ``fc``), so
its ImageNet weights load with ``load_state_dict`` unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from pixlearn._core.check import check_int, check_range
from pixlearn.models.registry import register_model
from pixlearn.nn.residual import BasicBlock, Bottleneck

__all__ = ["ResNet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152"]

LayerFactory = Callable[..., nn.Module]


class ResNet(nn.Module):
    r"""A residual network: a stem, four stages of residual blocks, global pooling, a linear head.

    Args:
        block: :class:`~pixlearn.nn.BasicBlock` or :class:`~pixlearn.nn.Bottleneck`.
        layers: number of blocks in each of the four stages, e.g. ``(2, 2, 2, 2)``.
        num_classes: outputs of the classifier (0 leaves ``fc`` as the identity).
        in_chans: input channels.
        small_input: use a 3x3 stride-1 stem without max-pooling (for 32x32 images such as
            CIFAR or digits), instead of the 7x7 stride-2 conv + 3x3 stride-2 max-pool that
            reduces ImageNet's 224 to 56.
        drop_rate: dropout probability before the classifier.
        norm_layer: normalisation factory (default BatchNorm2d).
        act_layer: activation factory (default ReLU).
        attn_layer: optional channel attention in each bottleneck (SE-ResNet).
        zero_init_residual: start each block's last BN at gamma = 0 so every block begins as
            the identity (Goyal et al. 2017).
        deep_stem: replace the 7x7 conv by three 3x3 convs of widths 64, 64, 128 (named
            ``conv1.0/3/6`` with BNs ``conv1.1/4`` and ``bn1``, timm's layout; SENet-154).
        block_kwargs: extra keyword arguments of every block (``groups``, ``base_width``,
            ``reduce_first``, ``down_kernel_size`` for :class:`~pixlearn.nn.Bottleneck`).

    Shape:
        ``(B, in_chans, H, W) -> (B, num_classes)``; ``forward_features`` gives
        ``(B, num_features, H/32, W/32)`` (``H/8`` with ``small_input``).

    Notes:
        Each block computes :math:`y = \sigma(\mathcal{F}(x) + x)`; the stages double the
        channels while halving the resolution (stride 2 in the first block of stages 2-4).

    Example:
        >>> model = resnet18(num_classes=10, in_chans=1, small_input=True)
        >>> model(torch.rand(2, 1, 32, 32)).shape
        torch.Size([2, 10])

    References:
        He, K. et al. "Deep residual learning for image recognition." CVPR 2016.
    """

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: tuple[int, int, int, int],
        *,
        num_classes: int = 1000,
        in_chans: int = 3,
        small_input: bool = False,
        drop_rate: float = 0.0,
        norm_layer: LayerFactory = nn.BatchNorm2d,
        act_layer: LayerFactory = nn.ReLU,
        attn_layer: LayerFactory | None = None,
        zero_init_residual: bool = False,
        deep_stem: bool = False,
        block_kwargs: dict | None = None,
    ) -> None:
        super().__init__()
        check_int(num_classes, "num_classes", min_value=0)
        check_int(in_chans, "in_chans", min_value=1)
        check_range(drop_rate, "drop_rate", 0.0, 1.0, high_inclusive=False)
        self.inplanes = 128 if deep_stem else 64
        stride = 1 if small_input else 2
        if deep_stem:
            self.conv1: nn.Module = nn.Sequential(
                nn.Conv2d(in_chans, 64, 3, stride=stride, padding=1, bias=False),
                norm_layer(64),
                act_layer(),
                nn.Conv2d(64, 64, 3, padding=1, bias=False),
                norm_layer(64),
                act_layer(),
                nn.Conv2d(64, 128, 3, padding=1, bias=False),
            )
        elif small_input:
            self.conv1 = nn.Conv2d(in_chans, 64, 3, stride=1, padding=1, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_chans, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = norm_layer(self.inplanes)
        self.relu = act_layer(inplace=True) if act_layer is nn.ReLU else act_layer()
        self.maxpool: nn.Module = (
            nn.Identity() if small_input else nn.MaxPool2d(3, stride=2, padding=1)
        )
        kw = {"norm_layer": norm_layer, "act_layer": act_layer}
        if attn_layer is not None:
            kw["attn_layer"] = attn_layer
        kw.update(block_kwargs or {})
        self.layer1 = self._stage(block, 64, layers[0], 1, kw)
        self.layer2 = self._stage(block, 128, layers[1], 2, kw)
        self.layer3 = self._stage(block, 256, layers[2], 2, kw)
        self.layer4 = self._stage(block, 512, layers[3], 2, kw)
        self.num_features = 512 * block.expansion
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(drop_rate)
        self.fc: nn.Module = (
            nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()
        )
        self._init_weights(zero_init_residual)

    def _stage(
        self, block: type[nn.Module], chs: int, n: int, stride: int, kw: dict
    ) -> nn.Sequential:
        blocks = []
        for i in range(n):
            blocks.append(block(self.inplanes, chs, stride=stride if i == 0 else 1, **kw))
            self.inplanes = chs * block.expansion  # type: ignore[attr-defined]
        return nn.Sequential(*blocks)

    def _init_weights(self, zero_init_residual: bool) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                # He initialisation keeps the activation variance constant through ReLUs.
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            if zero_init_residual and isinstance(m, (BasicBlock, Bottleneck)):
                last = m.bn3 if isinstance(m, Bottleneck) else m.bn2
                if getattr(last, "weight", None) is not None:
                    nn.init.zeros_(last.weight)

    def forward_features(self, x: Tensor) -> Tensor:
        """The last feature map, ``(B, num_features, h, w)``."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # (B, 64 or 128, H/4, W/4)
        x = self.layer1(x)  # (B, 64 e, H/4, W/4)
        x = self.layer2(x)  # (B, 128 e, H/8, W/8)
        x = self.layer3(x)  # (B, 256 e, H/16, W/16)
        return self.layer4(x)  # (B, 512 e, H/32, W/32)

    def forward_head(self, x: Tensor, *, pre_logits: bool = False) -> Tensor:
        """Global average pooling, dropout and the classifier (``pre_logits``: skip the fc)."""
        x = torch.flatten(self.avgpool(x), 1)  # (B, num_features)
        x = self.drop(x)
        return x if pre_logits else self.fc(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


@register_model
def resnet18(**kwargs: object) -> ResNet:
    """ResNet-18: basic blocks (2, 2, 2, 2), 11.7 M parameters at 1000 classes."""
    return ResNet(BasicBlock, (2, 2, 2, 2), **kwargs)  # type: ignore[arg-type]


@register_model
def resnet34(**kwargs: object) -> ResNet:
    """ResNet-34: basic blocks (3, 4, 6, 3), 21.8 M parameters."""
    return ResNet(BasicBlock, (3, 4, 6, 3), **kwargs)  # type: ignore[arg-type]


@register_model
def resnet50(**kwargs: object) -> ResNet:
    """ResNet-50: bottleneck blocks (3, 4, 6, 3), 25.6 M parameters."""
    return ResNet(Bottleneck, (3, 4, 6, 3), **kwargs)  # type: ignore[arg-type]


@register_model
def resnet101(**kwargs: object) -> ResNet:
    """ResNet-101: bottleneck blocks (3, 4, 23, 3), 44.5 M parameters."""
    return ResNet(Bottleneck, (3, 4, 23, 3), **kwargs)  # type: ignore[arg-type]


@register_model
def resnet152(**kwargs: object) -> ResNet:
    """ResNet-152: bottleneck blocks (3, 8, 36, 3), 60.2 M parameters."""
    return ResNet(Bottleneck, (3, 8, 36, 3), **kwargs)  # type: ignore[arg-type]
