"""contrique*: conversion of the release's checkpoint and sklearn regressors (on random weights in the
release layout, since CONTRIQUE_checkpoint25.tar is not offline), scores = sklearn's predict, one registered
name per released head with the head's direction, heads of the other direction refused with the name to use."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from sklearn.linear_model import Ridge

import iqa
from iqa.cli.main import cli
from iqa.errors import InputError, WeightsError, WeightsHashError, WeightsNotFoundError
from iqa.models.contrique import ContriqueModel, two_scale_features
from iqa.registry import get_metric_class


def _release(tmp_path, monkeypatch, heads=("Koniq.save", "LIVE.save")):  # noqa: ANN001, ANN202
    """A release-layout checkpoint (saved from DataParallel: ``module.`` keys) and pickled sklearn Ridges."""
    torch.manual_seed(3)
    model = ContriqueModel().eval()
    ckpt = tmp_path / "CONTRIQUE_checkpoint25.tar"
    torch.save({f"module.{k}": v for k, v in model.state_dict().items()}, ckpt)
    models = tmp_path / "models"
    models.mkdir()
    rng = np.random.default_rng(0)
    regs = {}
    for i, name in enumerate(heads):
        reg = Ridge(alpha=0.1).fit(
            rng.normal(size=(30, 4096)).astype(np.float32), rng.uniform(0, 100, 30).astype(np.float32)
        )
        (models / name).write_bytes(pickle.dumps(reg, protocol=2 + i))
        regs[name] = reg
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(tmp_path / "w"))
    return model, ckpt, models, regs


def _images() -> torch.Tensor:
    return torch.rand(2, 3, 70, 96, generator=torch.Generator().manual_seed(1))


def test_conversion_round_trip_scores_as_the_release(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    model, ckpt, models, regs = _release(tmp_path, monkeypatch)
    r = CliRunner().invoke(
        cli,
        [
            "weights",
            "convert",
            "contrique",
            str(ckpt),
            "--regressors",
            str(models),
            "--out-dir",
            str(tmp_path / "w" / "converted"),
        ],
    )
    assert r.exit_code == 0, r.output
    x = _images()
    feats = two_scale_features(model, x).double().numpy()  # the release's features of the original weights
    m = iqa.create("contrique", head="koniq")
    torch.testing.assert_close(
        m(x.double()), torch.from_numpy(regs["Koniq.save"].predict(feats)).double(), rtol=0, atol=1e-8
    )
    assert m.spec.higher_is_better
    live = iqa.create("contrique_live")  # the DMOS head has its own name, its spec lower-is-better
    assert not live.spec.higher_is_better and live.spec is iqa.get_spec("contrique_live")
    torch.testing.assert_close(
        live(x.double()), torch.from_numpy(regs["LIVE.save"].predict(feats)).double(), rtol=0, atol=1e-8
    )
    assert m.options()["head"] == "koniq" and live.options()["head"] == "live"


def test_converted_encoder_equals_the_source_state(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from safetensors.torch import load_file

    from iqa.models.contrique_convert import convert_checkpoint

    model, ckpt, _, _ = _release(tmp_path, monkeypatch, heads=())
    path = convert_checkpoint(ckpt, tmp_path / "w" / "converted")
    state = load_file(str(path))
    assert state.keys() == model.state_dict().keys()
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())


def test_missing_weights_name_the_release_and_the_command(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("IQA_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(WeightsNotFoundError, match=r"CONTRIQUE_checkpoint25\.tar.*iqa weights convert contrique"):
        iqa.create("contrique")


def test_head_absent_after_encoder_conversion_is_clear(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from iqa.models.contrique_convert import convert_checkpoint

    _, ckpt, _, _ = _release(tmp_path, monkeypatch, heads=())
    monkeypatch.setenv("IQA_CACHE_DIR", str(tmp_path / "cache"))
    convert_checkpoint(ckpt, tmp_path / "w" / "converted")
    with pytest.raises(WeightsNotFoundError, match="contrique_head_clive"):
        iqa.create("contrique", head="clive")


def test_bad_checkpoints_are_refused(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from iqa.models.contrique_convert import convert_checkpoint

    _, ckpt, _, _ = _release(tmp_path, monkeypatch, heads=())
    state = torch.load(ckpt, weights_only=True)
    del state["module.projector.4.weight"]
    torch.save(state, tmp_path / "cut.tar")
    with pytest.raises(WeightsError, match="projector.4.weight"):
        convert_checkpoint(tmp_path / "cut.tar", tmp_path / "out")
    (tmp_path / "junk.tar").write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="junk.tar.*not a readable PyTorch checkpoint"):
        convert_checkpoint(tmp_path / "junk.tar", tmp_path / "out")


def test_an_edited_converted_file_is_refused(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from iqa.models.contrique_convert import convert_contrique

    _, ckpt, models, _ = _release(tmp_path, monkeypatch)
    paths = convert_contrique(ckpt, models, out_dir=tmp_path / "w" / "converted")
    head = next(p for p in paths if p.name == "contrique_head_koniq.safetensors")
    head.write_bytes(head.read_bytes()[:-4] + b"\x00\x00\x00\x01")
    with pytest.raises(WeightsHashError, match="corrupt or was edited"):
        iqa.create("contrique", head="koniq")


def test_one_name_per_released_head() -> None:
    from iqa.models.contrique_convert import RELEASE_HEADS

    for head, release in RELEASE_HEADS.items():
        spec = iqa.get_spec(release.metric)
        assert spec.higher_is_better == release.higher_is_better, head
        assert get_metric_class(release.metric).declared_options()["head"].default == head
    assert not iqa.get_spec("contrique_dmos").higher_is_better and iqa.get_spec("contrique_fr_mos").higher_is_better


def test_a_head_of_the_other_direction_is_refused_with_the_name_to_use(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from iqa.models.contrique_convert import convert_contrique
    from iqa.models.quality_heads import RidgeHead
    from tests.helpers.quality_heads import random_encoder

    _, ckpt, models, _ = _release(tmp_path, monkeypatch, heads=("Koniq.save", "LIVE.save", "CSIQ.save"))
    convert_contrique(ckpt, models, out_dir=tmp_path / "w" / "converted")
    with pytest.raises(InputError, match=r"contrique: head 'live' predicts LIVE IQA DMOS.*Use contrique_live"):
        iqa.create("contrique", head="live")
    with pytest.raises(InputError, match=r"head 'koniq'.*Use contrique instead"):
        iqa.create("contrique_csiq", head="koniq")
    assert iqa.create("contrique_live", head="csiq").options()["head"] == "csiq"  # same direction: accepted
    enc = random_encoder()
    dmos = RidgeHead(torch.zeros(1024), 0.0, {"higher_is_better": False, "scale": "my DMOS"})
    with pytest.raises(InputError, match=r"my DMOS.*Use contrique_dmos"):
        iqa.create("contrique", model=enc, head=dmos)
    assert iqa.create("contrique_dmos", model=enc, head=dmos).head is dmos
    mos = RidgeHead(torch.zeros(1024), 0.0, {"higher_is_better": True})
    with pytest.raises(InputError, match="Use contrique_fr_mos"):
        iqa.create("contrique_fr", model=enc, head=mos)
    with pytest.raises(InputError, match="contrique_dmos needs a head"):
        iqa.create("contrique_dmos", model=enc)


def test_cli_lists_converters_and_refuses_unknown_ones() -> None:
    r = CliRunner().invoke(cli, ["weights", "convert", "--help"])
    assert r.exit_code == 0 and "contrique" in r.output and "tanet" in r.output, r.output
    r = CliRunner().invoke(cli, ["weights", "convert", "contrique", "--help"])
    assert r.exit_code == 0 and "--regressors" in r.output and "CHECKPOINT" in r.output, r.output
    r = CliRunner().invoke(cli, ["weights", "convert", "contrik"])
    assert r.exit_code == 2 and "did you mean 'contrique'" in r.output.lower(), r.output
