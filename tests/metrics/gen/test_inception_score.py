"""is (Inception Score): parity with torch-fidelity 0.4.0 on the same logits and end to end.

The FID Inception's published weights are not available offline: the end-to-end test loads one
seeded random state dict in the published key layout into torch-fidelity's extractor (its
``feature_extractor_weights_path``) and into ours, so both run the same network on the same images.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import iqa
from iqa.errors import InputError
from iqa.features.inception import FIDInceptionNet, FIDInceptionTF
from iqa.metrics.gen.inception_score import inception_score
from tests.helpers.fake_extractor import TinyExtractor
from tests.helpers.random_weights import randomize


@pytest.mark.parametrize(
    "n,splits,shuffle,seed",
    [(103, 10, True, 2020), (103, 10, False, 2020), (50, 7, True, 1), (10, 10, True, 2020)],
)
def test_matches_torch_fidelity_on_the_same_logits(n: int, splits: int, shuffle: bool, seed: int) -> None:
    isc = pytest.importorskip("torch_fidelity.metric_isc")
    g = torch.Generator().manual_seed(n + splits)
    logits = torch.randn(n, 1008, generator=g) * 3  # float32, as torch-fidelity's 'logits_unbiased'
    ref = isc.isc_features_to_metric(logits, splits=splits, shuffle=shuffle, rng_seed=seed)
    mean, std = inception_score(logits, splits=splits, shuffle=shuffle, seed=seed)
    # Same float64 operations in the same order (N = 103 makes the splits unequal): only the
    # reductions' summation order may differ, hence 1e-12.
    assert mean == pytest.approx(ref["inception_score_mean"], rel=1e-12)
    assert std == pytest.approx(ref["inception_score_std"], rel=1e-9, abs=1e-14)
    if n == splits:  # one image per split: p(y) = p(y|x), KL 0, IS exactly 1 (both agree)
        assert mean == pytest.approx(1.0, abs=1e-12)
    else:
        assert std > 0 and mean > 1


def test_shuffle_changes_the_splits_not_a_single_split() -> None:
    logits = torch.randn(60, 20, generator=torch.Generator().manual_seed(0)) * 2
    a = inception_score(logits, splits=6, shuffle=True)
    b = inception_score(logits, splits=6, shuffle=False)
    assert a[0] != pytest.approx(b[0], rel=1e-9)  # the seeded permutation regroups the samples
    one = inception_score(logits, splits=1, shuffle=True)
    assert one == pytest.approx(inception_score(logits, splits=1, shuffle=False), rel=1e-12)
    assert one[1] == 0.0  # one split: the score is permutation invariant and has no spread


@pytest.fixture(scope="module")
def shared() -> tuple[Path, dict[str, torch.Tensor], FIDInceptionTF]:
    """One random state dict: as a file for torch-fidelity, and loaded into our TF-path extractor."""
    import tempfile

    state = randomize(FIDInceptionNet(), seed=5)
    path = Path(tempfile.mkdtemp()) / "inception_random.pth"
    torch.save(state, path)
    net = FIDInceptionNet()
    net.load_state_dict(state, strict=True)
    return path, state, FIDInceptionTF(net.eval())


def test_end_to_end_matches_torch_fidelity(shared, photos) -> None:  # noqa: ANN001
    pytest.importorskip("torch_fidelity")
    import torch_fidelity

    path, _, ext = shared
    images = torch.cat([photos[:2, :, :96, :128], photos[2:, :, 96:192, 64:192].flip(-1)])  # 4 x 96x128
    u8 = (images * 255).round().to(torch.uint8)

    class Images(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(u8)

        def __getitem__(self, i: int) -> torch.Tensor:
            return u8[i]

    ref = torch_fidelity.calculate_metrics(
        input1=Images(),
        isc=True,
        isc_splits=2,
        feature_extractor_weights_path=str(path),
        cache=False,
        save_cpu_ram=True,  # no DataLoader worker processes (slow to start, 2 cores)
        verbose=False,
        batch_size=4,
        cuda=False,
    )
    m = iqa.create("is", extractor=ext, splits=2)
    m.update(images[:3], real=False)
    m.update(images[3:], real=False)
    m.update(images.flip(0), real=True)  # ignored: IS uses the generated set alone
    out = m.compute()
    # Same network and input path; ours folds BatchNorm (float32 rounding ~1e-5 on pool3) and takes
    # float64 logits where torch-fidelity multiplies in float32: 1e-5 relative.
    assert out.value == pytest.approx(ref["inception_score_mean"], rel=1e-5)
    assert out.extras["std"] == pytest.approx(ref["inception_score_std"], rel=1e-3, abs=1e-5)
    assert out.value > 1.01  # the random network is not degenerate (all-equal p(y|x) would give 1)
    assert (out.n_real, out.n_fake) == (None, 4)


def test_features_come_from_pool3_and_logits_from_the_bias_free_tap(shared) -> None:  # noqa: ANN001
    _, state, ext = shared
    m = iqa.create("is", extractor=ext, splits=2)
    pool3 = torch.randn(8, 2048, dtype=torch.float64, generator=torch.Generator().manual_seed(2)).abs()
    m.update_features(pool3, real=False)
    logits = pool3 @ state["fc.weight"].double().T  # no fc.bias: torch-fidelity's 'logits_unbiased'
    assert m.compute().value == pytest.approx(inception_score(logits, splits=2)[0], rel=1e-12)
    with_bias = inception_score(logits + state["fc.bias"].double(), splits=2)[0]
    assert m.compute().value != pytest.approx(with_bias, rel=1e-6)  # the bias does change the score


def test_one_sided_in_compare_with_a_reference_file(tmp_path: Path) -> None:
    from iqa.stats import GaussianStats

    g = torch.Generator().manual_seed(3)
    ref = tmp_path / "ref.npz"
    GaussianStats.from_features(torch.randn(40, 16, generator=g, dtype=torch.float64)).save_npz(ref)
    fake = torch.rand(30, 16, generator=g, dtype=torch.float64)
    out = iqa.compare(ref, fake, ["is"], options={"is": {"extractor": TinyExtractor(), "splits": 3}})
    # an extractor without a bias-free tap: its logits() on float32 features (its weights' dtype)
    expected = inception_score(TinyExtractor().logits(fake.float()), splits=3)
    assert (out["is"], out["is_std"]) == pytest.approx(expected, rel=1e-12)


def test_errors_are_clear() -> None:
    m = iqa.create("is", extractor=TinyExtractor())
    with pytest.raises(InputError, match="no generated images"):
        m.compute()
    m.update_features(torch.rand(5, 16), real=False)
    with pytest.raises(InputError, match="at least splits=10"):
        m.compute()
    from iqa.stats import GaussianStats

    with pytest.raises(InputError, match="needs the features"):
        m.update_stats(GaussianStats.from_features(torch.rand(5, 16)), real=False)
    with pytest.raises(InputError, match="shape"):
        m.update_features(torch.rand(5, 15), real=True)  # the ignored side is still checked
