"""Classification architectures, LeNet-5 to EfficientNet; each module registers its models."""

from pixlearn.models.classification.alexnet import AlexNet, alexnet, zfnet
from pixlearn.models.classification.efficientnet import (
    EfficientNet,
    efficientnet_b0,
    efficientnet_b1,
    efficientnet_b2,
    efficientnet_b3,
    efficientnet_b4,
    efficientnet_b5,
    efficientnet_b6,
    efficientnet_b7,
)
from pixlearn.models.classification.googlenet import GoogLeNet, GoogLeNetOutputs, googlenet
from pixlearn.models.classification.lenet import LeNet5, lenet5
from pixlearn.models.classification.resnet import (
    ResNet,
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
)
from pixlearn.models.classification.senet import se_resnet50, senet154
from pixlearn.models.classification.vgg import (
    VGG,
    vgg11,
    vgg11_bn,
    vgg13,
    vgg13_bn,
    vgg16,
    vgg16_bn,
    vgg19,
    vgg19_bn,
)
