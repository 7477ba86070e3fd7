"""Each loader on a small fixture in its official format; malformed inputs give summarised errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from iqa.datasets import load_csv_dataset, load_dataset, load_kadid10k, load_koniq10k, load_pipal, load_tad66k
from iqa.errors import DatasetError, DatasetFilesError, InputError
from tests.helpers.mos_fixtures import make_kadid

KONIQ_SCORES = """image_name,c1,c2,c3,c4,c5,c_total,MOS,SD,MOS_zscore
a.jpg,0,1,10,80,9,100,3.97,0.47,78.1
b.jpg,5,30,50,10,5,100,2.80,0.88,40.2
"""
KONIQ_SETS = """image_name,c1,c2,c3,c4,c5,c_total,MOS,SD,set
a.jpg,0.0,0.01,0.1,0.8,0.09,100,78.1,0.47,training
b.jpg,0.05,0.3,0.5,0.1,0.05,100,40.2,0.88,test
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_koniq_both_files_and_scales(tmp_path: Path) -> None:
    write(tmp_path / "koniq10k_scores_and_distributions.csv", KONIQ_SCORES)
    write(tmp_path / "koniq10k_distributions_sets.csv", KONIQ_SETS)
    z = load_koniq10k(tmp_path)
    acr = load_koniq10k(tmp_path, scale="acr", resolution="1024x768")
    assert z.table["mos"].tolist() == [78.1, 40.2] and z.table["split"].tolist() == ["train", "test"]
    assert acr.table["mos"].tolist() == [3.97, 2.80] and acr.scale == (1.0, 5.0)
    assert acr.table["image"].tolist() == ["1024x768/a.jpg", "1024x768/b.jpg"]


def test_tad66k_release_layout_with_themes(tmp_path: Path) -> None:
    lab = tmp_path / "dataset"
    write(lab / "merge" / "train.csv", "image,score\nx.jpg,5.5\ny.jpg,7.25\n")
    write(lab / "merge" / "test.csv", "image,score\nz.jpg,3.0\n")
    write(lab / "unmerge" / "train" / "cat.csv", "image,score\nx.jpg,5.5\n")
    write(lab / "unmerge" / "train" / "sky.csv", "image,score\ny.jpg,7.25\n")
    write(lab / "unmerge" / "test" / "sky.csv", "image,score\nz.jpg,3.0\n")
    d = load_tad66k(tmp_path)
    assert d.table["theme"].tolist() == ["cat", "sky", "sky"] and d.group_columns == ("theme",)
    assert d.table["image"].tolist() == ["images/x.jpg", "images/y.jpg", "images/z.jpg"]


def test_kadid_fixture_and_torch_dataset(tmp_path: Path) -> None:
    d = load_kadid10k(make_kadid(tmp_path, n_refs=2))
    assert len(d) == 20 and d.full_reference and d.missing_files() == []
    d.check_files()
    assert set(d.table["distortion"]) == {"gaussian_blur", "white_noise"}
    ds = d.torch_dataset()
    item = ds[0]
    assert item["image"].shape == item["ref"].shape == (3, 96, 96) and item["image"].dtype == torch.float32
    assert 0 <= item["mos_norm"] <= 1
    loader = torch.utils.data.DataLoader(ds, batch_size=4)
    assert next(iter(loader))["image"].shape == (4, 3, 96, 96)


def test_generic_csv(tmp_path: Path) -> None:
    p = write(
        tmp_path / "labels.csv",
        "dis,ref,score,kind\nd1.png,r1.png,0.2,blur\nd2.png,r1.png,0.9,noise\nd3.png,r2.png,0.5,blur\n",
    )
    d = load_dataset(
        "csv", p, image="dis", ref="ref", mos="score", groups=["kind"], higher_is_better=False, scale=(0, 1)
    )
    assert d.full_reference and d.table["ref"].tolist() == ["r1.png", "r1.png", "r2.png"]
    assert d.normalized_mos().tolist() == pytest.approx([0.8, 0.1, 0.5])  # lower is better -> flipped
    assert d.table.groupby("ref")["split"].nunique().max() == 1  # seeded split keeps a reference together


