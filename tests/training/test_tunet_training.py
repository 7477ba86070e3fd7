"""TANet training (issue 9) on a tiny synthetic TAD66k-format set: the generator's layout and labels,
resume to identical weights, and the CLI end to end (train, per-theme correlation report); issue 25:
crops drawn per image as the release, the trained mode recorded with the weights and run by the metric."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from iqa.augment.synth_aesthetics import proxy_score, synthesize_aesthetics
from iqa.cli.main import cli
from iqa.datasets.tad66k import load_tad66k
from iqa.errors import InputError
from iqa.training.tunet import TUNetTrainConfig, augment_batch, build_model, load_train_images, train_tunet


def _sources(root, per_theme: int = 3):  # noqa: ANN001, ANN202
    rng = np.random.default_rng(0)
    for t in ("beach", "city"):
        (root / t).mkdir(parents=True)
        for i in range(per_theme):
            Image.fromarray((rng.random((90, 120, 3)) * 255).astype(np.uint8)).save(root / t / f"{t}{i}.png")
    return root


def test_synthetic_set_has_the_tad66k_layout_and_labels(tmp_path) -> None:  # noqa: ANN001
    src = _sources(tmp_path / "src")
    res = synthesize_aesthetics(src, tmp_path / "tad", per_image=2, test_fraction=0.5, seed=1)
    data = load_tad66k(tmp_path / "tad")  # the real loader reads it
    assert len(data) == res.train + res.test == 12 and set(data.table["theme"]) == {"beach", "city"}
    sources = data.table.assign(src=data.table["image"].str.rsplit("_", n=1).str[0])
    assert sources.groupby("src")["split"].nunique().max() == 1  # no source photo on both sides
    assert (tmp_path / "tad" / "SYNTHETIC.txt").read_text().startswith("A small synthetic dataset")
    assert proxy_score(0, 1.2, 1, 0) == pytest.approx(10.0) and proxy_score(3, 1.2, 1, 0) == pytest.approx(
        10 - 9 * 0.35
    )
    with pytest.raises(InputError, match="sub-folders"):
        synthesize_aesthetics(src / "beach", tmp_path / "x")


def test_resume_reaches_the_uninterrupted_weights(tmp_path) -> None:  # noqa: ANN001
    src = _sources(tmp_path / "src", per_theme=2)
    synthesize_aesthetics(src, tmp_path / "tad", per_image=1, test_fraction=0.0)
    images, targets, failed = load_train_images(load_tad66k(tmp_path / "tad").subset("train"))
    assert images.shape == (4, 3, 256, 256) and not failed and ((targets > 0.1) & (targets <= 1)).all()
    cfg = TUNetTrainConfig(epochs=2, batch=2, lr=1e-3)
    full, hist = train_tunet(build_model(cfg), images, targets, cfg)
    ck = tmp_path / "ck.pt"
    train_tunet(build_model(cfg), images, targets, replace(cfg, epochs=1), checkpoint=ck)
    state = torch.load(ck, weights_only=True)
    state["key"]["epochs"] = 2  # as if a 2-epoch run had been killed after its first epoch
    torch.save(state, ck)
    resumed, hist2 = train_tunet(build_model(cfg), images, targets, cfg, checkpoint=ck, resume=True)
    assert hist2 == hist and all(np.isfinite(h["train_mse"]) for h in hist)
    for (k, a), b in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k
    with pytest.raises(InputError, match="resume"):
        train_tunet(build_model(cfg), images, targets, cfg, checkpoint=ck)


def test_cli_trains_and_reports_per_theme(tmp_path) -> None:  # noqa: ANN001
    src = _sources(tmp_path / "src", per_theme=6)
    synthesize_aesthetics(src, tmp_path / "tad", per_image=2, test_fraction=0.5, seed=3)
    test = load_tad66k(tmp_path / "tad").subset("test").table
    assert test.groupby("theme").size().min() >= 5, test.groupby("theme").size()  # both themes scored
    out = tmp_path / "run"
    r = CliRunner().invoke(cli, ["train", "tunet", "--root", str(tmp_path / "tad"), "--out", str(out), "--epochs", "1",
                                 "--batch", "4", "-q"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "test (" in r.output and "SRCC" in r.output
    assert (out / "tunet.safetensors").exists() and (out / "tunet.json").exists() and (out / "report").is_dir()
    md = (out / "report" / "report.md").read_text()
    assert "tad66k format, SYNTHETIC (test)" in md and "beach" in md and "city" in md  # per-theme breakdown


def test_emd_loss_hand_computed() -> None:
    from iqa.training.tunet import emd_loss

    p = torch.tensor([[0.5, 0.5, 0.0]])
    q = torch.tensor([[0.0, 0.5, 0.5]])
    # CDFs (0.5, 1, 1) and (0, 0.5, 1): |diff| = (0.5, 0.5, 0)
    assert emd_loss(p, q, r=1).item() == pytest.approx(1 / 3)
    assert emd_loss(p, q, r=2).item() == pytest.approx((0.5 / 3) ** 0.5)
    assert emd_loss(q, q).item() == 0
    with pytest.raises(InputError, match="distributions"):
        emd_loss(p, q[:, :2])


def test_trunks_by_name() -> None:
    from iqa.models.tanet_trunks import aesthetics_trunk, theme_trunk

    t, dim = theme_trunk("efficientnet_lite0")  # the offline ImageNet weights
    a, adim = aesthetics_trunk("efficientnet_lite0")
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert dim == 1000 and t.eval()(x).shape == (1, 1000)
        assert adim == 1280 and a.eval()(x).shape == (1, 1280, 7, 7)
    with pytest.raises(InputError, match="unknown theme trunk"):
        theme_trunk("vgg")
    with pytest.raises(InputError, match="timm trunk"):
        aesthetics_trunk("timm:no_such_model_xyz")


@torch.no_grad()
def test_trained_weights_load_into_the_metric(tmp_path) -> None:  # noqa: ANN001
    import iqa
    from iqa.training.runs import save_converted_tunet

    cfg = TUNetTrainConfig(theme_trunk="efficientnet_lite0", aes_trunk="efficientnet_lite0")
    net = build_model(cfg).eval()
    (tmp_path / "checkpoint.pt").write_bytes(b"x")  # the record hashes the training checkpoint
    path = save_converted_tunet(net.state_dict(), tmp_path, cfg, "tad66k")  # what `iqa train tunet` writes
    m = iqa.create("tunet", weights=path, theme_trunk="efficientnet_lite0", aes_trunk="efficientnet_lite0")
    assert m.mode == "per_image"  # from the record, not a default
    x = torch.rand(2, 3, 64, 64)
    torch.testing.assert_close(m(x), iqa.create("tunet", model=net)(x))
    with pytest.raises(InputError, match="trained in 'per_image' mode and cannot run mode='compat'"):
        iqa.create(
            "tunet", weights=path, mode="compat", theme_trunk="efficientnet_lite0", aes_trunk="efficientnet_lite0"
        )


def test_the_trained_mode_is_recorded_and_run(tmp_path) -> None:  # noqa: ANN001
    import json

    import iqa
    from iqa.training.runs import save_converted_tunet

    cfg = TUNetTrainConfig(theme_trunk="efficientnet_lite0", aes_trunk="efficientnet_lite0", mode="compat")
    net = build_model(cfg)
    assert net.mode == "compat"
    (tmp_path / "checkpoint.pt").write_bytes(b"x")  # the record hashes the training checkpoint
    path = save_converted_tunet(net.state_dict(), tmp_path, cfg, "tad66k")
    assert json.loads(path.with_suffix(".json").read_text())["options"]["mode"] == "compat"
    m = iqa.create("tunet", weights=path, theme_trunk="efficientnet_lite0", aes_trunk="efficientnet_lite0")
    assert m.mode == "compat"
    # a file trained before the mode was recorded: training was per_image only then
    record = json.loads(path.with_suffix(".json").read_text())
    del record["options"]["mode"]
    path.with_suffix(".json").write_text(json.dumps(record))
    m = iqa.create("tunet", weights=path, theme_trunk="efficientnet_lite0", aes_trunk="efficientnet_lite0")
    assert m.mode == "per_image"


def test_crops_are_drawn_per_image() -> None:
    # each pixel stores its own row in channel 0 and column in channel 1 (0..255 fit uint8), so a crop
    # tells where it was taken: its top-left row, and its left column (read mirrored if it was flipped)
    n = 16
    rows = torch.arange(256, dtype=torch.uint8).view(256, 1).expand(256, 256)
    img = torch.stack([rows, rows.t(), torch.zeros_like(rows)])
    images = img.expand(n, 3, 256, 256).clone()
    mean, std = torch.tensor([0.485, 0.456]).view(1, 2, 1, 1), torch.tensor([0.229, 0.224]).view(1, 2, 1, 1)
    out = augment_batch(images, torch.arange(n), torch.Generator().manual_seed(0))
    coords = ((out[:, :2] * std + mean) * 255).round().long()  # back to the stored rows and columns
    assert out.shape == (n, 3, 224, 224)
    tops = coords[:, 0, 0, 0]
    first_cols, last_cols = coords[:, 1, 0, 0], coords[:, 1, 0, -1]
    flipped = first_cols > last_cols
    lefts = torch.where(flipped, 255 - first_cols, first_cols)
    # every crop is a whole 224 window of one image
    assert torch.equal(coords[:, 0, :, 0] - tops[:, None], torch.arange(224).expand(n, 224))
    assert ((tops >= 0) & (tops <= 32) & (lefts >= 0) & (lefts <= 32)).all()
    # the release's RandomCrop draws a position per image: 16 images from 33 x 33 positions share one
    # corner with probability 33^-30 and their tops all agree with probability 33^-15
    assert len(set(zip(tops.tolist(), lefts.tolist()))) > 1 and len(set(tops.tolist())) > 1
    assert 0 < int(flipped.sum()) < n  # flips drawn per image too


def test_a_wrong_trunk_weight_file_names_the_file(tmp_path) -> None:  # noqa: ANN001
    from iqa.errors import WeightsError
    from iqa.models.tanet_trunks import aesthetics_trunk, theme_trunk

    bad = tmp_path / "places.pth.tar"
    bad.write_bytes(b"corrupt")
    with pytest.raises(WeightsError, match="places.pth.tar.*Places365"):
        theme_trunk("resnet18_places365", bad)
    other = tmp_path / "mbv2.pth"
    torch.save({"features.0.0.weight": torch.zeros(1)}, other)  # wrong shape
    with pytest.raises(WeightsError, match="mbv2.pth.*mobilenetv2"):
        aesthetics_trunk("mobilenet_v2_nima", other)
