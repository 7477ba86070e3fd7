"""Randomly initialised state dicts in official key layouts, for architecture-parity tests.

The published weights are not available offline; loading the *same* random state dict into our
network and into the reference implementation proves that architecture and input path agree.
BatchNorm statistics are randomised too, so that a wrong eps or a swapped branch shows.
"""

from __future__ import annotations

import torch


def randomize(module: torch.nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    state = {}
    for k, v in module.state_dict().items():
        if not v.is_floating_point():
            state[k] = v.clone()
        elif k.endswith("running_var"):
            state[k] = 0.5 + torch.rand(v.shape, generator=g)
        elif k.endswith("running_mean") or k.endswith("bias"):
            state[k] = 0.1 * torch.randn(v.shape, generator=g)
        elif k.endswith(".bn.weight"):
            state[k] = 0.8 + 0.4 * torch.rand(v.shape, generator=g)
        else:  # conv / linear weights: fan-in scaled so activations neither vanish nor explode
            fan_in = max(1, v[0].numel())
            state[k] = torch.randn(v.shape, generator=g) * (2.0 / fan_in) ** 0.5
    return state
