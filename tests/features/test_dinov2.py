"""DINOv2 features end to end from image files, against dgm-eval's transform and torch-fidelity's extractor.

The network is the same seeded random ViT-S/14 in the released layout on both sides: ours
(:class:`iqa.features.dinov2_vit.DinoV2`) and, for the references, timm's DINOv2 ViT loaded through its
own checkpoint filter with the hub's position-embedding resize (tests/models/test_dinov2.py). The
reference input paths are dgm-eval's ``DINOv2Encoder.transform`` (torchvision ``Resize((224, 224),
BICUBIC)``, ``ToTensor``, ``Normalize``, run here with torchvision itself on the PIL image dgm-eval's
``ImagePathDataset`` opens) and its ``--clean_resize`` variant (``resizer.pil_resize``,
transcribed), and torch-fidelity 0.4.0's own ``FeatureExtractorDinoV2`` (its ``torch.hub.load`` is
given the reference network, the only part it would download).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from iqa.errors import InputError, WeightsNotFoundError
from iqa.features import create_extractor
from iqa.features.dinov2 import DINOv2Features, dinov2_preprocess
from iqa.features.dinov2_vit import DinoV2
from iqa.features.registry import DECLARED, lazy_extractor
from iqa.io.images import read_image
from iqa.weights import get_weight_spec
from tests.conftest import shared_path
from tests.features.test_dinov2_vit import ours_with, random_release, timm_reference

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@pytest.fixture(scope="module")
def files() -> list[Path]:
    # a 228x344 RGB photo (not square: the resize squashes it) and a 512x512 greyscale one
    return [shared_path("data", "images", "Set5", "woman_GT.bmp"), shared_path("data", "images", "Set14", "bridge.bmp")]


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    return random_release("vits14")


@pytest.fixture(scope="module")
def reference(state: dict[str, torch.Tensor]) -> torch.nn.Module:
    return timm_reference("vits14", state, 224, 224)


def ours(state: dict[str, torch.Tensor], preprocess: str) -> DINOv2Features:
    return DINOv2Features(ours_with("vits14", state), preprocess=preprocess)  # type: ignore[arg-type]


def dgm_eval_input(path: Path, clean: bool) -> torch.Tensor:
    """dgm-eval's ImagePathDataset + DINOv2Encoder.transform (clean_resize False: its default)."""
    import torchvision.transforms as TF
    from torchvision.transforms.functional import to_tensor

    image = Image.open(path).convert("RGB")
    if clean:  # resizer.pil_resize, transcribed
        x = np.array(image).astype(np.float32)
        chans = [
            np.asarray(Image.fromarray(x[:, :, i], mode="F").resize((224, 224), resample=Image.BICUBIC))
            .clip(0, 255)
            .reshape(224, 224, 1)
            for i in range(3)
        ]
        t = to_tensor(np.concatenate(chans, axis=2).astype(np.float32)) / 255
    else:
        t = TF.Compose([TF.Resize((224, 224), TF.InterpolationMode.BICUBIC), TF.ToTensor()])(image)
    return TF.Normalize(np.array(MEAN), np.array(STD))(t)


@pytest.mark.parametrize("clean", [False, True], ids=["dgm_eval", "dgm_eval_clean"])
def test_dgm_eval_path_from_files(files, state, reference, clean: bool) -> None:  # noqa: ANN001
    ext = ours(state, "dgm_eval_clean" if clean else "dgm_eval")
    for f in files:
        x = read_image(f)[None]
        want_input = dgm_eval_input(f, clean)
        # Pillow does the resize on both sides, then the same float32 steps: bit for bit
        assert torch.equal(dinov2_preprocess(x, ext.preprocess)[0], want_input), f  # type: ignore[arg-type]
        if not clean:  # the network after either path is the same; run it once per file
            with torch.no_grad():
                got, want = ext(x), reference(want_input[None])
            # same weights, same input; measured 0.0, allowed float32 summation-order noise
            assert torch.allclose(got, want, rtol=0, atol=1e-5), (f, (got - want).abs().max())


