"""Quality pre-training: batch construction (classes, labels, ids), seeded exact resume, config errors,
and `iqa train qpt` -> `iqa fit-head qpt` -> iqa.create("qpt") end to end on a tiny set."""

from __future__ import annotations

import json
from dataclasses import asdict

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import iqa
from iqa.augment.bank import distort
from iqa.augment.chains import N_CLASSES
from iqa.cli.main import cli
from iqa.errors import InputError
from iqa.training.pretrain import PretrainConfig, load_config, pretrain
from iqa.training.pretrain_data import contrique_batch, load_sources, qpt_batch, synthetic_class


def _sources(n: int = 3, size: int = 80) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    base = np.linspace(0, 255, size)[None, :, None] * np.ones((size, 1, 3))
    return [np.clip(base + rng.normal(0, 20, (size, size, 3)), 0, 255).astype(np.uint8) for _ in range(n)]


def test_contrique_batch_labels() -> None:
    xa, xb, labels = contrique_batch(_sources(), 2, 32, np.random.default_rng(0))
    assert xa.shape == xb.shape == (4, 3, 32, 32) and labels.shape == (4, N_CLASSES + 2)
    assert (labels.sum(1) == 1).all()
    assert labels[:2, :N_CLASSES].sum() == 2  # synthetic rows: one of the 126 classes
    assert labels[2, N_CLASSES] == 1 and labels[3, N_CLASSES + 1] == 1  # authentic rows: their own identity column


def test_synthetic_classes_follow_kadid_order() -> None:
    a = _sources(1, 40)[0]
    assert synthetic_class(a, N_CLASSES - 1, 0) is a  # the last class is "pristine"
    x = torch.from_numpy(a.copy()).permute(2, 0, 1).float() / 255
    by_hand = (
        (distort(x, 10, level=3, seed=7).clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    )  # type 10 = jpeg
    assert np.array_equal(synthetic_class(a, 9 * 5 + 2, 7), by_hand)


def test_qpt_batch_ids() -> None:
    crops, content, degr, fallbacks = qpt_batch(_sources(), 2, 32, np.random.default_rng(0))
    assert crops.shape == (8, 3, 32, 32) and fallbacks == 0
    assert content.tolist() == [0, 0, 0, 0, 1, 1, 1, 1] and degr.tolist() == [0, 0, 1, 1, 0, 0, 1, 1]


def _cfg(method: str = "contrique", **kw: object) -> PretrainConfig:
    return PretrainConfig(
        method=method, trunk="resnet18", crop=32, batch=2, steps=4, lr=0.01, checkpoint_every=2, threads=1, **kw
    )


class _Stop(Exception):
    pass


@pytest.mark.parametrize("method", ["contrique", "qpt"])
def test_resume_repeats_the_uninterrupted_run(tmp_path, method: str) -> None:  # noqa: ANN001
    src = _sources()
    whole, log = pretrain(_cfg(method), src, tmp_path / "a")

    def stop_at_3(_label: str, done: int, _total: int) -> None:
        if done == 3:
            raise _Stop

    with pytest.raises(_Stop):
        pretrain(_cfg(method), src, tmp_path / "b", progress=stop_at_3)  # checkpoint at step 2, log line 3 written
    with pytest.raises(InputError, match="--resume"):
        pretrain(_cfg(method), src, tmp_path / "b")
    with pytest.raises(InputError, match="other settings.*lr"):
        pretrain(PretrainConfig(**{**asdict(_cfg(method)), "lr": 0.02}), src, tmp_path / "b", resume=True)
    resumed, log2 = pretrain(_cfg(method), src, tmp_path / "b", resume=True)
    for k, v in whole.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[k], v, rtol=0, atol=1e-6, msg=k)
    assert [r["loss"] for r in log2] == pytest.approx([r["loss"] for r in log], rel=1e-5)
    lines = (tmp_path / "b" / "log.jsonl").read_text().splitlines()
    assert [json.loads(s)["step"] for s in lines] == [
        1,
        2,
        3,
        4,
    ]  # the interrupted step-3 line was replaced, not duplicated


def test_config_errors(tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "c.toml").write_text('images = ["x"]\nlearning_rate = 0.1\n')
    with pytest.raises(InputError, match=r"unknown keys \['learning_rate'\]"):
        load_config(tmp_path / "c.toml")
    (tmp_path / "d.toml").write_text("steps = [\n")
    with pytest.raises(InputError, match="not a readable TOML"):
        load_config(tmp_path / "d.toml")
    with pytest.raises(InputError, match="method must be one of"):
        PretrainConfig(method="simclr")


def test_sources_list_what_they_skip(tmp_path) -> None:  # noqa: ANN001
    Image.fromarray(_sources(1)[0]).save(tmp_path / "ok.png")
    Image.fromarray(_sources(1, 20)[0]).save(tmp_path / "small.png")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    images, skipped = load_sources([str(tmp_path)], 64)
    assert len(images) == 1
    assert any("small.png" in s and "smaller than 64" in s for s in skipped) and any(
        "broken.png" in s and "unreadable" in s for s in skipped
    )
    with pytest.raises(InputError, match="does not exist"):
        load_sources([str(tmp_path / "nope")], 64)


