"""PaQ-2-PiQ, the RoIPool quality network behind the ``paq2piq`` metric.

Paper: Ying, Niu, Gupta, Mahajan, Ghadiyaram, Bovik, "From Patches to Pictures (PaQ-2-PiQ): Mapping
the Perceptual Space of Picture Quality", CVPR 2020. Authors' code: ``baidut/PaQ-2-PiQ``
(fastiqa ``RoIPoolModel``) and its standalone inference ``baidut/paq2piq``
(``paq2piq/inference_model.py``); widely used port: pyiqa's ``PAQ2PIQ``
(``pyiqa/archs/paq2piq_arch.py``). Released weights: ``RoIPoolModel-fit.10.bs.120.pth`` (authors,
``{"model": state_dict}``), re-hosted by IQA-PyTorch as a plain state dict
``P2P_RoIPoolModel-fit.10.bs.120-ca69882e.pth``; both load here unchanged (strict).

Network (key layout of those files): ``body`` = torchvision ResNet-18 without its pool and fc
(``body.0`` conv1, ``body.1`` bn1, ``body.4``-``body.7`` layer1-4), stride 32; each region of
interest (the whole image for the picture score) is max-pooled to 2 x 2 cells by RoIPool at scale
1/32 (torchvision's ``roi_pool``, as both releases); ``head`` = fastai's head on the pooled cells:
[max, average] over the 2 x 2 (1024), BatchNorm1d, dropout, Linear(1024, 512), ReLU, BatchNorm1d,
dropout, Linear(512, 1). Output: the predicted MOS of the FLIVE database (about 0-100).

Input as released: the picture at its own size, RGB in [0, 1], no normalisation and no resize
(the release's transform is ``ToTensor()`` alone). The release's quality map (20 x 20 blocks of
the picture, each scored through the same head) is :meth:`PaQ2PiQ.quality_map`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torchvision.models import resnet18
from torchvision.ops import roi_pool

from iqa.errors import InputError

SCALE = 1 / 32  # ResNet-18 body stride
CELLS = (2, 2)  # RoIPool output per region
BLOCKS = (20, 20)  # the release's quality-map grid (InferenceModel.blk_size)


class ConcatPool(nn.Module):
    """fastai's AdaptiveConcatPool2d over the whole map: [max, average] channels, (N, 2C, 1, 1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.amax((2, 3), keepdim=True), x.mean((2, 3), keepdim=True)], 1)


def _head(channels: int = 512) -> nn.Sequential:
    """The head of fastai's ``create_head(1024, 1)``; indices as in the release (parameters at 2, 4, 6, 8)."""
    return nn.Sequential(
        ConcatPool(), nn.Flatten(),
        nn.BatchNorm1d(2 * channels), nn.Dropout(0.25), nn.Linear(2 * channels, 512), nn.ReLU(inplace=True),
        nn.BatchNorm1d(512), nn.Dropout(0.5), nn.Linear(512, 1),
    )  # fmt: skip


class PaQ2PiQ(nn.Module):
    """ResNet-18 body, RoIPool (2 x 2 at 1/32) per region, fastai head -> one score per region."""

    def __init__(self) -> None:
        super().__init__()
        trunk = resnet18(weights=None)  # architecture only: the checkpoint holds every weight
        self.body = nn.Sequential(*list(trunk.children())[:-2])
        self.head = _head()

    @property
    def dtype(self) -> torch.dtype:
        """The weights' dtype (the metric casts its input to it)."""
        return next(self.parameters()).dtype

    def pooled(self, x: torch.Tensor, boxes: list[torch.Tensor] | None = None) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] -> RoIPool cells (N * R, 512, 2, 2), whole picture when ``boxes`` is None.

        ``boxes``: per image, (R, 4) regions (x1, y1, x2, y2) in pixels.
        """
        feats = self.body(x)
        if boxes is None:
            h, w = x.shape[-2:]
            whole = torch.tensor([[0.0, 0.0, float(w), float(h)]], dtype=feats.dtype, device=feats.device)
            boxes = [whole] * len(x)
        return roi_pool(feats, boxes, CELLS, SCALE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] -> (N,) picture quality (the whole-image region)."""
        return self.head(self.pooled(x))[:, 0]

    def quality_map(self, x: torch.Tensor, blocks: tuple[int, int] = BLOCKS) -> torch.Tensor:
        """The release's local quality map, (N, rows, cols): each block of an even grid scored as a region.

        Block edges are ``linspace(0, side, blocks + 1)`` as the release's ``get_blockwise_rois``.
        """
        h, w = x.shape[-2:]
        ys, xs = np.linspace(0, h, blocks[0] + 1), np.linspace(0, w, blocks[1] + 1)
        grid = [[xs[j], ys[i], xs[j + 1], ys[i + 1]] for i in range(blocks[0]) for j in range(blocks[1])]
        box = torch.tensor(grid, dtype=x.dtype, device=x.device)
        out = self.head(self.pooled(x, [box] * len(x)))
        return out.view(len(x), *blocks)


def read_state(path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict of a PaQ-2-PiQ checkpoint: plain (IQA-PyTorch) or ``{"model": ...}`` (the authors')."""
    from iqa.weights import load_torch_state

    state: Any = load_torch_state(Path(path))
    for key in ("model", "params", "state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict):
        raise InputError(f"{path}: not a state dict (a PaQ-2-PiQ checkpoint holds body.* and head.* tensors)")
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_paq2piq(weights: str | Path | None = None) -> PaQ2PiQ:
    """PaQ-2-PiQ with its weights loaded strictly.

    ``weights=None`` resolves the released file through the weights manager (manifest id ``paq2piq``,
    verified; a clear error naming the file and ``iqa weights fetch paq2piq`` when absent). A path is
    loaded as given: a checkpoint in the release's layout (IQA-PyTorch's or the authors' file).
    """
    from iqa.weights import resolve_weights

    path = Path(weights) if weights is not None else resolve_weights("paq2piq")
    if not path.is_file():
        raise InputError(f"{path}: no such PaQ-2-PiQ weights file")
    model = PaQ2PiQ()
    try:
        model.load_state_dict(read_state(path), strict=True)
    except RuntimeError as e:
        raise InputError(f"{path} is not a PaQ-2-PiQ RoIPoolModel checkpoint: {e}") from e
    return model.eval().requires_grad_(False)
