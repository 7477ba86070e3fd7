"""contrique: conversion of the release's checkpoint and sklearn regressors (on random weights in the
release layout, since CONTRIQUE_checkpoint25.tar is not offline), scores = sklearn's predict, heads' directions."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from sklearn.linear_model import Ridge

import iqa
from iqa.cli.main import cli
from iqa.errors import WeightsError, WeightsHashError, WeightsNotFoundError
from iqa.metrics.nr._contrique import ContriqueModel, two_scale_features


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
    live = iqa.create("contrique", head="live")
    assert (
        not live.spec.higher_is_better and iqa.get_spec("contrique").higher_is_better
    )  # DMOS head; the class spec is unchanged
    torch.testing.assert_close(
        live(x.double()), torch.from_numpy(regs["LIVE.save"].predict(feats)).double(), rtol=0, atol=1e-8
    )


def test_converted_encoder_equals_the_source_state(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from safetensors.torch import load_file

    from iqa.metrics.nr._contrique_convert import convert_checkpoint

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
    from iqa.metrics.nr._contrique_convert import convert_checkpoint

    _, ckpt, _, _ = _release(tmp_path, monkeypatch, heads=())
    monkeypatch.setenv("IQA_CACHE_DIR", str(tmp_path / "cache"))
    convert_checkpoint(ckpt, tmp_path / "w" / "converted")
    with pytest.raises(WeightsNotFoundError, match="contrique_head_clive"):
        iqa.create("contrique", head="clive")


def test_bad_checkpoints_are_refused(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    from iqa.metrics.nr._contrique_convert import convert_checkpoint

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
    from iqa.metrics.nr._contrique_convert import convert_contrique

    _, ckpt, models, _ = _release(tmp_path, monkeypatch)
    paths = convert_contrique(ckpt, models, out_dir=tmp_path / "w" / "converted")
    head = next(p for p in paths if p.name == "contrique_head_koniq.safetensors")
    head.write_bytes(head.read_bytes()[:-4] + b"\x00\x00\x00\x01")
    with pytest.raises(WeightsHashError, match="corrupt or was edited"):
        iqa.create("contrique", head="koniq")
