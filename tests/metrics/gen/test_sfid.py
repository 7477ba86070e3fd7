"""sfid: the ADM evaluator's spatial features and their Frechet distance.

The evaluator's TF graph cannot run here (no TensorFlow, no graph file). Its definition
(openai/guided-diffusion ``evaluations/evaluator.py``) is ``mixed_6/conv:0`` of the 2015 graph fed
with uint8 values as float32, then ``spatial[..., :7]`` and ``reshape([N, -1])`` on the NHWC map.
The independent transcription below runs torch-fidelity's Inception (its own code, bit-exact with
the TF graph by its tests) with the same seeded random state dict, taps ``Mixed_6d.branch1x1``
(``mixed_6/conv``: torch-fidelity's weight converter maps mixed_6 to Mixed_6d) with a forward
hook, and applies those two numpy lines.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import iqa
from iqa.errors import InputError
from iqa.features.inception import FIDInceptionNet, FIDInceptionSpatial7
from iqa.stats import GaussianStats
from tests.helpers.random_weights import randomize


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    return randomize(FIDInceptionNet(), seed=7)


def _adm_features(state: dict[str, torch.Tensor], u8: torch.Tensor, tmp: Path) -> np.ndarray:
    """The ADM definition on torch-fidelity's network: NHWC mixed_6/conv, [..., :7], reshape([N, -1])."""
    fe = pytest.importorskip("torch_fidelity.feature_extractor_inceptionv3")
    path = tmp / "w.pth"
    torch.save(state, path)
    net = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["768"], feature_extractor_weights_path=str(path))
    taps: list[torch.Tensor] = []
    net.Mixed_6d.branch1x1.register_forward_hook(lambda mod, inp, out: taps.append(out.clone()))
    with torch.no_grad():
        net(u8)
    spatial = taps[0].permute(0, 2, 3, 1).numpy()  # TF's NHWC map of mixed_6/conv:0, (N, 17, 17, 192)
    spatial = spatial[..., :7]  # evaluator.py: spatial = spatial[..., :7]
    return spatial.reshape([spatial.shape[0], -1])  # evaluator.py: spatial_pred.reshape([N, -1])


def test_features_match_the_adm_definition(state, photos, tmp_path: Path) -> None:  # noqa: ANN001
    images = photos[:2, :, :128, :160]  # the evaluator takes any size: its graph resizes to 299
    u8 = (images * 255).round().to(torch.uint8)
    ref = torch.from_numpy(_adm_features(state, u8, tmp_path))
    net = FIDInceptionNet()
    net.load_state_dict(state, strict=True)
    ext = FIDInceptionSpatial7(net.eval())
    with torch.no_grad():
        ours = ext(images)
        m = ext.net.mixed_6_conv(ext._input(images))  # our NCHW map, to spell out the order
    assert ours.shape == ref.shape == (2, 7 * 17 * 17)
    # post-ReLU tap: non-negative with zeros (a pre-ReLU or BatchNorm tap would have negatives)
    assert ours.min() >= 0 and (ours == 0).any() and ours.abs().mean() > 1e-3
    # Same network and TF-exact input path; ours folds BatchNorm into the convolutions and runs
    # channels_last: float32 rounding, measured ~1e-6 here; 1e-4 relative to the features' scale.
    assert (ours - ref).abs().max() <= 1e-4 * ref.abs().max()
    for h, w, c in [(0, 0, 0), (0, 1, 0), (0, 0, 6), (16, 16, 6), (5, 11, 3)]:
        assert ours[1, (h * 17 + w) * 7 + c] == m[1, c, h, w]  # NHWC order, channels 0-6


def _adm_npz(path: Path, features: np.ndarray) -> Path:
    """An ADM-style reference batch: its ``mu_s``/``sigma_s`` (``np.mean``, ``np.cov(rowvar=False)``)."""
    np.savez(path, mu_s=features.mean(0), sigma_s=np.cov(features, rowvar=False))
    return path


def _read_spatial(path: Path) -> GaussianStats:
    # as GaussianStats.load_npz reads pytorch-fid files without a count: cov == sigma_s, n unknown
    with np.load(path) as z:
        mu, sigma = torch.from_numpy(z["mu_s"]), torch.from_numpy(z["sigma_s"])
    return GaussianStats(mu.numel(), 2, mu, sigma, n_known=False)


def test_frechet_on_adm_style_reference_statistics(tmp_path: Path) -> None:
    from scipy import linalg

    from tests.helpers.fake_extractor import TinyExtractor

    # A 2023-d Frechet distance costs ~14 s of CPU (two 2023 x 2023 eigendecompositions): the value
    # is checked on a 16-d injected extractor; the 2023-d statistics' path is checked below without it.
    rng = np.random.default_rng(0)
    real, fake = np.abs(rng.normal(size=(60, 16))), np.abs(rng.normal(0.1, 1.2, size=(50, 16)))
    ref = _adm_npz(tmp_path / "VIRTUAL_ref.npz", real)
    m = iqa.create("sfid", extractor=TinyExtractor(), method="scipy")
    m.set_reference(_read_spatial(ref))
    m.update_features(torch.from_numpy(fake), real=False)
    # TTUR's formula as evaluator.py writes it (FIDStatistics.frechet_distance), sample side first
    mu1, sigma1 = fake.mean(0), np.cov(fake, rowvar=False)
    mu2, sigma2 = real.mean(0), np.cov(real, rowvar=False)
    covmean = linalg.sqrtm(sigma1.dot(sigma2)).real
    expected = (mu1 - mu2).dot(mu1 - mu2) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)
    out = m.compute()
    assert out.value == pytest.approx(expected, rel=1e-9)  # float64, full rank, same sqrtm: rounding only
    assert (out.n_real, out.n_fake) == (None, 50)  # a file without a count: n unknown

    m = iqa.create("sfid")  # its extractor is built on the first image only: statistics need no weights
    assert m.extractor.dim == 7 * 17 * 17
    with pytest.raises(InputError, match="2048-d"):
        m.set_reference(GaussianStats.from_features(torch.rand(3, 2048, dtype=torch.float64)))  # FID's pool3
    spatial = _read_spatial(_adm_npz(tmp_path / "s.npz", rng.random((3, 7 * 17 * 17))))
    m.set_reference(spatial)
    m.update_stats(spatial, real=False)
    assert m.statistics(real=True).dim == m.statistics(real=False).dim == 2023


def test_missing_weights_is_an_error_not_random_init(photos) -> None:  # noqa: ANN001
    from iqa.errors import WeightsNotFoundError

    m = iqa.create("sfid")
    with pytest.raises(WeightsNotFoundError, match="pt_inception-2015-12-05"):
        m.update(photos[:1], real=False)
