"""PickScore's network and tokeniser against transformers (test-time reference), without the 4 GB release.

Key layout: transformers' ``CLIPModel`` built from the laion ViT-H/14 ``config.json`` values (on the
meta device: shapes only). Tokens: transformers 5's ``CLIPTokenizer`` (the laion repo's tokenizer
class) made from the CLIP BPE tables (the laion repo's ``vocab.json``/``merges.txt`` are the standard
CLIP BPE; built here from open_clip's copy, as the files are not available offline). The end-to-end
parity on ViT-H/14 itself: tests/metrics/text/test_pickscore.py.
"""

from __future__ import annotations

import pytest
import torch

from iqa.errors import WeightsError
from iqa.models.pickscore import CLIPConfig, PickScoreCLIP, build_pickscore, config_from_state, token_counts, tokenize

transformers = pytest.importorskip("transformers")
open_clip_tokenizer = pytest.importorskip("open_clip.tokenizer")

# laion/CLIP-ViT-H-14-laion2B-s32B-b79K config.json (PickScore_v1's is the same architecture)
LAION_TEXT = {"hidden_size": 1024, "intermediate_size": 4096, "num_attention_heads": 16, "num_hidden_layers": 24,
              "hidden_act": "gelu", "max_position_embeddings": 77, "vocab_size": 49408, "layer_norm_eps": 1e-5,
              "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1}  # fmt: skip
LAION_VISION = {"hidden_size": 1280, "intermediate_size": 5120, "num_attention_heads": 16, "num_hidden_layers": 32,
                "patch_size": 14, "image_size": 224, "hidden_act": "gelu", "layer_norm_eps": 1e-5}  # fmt: skip

PROMPTS = [
    "a dog on the grass",
    "",  # empty
    "Ünïcödé café — naïve 東京の夜 🐶 &amp; friends",  # unicode; an HTML entity transformers keeps as written
    "\u201ccurly quotes\u201d and the \ufb01 ligature, ＦＵＬＬＷＩＤＴＨ",  # ftfy would rewrite these; transformers does not
    "cafe\u0301 (NFD) vs café (NFC)",  # NFC makes both one token sequence
    "  several   spaces\tand\na newline  ",
    "ΣΊΣΥΦΟΣ and İstanbul",  # case mapping beyond ASCII (final sigma, dotted capital I)
    "word " * 100,  # 102 tokens: truncated
    "x" * 400,  # one long word: many BPE tokens
    "a " * 74 + "b",  # 75 words + start/end = 77 tokens: exactly the context
    "a " * 75 + "b",  # 78 tokens: truncated by one
]


def hf_config() -> object:
    return transformers.CLIPConfig(text_config=LAION_TEXT, vision_config=LAION_VISION, projection_dim=1024)


@pytest.fixture(scope="module")
def hf_tokenizer() -> object:
    return make_hf_tokenizer()


def make_hf_tokenizer() -> object:
    """transformers' CLIPTokenizer on the CLIP BPE tables (open_clip's copy, special tokens named as HF names them)."""
    simple = open_clip_tokenizer.SimpleTokenizer()
    names = {"<start_of_text>": "<|startoftext|>", "<end_of_text>": "<|endoftext|>"}
    vocab = {names.get(k, k): v for k, v in simple.encoder.items()}
    merges = [m for m, _ in sorted(simple.bpe_ranks.items(), key=lambda kv: kv[1])]  # merges.txt, in rank order
    return transformers.CLIPTokenizer(vocab=vocab, merges=merges)


def test_key_layout_is_transformers_clipmodel() -> None:
    """Every key and shape of transformers' CLIPModel (laion ViT-H/14 config), so the release loads strictly."""
    with torch.device("meta"):
        ref = transformers.CLIPModel(hf_config())
        ours = PickScoreCLIP()
    want = {k: tuple(v.shape) for k, v in ref.state_dict().items() if not k.endswith("position_ids")}
    got = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    assert got == want
    assert len(got) == 910 and sum(torch.Size(s).numel() for s in got.values()) == 986_109_441  # ViT-H/14: ~1B
    assert config_from_state(ours.state_dict()) == CLIPConfig()  # the sizes read back from the shapes


def test_tokenisation_equals_transformers(hf_tokenizer) -> None:  # noqa: ANN001
    """The README's ``processor(text=..., padding=True, truncation=True, max_length=77)`` ids, up to the end token."""
    want = hf_tokenizer(PROMPTS, padding="max_length", truncation=True, max_length=77, return_tensors="pt")
    got = tokenize(PROMPTS)
    for i, p in enumerate(PROMPTS):
        n = int(want["attention_mask"][i].sum())
        assert got[i, :n].tolist() == want["input_ids"][i, :n].tolist(), p
        assert (got[i, n:] == 0).all()  # our padding is zeros; never read (causal tower, first end token pooled)
    full = [len(hf_tokenizer(p)["input_ids"]) for p in PROMPTS]
    assert token_counts(PROMPTS) == full
    assert [p for p, c in zip(PROMPTS, full) if c > 77] == ["word " * 100, "x" * 400, "a " * 75 + "b"]
    assert full[PROMPTS.index("a " * 74 + "b")] == 77 and full[PROMPTS.index("a " * 75 + "b")] == 78


def test_cleaning_is_not_open_clips(hf_tokenizer) -> None:  # noqa: ANN001
    """Why PickScore has its own cleaning: OpenAI's/open_clip's (ftfy + html.unescape) tokenises these otherwise."""
    simple = open_clip_tokenizer.SimpleTokenizer()
    for p in ("\u201ccurly quotes\u201d", "fish &amp; chips"):
        want = hf_tokenizer(p)["input_ids"]
        assert tokenize([p])[0, : len(want)].tolist() == want
        assert tokenize([p])[0].tolist() != simple([p])[0].tolist()


def test_small_network_equals_transformers() -> None:
    """A reduced network in the same layout (read off the shapes) computes transformers' features (2 layers)."""
    cfg = transformers.CLIPConfig(
        text_config={**LAION_TEXT, "hidden_size": 64, "intermediate_size": 256, "num_attention_heads": 1,
                     "num_hidden_layers": 2},
        vision_config={**LAION_VISION, "hidden_size": 160, "intermediate_size": 640, "num_attention_heads": 2,
                       "num_hidden_layers": 2, "patch_size": 16, "image_size": 64},
        projection_dim=32,
    )  # fmt: skip
    torch.manual_seed(0)
    ref = transformers.CLIPModel(cfg).eval()
    state = {k: v.clone() for k, v in ref.state_dict().items()}
    state["text_model.embeddings.position_ids"] = torch.arange(77)[None]  # as older transformers saved it
    ours = build_pickscore(state)
    assert ours.cfg.vision_heads == 2 and ours.cfg.text_heads == 1 and ours.image_size == 64
    ids, px = tokenize(["a red car", "", "word " * 100]), torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        want_img = ref.get_image_features(pixel_values=px)
        want_txt = ref.get_text_features(input_ids=ids)
        want_img = getattr(want_img, "pooler_output", want_img)
        want_txt = getattr(want_txt, "pooler_output", want_txt)
        assert want_img.abs().max() > 0.1 and want_txt.abs().max() > 0.1  # not a vacuous comparison
        torch.testing.assert_close(ours.encode_image(px), want_img, rtol=1e-5, atol=1e-5)  # float32 order
        torch.testing.assert_close(ours.encode_text(ids), want_txt, rtol=1e-5, atol=1e-5)


def test_wrong_layout_is_refused() -> None:
    state = PickScoreCLIP(CLIPConfig(vision_width=80, vision_layers=1, vision_mlp=32, text_width=64, text_layers=1,
                                     text_mlp=32, embed_dim=16)).state_dict()  # fmt: skip
    with pytest.raises(WeightsError, match="transformers CLIPModel"):
        build_pickscore({k.replace("text_model.", "text."): v for k, v in state.items()})
    del state["text_model.final_layer_norm.bias"]
    with pytest.raises(WeightsError, match="final_layer_norm.bias"):
        build_pickscore(state)
