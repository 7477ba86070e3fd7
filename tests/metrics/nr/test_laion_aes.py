"""LAION aesthetic predictor (laion_aes, laion_aes_ava_logos, laion_aes_ava_logos_relu).

References, test-time only: pyiqa 0.1.16 ``LAIONAes`` (pyiqa/archs/laion_aes_arch.py; non-commercial
licence) and the openai-clip package the release's ``simple_inference.py`` runs (``clip.load``'s
preprocess). The released weights are not available offline: both sides get the same seeded random
ViT-L/14 in OpenAI's state-dict layout and the same random head in the released layout.
"""

from __future__ import annotations

import csv
import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import iqa
from iqa.errors import InputError, WeightsHashError, WeightsNotFoundError
from iqa.io.images import read_image
from iqa.metrics.nr.laion_aes import LAIONAes, laion_aes
from iqa.models.laion_aes import RELEASES, AestheticMLP, LAIONAesthetic, load_head, preprocess, read_head_state
from tests.conftest import shared_path
from tests.helpers.openai_clip import pkg_resources_stub
from tests.helpers.torchscript_archive import save_state_as_torchscript

open_clip = pytest.importorskip("open_clip")

# Keys and shapes of the released head files, read from the files in the repository's git history
# (christophschuhmann/improved-aesthetic-predictor, blobs 7c0d8aa2 / 7f43fadb for the linear heads,
# ea26101f for the ReLU head): torch.load gives a bare OrderedDict of float32 tensors.
WIDTHS = [(1024, 768), (128, 1024), (64, 128), (16, 64), (1, 16)]
LINEAR_KEYS = [0, 2, 4, 6, 7]
RELU_KEYS = [0, 3, 6, 9, 11]


def released_layout(indices: list[int]) -> dict[str, tuple[int, ...]]:
    out: dict[str, tuple[int, ...]] = {}
    for i, shape in zip(indices, WIDTHS):
        out[f"layers.{i}.weight"], out[f"layers.{i}.bias"] = shape, shape[:1]
    return out


def random_head(relu: bool, seed: int) -> dict[str, torch.Tensor]:
    """A head state in the released layout: ratings about 5 +- 1 like the releases' (the first layer reads a
    unit vector, so its weights are N(0, 1); later ones are fan-in scaled)."""
    g = torch.Generator().manual_seed(seed)
    indices = RELU_KEYS if relu else LINEAR_KEYS
    layout = released_layout(indices)
    state = {}
    for k, s in layout.items():
        scale = 0.1 if len(s) == 1 else (1.0 if s[-1] == 768 else s[-1] ** -0.5)
        state[k] = torch.randn(s, generator=g) * scale
    state[f"layers.{indices[-1]}.bias"] += 5.0
    return state


@pytest.fixture(scope="module")
def pyiqa_arch() -> Any:
    """pyiqa's laion_aes_arch; openai-clip 1.0.1 imports pkg_resources (gone from setuptools >= 81):
    the one name it takes from there (``packaging``) is supplied for the import."""
    with pkg_resources_stub():
        return pytest.importorskip("pyiqa.archs.laion_aes_arch")


def test_head_layouts_are_the_released_files(pyiqa_arch: Any) -> None:
    """Every key and shape of the three released heads; pyiqa's MLP (the v2 layout) agrees."""
    linear, relu = AestheticMLP(768), AestheticMLP(768, relu=True)
    assert {k: tuple(v.shape) for k, v in linear.state_dict().items()} == released_layout(LINEAR_KEYS)
    assert {k: tuple(v.shape) for k, v in relu.state_dict().items()} == released_layout(RELU_KEYS)
    ref = pyiqa_arch.MLP(768).state_dict()
    assert list(ref) == list(linear.state_dict())
    assert {k: v.shape for k, v in ref.items()} == {k: v.shape for k, v in linear.state_dict().items()}
    assert not RELEASES["sac_logos_ava1"].relu and not RELEASES["ava_logos"].relu and RELEASES["ava_logos_relu"].relu


