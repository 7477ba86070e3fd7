"""transformers' CLIP (the model torchmetrics' CLIPScore runs) holding an OpenAI-layout state dict, for tests.

The key map is the one of transformers' ``convert_clip_original_pytorch_to_hf.py`` (in_proj split into
q/k/v, projections transposed); the tokenizer files are OpenAI's BPE (open_clip's copy) written as
the ``vocab.json`` / ``merges.txt`` of the openai/clip-* repositories. Nothing is downloaded.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any


def hf_clip_from_openai(
    state: dict, *, width_t, heads_t, layers_t, width_v, heads_v, layers_v, patch, size, embed
) -> Any:  # noqa: ANN001
    """transformers' CLIPModel holding an OpenAI-layout state dict (the layout HF's conversion script maps)."""
    from transformers import CLIPConfig, CLIPModel

    cfg = CLIPConfig(
        text_config=dict(
            vocab_size=49408,
            hidden_size=width_t,
            intermediate_size=4 * width_t,
            num_attention_heads=heads_t,
            num_hidden_layers=layers_t,
            max_position_embeddings=77,
            hidden_act="quick_gelu",
            eos_token_id=2,
        ),
        vision_config=dict(
            hidden_size=width_v,
            intermediate_size=4 * width_v,
            num_attention_heads=heads_v,
            num_hidden_layers=layers_v,
            image_size=size,
            patch_size=patch,
            hidden_act="quick_gelu",
        ),
        projection_dim=embed,
    )
    out = {
        "logit_scale": state["logit_scale"],
        "text_projection.weight": state["text_projection"].T,
        "visual_projection.weight": state["visual.proj"].T,
        "text_model.embeddings.token_embedding.weight": state["token_embedding.weight"],
        "text_model.embeddings.position_embedding.weight": state["positional_embedding"],
        "text_model.final_layer_norm.weight": state["ln_final.weight"],
        "text_model.final_layer_norm.bias": state["ln_final.bias"],
        "vision_model.embeddings.class_embedding": state["visual.class_embedding"],
        "vision_model.embeddings.patch_embedding.weight": state["visual.conv1.weight"],
        "vision_model.embeddings.position_embedding.weight": state["visual.positional_embedding"],
    }
    for ours, theirs in (
        ("visual.ln_pre", "vision_model.pre_layrnorm"),
        ("visual.ln_post", "vision_model.post_layernorm"),
    ):
        out[f"{theirs}.weight"], out[f"{theirs}.bias"] = state[f"{ours}.weight"], state[f"{ours}.bias"]
    for src, dst, n in (("transformer", "text_model", layers_t), ("visual.transformer", "vision_model", layers_v)):
        for i in range(n):
            a, b = f"{src}.resblocks.{i}", f"{dst}.encoder.layers.{i}"
            for p in ("weight", "bias"):
                q, k, v = state[f"{a}.attn.in_proj_{p}"].chunk(3)
                out.update(
                    {
                        f"{b}.self_attn.q_proj.{p}": q,
                        f"{b}.self_attn.k_proj.{p}": k,
                        f"{b}.self_attn.v_proj.{p}": v,
                        f"{b}.self_attn.out_proj.{p}": state[f"{a}.attn.out_proj.{p}"],
                        f"{b}.layer_norm1.{p}": state[f"{a}.ln_1.{p}"],
                        f"{b}.layer_norm2.{p}": state[f"{a}.ln_2.{p}"],
                        f"{b}.mlp.fc1.{p}": state[f"{a}.mlp.c_fc.{p}"],
                        f"{b}.mlp.fc2.{p}": state[f"{a}.mlp.c_proj.{p}"],
                    }
                )
    model = CLIPModel(cfg).eval()
    missing, unexpected = model.load_state_dict({k: v.float() for k, v in out.items()}, strict=False)
    assert not missing and not unexpected, (missing, unexpected)  # every key of both layouts mapped
    return model


def hf_tokenizer(folder: Path) -> Any:
    """transformers' CLIPTokenizer on OpenAI's BPE (open_clip's copy): the vocab.json / merges.txt of the openai/clip-* repos."""
    import open_clip.tokenizer as T
    from transformers import CLIPTokenizer

    tok = T.SimpleTokenizer()
    vocab = {
        ("<|startoftext|>" if k == "<start_of_text>" else "<|endoftext|>" if k == "<end_of_text>" else k): v
        for k, v in tok.encoder.items()
    }
    merges = gzip.open(T.default_bpe()).read().decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), pad_token="<|endoftext|>")


class PooledFeatures:
    """torchmetrics 1.9 expects ``get_*_features`` to return tensors; transformers 5 returns an output
    object whose ``pooler_output`` is that tensor (the projected embedding). Everything else passes through."""

    def __init__(self, model: Any) -> None:
        self.model, self.config = model, model.config

    def to(self, device: Any) -> PooledFeatures:
        self.model.to(device)
        return self

    def get_image_features(self, *args: Any, **kwargs: Any) -> Any:
        return self.model.get_image_features(*args, **kwargs).pooler_output

    def get_text_features(self, *args: Any, **kwargs: Any) -> Any:
        return self.model.get_text_features(*args, **kwargs).pooler_output
