"""DINOv2 vision transformers in the key layout of Meta's released backbone files.

Paper: Oquab et al., "DINOv2: Learning Robust Visual Features without Supervision", TMLR 2024
(arXiv 2304.07193). Released weights: ``https://dl.fbaipublicfiles.com/dinov2/dinov2_vit{s,b,l,g}14/
dinov2_vit{s,b,l,g}14_pretrain.pth`` (Apache-2.0), loaded here with ``load_state_dict(strict=True)``
unchanged. Reference implementation: facebookresearch/dinov2 ``dinov2/models/vision_transformer.py``
and ``dinov2/hub/backbones.py`` (what ``torch.hub.load("facebookresearch/dinov2", "dinov2_vitl14")``
builds: 518-px grid, ``block_chunks=0``, layer scale, no registers, ``interpolate_offset=0.1``,
``interpolate_antialias=False``). Written from that description; parity is checked against timm's
``vit_*_patch14_dinov2`` fed the same state dict through timm's ``checkpoint_filter_fn``
(tests/models/test_dinov2.py) and, once, against the hub code itself (see the test module).

The forward pass returns ``x_norm_clstoken``, the final-LayerNorm CLS token: what the hub model's
``forward`` returns (its ``head`` is the identity), so what dgm-eval and torch-fidelity use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from iqa.errors import InputError

PATCH = 14
GRID = 37  # the released pos_embed is for the 518-px training grid (518 / 14)


@dataclass(frozen=True)
class DinoV2Config:
    """One released backbone: width, depth, heads and feed-forward kind."""

    dim: int
    depth: int
    heads: int
    ffn: str  # "mlp" (fc1/GELU/fc2) or "swiglu" (w12/SiLU-gate/w3; ViT-g)

    @property
    def hidden(self) -> int:
        """Feed-forward width: 4 x dim, or SwiGLUFFNFused's ``(int(4 dim * 2/3) + 7) // 8 * 8``."""
        if self.ffn == "mlp":
            return 4 * self.dim
        return (int(4 * self.dim * 2 / 3) + 7) // 8 * 8


CONFIGS = {
    "vits14": DinoV2Config(384, 12, 6, "mlp"),
    "vitb14": DinoV2Config(768, 12, 12, "mlp"),
    "vitl14": DinoV2Config(1024, 24, 16, "mlp"),
    "vitg14": DinoV2Config(1536, 40, 24, "swiglu"),  # hub: vit_giant2, ffn_layer="swiglufused"
}


class PatchEmbed(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=PATCH, stride=PATCH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)  # softmax(q k^T / sqrt(head_dim)) v
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class LayerScale(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class SwiGLU(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.w12 = nn.Linear(dim, 2 * hidden)
        self.w3 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = self.w12(x).chunk(2, dim=-1)
        return self.w3(F.silu(x1) * x2)


class Block(nn.Module):
    def __init__(self, cfg: DinoV2Config) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(cfg.dim, eps=1e-6)
        self.attn = Attention(cfg.dim, cfg.heads)
        self.ls1 = LayerScale(cfg.dim)
        self.norm2 = nn.LayerNorm(cfg.dim, eps=1e-6)
        self.mlp: nn.Module = Mlp(cfg.dim, cfg.hidden) if cfg.ffn == "mlp" else SwiGLU(cfg.dim, cfg.hidden)
        self.ls2 = LayerScale(cfg.dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


def interpolate_pos_embed(pos_embed: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """The released 37x37 grid resized for an ``h`` x ``w`` pixel input, as the hub code does it.

    Bicubic, no antialiasing, ``align_corners=False``, and ``scale_factor=((h0 + 0.1) / 37,
    (w0 + 0.1) / 37)`` (the "+0.1" kludge of facebookresearch/dino#8) rather than an output size:
    PyTorch then maps coordinates with that scale, not with ``h0 / 37``, so the offset changes the
    values. Every release of the hub code (before and after dinov2 #247 and #378) computes this.
    Unchanged when the grid is 37x37.
    """
    h0, w0 = h // PATCH, w // PATCH
    n = pos_embed.shape[1] - 1
    m = int(math.sqrt(n))
    if m * m != n:
        raise InputError(f"pos_embed has {n} patch positions, not a square grid")
    if (h0, w0) == (m, m):
        return pos_embed
    dtype, dim = pos_embed.dtype, pos_embed.shape[-1]
    patch = pos_embed[:, 1:].float().reshape(1, m, m, dim).permute(0, 3, 1, 2)
    patch = F.interpolate(
        patch, scale_factor=((h0 + 0.1) / m, (w0 + 0.1) / m), mode="bicubic", align_corners=False, antialias=False
    )
    patch = patch.permute(0, 2, 3, 1).reshape(1, h0 * w0, dim)
    return torch.cat((pos_embed[:, :1].float(), patch), dim=1).to(dtype)


class DinoV2(nn.Module):
    """A DINOv2 backbone (``arch`` one of :data:`CONFIGS`); ``forward`` gives the normalised CLS token.

    Parameters (the released files' keys): ``cls_token`` (1, 1, D), ``pos_embed`` (1, 1 + 37*37, D),
    ``mask_token`` (1, D, unused at inference), ``patch_embed.proj``, ``blocks.{i}.{norm1, attn.qkv,
    attn.proj, ls1.gamma, norm2, mlp.fc1, mlp.fc2 (ViT-g: mlp.w12, mlp.w3), ls2.gamma}``, ``norm``.
    """

    def __init__(self, arch: str = "vitl14") -> None:
        super().__init__()
        if arch not in CONFIGS:
            raise InputError(f"unknown DINOv2 architecture {arch!r}; one of {', '.join(CONFIGS)}")
        self.arch, cfg = arch, CONFIGS[arch]
        self.dim = cfg.dim
        self.cls_token = nn.Parameter(torch.zeros(1, 1, cfg.dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + GRID * GRID, cfg.dim))
        self.mask_token = nn.Parameter(torch.zeros(1, cfg.dim))
        self.patch_embed = PatchEmbed(cfg.dim)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(cfg.dim, eps=1e-6)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """All tokens after the final LayerNorm (N, 1 + h0 * w0, D); CLS first."""
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[2] % PATCH or x.shape[3] % PATCH:
            raise InputError(f"DINOv2 takes (N, 3, H, W) with H and W multiples of {PATCH}, got {tuple(x.shape)}")
        t = self.patch_embed(x)
        t = torch.cat((self.cls_token.expand(t.shape[0], -1, -1), t), dim=1)
        t = t + interpolate_pos_embed(self.pos_embed, x.shape[2], x.shape[3])
        for blk in self.blocks:
            t = blk(t)
        return self.norm(t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tokens(x)[:, 0]
