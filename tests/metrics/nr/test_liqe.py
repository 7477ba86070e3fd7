"""LIQE: released key layout, prompts and tokens, parity with pyiqa end to end, patch picks, weights, CLI.

The released files are not offline: the parity tests load one seeded random state dict in the
released layout (pyiqa's LIQE built with pretrained=False, its CLIP built without OpenAI's download)
into our network and pyiqa's. The released CLIP ViT-B/32 costs ~4.4 GFLOP per 224 px patch, so the
test images are small (6 patches); the 495 multitask prompts are encoded on our side only (pyiqa
encodes all 77 positions: ~3 TFLOP), and the text towers are compared on one prompt per level.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import iqa
from iqa.cli.main import cli
from iqa.errors import InputError, WeightsNotFoundError
from iqa.io.images import read_image
from iqa.metrics.nr.liqe import patch_corners
from iqa.models.liqe import LIQENet, clip_vit_b32, load_liqe, prompts, tokenize
from tests.conftest import shared_path
from tests.helpers.openai_clip import import_openai_clip

VIT_B32 = (512, 224, 12, 768, 32, 77, 49408, 512, 8, 12)  # pyiqa clip_model.CLIP args of OpenAI's ViT-B/32


def _crop_file(folder: Path, name: str, top: int, left: int, size: tuple[int, int], photo: str = "baboon") -> Path:
    """A crop of a real photo (Set14, 480x500) saved as PNG: both sides read this file."""
    src = np.asarray(Image.open(shared_path("data", "images", "Set14") / f"{photo}.bmp").convert("RGB"))
    folder.mkdir(exist_ok=True)
    path = folder / name
    Image.fromarray(src[top : top + size[0], left : left + size[1]]).save(path)
    return path


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    """A seeded random state dict in the released layout (pyiqa's LIQE keys: ``clip_model.`` + OpenAI CLIP).

    Floats N(0, 0.02), LayerNorm scales 1, and the released temperature (logit_scale = log 100) so the
    softmax over the prompts is far from uniform and the scores spread over the 1-5 scale.
    """
    with torch.device("meta"):
        layout = clip_vit_b32().state_dict()
    g = torch.Generator().manual_seed(0)
    out = {f"clip_model.{k}": 0.02 * torch.randn(v.shape, generator=g) for k, v in layout.items()}
    out |= {k: torch.ones_like(v) for k, v in out.items() if "ln_" in k and k.endswith("weight")}
    out["clip_model.logit_scale"] = torch.tensor(float(np.log(100.0)))
    return out


@pytest.fixture(scope="module")
def pyiqa_liqe(tmp_path_factory: pytest.TempPathFactory, state: dict[str, torch.Tensor]) -> Iterator[Any]:
    """pyiqa's liqe_arch module, patched to run offline: its CLIP loader (OpenAI's download) returns the
    ViT-B/32 architecture holding ``state``, so the prompts are encoded at construction by pyiqa's own
    code from that state; its text-feature cache lives in a temporary folder (never the user's)."""
    import_openai_clip()
    la = pytest.importorskip("pyiqa.archs.liqe_arch")
    from pyiqa.archs import clip_model

    def load(name: str, device: str) -> torch.nn.Module:
        with torch.device("meta"):  # no 151M-parameter random init: the state is assigned
            m = clip_model.CLIP(*VIT_B32)
        m.load_state_dict({k.removeprefix("clip_model."): v for k, v in state.items()}, assign=True)
        for block in m.transformer.resblocks:  # the causal mask is a plain attribute, built on meta above
            block.attn_mask = m.build_attention_mask()
        return m

    cache = tmp_path_factory.mktemp("pyiqa_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(la, "load", load)
        mp.setattr(la, "DEFAULT_CACHE_DIR", str(cache))
        yield la


@pytest.fixture(scope="module")
def ref_koniq(pyiqa_liqe: Any) -> Any:
    """pyiqa's LIQE as its 'liqe' runs (5 quality prompts), holding ``state``; text features its own."""
    (Path(pyiqa_liqe.DEFAULT_CACHE_DIR) / "liqe_text_feat.pt").unlink(missing_ok=True)  # encode, never reuse
    return pyiqa_liqe.LIQE(pretrained=False).eval()


def _ours(variant: str, state: dict[str, torch.Tensor]) -> LIQENet:
    with torch.device("meta"):
        net = LIQENet(variant)  # type: ignore[arg-type]
    net.load_state_dict(state, strict=True, assign=True)  # shared with the reference: both only read them
    net.clip_model.attn_mask = torch.full((77, 77), float("-inf")).triu_(1)
    net.text_features = torch.empty(0)
    return net.eval()


def test_released_key_layout(ref_koniq: Any) -> None:
    # Reference: pyiqa's LIQE(pretrained=False) state dict: the released files hold exactly these keys
    # under "params" (pyiqa loads them strictly with weight_keys="params"); ours must be the same keys
    # and shapes (302 tensors, 151M parameters: OpenAI's CLIP ViT-B/32 under "clip_model.").
    ref = ref_koniq.state_dict()
    with torch.device("meta"):
        ours = LIQENet("mix").state_dict()
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in ref.items()}
    assert len(ours) == 302 and sum(v.numel() for v in ours.values()) == 151_277_313


@torch.no_grad()
def test_tokens_equal_openai_clip() -> None:
    # Reference: openai/CLIP clip.tokenize (what the authors and pyiqa call): every released prompt of both
    # variants, plus unicode, empty and over-long texts (truncate=True: clip.tokenize raises otherwise;
    # both keep the end token in the last slot).
    clip = import_openai_clip()
    texts = prompts("koniq") + prompts("mix") + ["", "  ", "naïve café — 画像の品質 🙂", "bad " * 100]
    assert torch.equal(tokenize(texts), clip.tokenize(texts, truncate=True).long())
    assert (
        len(prompts("mix")) == 495
        and prompts("mix")[0] == "a photo of a animal with jpeg2000 compression artifacts, which is of bad quality"
    )
    assert prompts("mix")[-1] == "a photo of a others with other artifacts, which is of perfect quality"
    assert prompts("koniq") == [f"a photo with {q} quality" for q in ("bad", "poor", "fair", "good", "perfect")]


@torch.no_grad()
def test_text_tower_stops_at_the_end_token_with_the_same_embeddings(ref_koniq: Any, state: dict) -> None:
    # Reference: pyiqa's CLIP.encode_text (OpenAI's model.py) over all 77 positions, one mix prompt per
    # quality level (different scenes and distortions). Ours stops after the longest prompt's end token
    # (causal mask: later positions cannot reach it). Tolerance 2e-5 relative: float32, another op order.
    texts = [prompts("mix")[i] for i in (0, 111, 222, 333, 494)]
    clip = import_openai_clip()
    want = ref_koniq.clip_model.encode_text(clip.tokenize(texts))
    got = _ours("mix", state).encode_text(tokenize(texts))
    torch.testing.assert_close(got, want, rtol=2e-5, atol=2e-5 * float(want.abs().max()))


@torch.no_grad()
def test_parity_with_pyiqa_from_an_image_file(ref_koniq: Any, state: dict, tmp_path: Path) -> None:
    # Reference: pyiqa's LIQE (liqe_arch.py, pyiqa's default 'liqe': 5 quality prompts), eval mode, with the
    # same seeded random state dict; its text features encoded at construction by its own code. Each side
    # reads the same 256x288 PNG (baboon crop) and runs its own input path: CLIP normalisation, the stride-32
    # grid of 224 px patches (2 x 3 = 6 < 15: all kept), patch-averaged logits, softmax, expected level.
    # Tolerance 1e-5 (measured ~1e-6): float32 rounding of another attention path (open_clip's batch-first
    # vs OpenAI's sequence-first), amplified by the temperature 100 in the logits.
    from pyiqa.utils.img_util import imread2tensor

    ref = ref_koniq
    ours = _ours("koniq", state)
    ours.refresh_text_features()

    path = _crop_file(tmp_path, "a.png", 100, 120, (256, 288))
    want = ref(imread2tensor(str(path), rgb=True)[None]).view(1)
    got = iqa.create("liqe", model=ours)(read_image(path)[None])
    assert 1.5 < float(want) < 4.5  # a spread softmax: the test would pass vacuously at a uniform 3.0
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)