def test_relu_head_applies_relus_linear_head_does_not() -> None:
    """The ReLU head clips each hidden layer; the linear heads are one affine map (release: ReLUs commented out)."""
    emb = torch.nn.functional.normalize(torch.randn(5, 768, generator=torch.Generator().manual_seed(0)), dim=-1)
    lin = AestheticMLP(768)
    lin.load_state_dict(random_head(False, 0))
    layers = [m for m in lin.layers if isinstance(m, torch.nn.Linear)]
    w, b = layers[0].weight.double(), layers[0].bias.double()
    for m in layers[1:]:
        w, b = m.weight.double() @ w, m.weight.double() @ b + m.bias.double()
    with torch.no_grad():
        torch.testing.assert_close(lin.eval()(emb).double(), emb.double() @ w.T + b, atol=1e-5, rtol=0)
    relu = AestheticMLP(768, relu=True).eval()
    relu.load_state_dict(random_head(True, 0))
    x = emb
    with torch.no_grad():
        for m in [m for m in relu.layers if isinstance(m, torch.nn.Linear)][:-1]:
            x = torch.relu(m(x))
        torch.testing.assert_close(relu(emb), relu.layers[-1](x), atol=0, rtol=0)


# --- parity with the released architecture: one random ViT-L/14, built once for the module ---------------

# openai/CLIP clip/model.py build_model() for ViT-L/14: the image tower as released (24 blocks of width 1024,
# 14 px patches at 224, 768-d output). The text tower, which this metric never runs, is cut to one 64-wide
# block (embed_dim stays 768): OpenAI's is 123M parameters that both sides would only build and hold.
VIT_L14 = {
    "embed_dim": 768, "image_resolution": 224, "vision_layers": 24, "vision_width": 1024, "vision_patch_size": 14,
    "context_length": 77, "vocab_size": 100, "transformer_width": 64, "transformer_heads": 1, "transformer_layers": 1,
}  # fmt: skip


def random_openai_state(model: torch.nn.Module, seed: int) -> dict[str, torch.Tensor]:
    """Seeded values for every tensor of an OpenAI CLIP, float16-representable as OpenAI ships them.

    LayerNorm gains near 1 (not exactly 1, so a swapped ln_pre / ln_post shows), small biases,
    fan-in scaled matrices (activations neither vanish nor explode through 24 blocks).
    """
    g = torch.Generator().manual_seed(seed)
    state = {}
    for k, v in model.state_dict().items():
        if v.ndim == 0:  # logit_scale
            t = torch.tensor(4.6052)
        elif v.ndim == 1 and k.endswith("weight"):  # LayerNorm gains
            t = 1 + 0.1 * torch.randn(v.shape, generator=g)
        elif v.ndim == 1 and k.endswith("class_embedding"):
            t = torch.randn(v.shape, generator=g) * v.shape[0] ** -0.5
        elif v.ndim == 1:
            t = 0.02 * torch.randn(v.shape, generator=g)
        else:  # (out, in) and conv (out, C, kh, kw); OpenAI's projections are applied as x @ W, (in, out)
            fan_in = v.shape[0] if k in ("visual.proj", "text_projection") else v[0].numel()
            t = torch.randn(v.shape, generator=g) * fan_in**-0.5
        state[k] = t.half().float()
    return state


@pytest.fixture(scope="module")
def vit_l14(pyiqa_arch: Any) -> Iterator[dict[str, Any]]:
    """pyiqa's LAIONAes and ours on one seeded ViT-L/14 and head (the build takes ~30-60 s on 2 cores)."""
    clip = pyiqa_arch.clip
    t0 = time.perf_counter()
    with torch.device("meta"):
        shell = clip.model.CLIP(**VIT_L14)
    state = random_openai_state(shell, 0)
    ref_clip = shell.to_empty(device="cpu")
    ref_clip.load_state_dict(state, assign=True)
    ref_clip.eval()
    head = random_head(False, 1)
    with pytest.MonkeyPatch.context() as mp:  # LAIONAes calls clip.load("ViT-L/14"): a download
        mp.setattr(clip, "load", lambda name, *a, **k: (ref_clip, None) if name == "ViT-L/14" else pytest.fail(name))
        ref = pyiqa_arch.LAIONAes(pretrained=False).eval()
    ref.mlp.load_state_dict(head)
    # ours: the tower as iqa.features.clip.load_openai_clip builds it from OpenAI's state dict
    tower = open_clip.model.build_model_from_openai_state_dict(dict(state)).float().eval()
    head_mod = AestheticMLP(768)
    head_mod.load_state_dict(head)
    ours = LAIONAesthetic(tower.visual, head_mod).eval().requires_grad_(False)
    del tower
    print(f"\nrandom ViT-L/14 built for both sides in {time.perf_counter() - t0:.1f} s")
    yield {"ref": ref, "ref_clip": ref_clip, "ours": ours}


