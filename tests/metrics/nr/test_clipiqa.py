"""CLIP-IQA: tokenisation, parity with pyiqa end to end from an image file, the options, the CLI.

OpenAI's CLIP weights are not offline: parity tests build a seeded random state dict in OpenAI's
layout (the keys and shapes of pyiqa's ``clip_model.CLIP``, which are openai/CLIP's), load it into
pyiqa's CLIPIQA through its own ``build_model`` and into ours through open_clip's
``build_model_from_openai_state_dict`` (what :func:`iqa.features.clip.clip_from_openai_archive` runs
on the archive's tensors). Both sides skip the random initialisation that the load overwrites.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import functools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import torch

import iqa
from iqa.errors import InputError, WeightsNotFoundError
from iqa.io.images import read_image
from iqa.models.clipiqa import ATTRIBUTES, PLUS_CLASSES, PYIQA_PAIRS, CLIPIQANet, resize_pos_embedding, tokenize
from tests.helpers.openai_clip import pkg_resources_stub
from tests.helpers.torchscript_archive import save_state_as_torchscript

open_clip = pytest.importorskip("open_clip")

# OpenAI's RN50 and ViT-L/14 (openai/CLIP build_model's arguments for the released archives)
RN50 = {"embed_dim": 1024, "image_resolution": 224, "vision_layers": (3, 4, 6, 3), "vision_width": 64,
        "vision_patch_size": None, "context_length": 77, "vocab_size": 49408, "transformer_width": 512,
        "transformer_heads": 8, "transformer_layers": 12}  # fmt: skip
VIT_L14 = {"embed_dim": 768, "image_resolution": 224, "vision_layers": 24, "vision_width": 1024,
           "vision_patch_size": 14, "context_length": 77, "vocab_size": 49408, "transformer_width": 768,
           "transformer_heads": 12, "transformer_layers": 12}  # fmt: skip


def reference_modules() -> tuple[Any, Any, Any]:
    """pyiqa's clip_model, clipiqa_arch and the openai ``clip`` package they import.

    openai-clip 1.0.1 imports ``pkg_resources.packaging``, gone from recent setuptools: a stand-in
    module holding ``packaging`` lets it import (test time only, and only while importing: sys.modules
    is restored after, so the stub is seen by nothing else).
    """
    pytest.importorskip("pyiqa")
    return _reference_modules()


@functools.cache
def _reference_modules() -> tuple[Any, Any, Any]:
    with pkg_resources_stub():
        import clip
        from pyiqa.archs import clip_model, clipiqa_arch

    return clip_model, clipiqa_arch, clip


@contextlib.contextmanager
def no_init() -> Iterator[None]:
    """Skip torch.nn.init while building a network whose every tensor is then loaded (strictly)."""
    names = ("normal_", "uniform_", "kaiming_uniform_", "xavier_uniform_", "constant_", "zeros_", "ones_",
             "trunc_normal_")  # fmt: skip
    with contextlib.ExitStack() as stack:
        for n in names:
            stack.enter_context(mock.patch.object(torch.nn.init, n, lambda t, *a, **k: t))
        yield


def openai_state(arch: str, seed: int = 0, logit_scale: float = math.log(100.0)) -> dict[str, torch.Tensor]:
    """A seeded random CLIP state dict in OpenAI's layout, float16-representable as OpenAI ships it.

    Weight matrices ~ N(0, 1/fan_in) (activations neither vanish nor explode through the towers),
    norms' scales near 1, biases and BatchNorm statistics small; logit_scale log(100) as released.
    """
    pcm = reference_modules()[0]
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in pcm.CLIP(**(RN50 if arch == "RN50" else VIT_L14)).state_dict().items()}
    g = torch.Generator().manual_seed(seed)
    state = {}
    for k, shape in shapes.items():
        if k.endswith("running_var"):
            t = 0.5 + torch.rand(shape, generator=g)
        elif k.endswith(("running_mean", "bias")):
            t = 0.1 * torch.randn(shape, generator=g)
        elif k.endswith("num_batches_tracked"):
            t = torch.zeros(shape, dtype=torch.long)
        elif len(shape) <= 1:  # LayerNorm / BatchNorm scales and the class embedding
            t = 1 + 0.1 * torch.randn(shape, generator=g)
        else:
            t = torch.randn(shape, generator=g) / math.sqrt(math.prod(shape[1:]))
        state[k] = t.half().float() if t.is_floating_point() else t
    state["logit_scale"] = torch.tensor(logit_scale)
    return state


def our_clip(state: dict[str, torch.Tensor]) -> torch.nn.Module:
    """What clip_from_openai_archive builds from an archive holding ``state``."""
    with no_init():
        return open_clip.model.build_model_from_openai_state_dict(dict(state)).float().eval()


def pyiqa_clipiqa(state: dict[str, torch.Tensor], model_type: str = "clipiqa+", **kw: Any) -> Any:
    """pyiqa's CLIPIQA on ``state`` (its clip_model.load(name, 'cpu') = build_model(state).float())."""
    pcm, arch, _ = reference_modules()
    with no_init():
        tower = pcm.build_model(dict(state)).float()
    with mock.patch.object(arch, "load", lambda name, device: tower):
        return arch.CLIPIQA(model_type=model_type, pretrained=False, **kw).eval()


