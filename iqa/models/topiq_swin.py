"""Swin-B trunk of the TOPIQ aesthetics release (``cfanet_iaa_ava_swin``), in that file's key layout.

The release (pyiqa's default ``topiq_iaa``) holds, under ``semantic_model.``, a Swin-B
(``swin_base_patch4_window12_384``: patch 4, window 12, embed 128, depths 2-2-18-2, heads 4-8-16-32,
384 x 384 input) in the original Swin layout: stage ``i`` is its blocks followed by its patch merging
(``layers.i.downsample``), the window attention's ``relative_position_index`` and the shifted blocks'
``attn_mask`` are saved buffers, and the unused ImageNet ``norm`` and ``head`` (1000 classes) are kept.

The blocks, patch embedding and patch merging here are timm's own (``timm.create_model(...,
pretrained=False)``: architecture only, nothing downloaded), re-housed in that layout; timm computes the
same window attention (its fused ``scaled_dot_product_attention`` path, switched on for speed). The two
buffers are made persistent so a released file loads with ``strict=True`` unchanged; their saved values
are the ones timm computes for a 384 x 384 input.

TOPIQ reads four maps, one per stage, after the stage's patch merging (stages 1-3) or its blocks (stage 4):
256, 512, 1024 and 1024 channels at strides 8, 16, 32 and 32.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from iqa.errors import MissingDependencyError

TIMM_NAME = "swin_base_patch4_window12_384"
SIDE = 384  # the trunk's fixed input size (its attention masks are built for a 96 x 96 patch grid)


class SwinStage(nn.Module):
    """One stage in the release's layout: ``blocks`` then ``downsample`` (absent in the last stage)."""

    def __init__(self, blocks: nn.Module, downsample: nn.Module | None) -> None:
        super().__init__()
        self.blocks = blocks
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(x)
        return x if self.downsample is None else self.downsample(x)


class SwinBFeatures(nn.Module):
    """Swin-B at 384 x 384 returning its four stage outputs as (N, C, h, w) maps."""

    channels = (256, 512, 1024, 1024)

    def __init__(self) -> None:
        super().__init__()
        try:
            import timm
        except ImportError as e:
            raise MissingDependencyError("the Swin-B TOPIQ trunk needs timm: pip install timm") from e
        # architecture only (weights come from the release): no download, and no init of weights about to be replaced
        net: Any = timm.create_model(TIMM_NAME, pretrained=False, weight_init="skip")  # timm's attributes: Any
        self.patch_embed = net.patch_embed
        stages = list(net.layers)  # timm merges at the start of a stage, the release at the end of the one before
        self.layers = nn.ModuleList(
            SwinStage(s.blocks, stages[i + 1].downsample if i + 1 < len(stages) else None) for i, s in enumerate(stages)
        )
        self.norm = net.norm  # unused by TOPIQ; in the released file
        self.head = nn.Linear(self.channels[-1], 1000)  # ImageNet classifier: unused, in the released file
        for stage in self.layers:
            for blk in stage.blocks:  # type: ignore[union-attr]  # timm's blocks
                _persist(blk, "attn_mask")
                _persist(blk.attn, "relative_position_index")
                blk.attn.fused_attn = True  # one scaled_dot_product_attention call, same result

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """(N, 3, 384, 384) normalised images -> four maps (N, C, h, w), strides 8, 16, 32, 32."""
        x = self.patch_embed(x)  # (N, 96, 96, 128), channels last as timm's blocks take them
        feats = []
        for stage in self.layers:
            x = stage(x)
            feats.append(x.permute(0, 3, 1, 2))
        return feats


def _persist(module: nn.Module, name: str) -> None:
    """Re-register timm's non-persistent buffer ``name`` as persistent (the release saves it); None stays absent."""
    buf = module._buffers.get(name)
    if buf is not None:
        module.register_buffer(name, buf, persistent=True)
