"""Neural-network building blocks: conv-norm-act, pooling, residual, inception, SE, MBConv."""

from pixlearn.nn.activations import (
    LeakyReLU,
    Maxout,
    ReLU,
    Sigmoid,
    SiLU,
    Tanh,
    get_act_layer,
    maxout,
)
from pixlearn.nn.conv import BasicConv2d, ConvNormAct
from pixlearn.nn.inception import Inception, InceptionNaive
from pixlearn.nn.mbconv import MBConv
from pixlearn.nn.pooling import (
    AvgPool2d,
    BlurPool2d,
    GlobalPool2d,
    MaxBlurPool2d,
    MaxPool2d,
    binomial_kernel,
    blur_pool2d,
    global_pool2d,
)
from pixlearn.nn.residual import BasicBlock, Bottleneck
from pixlearn.nn.size import conv_output_size, count_parameters, layer_geometry, receptive_field
from pixlearn.nn.squeeze_excite import SqueezeExcite
from pixlearn.nn.stochastic_depth import StochasticDepth, stochastic_depth

__all__ = [
    "AvgPool2d",
    "BasicBlock",
    "BasicConv2d",
    "BlurPool2d",
    "Bottleneck",
    "ConvNormAct",
    "GlobalPool2d",
    "Inception",
    "InceptionNaive",
    "LeakyReLU",
    "MBConv",
    "MaxBlurPool2d",
    "MaxPool2d",
    "Maxout",
    "ReLU",
    "SiLU",
    "Sigmoid",
    "SqueezeExcite",
    "StochasticDepth",
    "Tanh",
    "binomial_kernel",
    "blur_pool2d",
    "conv_output_size",
    "count_parameters",
    "get_act_layer",
    "global_pool2d",
    "layer_geometry",
    "maxout",
    "receptive_field",
    "stochastic_depth",
]
