"""clean-fid loads NVIDIA's TorchScript Inception and calls its ``.layers``; this builds a
TorchScript module of the same shape around iqa's FID Inception graph with a given state dict,
so clean-fid's own pipeline can run on shared random weights (tests and benchmarks only)."""

from __future__ import annotations

import torch
from torch import nn

from iqa.features.inception import FIDInceptionNet


class _Wrap(nn.Module):
    def __init__(self, layers: nn.Module) -> None:
        super().__init__()
        self.layers = layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def scripted_inception(state: dict[str, torch.Tensor]) -> torch.jit.ScriptModule:
    net = FIDInceptionNet()
    net.load_state_dict(state)
    with torch.no_grad():
        return torch.jit.script(_Wrap(torch.jit.trace(net.eval(), torch.zeros(1, 3, 299, 299))))
