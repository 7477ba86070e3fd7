"""tunet metric (issue 9): preprocessing as the release's test transform, score scales, conversion
of a checkpoint in the release's layout (round trip), clear errors without weights; issue 25: the
converted release records and runs its batch-coupled (compat) mode, another mode is refused."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

import iqa
from iqa.errors import InputError, WeightsError, WeightsHashError, WeightsNotFoundError
from iqa.models.tanet import TANet, preprocess
from iqa.models.tanet_weights import convert_tanet


def _net(variant: str = "tad66k", mode: str = "per_image") -> TANet:
    torch.manual_seed(0)
    return TANet(variant=variant, mode=mode).eval()


def _converted_release(tmp_path, monkeypatch):  # noqa: ANN001, ANN202
    """A random state dict in the release's layout, saved as DataParallel does and converted into the store."""
    monkeypatch.setenv("IQA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("IQA_WEIGHTS_DIR", raising=False)
    ckpt = tmp_path / "SRCC_513_LCC_531_MSE_016.pth"
    torch.save({f"module.{k}": v for k, v in _net().state_dict().items()}, ckpt)
    return convert_tanet(ckpt, "tad66k")


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
    path = _converted_release(tmp_path, monkeypatch)
    assert path.suffix == ".safetensors" and path.with_suffix(".json").exists()
    x = torch.rand(2, 3, 96, 96)
    # the release's weights run the release's forward: the same network in compat mode
    torch.testing.assert_close(iqa.create("tunet")(x), iqa.create("tunet", model=_net(mode="compat"))(x))
    path.write_bytes(path.read_bytes()[:-8] + b"\0" * 8)  # a corrupt copy is refused
    with pytest.raises(WeightsHashError, match="convert the checkpoint again"):
        iqa.create("tunet")
    with pytest.raises(WeightsError, match="other variant"):
        convert_tanet(tmp_path / "SRCC_513_LCC_531_MSE_016.pth", "ava")


def test_converted_release_records_and_runs_compat_mode(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    path = _converted_release(tmp_path, monkeypatch)
    assert json.loads(path.with_suffix(".json").read_text())["options"]["mode"] == "compat"
    m = iqa.create("tunet")
    assert m.mode == "compat" and m.model.mode == "compat" and m.options()["mode"] == "compat"
    assert iqa.create("tunet", mode="compat").mode == "compat"  # asking for the recorded mode is fine


def test_released_weights_refuse_per_image_mode(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    _converted_release(tmp_path, monkeypatch)
    with pytest.raises(InputError, match="trained in 'compat' mode and cannot run mode='per_image'.*batch"):
        iqa.create("tunet", mode="per_image")


def test_old_conversion_without_a_mode_warns_and_runs_compat(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    path = _converted_release(tmp_path, monkeypatch)
    rec = path.with_suffix(".json")
    record = json.loads(rec.read_text())
    del record["options"]["mode"]  # as written before conversions recorded the mode
    rec.write_text(json.dumps(record))
    reconvert = r"iqa weights convert tanet SRCC_513_LCC_531_MSE_016\.pth --variant tad66k"
    with pytest.warns(UserWarning, match=reconvert):
        assert iqa.create("tunet").mode == "compat"
    with pytest.warns(UserWarning, match=reconvert), pytest.raises(InputError, match="cannot run mode='per_image'"):
        iqa.create("tunet", mode="per_image")


@torch.no_grad()
def test_a_weights_file_without_a_record_needs_an_explicit_mode(tmp_path) -> None:  # noqa: ANN001
    from safetensors.torch import save_file

    bare = tmp_path / "tanet.safetensors"
    save_file(_net().state_dict(), str(bare))
    with pytest.raises(InputError, match="does not record the mode.*mode='compat'.*mode='per_image'"):
        iqa.create("tunet", weights=bare)
    x = torch.rand(2, 3, 64, 64)
    torch.testing.assert_close(
        iqa.create("tunet", weights=bare, mode="per_image")(x), iqa.create("tunet", model=_net())(x)
    )


def test_a_given_model_keeps_its_mode(tmp_path) -> None:  # noqa: ANN001
    net = _net(mode="per_image")
    assert iqa.create("tunet", model=net).mode == "per_image"
    assert iqa.create("tunet", model=_net(mode="compat")).mode == "compat"
    with pytest.raises(InputError, match="runs mode 'per_image'"):
        iqa.create("tunet", model=net, mode="compat")
    assert net.mode == "per_image"  # not switched behind the caller's back


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
    c = iqa.create("tunet", mode="compat", model=_net(mode="compat"))
    with pytest.warns(UserWarning, match="batch of one"):
        alone = c(x[:1]).item()
    assert alone != pytest.approx(c(x)[0].item(), abs=1e-7)


@torch.no_grad()
def test_compat_mode_warns_when_an_image_is_scored_alone() -> None:
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    with pytest.warns(UserWarning, match="batch of one.*batches of 40"):
        iqa.create("tunet", model=_net(mode="compat"))(x[:1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for a real batch, nor per image
        iqa.create("tunet", model=_net(mode="compat"))(x)
        iqa.create("tunet", model=_net())(x[:1])


def test_cli_convert(tmp_path) -> None:  # noqa: ANN001
    from click.testing import CliRunner

    from iqa.cli.main import cli

    ckpt = tmp_path / "SRCC_758_LCC_765.pth"
    torch.save({"state_dict": _net("ava").state_dict()}, ckpt)  # the other wrapper a checkpoint may have
    r = CliRunner().invoke(
        cli, ["weights", "convert", "tanet", str(ckpt), "--variant", "ava", "--out-dir", str(tmp_path / "w")]
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "w" / "tanet_ava.safetensors").exists() and "tanet_ava" in r.output and "compat" in r.output
    assert json.loads((tmp_path / "w" / "tanet_ava.json").read_text())["options"] == {
        "variant": "ava",
        "mode": "compat",
    }
