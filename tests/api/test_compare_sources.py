"""``iqa.compare`` sides from tar shards and tables: the same images as a folder, as webdataset
shards (written by webdataset's own TarWriter) and as a Parquet table of bytes give identical
features (every bit) and metric values; their feature cache is keyed by the source.

Expected values are those of the folder run of the same images (a conv extractor, chunks of 3
that cross shard and row-group boundaries, a corrupt image among them).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import iqa
from iqa.api import comparison as compare_mod
from iqa.cli.main import cli
from iqa.errors import InputError
from tests.helpers.fake_extractor import TinyExtractor

N = 20
BROKEN = "05"
METRICS = ["fd_efficientnet_lite0", "mmd_efficientnet_lite0"]


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _images(seed: int, broken: bool = True) -> dict[str, bytes]:
    """Encoded images of two sizes (so chunks hold several forward passes), one of them corrupt."""
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(N):
        h, w = (24, 32) if i % 3 else (32, 24)
        out[f"{i:02d}"] = _png(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    if broken:
        out[BROKEN] = b"not a png"
    return out


def _folder(root: Path, images: dict[str, bytes]) -> Path:
    root.mkdir()
    for stem, data in images.items():
        (root / f"{stem}.png").write_bytes(data)
    return root


def _shards(root: Path, images: dict[str, bytes], per_shard: int = 7) -> list[Path]:
    import webdataset as wds

    root.mkdir()
    stems, paths = list(images), []
    for s in range(0, len(stems), per_shard):
        path = root / f"shard-{s // per_shard:03d}.tar"
        with wds.TarWriter(str(path)) as sink:
            for stem in stems[s : s + per_shard]:
                sink.write({"__key__": f"img/{stem}", "png": images[stem], "txt": b"a caption"})
        paths.append(path)
    return paths


def _parquet(path: Path, images: dict[str, bytes]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    stems = list(images)
    table = pa.table({"key": [f"{s}.png" for s in stems], "image": [images[s] for s in stems]})
    pq.write_table(table, path, row_group_size=7)  # chunks of 3 cross row groups
    return path


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("cmp_sources")
    real, fake = _images(0, broken=False), _images(1)
    shards = _shards(root / "shards_b", fake)
    return {
        "a": _folder(root / "a", real),
        "b_folder": _folder(root / "b", fake),
        "b_shards": shards,
        "b_glob": str(root / "shards_b" / "shard-*.tar"),
        "b_braces": str(root / "shards_b" / "shard-{000..002}.tar"),
        "b_parquet": _parquet(root / "b.parquet", fake),
    }


@pytest.fixture(scope="module")
def folder_result(sets: dict) -> dict:
    """The expected values: the folder run of the same images."""
    return _compare(sets["b_folder"], sets["a"])


def _options() -> dict[str, dict[str, object]]:
    return {m: {"extractor": TinyExtractor()} for m in METRICS}


def _compare(b: object, a: object, **kw: object) -> dict:
    return iqa.compare(a, b, METRICS, options=_options(), batch_size=3, workers=2, **kw)  # type: ignore[arg-type]


def _values(result: dict) -> dict:
    return {k: v for k, v in result.items() if k not in ("failed", "provenance")}


WHERE = "shard-000.tar:img/05.png"  # the corrupt sample, as the shards name it


@pytest.mark.parametrize(
    ("side", "where"),
    [("b_shards", WHERE), ("b_glob", WHERE), ("b_braces", WHERE), ("b_parquet", "b.parquet row 5 (image)")],
)
def test_shards_and_tables_give_the_folders_values(sets: dict, folder_result: dict, side: str, where: str) -> None:
    expected = folder_result
    got = _compare(sets[side], sets["a"])
    assert _values(got) == _values(expected)  # exact: the same features, bit for bit
    assert got["n_b"] == N - 1 and len(got["failed"]) == 1 and len(expected["failed"]) == 1
    assert where in got["failed"][0] and "not an image" in got["failed"][0]
    assert got["provenance"]["sides"]["b"]["kind"] == "source"


def test_features_are_bit_identical(sets: dict) -> None:
    """The features themselves (not only the metric) agree, for the shards and the table."""
    ext = TinyExtractor()
    sides = {k: compare_mod._Side(sets[k], "b") for k in ("b_folder", "b_shards", "b_parquet")}
    run = compare_mod._run_settings(None, batch_size=3)
    feats = {k: s.features(ext, run, "images") for k, s in sides.items()}
    assert feats["b_folder"].shape == (N - 1, TinyExtractor.dim)
    assert torch.equal(feats["b_shards"], feats["b_folder"])
    assert torch.equal(feats["b_parquet"], feats["b_folder"])


def test_source_features_are_cached_by_source(sets: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    real = compare_mod.extract_source
    monkeypatch.setattr(compare_mod, "extract_source", lambda *x, **k: calls.append(x[0]) or real(*x, **k))
    a = sets["a"]
    shards = _shards(tmp_path / "s", _images(2) | {BROKEN: _png(np.zeros((24, 32, 3), np.uint8))})
    first = _compare(shards, a, cache_dir=tmp_path / "cache")
    again = _compare([str(p) for p in shards], a, cache_dir=tmp_path / "cache")
    assert len(calls) == 1 and _values(again) == _values(first)  # second run: from the cache
    # a rewritten shard (other bytes, so another size) is extracted again
    with open(shards[0], "ab") as f:
        f.write(b"\0" * 1024)
    _compare(shards, a, cache_dir=tmp_path / "cache")
    assert len(calls) == 2


def test_csv_of_paths_is_cached_by_its_image_files(sets: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A table naming image files: the folder's values; its cache entry follows the files it names."""
    images = _images(5, broken=False)
    folder = _folder(tmp_path / "imgs", images)
    (tmp_path / "t.csv").write_text("path\n" + "".join(f"imgs/{s}.png\n" for s in reversed(list(images))))
    calls: list[object] = []
    real = compare_mod.extract_source
    monkeypatch.setattr(compare_mod, "extract_source", lambda *x, **k: calls.append(x[0]) or real(*x, **k))
    want = _compare(folder, sets["a"])
    first = _compare(tmp_path / "t.csv", sets["a"], cache_dir=tmp_path / "cache")
    assert _values(first) == _values(want) and len(calls) == 1
    _compare(tmp_path / "t.csv", sets["a"], cache_dir=tmp_path / "cache")
    assert len(calls) == 1  # from the cache
    (folder / "07.png").write_bytes(images["08"] + b"\0" * 10)  # the table is unchanged, a file it names is not
    changed = _compare(tmp_path / "t.csv", sets["a"], cache_dir=tmp_path / "cache")
    assert len(calls) == 2 and _values(changed) != _values(first)


