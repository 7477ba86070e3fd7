"""Weights manager: resolution order, verification, atomic download against a local HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import threading
from pathlib import Path

import pytest

import iqa.weights.store as store
from iqa.errors import DownloadError, WeightsHashError, WeightsNotFoundError
from iqa.weights import WeightSpec, load_manifest, resolve_weights
from tests.conftest import shared_path

PAYLOAD = b"pretend these are weights " * 4000
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, bytes] = {}
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        self.hits.append(self.path)
        if self.path.startswith("/truncated/"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 3])
            self.wfile.flush()
            self.close_connection = True
            return
        body = self.routes.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server():  # noqa: ANN201
    _Handler.routes = {"/w.bin": PAYLOAD, "/other.bin": b"something else entirely"}
    _Handler.hits = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def manifest(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    specs: dict[str, WeightSpec] = {}
    monkeypatch.setattr(store, "get_weight_spec", lambda i: specs[i])
    monkeypatch.setattr(store, "load_manifest", lambda: specs)

    def add(id_: str, urls: list[str], sha: str = SHA, prefix: bool = False, unpublished: bool = False) -> WeightSpec:
        hashes = (
            {"hash_unpublished": True} if unpublished else {"sha256_prefix": sha[:8]} if prefix else {"sha256": sha}
        )
        spec = WeightSpec(
            id=id_, filename=f"sub/{id_}.bin", urls=tuple(urls), license="MIT", paper="p", format="raw", **hashes
        )
        specs[id_] = spec
        return spec

    return add


def no_partials(root: Path) -> bool:
    return not [p for p in root.rglob("*") if p.name.startswith(".") or p.name.endswith((".part", ".tmp"))]


def test_download_success_is_verified_and_atomic(server, manifest, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("IQA_OFFLINE")
    manifest("good", [f"{server}/w.bin"])
    p = resolve_weights("good", progress=False)
    assert p == store.cache_dir() / "sub/good.bin" and p.read_bytes() == PAYLOAD
    assert no_partials(store.cache_dir())
    assert resolve_weights("good") == p and _Handler.hits == ["/w.bin"]  # cached: no second request


def test_wrong_hash_installs_nothing(server, manifest, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("IQA_OFFLINE")
    manifest("bad", [f"{server}/other.bin"])
    with pytest.raises(WeightsNotFoundError, match="does not match|expected"):
        resolve_weights("bad", progress=False)
    assert not (store.cache_dir() / "sub/bad.bin").exists() and no_partials(store.cache_dir())


def test_truncated_transfer_installs_nothing(server, manifest, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("IQA_OFFLINE")
    manifest("cut", [f"{server}/truncated/w.bin"])
    with pytest.raises(DownloadError, match="truncated|IncompleteRead|incomplete"):
        store.fetch("cut", progress=False)
    assert not (store.cache_dir() / "sub/cut.bin").exists() and no_partials(store.cache_dir())


def test_falls_back_to_the_next_url(server, manifest, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("IQA_OFFLINE")
    manifest("two", [f"{server}/missing.bin", f"{server}/w.bin"])
    assert resolve_weights("two", progress=False).read_bytes() == PAYLOAD


def test_offline_message_names_url_hash_path_and_import(server, manifest) -> None:  # noqa: ANN001
    manifest("off", [f"{server}/w.bin"])
    with pytest.raises(WeightsNotFoundError) as e:
        resolve_weights("off")
    msg = str(e.value)
    for part in (f"{server}/w.bin", SHA, str(store.cache_dir() / "sub/off.bin"), "iqa weights import", "IQA_OFFLINE"):
        assert part in msg
    assert _Handler.hits == []


def test_weights_dir_then_cache_then_explicit_path(tmp_path: Path, manifest, monkeypatch) -> None:  # noqa: ANN001
    manifest("local", ["http://127.0.0.1:9/never"])
    wd = tmp_path / "wd"
    (wd / "sub").mkdir(parents=True)
    (wd / "sub/local.bin").write_bytes(PAYLOAD)
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(wd))
    assert resolve_weights("local") == wd / "sub/local.bin"
    (wd / "sub/local.bin").write_bytes(PAYLOAD[:-1])  # corrupt: an error, never a silent fallback
    with pytest.raises(WeightsHashError, match="does not match"):
        resolve_weights("local")
    explicit = tmp_path / "mine.bin"
    explicit.write_bytes(PAYLOAD)
    assert resolve_weights("local", explicit) == explicit
    with pytest.raises(WeightsNotFoundError, match="no such weights file"):
        resolve_weights("local", tmp_path / "absent.bin")


def test_import_matches_by_hash(tmp_path: Path, manifest) -> None:  # noqa: ANN001
    manifest("imp", [])
    f = tmp_path / "downloaded.bin"
    f.write_bytes(PAYLOAD)
    wid, dest = store.import_file(f)
    assert wid == "imp" and dest.read_bytes() == PAYLOAD and resolve_weights("imp") == dest
    f.write_bytes(b"nope")
    with pytest.raises(WeightsHashError, match="does not match"):
        store.import_file(f)


def test_hash_prefix_entries(server, manifest, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("IQA_OFFLINE")
    spec = manifest("pre", [f"{server}/w.bin"], prefix=True)
    assert spec.expected_hash == SHA[:8]
    assert resolve_weights("pre", progress=False).read_bytes() == PAYLOAD


def test_unpublished_hash_is_recorded_on_download_and_then_enforced(server, manifest, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("IQA_OFFLINE")
    spec = manifest("tofu", [f"{server}/w.bin"], unpublished=True)
    assert spec.expected_hash == "" and "recorded on first" in spec.describe_hash()
    p = resolve_weights("tofu", progress=False)
    assert p.read_bytes() == PAYLOAD and store.recorded_hash(p) == SHA
    assert store.local_status(spec).status == "ok"
    p.write_bytes(PAYLOAD + b"changed")  # a file that changed after it was installed is refused
    with pytest.raises(WeightsHashError, match=f"expected {SHA}"):
        resolve_weights("tofu")
    assert store.local_status(spec).status == "BAD HASH"


def test_unpublished_hash_import_needs_the_id_and_records(tmp_path: Path, manifest) -> None:  # noqa: ANN001
    manifest("tofu_imp", [], unpublished=True)
    f = tmp_path / "dl.bin"
    f.write_bytes(PAYLOAD)
    with pytest.raises(WeightsHashError, match="--id"):  # nothing to match by hash
        store.import_file(f)
    wid, dest = store.import_file(f, "tofu_imp")
    assert wid == "tofu_imp" and store.recorded_hash(dest) == SHA and resolve_weights("tofu_imp") == dest


def test_unpublished_hash_file_placed_by_hand_is_recorded_on_first_use(tmp_path: Path, manifest, monkeypatch) -> None:  # noqa: ANN001
    manifest("tofu_dir", [], unpublished=True)
    wd = tmp_path / "wd"
    (wd / "sub").mkdir(parents=True)
    (wd / "sub/tofu_dir.bin").write_bytes(PAYLOAD)
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(wd))
    assert resolve_weights("tofu_dir") == wd / "sub/tofu_dir.bin"
    assert store.recorded_hash(wd / "sub/tofu_dir.bin") == SHA


def test_manifest_entry_hash_rules() -> None:
    from iqa.errors import WeightsError
    from iqa.weights.manifest import _parse

    base = {"id": "x", "filename": "x.bin", "urls": [], "license": "MIT", "paper": "p", "format": "raw"}
    with pytest.raises(WeightsError, match="hash_unpublished"):
        _parse(base)  # no hash and not declared unpublished
    with pytest.raises(WeightsError, match="has a hash and hash_unpublished"):
        _parse({**base, "sha256": SHA, "hash_unpublished": True})
    assert _parse({**base, "hash_unpublished": True}).hash_recorded


def test_packaged_manifest_parses() -> None:
    specs = load_manifest()
    assert {"lpips_alex_v0.1", "dists_alpha_beta", "niqe_pris_params", "fid_inception_v3_pt"} <= set(specs)
    for s in specs.values():
        assert s.urls and s.license and s.paper and (s.expected_hash or s.hash_unpublished)


def test_shared_weights_match_the_manifest(monkeypatch: pytest.MonkeyPatch) -> None:
    weights = shared_path("weights")
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(weights))
    checked = 0
    for spec in load_manifest().values():
        if spec.sha256 and (weights / spec.filename).exists():
            assert resolve_weights(spec.id) == weights / spec.filename
            checked += 1
    assert checked >= 5
    state = store.load_torch_state(resolve_weights("lpips_alex_v0.1"))
    assert any(k.startswith("lin0") for k in state)
