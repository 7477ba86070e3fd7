"""HyperIQA: pyiqa's key layout, parity with pyiqa's HyperNet, the crops, the CLI.

The released file is not available offline: a seeded random state dict in the layout of pyiqa's
``HyperIQA-resnet50-koniq10k-c96c41b1.pth`` (under ``params``) stands for it, loaded unchanged by
iqa and by pyiqa.
"""

from __future__ import annotations

import math
from pathlib import Path
from unittest import mock

import pytest
import torch
from click.testing import CliRunner

import iqa
from iqa.errors import InputError, WeightsError, WeightsNotFoundError
from iqa.io.images import read_image
from iqa.models.hyperiqa import RELEASE_SIZE, HyperIQANet, grid_crops, load_hyperiqa, random_crops
from tests.conftest import shared_path

FILE = "HyperIQA-resnet50-koniq10k-c96c41b1.pth"


def _pyiqa_hypernet(**kwargs: object) -> torch.nn.Module:
    """pyiqa's HyperNet with timm's trunk built without its ImageNet download (the file overwrites it)."""
    timm = pytest.importorskip("timm")
    pytest.importorskip("pyiqa")
    from pyiqa.archs.hypernet_arch import HyperNet

    create = timm.create_model
    with mock.patch.object(
        timm, "create_model", lambda name, pretrained=False, **k: create(name, pretrained=False, **k)
    ):
        return HyperNet(**kwargs)


def _random_state() -> dict[str, torch.Tensor]:
    """Seeded default initialisation with random BatchNorm statistics (a wrong eps or a swapped stage
    shows); the weight generators scaled by 0.01 so the target net's sigmoids are not saturated."""
    torch.manual_seed(0)
    state = HyperIQANet().state_dict()
    g = torch.Generator().manual_seed(1)
    for k, v in state.items():
        if k.endswith("running_mean"):
            state[k] = 0.1 * torch.randn(v.shape, generator=g)
        elif k.endswith("running_var"):
            state[k] = 0.5 + torch.rand(v.shape, generator=g)
        elif k.startswith("fc_w_modules"):
            state[k] = 0.01 * v
    return state


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hyperiqa") / FILE
    torch.save({"params": _random_state()}, path)
    return path


def test_every_key_of_pyiqas_file() -> None:
    with torch.device("meta"):  # shapes only
        ref, ours = _pyiqa_hypernet(pretrained=False), HyperIQANet()
    expected = {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == expected
    assert len(expected) == 355


@torch.no_grad()
def test_parity_with_pyiqa(release) -> None:  # noqa: ANN001
    """Same file, same image file (256 x 256 Set5 butterfly), each side's own reader and crops.

    4 crops (a 2 x 2 grid) instead of 25 to keep the test short: the grid itself is checked for 25
    below; float32 ResNet-50 on the same pixels, so rounding only.
    """
    from pyiqa.utils.img_util import imread2tensor

    image = shared_path("data", "images", "Set5", "butterfly_GT.bmp")
    ref = _pyiqa_hypernet(pretrained_model_path=str(release), num_crop=4).eval()
    expected = ref(imread2tensor(str(image))[None]).flatten()
    got = iqa.create("hyperiqa", weights=release, num_crops=4)(read_image(image)[None])
    assert abs(got.item() - expected.item()) < 1e-5, (got, expected)
    assert 1e-3 < abs(got.item()) < 100  # a score in the working range, not a saturated constant


@pytest.mark.parametrize("shape", [(1, 3, 384, 512), (1, 3, 200, 300)])
def test_grid_is_pyiqas_uniform_crop(shape: tuple[int, ...]) -> None:
    # 25 crops; the 200-high image is first enlarged so its short side is 225 (bilinear), as pyiqa does
    pytest.importorskip("pyiqa")
    from pyiqa.archs.arch_util import uniform_crop

    x = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    expected = uniform_crop([x], 224, 25)
    torch.testing.assert_close(grid_crops(x, 25).flatten(0, 1), expected, rtol=0, atol=0)


def test_random_crops_are_the_release_transform_and_per_image() -> None:
    # data_loader.py (koniq-10k, test): Resize((512, 384)) = 512 high, 384 wide, then RandomCrop(224)
    x = torch.rand(2, 3, 300, 420, generator=torch.Generator().manual_seed(0))
    c = random_crops(x, 5, seed=3)
    resized = torch.nn.functional.interpolate(x, size=(512, 384), mode="bilinear", antialias=True)
    assert RELEASE_SIZE == (512, 384) and c.shape == (2, 5, 3, 224, 224)
    # a 512 x 384 input is not resized; rows and columns coded in its pixels give each crop's corner
    rows = torch.arange(512.0).view(512, 1).expand(512, 384) / 1000
    cols = torch.arange(384.0).view(1, 384).expand(512, 384) / 1000
    coded = torch.stack([rows, cols, rows], 0)[None].repeat(2, 1, 1, 1)
    corners = (random_crops(coded, 5, seed=3)[..., :2, 0, 0] * 1000).round().long()  # (2, 5, 2)
    assert torch.equal(corners[0], corners[1])  # the same positions for every image of a batch
    for k, (t, left) in enumerate(corners[0].tolist()):
        assert 0 <= t <= 512 - 224 and 0 <= left <= 384 - 224
        assert torch.equal(c[:, k], resized[:, :, t : t + 224, left : left + 224])
    assert torch.equal(random_crops(x, 5, seed=3), c) and not torch.equal(random_crops(x, 5, seed=4), c)


def test_random_crop_option_is_batch_independent() -> None:
    from tests.helpers.stand_ins import offline_options

    m = iqa.create("hyperiqa", crops="random", num_crops=3, **offline_options("hyperiqa", {}))
    x = torch.rand(3, 3, 240, 250, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(m(x[1:2]), m(x)[1:2], rtol=0, atol=1e-7)


def test_missing_or_wrong_weights_are_clear(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("IQA_CACHE_DIR", str(tmp_path))
    with pytest.raises(WeightsNotFoundError, match=FILE.replace(".", r"\.") + ".*iqa weights"):
        iqa.create("hyperiqa")
    bad = tmp_path / "bad.pth"
    torch.save({"params": {"conv1.0.weight": torch.zeros(1)}}, bad)
    with pytest.raises(WeightsError, match="layout of pyiqa's HyperIQA"):
        load_hyperiqa(bad)
    with pytest.raises(InputError, match="224 x 224"):
        HyperIQANet.forward(mock.Mock(), torch.zeros(1, 3, 100, 100))


def test_cli_scores_a_folder_with_a_file_in_the_released_layout(release, tmp_path) -> None:  # noqa: ANN001
    # The random file cannot match the release's sha256 prefix, so IQA_WEIGHTS_DIR (verified) refuses
    # it; a file of one's own goes through the option. One crop per image keeps the test short.
    import numpy as np
    from PIL import Image

    from iqa.cli.main import cli

    d = tmp_path / "imgs"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray((rng.random((64, 80, 3)) * 255).astype(np.uint8)).save(d / f"{i}.png")
    args = ["score", str(d), "-m", "hyperiqa", "--opt", f"hyperiqa.weights={release}", "--opt",
            "hyperiqa.num_crops=1", "-q"]  # fmt: skip
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == "file,ref,hyperiqa,error"
    values = [float(line.split(",")[2]) for line in lines[1:]]
    assert len(values) == 2 and all(math.isfinite(v) for v in values)