def test_cli_compare_reads_a_shard_pattern(tmp_path: Path) -> None:
    """`iqa compare A 'shards/*.tar'` (a quoted glob) gives what iqa.compare gives for the folder."""
    real, fake = dict(list(_images(3, broken=False).items())[:6]), dict(list(_images(4).items())[:7])
    a, b = _folder(tmp_path / "a", real), _folder(tmp_path / "b", fake)
    _shards(tmp_path / "s", fake, per_shard=3)
    pixel = {"fd_efficientnet_lite0": {"extractor": "pixel_stats"}}  # cheap, and reachable from the CLI
    want = iqa.compare(a, b, list(pixel), options=pixel, batch_size=2)
    out = tmp_path / "r.json"
    args = ["compare", str(a), str(tmp_path / "s" / "*.tar"), "-m", "fd_efficientnet_lite0",
            "--opt", "fd_efficientnet_lite0.extractor=pixel_stats", "--batch-size", "2", "--no-cache", "-q",
            "-o", str(out)]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1, res.output  # the corrupt image is reported (exit 1 after writing)
    got = json.loads(out.read_text())
    assert _values(got) == _values(want) and got["n_b"] == 6 and "not an image" in got["failed"][0]


def test_a_missing_source_names_the_side(tmp_path: Path, sets: dict) -> None:
    with pytest.raises(InputError, match=r"^b: .*no tar shard matches"):
        _compare(str(tmp_path / "none-*.tar"), sets["a"])
    with pytest.raises(InputError, match=r"^b: .*no such table"):
        _compare(tmp_path / "none.parquet", sets["a"])
