"""MUSIQ network: a multi-scale patch transformer in the key layout of the converted release.

Paper: Ke, Wang, Wang, Milanfar, Yang, "MUSIQ: Multi-scale Image Quality Transformer", ICCV 2021.
Authors' release: ``google-research/google-research/musiq`` (JAX/Flax, Apache-2.0). The widely used
PyTorch files are the conversions IQA-PyTorch (pyiqa) downloads, ``musiq_<dataset>_ckpt-<sha256
prefix>.pth``: a plain state dict whose keys this module reproduces, so ``load_state_dict(strict=True)``
takes the downloaded file unchanged (the key-layout test lists every key and shape).

Architecture (the release's config): each 32x32 patch goes through a weight-standardised ResNet
root (7x7/2 conv, GroupNorm, ReLU, 3x3/2 max pool, one bottleneck unit to 256 channels, TF "SAME"
padding), its 8x8x256 map is flattened in height-width-channel order and embedded to 384; a
learned hash-based 2-D position embedding (10x10 grid) and a scale embedding (3 scales) are added,
a CLS token is prepended, then 14 pre-norm blocks (6 heads, MLP 1152), a final LayerNorm and the
head on the CLS token: one linear output (KonIQ, SPAQ, PaQ-2-PiQ) or a softmax over 10 AVA bins
whose mean ``sum_i i p_i`` is the score.

Input tokens (:func:`multiscale_tokens`) follow the release's preprocessing: values to [-1, 1]; the
image resized with its aspect ratio kept to longer sides 224 and 384 (scale ids 0 and 1) plus the
full-size image (scale id 2); each cut into 32x32 patches in row-major order after "SAME" zero
padding. The release pads each resized scale to ceil(L/32)^2 patches and masks the padding in
attention; masked tokens never reach the valid tokens or the CLS token, so they are left out here
instead (the same scores, less work). The full-size scale keeps all its patches, or the first
``max_original_patches`` in row-major order as the release's ``max_seq_len_from_original_res``.

Where this follows pyiqa's conversion rather than the JAX code (the converted weights' users get
pyiqa's numbers): the resize is PyTorch bicubic without antialiasing by default (the JAX code's
``tf.image.resize`` with ``ResizeMethod.GAUSSIAN`` is ``resize_method="gaussian"``), GELU is the
exact erf form (Flax: tanh approximation, a difference below 1e-3 per activation) and the conv
weights are standardised by the sample standard deviation (JAX: population; GroupNorm follows
every such conv and absorbs the difference).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from iqa.errors import InputError, WeightsError, WeightsNotFoundError

Variant = Literal["koniq", "spaq", "paq2piq", "ava"]

PATCH = 32
GRID = 10  # hash grid of the spatial position embedding
LONGER_SIDES = (224, 384)


@dataclass(frozen=True)
class Release:
    """One released head: the manifest id of its file and its number of outputs."""

    weight_id: str
    filename: str
    num_classes: int


RELEASES: dict[str, Release] = {
    "koniq": Release("musiq_koniq", "musiq_koniq_ckpt-e95806b9.pth", 1),
    "spaq": Release("musiq_spaq", "musiq_spaq_ckpt-358bb6af.pth", 1),
    "paq2piq": Release("musiq_paq2piq", "musiq_paq2piq_ckpt-364c0c84.pth", 1),
    "ava": Release("musiq_ava", "musiq_ava_ckpt-e8d3f067.pth", 10),
}


def _same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TF "SAME" zero padding (the extra pixel of an odd total goes to the bottom/right)."""
    h, w = x.shape[-2:]
    ph = max((math.ceil(h / stride) - 1) * stride + kernel - h, 0)
    pw = max((math.ceil(w / stride) - 1) * stride + kernel - w, 0)
    return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))


class StdConv(nn.Conv2d):
    """Conv with weight standardisation (per output filter) and TF "SAME" padding."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight
        w = (w - w.mean((1, 2, 3), keepdim=True)) / (w.std((1, 2, 3), keepdim=True) + 1e-5)
        return F.conv2d(_same_pad(x, self.kernel_size[0], self.stride[0]), w, None, self.stride)


def _group_norm(channels: int, eps: float) -> nn.GroupNorm:
    """The release's GroupNorm (32 groups); fewer only in the reduced test networks of under 32 channels."""
    return nn.GroupNorm(min(32, channels), channels, eps=eps)


