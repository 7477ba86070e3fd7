"""BatchNorm folding (iqa.models.fusion): same function, fewer layers, only where asked."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torchvision.models import resnet18

from iqa.models.fusion import fold_batchnorm, prepare_inference


def _resnet_with_stats() -> nn.Module:
    """ResNet-18 whose BatchNorms hold non-trivial statistics (fresh ones are the identity map)."""
    torch.manual_seed(0)
    net = resnet18(weights=None)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.1, 0.1)
    return net.eval()


def test_folding_keeps_the_function_and_removes_every_batchnorm():
    net = _resnet_with_stats()
    folded = copy.deepcopy(net)
    # ResNet-18: stem 1 + 8 blocks x 2 + 3 downsample pairs
    assert fold_batchnorm(folded) == 20
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    x = torch.rand(2, 3, 64, 80)
    with torch.no_grad():
        want, got = net(x), folded(x)
    # float32 rounding of the rescaled weights: relative error about 1e-6 (folded in float64)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_folded_network_is_differentiable_in_its_input():
    net = _resnet_with_stats()
    folded = copy.deepcopy(net)
    fold_batchnorm(folded)
    image = torch.rand(1, 3, 48, 48)
    grads = []
    for m in (net, folded):
        x = image.clone().requires_grad_(True)
        m(x).sum().backward()
        grads.append(x.grad)
    assert grads[1] is not None
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-3, atol=1e-5)


def test_training_mode_batchnorm_is_left_alone():
    net = _resnet_with_stats().train()
    assert fold_batchnorm(net) == 0
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) == 20


def test_a_batchnorm_not_after_a_conv_is_left_alone():
    seq = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm2d(4), nn.Conv2d(4, 3, 1), nn.ReLU(), nn.BatchNorm2d(3)).eval()
    assert fold_batchnorm(seq) == 0


@pytest.mark.parametrize("name", ["arniqa", "hyperiqa", "nima", "paq2piq"])
def test_an_injected_network_is_not_folded(name):
    """Metrics fold the networks they load, never one the caller hands in (its state_dict is the caller's)."""
    import iqa
    from tests.helpers.stand_ins import offline_options

    kwargs = offline_options(name, {})
    model = kwargs["model"]
    assert isinstance(model, nn.Module)
    before = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    metric = iqa.create(name, **kwargs)
    assert metric.model is model
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == before


def test_timm_batchnorm_act_keeps_its_activation():
    """timm's BatchNormAct2d is bn -> drop -> act: the fold keeps drop and act (ReLU here)."""
    from timm.layers import BatchNormAct2d

    torch.manual_seed(0)
    block = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), BatchNormAct2d(8)).eval()
    block[1].running_mean.uniform_(-0.5, 0.5)
    block[1].running_var.uniform_(0.5, 2.0)
    x = torch.randn(1, 3, 16, 16)
    want = block(x)
    assert (want == 0).any()  # the ReLU acted
    assert fold_batchnorm(block) == 1
    torch.testing.assert_close(block(x), want, rtol=1e-5, atol=1e-6)


def test_prepare_inference_is_channels_last_and_the_same_function():
    net = _resnet_with_stats()
    fast = prepare_inference(copy.deepcopy(net))
    assert fast.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.rand(1, 3, 40, 56)  # an ordinary contiguous input
    with torch.no_grad():
        torch.testing.assert_close(fast(x), net(x), rtol=1e-4, atol=1e-5)
