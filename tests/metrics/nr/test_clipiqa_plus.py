"""CLIP-IQA+: the prompt files' layouts, parity with pyiqa end to end from an image file per release.

The towers are seeded random state dicts in OpenAI's layout (see test_clipiqa.py); the prompt files are
random too, written in each release's layout: a bare context tensor (CLIP-IQA+_learned_prompts) and
``{"params": prompt_learner.*}`` (the ``*_512`` files), read by our loader and by pyiqa's own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

import iqa
import iqa.features.clip as clip_features
from iqa.errors import InputError
from iqa.io.images import read_image
from iqa.models.clipiqa import CLIPIQANet, PromptLearner, load_prompts
from tests.metrics.nr.test_clipiqa import (
    openai_state,
    our_clip,
    pyiqa_clipiqa,
    reference_modules,
    rn50_pair,
    two_photos,
)


@pytest.fixture(scope="module")
def rn50() -> tuple[Any, torch.nn.Module]:
    return rn50_pair()


def prompt_file(path: Path, ref: Any, layout: str, seed: int) -> Path:
    """Random prompts in a release's layout; the ``*_512`` files carry token embeddings of their own
    (perturbed here, so that using the file's rather than recomputing them shows)."""
    g = torch.Generator().manual_seed(seed)
    d = ref.prompt_learner.token_prefix.shape[-1]
    if layout == "tensor":  # the authors' context, shared by both classes
        torch.save(0.02 * torch.randn(16, d, generator=g), path)
        return path
    pl = ref.prompt_learner
    params = {
        "prompt_learner.ctx": 0.02 * torch.randn(2, 16, d, generator=g),
        "prompt_learner.token_prefix": pl.token_prefix + 0.01 * torch.randn(pl.token_prefix.shape, generator=g),
        "prompt_learner.token_suffix": pl.token_suffix + 0.01 * torch.randn(pl.token_suffix.shape, generator=g),
    }
    torch.save({"params": params}, path)
    return path


def test_every_released_key_and_shape(rn50) -> None:  # noqa: ANN001
    # Reference: pyiqa's CLIPIQA state dict (clip_model is kept out of it), which is what the *_512 files
    # hold under "params"; ours: PromptLearner's, prefixed as the release names it.
    ref, tower = rn50
    want = {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    ours = {"prompt_learner." + k: tuple(v.shape) for k, v in PromptLearner(tower).state_dict().items()}
    assert ours == want == {"prompt_learner.ctx": (2, 16, 512), "prompt_learner.token_prefix": (2, 1, 512),
                            "prompt_learner.token_suffix": (2, 60, 512)}  # fmt: skip


@pytest.mark.parametrize(("name", "layout"), [("clipiqa_plus", "tensor"), ("clipiqa_plus_rn50_512", "params")])
@torch.no_grad()
def test_parity_with_pyiqa_from_an_image_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rn50,
    name: str,
    layout: str,  # noqa: ANN001
) -> None:
    # Reference: pyiqa's CLIPIQA, clipiqa+ (ctx.data = the file, no position embedding) or clipiqa+_rn50_512
    # (load_pretrained_network(file, strict, "params"), position table resized), same random RN50. Ours runs
    # its own loading path on the same file (the tower comes from the patched archive loader).
    ref, tower = rn50
    _, arch, _ = reference_modules()
    file = prompt_file(tmp_path / "prompts.pth", ref, layout, seed=1)
    original = {k: v.clone() for k, v in ref.prompt_learner.state_dict().items()}
    ref.model_type = name.replace("clipiqa_plus", "clipiqa+")
    if layout == "tensor":
        ref.prompt_learner.ctx.data, ref.pos_embedding = torch.load(file), False
    else:
        arch.load_pretrained_network(ref, str(file), True, "params")
        ref.pos_embedding = True
    from pyiqa.utils.img_util import imread2tensor

    files = two_photos(tmp_path)
    expected = ref(torch.stack([imread2tensor(str(f), rgb=True) for f in files])).flatten()
    for k, v in original.items():  # the fixture is shared: put its prompts back (ctx may have changed shape)
        getattr(ref.prompt_learner, k).data = v
    monkeypatch.setattr(clip_features, "load_openai_clip", lambda name, weights=None: tower)
    ours = iqa.create(name, weights=file)(torch.stack([read_image(f) for f in files]))
    # float32 through ResNet-50 and the 12-layer text tower: measured <= 8e-7, 1e-5 leaves room across BLAS
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=0)
    assert ((ours > 0.02) & (ours < 0.98)).all() and (ours[0] - ours[1]).abs() > 1e-4  # the check can fail


@torch.no_grad()
def test_parity_vitl14_512(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Reference: pyiqa's clipiqa+_vitL14_512 (ViT-L/14, pos_embedding=True, the prompts file under "params")
    # with the same random ViT-L/14 in OpenAI's layout; a 96 x 128 input gives 6 x 9 + 1 tokens, not 257.
    _, arch, _ = reference_modules()
    state = openai_state("ViT-L-14")
    ref = pyiqa_clipiqa(state, "clipiqa+_vitL14_512", backbone="ViT-L/14", pos_embedding=True)
    file = prompt_file(tmp_path / "prompts.pth", ref, "params", seed=2)
    arch.load_pretrained_network(ref, str(file), True, "params")
    from pyiqa.utils.img_util import imread2tensor

    files = two_photos(tmp_path)
    expected = ref(torch.stack([imread2tensor(str(f), rgb=True) for f in files])).flatten()
    del ref
    tower = our_clip(state)
    monkeypatch.setattr(clip_features, "load_openai_clip", lambda name, weights=None: tower)
    ours = iqa.create("clipiqa_plus_vitl14_512", weights=file)(torch.stack([read_image(f) for f in files]))
    # float32 through 24 ViT-L blocks (fused attention in open_clip, explicit in pyiqa): 1e-4
    torch.testing.assert_close(ours, expected, atol=1e-4, rtol=0)
    assert ((ours > 0.02) & (ours < 0.98)).all() and (ours[0] - ours[1]).abs() > 1e-3


def test_prompt_files_of_another_layout_are_refused(tmp_path: Path, rn50) -> None:  # noqa: ANN001
    learner = PromptLearner(rn50[1])
    torch.save(torch.zeros(8, 512), tmp_path / "short.pth")
    with pytest.raises(InputError, match=r"expected \(16, 512\) or \(2, 16, 512\)"):
        load_prompts(learner, tmp_path / "short.pth")
    torch.save({"params": {"ctx": torch.zeros(16, 512)}}, tmp_path / "keys.pth")
    with pytest.raises(InputError, match="a CLIP-IQA\\+ file holds"):
        load_prompts(learner, tmp_path / "keys.pth")
    with pytest.raises(InputError, match="fixed prompts"):
        iqa.create("clipiqa_plus", model=CLIPIQANet(rn50[1], [("a", "b")]))
