"""``iqa compare`` against reference files and published statistics, and the provenance it records.

Published statistics are downloaded through the weights manager from a local HTTP server started
here (the real catalogue's URLs cannot be reached offline); the catalogue entry is a test double
with the fields of the real ones (``iqa/weights/reference_stats.toml``). Expected values are the
Frechet distance computed directly from the same statistics (:func:`iqa.stats.frechet_distance`,
itself checked against pytorch-fid in tests/stats), to 1e-9 relative.
"""

from __future__ import annotations

import dataclasses
import http.server
import json
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import iqa
import iqa.weights.manifest as manifest
import iqa.weights.store as store
from iqa.cli.main import cli
from iqa.errors import InputError
from iqa.stats import GaussianStats, frechet_distance
from iqa.stats.formats import write_adm, write_cleanfid

PIXEL = {"fd_efficientnet_lite0": {"extractor": "pixel_stats"}}


class _Files(http.server.BaseHTTPRequestHandler):
    routes: dict[str, bytes] = {}
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        self.hits.append(self.path)
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
    _Files.routes, _Files.hits = {}, []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _stats(n: int, dim: int, shift: float, seed: int) -> tuple[GaussianStats, np.ndarray]:
    f = np.random.default_rng(seed).normal(shift, 1.0, size=(n, dim))
    return GaussianStats.from_features(torch.from_numpy(f)), f