@torch.no_grad()
def test_multitask_readout_matches_pyiqa(pyiqa_liqe: Any, ref_koniq: Any, state: dict, tmp_path: Path) -> None:
    # Reference: pyiqa's LIQE with mtl=True (its 'liqe_mix' path: softmax over the 495 joint prompts, the
    # quality marginal over scenes and distortions in product(quality, scene, distortion) order). Both
    # get the same 495 text features (random unit rows, seeded: pyiqa would take ~3 TFLOP to encode them;
    # the prompts and tokens and the text tower are checked above). Same image path; tolerance as above.
    from pyiqa.utils.img_util import imread2tensor

    torch.save(torch.zeros(495, 512), Path(pyiqa_liqe.DEFAULT_CACHE_DIR) / "liqe_text_feat.pt")  # skips its encode
    ref = pyiqa_liqe.LIQE(pretrained=False, mtl=True).eval()  # after ref_koniq: it would read that cache
    t = torch.randn(495, 512, generator=torch.Generator().manual_seed(1))
    ref.text_features = t / t.norm(dim=1, keepdim=True)
    ours = _ours("mix", state)
    ours.text_features = ref.text_features.clone()

    path = _crop_file(tmp_path, "b.png", 200, 150, (256, 224), photo="lenna")  # 2 patches
    want = ref(imread2tensor(str(path), rgb=True)[None]).view(1)
    m = iqa.create("liqe_mix", model=ours)
    x = read_image(path)[None]
    got = m(x)
    assert 1.5 < float(want) < 4.5
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    d = m.details(x)  # the authors' LIQE.py marginals: scene sums over quality and distortion, and so on
    assert torch.equal(d["quality"], got) and d["scene"].shape == (1, 9) and d["distortion"].shape == (1, 11)
    (
        torch.testing.assert_close(d["scene"].sum(1), torch.ones(1)),
        torch.testing.assert_close(d["distortion"].sum(1), torch.ones(1)),
    )


