"""Inference-time preparation of loaded networks: BatchNorm folded into the convolution before it.

An eval-mode ``BatchNorm2d`` is an affine map per channel, so ``bn(conv(x))`` equals one
convolution with rescaled weights and a new bias. Folding removes a full read and write of every
feature map the trunk produces: 25-35 % of a ResNet-50 forward on CPU (measured in
``benchmarks/bench_learned.py``). The folded network computes the same function up to float
rounding (about 1e-6 relative), stays differentiable with respect to its input, and has a
different ``state_dict`` (no BatchNorm keys): metrics fold the networks they load themselves, never
a network the caller injects, and ``iqa.models.*.load_*`` keep returning the released layout.

Pairs are found structurally: a ``BatchNorm2d`` registered directly after a ``Conv2d`` in the same
parent module is taken to consume that convolution's output and nothing else. That holds for
torchvision's and timm's ResNet, VGG-BN and Inception blocks (``conv``/``bn``, ``conv1``/``bn1``,
``downsample.0``/``downsample.1``); callers opt in per network, and each family's parity test
against its reference checks the folded network.
"""

from __future__ import annotations

from typing import TypeVar

import torch
from torch import nn

M = TypeVar("M", bound=nn.Module)


def _folded(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    assert bn.running_mean is not None and bn.running_var is not None
    with torch.no_grad():
        scale = torch.rsqrt(bn.running_var.double() + bn.eps)
        if bn.weight is not None:
            scale = scale * bn.weight.double()
        bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(scale)
        shift = (bias - bn.running_mean.double()) * scale
        if bn.bias is not None:
            shift = shift + bn.bias.double()
        out = nn.Conv2d(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,  # type: ignore[arg-type]
            stride=conv.stride,  # type: ignore[arg-type]
            padding=conv.padding,  # type: ignore[arg-type]
            dilation=conv.dilation,  # type: ignore[arg-type]
            groups=conv.groups,
            bias=True,
            padding_mode=conv.padding_mode,
            device=conv.weight.device,
            dtype=conv.weight.dtype,
        )
        shape = (-1,) + (1,) * (conv.weight.ndim - 1)
        out.weight.copy_((conv.weight.double() * scale.reshape(shape)).to(conv.weight.dtype))
        assert out.bias is not None
        out.bias.copy_(shift.to(conv.weight.dtype))
    out.requires_grad_(conv.weight.requires_grad)
    return out.train(conv.training)


def _after(bn: nn.BatchNorm2d) -> nn.Module:
    """What is left of ``bn`` once its affine map is folded: timm's BatchNormAct2d keeps drop and act."""
    if type(bn) is nn.BatchNorm2d:
        return nn.Identity()
    drop, act = bn.drop, bn.act
    assert isinstance(drop, nn.Module) and isinstance(act, nn.Module)
    return nn.Sequential(drop, act)


def _is_batchnorm(bn: nn.Module) -> bool:
    # exact types: a subclass may change forward; timm's BatchNormAct2d is bn -> drop -> act
    return type(bn) is nn.BatchNorm2d or (
        type(bn).__name__ == "BatchNormAct2d"
        and type(bn).__module__.startswith("timm.")
        and isinstance(getattr(bn, "drop", None), nn.Module)
        and isinstance(getattr(bn, "act", None), nn.Module)
    )


def _foldable(conv: nn.Module, bn: nn.Module) -> bool:
    return (
        type(conv) is nn.Conv2d
        and isinstance(bn, nn.BatchNorm2d)
        and _is_batchnorm(bn)
        and not bn.training
        and bn.track_running_stats
        and bn.num_features == conv.out_channels
    )


def fold_batchnorm(module: nn.Module) -> int:
    """Fold every eval-mode ``BatchNorm2d`` into the ``Conv2d`` registered just before it, in place.

    Each folded BatchNorm is replaced by ``nn.Identity`` (timm's ``BatchNormAct2d`` by its dropout
    and activation). Returns the number of pairs folded. Call it on a network in eval mode that the
    caller owns.
    """
    count = 0
    for parent in list(module.modules()):
        names = list(parent._modules)
        for prev, name in zip(names, names[1:]):
            conv, bn = parent._modules[prev], parent._modules[name]
            if conv is not None and bn is not None and _foldable(conv, bn):
                parent._modules[prev] = _folded(conv, bn)  # type: ignore[arg-type]
                parent._modules[name] = _after(bn)  # type: ignore[arg-type]
                count += 1
    return count


def prepare_inference(module: M) -> M:
    """Make a loaded convolutional network fast for scoring on CPU and GPU, in place; returns it.

    Folds BatchNorm (:func:`fold_batchnorm`) and stores 4-D weights channels-last, so oneDNN/cuDNN
    run NHWC convolutions without reordering every feature map (VGG-16 and ResNet-50 trunks: 15-30 %
    less time on CPU; measured in ``benchmarks/bench_learned.py``). Inputs need no change: a
    convolution with channels-last weights returns channels-last maps.
    """
    fold_batchnorm(module)
    return module.to(memory_format=torch.channels_last)
