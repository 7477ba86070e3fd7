"""Statistics and distances: exact merging, Frechet vs scipy/pytorch-fid, chunked MMD, KID parity."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
import torch

from iqa.stats import GaussianStats, frechet_distance, kid, mmd2_rbf
from iqa.stats import mmd as mmd_module


def _gauss(n: int, d: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64) * (1 + shift) + shift


def test_batched_statistics_equal_numpy() -> None:
    f = _gauss(300, 8, 0, 0.5) + 100.0  # a large offset: naive E[x^2] - E[x]^2 would lose digits
    s = GaussianStats(8)
    for i in range(0, 300, 37):
        s.update(f[i : i + 37])
    np.testing.assert_allclose(s.mean.numpy(), f.numpy().mean(0), rtol=1e-13)
    np.testing.assert_allclose(s.cov.numpy(), np.cov(f.numpy(), rowvar=False), rtol=1e-9, atol=1e-12)


def test_npz_roundtrip_and_pytorch_fid_format(tmp_path) -> None:  # noqa: ANN001
    s = GaussianStats(4).update(_gauss(50, 4, 1))
    s.save_npz(tmp_path / "s.npz")
    t = GaussianStats.load_npz(tmp_path / "s.npz")
    assert t.n == 50 and torch.allclose(t.cov, s.cov)
    np.savez(tmp_path / "p.npz", mu=s.mean.numpy(), sigma=s.cov.numpy())  # what pytorch-fid writes
    assert torch.allclose(GaussianStats.load_npz(tmp_path / "p.npz").cov, s.cov)


@pytest.mark.slow
def test_frechet_equals_scipy_route_at_2048_and_is_faster() -> None:
    a, b = _gauss(4096, 2048, 0), _gauss(4096, 2048, 1, 0.1)
    s1, s2 = GaussianStats(2048).update(a), GaussianStats(2048).update(b)
    t0 = time.perf_counter()
    ours = frechet_distance(s1.mean, s1.cov, s2.mean, s2.cov).item()
    t1 = time.perf_counter()
    ref = frechet_distance(s1.mean, s1.cov, s2.mean, s2.cov, method="scipy").item()
    t2 = time.perf_counter()
    assert ours == pytest.approx(ref, rel=1e-6)
    print(f"eigvalsh route {t1 - t0:.2f} s, scipy sqrtm route {t2 - t1:.2f} s")  # speed is in benchmarks/, not asserted


def test_frechet_matches_pytorch_fid_function() -> None:
    fid_score = pytest.importorskip("pytorch_fid.fid_score")
    a, b = _gauss(200, 64, 2), _gauss(200, 64, 3, 0.2)
    mu1, s1 = a.mean(0).numpy(), np.cov(a.numpy(), rowvar=False)
    mu2, s2 = b.mean(0).numpy(), np.cov(b.numpy(), rowvar=False)
    ref = fid_score.calculate_frechet_distance(mu1, s1, mu2, s2)
    ours = frechet_distance(*(torch.from_numpy(v) for v in (mu1, s1, mu2, s2))).item()
    assert ours == pytest.approx(ref, rel=1e-9)


def test_frechet_identities_and_singular_covariance() -> None:
    s = GaussianStats(32).update(_gauss(10, 32, 4))  # rank 9: Cholesky fails, eigh fallback
    # 0 up to rounding relative to the trace (the scipy route is off by the same ~3e-8 relative)
    assert abs(frechet_distance(s.mean, s.cov, s.mean, s.cov).item()) < 1e-7 * torch.trace(s.cov).item()
    t = GaussianStats(32).update(_gauss(10, 32, 5, 0.3))
    d = frechet_distance(s.mean, s.cov, t.mean, t.cov).item()
    assert d > 0 and d == pytest.approx(frechet_distance(t.mean, t.cov, s.mean, s.cov).item(), rel=1e-6)


def _direct_mmd(x: np.ndarray, y: np.ndarray, sigma: float, biased: bool) -> float:
    def k(a, b):  # noqa: ANN001, ANN202
        d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
        return np.exp(-d2 / (2 * sigma**2))

    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    if biased:
        return kxx.mean() + kyy.mean() - 2 * kxy.mean()
    n, m = len(x), len(y)
    return (kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean()


@pytest.mark.parametrize("biased", [True, False])
def test_blocked_mmd_equals_the_direct_formula(biased: bool) -> None:
    x, y = _gauss(130, 12, 6), _gauss(97, 12, 7, 0.2)
    x, y = x / x.norm(dim=1, keepdim=True), y / y.norm(dim=1, keepdim=True)
    ours = mmd2_rbf(x, y, sigma=10.0, biased=biased, block=32).item()  # blocks do not divide n
    assert ours == pytest.approx(_direct_mmd(x.numpy(), y.numpy(), 10.0, biased), rel=1e-6)


def test_mmd_memory_is_bounded_by_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    real = mmd_module._rbf_block_sum

    def spy(a, b, *args):  # noqa: ANN001, ANN002, ANN202
        seen.append(len(a) * len(b))
        return real(a, b, *args)

    monkeypatch.setattr(mmd_module, "_rbf_block_sum", spy)
    x = _gauss(30_000, 4, 8)
    mmd2_rbf(x[:5000], x[5000:10000], block=1024)  # a 5000^2 matrix would be 200 MB in float64
    assert max(seen) <= 1024 * 1024


@pytest.mark.parametrize("dtype,rel", [(torch.float64, 1e-9), (torch.float32, 1e-5)])
def test_kid_matches_torch_fidelity(dtype: torch.dtype, rel: float) -> None:
    # Same subset draws; torch-fidelity computes in the features' dtype, iqa always in float64,
    # so float32 features differ by float32 rounding of the kernel sums (~5e-7 relative here).
    kid_mod = pytest.importorskip("torch_fidelity.metric_kid")
    f1, f2 = _gauss(150, 32, 9).abs().to(dtype), _gauss(140, 32, 10, 0.1).abs().to(dtype)
    ref = kid_mod.kid_features_to_metric(
        f1,
        f2,
        kid_subsets=20,
        kid_subset_size=50,
        verbose=False,
        rng_seed=2020,
        kid_kernel="poly",
        kid_kernel_poly_degree=3,
        kid_kernel_poly_gamma=None,
        kid_kernel_poly_coef0=1,
    )
    mean, std = kid(f1, f2, subsets=20, subset_size=50)
    assert mean == pytest.approx(ref["kernel_inception_distance_mean"], rel=rel)
    assert std == pytest.approx(ref["kernel_inception_distance_std"], rel=rel)


def test_kid_subset_larger_than_sets_warns() -> None:
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        kid(_gauss(20, 8, 11), _gauss(30, 8, 12), subsets=3, subset_size=1000)
    assert any("using 20" in str(x.message) for x in w)


def test_merged_parts_equal_the_whole_and_clone_is_independent() -> None:
    f = _gauss(120, 6, 13, 0.3) + 50.0
    whole = GaussianStats.from_features(f)
    left, right = GaussianStats.from_features(f[:41]), GaussianStats.from_features(f[41:])
    merged = left.clone().merge(right)
    assert merged.n == 120 and left.n == 41
    torch.testing.assert_close(merged.mean, whole.mean, rtol=1e-14, atol=0)
    torch.testing.assert_close(merged.cov, whole.cov, rtol=1e-11, atol=1e-12)
    with pytest.raises(ValueError, match="cannot merge"):
        merged.merge(GaussianStats(5))


def test_npz_without_n_keeps_the_covariance(tmp_path) -> None:  # noqa: ANN001
    s = GaussianStats.from_features(_gauss(30, 4, 14))
    np.savez(tmp_path / "p.npz", mu=s.mean.numpy(), sigma=s.cov.numpy())
    t = GaussianStats.load_npz(tmp_path / "p.npz")
    assert t.n == 2 and t.count is None and torch.allclose(t.cov, s.cov)
    assert GaussianStats.load_npz(s.save_npz(tmp_path / "with_n.npz")).count == 30
    assert s.save_npz(tmp_path / "named").name == "named.npz"  # np.savez's suffix rule
    np.savez(tmp_path / "bad.npz", mean=s.mean.numpy())
    with pytest.raises(ValueError, match="'mu' and 'sigma'"):
        GaussianStats.load_npz(tmp_path / "bad.npz")


def test_float64_statistics_of_mps_data_live_on_the_cpu() -> None:
    from iqa.stats import float64_device

    assert float64_device("mps") == torch.device("cpu")
    assert float64_device("cpu") == torch.device("cpu")
    assert float64_device("cuda:1") == torch.device("cuda", 1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_statistics_and_distances_follow_the_device() -> None:
    f, g = _gauss(300, 16, 15), _gauss(280, 16, 16, 0.2)
    s = GaussianStats(16)
    s.update(f[:100].cuda())  # empty CPU statistics move to the features' device
    assert s.device.type == "cuda"
    s.update(f[100:])  # and keep following the newest input
    assert s.device.type == "cpu"
    s.update(torch.empty(0, 16, device="cuda"))
    cpu, t = GaussianStats.from_features(f), GaussianStats.from_features(g.cuda())
    torch.testing.assert_close(s.cov.cpu(), cpu.cov, rtol=1e-12, atol=1e-12)
    d = frechet_distance(t.mean, t.cov, cpu.mean, cpu.cov)
    assert d.device.type == "cuda" and d.dtype == torch.float64
    assert float(d) == pytest.approx(float(frechet_distance(t.mean.cpu(), t.cov.cpu(), cpu.mean, cpu.cov)), rel=1e-9)
    mean, std = kid(f.cuda(), g.cuda(), subsets=5, subset_size=50)
    assert (mean, std) == pytest.approx(kid(f, g, subsets=5, subset_size=50), rel=1e-9)
    assert float(mmd2_rbf(f.cuda(), g.cuda())) == pytest.approx(float(mmd2_rbf(f, g)), rel=1e-9)
