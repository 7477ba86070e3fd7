"""DBCNN: pyiqa's key layout, parity with pyiqa's DBCNN, the variants, the CLI.

The released files are not available offline: a seeded random state dict in the layout of pyiqa's
``DBCNN_<dataset>-<hash>.pth`` (under ``params``) stands for them, loaded unchanged by iqa and by
pyiqa. The seven variants differ only in their weights, so one parity test covers them.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest
import torch
from click.testing import CliRunner

import iqa
from iqa.errors import WeightsError, WeightsNotFoundError
from iqa.io.images import read_image
from iqa.models.dbcnn import RELEASES, SCNN, SCNN_RELEASE, DBCNNNet, load_dbcnn
from iqa.weights import load_manifest
from tests.conftest import shared_path

NAMES = {  # registered name -> released file (pyiqa dbcnn_arch.default_model_urls)
    "dbcnn": "DBCNN_KonIQ10k-2de81c0a.pth",  # pyiqa's 'dbcnn' is DBCNN(pretrained='koniq')
    "dbcnn_koniq": "DBCNN_KonIQ10k-2de81c0a.pth",
    "dbcnn_livec": "DBCNN_LIVEC-83f6dad3.pth",
    "dbcnn_livem": "DBCNN_LIVEM-698474e3.pth",
    "dbcnn_live": "DBCNN_LIVE-97262bf4.pth",
    "dbcnn_csiq": "DBCNN_CSIQ-8677d071.pth",
    "dbcnn_tid2008": "DBCNN_TID2008-4b47c5d1.pth",
    "dbcnn_tid2013": "DBCNN_TID2013-485d021d.pth",
}


def _pyiqa_dbcnn(full_vgg: bool = False, **kwargs: object) -> torch.nn.Module:
    """pyiqa's DBCNN built without its two downloads (torchvision's ImageNet VGG-16 and the S-CNN file):
    the DBCNN file given to it overwrites both. Its VGG-16 is torchvision's feature layers alone (pyiqa
    keeps only ``.features``), sparing the init of the classifier it drops; ``full_vgg``: the whole
    ``vgg16(weights=None)``, for the key layout (built on the meta device there)."""
    pytest.importorskip("pyiqa")
    import torchvision
    from pyiqa.archs import dbcnn_arch

    vgg, load = torchvision.models.vgg, dbcnn_arch.load_pretrained_network

    def vgg16(weights: object = None) -> SimpleNamespace:
        assert weights == "IMAGENET1K_V1"  # what pyiqa asks for; replaced by the DBCNN file's features1
        if full_vgg:
            return vgg.vgg16(weights=None)
        return SimpleNamespace(features=vgg.make_layers(vgg.cfgs["D"]))

    def load_but_scnn(net: torch.nn.Module, path: str, *a: object) -> None:
        if path != dbcnn_arch.default_model_urls["scnn"]:
            load(net, path, *a)

    with (
        mock.patch.object(torchvision.models, "vgg16", vgg16),
        mock.patch.object(dbcnn_arch, "load_pretrained_network", load_but_scnn),
    ):
        return dbcnn_arch.DBCNN(**kwargs)


@pytest.fixture(scope="module")
def reference(release: Path) -> torch.nn.Module:
    return _pyiqa_dbcnn(pretrained_model_path=str(release)).eval()


def _random_state() -> dict[str, torch.Tensor]:
    """Seeded default initialisation with random BatchNorm statistics and affines (a wrong eps or a swapped
    layer shows) and a unit-variance head (scores of order 1, not ~1e-3)."""
    torch.manual_seed(0)
    state = DBCNNNet().state_dict()
    g = torch.Generator().manual_seed(1)
    for k, v in state.items():
        if k.endswith("running_mean"):
            state[k] = 0.1 * torch.randn(v.shape, generator=g)
        elif k.endswith("running_var"):
            state[k] = 0.5 + torch.rand(v.shape, generator=g)
        elif k.startswith("features2") and k.endswith(".bias"):
            state[k] = 0.1 * torch.randn(v.shape, generator=g)
        elif k.startswith("fc."):
            state[k] = torch.randn(v.shape, generator=g)
    return state


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dbcnn") / NAMES["dbcnn"]
    torch.save({"params": _random_state()}, path)
    return path


def test_every_key_of_pyiqas_files() -> None:
    # pyiqa's DBCNN state dict is the DBCNN files' layout (loaded strictly under 'params'); its SCNN the scnn file's
    from pyiqa.archs.dbcnn_arch import SCNN as PyiqaSCNN  # noqa: N811 (importorskip in _pyiqa_dbcnn)

    with torch.device("meta"):  # shapes only
        ref, ours = _pyiqa_dbcnn(full_vgg=True, pretrained=False), DBCNNNet()
        ref_scnn, our_scnn = PyiqaSCNN(), SCNN()
    expected = {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == expected
    # 13 VGG convs (w, b) + 9 S-CNN conv/BatchNorm blocks (7 tensors each) + fc (w, b)
    assert len(expected) == 13 * 2 + 9 * 7 + 2 == 91
    assert expected["features1.28.weight"] == (512, 512, 3, 3) and expected["fc.weight"] == (1, 512 * 128)
    assert expected["features2.24.weight"] == (128, 128, 3, 3) and "features2.25.num_batches_tracked" in expected
    scnn = {k: tuple(v.shape) for k, v in ref_scnn.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in our_scnn.state_dict().items()} == scnn
    assert len(scnn) == 9 * 7 + 2 * 7 + 2 == 79 and scnn["classifier.weight"] == (39, 256)


@torch.no_grad()
def test_parity_with_pyiqa(release: Path, reference: torch.nn.Module) -> None:
    """Same file, same image file, each side's own reader and preprocessing (whole image, ImageNet mean/std).

    Set5 woman (228 x 344): VGG's grid is 14 x 21, the S-CNN's 15 x 22, so the resize of the S-CNN
    features is exercised. The same float32 ops (iqa runs them channels-last): 1e-5 absolute leaves
    room for float rounding only (measured 0 here, 1.2e-6 on the 72 x 88 batch below). With this
    random state, skipping the normalisation moves the score by 3.8e-4 and a horizontal flip by
    1.9e-4 (measured), 40 and 20 times the tolerance, so a preprocessing slip fails.
    """
    from pyiqa.utils.img_util import imread2tensor

    image = shared_path("data", "images", "Set5", "woman_GT.bmp")
    expected = reference(imread2tensor(str(image))[None]).flatten()
    got = iqa.create("dbcnn", weights=release)(read_image(image)[None])
    assert got.shape == (1,) and abs(got.item() - expected.item()) < 1e-5, (got, expected)
    assert 1e-2 < abs(got.item()) < 100  # a score of the random head's order, not a degenerate constant


@torch.no_grad()
def test_odd_sizes_and_batches_match_pyiqa_image_by_image(release: Path, reference: torch.nn.Module) -> None:
    # 72 x 88: VGG 4 x 5, S-CNN 5 x 6 (resized); each image of the batch scored alone by pyiqa
    x = torch.rand(2, 3, 72, 88, generator=torch.Generator().manual_seed(2))
    got = iqa.create("dbcnn", weights=release)(x)
    expected = torch.cat([reference(x[i : i + 1]).flatten() for i in range(2)])
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


def test_names_files_and_directions() -> None:
    # file names: pyiqa dbcnn_arch.default_model_urls; directions: the training labels (MOS for KonIQ,
    # LIVEC, TID; DMOS for LIVE, LIVEM, CSIQ, pyiqa's meta-info label columns of these sets)
    manifest = load_manifest()
    for name, filename in NAMES.items():
        spec = iqa.get_spec(name)
        (wid,) = spec.weights
        assert manifest[wid].filename == filename and manifest[wid].sha256_prefix == filename[-12:-4]
        assert spec.higher_is_better == (name not in ("dbcnn_live", "dbcnn_livem", "dbcnn_csiq")), name
    assert {r.filename for r in RELEASES.values()} == set(NAMES.values())
    assert manifest[SCNN_RELEASE.weights_id].filename == "DBCNN_scnn-7ea73d75.pth"


@pytest.mark.parametrize("name", ["dbcnn", "dbcnn_live"])
def test_missing_weights_name_the_file_and_the_fetch_command(name: str) -> None:
    with pytest.raises(WeightsNotFoundError, match=NAMES[name].replace(".", r"\.") + ".*iqa weights"):
        iqa.create(name)


def test_wrong_or_absent_file_is_clear_and_prefixes_are_read_as_pyiqa(release: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pth"
    torch.save({"params": {"fc.weight": torch.zeros(1)}}, bad)
    with pytest.raises(WeightsError, match="layout of pyiqa's DBCNN"):
        load_dbcnn(weights=bad)
    with pytest.raises(WeightsError, match="not found"):
        load_dbcnn(weights=tmp_path / "absent.pth")
    # a DataParallel checkpoint ("module." keys, unwrapped), as pyiqa's loader accepts it
    wrapped = tmp_path / "wrapped.pth"
    state = torch.load(release, weights_only=True)["params"]
    torch.save({f"module.{k}": v for k, v in state.items()}, wrapped)
    torch.testing.assert_close(load_dbcnn(weights=wrapped).fc.weight, state["fc.weight"], rtol=0, atol=0)


def test_cli_scores_a_folder_with_a_file_in_the_released_layout(release: Path, tmp_path: Path) -> None:
    # The random file cannot match the release's sha256 prefix, so IQA_WEIGHTS_DIR (verified) refuses
    # it; a file of one's own goes through the option.
    import numpy as np
    from PIL import Image

    from iqa.cli.main import cli

    d = tmp_path / "imgs"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray((rng.random((48, 64, 3)) * 255).astype(np.uint8)).save(d / f"{i}.png")
    r = CliRunner().invoke(cli, ["score", str(d), "-m", "dbcnn", "--opt", f"dbcnn.weights={release}", "-q"])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "file,ref,dbcnn,error"
    values = [float(line.split(",")[2]) for line in lines[1:]]
    assert len(values) == 2 and all(math.isfinite(v) for v in values) and values[0] != values[1]
