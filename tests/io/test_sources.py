"""Scoring sources: webdataset tar shards and CSV/Parquet tables give the rows a folder gives.

The expected values are never written down: each source is scored with the same job as the folder
holding the same files, and every cell must be equal (the bytes are the same, so are the numbers).
"""

from __future__ import annotations

import io
import math
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import iqa
from iqa.api.jobs import ScoreJob, score_job
from iqa.errors import InputError
from iqa.io.images import Blob, decode_image
from iqa.io.sources import FolderSource, open_source
from iqa.io.tables import TableSource
from iqa.io.webdataset import WebDatasetSource, expand_shards, split_key

SIZES = {"a1": (40, 32), "a2": (40, 32), "a3": (36, 44), "a10": (40, 32)}


def _png(seed: int, size: tuple[int, int], grey: bool = False) -> bytes:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (size[1], size[0]) if grey else (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def images(tmp_path: Path) -> dict[str, tuple[bytes, bytes]]:
    """stem -> (distorted, reference) encoded bytes; a3's distorted file is corrupt."""
    out = {}
    for i, (stem, size) in enumerate(SIZES.items()):
        ref = _png(100 + i, size)
        noisy = np.asarray(Image.open(io.BytesIO(ref))).astype(int) + np.random.default_rng(i).integers(-9, 10)
        buf = io.BytesIO()
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(buf, "PNG")
        out[stem] = (buf.getvalue() if stem != "a3" else b"not a png", ref)
    return out


@pytest.fixture
def folder(tmp_path: Path, images: dict[str, tuple[bytes, bytes]]) -> FolderSource:
    (tmp_path / "dist").mkdir()
    (tmp_path / "ref").mkdir()
    for stem, (d, r) in images.items():
        (tmp_path / "dist" / f"{stem}.png").write_bytes(d)
        (tmp_path / "ref" / f"{stem}.png").write_bytes(r)
    return FolderSource(tmp_path / "dist", tmp_path / "ref")


def write_shards(root: Path, images: dict[str, tuple[bytes, bytes]], per_shard: int = 2) -> list[Path]:
    """Shards written by webdataset's own TarWriter (the format users have)."""
    wds = pytest.importorskip("webdataset")
    stems, paths = list(images), []
    for s in range(0, len(stems), per_shard):
        path = root / f"shard-{s // per_shard:03d}.tar"
        with wds.TarWriter(str(path)) as sink:
            for stem in stems[s : s + per_shard]:
                sink.write({"__key__": f"img/{stem}", "png": images[stem][0], "ref.png": images[stem][1],
                            "txt": b"a caption"})  # fmt: skip
        paths.append(path)
    return paths


def _metrics() -> dict[str, iqa.Metric]:
    return {n: iqa.create(n) for n in ("psnr", "ssim")}


def _rows(source: object) -> list[dict]:
    return score_job(ScoreJob(root=source, metrics=_metrics()))  # type: ignore[arg-type]


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return a == b


def assert_same_scores(rows: list[dict], expected: list[dict], key: callable) -> None:  # type: ignore[valid-type]
    """Rows equal cell by cell (file names mapped by ``key``); errors equal up to the file's name."""
    assert [key(r["file"]) for r in rows] == [r["file"] for r in expected]
    for r, e in zip(rows, expected):
        for col in ("psnr", "ssim"):
            assert _same(r[col], e[col]), (r, e)
        assert bool(r["error"]) == bool(e["error"])


def test_tar_shards_score_as_the_folder(tmp_path: Path, folder: FolderSource, images: dict) -> None:
    shards = write_shards(tmp_path, images)
    src = WebDatasetSource(shards, image_key="png", ref_key="ref.png")
    rows = _rows(src)
    assert_same_scores(rows, _rows(folder), key=lambda f: f.split("/")[-1] + ".png")
    assert rows[0]["file"] == "shard-000.tar/img/a1"  # <shard name>/<sample key>
    bad = next(r for r in rows if r["file"].endswith("a3"))
    assert "shard-001.tar:img/a3.png" in bad["error"]  # the error names the member and its shard


def test_parquet_of_bytes_and_hf_structs_score_as_the_folder(
    tmp_path: Path, folder: FolderSource, images: dict
) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    stems = list(images)
    plain = pa.table({"key": stems, "image": [images[s][0] for s in stems], "ref": [images[s][1] for s in stems]})
    pq.write_table(plain, tmp_path / "plain.parquet", row_group_size=3)  # rows cross a row group
    expected = _rows(folder)
    rows = _rows(TableSource(tmp_path / "plain.parquet", ref_column="ref"))
    assert_same_scores(rows, expected, key=lambda f: f + ".png")
    # Hugging Face datasets' Image feature: a struct of bytes and path; the key is the path
    hf = pa.table({"image": [{"bytes": images[s][0], "path": f"{s}.png"} for s in stems],
                   "ref": [{"bytes": images[s][1], "path": f"{s}.png"} for s in stems]})  # fmt: skip
    pq.write_table(hf, tmp_path / "hf.parquet")
    assert_same_scores(_rows(TableSource(tmp_path / "hf.parquet", ref_column="ref")), expected, key=lambda f: f)


def test_csv_of_paths_scores_as_the_folder(tmp_path: Path, folder: FolderSource) -> None:
    lines = ["path,reference"] + [f"dist/{s}.png,ref/{s}.png" for s in reversed(SIZES)]  # any row order
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    rows = _rows(TableSource(tmp_path / "t.csv", ref_column="reference"))  # paths relative to the table
    assert_same_scores(rows, _rows(folder), key=lambda f: f.removeprefix("dist/"))


def test_a_tar_member_decodes_to_the_file(tmp_path: Path, images: dict) -> None:
    shards = write_shards(tmp_path, images)
    src = WebDatasetSource(shards, image_key="png", ref_key="ref.png")
    blob = src.reference("shard-000.tar/img/a2")
    assert isinstance(blob, Blob) and blob.data == images["a2"][1]
    assert np.array_equal(decode_image(blob), np.asarray(Image.open(io.BytesIO(images["a2"][1]))))
    assert src.header("shard-000.tar/img/a2").pixels == 40 * 32  # from the member's first bytes


def test_sample_without_the_member_is_an_error_row_not_a_failure(tmp_path: Path) -> None:
    with tarfile.open(tmp_path / "s.tar", "w") as tar:
        for name, data in (("x.png", _png(1, (32, 32))), ("y.jpg", b"..."), ("y.json", b"{}")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    pairs = WebDatasetSource([tmp_path / "s.tar"], image_key="png").plan()
    assert [(p.file, p.error.split(" (")[0]) for p in pairs] == [
        ("s.tar/x", ""),
        ("s.tar/y", "sample has no png member"),
    ]
    assert "it has: jpg, json" in pairs[1].error


def test_shard_names_globs_and_brace_ranges(tmp_path: Path, images: dict) -> None:
    shards = write_shards(tmp_path, images)
    assert expand_shards([str(tmp_path / "shard-{000..001}.tar")]) == shards
    assert expand_shards([str(tmp_path / "shard-*.tar")]) == shards
    assert expand_shards([str(tmp_path / "shard-{000,001}.tar")]) == shards
    with pytest.raises(InputError, match="no such tar shard"):
        expand_shards([str(tmp_path / "shard-{000..002}.tar")])
    with pytest.raises(InputError, match="no tar shard matches"):
        expand_shards([str(tmp_path / "nothing-*.tar")])
    assert split_key("a/b.c/000123.ref.png") == ("a/b.c/000123", "ref.png")  # webdataset's rule


def test_compressed_shards_are_refused_with_the_fix(tmp_path: Path) -> None:
    import gzip

    (tmp_path / "s.tar").write_bytes(gzip.compress(b"x" * 2048))
    with pytest.raises(InputError, match="not an uncompressed tar.*gunzip"):
        WebDatasetSource([tmp_path / "s.tar"]).plan()


def test_table_problems_name_the_column_and_the_rows(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("file,other\na.png,1\na.png,2\n")
    with pytest.raises(InputError, match="key 'a.png' is on rows 2 and 3"):
        TableSource(tmp_path / "t.csv").plan()
    with pytest.raises(InputError, match=r"no reference column 'ref' \(columns: file, other\)"):
        TableSource(tmp_path / "t.csv", ref_column="ref")
    (tmp_path / "u.csv").write_text("name,score\na.png,1\n")
    with pytest.raises(InputError, match="no image column.*--image-key"):
        TableSource(tmp_path / "u.csv")


def test_open_source_picks_the_kind_and_refuses_options_that_do_not_apply(tmp_path: Path, images: dict) -> None:
    shards = write_shards(tmp_path, images)
    assert isinstance(open_source([str(s) for s in shards]), WebDatasetSource)
    assert isinstance(open_source(tmp_path), FolderSource)
    with pytest.raises(InputError, match="--ref DIR is for folders"):
        open_source(str(shards[0]), ref=tmp_path)
    with pytest.raises(InputError, match="are for tar shards and tables"):
        open_source(tmp_path, image_key="png")
    with pytest.raises(InputError, match="not a folder, .tar shard"):
        open_source(tmp_path / "missing")


def test_sources_pickle_without_pixels(tmp_path: Path, images: dict) -> None:
    """Engines hand sources to other processes: names and offsets travel, not images."""
    import pickle

    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({"image": [images[s][1] for s in images]}), tmp_path / "t.parquet")
    for src in (WebDatasetSource(write_shards(tmp_path, images)), TableSource(tmp_path / "t.parquet")):
        src.plan()
        data = pickle.dumps(src)
        assert len(data) < 4000
        again = pickle.loads(data)
        key = again.plan()[0].file
        assert decode_image(again.image(key)).shape[2] == 3


def test_score_cli_reads_shards(tmp_path: Path, images: dict, folder: FolderSource) -> None:
    from click.testing import CliRunner

    from iqa.api.results import read_table
    from iqa.cli.main import cli

    write_shards(tmp_path, images)
    out = tmp_path / "out.csv"
    args = ["score", str(tmp_path / "shard-{000..001}.tar"), "-m", "psnr", "-m", "ssim", "--ref-key", "ref.png",
            "--image-key", "png", "-o", str(out), "-q"]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1, res.output  # a3 is corrupt: its row has the error, the others are scored
    rows, cols = read_table(out)
    assert cols == ["file", "ref", "psnr", "ssim", "error"]
    assert_same_scores(rows, _rows(folder), key=lambda f: f.split("/")[-1] + ".png")