def two_photos(folder: Path) -> list[Path]:
    """96 x 128 crops of two Set5 photos (woman, baby) saved as PNG."""
    from PIL import Image

    from tests.conftest import shared_path

    files = []
    for name, (top, left) in (("woman", (60, 50)), ("baby", (150, 200))):
        src = Image.open(shared_path("data", "images", "Set5") / f"{name}_GT.bmp").convert("RGB")
        files.append(folder / f"{name}.png")
        src.crop((left, top, left + 128, top + 96)).save(files[-1])
    return files


def rn50_pair() -> tuple[Any, torch.nn.Module]:
    """pyiqa's CLIPIQA (clipiqa+ type: it also holds the fixed-prompt path) and our open_clip tower, one state."""
    state = openai_state("RN50")
    return pyiqa_clipiqa(state), our_clip(state)


@pytest.fixture(scope="module")
def rn50() -> tuple[Any, torch.nn.Module]:
    return rn50_pair()


def test_tokenisation_equals_openai_clip() -> None:
    # Reference: openai-clip 1.0.1's clip.tokenize (what the release and pyiqa call); truncate=True for the
    # over-long prompt (its default raises instead), open_clip truncates the same way, keeping the end token.
    clip = reference_modules()[2]
    template = " ".join(["X"] * 16) + " "
    prompts = [p for pair in (*ATTRIBUTES.values(), *PYIQA_PAIRS) for p in pair]
    prompts += [template + c + "." for c in PLUS_CLASSES]
    prompts += ["", "   ", "naïve café, 日本語の写真 😀", "A  photo\twith &amp; HTML", "word " * 100]
    assert torch.equal(tokenize(prompts), clip.tokenize(prompts, truncate=True).long())  # int64 here, int32 there


@pytest.mark.parametrize(
    ("name", "pairs", "pos"),
    [("clipiqa", [ATTRIBUTES["quality"]], False), ("clipiqa_pyiqa", PYIQA_PAIRS, False), ("clipiqa_pyiqa", PYIQA_PAIRS, True)],
)  # fmt: skip
@torch.no_grad()
def test_parity_with_pyiqa_from_an_image_file(tmp_path: Path, rn50, name: str, pairs, pos: bool) -> None:  # noqa: ANN001
    # Reference: pyiqa's CLIPIQA in its clipiqa mode (model_type "clipiqa": prompt_pairs through the text tower)
    # with the same random RN50; for `clipiqa` its prompt_pairs are the release's "Good photo."/"Bad photo."
    # (what IceClear/CLIP-IQA's CLIPIQAFixed computes), for clipiqa_pyiqa its own five. pos=True: the
    # position table resized to the input (the release's flag); a 96 x 128 input makes 13 tokens, not 50.
    ref, tower = rn50
    _, arch, clip = reference_modules()
    from pyiqa.utils.img_util import imread2tensor

    ref.model_type, ref.pos_embedding = "clipiqa", pos
    ref.prompt_pairs = clip.tokenize([p for pair in pairs for p in pair])
    files = two_photos(tmp_path)
    expected = ref(torch.stack([imread2tensor(str(f), rgb=True) for f in files])).flatten()
    net = CLIPIQANet(tower, pairs, pos_embedding="resize" if pos else "drop")
    ours = iqa.create(name, model=net, pos_embedding="resize" if pos else "drop")(
        torch.stack([read_image(f) for f in files])
    )
    # float32 through ResNet-50 and a 12-layer text tower; the attention pool reads one query here, all of
    # them in pyiqa: measured <= 3e-7 on these scores, 1e-5 leaves room across BLAS builds
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=0)
    assert ((ours > 0.02) & (ours < 0.98)).all()  # not saturated: a wrong logit would show
    assert (ours[0] - ours[1]).abs() > 1e-4  # the two images score differently: the comparison can fail


