"""CLIP-IQA and CLIP-IQA+: antonym prompts scored by OpenAI's CLIP at the image's own resolution.

Paper: Wang, Chan, Loy, "Exploring CLIP for Assessing the Look and Feel of Images", AAAI 2023.
Reference implementation: the authors' ``IceClear/CLIP-IQA`` (mmediting; ``CLIPIQAFixed`` and
``CLIPIQAPredictor`` in ``mmedit/models/backbones/sr_backbones/coopclipiqa.py``, prompts in
``configs/clipiqa/clipiqa_attribute_test.py``) and its port in pyiqa (``pyiqa/archs/clipiqa_arch.py``,
``clip_model.py``), the test-time reference here.

What the release does, reproduced here:

- Towers: OpenAI's released CLIP (RN50 by default; ViT-L/14 for ``clipiqa+_vitL14_512``), built by
  open_clip from OpenAI's archive (:mod:`iqa.features.clip`), float32.
- Input: the whole image at its own size (no resize, no crop), /255 then CLIP's mean/std.
- Position embeddings: the release's ``pos_embedding`` flag. Off (``"drop"``, ``clipiqa`` and
  ``clipiqa+``): the attention pool (ResNet) or the token sequence (ViT) gets *no* position embedding
  at all, whatever the input size. On (``"resize"``, the ``*_512`` releases): the (L, C) table is
  resized to the (L', C) of this input by 2-D bicubic interpolation over the (token, channel) grid
  (``align_corners=False``), i.e. along the flattened token index, the class token included, not
  over the 2-D patch grid; at the tower's native size it is the table itself.
- Text: each antonym pair through the text tower (``clipiqa``: the prompts tokenised as CLIP does;
  ``clipiqa+``: 16 learned context vectors, 8 before and 8 after the class words "Good photo." /
  "Bad photo.", in the release's token template ``"X X ... X Good photo.."``).
- Score: image and text features L2-normalised, logits = exp(logit_scale) x cosine (100 for
  OpenAI's towers), softmax over each pair, the probability of the pair's first prompt.

Text features depend only on the weights: they are computed once (``refresh_text``) and kept as a
buffer, so a forward pass runs the image tower only.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from iqa.errors import InputError
from iqa.features.clip import CLIP_MEAN, CLIP_STD, open_clip_module

PosEmbedding = Literal["drop", "resize"]
Pair = tuple[str, str]

# The release's attribute pairs (configs/clipiqa/clipiqa_attribute_test.py): quality, the six
# "degradation attributes" and the six "AVA attributes"; the score is P(first prompt).
ATTRIBUTES: dict[str, Pair] = {
    "quality": ("Good photo.", "Bad photo."),
    "brightness": ("Bright photo.", "Dark photo."),
    "sharpness": ("Sharp photo.", "Blurry photo."),
    "noisiness": ("Noisy photo.", "Clean photo."),
    "colorfulness": ("Colorful photo.", "Dull photo."),
    "contrast": ("High contrast photo.", "Low contrast photo."),
    "aesthetic": ("Aesthetic photo.", "Not aesthetic photo."),
    "happy": ("Happy photo.", "Sad photo."),
    "natural": ("Natural photo.", "Synthetic photo."),
    "new": ("New photo.", "Old photo."),
    "scary": ("Scary photo.", "Peaceful photo."),
    "complex": ("Complex photo.", "Simple photo."),
}
# pyiqa's ``clipiqa`` is not the paper's prompt: it averages P(first) over these five pairs.
PYIQA_PAIRS: tuple[Pair, ...] = (
    ("Good image", "bad image"),
    ("Sharp image", "blurry image"),
    ("sharp edges", "blurry edges"),
    ("High resolution image", "low resolution image"),
    ("Noise-free image", "noisy image"),
)
N_CTX = 16  # CLIP-IQA+'s learned context length
PLUS_CLASSES: Pair = ("Good photo.", "Bad photo.")


@functools.cache
def _tokenizer() -> Any:
    return open_clip_module("clipiqa").get_tokenizer("RN50")  # reading the BPE merges takes a while: once


def tokenize(texts: Sequence[str]) -> torch.Tensor:
    """CLIP's BPE tokens, (len(texts), 77) int64; the values of ``clip.tokenize`` (tests check it)."""
    return _tokenizer()(list(texts))


