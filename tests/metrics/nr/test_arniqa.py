"""ARNIQA: released key layout, parity with torchmetrics and pyiqa, the score mapping, the CLI.

The released files are not available offline: a seeded random encoder state dict in the layout of
``ARNIQA.pth`` and a random regressor saved as TorchScript (the container of
``regressor_<dataset>.pth``) stand for them, loaded unchanged by iqa and by each reference.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from torch import nn

import iqa
from iqa.errors import InputError, WeightsError, WeightsNotFoundError
from iqa.io.images import read_image
from iqa.models.arniqa import DATASETS, LABELS, ARNIQANet, Encoder, centre_corner_crops, load_arniqa
from tests.conftest import shared_path
from tests.helpers.random_weights import randomize


class _TorchLinearRegression(nn.Module):
    """The released regressor's TorchScript container: ``weights`` (1, 4096), ``biases`` () (see the manifest notes)."""

    def __init__(self, w: torch.Tensor, b: torch.Tensor) -> None:
        super().__init__()
        self.weights = nn.Parameter(w)
        self.biases = nn.Parameter(b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weights.t() + self.biases


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(ARNIQA.pth, regressor_koniq10k.pth) with seeded random values in the released layouts."""
    d = tmp_path_factory.mktemp("arniqa")
    enc, reg = d / "ARNIQA.pth", d / "regressor_koniq10k.pth"
    torch.save(randomize(Encoder(), 0), enc)
    g = torch.Generator().manual_seed(1)
    # weights sized so the score moves with the image: the features are unit vectors
    w, b = 40 * torch.randn(1, 4096, generator=g), torch.tensor(50.0)
    torch.jit.script(_TorchLinearRegression(w, b)).save(str(reg))
    return enc, reg


@pytest.fixture(scope="module")
def image_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 96 x 128 crop of a real photo (Set5 butterfly) as a PNG file: both sides read the same file."""
    from PIL import Image

    out = tmp_path_factory.mktemp("arniqa_img") / "butterfly_crop.png"
    Image.open(shared_path("data", "images", "Set5", "butterfly_GT.bmp")).crop((64, 80, 192, 176)).save(out)
    return out


def _ours(release: tuple[Path, Path], img: torch.Tensor, **options: object) -> torch.Tensor:
    enc, reg = release
    with torch.no_grad():
        return iqa.create("arniqa", weights=reg, encoder_weights=enc, **options)(img)


def test_encoder_holds_every_released_key() -> None:
    # ARNIQA.pth (models/resnet.py ResNet): torchvision ResNet-50 children minus fc as model.0..8, plus
    # projector Linear(2048, 2048) / Linear(2048, 128); a third-party audit of the release counts 322
    # tensors, 23,508,032 trunk and 4,458,624 projector parameters (see the manifest notes).
    tv = pytest.importorskip("torchvision")
    torch.set_default_device("meta")  # shapes only: no initialisation
    try:
        trunk, ours, reg = nn.Sequential(*list(tv.models.resnet50().children())[:-1]), Encoder(), ARNIQANet().regressor
    finally:
        torch.set_default_device(None)
    ref = {f"model.{k}": v.shape for k, v in trunk.state_dict().items()}
    ref |= {"projector.0.weight": (2048, 2048), "projector.0.bias": (2048,), "projector.2.weight": (128, 2048),
            "projector.2.bias": (128,)}  # fmt: skip
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {k: tuple(s) for k, s in ref.items()}
    assert len(ref) == 322
    assert sum(p.numel() for p in ours.model.parameters()) == 23_508_032
    assert sum(p.numel() for p in ours.projector.parameters()) == 4_458_624
    # the released regressor: weights (1, 4096), biases () (torchmetrics loads them into Linear(4096, 1))
    assert {k: tuple(v.shape) for k, v in reg.state_dict().items()} == {
        "weights": (1, 4096),
        "biases": (),
    }


@torch.no_grad()
def test_parity_with_torchmetrics(release, image_file, monkeypatch) -> None:  # noqa: ANN001
    """torchmetrics' _ARNIQA (Apache-2.0): full image + antialiased half scale (torchvision Resize)."""
    pytest.importorskip("torchvision")
    tm = pytest.importorskip("torchmetrics.functional.image.arniqa")
    from PIL import Image
    from torchvision.transforms.functional import to_tensor

    enc, reg = release

    def load(url: str, **_: object) -> object:  # torchmetrics downloads both files through torch.hub
        return torch.load(enc, weights_only=True) if url.endswith("/ARNIQA.pth") else torch.jit.load(str(reg))

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", load)
    monkeypatch.setattr(tm, "_AVAILABLE_REGRESSOR_DATASETS", {"koniq10k": (1, 100)})
    ref_net = tm._ARNIQA("koniq10k")
    x_ref = to_tensor(Image.open(image_file).convert("RGB"))[None]
    expected = ref_net(x_ref, normalize=True).flatten()
    got = _ours(release, read_image(image_file)[None])
    # float32 ResNet-50 on the same pixels, same ops: rounding only (the score moves by ~1 between images)
    assert abs(got.item() - expected.item()) < 1e-5, (got, expected)
    assert 0.05 < abs(got.item() - 0.5)  # not a degenerate constant: the random head gives a spread score


@torch.no_grad()
def test_parity_with_pyiqa(release, image_file, monkeypatch) -> None:  # noqa: ANN001
    """pyiqa's ARNIQA (arniqa_arch.py): its own image reader, plain bilinear half scale (antialias=False)."""
    pytest.importorskip("pyiqa")
    import torchvision
    from pyiqa.archs import arniqa_arch
    from pyiqa.utils.img_util import imread2tensor

    enc, reg = release
    # the ImageNet file pyiqa starts from (overwritten by ARNIQA.pth): resnet50 names for model.<child index>
    names = {"0": "conv1", "1": "bn1", "4": "layer1", "5": "layer2", "6": "layer3", "7": "layer4"}
    imagenet = {"fc.weight": torch.zeros(1000, 2048), "fc.bias": torch.zeros(1000)}
    for k, v in torch.load(enc, weights_only=True).items():
        if k.startswith("model."):
            i, rest = k[len("model.") :].split(".", 1)
            imagenet[f"{names[i]}.{rest}"] = v
    monkeypatch.setattr(torchvision.models._api.WeightsEnum, "get_state_dict", lambda self, *a, **k: imagenet)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda url, **k: torch.load(enc, weights_only=True))
    monkeypatch.setattr(arniqa_arch, "load_file_from_url", lambda url, **k: str(reg))
    ref_net = arniqa_arch.ARNIQA("koniq").eval()
    expected = ref_net(imread2tensor(str(image_file))[None]).flatten()
    got = _ours(release, read_image(image_file)[None], antialias=False)
    assert abs(got.item() - expected.item()) < 1e-5, (got, expected)
    released = _ours(release, read_image(image_file)[None])  # the antialiased half scale is another input
    assert abs(released.item() - got.item()) > 1e-4