def test_malformed_rows_are_summarised(tmp_path: Path) -> None:
    text = "dist_img,ref_img,dmos,var\n" + "".join(
        ["I01_01_01.png,I01.png,4.1,0.2\n", "I01_01_01.png,I01.png,4.1,0.2\n", "../../etc/passwd,I01.png,3,0.1\n",
         "I01_01_02.png,I01.png,abc,0.2\n", "I01_01_03.png,I01.png,3.0\n", "I01_26_01.png,I01.png,3,0.1\n",
         "I01_01_04.png,I02.png,3,0.1\n", "/abs/I01_01_05.png,I01.png,3,0.1\n"]
    )  # fmt: skip
    write(tmp_path / "dmos.csv", text)
    with pytest.raises(DatasetError) as e:
        load_kadid10k(tmp_path)
    msg = str(e.value)
    assert "dmos.csv: 7 problem(s)" in msg and "... and 2 more" in msg and "Fix:" in msg
    for fragment in [
        "duplicate row for 'I01_01_01.png' (first on line 2)",
        "leaves the dataset root",
        "'abc' is not a finite number",
        "3 fields, the header has 4",
    ]:
        assert fragment in msg
    assert msg.count("\n  ") == 6  # five quoted problems + the "more" line, not one traceback per row


def test_path_traversal_is_refused_everywhere(tmp_path: Path) -> None:
    write(tmp_path / "dataset" / "merge" / "train.csv", "image,score\n../x.jpg,5\n")
    write(tmp_path / "dataset" / "merge" / "test.csv", "image,score\nC:/y.jpg,5\n")
    with pytest.raises(DatasetError, match="leaves the dataset root"):
        load_tad66k(tmp_path)
    write(tmp_path / "Train_Label" / "A0001.txt", "..\\A0001_00_00.bmp,1500\n")
    with pytest.raises(DatasetError, match="leaves the dataset root"):
        load_pipal(tmp_path)


def test_missing_files_and_headers(tmp_path: Path) -> None:
    with pytest.raises(DatasetFilesError, match="dmos.csv"):
        load_kadid10k(tmp_path)
    write(tmp_path / "koniq10k_distributions_sets.csv", "image_name,MOS\na.jpg,3\n")
    with pytest.raises(DatasetError, match=r"missing column\(s\) \['SD', 'set'\]"):
        load_koniq10k(tmp_path)
    d = load_kadid10k(make_kadid(tmp_path / "k", n_refs=1))
    (tmp_path / "k" / "images" / "I01_11_03.png").unlink()
    with pytest.raises(
        DatasetFilesError, match="1 of the files its labels name are missing.*I01_11_03.png.*--allow-missing"
    ):
        d.check_files()
    kept, dropped = d.drop_missing()
    assert (len(kept), dropped) == (9, 1)


def test_unknown_dataset_and_split(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="Did you mean 'kadid10k'"):
        load_dataset("kadid", "/x")
    d = load_kadid10k(make_kadid(tmp_path, n_refs=1))
    with pytest.raises(InputError, match="split must be one of"):
        d.subset("dev")
    p = write(tmp_path / "l.csv", "image,mos,split\na.png,1,train\nb.png,2,train\n")
    with pytest.raises(InputError, match="has no 'test' records"):
        load_csv_dataset(p, split="split").subset("test")


def test_registry_shape_and_no_import_cycle(tmp_path: Path) -> None:

    from iqa.datasets.registry import DATASETS, DatasetCard, dataset_card, list_datasets, register_dataset
    from iqa.errors import DuplicateNameError

    assert list_datasets() == ["csv", "kadid10k", "koniq10k", "pipal", "tad66k"]
    assert dataset_card("KADID10K") is dataset_card("kadid10k")  # names are case-insensitive
    card = dataset_card("pipal")
    assert register_dataset(card) is card  # the same card again is a no-op
    with pytest.raises(DuplicateNameError):
        register_dataset(DatasetCard("pipal", load_kadid10k, "fr", "", "", "", ""))
    assert "pipal" in DATASETS and len(DATASETS) == 5
    assert _import_cycles("iqa.datasets") == []


def _import_cycles(package: str) -> list[list[str]]:
    """Cycles among a package's modules (imports inside functions included; the package's own
    ``__init__`` counts as a module, so ``from package import x`` inside it closes a loop too).
    """
    import ast

    import iqa

    root = Path(iqa.__file__).parent.parent
    graph: dict[str, set[str]] = {}
    for path in sorted((root / package.replace(".", "/")).glob("*.py")):
        name = package if path.stem == "__init__" else f"{package}.{path.stem}"
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(package):
                targets.add(node.module)
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.startswith(package)}
        graph[name] = {t for t in targets if t != name}
    cycles, done = [], set()

    def visit(node: str, stack: list[str]) -> None:
        if node in stack:
            cycles.append(stack[stack.index(node) :] + [node])
            return
        if node in done or node not in graph:
            return
        for t in sorted(graph[node]):
            visit(t, [*stack, node])
        done.add(node)

    for node in graph:
        if node != package:  # __init__ importing every submodule is the package's job, not a cycle
            visit(node, [])
    return cycles