def test_torch_fidelity_path_from_files(files, state, reference, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    pytest.importorskip("torch_fidelity")
    from torch_fidelity.datasets import ImagesPathDataset
    from torch_fidelity.feature_extractor_dinov2 import FeatureExtractorDinoV2

    monkeypatch.setattr(torch.hub, "load", lambda repo, name, *a, **k: reference)  # the download it would do
    tf = FeatureExtractorDinoV2("dinov2-vit-s-14", ["dinov2"])
    ext = ours(state, "torch_fidelity")
    assert ext.cache_key() == "dinov2_vits14:torch_fidelity"
    data = ImagesPathDataset([str(f) for f in files])
    for i, f in enumerate(files):
        with torch.no_grad():
            (want,) = tf(data[i][None])
            got = ext(read_image(f)[None])
        # our TF1 bilinear resize is two matrix products, torch-fidelity's a lerp (<1e-3 apart on the
        # 0..255 scale, iqa.transforms.resize); through the network: measured 3.5e-6 on features of
        # magnitude ~4, allowed 1e-4
        assert torch.allclose(got, want, rtol=0, atol=1e-4), (f, (got - want).abs().max())


def test_named_extractors_build_what_they_declare() -> None:
    names = {
        "dinov2_vits14": ("vits14", "dgm_eval", 384),
        "dinov2_vitb14": ("vitb14", "dgm_eval", 768),
        "dinov2_vitl14": ("vitl14", "dgm_eval", 1024),
        "dinov2_vitg14": ("vitg14", "dgm_eval", 1536),
        "dinov2_vitl14_torch_fidelity": ("vitl14", "torch_fidelity", 1024),
    }
    for name, (arch, path, dim) in names.items():
        assert DECLARED[name] == (f"dinov2_{arch}:{path}", dim)
        lazy = lazy_extractor(name)
        assert (lazy.cache_key(), lazy.dim) == DECLARED[name]
        with torch.device("meta"):  # the class's own defaults, without building weights
            model = DinoV2(arch)
        ext = create_extractor(name, model=model)
        assert (ext.cache_key(), ext.dim, ext.name) == (*DECLARED[name], f"dinov2_{arch}")


def test_weights_come_from_the_manifest_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(WeightsNotFoundError, match=r"dinov2_vits14_pretrain\.pth.*dl\.fbaipublicfiles\.com"):
        create_extractor("dinov2_vits14")  # offline, nothing installed: the manager's error
    for arch in ("vits14", "vitb14", "vitl14", "vitg14"):
        spec = get_weight_spec(f"dinov2_{arch}")
        url = f"https://dl.fbaipublicfiles.com/dinov2/dinov2_{arch}/dinov2_{arch}_pretrain.pth"
        assert spec.urls == (url,) and spec.hash_unpublished and spec.license == "Apache-2.0"
    target = tmp_path / get_weight_spec("dinov2_vits14").filename
    target.parent.mkdir(parents=True)
    torch.save(random_release("vits14"), target)
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(tmp_path))
    ext = create_extractor("dinov2_vits14")  # found where the manager looks, loaded strictly
    assert ext.cache_key() == "dinov2_vits14:dgm_eval"
    with pytest.raises(WeightsNotFoundError, match="no such weights file"):
        create_extractor("dinov2_vits14", weights=tmp_path / "absent.pth")


def test_bad_options_are_refused(state) -> None:  # noqa: ANN001
    with pytest.raises(InputError, match="preprocess must be one of"):
        ours(state, "clean_fid")
    with pytest.raises(InputError, match="RGB"):
        dinov2_preprocess(torch.zeros(1, 1, 32, 32))


@pytest.mark.filterwarnings("ignore:fd_dinov2 .* samples for 384-dimensional")
def test_compare_runs_fd_dinov2_with_a_weights_file(files, tmp_path: Path) -> None:  # noqa: ANN001
    """`iqa compare REAL FAKE -m fd_dinov2 --opt fd_dinov2.weights=FILE` (ViT-S via extractor=, to stay quick)."""
    from iqa.cli.main import cli

    weights = tmp_path / "dinov2_vits14_pretrain.pth"
    torch.save(random_release("vits14"), weights)
    real, fake = tmp_path / "real", tmp_path / "fake"
    real.mkdir()
    fake.mkdir()
    for f in files:
        Image.open(f).convert("RGB").save(real / f"{f.stem}.png")
        Image.open(f).convert("RGB").rotate(90, expand=True).save(fake / f"{f.stem}.png")
    out = tmp_path / "r.json"
    opts = ["--opt", "fd_dinov2.extractor=dinov2_vits14", "--opt", f"fd_dinov2.weights={weights}"]
    args = ["compare", str(real), str(fake), "-m", "fd_dinov2", *opts, "-o", str(out), "--no-cache", "-q"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    result = json.loads(out.read_text())
    assert result["fd_dinov2"] > 0, result
