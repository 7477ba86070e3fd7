"""brisque out of the box: the user's path from a fresh machine to a working metric.

`iqa weights fetch brisque_live_allmodel` downloads the SVR from a local HTTP server (standing in
for the manifest's URL, serving ../shared's copy), then ``iqa.create("brisque")`` works offline with
no arguments; ``IQA_WEIGHTS_DIR=../shared/weights`` works as is (the feature ranges ship with iqa).
"""

from __future__ import annotations

import dataclasses
import http.server
import threading
from collections.abc import Iterator

import pytest
import torch
from click.testing import CliRunner

import iqa
import iqa.weights.store as store
from iqa.cli.main import cli
from iqa.errors import WeightsNotFoundError
from iqa.weights import get_weight_spec
from tests.conftest import shared_path

MODEL = shared_path("weights", "brisque", "allmodel")


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict[str, bytes] = {}

    def do_GET(self) -> None:  # noqa: N802
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
def server() -> Iterator[str]:
    lf = MODEL.read_bytes()
    _Handler.routes = {"/allmodel": lf, "/crlf/allmodel": lf.replace(b"\n", b"\r\n")}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _serve_from(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    spec = dataclasses.replace(get_weight_spec("brisque_live_allmodel"), urls=(url,))
    monkeypatch.setattr(store, "get_weight_spec", lambda i: spec if i == spec.id else get_weight_spec(i))


def test_fetch_then_create_works_offline(server, monkeypatch, photos) -> None:  # noqa: ANN001
    with pytest.raises(WeightsNotFoundError) as e:  # fresh machine: the message says what and how
        iqa.create("brisque")
    assert "allmodel" in str(e.value) and "iqa weights fetch brisque_live_allmodel" in str(e.value)
    _serve_from(monkeypatch, f"{server}/allmodel")
    r = CliRunner().invoke(cli, ["weights", "fetch", "brisque_live_allmodel"], env={"IQA_OFFLINE": "0"})
    assert r.exit_code == 0, r.output
    m = iqa.create("brisque")  # IQA_OFFLINE=1 again: everything comes from the cache and the package
    ref = iqa.create("brisque", model=MODEL)
    assert torch.equal(m(photos[:1].double()), ref(photos[:1].double()))


def test_mirror_with_crlf_line_endings_is_refused(server, monkeypatch) -> None:  # noqa: ANN001
    """The dsoellinger mirror's allmodel differs from the release's bytes by CRLF only; the hash refuses it."""
    _serve_from(monkeypatch, f"{server}/crlf/allmodel")
    r = CliRunner().invoke(cli, ["weights", "fetch", "brisque_live_allmodel"], env={"IQA_OFFLINE": "0"})
    assert r.exit_code != 0 and "sha256" in r.output
    assert not (store.cache_dir() / "brisque" / "allmodel").exists()


def test_shared_weights_dir_is_enough(monkeypatch, photos) -> None:  # noqa: ANN001
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(shared_path("weights")))
    score = iqa.create("brisque")(photos[:1].double())
    assert torch.isfinite(score).all()
