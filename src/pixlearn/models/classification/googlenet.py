"""GoogLeNet (Inception v1): inception modules, 1x1 bottlenecks and auxiliary classifiers."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from pixlearn._core.check import check_int, check_range
from pixlearn.models.registry import register_model
from pixlearn.nn.conv import BasicConv2d
from pixlearn.nn.inception import Inception

__all__ = ["GoogLeNet", "GoogLeNetOutputs", "InceptionAux", "googlenet"]


class GoogLeNetOutputs(NamedTuple):
    """Training-mode output of :class:`GoogLeNet`: the main logits and the two auxiliary ones."""

    logits: Tensor
    aux1: Tensor
    aux2: Tensor


class InceptionAux(nn.Module):
    """Auxiliary classifier: 4x4 average pool, 1x1 conv (128), fc 1024, dropout 0.7, fc.

    Example:
        >>> InceptionAux(512, 10)(torch.rand(2, 512, 14, 14)).shape
        torch.Size([2, 10])
    """

    def __init__(self, in_chs: int, num_classes: int, *, drop_rate: float = 0.7) -> None:
        super().__init__()
        self.conv = BasicConv2d(in_chs, 128, kernel_size=1)
        self.fc1 = nn.Linear(2048, 1024)
        self.fc2 = nn.Linear(1024, num_classes)
        self.dropout = nn.Dropout(drop_rate)

    def forward(self, x: Tensor) -> Tensor:
        x = F.adaptive_avg_pool2d(x, 4)  # (B, C, 4, 4)
        x = torch.flatten(self.conv(x), 1)  # (B, 2048)
        x = self.dropout(F.relu(self.fc1(x), inplace=True))  # (B, 1024)
        return self.fc2(x)


class GoogLeNet(nn.Module):
    r"""GoogLeNet: a 22-layer stack of nine inception modules with two auxiliary classifiers.

    Args:
        num_classes: outputs of the classifier(s).
        in_chans: input channels.
        aux_logits: build the two auxiliary classifiers (after ``inception4a`` and
            ``inception4d``). They are used only in training mode: ``forward`` then returns a
            :class:`GoogLeNetOutputs` ``(logits, aux1, aux2)`` (the paper weights each
            auxiliary loss by 0.3); in eval mode it returns the main logits only, whatever
            ``aux_logits`` is. ``True`` by default so torchvision's checkpoint (which holds
            ``aux1``/``aux2``) loads with ``strict=True``.
        small_input: a 3x3 stride-1 first conv and no first max-pool, for 32x32 inputs.
        drop_rate: dropout before the final fully connected layer (0.2).

    Shape:
        ``(B, in_chans, H, W) -> (B, num_classes)`` (eval). ``forward_features`` gives
        ``(B, 1024, H/32, W/32)`` (``H/8`` with ``small_input``).

    Notes:
        Module names and shapes are torchvision's, including its "5x5" branches that are 3x3
        convolutions (so its weights load). No ``transform_input``: feed images normalised
        with the ImageNet mean and standard deviation. Parameters at 1000 classes:
        6,624,904 without the auxiliary heads (``aux_logits=False``, the figure torchvision
        documents), 13,004,888 with them (torchvision's ``googlenet()`` default).

    Example:
        >>> model = googlenet(num_classes=10).eval()
        >>> model(torch.rand(1, 3, 64, 64)).shape
        torch.Size([1, 10])

    References:
        Szegedy, C. et al. "Going deeper with convolutions." CVPR 2015.
    """

    def __init__(
        self,
        *,
        num_classes: int = 1000,
        in_chans: int = 3,
        aux_logits: bool = True,
        small_input: bool = False,
        drop_rate: float = 0.2,
    ) -> None:
        super().__init__()
        check_int(num_classes, "num_classes", min_value=1)
        check_int(in_chans, "in_chans", min_value=1)
        check_range(drop_rate, "drop_rate", 0.0, 1.0, high_inclusive=False)
        if small_input:
            self.conv1 = BasicConv2d(in_chans, 64, kernel_size=3, padding=1)
            self.maxpool1: nn.Module = nn.Identity()
        else:
            self.conv1 = BasicConv2d(in_chans, 64, kernel_size=7, stride=2, padding=3)
            self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, kernel_size=1)
        self.conv3 = BasicConv2d(64, 192, kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)

        # (in, 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj): table 1 of the paper
        def inc(*widths: int) -> Inception:
            return Inception(*widths, branch3_kernel=3)

        self.inception3a = inc(192, 64, 96, 128, 16, 32, 32)
        self.inception3b = inc(256, 128, 128, 192, 32, 96, 64)
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.inception4a = inc(480, 192, 96, 208, 16, 48, 64)
        self.inception4b = inc(512, 160, 112, 224, 24, 64, 64)
        self.inception4c = inc(512, 128, 128, 256, 24, 64, 64)
        self.inception4d = inc(512, 112, 144, 288, 32, 64, 64)
        self.inception4e = inc(528, 256, 160, 320, 32, 128, 128)
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.inception5a = inc(832, 256, 160, 320, 32, 128, 128)
        self.inception5b = inc(832, 384, 192, 384, 48, 128, 128)
        self.aux1 = InceptionAux(512, num_classes) if aux_logits else None
        self.aux2 = InceptionAux(528, num_classes) if aux_logits else None
        self.num_features = 1024
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(drop_rate)
        self.fc = nn.Linear(1024, num_classes)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)

    def _stages(self, x: Tensor, *, aux: bool) -> tuple[Tensor, Tensor | None, Tensor | None]:
        x = self.maxpool1(self.conv1(x))  # (B, 64, H/4, W/4)
        x = self.maxpool2(self.conv3(self.conv2(x)))  # (B, 192, H/8, W/8)
        x = self.maxpool3(self.inception3b(self.inception3a(x)))  # (B, 480, H/16, W/16)
        x = self.inception4a(x)  # (B, 512, H/16, W/16)
        aux1 = self.aux1(x) if aux and self.aux1 is not None else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))  # (B, 528, H/16, W/16)
        aux2 = self.aux2(x) if aux and self.aux2 is not None else None
        x = self.maxpool4(self.inception4e(x))  # (B, 832, H/32, W/32)
        x = self.inception5b(self.inception5a(x))  # (B, 1024, H/32, W/32)
        return x, aux1, aux2

    def forward_features(self, x: Tensor) -> Tensor:
        """The last feature map ``(B, 1024, h, w)`` (auxiliary heads not evaluated)."""
        return self._stages(x, aux=False)[0]

    def forward_head(self, x: Tensor, *, pre_logits: bool = False) -> Tensor:
        """Global average pooling, dropout and the classifier."""
        x = self.dropout(torch.flatten(self.avgpool(x), 1))  # (B, 1024)
        return x if pre_logits else self.fc(x)

    def forward(self, x: Tensor) -> Tensor | GoogLeNetOutputs:
        # the auxiliary classifiers only exist to inject gradient while training
        x, aux1, aux2 = self._stages(x, aux=self.training)
        logits = self.forward_head(x)
        if aux1 is not None and aux2 is not None:
            return GoogLeNetOutputs(logits, aux1, aux2)
        return logits


@register_model
def googlenet(**kwargs: object) -> GoogLeNet:
    """GoogLeNet / Inception v1 (Szegedy 2014); auxiliary heads in training mode only."""
    return GoogLeNet(**kwargs)  # type: ignore[arg-type]
