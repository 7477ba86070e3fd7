"""Reference statistics formats: each round-trips, and files the reference packages write or read agree.

The packages' own code paths are used where they run offline: pytorch-fid's ``.npz`` reader
(``compute_statistics_of_path``), clean-fid's reference loader (``get_reference_statistics`` with
its download pointed at our file), torch-fidelity's cache writer (``torch_atomic_save``) and reader
(``cache_lookup_one_recompute_on_miss``). The ADM evaluator needs TensorFlow (not installed): its
batches are checked against the keys and dtypes its ``read_statistics``/``read_activations`` use
(openai/guided-diffusion evaluations/evaluator.py: ``arr_0``, ``mu``, ``sigma``, ``mu_s``, ``sigma_s``).
Tolerance: exact float64 round trips (1e-12 relative covers the scatter <-> covariance rescaling).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from iqa.errors import InputError
from iqa.stats import GaussianStats
from iqa.stats.formats import (
    detect_format,
    read_reference,
    write_adm,
    write_cleanfid,
    write_cleanfid_kid,
    write_pytorch_fid,
    write_torch_fidelity,
)


def _stats(n: int = 40, dim: int = 6, seed: int = 0) -> tuple[GaussianStats, torch.Tensor]:
    f = torch.from_numpy(np.random.default_rng(seed).normal(size=(n, dim)))
    return GaussianStats.from_features(f), f


def _same(a: GaussianStats, b: GaussianStats) -> None:
    assert torch.allclose(a.mean, b.mean, rtol=1e-12, atol=0) and torch.allclose(a.cov, b.cov, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("writer,fmt", [(write_pytorch_fid, "pytorch_fid"), (write_cleanfid, "pytorch_fid"),
                                        (write_torch_fidelity, "torch_fidelity")])  # fmt: skip
def test_statistics_round_trip(tmp_path: Path, writer, fmt: str) -> None:  # noqa: ANN001
    s, _ = _stats()
    path = writer(s, tmp_path / ("x.pt" if fmt == "torch_fidelity" else "x.npz"))
    ref = read_reference(path)
    assert detect_format(path) == fmt and ref.format == fmt and set(ref.stats) == {"pool"}
    _same(ref.stats["pool"], s)
    assert ref.stats["pool"].n_known == (writer is write_pytorch_fid)  # only iqa's own files carry n


def test_adm_batch_round_trip_and_lazy_images(tmp_path: Path) -> None:
    pool, _ = _stats(dim=6)
    spatial, _ = _stats(dim=5, seed=1)
    images = np.random.default_rng(2).integers(0, 256, (4, 9, 7, 3), dtype=np.uint8)
    path = write_adm(tmp_path / "ref.npz", pool=pool, spatial=spatial, images=images)
    with np.load(path) as z:  # the evaluator's keys and dtypes
        assert sorted(z) == ["arr_0", "mu", "mu_s", "sigma", "sigma_s"] and z["arr_0"].dtype == np.uint8
    ref = read_reference(path)
    assert ref.format == "adm" and ref.image_shape == (4, 9, 7, 3)
    _same(ref.stats["pool"], pool)
    _same(ref.stats["spatial"], spatial)
    assert (
        ref.stats_for(5) is ref.stats["spatial"] and ref.stats_for(6) is ref.stats["pool"] and ref.stats_for(3) is None
    )
    assert np.array_equal(ref.load_images(), images)
    assert "4 images 7x9" in ref.describe()


def test_cleanfid_kid_features_and_npy(tmp_path: Path) -> None:
    _, f = _stats()
    ref = read_reference(write_cleanfid_kid(f, tmp_path / "k.npz"))
    assert ref.format == "cleanfid_kid" and torch.equal(ref.features, f)
    np.save(tmp_path / "f.npy", f.numpy())
    assert torch.equal(read_reference(tmp_path / "f.npy").features, f)


def test_pytorch_fid_reads_our_file(tmp_path: Path) -> None:
    fid_score = pytest.importorskip("pytorch_fid.fid_score")
    s, _ = _stats()
    path = write_pytorch_fid(s, tmp_path / "p.npz")
    mu, sigma = fid_score.compute_statistics_of_path(str(path), None, 1, 6, "cpu")
    assert np.allclose(mu, s.mean.numpy(), rtol=1e-12) and np.allclose(sigma, s.cov.numpy(), rtol=1e-12)


def test_cleanfid_reads_our_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    features = pytest.importorskip("cleanfid.features")
    s, f = _stats()
    stats_file, kid_file = write_cleanfid(s, tmp_path / "s.npz"), write_cleanfid_kid(f, tmp_path / "k.npz")
    urls: list[str] = []

    def local(local_folder: str, url: str) -> str:  # clean-fid's downloader, pointed at our files
        urls.append(url)
        return str(kid_file if url.endswith("_kid.npz") else stats_file)

    monkeypatch.setattr(features, "check_download_url", local)
    mu, sigma = features.get_reference_statistics("cifar10", 32, mode="clean", split="train")
    assert np.allclose(mu, s.mean.numpy(), rtol=1e-12) and np.allclose(sigma, s.cov.numpy(), rtol=1e-12)
    feats = features.get_reference_statistics("cifar10", 32, mode="clean", split="train", metric="KID")
    assert np.array_equal(feats, f.numpy())
    # the names clean-fid asks for are the names our catalogue downloads (cleanfid:<stem>)
    from iqa.weights.manifest import get_reference_stats

    for url in urls:
        stem = url.rsplit("/", 1)[1].removesuffix(".npz")
        assert get_reference_stats(f"cleanfid:{stem}").weight.urls[0].endswith(f"/{stem}.npz")


def test_torch_fidelity_cache_both_ways(tmp_path: Path) -> None:
    utils = pytest.importorskip("torch_fidelity.utils")
    s, f = _stats()
    # its writer -> our reader
    utils.torch_atomic_save({"mu": s.mean.numpy(), "sigma": s.cov.numpy()}, str(tmp_path / "a-stat-fid-6.pt"))
    _same(read_reference(tmp_path / "a-stat-fid-6.pt").stats["pool"], s)
    utils.torch_atomic_save(f.float(), str(tmp_path / "a-features-6.pt"))
    assert torch.equal(read_reference(tmp_path / "a-features-6.pt").features, f.float().double())
    # our writer -> its cache reader (it would recompute on a miss: it must not be called)
    write_torch_fidelity(s, tmp_path / "mine-stat-fid-6.pt")
    got = utils.cache_lookup_one_recompute_on_miss("mine-stat-fid-6", lambda: pytest.fail("cache miss"),
                                                   cache=True, cache_root=str(tmp_path), verbose=False)  # fmt: skip
    assert np.allclose(got["mu"], s.mean.numpy(), rtol=1e-12) and np.allclose(got["sigma"], s.cov.numpy(), rtol=1e-12)


class Evil:  # any non-array object in a .pt file is refused, never unpickled
    pass


def test_arbitrary_pickles_are_refused(tmp_path: Path) -> None:
    torch.save({"mu": Evil(), "sigma": np.eye(2)}, tmp_path / "e.pt")
    with pytest.raises(InputError, match="e.pt: cannot be read as statistics .UnpicklingError"):
        read_reference(tmp_path / "e.pt")


def test_unknown_contents_are_named(tmp_path: Path) -> None:
    np.savez(tmp_path / "odd.npz", a=np.zeros(3))
    with pytest.raises(InputError, match=r"\['a'\] are none of mu/sigma"):
        read_reference(tmp_path / "odd.npz")
    (tmp_path / "x.txt").write_text("no")
    with pytest.raises(InputError, match="not a statistics file"):
        read_reference(tmp_path / "x.txt")


def test_corrupt_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "cut.npz").write_bytes(b"PK\x03\x04 truncated")
    (tmp_path / "junk.pt").write_bytes(bytes(range(256)))
    for name in ("cut.npz", "junk.pt"):
        with pytest.raises(InputError, match=f"{name}: cannot be read as statistics"):
            read_reference(tmp_path / name)
