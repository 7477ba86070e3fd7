"""``Scorer`` in users' own ``ray.data`` pipelines: decoded images, bytes and paths score as ``iqa score``
scores the same files (issue 24). One local Ray instance (2 CPUs) serves the module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import iqa
from iqa.api.jobs import ScoreJob, score_job
from iqa.api.ray_engine import worker_env
from iqa.api.ray_scorer import Scorer
from iqa.errors import InputError
from tests.engines import assert_same_rows, image_pairs, weights_dir


def _want(dist: Path, ref: Path | None, names: tuple[str, ...]) -> dict[str, dict]:
    job = ScoreJob(root=dist, ref_root=ref, metrics={n: iqa.create(n) for n in names})
    return {r["file"]: r for r in score_job(job)}


def _rows(out: dict[str, Any], names: tuple[str, ...], files: list[str]) -> list[dict]:
    return [
        {"file": f, "ref": f, **{n: float(out[n][i]) for n in names}, "error": str(out["error"][i])}
        for i, f in enumerate(files)
    ]


def test_read_images_pipeline_scores_as_iqa_score(
    ray_local: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ray.data import ActorPoolStrategy

    weights_dir(monkeypatch)
    dist, _ = image_pairs(tmp_path, broken=False)
    names = ("niqe", "brisque")
    ds = ray_local.data.read_images(str(dist), include_paths=True, mode="RGB")
    scored = ds.map_batches(
        Scorer,
        fn_constructor_kwargs={"metrics": list(names), "device": "cpu"},
        batch_size=3,
        compute=ActorPoolStrategy(size=1),  # the other CPU reads the images
        runtime_env={"env_vars": worker_env()},  # the weights folder, as users pass it
    )
    out = tmp_path / "scores"
    scored.drop_columns(["image"]).write_parquet(str(out))
    import pandas as pd

    table = pd.read_parquet(out).sort_values("path")
    want = _want(dist, None, names)
    files = [Path(p).name for p in table["path"]]
    got = [
        {"file": f, "ref": "", **{n: float(v) for n, v in zip(names, vals)}, "error": e}
        for f, *vals, e in zip(files, *(table[n] for n in names), table["error"])
    ]
    assert_same_rows(got, [want[f] for f in files])
    assert len(files) == len(want)


def _cells(dist: Path, ref: Path, form: str) -> tuple[list[Any], list[Any], list[str]]:
    from PIL import Image

    files = sorted(p.name for p in dist.iterdir())
    refs = [ref / f for f in files]
    if form == "path":
        return [str(dist / f) for f in files], [str(p) for p in refs], files
    if form == "bytes":
        return [(dist / f).read_bytes() for f in files], [p.read_bytes() for p in refs], files
    imgs = []
    for f in files:  # what read_images gives; a file that does not decode is not in its output
        try:
            imgs.append(np.asarray(Image.open(dist / f)))
        except OSError:
            imgs.append(np.zeros((4, 4), dtype=np.float32))  # a cell of no supported form: its row's error
    return imgs, [np.asarray(Image.open(p)) for p in refs], files


def _column(cells: list[Any]) -> np.ndarray:
    col = np.empty(len(cells), dtype=object)  # one object per row, as Ray gives a column of mixed shapes
    for i, c in enumerate(cells):
        col[i] = c
    return col


@pytest.mark.parametrize("form", ["image", "bytes", "path"])
def test_each_form_of_a_paired_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, form: str) -> None:
    # The actor's callable alone (Ray runs exactly this per batch): FR pairs from two columns.
    weights_dir(monkeypatch)
    dist, ref = image_pairs(tmp_path, n=5)
    (dist / "lonely.png").unlink()  # every row of a paired dataset has its reference
    names = ("psnr", "ssim", "brisque")
    imgs, refs, files = _cells(dist, ref, form)
    scorer = Scorer(list(names), image_column=form, ref_column="ref")
    out = scorer({form: _column(imgs), "ref": _column(refs), "id": np.arange(len(files))})
    assert list(out["id"]) == list(range(len(files)))  # the input columns are kept
    want = _want(dist, ref, names)
    got = _rows(out, names, files)
    bad = files.index("im3.png")
    assert got[bad]["error"] and all(np.isnan(got[bad][n]) for n in names)  # a bad image: its row only
    if form != "path":  # the message names the cell, not a file; the values are the same
        got[bad]["error"] = want["im3.png"]["error"]
    assert_same_rows(got, [want[f] for f in files])


def test_a_score_does_not_depend_on_the_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    weights_dir(monkeypatch)
    dist, _ = image_pairs(tmp_path, n=4, broken=False)
    paths = np.array([str(p) for p in sorted(dist.iterdir())], dtype=object)
    scorer = Scorer("brisque")
    whole = scorer({"path": paths})["brisque"]
    alone = [scorer({"path": paths[i : i + 1]})["brisque"][0] for i in range(len(paths))]
    assert list(whole) == alone


def test_refusals_name_the_fix() -> None:
    with pytest.raises(InputError, match="ref_column"):
        Scorer(["psnr"])
    with pytest.raises(InputError, match="image_column"):
        Scorer(["psnr"], ref_column="ref")({"pixels": np.zeros(1)})