@pytest.mark.parametrize("size", [(300, 420), (400, 600), (224, 250)])
def test_patch_picks_are_pyiqas(size: tuple[int, int]) -> None:
    # Reference: pyiqa's LIQE.forward in eval mode (= the authors' ImageDataset2.py test protocol): unfold
    # into every 224 px patch at stride 32 (raster order), keep min(15, n) every max(1, n // 15)-th.
    # 300x420: 21 patches, the first 15; 400x600: 72, every 4th; 224x250: 1 patch.
    x = torch.arange(size[0] * size[1], dtype=torch.float32).view(1, 1, *size)  # pixel ids: a crop names its place
    patches = x.unfold(2, 224, 32).unfold(3, 224, 32).reshape(1, -1, 224, 224)
    n = min(15, patches.shape[1])
    sel_step = max(1, patches.shape[1] // n)
    want = patches[0, [sel_step * i for i in range(n)], 0, 0]
    got = torch.tensor([x[0, 0, t, u] for t, u in patch_corners(*size)])
    assert torch.equal(got, want)


def _small(variant: str) -> LIQENet:
    torch.manual_seed(0)
    sizes = {"layers": 1, "width": 64, "heads_v": 1, "text_layers": 1, "text_width": 64, "text_heads": 1}
    net = LIQENet(variant, clip_vit_b32(**sizes, embed_dim=32))  # type: ignore[arg-type]
    net.refresh_text_features()
    return net.eval()


@torch.no_grad()
def test_batch_and_options() -> None:
    # A batch scores each image as alone; fewer patches or another stride changes the score; the
    # variant of a given model is checked; too small an image is a clear error (the release asserts).
    net, x = _small("koniq"), torch.rand(3, 3, 240, 260, generator=torch.Generator().manual_seed(2))
    m = iqa.create("liqe", model=net)
    whole = m(x)
    torch.testing.assert_close(torch.cat([m(x[i : i + 1]) for i in range(3)]), whole, atol=1e-6, rtol=1e-6)
    assert not torch.allclose(iqa.create("liqe", model=net, num_patches=1)(x), whole)
    with pytest.raises(InputError, match="mix prompts.*liqe_mix"):
        iqa.create("liqe", model=_small("mix"))
    with pytest.raises(InputError, match="at least"):
        m(x[..., :200, :])


def test_missing_weights_are_clear_errors() -> None:
    # offline (conftest sets IQA_OFFLINE): the error names the released file
    with pytest.raises(WeightsNotFoundError, match="liqe_mix.pt"):
        iqa.create("liqe_mix")
    with pytest.raises(WeightsNotFoundError, match="liqe_koniq.pt"):
        iqa.create("liqe")
    assert iqa.get_spec("liqe").weights == ("liqe_koniq",)


def _compact_release_file(path: Path, bare: bool = False) -> None:
    """A file in the released layout (every key and shape of pyiqa's ``{"params": ...}``; ``bare``: the
    authors' LIQE.pt, the CLIP state dict alone) whose tensors are views of one small random storage
    (~0.3 MB on disk instead of 605 MB). The token embedding repeats one row, so the five koniq prompts
    (all 7 tokens long) embed identically: the softmax is uniform and every image scores 3.0 whatever
    the image tower computes."""
    with torch.device("meta"):
        layout = LIQENet("koniq").clip_model.state_dict()
    base = torch.randn(1 << 16, generator=torch.Generator().manual_seed(0)) * 0.02
    state = {k: base.as_strided(v.shape, (1,) * v.dim(), 7 * i) for i, (k, v) in enumerate(layout.items())}
    state["token_embedding.weight"] = base.as_strided((49408, 512), (0, 1))
    torch.save(state if bare else {"params": {f"clip_model.{k}": v for k, v in state.items()}}, path)


def test_cli_scores_with_weights_in_iqa_weights_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `iqa score D -m liqe` as a user runs it: the file sits in IQA_WEIGHTS_DIR under its released name
    # (upstream publishes no hash: the store records it on first use). Two images of 224x256 and 240x224
    # (2 and 1 patches); the prompt embeddings are equal (see _compact_release_file), so both score 3.0.
    wdir = tmp_path / "weights"
    wdir.mkdir()
    _compact_release_file(wdir / "liqe_koniq.pt")
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(wdir))
    _crop_file(tmp_path / "img", "a.png", 0, 0, (224, 256))
    _crop_file(tmp_path / "img", "b.png", 100, 50, (240, 224))
    r = CliRunner().invoke(cli, ["score", str(tmp_path / "img"), "-m", "liqe", "-q"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.output)))
    assert [row["file"] for row in rows] == ["a.png", "b.png"]
    assert [float(row["liqe"]) for row in rows] == pytest.approx([3.0, 3.0], abs=1e-5)
    assert (wdir / "liqe_koniq.pt.sha256").is_file()  # no published hash: the digest was recorded on first use


def test_authors_bare_file_loads_and_prompts_are_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The authors' LIQE.pt (Google Drive) is the bare CLIP state dict: read as released, strictly. The
    # prompts' embeddings are kept in the cache (conftest's IQA_CACHE_DIR) under the file's sha256: a
    # second load reads them instead of encoding.
    _compact_release_file(tmp_path / "LIQE.pt", bare=True)
    net = load_liqe("koniq", tmp_path / "LIQE.pt")
    assert net.text_features.shape == (5, 512)
    assert torch.allclose(net.text_features, net.text_features[:1].expand(5, -1))

    def no_encoding(self: LIQENet) -> None:
        raise AssertionError("encoded again")

    monkeypatch.setattr(LIQENet, "refresh_text_features", no_encoding)
    assert torch.equal(load_liqe("koniq", tmp_path / "LIQE.pt").text_features, net.text_features)
