"""Compression hack building blocks: the ~30k-parameter preprocessor, training with checkpoints and
resume, evaluation with the real codec. (The attack's effect: test_compression_hack_effect.py.)"""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

import iqa
from iqa.attacks.compression_hack import (
    HackConfig,
    Preprocessor,
    evaluate_hack,
    pillow_jpeg,
    train_preprocessor,
)
from iqa.errors import InputError
from iqa.evaluation.gains import gain_percent


def test_preprocessor_size_and_identity_start() -> None:
    pre = Preprocessor()
    n = sum(p.numel() for p in pre.parameters())
    assert 20_000 < n < 40_000  # "about 30k parameters" (28,726)
    x = torch.rand(2, 3, 20, 24)
    assert torch.equal(pre(x), x)  # zero gains and last layer: training starts from plain JPEG
    with torch.no_grad():
        pre.gain.fill_(0.5)  # the global stage alone: x + 0.5 (x - per-image channel mean)
    expected = (x + 0.5 * (x - x.mean((2, 3), keepdim=True))).clamp(0, 1)
    assert torch.allclose(pre(x), expected, atol=1e-6)


def test_a_zero_cnn_learning_rate_trains_only_the_global_gains() -> None:
    cfg = HackConfig(metric="psnr", quality=40, crop=32, batch=2, steps=3, lr=0.0, lr_global=1e-2, val_every=0)
    pre, _ = train_preprocessor(iqa.create("psnr"), _images(), cfg)
    assert pre.gain.abs().sum() > 0 and pre.tail.weight.abs().sum() == 0


def _images() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return [torch.rand(3, 40, 48, generator=g) for _ in range(3)]


def test_resume_reaches_the_uninterrupted_weights(tmp_path) -> None:  # noqa: ANN001
    cfg = HackConfig(metric="psnr", quality=50, crop=32, batch=2, steps=6, lr=1e-2, val_every=1, val_crops=2)
    m = iqa.create("psnr")
    full, hist_full = train_preprocessor(m, _images(), cfg)
    ck = tmp_path / "ck.pt"
    train_preprocessor(m, _images(), replace(cfg, steps=3), checkpoint=ck, checkpoint_every=1)
    # A run stopped at step 3 of 6: same settings except the step count would be refused, so
    # rewrite the key as the 6-step run wrote it (as if killed after its third checkpoint).
    state = torch.load(ck, weights_only=True)
    state["key"]["steps"] = 6
    torch.save(state, ck)
    resumed, hist = train_preprocessor(m, _images(), cfg, checkpoint=ck, resume=True)
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)
    assert hist == hist_full  # losses and validations alike
    with pytest.raises(InputError, match="resume"):
        train_preprocessor(m, _images(), cfg, checkpoint=ck)
    with pytest.raises(InputError, match="quality"):
        train_preprocessor(m, _images(), replace(cfg, quality=40), checkpoint=ck, resume=True)


def test_training_moves_the_weights_and_the_loss_is_finite() -> None:
    cfg = HackConfig(metric="haarpsi", quality=30, crop=32, batch=2, steps=3, lr=1e-2, val_every=0)
    pre, hist = train_preprocessor(iqa.create("haarpsi"), _images(), cfg)
    assert pre.tail.weight.abs().sum() > 0 and all(torch.isfinite(torch.tensor(h["loss"])) for h in hist)


def test_the_best_validated_weights_are_returned() -> None:
    # A learning rate this large wrecks the preprocessor; selection by exact-rounding validation
    # must then return the step-0 identity, never something worse than plain JPEG on the crops.
    m = iqa.create("psnr")
    cfg = HackConfig(metric="psnr", quality=50, crop=32, batch=2, steps=4, lr=1.0, val_every=2, val_crops=4)
    pre, hist = train_preprocessor(m, _images(), cfg)
    vals = [h["val"] for h in hist if "val" in h]
    assert [h["step"] for h in hist if "val" in h] == [0, 2, 4]
    best = min(range(len(vals)), key=vals.__getitem__)
    x = torch.rand(1, 3, 16, 16)
    if best == 0:
        assert torch.equal(pre(x), x)
    assert vals[best] <= vals[0]
    from iqa.attacks.compression_hack import random_crops, validation_loss

    crops = random_crops(_images(), 4, 32, torch.Generator().manual_seed(cfg.seed + 1))
    assert validation_loss(pre, m, crops, cfg) == pytest.approx(vals[best])


def test_evaluation_uses_the_real_codec() -> None:
    cfg = HackConfig(metric="psnr", quality=40)
    images = {f"im{i}": x for i, x in enumerate(_images())}
    rows = evaluate_hack(Preprocessor(), images, cfg, {"psnr": iqa.create("psnr"), "ssim": iqa.create("ssim")})
    assert [r["image"] for r in rows] == ["im0", "im1", "im2"]
    for r in rows:  # an identity preprocessor changes nothing: same bytes, same scores
        assert r["psnr_plain"] == r["psnr_hacked"] and r["bpp_plain"] == r["bpp_hacked"] > 0
    dec, nbytes = pillow_jpeg(images["im0"], 40)
    assert dec.shape == images["im0"].shape and nbytes > 0
    assert gain_percent(0.5, 0.6, True) == pytest.approx(20.0) and gain_percent(0.5, 0.6, False) == pytest.approx(-20.0)


def test_config_errors() -> None:
    with pytest.raises(InputError, match="placement"):
        HackConfig(metric="vif", placement="middle")
    with pytest.raises(InputError, match="1..100"):
        HackConfig(metric="vif", quality=0)
    with pytest.raises(InputError, match="optimizer"):
        HackConfig(metric="vif", optimizer="lbfgs")
    from iqa.attacks.compression_hack import random_crops

    with pytest.raises(InputError, match="--crop"):
        random_crops([torch.rand(3, 10, 10)], 1, 16, torch.Generator())


def test_empty_training_set_is_a_clear_error(tmp_path) -> None:  # noqa: ANN001
    from iqa.attacks.compression_hack import random_crops
    from iqa.attacks.compression_run import run_compression_hack

    with pytest.raises(InputError, match="no training images"):
        random_crops([], 1, 16, torch.Generator())
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no images found"):
        run_compression_hack(
            tmp_path / "empty", tmp_path / "empty", tmp_path / "out", HackConfig(metric="psnr"), metrics=["psnr"]
        )
