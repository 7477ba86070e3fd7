"""TOPIQ (CFANet): top-down cross-scale attention over ResNet-50 (or Swin-B) features, the network behind ``topiq_*``.

Paper: Chen, Mo, Hou, Wu, Liao, Sun, Yan, Lin, "TOPIQ: A Top-down Approach from Semantics to
Distortions for Image Quality Assessment", IEEE TIP 2024 (arXiv:2308.03060). Reference
implementation: the authors' ``CFANet`` in pyiqa (``pyiqa/archs/topiq_arch.py``, chaofengc/IQA-PyTorch,
PolyForm-Noncommercial; read for key names, shapes and the order of operations, never imported here).
Released weights: the authors' ``cfanet_*_res50-<sha256 prefix>.pth`` files in the IQA-PyTorch
releases (a dict whose ``params`` entry is the state dict of the whole network, ResNet-50 included),
and ``cfanet_iaa_ava_swin-393b41b4.pth`` (aesthetics with a Swin-B trunk, pyiqa's default ``topiq_iaa``;
trunk in :mod:`iqa.models.topiq_swin`). Module and parameter names follow those files, so they load with
``strict=True`` unchanged.

The forward, from the coarsest scale down (``forward``):

1. the ImageNet-normalised image through a ResNet-50 (``semantic_model``; BatchNorm in eval mode),
   five feature maps: the stem after ReLU (64 ch, stride 2) and layer1..layer4 (256..2048 ch); the Swin
   release: the image resized to 384 x 384, four maps (256..1024 ch, strides 8..32);
2. per scale, a gate: NR ``GatedConv`` (a 1x1 conv split in two halves, GELU(a) x sigmoid-net(b));
   FR the concatenation [dist, ref, |dist - ref|] times a sigmoid weight map of |dist - ref|
   (|d| computed as sqrt(d^2 + 1e-12), as released);
3. every scale average-pooled to the last map's grid (when larger in both directions), reduced to
   ``inter_dim`` channels (1x1 conv + GELU), plus a learned 2-D position embedding (two 32-entry
   tables, bicubically resized to the grid), then one pre-norm self-attention block;
4. the last map's tokens query the one before's, the result the next finer's, ... down to the finest
   (pre-norm cross-attention blocks; the released ``self_attn`` of these blocks is never used);
5. one more self-attention block, the mean over tokens, an MLP (LayerNorm, Linear, GELU, x2, Linear):
   one score (NR/FR) or a softmax over 10 rating bins (IAA, read out as the mean rating).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import nn

from iqa.errors import InputError, WeightsError, WeightsNotFoundError
from iqa.models.fusion import prepare_inference
from iqa.weights import load_torch_state, resolve_weights

Variant = Literal["nr_koniq", "nr_flive", "nr_spaq", "fr_kadid", "fr_pipal", "iaa_ava_res50", "iaa_ava_swin"]
Trunk = Literal["resnet50", "swin_b"]
VARIANTS: tuple[Variant, ...] = get_args(Variant)
MEAN = (0.485, 0.456, 0.406)  # ImageNet, as the release normalises
STD = (0.229, 0.224, 0.225)
RELEASE_URL = "https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights/"
HF_URL = "https://huggingface.co/chaofengc/IQA-PyTorch-Weights/resolve/main/"


@dataclass(frozen=True)
class Config:
    """One released variant: its file, head size and test-time resize.

    Attributes:
        weights_id: manifest id of the released file.
        use_ref: full-reference (three-way concatenation) instead of no-reference gating.
        inter_dim: token width; 512 with 8 heads for the aesthetics release, 256 with 4 otherwise.
        num_heads: attention heads.
        num_class: 1 (a score) or 10 (AVA rating bins).
        short_side: resize so the shorter side is this long before scoring (the release's
            ``test_img_size``); None scores the image at its own size.
        trunk: the released trunk: ResNet-50, or Swin-B (:mod:`iqa.models.topiq_swin`).
        square_side: resize to this square, aspect ratio not kept (the Swin release: its trunk takes 384 x 384 only).
    """

    weights_id: str
    use_ref: bool = False
    inter_dim: int = 256
    num_heads: int = 4
    num_class: int = 1
    short_side: int | None = None
    trunk: Trunk = "resnet50"
    square_side: int | None = None


CONFIGS: dict[Variant, Config] = {
    "nr_koniq": Config("cfanet_nr_koniq_res50"),
    "nr_flive": Config("cfanet_nr_flive_res50", short_side=384),
    "nr_spaq": Config("cfanet_nr_spaq_res50"),
    "fr_kadid": Config("cfanet_fr_kadid_res50", use_ref=True),
    "fr_pipal": Config("cfanet_fr_pipal_res50", use_ref=True),
    "iaa_ava_res50": Config("cfanet_iaa_ava_res50", inter_dim=512, num_heads=8, num_class=10, short_side=384),
    "iaa_ava_swin": Config(
        "cfanet_iaa_ava_swin", inter_dim=512, num_heads=8, num_class=10, trunk="swin_b", square_side=384
    ),
}


def resize_short_side(x: torch.Tensor, size: int) -> torch.Tensor:
    """Shorter side to ``size`` (longer side truncated as torchvision's ``resize(x, size)``), antialiased bilinear."""
    h, w = x.shape[-2:]
    if h <= w:
        out = (size, int(size * w / h))
    else:
        out = (int(size * h / w), size)
    if out == (h, w):
        return x
    return F.interpolate(x, size=out, mode="bilinear", align_corners=False, antialias=True)


def preprocess(x: torch.Tensor, config: Config) -> torch.Tensor:
    """(N, 3, H, W) in [0, 1] -> the release's test input: optional short-side or square resize, ImageNet mean/std."""
    if config.short_side is not None:
        x = resize_short_side(x, config.short_side)
    if config.square_side is not None and x.shape[-2:] != (config.square_side, config.square_side):
        # torchvision's resize(x, [s, s], antialias=True), as the Swin release applies at test time
        x = F.interpolate(x, size=(config.square_side,) * 2, mode="bilinear", align_corners=False, antialias=True)
    mean = torch.tensor(MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean) / std


class ResNet50Features(nn.Module):
    """ResNet-50 (torchvision's v1.5 layout, as timm's ``resnet50``) returning its five feature maps."""

    def __init__(self) -> None:
        super().__init__()
        from torchvision.models import resnet50

        net = resnet50(weights=None)  # architecture only: the weights come from the released file
        self.conv1, self.bn1, self.act1, self.maxpool = net.conv1, net.bn1, net.relu, net.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4

    channels = (64, 256, 512, 1024, 2048)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.act1(self.bn1(self.conv1(x)))
        feats = [x]
        x = self.maxpool(x)
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
            feats.append(x)
        return feats


def _released_trunk(name: Trunk) -> nn.Module:
    if name == "swin_b":
        from iqa.models.topiq_swin import SwinBFeatures

        return SwinBFeatures()
    return ResNet50Features()


class SelfAttentionBlock(nn.Module):
    """Pre-norm self-attention + feed-forward block on (L, N, C) tokens (the release's encoder layer)."""

    def __init__(self, dim: int, heads: int, ff: int) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(dim, heads)
        self.linear1, self.linear2 = nn.Linear(dim, ff), nn.Linear(ff, dim)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.self_attn(h, h, h, need_weights=False)[0]
        return x + self.linear2(F.gelu(self.linear1(self.norm2(x))))


class CrossAttentionBlock(nn.Module):
    """Pre-norm cross-attention (queries attend to a normalised memory) + feed-forward (the decoder layer)."""

    def __init__(self, dim: int, heads: int, ff: int) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(dim, heads)  # in the released file; its forward never uses it
        self.multihead_attn = nn.MultiheadAttention(dim, heads)
        self.linear1, self.linear2 = nn.Linear(dim, ff), nn.Linear(ff, dim)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)

    def forward(self, q: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        m = self.norm2(memory)
        q = q + self.multihead_attn(self.norm1(q), m, m, need_weights=False)[0]
        return q + self.linear2(F.gelu(self.linear1(self.norm3(q))))


class Stack(nn.Module):
    """One block held as ``layers.0`` (the release's one-layer encoder/decoder wrappers)."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.layers = nn.ModuleList([block])

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        return self.layers[0](*args)


class GatedConv(nn.Module):
    """NR gate: a 1x1 conv to two halves; GELU of the first times a sigmoid map computed from the second."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.splitconv = nn.Conv2d(dim, dim * 2, 1)
        self.weight_blk = _weight_net(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.splitconv(x).chunk(2, dim=1)
        return F.gelu(a) * self.weight_blk(b)


def _weight_net(dim: int) -> nn.Sequential:
    """(N, dim, h, w) -> (N, 1, h, w) in (0, 1): 1x1 conv to 64, GELU, 3x3, GELU, 3x3 to 1, sigmoid."""
    return nn.Sequential(
        nn.Conv2d(dim, 64, 1), nn.GELU(), nn.Conv2d(64, 64, 3, padding=1), nn.GELU(),
        nn.Conv2d(64, 1, 3, padding=1), nn.Sigmoid(),
    )  # fmt: skip


class TopIQ(nn.Module):
    """CFANet of one released variant; ``forward`` takes preprocessed images and returns (N, num_class)."""

    def __init__(
        self, variant: Variant = "nr_koniq", *, trunk: nn.Module | None = None, config: Config | None = None
    ) -> None:
        """``trunk`` (a module returning its feature maps, with ``channels``, their widths) and ``config`` replace
        the released trunk and the variant's released sizes: for tests only, no released file has their layout.
        """
        super().__init__()
        if variant not in CONFIGS:
            raise InputError(f"TOPIQ variant must be one of {VARIANTS}, got {variant!r}")
        self.variant, self.config = variant, config or CONFIGS[variant]
        cfg = self.config
        dim, heads, ff = cfg.inter_dim, cfg.num_heads, min(4 * cfg.inter_dim, 2048)
        self.semantic_model = trunk if trunk is not None else _released_trunk(cfg.trunk)
        chans: tuple[int, ...] = tuple(self.semantic_model.channels)  # type: ignore[arg-type]
        mul = 3 if cfg.use_ref else 1
        # registered in the release's order, so state_dict() lists keys as the released file does
        self.sa_attn_blks = nn.ModuleList(Stack(SelfAttentionBlock(dim, heads, ff)) for _ in chans)
        self.dim_reduce = nn.ModuleList(nn.Sequential(nn.Conv2d(c * mul, dim, 1), nn.GELU()) for c in chans)
        self.weight_pool = nn.ModuleList(_weight_net(c) if cfg.use_ref else GatedConv(c) for c in chans)
        self.attn_blks = nn.ModuleList(Stack(CrossAttentionBlock(dim, heads, ff)) for _ in chans[1:])
        self.attn_pool = SelfAttentionBlock(dim, heads, ff)
        head: list[nn.Module] = [
            nn.LayerNorm(dim), nn.Linear(dim, dim), nn.GELU(),
            nn.LayerNorm(dim), nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, cfg.num_class),
        ]  # fmt: skip
        self.score_linear = nn.Sequential(*head)
        self.h_emb = nn.Parameter(torch.zeros(1, dim // 2, 32, 1))
        self.w_emb = nn.Parameter(torch.zeros(1, dim // 2, 1, 32))

    def _position(self, size: tuple[int, int]) -> torch.Tensor:
        """The (h*w, 1, C) position embedding of an h x w grid (the two tables tiled to 32 x 32, bicubic)."""
        table = torch.cat((self.h_emb.expand(-1, -1, -1, 32), self.w_emb.expand(-1, -1, 32, -1)), dim=1)
        return F.interpolate(table, size=size, mode="bicubic", align_corners=False).flatten(2).permute(2, 0, 1)

    def _gate(self, i: int, dist: torch.Tensor, ref: torch.Tensor | None) -> torch.Tensor:
        if ref is None:
            return self.weight_pool[i](dist)
        diff = torch.sqrt((dist - ref) ** 2 + 1e-12)
        return torch.cat((dist, ref, diff), dim=1) * self.weight_pool[i](diff)

    def forward(self, x: torch.Tensor, ref: torch.Tensor | None = None) -> torch.Tensor:
        """Preprocessed (N, 3, H, W) image (and reference, FR) -> (N, 1) score or (N, 10) probabilities."""
        out = self.score_linear(self.features(x, ref))
        return torch.softmax(out, dim=-1) if self.config.num_class > 1 else out

    def features(self, x: torch.Tensor, ref: torch.Tensor | None = None) -> torch.Tensor:
        """The (N, inter_dim) token mean the MLP head reads (steps 1-5 of the module docstring)."""
        if self.config.use_ref != (ref is not None):
            raise InputError(f"TOPIQ {self.variant}: {'a' if self.config.use_ref else 'no'} reference expected")
        if ref is None:
            dist_f = self.semantic_model(x)
            ref_f = [None] * len(dist_f)
        else:  # one trunk pass over both halves (BatchNorm in eval mode: images stay independent)
            both = self.semantic_model(torch.cat((x, ref)))
            dist_f, ref_f = [f[: len(x)] for f in both], [f[len(x) :] for f in both]
        grid = dist_f[-1].shape[-2:]
        pos: dict[tuple[int, int], torch.Tensor] = {}
        tokens = []
        for i in reversed(range(len(dist_f))):  # coarse to fine
            f = self._gate(i, dist_f[i], ref_f[i])
            if f.shape[-2] > grid[0] and f.shape[-1] > grid[1]:
                f = F.adaptive_avg_pool2d(f, grid)
            size = (f.shape[-2], f.shape[-1])
            if size not in pos:
                pos[size] = self._position(size)
            t = self.dim_reduce[i](f).flatten(2).permute(2, 0, 1) + pos[size]
            tokens.append(self.sa_attn_blks[i](t))
        query = tokens[0]
        for blk, memory in zip(self.attn_blks, tokens[1:]):
            query = blk(query, memory)
        return self.attn_pool(query).mean(dim=0)


def score_of(out: torch.Tensor) -> torch.Tensor:
    """(N, 1) score -> (N,); (N, 10) rating probabilities -> the mean rating on 1..10."""
    if out.shape[-1] == 1:
        return out[:, 0]
    return (out * torch.arange(1, out.shape[-1] + 1, dtype=out.dtype, device=out.device)).sum(-1)


def predict(model: TopIQ, img: torch.Tensor, ref: torch.Tensor | None, data_range: float) -> torch.Tensor:
    """Checked images in ``[0, data_range]`` -> scores (N,) in the input's dtype (the network runs in its own)."""
    dtype = next(model.parameters()).dtype
    x = preprocess((img / data_range).to(dtype), model.config)  # scaled in the input's precision first
    r = None if ref is None else preprocess((ref / data_range).to(dtype), model.config)
    return score_of(model(x, r)).to(img.dtype)


def read_release(path: Path) -> dict[str, torch.Tensor]:
    """The state dict of a released ``cfanet_*.pth`` (its ``params`` entry; ``module.`` prefixes dropped)."""
    state = load_torch_state(path)
    if isinstance(state, dict) and "params" in state:
        state = state["params"]
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: not a TOPIQ checkpoint (expected a dict with a 'params' state dict)")
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_topiq(variant: Variant, weights: str | Path | None = None) -> TopIQ:
    """The network of ``variant`` with its weights, in eval mode.

    Args:
        variant: the released variant.
        weights: a checkpoint in the release's layout (e.g. one you fine-tuned), loaded as given; None: the
            variant's released file through the weights manager (hash-verified; a clear error naming the file
            when absent).
    """
    if weights is None:
        path = resolve_weights(CONFIGS[variant].weights_id)
    else:
        path = Path(weights)
        if not path.is_file():
            raise WeightsNotFoundError(f"{path}: no such TOPIQ weights file (given for variant {variant!r})")
    net = TopIQ(variant)
    try:
        net.load_state_dict(read_release(path), strict=True)
    except RuntimeError as e:
        raise WeightsError(f"{path}: not a TOPIQ {variant} checkpoint in the released layout ({e})") from e
    return net.eval()


def topiq_for(metric: str, variant: Variant, weights: str | Path | None, model: TopIQ | None) -> TopIQ:
    """The network a TOPIQ metric runs: ``model`` when given (it must be ``variant``), else the release loaded
    and prepared for inference (:func:`iqa.models.fusion.prepare_inference`: BatchNorm folded, channels-last).

    Raises:
        InputError: ``model`` is another variant (its head and input path would not fit ``metric``).
    """
    if model is None:
        return prepare_inference(load_topiq(variant, weights))
    if model.variant != variant:
        raise InputError(f"{metric}: the given model is TOPIQ {model.variant}, this metric needs {variant}")
    return model.eval()