class Bottleneck(nn.Module):
    """The one ResNet-v1 bottleneck unit of the patch stem (64 -> 256 channels, GroupNorm)."""

    def __init__(self, cin: int = 64, cout: int = 256) -> None:
        super().__init__()
        self.conv1, self.gn1 = StdConv(cin, cin, 1, bias=False), _group_norm(cin, 1e-4)
        self.conv2, self.gn2 = StdConv(cin, cin, 3, bias=False), _group_norm(cin, 1e-4)
        self.conv3, self.gn3 = StdConv(cin, cout, 1, bias=False), _group_norm(cout, 1e-4)
        self.conv_proj, self.gn_proj = StdConv(cin, cout, 1, bias=False), _group_norm(cout, 1e-4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.gn_proj(self.conv_proj(x))
        y = F.relu(self.gn1(self.conv1(x)))
        y = F.relu(self.gn2(self.conv2(y)))
        return F.relu(self.gn3(self.conv3(y)) + skip)


class Attention(nn.Module):
    """Multi-head self-attention with separate query/key/value/out projections (the release's names)."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value, self.out = (nn.Linear(dim, dim) for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, dim = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(n, length, self.heads, dim // self.heads).transpose(1, 2)

        # one GEMM for the three projections (the release keeps them as separate layers)
        w = torch.cat([self.query.weight, self.key.weight, self.value.weight])
        b = torch.cat([self.query.bias, self.key.bias, self.value.bias])
        q, k, v = F.linear(x, w, b).chunk(3, dim=-1)
        y = F.scaled_dot_product_attention(split(q), split(k), split(v))
        return self.out(y.transpose(1, 2).reshape(n, length, dim))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class EncoderBlock(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, dim: int, mlp_dim: int, heads: int) -> None:
        super().__init__()
        self.norm1, self.attention = nn.LayerNorm(dim, eps=1e-6), Attention(dim, heads)
        self.norm2, self.mlp = nn.LayerNorm(dim, eps=1e-6), Mlp(dim, mlp_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class HashPositionEmbedding(nn.Module):
    def __init__(self, grid: int, dim: int) -> None:
        super().__init__()
        self.position_emb = nn.Parameter(torch.zeros(1, grid * grid, dim))


class ScaleEmbedding(nn.Module):
    def __init__(self, scales: int, dim: int) -> None:
        super().__init__()
        self.scale_emb = nn.Parameter(torch.zeros(scales, dim))


class Encoder(nn.Module):
    """Position and scale embeddings, CLS token, the blocks and the final LayerNorm."""

    def __init__(self, dim: int = 384, mlp_dim: int = 1152, heads: int = 6, layers: int = 14, scales: int = 3) -> None:
        super().__init__()
        self.posembed_input = HashPositionEmbedding(GRID, dim)
        self.scaleembed_input = ScaleEmbedding(scales, dim)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.encoder_norm = nn.LayerNorm(dim, eps=1e-6)
        self.transformer = nn.ModuleDict(
            {f"encoderblock_{i}": EncoderBlock(dim, mlp_dim, heads) for i in range(layers)}
        )

    def forward(self, x: torch.Tensor, spatial: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        x = x + self.posembed_input.position_emb[0, spatial] + self.scaleembed_input.scale_emb[scale]
        x = torch.cat([self.cls.expand(len(x), -1, -1), x], dim=1)
        for block in self.transformer.values():
            x = block(x)
        return self.encoder_norm(x)


class MUSIQ(nn.Module):
    """MUSIQ with one released head; ``forward(tokens)`` returns the score per image, (N,).

    Args:
        variant: the released head (koniq, spaq, paq2piq: one linear output; ava: 10-bin softmax).
        hidden, mlp_dim, heads, layers, stem_width: the release's sizes by default (all four released
            files); smaller values only for tests that check plumbing, never for scores.
    """

    def __init__(
        self,
        variant: Variant = "koniq",
        *,
        hidden: int = 384,
        mlp_dim: int = 1152,
        heads: int = 6,
        layers: int = 14,
        stem_width: int = 64,
    ) -> None:
        super().__init__()
        if variant not in RELEASES:
            raise InputError(f"musiq: unknown variant {variant!r}; one of {sorted(RELEASES)}")
        self.variant = variant
        classes = RELEASES[variant].num_classes
        self.conv_root = StdConv(3, stem_width, 7, stride=2, bias=False)
        self.gn_root = _group_norm(stem_width, 1e-6)
        self.block1 = Bottleneck(stem_width, 4 * stem_width)
        self.embedding = nn.Linear(4 * stem_width * (PATCH // 4) ** 2, hidden)
        self.transformer_encoder = Encoder(hidden, mlp_dim, heads, layers)
        linear = nn.Linear(hidden, classes)
        # the release's layout: a bare Linear for one output, Sequential(Linear, Softmax) for AVA's 10 bins
        self.head: nn.Module = nn.Sequential(linear, nn.Softmax(dim=-1)) if classes > 1 else linear

    def embed_patches(self, patches: torch.Tensor) -> torch.Tensor:
        """(N, L, 3, 32, 32) patches -> (N, L, 384) token embeddings."""
        n, length = patches.shape[:2]
        x = F.relu(self.gn_root(self.conv_root(patches.flatten(0, 1))))
        # TF "SAME" 3x3/2 pooling of the 16x16 map: its partial last window (ceil_mode) is the release's padded one
        x = F.max_pool2d(x, 3, 2, ceil_mode=True)
        x = self.block1(x)
        return self.embedding(x.permute(0, 2, 3, 1).reshape(n, length, -1))  # TF's height-width-channel order

    def forward(self, tokens: Tokens) -> torch.Tensor:
        x = self.embed_patches(tokens.patches)
        out = self.head(self.transformer_encoder(x, tokens.spatial, tokens.scale)[:, 0])
        if out.shape[-1] == 1:
            return out[:, 0]
        return out @ torch.arange(1, out.shape[-1] + 1, dtype=out.dtype, device=out.device)


@dataclass(frozen=True)
class Tokens:
    """The multi-scale input of a batch of equal-size images (no padding tokens, so no mask).

    Attributes:
        patches: (N, L, 3, 32, 32) in [-1, 1], scale by scale, row-major within a scale.
        spatial: (L,) hashed position ids in [0, 100).
        scale: (L,) scale ids (0: longer side 224, 1: 384, 2: full size).
    """

    patches: torch.Tensor
    spatial: torch.Tensor
    scale: torch.Tensor


def hashed_positions(rows: int, cols: int, device: torch.device | None = None) -> torch.Tensor:
    """Row-major position ids of a rows x cols patch grid hashed onto the 10x10 embedding grid.

    Nearest-neighbour (floor) resampling of ``0..GRID-1`` to ``rows`` and to ``cols``, as the release.
    """
    r = torch.arange(rows, device=device) * GRID // rows
    c = torch.arange(cols, device=device) * GRID // cols
    return (r[:, None] * GRID + c[None, :]).flatten()


def patchify(x: torch.Tensor) -> tuple[torch.Tensor, int, int]:
    """(N, C, H, W) -> (N, rows*cols, C, 32, 32) patches after TF "SAME" zero padding, row-major."""
    x = _same_pad(x, PATCH, PATCH)
    n, c, h, w = x.shape
    rows, cols = h // PATCH, w // PATCH
    p = x.reshape(n, c, rows, PATCH, cols, PATCH).permute(0, 2, 4, 1, 3, 5)
    return p.reshape(n, rows * cols, c, PATCH, PATCH), rows, cols


def resized_size(h: int, w: int, longer: int) -> tuple[int, int]:
    """Aspect-preserving size with the longer side ``longer`` (round half to even, as tf.round)."""
    ratio = longer / max(h, w)
    return round(h * ratio), round(w * ratio)


Resize = Literal["bicubic", "gaussian"]


def _gaussian_weights(n_in: int, n_out: int, like: torch.Tensor) -> torch.Tensor:
    """(n_out, n_in) weights of TF's ``tf.image.resize(method=GAUSSIAN)`` (antialias off, the release's call).

    TF's scale_and_translate: output pixel i samples the input at (i + 0.5) * n_in / n_out with the
    Gaussian kernel exp(-d^2 / (2 * 0.5^2)) cut at |d| < 1.5 (not widened when downsampling), the
    taps that fall outside the image dropped and the rest renormalised to sum 1.
    """
    sample = (torch.arange(n_out, dtype=torch.float64) + 0.5) * (n_in / n_out)
    d = torch.arange(n_in, dtype=torch.float64)[None, :] + 0.5 - sample[:, None]
    w = torch.where(d.abs() < 1.5, torch.exp(-d * d / 0.5), torch.zeros_like(d))
    return (w / w.sum(1, keepdim=True)).to(device=like.device, dtype=like.dtype)


def resize(x: torch.Tensor, size: tuple[int, int], method: Resize = "bicubic") -> torch.Tensor:
    """Resize (N, C, H, W) to ``size``: pyiqa's bicubic (no antialiasing) or the authors' TF Gaussian."""
    if method == "bicubic":
        return F.interpolate(x, size, mode="bicubic", align_corners=False)
    wh, ww = _gaussian_weights(x.shape[-2], size[0], x), _gaussian_weights(x.shape[-1], size[1], x)
    return torch.einsum("ih,nchw,jw->ncij", wh, x, ww)


def multiscale_tokens(
    x: torch.Tensor,
    longer_sides: tuple[int, ...] = LONGER_SIDES,
    max_original_patches: int = -1,
    resize_method: Resize = "bicubic",
) -> Tokens:
    """The release's multi-scale patches of ``x`` (N, 3, H, W) in [-1, 1] (see the module docstring).

    Args:
        x: equal-size images in [-1, 1].
        longer_sides: longer sides of the resized scales (sorted: scale ids follow the sorted order).
        max_original_patches: patches kept from the full-size image, first in row-major order; -1: all.
        resize_method: bicubic (pyiqa's, the converted release's code) or gaussian (the authors' TF preprocessing).
    """
    h, w = x.shape[-2:]
    parts, spatial, scale = [], [], []

    def add(img: torch.Tensor, scale_id: int, limit: int) -> None:
        p, rows, cols = patchify(img)
        pos = hashed_positions(rows, cols, x.device)
        if limit >= 0:
            p, pos = p[:, :limit], pos[:limit]
        parts.append(p)
        spatial.append(pos)
        scale.append(torch.full_like(pos, scale_id))

    for sid, longer in enumerate(sorted(longer_sides)):
        rh, rw = resized_size(h, w, longer)
        if min(rh, rw) < 1:
            raise InputError(f"musiq: a {h}x{w} image resized to longer side {longer} has an empty side; "
                             "its aspect ratio is too extreme")  # fmt: skip
        # the release caps each resized scale at ceil(L/32)^2 patches, which an aspect-kept resize never exceeds
        add(resize(x, (rh, rw), resize_method), sid, -1)
    add(x, len(longer_sides), max_original_patches)
    return Tokens(torch.cat(parts, dim=1), torch.cat(spatial), torch.cat(scale))


def load_musiq(variant: Variant = "koniq", weights: str | Path | None = None) -> MUSIQ:
    """The MUSIQ of ``variant`` with its released weights, in eval mode.

    Args:
        variant: the released head.
        weights: a state dict file in the release's layout (e.g. one fine-tuned by you), loaded as given;
            None: the variant's released file through the weights manager (hash-verified; a clear error
            naming the file and ``iqa weights fetch musiq_<variant>`` when absent).
    """
    from iqa.weights import load_torch_state, resolve_weights

    net = MUSIQ(variant)
    if weights is None:
        path = resolve_weights(RELEASES[variant].weight_id)
    else:
        path = Path(weights)
        if not path.is_file():
            raise WeightsNotFoundError(f"{path}: no such MUSIQ weights file (given for variant {variant!r})")
    state = load_torch_state(path)
    state = {k.removeprefix("module."): v for k, v in state.items()}  # as saved from DataParallel
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise WeightsError(f"{path} is not a MUSIQ {variant} state dict in the released layout: {e}") from e
    return net.eval()