def test_train_fit_head_and_score_end_to_end(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("IQA_CACHE_DIR", str(tmp_path / "cache"))
    imgs = tmp_path / "imgs"
    imgs.mkdir()
    rng = np.random.default_rng(0)
    rows = ["image,mos"]
    for i, a in enumerate(_sources(12, 72)):
        noise = i % 4 * 12
        Image.fromarray(np.clip(a + rng.normal(0, noise + 1e-9, a.shape), 0, 255).astype(np.uint8)).save(
            imgs / f"{i}.png"
        )
        rows.append(f"{i}.png,{100 - noise}")
    (imgs / "labels.csv").write_text("\n".join(rows) + "\n")
    cfg = tmp_path / "tiny.toml"
    cfg.write_text(
        f'images = ["{imgs}"]\ntrunk = "resnet18"\ncrop = 32\nbatch = 2\nsteps = 2\nlr = 0.01\nthreads = 1\n'
    )
    r = CliRunner().invoke(cli, ["train", "qpt", "--config", str(cfg), "--out", str(tmp_path / "run"), "-q"])
    assert r.exit_code == 0, r.output
    enc = tmp_path / "run" / "qpt_encoder.safetensors"
    assert enc.is_file() and "next: iqa fit-head qpt" in r.output
    args = ["fit-head", "qpt", "--dataset", "csv", "--root", str(imgs / "labels.csv"), "--encoder", str(enc), "--name", "tiny",
            "--out-dir", str(tmp_path / "heads"), "--folds", "3", "-q"]  # fmt: skip
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    head = tmp_path / "heads" / "qpt_head_tiny.safetensors"
    record = json.loads(head.with_suffix(".json").read_text())
    assert len(record["sha256"]) == 64 and record["options"]["dataset"] == "csv" and record["options"]["alpha"] > 0
    m = iqa.create("qpt", weights=str(enc), head=str(head))
    x = torch.from_numpy(np.stack(_sources(2, 72))).permute(0, 3, 1, 2).float() / 255
    assert m(x).shape == (2,) and torch.isfinite(m(x)).all()
    # a broken image: listed, the head is still fitted on the rest, exit 1
    (imgs / "3.png").write_bytes(b"broken")
    (tmp_path / "heads" / "features_qpt_csv.npz").unlink()
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 1 and "3.png" in r.output


def test_fit_head_resumes_from_its_feature_cache(tmp_path) -> None:  # noqa: ANN001
    from iqa.datasets.generic import load_csv_dataset
    from iqa.training.heads import dataset_features
    from tests.helpers.quality_heads import random_encoder

    for i, a in enumerate(_sources(3, 70)):
        Image.fromarray(a).save(tmp_path / f"{i}.png")
    (tmp_path / "l.csv").write_text("image,mos\n0.png,1\n1.png,2\n2.png,3\n")
    data = load_csv_dataset(tmp_path / "l.csv")
    enc = random_encoder()
    cache = tmp_path / "f.npz"
    first, _ = dataset_features("qpt", enc, data, cache, save_every=1)
    (tmp_path / "0.png").unlink()  # cached features are not recomputed, so a vanished file no longer matters
    again, failed = dataset_features("qpt", enc, data, cache)
    assert not failed and all(np.array_equal(first[k], again[k]) for k in first)


def test_class_repeats_give_cross_content_positives() -> None:
    from iqa.training.pretrain_data import synthetic_classes

    rng = np.random.default_rng(0)
    k = synthetic_classes(16, 4, rng)
    assert len(k) == 16 and len(set(k)) == 4 and all(k.count(c) == 4 for c in set(k))
    assert len(synthetic_classes(10, 4, rng)) == 10
    assert all(0 <= c < N_CLASSES for c in synthetic_classes(16, 1, rng))
    _, _, labels = contrique_batch(_sources(), 4, 32, np.random.default_rng(1), class_repeats=2)
    shared = labels[:4, :N_CLASSES] @ labels[:4, :N_CLASSES].t()
    assert (shared.sum(1) == 2).all()  # each synthetic image shares its class with exactly one other


def test_batches_without_authentic_images() -> None:
    xa, _, labels = contrique_batch(_sources(), 4, 32, np.random.default_rng(0), class_repeats=2, authentic=0)
    assert xa.shape[0] == 4 and labels.shape == (4, N_CLASSES)
    xa, _, labels = contrique_batch(_sources(), 4, 32, np.random.default_rng(0), authentic=1)
    assert xa.shape[0] == 5 and labels.shape == (5, N_CLASSES + 1) and labels[4, N_CLASSES] == 1


def test_per_method_tables_and_relative_folders(tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "imgs").mkdir()
    (tmp_path / "c.toml").write_text(
        'images = ["imgs"]\nsteps = 10\n[qpt]\nsteps = 20\n[contrique]\nclass_repeats = 4\n'
    )
    c = load_config(tmp_path / "c.toml", method="contrique")
    q = load_config(tmp_path / "c.toml", method="qpt")
    assert (c.steps, c.class_repeats, q.steps, q.class_repeats) == (10, 4, 20, 1)
    assert c.images == [str((tmp_path / "imgs").resolve())]
    (tmp_path / "d.toml").write_text("[qpt]\nstep = 20\n")
    with pytest.raises(InputError, match=r"unknown keys \['step'\]"):
        load_config(tmp_path / "d.toml", method="qpt")
