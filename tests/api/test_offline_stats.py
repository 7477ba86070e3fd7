"""Statistics and feature files compare with no extractor weights (issue 20, item 2).

No FID Inception or CLIP weights exist on this machine (conftest: empty cache, IQA_OFFLINE): a
distribution metric builds its named extractor only when images are given, so ``.npz`` statistics
and ``.npy`` features are used without it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import iqa
from iqa.cli.main import cli
from iqa.errors import WeightsNotFoundError
from iqa.features.base import FeatureExtractor
from iqa.features.registry import DECLARED, LazyExtractor, create_extractor, extractor_class
from iqa.stats import GaussianStats, kid


def _features(n: int, dim: int, shift: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(shift, 1.0, size=(n, dim))


def test_named_extractors_are_built_on_first_use() -> None:
    m = iqa.create("fid")  # before: WeightsNotFoundError for fid_inception_v3_pt here
    assert isinstance(m.extractor, LazyExtractor) and not m.extractor.loaded
    assert (m.extractor.cache_key(), m.extractor.dim) == ("inception_v3_fid", 2048)
    with pytest.raises(WeightsNotFoundError, match="fid_inception_v3_pt"):
        m.update(torch.rand(2, 3, 32, 32), real=True)  # images need the network: resolved now


def test_npz_statistics_give_fid_offline(tmp_path: Path) -> None:
    g = np.random.default_rng(0)
    n, mu1, mu2 = 5000, g.normal(0, 1, 2048), g.normal(0.1, 1, 2048)
    v1, v2 = g.uniform(0.5, 2.0, 2048), g.uniform(0.5, 2.0, 2048)  # diagonal covariances: a closed form
    for name, mu, v in (("a", mu1, v1), ("b", mu2, v2)):
        stats = GaussianStats(2048, n, torch.from_numpy(mu), torch.from_numpy(np.diag(v) * (n - 1)))
        stats.save_npz(tmp_path / f"{name}.npz")
    out = tmp_path / "r.json"
    args = ["compare", str(tmp_path / "a.npz"), str(tmp_path / "b.npz"), "-m", "fid", "-o", str(out)]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    # expected: FID of diagonal Gaussians in closed form, |mu1 - mu2|^2 + sum(v1 + v2 - 2 sqrt(v1 v2));
    # 1e-9 relative: float64 eigen-decompositions of 2048x2048 matrices, nothing else differs
    want = float(((mu1 - mu2) ** 2).sum() + (v1 + v2 - 2 * np.sqrt(v1 * v2)).sum())
    assert json.loads(out.read_text())["fid"] == pytest.approx(want, rel=1e-9)


def test_npy_features_give_kid_and_cmmd_offline(tmp_path: Path) -> None:
    for name, dim in (("i", 2048), ("c", 768)):  # FID Inception pool3, CLIP ViT-L/14@336 embeddings
        np.save(tmp_path / f"x{name}.npy", _features(30, dim, 0.0, 2))
        np.save(tmp_path / f"y{name}.npy", _features(30, dim, 0.3, 3))
    args = ["compare", str(tmp_path / "xi.npy"), str(tmp_path / "yi.npy"), "-m", "kid", "--opt", "kid.subset_size=10"]
    r = CliRunner().invoke(cli, [*args, "--opt", "kid.subsets=5", "-q"])
    assert r.exit_code == 0, r.output
    got = json.loads(r.stdout)
    # expected: iqa.stats.kid (torch-fidelity's draws, checked in tests/stats) on the generated then real features
    fx, fy = (torch.from_numpy(np.load(tmp_path / f"{s}i.npy")) for s in "xy")
    mean, _ = kid(fy, fx, subsets=5, subset_size=10, degree=3, coef0=1.0, seed=2020)
    assert got["kid"] == pytest.approx(mean, rel=1e-12) and got["n_a"] == got["n_b"] == 30
    r = CliRunner().invoke(cli, ["compare", str(tmp_path / "xc.npy"), str(tmp_path / "yc.npy"), "-m", "cmmd"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["cmmd"] > 0
    # the issue's `-m kid -m cmmd` on one pair of files: one of them has the other's dimension, said at once
    r = CliRunner().invoke(
        cli, ["compare", str(tmp_path / "xi.npy"), str(tmp_path / "yi.npy"), "-m", "kid", "-m", "cmmd"]
    )
    assert (
        r.exit_code == 2
        and "holds 2048-d features (30 rows); cmmd's extractor" in r.output
        and "gives 768-d" in r.output
    )


# DINOv2 names build on the meta device and are checked in tests/features/test_dinov2.py
@pytest.mark.parametrize("name", sorted(n for n in DECLARED if not n.startswith("dinov2")))
def test_declared_shapes_match_the_extractors(name: str) -> None:
    key, dim = DECLARED[name]
    cls = extractor_class(name)
    if name.startswith("clip"):
        from tests.features.test_clip import tiny_clip

        open_clip = pytest.importorskip("open_clip")
        # the key is the built extractor's; the dimension is the tower's embed_dim in open_clip's config
        assert create_extractor(name, model=tiny_clip()).cache_key() == key
        assert open_clip.get_model_config(cls.default_model)["embed_dim"] == dim
    elif name in ("efficientnet_lite0", "pixel_stats"):  # build offline: compare with the real thing
        ext = create_extractor(name)
        assert (ext.cache_key(), ext.dim) == (key, dim)
    else:  # FID Inception: name and dim are class attributes, cache_key is the base class's
        assert (cls.name, cls.dim, cls.cache_key is FeatureExtractor.cache_key) == (key, dim, True)


def test_lazy_extractor_is_built_as_it_was_moved_and_set() -> None:
    ext = LazyExtractor("pixel_stats", key="pixel_stats-v2", dim=98).eval()
    x = torch.rand(2, 3, 40, 40, dtype=torch.float64)
    assert torch.equal(ext(x), create_extractor("pixel_stats")(x)) and ext.loaded and not ext.load().training
    net = LazyExtractor("efficientnet_lite0", key="efficientnet_lite0", dim=1280).to("meta")
    assert net.load().weights_device() == torch.device("meta")  # built on the device it was moved to
    wrong = LazyExtractor("pixel_stats", key="pixel_stats-v1", dim=98)
    with pytest.raises(TypeError, match="declared as"):
        wrong.load()
