"""PickScore's network: CLIP ViT-H/14 in the key layout of transformers' ``CLIPModel``, and its tokeniser.

Paper: Kirstain, Polyak, Singer, Matiana, Penna and Levy, "Pick-a-Pic: An Open Dataset of User
Preferences for Text-to-Image Generation", NeurIPS 2023. Released weights: the Hugging Face repo
``yuvalkirstain/PickScore_v1`` (``model.safetensors``: a transformers ``CLIPModel``, CLIP-H/14
fine-tuned from ``laion/CLIP-ViT-H-14-laion2B-s32B-b79K``); reference implementation: the authors'
README (github.com/yuvalkirstain/PickScore): ``CLIPProcessor`` of the laion repo, ``get_image_features``
and ``get_text_features``, L2-normalised, ``logit_scale.exp() * cos``.

Why an own module and not open_clip's ViT-H-14: the released file is in transformers' layout
(separate ``q/k/v_proj``, ``Linear`` projections), and the weights policy loads the file users
download unchanged with ``load_state_dict(strict=True)``; a key mapping onto open_clip would make
the loaded module's own layout differ from the file. The computation is the one of transformers'
``CLIPModel`` (exact GELU, pre-norm blocks, class token after ``post_layernorm``, text read at the
first end-of-text token after ``final_layer_norm``); parity with ``transformers.CLIPModel`` on the
same random state dict: tests/models/test_pickscore.py. transformers is not needed at run time.

Tokeniser: the laion repo's ``CLIPTokenizer`` (the standard CLIP BPE, a ``tokenizers`` backend):
NFC, runs of white space to one space, lower case, CLIP's split pattern, byte-level BPE. It differs
from OpenAI's / open_clip's cleaning (``ftfy.fix_text`` and ``html.unescape``, which e.g. uncurl
quotes and read ``&amp;``), so :func:`tokenize` runs open_clip's BPE tables with transformers'
normaliser; equality with transformers on long, unicode and empty prompts is tested. The processor
truncates to 77 tokens keeping the start and end tokens: the first 75 BPE tokens are read. One known
difference: transformers reads a literal ``<|endoftext|>`` typed in a prompt as the special token
(so its text feature is taken there); here it is text like any other.

The released ``logit_scale`` is a weight (CLIP clamps it at ``ln 100`` in training), so scores are
``exp(logit_scale) * cos``, at most ``exp(logit_scale)`` in magnitude; released-model scores of
matching pairs sit around 20.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from iqa.errors import MissingDependencyError, WeightsError

WEIGHTS_ID = "pickscore_v1"
CONTEXT_LENGTH = 77


@dataclass(frozen=True)
class CLIPConfig:
    """Tower sizes; the defaults are ViT-H/14 as released (laion's ``config.json``)."""

    image_size: int = 224
    patch_size: int = 14
    vision_width: int = 1280
    vision_layers: int = 32
    vision_heads: int = 16
    vision_mlp: int = 5120
    text_width: int = 1024
    text_layers: int = 24
    text_heads: int = 16
    text_mlp: int = 4096
    vocab_size: int = 49408
    context_length: int = CONTEXT_LENGTH
    embed_dim: int = 1024
    eps: float = 1e-5


def _layers(state: dict[str, torch.Tensor], prefix: str) -> int:
    return len({k[len(prefix) :].split(".", 1)[0] for k in state if k.startswith(prefix)})


def config_from_state(state: dict[str, torch.Tensor]) -> CLIPConfig:
    """The tower sizes of a state dict in the released layout (ViT-H/14's for PickScore_v1).

    Heads follow from the widths at the release's head widths (80 in the image tower, 64 in the text
    tower: ViT-H/14's 16 and 16), so a reduced file in the same layout builds too (tests, stand-ins).
    """
    try:
        conv = state["vision_model.embeddings.patch_embedding.weight"]
        n_pos = state["vision_model.embeddings.position_embedding.weight"].shape[0]
        tokens = state["text_model.embeddings.token_embedding.weight"]
        width, text_width = conv.shape[0], tokens.shape[1]
        return CLIPConfig(
            image_size=conv.shape[-1] * round((n_pos - 1) ** 0.5), patch_size=conv.shape[-1], vision_width=width,
            vision_layers=_layers(state, "vision_model.encoder.layers."), vision_heads=max(1, width // 80),
            vision_mlp=state["vision_model.encoder.layers.0.mlp.fc1.weight"].shape[0],
            text_width=text_width, text_layers=_layers(state, "text_model.encoder.layers."),
            text_heads=max(1, text_width // 64), text_mlp=state["text_model.encoder.layers.0.mlp.fc1.weight"].shape[0],
            vocab_size=tokens.shape[0], context_length=state["text_model.embeddings.position_embedding.weight"].shape[0],
            embed_dim=state["visual_projection.weight"].shape[0],
        )  # fmt: skip
    except KeyError as e:
        raise WeightsError(f"not PickScore's released layout (transformers CLIPModel): no {e}") from e


class _Attention(nn.Module):
    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.k_proj, self.v_proj = nn.Linear(width, width), nn.Linear(width, width)
        self.q_proj, self.out_proj = nn.Linear(width, width), nn.Linear(width, width)

    def forward(self, x: torch.Tensor, causal: bool, queries: int | None = None) -> torch.Tensor:
        """Self-attention; ``queries``: only the first that many positions attend (and are returned)."""
        n, t, c = x.shape
        q_in = x if queries is None else x[:, :queries]

        def split(y: torch.Tensor) -> torch.Tensor:
            return y.view(n, -1, self.heads, c // self.heads).transpose(1, 2)

        y = F.scaled_dot_product_attention(split(self.q_proj(q_in)), split(self.k_proj(x)), split(self.v_proj(x)),
                                           is_causal=causal)  # fmt: skip
        return self.out_proj(y.transpose(1, 2).reshape(n, -1, c))


class _MLP(nn.Module):
    def __init__(self, width: int, hidden: int) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(width, hidden), nn.Linear(hidden, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))  # config hidden_act "gelu": the exact erf GELU


class _Layer(nn.Module):
    def __init__(self, width: int, heads: int, hidden: int, eps: float) -> None:
        super().__init__()
        self.self_attn = _Attention(width, heads)
        self.layer_norm1 = nn.LayerNorm(width, eps=eps)
        self.mlp = _MLP(width, hidden)
        self.layer_norm2 = nn.LayerNorm(width, eps=eps)

    def forward(self, x: torch.Tensor, causal: bool, queries: int | None = None) -> torch.Tensor:
        x = (x if queries is None else x[:, :queries]) + self.self_attn(self.layer_norm1(x), causal, queries)
        return x + self.mlp(self.layer_norm2(x))


class _Encoder(nn.Module):
    def __init__(self, width: int, layers: int, heads: int, hidden: int, eps: float) -> None:
        super().__init__()
        self.layers = nn.ModuleList(_Layer(width, heads, hidden, eps) for _ in range(layers))

    def forward(self, x: torch.Tensor, causal: bool, last_queries: int | None = None) -> torch.Tensor:
        """``last_queries``: the last layer computes only the first that many positions (what is read)."""
        for i, layer in enumerate(self.layers):
            x = layer(x, causal, last_queries if i == len(self.layers) - 1 else None)
        return x


class _VisionEmbeddings(nn.Module):
    def __init__(self, cfg: CLIPConfig) -> None:
        super().__init__()
        self.class_embedding = nn.Parameter(torch.zeros(cfg.vision_width))
        self.patch_embedding = nn.Conv2d(3, cfg.vision_width, cfg.patch_size, cfg.patch_size, bias=False)
        self.position_embedding = nn.Embedding((cfg.image_size // cfg.patch_size) ** 2 + 1, cfg.vision_width)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        x = self.patch_embedding(pixels).flatten(2).transpose(1, 2)
        cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        return torch.cat([cls, x], dim=1) + self.position_embedding.weight


class _VisionModel(nn.Module):
    def __init__(self, cfg: CLIPConfig) -> None:
        super().__init__()
        self.embeddings = _VisionEmbeddings(cfg)
        self.pre_layrnorm = nn.LayerNorm(cfg.vision_width, eps=cfg.eps)  # (sic) transformers' key name
        self.encoder = _Encoder(cfg.vision_width, cfg.vision_layers, cfg.vision_heads, cfg.vision_mlp, cfg.eps)
        self.post_layernorm = nn.LayerNorm(cfg.vision_width, eps=cfg.eps)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        # only the class token is read: the last layer attends and runs its MLP for it alone (same numbers)
        x = self.encoder(self.pre_layrnorm(self.embeddings(pixels)), causal=False, last_queries=1)
        return self.post_layernorm(x[:, 0])


class _TextEmbeddings(nn.Module):
    def __init__(self, cfg: CLIPConfig) -> None:
        super().__init__()
        self.token_embedding = nn.Embedding(cfg.vocab_size, cfg.text_width)
        self.position_embedding = nn.Embedding(cfg.context_length, cfg.text_width)


class _TextModel(nn.Module):
    def __init__(self, cfg: CLIPConfig) -> None:
        super().__init__()
        self.embeddings = _TextEmbeddings(cfg)
        self.encoder = _Encoder(cfg.text_width, cfg.text_layers, cfg.text_heads, cfg.text_mlp, cfg.eps)
        self.final_layer_norm = nn.LayerNorm(cfg.text_width, eps=cfg.eps)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        # causal attention: the end token sees only what precedes it, so reading the sequence up to the
        # longest prompt's end token gives the numbers of the full (padded) context
        end = ids.argmax(-1)  # the first end-of-text token (49407, the largest id), as transformers reads it
        ids = ids[:, : int(end.max()) + 1]
        x = self.embeddings.token_embedding(ids) + self.embeddings.position_embedding.weight[: ids.shape[1]]
        x = self.final_layer_norm(self.encoder(x, causal=True))
        return x[torch.arange(x.shape[0], device=x.device), end]


class PickScoreCLIP(nn.Module):
    """CLIP in transformers' ``CLIPModel`` key layout (``text_model``, ``vision_model``, projections, ``logit_scale``).

    ``encode_image`` takes CLIP-normalised pixels (N, 3, 224, 224); ``encode_text`` token ids (N, <= 77)
    from :func:`tokenize`. Both return unnormalised projections (``get_*_features``).
    """

    def __init__(self, cfg: CLIPConfig | None = None) -> None:
        super().__init__()
        cfg = cfg or CLIPConfig()
        self.cfg = cfg
        self.text_model = _TextModel(cfg)
        self.vision_model = _VisionModel(cfg)
        self.visual_projection = nn.Linear(cfg.vision_width, cfg.embed_dim, bias=False)
        self.text_projection = nn.Linear(cfg.text_width, cfg.embed_dim, bias=False)
        self.logit_scale = nn.Parameter(
            torch.tensor(math.log(1 / 0.07))
        )  # CLIP's init; the release's value loads over it

    @property
    def image_size(self) -> int:
        return self.cfg.image_size

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.visual_projection(self.vision_model(pixels))

    def encode_text(self, ids: torch.Tensor) -> torch.Tensor:
        return self.text_projection(self.text_model(ids))


def pickscore_scores(model: PickScoreCLIP, pixels: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """``exp(logit_scale) * cos(image_i, text_i)`` per pair, (N,), float32 (the authors' README)."""
    e_img = F.normalize(model.encode_image(pixels).float(), dim=-1)
    e_txt = F.normalize(model.encode_text(ids).float(), dim=-1)
    return model.logit_scale.float().exp() * (e_img * e_txt).sum(-1)


# ---- tokeniser -------------------------------------------------------------------------------------


def _hf_clean(text: str) -> str:
    # transformers' CLIPTokenizer normaliser: NFC, \s+ -> " ", lower case (no ftfy, no html unescaping);
    # the split pattern drops the spaces, so leading/trailing ones vanish as with open_clip's strip
    import regex  # type: ignore[import-untyped]  # open_clip's dependency; \s as Unicode White_Space, as in tokenizers

    text = regex.sub(r"\s+", " ", unicodedata.normalize("NFC", text))
    return "".join(c.lower() for c in text)  # char by char, as tokenizers' Lowercase (no final-sigma rule)


@functools.cache
def _tokenizer() -> Any:
    try:
        from open_clip.tokenizer import SimpleTokenizer
    except ImportError as e:
        raise MissingDependencyError("pickscore needs open_clip's CLIP BPE tables: pip install 'iqa[clip]'") from e
    tok = SimpleTokenizer()
    tok.clean_fn = _hf_clean  # open_clip's BPE (the same vocabulary and merges), transformers' normaliser
    return tok


def token_counts(texts: Sequence[str]) -> list[int]:
    """Tokens each prompt takes before truncation, start and end tokens included."""
    tok = _tokenizer()
    return [len(tok.encode(t)) + 2 for t in texts]


def tokenize(texts: Sequence[str], context_length: int = CONTEXT_LENGTH) -> torch.Tensor:
    """(N, context_length) ids as the laion ``CLIPProcessor(truncation=True, max_length=77)``, zero-padded.

    A longer prompt keeps its first ``context_length - 2`` BPE tokens between the start and end tokens
    (transformers truncates the text, then adds both). Padding differs from transformers' (its pad id
    is the end token) but is never read: the text tower is causal and pools the first end token.
    """
    tok = _tokenizer()
    out = torch.zeros(len(texts), context_length, dtype=torch.long)
    for i, t in enumerate(texts):
        ids = [tok.sot_token_id, *tok.encode(t)[: context_length - 2], tok.eot_token_id]
        out[i, : len(ids)] = torch.tensor(ids)
    return out


# ---- weights ---------------------------------------------------------------------------------------


def build_pickscore(state: dict[str, torch.Tensor] | None = None, cfg: CLIPConfig | None = None) -> PickScoreCLIP:
    """The network, with ``state`` (the released layout) loaded strictly; random init when None.

    ``cfg``: the tower sizes; None: ViT-H/14 without a state dict, :func:`config_from_state` with one.

    With a state dict the module is built on the meta device and takes the tensors themselves (cast to
    float32), so a 4 GB release is not held twice. ``*.embeddings.position_ids`` entries (a buffer older
    transformers saved; transformers drops them on load) are ignored.
    """
    if state is None:
        return PickScoreCLIP(cfg).eval()
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in state.items() if not k.endswith("position_ids")}
    with torch.device("meta"):
        model = PickScoreCLIP(cfg or config_from_state(state))
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as e:
        raise WeightsError(f"not PickScore's released layout (transformers CLIPModel, ViT-H/14): {e}") from e
    return model.eval()


def read_release(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of ``model.safetensors`` (or a torch file holding the same state dict)."""
    p = Path(path)
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(p))
    state = torch.load(p, map_location="cpu", weights_only=True)
    return dict(state.get("state_dict", state))


def load_pickscore(weights: str | Path | None = None) -> PickScoreCLIP:
    """PickScore_v1 from ``weights`` (a file) or the manifest entry ``pickscore_v1``."""
    from iqa.weights import resolve_weights

    _tokenizer()  # open_clip's BPE tables are needed: a missing extra is said before a 4 GB download
    return build_pickscore(read_release(resolve_weights(WEIGHTS_ID, weights)))