def test_parity_with_pyiqa_and_the_release_end_to_end(vit_l14: dict[str, Any], pyiqa_arch: Any) -> None:
    """The same PNG scored by pyiqa's LAIONAes and by laion_aes(preprocess="pyiqa"), each reading the file;
    the default path's pixels are the release's clip.load preprocess of the PIL image; both paths' scores.

    Tolerance 1e-4 absolute on a rating about 6: the same float32 tower and head on the same pixels
    (pyiqa reads the PNG as /255 in numpy, iqa as 1/255 in torch: up to 1 ulp per pixel), through 24
    blocks (two attention implementations: openai-clip's and open_clip's) and a 1024-wide head;
    measured 1e-6 (pyiqa) and 5e-7 (the release's path).
    """
    from clip.clip import _transform
    from pyiqa.utils.img_util import imread2tensor

    path = shared_path("data", "images", "CBSD68", "101085.png")  # 481 x 321: resized and cropped
    img = read_image(path)[None]
    with torch.no_grad():
        want = vit_l14["ref"](imread2tensor(str(path), rgb=True)[None]).reshape(-1)
        got = iqa.create("laion_aes", model=vit_l14["ours"], preprocess="pyiqa")(img)
    assert got.shape == (1,)
    assert abs(float(got) - float(want)) < 1e-4, (got, want)  # measured 1e-6 on a rating of 6.19

    # the release (simple_inference.py): clip.load's preprocess of the PIL image, encode_image, the
    # embedding divided by its numpy L2 norm, the MLP; its pixels are ours bit for bit (to float32 rounding)
    release_px = _transform(224)(Image.open(path))[None]
    ours_px = preprocess(img, 224, "openai")
    assert torch.abs(ours_px - release_px).max() < 1e-6
    with torch.no_grad():
        emb = vit_l14["ref_clip"].encode_image(release_px).numpy()
        emb = emb / np.linalg.norm(emb, 2, -1, keepdims=True)
        release = vit_l14["ref"].mlp(torch.from_numpy(emb).float()).reshape(-1)
        default = vit_l14["ours"](ours_px)
    assert abs(float(default) - float(release)) < 1e-4, (default, release)  # measured 5e-7
    # the two input paths are different pixels (PIL's uint8 resize vs the float one: about a grey level)
    assert 2e-3 < float(torch.abs(ours_px - preprocess(img, 224, "pyiqa")).max()) < 0.2
    assert float(default) != float(got)  # measured 5e-4 apart with this random network


# --- the input paths, the normalisation and the gradient, on a small tower --------------------------------


def small_predictor(relu: bool = False, seed: int = 0) -> LAIONAesthetic:
    torch.manual_seed(seed)
    from open_clip.transformer import QuickGELU, VisionTransformer

    tower = VisionTransformer(image_size=64, patch_size=16, width=64, layers=1, heads=1, mlp_ratio=4.0,
                              output_dim=768, act_layer=QuickGELU)  # fmt: skip
    head = AestheticMLP(768, relu=relu)
    head.load_state_dict(random_head(relu, seed))
    return LAIONAesthetic(tower, head).eval().requires_grad_(False)


def test_class_token_forward_is_the_towers_output() -> None:
    """image_embedding (the last block for the class token only, SDPA attention) gives open_clip's output;
    towers it does not know (a ResNet, attention pooling) run their own forward."""
    from open_clip.model import ModifiedResNet

    from iqa.features.clip_forward import image_embedding

    net = small_predictor()
    assert net.plain_vit
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(image_embedding(net.visual, x), net.visual(x), atol=1e-5, rtol=1e-5)
    torch.manual_seed(0)
    rn = ModifiedResNet(layers=(1, 1, 1, 1), output_dim=768, heads=2, image_size=64, width=8).eval()
    other = LAIONAesthetic(rn, AestheticMLP(768)).eval()
    assert not other.plain_vit and other.image_size == 64
    with torch.no_grad():
        torch.testing.assert_close(other.embed(x), torch.nn.functional.normalize(rn(x), dim=-1))


