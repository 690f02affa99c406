"""SE-ResNet: ResNet bottlenecks with squeeze-and-excitation channel attention."""

from __future__ import annotations

from functools import partial

from pixlearn.models.classification.resnet import ResNet
from pixlearn.models.registry import register_model
from pixlearn.nn.residual import Bottleneck
from pixlearn.nn.squeeze_excite import SqueezeExcite

__all__ = ["se_resnet50", "senet154"]


@register_model
def se_resnet50(**kwargs: object) -> ResNet:
    r"""SE-ResNet-50: ResNet-50 with an SE block (r = 16) in every bottleneck, 28.1 M parameters.

    Accepts the keyword arguments of :class:`~pixlearn.models.classification.resnet.ResNet`.

    Notes:
        The SE block re-weights the bottleneck's output channels before the shortcut is added,
        :math:`y = \sigma(s \odot \mathcal{F}(x) + x)`. Names follow timm's ``seresnet50``
        (``layerN.i.se.fc1``/``se.fc2``, 1x1 convs with bias, bottleneck width
        ``C // 16``), so its weights load unchanged; the rest is torchvision's ResNet-50.
        Parameters at 1000 classes: 25,557,032 + 2,530,992 (SE) = 28,088,024.

    Example:
        >>> model = se_resnet50(num_classes=10, small_input=True)
        >>> model(torch.rand(1, 3, 32, 32)).shape
        torch.Size([1, 10])

    References:
        Hu, J., Shen, L., Sun, G. "Squeeze-and-excitation networks." CVPR 2018.
    """
    return ResNet(
        Bottleneck,
        (3, 4, 6, 3),
        attn_layer=partial(SqueezeExcite, rd_channels=None),
        **kwargs,  # type: ignore[arg-type]
    )


@register_model
def senet154(**kwargs: object) -> ResNet:
    r"""SENet-154: SE-ResNeXt-152 (64 groups x 4 wide) with a deep stem, 115.1 M parameters.

    The ILSVRC 2017 winner. Differences from :func:`se_resnet50`: blocks (3, 8, 36, 3);
    grouped 3x3 convs (cardinality 64, width ``chs / 64 * 4 * 64``, first 1x1 halved); a stem
    of three 3x3 convs (64, 64, 128) instead of the 7x7; 3x3 strided projection shortcuts.
    Names follow timm's ``senet154`` (the Gluon port), whose weights load unchanged.

    Example:
        >>> senet154(num_classes=10).layer1[0].conv2.groups
        64

    References:
        Hu, J., Shen, L., Sun, G. "Squeeze-and-excitation networks." CVPR 2018.
    """
    return ResNet(
        Bottleneck,
        (3, 8, 36, 3),
        attn_layer=partial(SqueezeExcite, rd_channels=None),
        deep_stem=True,
        block_kwargs={"groups": 64, "base_width": 4, "reduce_first": 2, "down_kernel_size": 3},
        **kwargs,  # type: ignore[arg-type]
    )
