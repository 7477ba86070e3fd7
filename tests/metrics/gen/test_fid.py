"""fid / fid_tf end to end: same folders, same random FID-Inception weights as pytorch-fid."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import iqa
from iqa.errors import InputError
from iqa.features.inception import FIDInceptionNet, FIDInceptionPytorchFID
from iqa.io import read_image
from iqa.stats import GaussianStats
from tests.helpers.fake_extractor import TinyExtractor
from tests.helpers.random_weights import randomize


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    return randomize(FIDInceptionNet(), seed=3)


@pytest.fixture(scope="module")
def two_folders(tmp_path_factory) -> tuple[Path, Path]:  # noqa: ANN001
    """Mixed-size crops of bundled photos (real) and noisy, blurred versions (generated)."""
    import skimage
    from PIL import ImageFilter

    root = tmp_path_factory.mktemp("fid")
    a, b = root / "real", root / "gen"
    a.mkdir()
    b.mkdir()
    rng = np.random.default_rng(0)
    data = Path(skimage.__file__).parent / "data"
    photos = [Image.open(data / n).convert("RGB") for n in ("astronaut.png", "coffee.png", "chelsea.png")]
    for i in range(12):
        p = photos[i % 3]
        w, h = int(rng.integers(120, 260)), int(rng.integers(120, 260))
        x, y = int(rng.integers(0, p.width - w)), int(rng.integers(0, p.height - h))
        crop = p.crop((x, y, x + w, y + h))
        crop.save(a / f"{i:02d}.png")
        noisy = np.asarray(crop.filter(ImageFilter.GaussianBlur(1.5))).astype(float) + rng.normal(0, 12, (h, w, 3))
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(b / f"{i:02d}.png")
    return a, b


def _metric(name: str, state, **kw):  # noqa: ANN001, ANN202
    net = FIDInceptionNet()
    net.load_state_dict(state)
    cls = type(iqa.create(name, extractor=TinyExtractor()))
    ext_cls = {"fid": FIDInceptionPytorchFID}.get(name)
    return cls(extractor=ext_cls(net.eval()), **kw)


@pytest.mark.slow
def test_matches_pytorch_fid_on_folders(state, two_folders, monkeypatch) -> None:  # noqa: ANN001
    fid_score = pytest.importorskip("pytorch_fid.fid_score")
    inception = pytest.importorskip("pytorch_fid.inception")
    monkeypatch.setattr(inception, "load_state_dict_from_url", lambda *a, **k: state)
    real, gen = two_folders
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # batch_size=1: pytorch-fid cannot stack mixed sizes (its users resize or crash)
        ref = fid_score.calculate_fid_given_paths(
            [str(real), str(gen)], batch_size=1, device="cpu", dims=2048, num_workers=0
        )
        for method in ("scipy", "eigh"):
            m = _metric("fid", state, method=method)
            for folder, is_real in ((real, True), (gen, False)):
                for f in sorted(folder.iterdir()):
                    m.update(read_image(f).unsqueeze(0), real=is_real)
            assert m.compute().value == pytest.approx(ref, rel=1e-4), method


def test_rank_deficiency_warns_with_the_consequence(photos) -> None:  # noqa: ANN001
    m = iqa.create("fid", extractor=TinyExtractor())
    m.update(photos[:3], real=True)
    m.update(photos[1:], real=False)
    with pytest.warns(UserWarning, match="strongly biased"):
        m.compute()


def test_reference_statistics_are_reusable(photos, tmp_path: Path) -> None:  # noqa: ANN001
    x = torch.cat([photos, photos.flip(-1), photos.flip(-2)] * 8)  # 96 images > 16 dims
    y = x * 0.8 + 0.1
    a = iqa.create("fid", extractor=TinyExtractor())
    a.update(x, real=True)
    a.update(y, real=False)
    a.real.save_npz(tmp_path / "ref.npz")
    b = iqa.create("fid", extractor=TinyExtractor())
    b.set_reference(tmp_path / "ref.npz")
    for i in range(0, len(y), 7):  # any batching gives the same statistics
        b.update(y[i : i + 7], real=False)
    # float32 conv features differ by ~1e-9 between batch sizes; the statistics merge exactly
    assert b.compute().value == pytest.approx(a.compute().value, rel=1e-6)
    with pytest.raises(InputError, match="set_reference"):
        b.update(x, real=True)


def test_input_errors(photos) -> None:  # noqa: ANN001
    m = iqa.create("fid", extractor=TinyExtractor())
    with pytest.raises(InputError, match="at least 2"):
        m.compute()
    with pytest.raises(ValueError, match="channels"):
        m.update(photos[:, :1], real=True)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        m.update(photos * 2 - 1, real=True)
    with pytest.raises(InputError, match="unknown feature extractor"):
        iqa.create("fid", extractor="inceptoin")


def test_statistics_accept_external_npz(tmp_path: Path) -> None:
    mu, sigma = np.zeros(16), np.eye(16)
    np.savez(tmp_path / "s.npz", mu=mu, sigma=sigma)
    s = GaussianStats.load_npz(tmp_path / "s.npz")
    assert torch.allclose(s.cov, torch.eye(16, dtype=torch.float64))


@pytest.mark.slow
def test_fid_clean_matches_clean_fid_on_folders(state, two_folders, monkeypatch) -> None:  # noqa: ANN001
    """clean-fid's own pipeline with its TorchScript loader returning the shared random weights."""
    cf = pytest.importorskip("cleanfid.fid")
    import cleanfid.inception_torchscript as its

    from iqa.features.inception import FIDInceptionClean
    from tests.helpers.cleanfid_stub import scripted_inception

    net = FIDInceptionNet()
    net.load_state_dict(state)
    scripted = scripted_inception(state)
    monkeypatch.setattr(its, "check_download_inception", lambda fpath="./": None)
    monkeypatch.setattr(torch.jit, "load", lambda *a, **k: scripted)
    real, gen = two_folders
    # batch_size=1: clean-fid batches with a DataLoader, which cannot stack mixed sizes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = cf.compute_fid(
            str(real),
            str(gen),
            mode="clean",
            device=torch.device("cpu"),
            num_workers=0,
            batch_size=1,
            use_dataparallel=False,
            verbose=False,
        )
        m = type(iqa.create("fid_clean", extractor=TinyExtractor()))(extractor=FIDInceptionClean(net), method="scipy")
        for folder, is_real in ((real, True), (gen, False)):
            for f in sorted(folder.iterdir()):
                m.update(read_image(f).unsqueeze(0), real=is_real)
        assert m.compute().value == pytest.approx(ref, rel=1e-4)


def test_reference_file_without_a_count(photos, tmp_path: Path) -> None:  # noqa: ANN001
    """pytorch-fid's files have no sample count: the distance is right, the count unknown, no bias warning."""
    x = torch.cat([photos, photos.flip(-1), photos.flip(-2)] * 8)
    a = iqa.create("fid", extractor=TinyExtractor())
    a.update(x, real=True)
    a.update(x * 0.8 + 0.1, real=False)
    expected = a.compute()
    np.savez(tmp_path / "ref.npz", mu=a.real.mean.numpy(), sigma=a.real.cov.numpy())
    b = iqa.create("fid", extractor=TinyExtractor())
    b.set_reference(tmp_path / "ref.npz")
    b.update(x * 0.8 + 0.1, real=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = b.compute()
    assert got.value == pytest.approx(expected.value, rel=1e-9)
    assert (got.n_real, got.n_fake) == (None, len(x)) and (expected.n_real, expected.n_fake) == (len(x), len(x))