@pytest.fixture
def publish(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """Serve a statistics file and list it in the catalogue as ``cleanfid:<stem>`` made by ``extractor``."""
    monkeypatch.delenv("IQA_OFFLINE")
    real = manifest.load_reference_stats()
    some = real["cleanfid:cifar10_clean_train_32"]
    added: dict[str, manifest.ReferenceStatsSpec] = {}
    known = manifest.load_manifest()
    monkeypatch.setattr(manifest, "load_reference_stats", lambda: {**real, **added})
    monkeypatch.setattr(manifest, "load_manifest", lambda: {**known, **{s.weight.id: s.weight for s in added.values()}})

    def add(stem: str, stats: GaussianStats, extractor: str) -> str:
        path = write_cleanfid(stats, tmp_path / f"{stem}.npz")
        _Files.routes[f"/{stem}.npz"] = path.read_bytes()
        w = dataclasses.replace(some.weight, id=f"cleanfid_{stem}", filename=f"reference_stats/cleanfid/{stem}.npz",
                                urls=(f"{server}/{stem}.npz",))  # fmt: skip
        added[f"cleanfid:{stem}"] = dataclasses.replace(some, name=f"cleanfid:{stem}", weight=w, extractor=extractor)
        return f"cleanfid:{stem}"

    return add


def test_published_statistics_download_once_and_give_the_distance(publish, tmp_path: Path) -> None:  # noqa: ANN001
    ref, _ = _stats(3000, 98, 0.0, 0)  # pixel_stats features (98-d, no weights) keep the distances cheap
    gen, feats = _stats(400, 98, 0.05, 1)
    np.save(tmp_path / "gen.npy", feats)
    name = publish("toy_clean_train_32", ref, "pixel_stats")
    got = iqa.compare(name, tmp_path / "gen.npy", ["fd_efficientnet_lite0"], options=PIXEL)
    want = float(frechet_distance(ref.mean, ref.cov, gen.mean, gen.cov))
    assert got["fd_efficientnet_lite0"] == pytest.approx(want, rel=1e-9)
    assert _Files.hits == ["/toy_clean_train_32.npz"]
    cached = store.cache_dir() / "reference_stats/cleanfid/toy_clean_train_32.npz"
    assert store.recorded_hash(cached)  # clean-fid publishes no hash: recorded on download
    again = iqa.compare(name, tmp_path / "gen.npy", ["fd_efficientnet_lite0"], options=PIXEL)
    assert again["fd_efficientnet_lite0"] == got["fd_efficientnet_lite0"] and len(_Files.hits) == 1
    side = got["provenance"]["sides"]["a"]
    assert side["published"]["name"] == name and side["published"]["extractor"] == "pixel_stats"
    assert side["format"] == "pytorch_fid" and got["n_a"] is None and got["n_b"] == 400


def test_published_statistics_refuse_another_extractor(publish, tmp_path: Path) -> None:  # noqa: ANN001
    ref, _ = _stats(2000, 98, 0.0, 2)
    _, feats = _stats(300, 98, 0.1, 3)
    np.save(tmp_path / "gen.npy", feats)
    name = publish("toy2_clean_train_32", ref, "inception_v3_fid_clean")  # made by another network
    with pytest.raises(InputError, match="--opt fd_efficientnet_lite0.extractor=inception_v3_fid_clean"):
        iqa.compare(name, tmp_path / "gen.npy", ["fd_efficientnet_lite0"], options=PIXEL)
    assert _Files.hits == ["/toy2_clean_train_32.npz"]  # refused before any distance is computed


def test_published_statistics_as_the_generated_side_are_refused() -> None:
    with pytest.raises(InputError, match="is a reference set: give it first"):
        iqa.compare(torch.zeros(3, 16), "cleanfid:cifar10_clean_train_32", ["fid"])


def test_unknown_published_name_suggests() -> None:
    with pytest.raises(InputError, match="Did you mean 'cleanfid:cifar10_clean_train_32'"):
        iqa.compare("cleanfid:cifar10_clean_train_23", torch.zeros(3, 16), ["fid"])


def test_adm_batch_gives_statistics_to_frechet_and_images_to_the_rest(photos, tmp_path: Path) -> None:  # noqa: ANN001
    small = torch.nn.functional.interpolate(photos, size=(64, 64), mode="area")
    uint8 = (small * 255).round().to(torch.uint8)
    images = torch.cat([uint8, uint8.flip(-1), uint8.flip(-2)])  # 12 images
    pool, _ = _stats(500, 98, 0.0, 4)
    adm = write_adm(tmp_path / "ref.npz", pool=pool, images=images.permute(0, 2, 3, 1).numpy())
    gen = images.float().flip(-1).roll(5, -1) / 255
    # mmd (a kernel metric) cannot use statistics: it reads arr_0's images, exactly as a tensor of them
    from_file = iqa.compare(adm, gen, ["mmd_efficientnet_lite0"])
    from_tensor = iqa.compare(images.float() / 255, gen, ["mmd_efficientnet_lite0"])
    assert from_file["mmd_efficientnet_lite0"] == pytest.approx(from_tensor["mmd_efficientnet_lite0"], rel=1e-9)
    assert from_file["n_a"] == 12 and from_file["provenance"]["sides"]["a"]["format"] == "adm"
    # a Frechet metric whose extractor gives the statistics' dimension takes them instead
    g, feats = _stats(300, 98, 0.2, 5)
    got = iqa.compare(adm, torch.from_numpy(feats), ["fd_efficientnet_lite0"], options=PIXEL)
    assert got["fd_efficientnet_lite0"] == pytest.approx(
        float(frechet_distance(pool.mean, pool.cov, g.mean, g.cov)), rel=1e-9
    )
    assert got["n_a"] is None and got["n_b"] == 300


def test_provenance_and_cite_from_the_cli(tmp_path: Path) -> None:
    _, a = _stats(60, 1280, 0.0, 6)
    _, b = _stats(60, 1280, 0.3, 7)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    out = tmp_path / "r.json"
    with pytest.warns(UserWarning):
        r = CliRunner().invoke(cli, ["compare", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "-m",
                                     "fd_efficientnet_lite0", "-m", "mmd_efficientnet_lite0", "-o", str(out), "--cite"])  # fmt: skip
    assert r.exit_code == 0, r.output
    prov = json.loads(out.read_text())["provenance"]
    fd = prov["metrics"]["fd_efficientnet_lite0"]
    assert fd["extractor"] == "efficientnet_lite0" and fd["extractor_dim"] == 1280
    assert fd["n_real"] == fd["n_fake"] == 60 and fd["options"]["method"] == "eigh"
    # the weights record names the manifest entry and the sha256 of the copy on this machine
    digest = store.local_status(store.get_weight_spec("efficientnet_lite0")).digest
    assert fd["weights"] == [{"id": "efficientnet_lite0", "sha256": digest, "status": "ok"}] and len(digest) == 64
    assert prov["metrics"]["mmd_efficientnet_lite0"]["estimator"].startswith("RBF MMD^2 (sigma 10.0) x1000, biased")
    assert prov["environment"]["iqa"] == iqa.__version__ and prov["sides"]["b"]["kind"] == "reference"
    assert "Computed with iqa " + iqa.__version__ in r.output
    assert "- fd_efficientnet_lite0 = " in r.output and f"weights sha256 {digest[:12]}" in r.output


def test_one_sided_metrics_ignore_the_reference_side(tmp_path: Path) -> None:
    pool, _ = _stats(50, 98, 0.0, 8)
    stats_only = write_cleanfid(pool, tmp_path / "ref.npz")  # statistics: no kernel metric could use them
    _, feats = _stats(40, 1280, 0.0, 9)
    got = iqa.compare(stats_only, torch.from_numpy(feats), ["vendi_efficientnet_lite0"])
    alone = iqa.create("vendi_efficientnet_lite0")
    alone.update_features(torch.from_numpy(feats), real=False)
    assert got["vendi_efficientnet_lite0"] == pytest.approx(alone.compute().value, rel=1e-12)
    assert got["n_a"] is None and got["provenance"]["metrics"]["vendi_efficientnet_lite0"]["n_real"] is None
