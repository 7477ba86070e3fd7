"""Loaders on the real official label files in ../shared (KonIQ-10k split file, TAD66k labels) and
on the community re-packagings of KADID-10k and PIPAL rewritten into their official formats."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from iqa.datasets import load_kadid10k, load_koniq10k, load_pipal, load_tad66k
from iqa.datasets.kadid import DISTORTIONS
from tests.conftest import shared_path


def test_koniq_official_split_file() -> None:
    d = load_koniq10k("/nonexistent", labels=shared_path("data", "labels", "koniq10k"))
    assert len(d) == 10073 and d.split_counts() == {"train": 7058, "val": 1000, "test": 2015}
    assert d.scale == (0.0, 100.0) and d.higher_is_better
    assert d.table["mos"].min() == pytest.approx(3.91176470588) and d.table["mos"].max() == pytest.approx(88.3888888889)
    first = d.table.iloc[0]  # the file's first row: 10004473376.jpg,...,77.3836206897,0.527277894494,training
    assert (first["image"], first["split"]) == ("512x384/10004473376.jpg", "train")
    assert first["mos"] == pytest.approx(77.3836206897) and first["std"] == pytest.approx(0.527277894494)
    assert not d.full_reference and d.normalized_mos().max() <= 1


def test_koniq_acr_scale_needs_the_scores_file() -> None:
    from iqa.errors import DatasetFilesError

    with pytest.raises(DatasetFilesError, match="1-5 ACR MOS is only in this file"):
        load_koniq10k("/nonexistent", labels=shared_path("data", "labels", "koniq10k"), scale="acr")


def test_tad66k_official_labels() -> None:
    d = load_tad66k("/nonexistent", labels=shared_path("data", "labels", "tad66k"))
    assert len(d) == 66327 and d.split_counts() == {"train": 52248, "test": 14079}
    assert d.scale == (1.0, 10.0) and d.table["mos"].between(1, 10).all()
    assert d.table["mos"].min() == pytest.approx(1.13) and d.table["mos"].max() == pytest.approx(9.46)
    # Spec 5.4: train mean 5.436, test mean 5.419 (rounded to 3 places).
    assert d.subset("train").table["mos"].mean() == pytest.approx(5.436, abs=5e-4)
    assert d.subset("test").table["mos"].mean() == pytest.approx(5.419, abs=5e-4)


def _unified(name: str) -> list[dict]:
    with open(shared_path("data", "labels", "unified", name), newline="") as f:
        return list(csv.DictReader(f))


def test_kadid_from_real_names(tmp_path: Path) -> None:
    """The 10,125 real KADID names and scores, written as dmos.csv (var is not in the re-packaging: 0.25)."""
    rows = _unified("KADID-10k.txt")
    with open(tmp_path / "dmos.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["dist_img", "ref_img", "dmos", "var"])
        w.writerows([[Path(r["dis_img_path"]).name, Path(r["ref_img_path"]).name, r["score"], "0.25"] for r in rows])
    d = load_kadid10k(tmp_path)
    assert len(d) == 10125 and d.table["content"].nunique() == 81
    assert d.table["distortion"].nunique() == 25 and sorted(d.table["level"].unique()) == [1, 2, 3, 4, 5]
    assert d.table["mos"].min() == 1.0 and d.table["mos"].max() == 4.93
    # The re-packaging's type labels agree with our decoding of the names (GBLUR is type 01...).
    theirs = {Path(r["dis_img_path"]).name.split("_")[1]: r["dis_type"] for r in rows}
    assert theirs["01"] == "GBLUR" and DISTORTIONS[0][0] == "gaussian_blur"
    assert theirs["10"] == "JPEG" and DISTORTIONS[9][0] == "jpeg"
    assert theirs["25"].startswith("Contrast") and DISTORTIONS[24][0] == "contrast_change"
    counts = d.table.groupby("split")["content"].nunique().to_dict()
    assert counts == {"train": 49, "val": 16, "test": 16}  # 81 references, 60/20/20 by content
    for a, b in [("train", "test"), ("train", "val"), ("val", "test")]:
        assert not set(d.subset(a).table["content"]) & set(d.subset(b).table["content"])


def test_pipal_from_real_names(tmp_path: Path) -> None:
    """The 23,200 real PIPAL names and ELO scores, written as Train_Label/Axxxx.txt files."""
    rows = _unified("PIPAL.txt")
    (tmp_path / "Train_Label").mkdir()
    by_ref: dict[str, list[str]] = {}
    for r in rows:
        by_ref.setdefault(Path(r["ref_img_path"]).stem, []).append(f"{Path(r['dis_img_path']).name},{r['score']}")
    for ref, lines in by_ref.items():
        (tmp_path / "Train_Label" / f"{ref}.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "Distortion_2").mkdir()
    (tmp_path / "Distortion_2" / "A0060_00_00.bmp").write_bytes(b"")  # found where the release puts it
    d = load_pipal(tmp_path)
    assert len(d) == 23200 and d.table["content"].nunique() == 200 and d.split_counts() == {"train": 23200}
    assert d.table["mos"].min() == pytest.approx(916.7136) and d.table["mos"].max() == pytest.approx(1835.9856)
    assert d.table["type_group"].nunique() == 7
    row = d.table[d.table["image"].str.endswith("A0060_00_00.bmp")].iloc[0]
    assert row["image"] == "Distortion_2/A0060_00_00.bmp" and row["ref"] == "Train_Ref/A0060.bmp"
    assert d.table.iloc[0]["image"] == "Dist_Imgs/A0001_00_00.bmp"  # not on disk: the pyiqa folder name
    seeded = load_pipal(tmp_path, split="seeded")
    assert set(seeded.split_counts()) == {"train", "val", "test"}
    assert np.isclose(seeded.subset("train").table["content"].nunique(), 120)
