"""Write a state dict as a TorchScript archive, the container OpenAI ships CLIP weights in."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn


class _Holder(nn.Module):
    def forward(self) -> int:  # TorchScript needs a forward; the archive is only read for tensors
        return 0


def save_state_as_torchscript(state: dict[str, torch.Tensor], path: Path) -> Path:
    """Nested modules mirroring the dotted keys, each tensor a buffer; scripted and saved."""
    root = _Holder()
    for key, tensor in state.items():
        *parents, leaf = key.split(".")
        mod = root
        for part in parents:
            if not hasattr(mod, part):
                mod.add_module(part, _Holder())
            mod = getattr(mod, part)
        mod.register_buffer(leaf, tensor.detach().clone())
    torch.jit.script(root).save(str(path))
    return path