def test_five_crops_are_the_release_positions() -> None:
    # utils_data.center_corners_crop: TF.crop(img, top, left, 224, 224) at centre, TL, BL, TR, BR
    tvf = pytest.importorskip("torchvision.transforms.functional")
    x = torch.rand(1, 3, 451, 470)
    h, w = 451, 470
    tops_lefts = [(h // 2 - 112, w // 2 - 112), (0, 0), (h - 224, 0), (0, w - 224), (h - 224, w - 224)]
    expected = torch.stack([tvf.crop(x, t, left, 224, 224) for t, left in tops_lefts], 1)
    assert torch.equal(centre_corner_crops(x), expected)


@torch.no_grad()
def test_five_crop_score_averages_the_paired_crops() -> None:
    torch.manual_seed(0)
    tiny = Encoder(nn.Sequential(nn.Conv2d(3, 8, 3, 4), nn.ReLU(), nn.AdaptiveAvgPool2d(1)), feat_dim=8)
    net = ARNIQANet("kadid", encoder=tiny).eval()
    nn.init.normal_(net.regressor.weights)
    x = torch.rand(2, 3, 460, 500)
    m = iqa.create("arniqa_kadid", model=net, crops="five")
    half = torch.nn.functional.interpolate(x, size=(230, 250), mode="bilinear", antialias=True)
    from iqa.models.arniqa import normalise

    per_crop = [
        net.scale(net(normalise(centre_corner_crops(x)[:, i]), normalise(centre_corner_crops(half)[:, i])))
        for i in range(5)
    ]
    torch.testing.assert_close(m(x), torch.stack(per_crop, 1).mean(1))
    with pytest.raises(InputError, match="at least"):
        m(x[:, :, :400])  # the half-scale copy must hold a 224 crop


def test_scores_map_the_label_range_as_hubconf() -> None:
    # hubconf.py: (raw - lo) / (hi - lo), inverted for DMOS (live, csiq); ranges from available_datasets_ranges
    expected = {"koniq": (1, 100, False), "kadid": (1, 5, False), "live": (1, 100, True), "csiq": (0, 1, True),
                "tid": (0, 9, False), "flive": (1, 100, False), "spaq": (1, 100, False), "clive": (1, 100, False)}  # fmt: skip
    assert set(DATASETS) == set(expected)
    for d, (lo, hi, dmos) in expected.items():
        lab = LABELS[d]
        assert (lab.lo, lab.hi, lab.dmos) == (lo, hi, dmos)
        net = ARNIQANet.__new__(ARNIQANet)
        net.dataset = d
        out = ARNIQANet.scale(net, torch.tensor([lo, hi], dtype=torch.float64))
        assert out.tolist() == ([1.0, 0.0] if dmos else [0.0, 1.0])
        assert iqa.get_spec(f"arniqa_{d}").higher_is_better
    assert iqa.get_spec("arniqa").weights == iqa.get_spec("arniqa_koniq").weights  # pyiqa's default variant


def test_missing_or_wrong_weights_are_clear(release, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("IQA_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("IQA_OFFLINE", "1")
    with pytest.raises(WeightsNotFoundError, match=r"arniqa/ARNIQA\.pth.*(iqa weights|ARNIQA/releases)"):
        iqa.create("arniqa_spaq")
    enc, reg = release
    bad = tmp_path / "regressor.pth"
    bad.write_bytes(b"not a model")
    with pytest.raises(WeightsError, match="not a TorchScript regressor"):
        load_arniqa("koniq", bad, enc)
    torch.save({"model.0.weight": torch.zeros(1)}, bad)
    with pytest.raises(WeightsError, match="layout of the ARNIQA release"):
        load_arniqa("koniq", reg, bad)


def test_given_model_must_hold_the_names_regressor() -> None:
    with pytest.raises(InputError, match="arniqa_kadid"):
        iqa.create("arniqa_live", model=ARNIQANet("kadid"))


def test_cli_scores_a_folder_with_files_in_the_released_layout(release, tmp_path) -> None:  # noqa: ANN001
    # The random files cannot match the release's sha256, so IQA_WEIGHTS_DIR (verified) refuses them;
    # files of one's own go through the options, as for a fine-tuned regressor.
    import numpy as np
    from PIL import Image

    from iqa.cli.main import cli

    enc, reg = release
    d = tmp_path / "imgs"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray((rng.random((64, 80, 3)) * 255).astype(np.uint8)).save(d / f"{i}.png")
    args = ["score", str(d), "-m", "arniqa_koniq", "--opt", f"arniqa_koniq.weights={reg}",
            "--opt", f"arniqa_koniq.encoder_weights={enc}", "-q"]  # fmt: skip
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "file,ref,arniqa_koniq,error"
    values = [float(line.split(",")[2]) for line in lines[1:]]
    assert len(values) == 2 and all(math.isfinite(v) for v in values)
