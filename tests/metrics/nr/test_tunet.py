"""tunet metric (issue 9): preprocessing as the release's test transform, score scales, conversion
of a checkpoint in the release's layout (round trip), clear errors without weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import iqa
from iqa.errors import WeightsError, WeightsHashError, WeightsNotFoundError
from iqa.models.tanet import TANet, preprocess
from iqa.models.tanet_weights import convert_tanet


def _net(variant: str = "tad66k") -> TANet:
    torch.manual_seed(0)
    return TANet(variant=variant).eval()


def test_preprocess_matches_the_release_transform() -> None:
    # release: torchvision Resize((224, 224)) on the PIL image (bilinear with antialiasing), ToTensor, Normalize
    torchvision = pytest.importorskip("torchvision")
    rng = np.random.default_rng(0)
    arr = (rng.random((300, 410, 3)) * 255).astype(np.uint8)
    t = torchvision.transforms
    ref = t.Compose([t.Resize((224, 224)), t.ToTensor(), t.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])(
        Image.fromarray(arr)
    )
    ours = preprocess(torch.from_numpy(arr).permute(2, 0, 1)[None].float() / 255)[0]
    # PIL resizes uint8 (rounded output), we resize floats: within one 8-bit level after normalisation
    assert (ours - ref).abs().max() < 1.5 / 255 / 0.224


@torch.no_grad()
def test_scores_are_on_the_1_to_10_scale() -> None:
    x = torch.rand(3, 3, 64, 80)
    s = iqa.create("tunet", model=_net())(x)
    assert s.shape == (3,) and ((s > 0) & (s < 10)).all()
    a = iqa.create("tunet", variant="ava", model=_net("ava"))(x)
    assert ((a >= 1) & (a <= 10)).all()


@torch.no_grad()
def test_conversion_round_trip(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("IQA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("IQA_WEIGHTS_DIR", raising=False)
    net = _net()
    # the release's checkpoint as DataParallel saves it: "module."-prefixed keys
    ckpt = tmp_path / "SRCC_513_LCC_531_MSE_016.pth"
    torch.save({f"module.{k}": v for k, v in net.state_dict().items()}, ckpt)
    path = convert_tanet(ckpt, "tad66k")
    assert path.suffix == ".safetensors" and path.with_suffix(".json").exists()
    x = torch.rand(2, 3, 96, 96)
    torch.testing.assert_close(iqa.create("tunet")(x), iqa.create("tunet", model=net)(x))
    path.write_bytes(path.read_bytes()[:-8] + b"\0" * 8)  # a corrupt copy is refused
    with pytest.raises(WeightsHashError, match="convert the checkpoint again"):
        iqa.create("tunet")
    with pytest.raises(WeightsError, match="other variant"):
        convert_tanet(ckpt, "ava")


def test_missing_weights_name_the_checkpoint_and_the_command(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("IQA_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("IQA_WEIGHTS_DIR", raising=False)
    with pytest.raises(WeightsNotFoundError, match="SRCC_513_LCC_531_MSE_016.pth.*iqa weights convert tanet"):
        iqa.create("tunet")
    bad = tmp_path / "x.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="not a readable PyTorch checkpoint.*no code in it runs"):
        convert_tanet(bad)


@torch.no_grad()
def test_default_mode_is_batch_independent_and_compat_is_not() -> None:
    x = torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    m = iqa.create("tunet", model=_net())
    torch.testing.assert_close(m(x[:1]), m(x)[:1], atol=1e-5, rtol=1e-5)
    c = iqa.create("tunet", mode="compat", model=_net())
    assert c(x[:1]).item() != pytest.approx(c(x)[0].item(), abs=1e-7)


def test_cli_convert(tmp_path) -> None:  # noqa: ANN001
    from click.testing import CliRunner

    from iqa.cli.main import cli

    ckpt = tmp_path / "SRCC_758_LCC_765.pth"
    torch.save({"state_dict": _net("ava").state_dict()}, ckpt)  # the other wrapper a checkpoint may have
    r = CliRunner().invoke(
        cli, ["weights", "convert", "tanet", str(ckpt), "--variant", "ava", "--out-dir", str(tmp_path / "w")]
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "w" / "tanet_ava.safetensors").exists() and "tanet_ava" in r.output
