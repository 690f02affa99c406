"""LeNet-5: the first convolutional network trained end to end by back-propagation."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from pixlearn._core.check import check_int, check_range
from pixlearn.models.registry import register_model

__all__ = ["LeNet5", "lenet5"]


class LeNet5(nn.Module):
    r"""LeNet-5: conv5x5(6) - pool - conv5x5(16) - pool - fc120 - fc84 - fc.

    Args:
        num_classes: outputs of the last layer.
        in_chans: input channels (1 for digits).
        classic: ``False`` (default) uses the modern variant, ReLU and 2x2 max-pooling, which
            trains faster; ``True`` the 1998 choices, tanh and 2x2 average pooling (the paper's
            trainable subsampling and RBF output layer are replaced by plain average pooling and
            a linear layer, as every modern re-implementation does).
        drop_rate: dropout probability before the last layer.
        small_input: accepted for a uniform interface and ignored: LeNet-5 is a small-input
            network.
        act_layer: activation factory overriding the one ``classic`` picks.

    Shape:
        ``(B, in_chans, H, W) -> (B, num_classes)`` for ``H, W >= 28`` (the paper's input is
        32x32). The feature map is adaptively average-pooled to 5x5 before the fully connected
        layers, which is the identity at 32x32 and lets other sizes through.

    Notes:
        At 32x32: 32 -conv5-> 28 -pool-> 14 -conv5-> 10 -pool-> 5, so the first fully
        connected layer sees :math:`16 \cdot 5 \cdot 5 = 400` values. Parameters at one input
        channel and 10 classes: :math:`156 + 2416 + 48120 + 10164 + 850 = 61706`.

    Example:
        >>> model = lenet5(num_classes=10, in_chans=1)
        >>> model(torch.rand(4, 1, 32, 32)).shape
        torch.Size([4, 10])

    References:
        LeCun, Y., Bottou, L., Bengio, Y., Haffner, P. "Gradient-based learning applied to
        document recognition." Proc. IEEE 1998.
    """

    def __init__(
        self,
        *,
        num_classes: int = 10,
        in_chans: int = 1,
        classic: bool = False,
        drop_rate: float = 0.0,
        small_input: bool = False,
        act_layer: Callable[..., nn.Module] | None = None,
    ) -> None:
        super().__init__()
        check_int(num_classes, "num_classes", min_value=1)
        check_int(in_chans, "in_chans", min_value=1)
        check_range(drop_rate, "drop_rate", 0.0, 1.0, high_inclusive=False)
        act = act_layer or (nn.Tanh if classic else nn.ReLU)
        pool = nn.AvgPool2d if classic else nn.MaxPool2d
        self.features = nn.Sequential(
            nn.Conv2d(in_chans, 6, 5),  # (B, 6, 28, 28)
            act(),
            pool(2),  # (B, 6, 14, 14)
            nn.Conv2d(6, 16, 5),  # (B, 16, 10, 10)
            act(),
            pool(2),  # (B, 16, 5, 5)
        )
        self.num_features = 16
        self.pool = nn.AdaptiveAvgPool2d(5)
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120),
            act(),
            nn.Linear(120, 84),
            act(),
            nn.Dropout(drop_rate),
            nn.Linear(84, num_classes),
        )

    def forward_features(self, x: Tensor) -> Tensor:
        """The last feature map, ``(B, 16, h, w)`` (5x5 at 32x32 input)."""
        return self.features(x)

    def forward_head(self, x: Tensor, *, pre_logits: bool = False) -> Tensor:
        """Pool to 5x5, flatten and apply the fully connected layers (``pre_logits``: stop
        at the 84 features)."""
        x = torch.flatten(self.pool(x), 1)  # (B, 400)
        if pre_logits:
            return self.classifier[:-1](x)  # (B, 84)
        return self.classifier(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


@register_model
def lenet5(**kwargs: object) -> LeNet5:
    """LeNet-5 (LeCun 1998), 32x32 grey input by default; ``classic=True`` for tanh/avg-pool."""
    return LeNet5(**kwargs)  # type: ignore[arg-type]