@pytest.mark.parametrize("h,w", [(300, 420), (421, 299), (224, 224), (500, 180), (233, 231)])
def test_pyiqa_path_is_torchvisions_resize_and_crop(h: int, w: int) -> None:
    """pyiqa's clip_preprocess_tensor: resize(x, 224, BICUBIC, antialias=True), center_crop, CLIP mean/std."""
    tf = pytest.importorskip("torchvision.transforms.functional")
    x = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(h))
    resized = tf.center_crop(tf.resize(x, 224, interpolation=tf.InterpolationMode.BICUBIC, antialias=True), 224)
    mean, std = (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)  # OpenAI CLIP's
    want = tf.normalize(resized, mean, std)
    assert torch.equal(preprocess(x, 224, "pyiqa"), want)


def test_default_path_keeps_pils_values_and_passes_a_gradient(photo) -> None:  # noqa: ANN001
    """With a gradient asked for, the values stay the release's; the gradient is the float resize's."""
    x = photo[:, :, :200, :300]
    net = small_predictor()
    with torch.no_grad():
        plain = laion_aes(x, model=net)
    y = x.clone().requires_grad_(True)
    graded = laion_aes(y, model=net)
    torch.testing.assert_close(graded.detach(), plain, atol=1e-6, rtol=0)
    graded.sum().backward()
    z = x.clone().requires_grad_(True)
    laion_aes(z, model=net, preprocess="pyiqa").sum().backward()
    assert y.grad is not None and z.grad is not None and y.grad.abs().sum() > 0
    # the same resize in the backward pass, the tower's Jacobian taken at pixels PIL rounded: nearly parallel
    cos = torch.nn.functional.cosine_similarity(y.grad.flatten(), z.grad.flatten(), dim=0)
    assert cos > 0.99, cos


def test_zero_embedding_stays_zero() -> None:
    """The release divides by the L2 norm with 0 -> 1: a zero embedding scores the head's output at 0."""

    class Zero(torch.nn.Module):
        image_size, output_dim = 32, 768

        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(()))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.w * x.new_ones(len(x), 768)

    head = AestheticMLP(768)
    head.load_state_dict(random_head(False, 2))
    net = LAIONAesthetic(Zero(), head).eval()
    with torch.no_grad():
        out = net.score(torch.rand(2, 3, 40, 40))
        torch.testing.assert_close(out, head(torch.zeros(2, 768))[:, 0].expand(2))


def test_a_score_does_not_depend_on_the_batch(photos) -> None:  # noqa: ANN001
    net = small_predictor(relu=True)
    m = iqa.create("laion_aes_ava_logos_relu", model=net)
    whole = m(photos)
    alone = torch.cat([m(photos[i : i + 1]) for i in range(len(photos))])
    torch.testing.assert_close(whole, alone, atol=1e-5, rtol=0)  # float32 batched matmuls


# --- weights ------------------------------------------------------------------------------------------------


def test_head_files_are_read_as_released(tmp_path: Path) -> None:
    """A bare state dict (the release), {"params": ...} and pyiqa's whole-model keys (mlp.*); wrong layouts named."""
    state = random_head(False, 3)
    torch.save(state, tmp_path / "bare.pth")
    torch.save({"params": {f"mlp.{k}": v for k, v in state.items()}}, tmp_path / "pyiqa.pth")
    for name in ("bare.pth", "pyiqa.pth"):
        assert read_head_state(tmp_path / name).keys() == state.keys()
        head = load_head("ava_logos", tmp_path / name)
        assert torch.equal(head.layers[7].weight, state["layers.7.weight"])
    torch.save(random_head(True, 3), tmp_path / "relu.pth")
    with pytest.raises(InputError, match=r"relu\.pth is not a LAION aesthetic linear head"):
        load_head("sac_logos_ava1", tmp_path / "relu.pth")
    assert load_head("ava_logos_relu", tmp_path / "relu.pth").relu


