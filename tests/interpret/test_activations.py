import pytest
import torch
from torch import nn

from pixlearn.interpret import activation_maps


def _net():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Sequential(nn.Conv2d(4, 2, 3, stride=2), nn.ReLU()),
        nn.Flatten(),
        nn.LazyLinear(3),
    )


def test_equals_the_prefix_of_the_network_in_eval_mode():
    net = _net()
    net(torch.rand(2, 1, 12, 12))  # materialise the lazy layer, move the BN statistics
    x = torch.rand(3, 1, 12, 12)
    net.train()
    out = activation_maps(net, x, "3.0")
    net.eval()
    with torch.no_grad():
        expected = net[3][0](net[2](net[1](net[0](x))))
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    assert out.shape == (3, 2, 4, 4) and not out.requires_grad


def test_single_image_module_argument_and_state_restored():
    net = _net()
    net(torch.rand(2, 1, 12, 12))
    net.train()
    x = torch.rand(1, 12, 12)
    out = activation_maps(net, x, net[0])
    assert out.shape == (4, 10, 10)
    torch.testing.assert_close(out, activation_maps(net, x[None], "0")[0])
    assert net.training and net[1].training and not net[0]._forward_hooks


def test_missing_layer_is_named_with_the_valid_ones():
    with pytest.raises(ValueError, match=r"layer 'conv9' is not a module.*0, 1, 2, 3, 3\.0"):
        activation_maps(_net(), torch.rand(1, 12, 12), "conv9")
    with pytest.raises(ValueError, match="layer '' is not a module"):
        activation_maps(_net(), torch.rand(1, 12, 12), "")  # the root is not a layer
    with pytest.raises(ValueError, match="layer must be a sub-module"):
        activation_maps(_net(), torch.rand(1, 12, 12), nn.ReLU())
    with pytest.raises(TypeError, match="layer must be a module name"):
        activation_maps(_net(), torch.rand(1, 12, 12), 3)
    with pytest.raises(TypeError, match=r"model must be a torch\.nn\.Module"):
        activation_maps("net", torch.rand(1, 12, 12), "0")


def test_a_layer_that_is_not_called_is_reported():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.unused = nn.Conv2d(1, 2, 3), nn.ReLU()

        def forward(self, x):
            return self.conv(x)

    net = Net()
    with pytest.raises(TypeError, match=r"layer 'unused' must output a tensor.*got nothing"):
        activation_maps(net, torch.rand(1, 5, 5), "unused")
    assert not net.unused._forward_hooks
