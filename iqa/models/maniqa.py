"""MANIQA network: ViT-B/8 features, transposed-attention and Swin blocks, dual-branch patch scores.

Paper: Yang et al., "MANIQA: Multi-dimension Attention Network for No-Reference Image Quality
Assessment", CVPR Workshops 2022 (winner of the NTIRE 2022 NR-IQA challenge). Reference
implementation: ``IIGROUP/MANIQA`` (Apache-2.0), ``models/maniqa.py`` and ``models/swin.py``;
pyiqa's ``maniqa_arch.py`` / ``maniqa_swin.py`` run the same network. Written here from the paper
and those files' facts (module names, shapes, constants), not copied.

The modules keep the release's names, so the released checkpoints (``ckpt_koniq10k.pt``,
``ckpt_kadid10k.pt`` and pyiqa's ``MANIQA_PIPAL-ae6d356b.pth``) load with ``strict=True``
unchanged, the ViT's unused last two blocks, final norm and ImageNet head included. The forward
stops after block 9 (the release runs all twelve and reads blocks 6-9 through hooks: the same
numbers, a sixth less work).

Layout of the forward on (B, 3, 224, 224) crops normalised to [-1, 1]:
ViT-B/8 tokens of blocks 6-9 concatenated (B, 784, 3072) -> two transposed-attention blocks (TAB:
attention between channels, the 784 token positions being the features) -> 1x1 conv to 768 -> a
scaled Swin stage (two layers of two blocks, window 4, 4 heads, residual ``x + scale * layer(x)``)
-> two TABs -> 1x1 conv to 384 -> a second Swin stage -> per-patch score (ReLU head) and weight
(sigmoid head). :mod:`iqa.metrics.nr.maniqa` crops, normalises and pools.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

Variant = Literal["koniq", "kadid", "pipal"]
VARIANTS: tuple[Variant, ...] = ("koniq", "kadid", "pipal")

# file names as pyiqa's maniqa_arch.py default_model_urls gives them (its IQA-PyTorch releases)
RELEASES: dict[Variant, str] = {
    "koniq": "ckpt_koniq10k.pt",
    "kadid": "ckpt_kadid10k.pt",
    "pipal": "MANIQA_PIPAL-ae6d356b.pth",
}
# Swin residual scale each checkpoint was trained with: pyiqa's default_model_configs (and the
# authors' predict_one_image.py for KonIQ) use 0.8 for KonIQ and KADID; the PIPAL model keeps the
# architecture default 0.13 (train_maniqa.py's NTIRE config). A wrong scale loads but scores wrong.
SWIN_SCALE: dict[Variant, float] = {"koniq": 0.8, "kadid": 0.8, "pipal": 0.13}


@dataclass(frozen=True)
class MANIQAConfig:
    """Sizes of the network; the defaults are the release's (``vit_base_patch8_224`` trunk).

    Attributes:
        img_size: side of the square crops the network takes.
        patch_size: ViT patch size (tokens per side = img_size / patch_size).
        vit_dim: ViT width; also MANIQA's ``embed_dim`` (stage 1 width; stage 2 is half).
        vit_depth: ViT blocks held (all load from the checkpoint; the forward stops after the last feature block).
        vit_heads: ViT attention heads.
        feature_blocks: ViT blocks whose patch tokens are concatenated.
        swin_depths: Swin blocks per layer in each Swin stage.
        swin_heads: attention heads per Swin layer.
        window_size: Swin window side (in tokens).
        dim_mlp: hidden width of the Swin MLPs.
        num_tab: transposed-attention blocks before each Swin stage.
        scale: Swin residual scale (see :data:`SWIN_SCALE`).
    """

    img_size: int = 224
    patch_size: int = 8
    vit_dim: int = 768
    vit_depth: int = 12
    vit_heads: int = 12
    feature_blocks: tuple[int, ...] = (6, 7, 8, 9)
    swin_depths: tuple[int, ...] = (2, 2)
    swin_heads: tuple[int, ...] = (4, 4)
    window_size: int = 4
    dim_mlp: int = 768
    num_tab: int = 2
    scale: float = 0.13

    @property
    def grid(self) -> int:
        return self.img_size // self.patch_size


def release_config(variant: Variant) -> MANIQAConfig:
    """The released architecture of ``variant``."""
    return MANIQAConfig(scale=SWIN_SCALE[variant])


class TABlock(nn.Module):
    """Transposed attention: attention between the C channels; the N token positions are the features."""

    def __init__(self, tokens: int) -> None:
        super().__init__()
        self.c_q, self.c_k, self.c_v = nn.Linear(tokens, tokens), nn.Linear(tokens, tokens), nn.Linear(tokens, tokens)
        self.norm_fact = tokens**-0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, N)
        b, c, n = x.shape
        out = F.scaled_dot_product_attention(self.c_q(x), self.c_k(x), self.c_v(x), scale=self.norm_fact)
        # The release reads its (B, C, N) result through transpose(1, 2).reshape(B, C, N): a fixed
        # shuffle of channels and positions (not a transpose back) that the weights were trained with.
        return out.transpose(1, 2).reshape(b, c, n) + x


def _relative_position_index(w: int) -> torch.Tensor:
    """(w*w, w*w) index into the (2w-1)^2 relative-position bias table (Swin's layout)."""
    coords = torch.stack(torch.meshgrid(torch.arange(w), torch.arange(w), indexing="ij")).flatten(1)  # (2, w*w)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (w - 1)
    return rel[..., 0] * (2 * w - 1) + rel[..., 1]


def _windows(x: torch.Tensor, w: int) -> torch.Tensor:
    """(B, H, W, C) -> (B, nW, w*w, C), windows in row-major order."""
    b, h, wd, c = x.shape
    return x.view(b, h // w, w, wd // w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(b, -1, w * w, c)


def _unwindows(x: torch.Tensor, w: int, h: int, wd: int) -> torch.Tensor:
    """Inverse of :func:`_windows`: (B, nW, w*w, C) -> (B, H, W, C)."""
    b, c = x.shape[0], x.shape[-1]
    return x.view(b, h // w, wd // w, w, w, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, wd, c)


def _shift_mask(h: int, wd: int, w: int, shift: int) -> torch.Tensor:
    """(nW, w*w, w*w) additive mask (0 or -100, the release's value) keeping shifted windows' regions apart."""
    region = torch.zeros(h, wd)
    cuts = (slice(0, -w), slice(-w, -shift), slice(-shift, None))
    for i, hs in enumerate(cuts):
        for j, ws in enumerate(cuts):
            region[hs, ws] = 3 * i + j
    ids = _windows(region.view(1, h, wd, 1), w).view(-1, w * w)
    return (ids[:, None, :] - ids[:, :, None]).ne(0).float() * -100.0


class WindowAttention(nn.Module):
    """Multi-head self-attention inside windows, with Swin's learned relative-position bias."""

    relative_position_index: torch.Tensor

    def __init__(self, dim: int, window: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        self.register_buffer("relative_position_index", _relative_position_index(window))
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:  # (B, nW, n, C)
        b, nw, n, c = x.shape
        q, k, v = self.qkv(x).view(b, nw, n, 3, self.heads, c // self.heads).permute(3, 0, 1, 4, 2, 5).unbind(0)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1).permute(2, 0, 1)
        if mask is not None:  # (nW, 1, n, n): per window, the same for every head
            bias = bias + mask.unsqueeze(1)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))  # scale head_dim^-0.5 as released
        return self.proj(out.transpose(2, 3).reshape(b, nw, n, c))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class SwinBlock(nn.Module):
    """Pre-norm (shifted-)window attention block; shift only where the grid is wider than the window."""

    attn_mask: torch.Tensor | None

    def __init__(self, dim: int, grid: int, heads: int, window: int, shift: int, dim_mlp: int) -> None:
        super().__init__()
        if grid <= window:  # the whole grid is one window: no shift
            window, shift = grid, 0
        self.grid, self.window, self.shift = grid, window, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, dim_mlp)
        # a persistent buffer as released: the checkpoints carry it for the shifted blocks
        self.register_buffer("attn_mask", _shift_mask(grid, grid, window, shift) if shift else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, H*W, C)
        b, _, c = x.shape
        g, w, s = self.grid, self.window, self.shift
        y = self.norm1(x).view(b, g, g, c)
        if s:
            y = torch.roll(y, shifts=(-s, -s), dims=(1, 2))
        y = _unwindows(self.attn(_windows(y, w), self.attn_mask), w, g, g)
        if s:
            y = torch.roll(y, shifts=(s, s), dims=(1, 2))
        x = x + y.reshape(b, g * g, c)
        return x + self.mlp(self.norm2(x))


class BasicLayer(nn.Module):
    """Swin blocks (alternately unshifted and shifted by window/2) then a 3x3 conv + ReLU."""

    def __init__(self, dim: int, grid: int, depth: int, heads: int, window: int, dim_mlp: int) -> None:
        super().__init__()
        self.grid = grid
        self.conv = nn.Conv2d(dim, dim, 3, 1, 1)
        self.blocks = nn.ModuleList(
            SwinBlock(dim, grid, heads, window, 0 if i % 2 == 0 else window // 2, dim_mlp) for i in range(depth)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, H*W, C)
        for blk in self.blocks:
            x = blk(x)
        b, n, c = x.shape
        x = F.relu(self.conv(x.transpose(1, 2).reshape(b, c, self.grid, self.grid)))
        return x.flatten(2).transpose(1, 2)


class SwinTransformer(nn.Module):
    """A scaled Swin stage: ``x + scale * layer(x)`` per layer, at fixed resolution."""

    def __init__(self, cfg: MANIQAConfig, dim: int) -> None:
        super().__init__()
        self.scale = cfg.scale
        # Present in the release's state dict, never used by its forward: kept so checkpoints load strictly.
        self.downsample = nn.Conv2d(dim, dim, kernel_size=3, stride=2, padding=1)
        self.layers = nn.ModuleList(
            BasicLayer(dim, cfg.grid, depth, heads, cfg.window_size, cfg.dim_mlp)
            for depth, heads in zip(cfg.swin_depths, cfg.swin_heads, strict=True)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W)
        b, c, h, w = x.shape
        x = x.flatten(2).transpose(1, 2)
        for layer in self.layers:
            x = self.scale * layer(x) + x
        return x.transpose(1, 2).reshape(b, c, h, w)


def _vit(cfg: MANIQAConfig) -> Any:
    """Timm's VisionTransformer of the release's trunk (``vit_base_patch8_224``), random init, no download."""
    from timm.models.vision_transformer import VisionTransformer

    return VisionTransformer(
        img_size=cfg.img_size, patch_size=cfg.patch_size, embed_dim=cfg.vit_dim, depth=cfg.vit_depth,
        num_heads=cfg.vit_heads, num_classes=1000,
    )  # fmt: skip


def _head(dim: int, last: nn.Module) -> nn.Sequential:
    # indices 0 and 3 carry weights, as in the release (ReLU and Dropout between)
    return nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Dropout(0.1), nn.Linear(dim, 1), last)


class MANIQA(nn.Module):
    """The MANIQA network on normalised crops: per-patch scores and weights.

    Args:
        variant: which release the weights are (names the file and the Swin scale); None for other weights.
        config: the sizes; None is the release's for ``variant``.
    """

    def __init__(self, variant: Variant | None = "koniq", config: MANIQAConfig | None = None) -> None:
        super().__init__()
        if config is None:
            config = release_config(variant or "koniq")
        self.variant, self.config = variant, config
        d, g = config.vit_dim, config.grid
        self.vit: Any = _vit(config)  # timm's VisionTransformer (timm is untyped)
        self.tablock1 = nn.ModuleList(TABlock(g * g) for _ in range(config.num_tab))
        self.conv1 = nn.Conv2d(d * len(config.feature_blocks), d, 1, 1, 0)
        self.swintransformer1 = SwinTransformer(config, d)
        self.tablock2 = nn.ModuleList(TABlock(g * g) for _ in range(config.num_tab))
        self.conv2 = nn.Conv2d(d, d // 2, 1, 1, 0)
        self.swintransformer2 = SwinTransformer(config, d // 2)
        self.fc_score = _head(d // 2, nn.ReLU())
        self.fc_weight = _head(d // 2, nn.Sigmoid())

    @property
    def crop_size(self) -> int:
        return self.config.img_size

    @property
    def dtype(self) -> torch.dtype:
        """The weights' dtype: crops are cast to it."""
        return self.conv1.weight.dtype

    def vit_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) -> (B, tokens, 4 * vit_dim): patch tokens of the feature blocks, concatenated."""
        vit, wanted = self.vit, self.config.feature_blocks
        x = vit.norm_pre(vit.patch_drop(vit._pos_embed(vit.patch_embed(x))))
        feats = []
        for i, blk in enumerate(vit.blocks[: max(wanted) + 1]):  # later blocks cannot change the features
            x = blk(x)
            if i in wanted:
                feats.append(x[:, 1:])  # drop the class token
        return torch.cat(feats, dim=2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, S, S) crops normalised to [-1, 1] -> per-patch (scores, weights), each (B, tokens)."""
        g = self.config.grid
        x = self.vit_features(x).transpose(1, 2)  # (B, C, N): TABs attend across channels
        for tab in self.tablock1:
            x = tab(x)
        x = self.swintransformer1(self.conv1(x.unflatten(2, (g, g))))
        x = x.flatten(2)
        for tab in self.tablock2:
            x = tab(x)
        x = self.swintransformer2(self.conv2(x.unflatten(2, (g, g))))
        x = x.flatten(2).transpose(1, 2)  # (B, N, C/2)
        return self.fc_score(x).squeeze(-1), self.fc_weight(x).squeeze(-1)


def read_release(path: str, variant: Variant | None = None) -> dict[str, torch.Tensor]:
    """A released checkpoint's state dict (read with ``weights_only=True``), unwrapped as released:
    pyiqa-style ``{"params": ...}`` or a bare state dict, DataParallel's ``module.`` prefix removed.
    """
    from pathlib import Path

    from iqa.weights.converted import read_release_checkpoint, strip_module

    expected = f"Expected the released MANIQA checkpoint {RELEASES[variant]}." if variant else ""
    state = read_release_checkpoint(Path(path), expected)
    if "params" in state and isinstance(state["params"], dict):
        state = state["params"]
    return strip_module(state)


def load_maniqa(variant: Variant, path: str) -> MANIQA:
    """The released network of ``variant`` with the checkpoint at ``path`` loaded strictly, in eval mode."""
    from iqa.errors import WeightsError

    with torch.device("meta"):  # no random init of 136M parameters that the checkpoint replaces
        model = MANIQA(variant)
    state = {k: v.float().contiguous() if v.is_floating_point() else v for k, v in read_release(path, variant).items()}
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as e:
        raise WeightsError(f"{path} does not fit the MANIQA network ({RELEASES[variant]} layout): {e}") from e
    return model.eval()
