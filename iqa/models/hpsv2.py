"""HPSv2's network: open_clip's CLIP ViT-H/14 with the released HPS v2.0 / v2.1 weights, and its input path.

Paper: Wu, Hao, Sun, Chen, Zhu, Zhao and Li, "Human Preference Score v2: A Solid Benchmark for
Evaluating Human Preferences of Text-to-Image Synthesis", arXiv 2306.09341 (2023). Reference
implementation: github.com/tgxs002/HPSv2 (PyPI ``hpsv2`` 1.2.0, ``hpsv2/img_score.py``: ``score``),
which vendors open_clip (``hpsv2/src/open_clip``) and builds ``create_model_and_transforms('ViT-H-14',
..., light_augmentation=True)``. Released weights (Hugging Face ``xswu/HPSv2``):
``HPS_v2_compressed.pt`` (v2.0, the package's default) and ``HPS_v2.1_compressed.pt``, each
``{"state_dict": <open_clip CLIP state dict>}``, loaded strictly as released.

The architecture is open_clip's ``ViT-H-14`` (exact GELU, 224 px, 1024-d embeddings): the vendored
copy's state dict has the same 686 keys and shapes as open_clip 3.x's (tests/models/test_hpsv2.py),
so open_clip (``iqa[clip]``) builds it. Score: ``image_features @ text_features.T`` of the
L2-normalised features, the diagonal: a plain cosine in [-1, 1] (no ``logit_scale``); released-model
scores of generated images sit around 0.2-0.3.

Input path (:func:`letterbox`): the release's ``preprocess_val`` is ``ToTensor`` then ``ResizeMaxSize(224,
fill=0)`` (the *longest* side to 224, ``round`` for the other, torchvision bicubic with antialias on
the float tensor, then zero padding to a square, ``pad // 2`` before) and CLIP's mean/std, so the pad
is black before normalisation. An image whose longest side is already 224 is neither resized nor
padded (the release's ``scale != 1.0`` test). Tokens: open_clip's ``SimpleTokenizer`` (the vendored
one is the same; checked on long, unicode and empty prompts), 77 tokens, a longer prompt keeps its
first 76 and ends with the end token. The release runs under CUDA autocast (fp16) on a GPU and in
float32 on a CPU; iqa computes in float32 (the weights' dtype) everywhere.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F

from iqa.errors import InputError, WeightsError
from iqa.features.clip import open_clip_module
from iqa.features.clip_forward import image_embedding, text_embedding

Version = Literal["v2.0", "v2.1"]
RELEASES: dict[str, tuple[str, str]] = {  # version -> (manifest id, released file name)
    "v2.0": ("hpsv2_v2.0", "HPS_v2_compressed.pt"),
    "v2.1": ("hpsv2_v2.1", "HPS_v2.1_compressed.pt"),
}
IMAGE_SIZE = 224
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)  # open_clip OPENAI_DATASET_MEAN (the release's default)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _layers(state: dict[str, torch.Tensor], prefix: str) -> int:
    return len({k[len(prefix) :].split(".", 1)[0] for k in state if k.startswith(prefix)})


def config_from_state(state: dict[str, torch.Tensor]) -> dict[str, Any]:
    """open_clip ``CLIP`` arguments read off an open_clip state dict's shapes (ViT-H-14's for the release).

    Heads follow from the widths at the release's head widths (80 in the image tower, 64 in the text
    tower: ViT-H-14's 16 and 16), so a reduced file in the same layout builds too (tests, stand-ins).
    """
    try:
        conv, pos = state["visual.conv1.weight"], state["visual.positional_embedding"]
        width, patch = conv.shape[0], conv.shape[-1]
        text_width = state["token_embedding.weight"].shape[1]
        vision = {"image_size": patch * round((pos.shape[0] - 1) ** 0.5), "layers": _layers(state, "visual.transformer.resblocks."),
                  "width": width, "head_width": 80, "patch_size": patch,
                  "mlp_ratio": state["visual.transformer.resblocks.0.mlp.c_fc.weight"].shape[0] / width}  # fmt: skip
        text = {"context_length": state["positional_embedding"].shape[0], "vocab_size": state["token_embedding.weight"].shape[0],
                "width": text_width, "heads": max(1, text_width // 64), "layers": _layers(state, "transformer.resblocks."),
                "mlp_ratio": state["transformer.resblocks.0.mlp.c_fc.weight"].shape[0] / text_width}  # fmt: skip
        return {"embed_dim": state["visual.proj"].shape[1], "vision_cfg": vision, "text_cfg": text}
    except KeyError as e:
        raise WeightsError(f"not HPSv2's released layout (an open_clip ViT CLIP state dict): no {e}") from e


def build_hpsv2(state: dict[str, torch.Tensor] | None = None) -> torch.nn.Module:
    """open_clip's ``ViT-H-14`` (random init) or, given ``state``, the CLIP of its shapes with it loaded strictly.

    With a state dict the model is built on the meta device and takes the tensors (cast to float32), so
    the 4 GB release is not held twice; the causal mask (a non-persistent buffer) is then rebuilt.
    """
    oc = open_clip_module("hpsv2")
    if state is None:
        return oc.create_model("ViT-H-14", pretrained=None).eval()
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in state.items()}
    with torch.device("meta"):
        model = oc.CLIP(**config_from_state(state), quick_gelu=False)  # exact GELU, as ViT-H-14
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as e:
        raise WeightsError(f"not HPSv2's released layout (open_clip ViT-H-14 state dict): {e}") from e
    n = int(model.context_length)
    model.attn_mask = torch.full((n, n), float("-inf")).triu_(1)  # open_clip's build_causal_mask
    return model.eval()


def read_release(path: str | Path) -> dict[str, torch.Tensor]:
    """The state dict of a released ``HPS_v2*_compressed.pt`` (``{"state_dict": ...}``) or a bare one."""
    try:  # mmap: the tensors are read as the model takes them, not copied first
        ckpt = torch.load(Path(path), map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError:  # a file in torch's legacy (non-zip) format cannot be mapped
        ckpt = torch.load(Path(path), map_location="cpu", weights_only=True)
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise WeightsError(f"{path}: expected HPSv2's checkpoint ({{'state_dict': ...}}), got {type(ckpt).__name__}")
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_hpsv2(version: Version = "v2.0", weights: str | Path | None = None) -> torch.nn.Module:
    """HPS ``version`` from ``weights`` (a file) or its manifest entry."""
    from iqa.weights import resolve_weights

    if version not in RELEASES:
        raise InputError(f"HPSv2 version must be one of {sorted(RELEASES)}, got {version!r}")
    open_clip_module("hpsv2")  # said before a 4 GB download
    return build_hpsv2(read_release(resolve_weights(RELEASES[version][0], weights)))


def letterbox(x: torch.Tensor, size: int = IMAGE_SIZE) -> torch.Tensor:
    """The release's ``ResizeMaxSize(size, fill=0)`` + normalisation: (N, 3, H, W) in [0, 1] -> CLIP-normalised.

    Every image of a batch has the same H, W, so one resize serves all (per image it is the same).
    """
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    h, w = x.shape[-2:]
    scale = size / float(max(h, w))
    if scale != 1.0:
        new = [round(h * scale), round(w * scale)]
        x = TF.resize(x, new, interpolation=InterpolationMode.BICUBIC, antialias=True)
        ph, pw = size - new[0], size - new[1]
        x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), value=0.0)
    mean = torch.tensor(CLIP_MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean) / std


@functools.cache
def _tokenizer() -> Any:
    return open_clip_module("hpsv2").tokenizer.SimpleTokenizer()


def token_counts(texts: Sequence[str]) -> list[int]:
    """Tokens each prompt takes before truncation, start and end tokens included."""
    tok = _tokenizer()
    return [len(tok.encode(t)) + 2 for t in texts]


def tokenize(texts: Sequence[str], context_length: int = 77) -> torch.Tensor:
    """(N, context_length) ids as the release's ``get_tokenizer('ViT-H-14')``: zero-padded; a longer prompt
    keeps its first ``context_length - 1`` tokens and its last becomes the end token.
    """
    tok = _tokenizer()
    out = torch.zeros(len(texts), context_length, dtype=torch.long)
    for i, t in enumerate(texts):
        ids = [tok.sot_token_id, *tok.encode(t), tok.eot_token_id]
        if len(ids) > context_length:
            ids = ids[:context_length]
            ids[-1] = tok.eot_token_id
        out[i, : len(ids)] = torch.tensor(ids)
    return out


def hpsv2_scores(model: Any, pixels: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """``cos(image_i, text_i)`` per pair, (N,), float32: the diagonal of the release's ``image_features @ text_features.T``."""
    # = encode_image / encode_text without the work the score never reads (iqa.features.clip_forward)
    e_img = F.normalize(image_embedding(model.visual, pixels).float(), dim=-1)
    e_txt = F.normalize(text_embedding(model, ids).float(), dim=-1)
    return (e_img * e_txt).sum(-1)