def resize_pos_embedding(table: torch.Tensor, length: int) -> torch.Tensor:
    """The release's resize of an (L, C) position table to (length, C): bicubic over the (token, channel) grid."""
    if length == table.shape[0]:
        return table  # the kernel at integer source positions is the identity
    return F.interpolate(table[None, None], size=(length, table.shape[1]), mode="bicubic", align_corners=False)[0, 0]


class PromptLearner(nn.Module):
    """CLIP-IQA+'s learned prompts, in the release's layout (``ctx``, ``token_prefix``, ``token_suffix``).

    ``ctx``: (16, D) shared by both classes or (2, 16, D) per class (the released files hold either; the
    release expands a shared one). ``token_prefix`` (2, 1, D) is the start token's embedding and
    ``token_suffix`` (2, 60, D) the embeddings after the 16 placeholders (class words, the template's
    extra ".", the end token, padding); the released ``*_512`` files carry their own copies.
    """

    token_prefix: torch.Tensor
    token_suffix: torch.Tensor
    tokens: torch.Tensor

    def __init__(self, clip: Any, n_ctx: int = N_CTX) -> None:
        super().__init__()
        template = " ".join(["X"] * n_ctx) + " "
        tokens = tokenize([template + name + "." for name in PLUS_CLASSES])
        with torch.no_grad():
            emb = clip.token_embedding(tokens).float()
        self.n_ctx = n_ctx
        self.name_len = 3  # "good", "photo", "." (the template's extra "." stays after the context)
        self.ctx = nn.Parameter(emb[:, 1 : 1 + n_ctx].clone())
        self.register_buffer("token_prefix", emb[:, :1].clone())
        self.register_buffer("token_suffix", emb[:, 1 + n_ctx :].clone())
        self.register_buffer("tokens", tokens, persistent=False)

    def set_context(self, ctx: torch.Tensor) -> None:
        """Take a released context tensor, (16, D) or (2, 16, D)."""
        d = self.token_prefix.shape[-1]
        if ctx.shape not in ((self.n_ctx, d), (2, self.n_ctx, d)):
            raise InputError(f"CLIP-IQA+ context of shape {tuple(ctx.shape)}; expected ({self.n_ctx}, {d}) or "
                             f"(2, {self.n_ctx}, {d}) for this CLIP tower")  # fmt: skip
        self.ctx = nn.Parameter(ctx.detach().to(self.token_prefix), requires_grad=False)

    def embeddings(self) -> torch.Tensor:
        """(2, 77, D) prompt embeddings: start, half the context, class words, the other half, the rest."""
        ctx = self.ctx.to(self.token_prefix)
        if ctx.dim() == 2:
            ctx = ctx.expand(2, -1, -1)
        half, k = self.n_ctx // 2, self.name_len
        suffix = self.token_suffix
        return torch.cat([self.token_prefix, ctx[:, :half], suffix[:, :k], ctx[:, half:], suffix[:, k:]], dim=1)