def test_injected_model_must_have_the_names_head() -> None:
    with pytest.raises(InputError, match="has a ReLU head; this name reads sac"):
        iqa.create("laion_aes", model=small_predictor(relu=True))
    with pytest.raises(InputError, match="has a linear head; this name reads ava\\+logos-l14-reluMSE"):
        iqa.create("laion_aes_ava_logos_relu", model=small_predictor(relu=False))
    with pytest.raises(InputError, match="preprocess"):
        iqa.create("laion_aes", model=small_predictor(), preprocess="bilinear")


def test_absent_weights_name_the_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("IQA_OFFLINE", "1")
    for name, variant in (("laion_aes", "sac_logos_ava1"), ("laion_aes_ava_logos", "ava_logos"),
                          ("laion_aes_ava_logos_relu", "ava_logos_relu")):  # fmt: skip
        with pytest.raises(WeightsNotFoundError, match=RELEASES[variant].filename.replace("+", r"\+")):
            iqa.create(name)
    head = tmp_path / "head.pth"
    torch.save(random_head(False, 4), head)
    with pytest.raises(WeightsNotFoundError, match="ViT-L-14.pt"):  # the head given, the tower absent
        iqa.create("laion_aes", weights=head)


def tiny_openai_archive(path: Path, seed: int = 0) -> Path:
    """A small CLIP (768-d embeddings, 64 px) as OpenAI ships them: a TorchScript archive of float16 tensors."""
    torch.manual_seed(seed)
    vision = {"layers": 1, "width": 64, "patch_size": 16, "image_size": 64}
    text = {"context_length": 77, "vocab_size": 100, "width": 64, "heads": 1, "layers": 1}
    model = open_clip.CLIP(embed_dim=768, vision_cfg=vision, text_cfg=text, quick_gelu=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_state_as_torchscript({k: v.half() for k, v in model.state_dict().items()}, path)


def test_cli_scores_a_folder_with_files_in_iqa_weights_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`iqa score DIR -m laion_aes` as a user with the released files runs it: the head under its released
    name and OpenAI's archive at clip/ViT-L-14.pt in IQA_WEIGHTS_DIR. Random files cannot carry the
    manifest's sha256, so the two entries are pointed at these files' hashes (the store's lookup and
    verification are unchanged; without that the files are refused, checked last). The tower is a small
    CLIP in OpenAI's archive layout, built by the same open_clip code as the real ViT-L/14."""
    import iqa.weights.store as store
    from iqa.cli.main import cli
    from iqa.features.clip import clip_from_openai_archive

    wdir = tmp_path / "weights"
    real = store.get_weight_spec
    head_spec, tower_spec = real("laion_aes_sac_logos_ava1"), real("clip_vit_l14_openai")
    (wdir / head_spec.filename).parent.mkdir(parents=True)
    torch.save(random_head(False, 5), wdir / head_spec.filename)
    archive = tiny_openai_archive(wdir / tower_spec.filename)
    digests = {s.id: store.sha256_file(wdir / s.filename) for s in (head_spec, tower_spec)}
    specs = {s.id: dataclasses.replace(s, sha256=digests[s.id]) for s in (head_spec, tower_spec)}
    monkeypatch.setattr(store, "get_weight_spec", lambda i: specs.get(i) or real(i))
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(wdir))
    monkeypatch.setenv("IQA_OFFLINE", "1")
    d = tmp_path / "d"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate(((48, 64), (70, 40))):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(d / f"{i}.png")
    r = CliRunner().invoke(cli, ["score", str(d), "-m", "laion_aes", "-q"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(r.output.strip().splitlines()))
    assert len(rows) == 2 and not any(row["error"] for row in rows)
    head = AestheticMLP(768)
    head.load_state_dict(random_head(False, 5))
    net = LAIONAesthetic(clip_from_openai_archive(archive).visual, head).eval()
    for row in rows:
        with torch.no_grad():
            want = float(laion_aes(read_image(d / Path(row["file"]).name)[None], model=net))
        assert float(row["laion_aes"]) == pytest.approx(want, abs=1e-4), row  # the CSV's printed digits
    monkeypatch.setattr(store, "get_weight_spec", real)
    with pytest.raises(WeightsHashError, match=r"sac\+logos\+ava1-l14-linearMSE\.pth"):
        LAIONAes()
