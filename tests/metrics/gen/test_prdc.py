"""precision_<x>, recall_<x>, density_<x>, coverage_<x>: the metrics against prdc and torch-fidelity."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import iqa
from iqa.errors import InputError
from tests.conftest import shared_path
from tests.helpers.fake_extractor import TinyExtractor

NAMES = ("precision", "recall", "density", "coverage")


def _features(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """16-d float32 features (TinyExtractor's width), overlapping sets: every value strictly inside (0, 1)."""
    g = np.random.default_rng(seed)
    real = torch.from_numpy(g.standard_normal((400, 16))).float()
    return real, torch.from_numpy(g.standard_normal((300, 16)) * 1.2 + 0.2).float()


def _value(name: str, real: torch.Tensor, fake: torch.Tensor, **options: object) -> iqa.metrics.base.DistributionResult:  # type: ignore[name-defined]
    m = iqa.create(name, extractor=TinyExtractor(), **options)
    m.update_features(real[:150], real=True)  # in two batches each: the sets are concatenated
    m.update_features(fake, real=False)
    m.update_features(real[150:], real=True)
    return m.compute()


def test_all_four_match_the_prdc_package(capsys) -> None:  # noqa: ANN001
    """The paper's k per metric (3 for precision/recall, 5 for density/coverage) against
    prdc.compute_prdc with that nearest_k on the same features: equal counts (1e-12)."""
    ref_pkg = pytest.importorskip("prdc")
    real, fake = _features()
    for name in NAMES:
        out = _value(f"{name}_efficientnet_lite0", real, fake)
        k = 3 if name in ("precision", "recall") else 5
        ref = ref_pkg.compute_prdc(real.numpy(), fake.numpy(), nearest_k=k)[name]
        assert out.value == pytest.approx(float(ref), abs=1e-12), name
        assert 0 < out.value < 1
        assert out.extras == {"k": k} and (out.n_real, out.n_fake) == (400, 300)
    capsys.readouterr()  # prdc prints the sample counts


def test_precision_recall_match_torch_fidelity() -> None:
    """torch-fidelity 0.4.0 prc_features_to_metric(generated, real), k = 3, on the same float32 features;
    it averages in float32, hence 1e-6."""
    metric_prc = pytest.importorskip("torch_fidelity.metric_prc")
    real, fake = _features(1)
    ref = metric_prc.prc_features_to_metric(
        fake, real, prc_neighborhood=3, prc_batch_size=10000, save_cpu_ram=False, verbose=False
    )
    for name in ("precision", "recall"):
        assert _value(f"{name}_inception", real, fake).value == pytest.approx(ref[name], abs=1e-6)


def test_k_option_and_small_sets() -> None:
    real, fake = _features(2)
    k7 = _value("coverage_clip_vit_l14", real, fake, k=7)
    assert k7.extras == {"k": 7} and k7.value > _value("coverage_clip_vit_l14", real, fake).value  # bigger balls
    with pytest.raises(InputError):
        iqa.create("precision_inception", extractor=TinyExtractor(), k=0)
    m = iqa.create("density_inception", extractor=TinyExtractor())
    m.update_features(real[:5], real=True)
    m.update_features(fake, real=False)
    with pytest.raises(InputError, match=r"k=5 .*real set \(it has 5\)"):
        m.compute()
    m = iqa.create("recall_inception", extractor=TinyExtractor())
    m.update_features(real, real=True)
    m.update_features(fake[:3], real=False)
    with pytest.raises(InputError, match=r"k=3 .*generated\) set \(it has 3\)"):
        m.compute()


def test_compare_runs_offline_on_image_folders() -> None:
    """The issue's panel on real images with the offline EfficientNet-Lite0 (Set14 as real, Set5 as generated)."""
    images = shared_path("data", "images")
    names = ["fd", "precision", "density", "vendi"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # FD on 14 images in 1280-d: the rank warning
        out = iqa.compare(images / "Set14", images / "Set5", [f"{n}_efficientnet_lite0" for n in names])
    assert (out["n_a"], out["n_b"]) == (14, 5) and not out["failed"]
    assert 0 <= out["precision_efficientnet_lite0"] <= 1 and out["precision_efficientnet_lite0_k"] == 3
    assert out["density_efficientnet_lite0"] >= 0 and out["density_efficientnet_lite0_k"] == 5
    assert 1 < out["vendi_efficientnet_lite0"] < 5  # at most the number of generated images