class CLIPIQANet(nn.Module):
    """A CLIP tower with CLIP-IQA's prompt pairs; ``forward`` gives P(first prompt) per pair, (N, P).

    Args:
        clip: an open_clip CLIP in OpenAI's layout (e.g. :func:`iqa.features.clip.load_openai_clip`).
        pairs: antonym prompt pairs (``clipiqa``); None with ``learned=True``.
        learned: CLIP-IQA+: the pair is "Good photo." / "Bad photo." with a :class:`PromptLearner`.
        pos_embedding: "drop" (the release's default) or "resize" (its ``*_512`` releases); see the module.
    """

    tokens: torch.Tensor
    text_features: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self,
        clip: nn.Module,
        pairs: Sequence[Pair] | None = None,
        *,
        learned: bool = False,
        pos_embedding: PosEmbedding = "drop",
    ) -> None:
        super().__init__()
        if pos_embedding not in ("drop", "resize"):
            raise InputError(f"pos_embedding must be 'drop' or 'resize', got {pos_embedding!r}")
        if learned == (pairs is not None):
            raise InputError("CLIPIQANet takes prompt pairs (clipiqa) or learned=True (clipiqa+), one of them")
        self.clip: Any = clip.eval().requires_grad_(False)
        self.pos_embedding: PosEmbedding = pos_embedding
        self.pairs: tuple[Pair, ...] = (PLUS_CLASSES,) if pairs is None else tuple(pairs)
        self.prompt_learner = PromptLearner(self.clip).requires_grad_(False) if learned else None
        self.register_buffer("tokens", tokenize([p for pair in self.pairs for p in pair]), persistent=False)
        self.register_buffer("text_features", self._encode_text(), persistent=False)
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CLIP_STD).view(1, 3, 1, 1), persistent=False)
        visual: Any = clip.visual
        self.is_vit = hasattr(visual, "class_embedding")
        self.min_size = int(visual.conv1.kernel_size[0]) if self.is_vit else 32  # ResNet: 5 halvings

    @torch.no_grad()
    def _encode_text(self) -> torch.Tensor:
        """L2-normalised text features of every prompt, (2P, D)."""
        clip = self.clip
        if self.prompt_learner is None:
            t = clip.encode_text(self.tokens)
        else:  # the text tower on the learned prompts' embeddings (the release's TextEncoder)
            x = self.prompt_learner.embeddings() + clip.positional_embedding
            x = clip.ln_final(clip.transformer(x, attn_mask=clip.attn_mask))
            t = x[torch.arange(len(x)), self.prompt_learner.tokens.argmax(-1)] @ clip.text_projection
        return F.normalize(t.float(), dim=-1)

    def refresh_text(self) -> None:
        """Recompute the cached text features (after loading other tower or prompt weights)."""
        self.text_features = self._encode_text().to(self.text_features)

    def _resnet(self, x: torch.Tensor) -> torch.Tensor:
        v = self.clip.visual
        x = v.layer4(v.layer3(v.layer2(v.layer1(v.stem(x)))))
        pool = v.attnpool
        seq = x.flatten(2).permute(2, 0, 1)  # (HW, N, C)
        seq = torch.cat([seq.mean(0, keepdim=True), seq])
        if self.pos_embedding == "resize":
            seq = seq + resize_pos_embedding(pool.positional_embedding, len(seq))[:, None].to(seq.dtype)
        # only the mean token's query is read: attend with it alone
        out, _ = F.multi_head_attention_forward(
            query=seq[:1], key=seq, value=seq, embed_dim_to_check=seq.shape[-1], num_heads=pool.num_heads,
            q_proj_weight=pool.q_proj.weight, k_proj_weight=pool.k_proj.weight, v_proj_weight=pool.v_proj.weight,
            in_proj_weight=None, in_proj_bias=torch.cat([pool.q_proj.bias, pool.k_proj.bias, pool.v_proj.bias]),
            bias_k=None, bias_v=None, add_zero_attn=False, dropout_p=0.0, out_proj_weight=pool.c_proj.weight,
            out_proj_bias=pool.c_proj.bias, use_separate_proj_weight=True, training=False, need_weights=False,
        )  # fmt: skip
        return out[0]

    def _vit(self, x: torch.Tensor) -> torch.Tensor:
        v = self.clip.visual
        x = v.conv1(x).flatten(2).transpose(1, 2)  # (N, grid, width)
        x = torch.cat([v.class_embedding.to(x.dtype).expand(len(x), 1, -1), x], dim=1)
        if self.pos_embedding == "resize":
            x = x + resize_pos_embedding(v.positional_embedding, x.shape[1]).to(x.dtype)
        x = v.transformer(v.ln_pre(x))
        return v.ln_post(x[:, 0]) @ v.proj

    def encode_image(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] at any size -> (N, D) image features (CLIP-normalised inside)."""
        x = (x - self.mean) / self.std
        return self._vit(x) if self.is_vit else self._resnet(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] -> (N, P): softmax over each pair of exp(logit_scale) x cosine, first prompt."""
        f = F.normalize(self.encode_image(x), dim=-1)
        logits = self.clip.logit_scale.exp() * f @ self.text_features.to(f.dtype).T
        return logits.view(len(x), -1, 2).softmax(-1)[..., 0]