@torch.no_grad()
def test_attribute_reads_its_pair() -> None:
    # Every released pair in one network (a small tower: the column lookup is what is checked here): the
    # `attribute` option picks the column of its pair, P(first prompt).
    net = CLIPIQANet(our_clip(tiny_state()), list(ATTRIBUTES.values()))
    x = torch.rand(2, 3, 64, 96)
    probs = net(x)
    for i, attribute in enumerate(ATTRIBUTES):
        got = iqa.create("clipiqa", attribute=attribute, model=net)(x)
        torch.testing.assert_close(got, probs[:, i], rtol=0, atol=0)
    assert probs.std(1).min() > 1e-3  # the pairs differ: picking the wrong column would show
    with pytest.raises(InputError, match="attribute must be one of quality, brightness"):
        iqa.create("clipiqa", attribute="warmth", model=net)
    with pytest.raises(InputError, match="no prompt pair"):
        iqa.create("clipiqa_pyiqa", model=net)


def test_position_table_resize() -> None:
    # The release's rule: bicubic over the (token, channel) grid, so each channel is resized along the token
    # index alone; the identity at the native length.
    table = torch.randn(50, 8)
    assert resize_pos_embedding(table, 50) is table
    out = resize_pos_embedding(table, 13)
    col = torch.nn.functional.interpolate(table[:, 3][None, None, :, None], size=(13, 1), mode="bicubic")
    torch.testing.assert_close(out[:, 3], col.flatten())


def tiny_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """A small ModifiedResNet CLIP in OpenAI's layout, float16-representable as OpenAI ships it."""
    torch.manual_seed(seed)
    vision = {"layers": [1, 1, 1, 1], "width": 8, "image_size": 64}
    text = {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 1, "layers": 1}  # OpenAI: width / 64 heads
    model = open_clip.CLIP(embed_dim=32, vision_cfg=vision, text_cfg=text, quick_gelu=True)
    state = {k: v.half().float() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    state["logit_scale"] = torch.tensor(math.log(20.0))  # scores away from 0 and 1
    return state


def tiny_openai_archive(path: Path, seed: int = 0) -> dict[str, torch.Tensor]:
    """:func:`tiny_state` saved as OpenAI ships CLIP (TorchScript, float16 tensors)."""
    state = tiny_state(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_state_as_torchscript({k: v.half() if v.is_floating_point() else v for k, v in state.items()}, path)
    return state


def test_cli_scores_a_folder_with_the_tower_in_iqa_weights_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `iqa score D -m clipiqa` as a user runs it: OpenAI's archive sits in IQA_WEIGHTS_DIR as clip/RN50.pt.
    # A small random archive cannot have OpenAI's sha256, so the manifest entry is pointed at this file's
    # hash: the store's lookup, verification and the archive reading are unchanged.
    from click.testing import CliRunner

    import iqa.weights.store as store
    from iqa.cli.main import cli

    wdir = tmp_path / "weights"
    real = store.get_weight_spec
    spec = real("clip_rn50_openai")
    state = tiny_openai_archive(wdir / spec.filename)
    digest = store.sha256_file(wdir / spec.filename)
    monkeypatch.setattr(store, "get_weight_spec", lambda i: dataclasses.replace(spec, sha256=digest) if i == spec.id else real(i))  # fmt: skip
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(wdir))
    monkeypatch.setenv("IQA_OFFLINE", "1")
    (tmp_path / "img").mkdir()
    files = two_photos(tmp_path / "img")
    r = CliRunner().invoke(cli, ["score", str(tmp_path / "img"), "-m", "clipiqa", "-q"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(r.output.strip().splitlines()))
    assert len(rows) == 2 and not any(row["error"] for row in rows)
    got = {Path(row["file"]).name: float(row["clipiqa"]) for row in rows}
    with torch.no_grad():
        net = CLIPIQANet(our_clip(state), [ATTRIBUTES["quality"]])
        want = net(torch.stack([read_image(f) for f in files]))[:, 0]
    assert got == pytest.approx({"woman.png": want[0].item(), "baby.png": want[1].item()}, abs=1e-4)  # CSV digits
    assert abs(got["woman.png"] - got["baby.png"]) > 3e-4  # measured 5e-4: swapped rows fail the 1e-4 check


def test_absent_tower_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("IQA_OFFLINE", "1")
    with pytest.raises(WeightsNotFoundError, match=r"RN50\.pt"):
        iqa.create("clipiqa")