def load_prompts(learner: PromptLearner, path: str | Path) -> None:
    """Load a released CLIP-IQA+ prompt file into ``learner``.

    Two layouts are released: ``CLIP-IQA+_learned_prompts-603f3273.pth`` is the bare context tensor;
    the ``CLIPIQA+_*_512`` files are ``{"params": {"prompt_learner.ctx", "prompt_learner.token_prefix",
    "prompt_learner.token_suffix"}}`` (pyiqa's CLIPIQA state dict), loaded strictly, their token
    embeddings included.
    """
    from iqa.weights import load_torch_state

    obj: Any = load_torch_state(Path(path))
    if isinstance(obj, torch.Tensor):
        learner.set_context(obj)
        return
    state = obj.get("params", obj) if isinstance(obj, dict) else None
    if not isinstance(state, dict):
        raise InputError(f"{path}: neither a context tensor nor a {{'params': state_dict}} CLIP-IQA+ file")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    expected = {"prompt_learner." + k for k in ("ctx", "token_prefix", "token_suffix")}
    if set(state) != expected:
        raise InputError(f"{path}: a CLIP-IQA+ file holds {sorted(expected)}, this one {sorted(state)[:6]}")
    learner.set_context(state["prompt_learner.ctx"])
    try:
        learner.load_state_dict({k.removeprefix("prompt_learner."): v for k, v in state.items()}, strict=True)
    except RuntimeError as e:
        raise InputError(f"{path}: not the prompts of this CLIP tower: {e}") from e


# CLIP-IQA+ releases: (CLIP tower, manifest id of the prompt file, position-embedding rule)
PLUS_RELEASES: dict[str, tuple[str, str, PosEmbedding]] = {
    "clipiqa_plus": ("RN50", "clipiqa_plus_learned_prompts", "drop"),
    "clipiqa_plus_rn50_512": ("RN50", "clipiqa_plus_rn50_512", "resize"),
    "clipiqa_plus_vitl14_512": ("ViT-L-14", "clipiqa_plus_vitl14_512", "resize"),
}


def load_clipiqa(
    pairs: Sequence[Pair],
    backbone: str = "RN50",
    clip_weights: str | Path | None = None,
    pos_embedding: PosEmbedding = "drop",
) -> CLIPIQANet:
    """CLIP-IQA on OpenAI's ``backbone`` (sha256-verified through the weights manager) with ``pairs``."""
    from iqa.features.clip import load_openai_clip

    return CLIPIQANet(load_openai_clip(backbone, clip_weights), pairs, pos_embedding=pos_embedding)


def load_clipiqa_plus(
    release: str, prompts: str | Path | None = None, clip_weights: str | Path | None = None
) -> CLIPIQANet:
    """A CLIP-IQA+ release (a key of :data:`PLUS_RELEASES`): its tower, its prompt file, its position rule.

    ``prompts=None`` resolves the released prompt file through the weights manager; a path is loaded as
    given (e.g. prompts trained with the release's code, in one of its two layouts).
    """
    from iqa.features.clip import load_openai_clip
    from iqa.weights import resolve_weights

    backbone, prompt_id, pos = PLUS_RELEASES[release]
    open_clip_module("clipiqa_plus")  # said before any download
    path = Path(prompts) if prompts is not None else resolve_weights(prompt_id)
    if not path.is_file():
        raise InputError(f"{path}: no such CLIP-IQA+ prompt file")
    net = CLIPIQANet(load_openai_clip(backbone, clip_weights), learned=True, pos_embedding=pos)
    assert net.prompt_learner is not None
    load_prompts(net.prompt_learner, path)
    net.refresh_text()
    return net
