"""Folder jobs bound each batch by its pixels as well as its count (issue 20, item 4).

Memory itself is measured in benchmarks/bench_memory.py (docs/benchmarks.md, "Memory"); these
tests check the planning and that it does not change any score.
"""

from __future__ import annotations

from collections import OrderedDict
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import iqa
from iqa.api import job_chunks
from iqa.api.jobs import ScoreJob, plan_chunks, score_job
from iqa.api.settings import DEFAULT_MAX_BATCH_PIXELS, RunSettings
from iqa.errors import InputError
from iqa.io.folders import Pair

MP24 = 6000 * 4000  # a 24-megapixel camera photo


def _items(n: int) -> list[Pair]:
    return [Pair(f"{i:03d}.png", None) for i in range(n)]


def _sums(chunks: list[list[Pair]], pixels: dict[str, int]) -> list[int]:
    return [sum(pixels[it.file] for it in c) for c in chunks]


def test_large_images_are_split_by_their_pixels() -> None:
    items = _items(8)
    pixels = {it.file: MP24 for it in items}
    # Budget of two 24-MP images: count alone (batch 8) would put all eight in one batch.
    chunks = plan_chunks(items, list(pixels.values()), 8, 2 * MP24)
    assert [len(c) for c in chunks] == [2, 2, 2, 2]
    assert all(s <= 2 * MP24 for s in _sums(chunks, pixels))
    assert [it for c in chunks for it in c] == items  # order kept, nothing lost or repeated


def test_an_image_above_the_budget_runs_alone() -> None:
    items = _items(3)
    chunks = plan_chunks(items, [MP24] * 3, 16, DEFAULT_MAX_BATCH_PIXELS)  # 24 MP > 2**24
    assert [len(c) for c in chunks] == [1, 1, 1]


def test_small_images_still_batch_together_up_to_the_count() -> None:
    items = _items(20)
    # 512x384 images (the TID/KADID size): 16 of them are 3.1 MP, far under the default budget.
    chunks = plan_chunks(items, [512 * 384] * 20, 16, DEFAULT_MAX_BATCH_PIXELS)
    assert [len(c) for c in chunks] == [16, 4]


def test_mixed_sizes_respect_the_budget_in_order() -> None:
    sizes = [MP24, 1000, 1000, 10**7, 10**7, 5 * 10**6, 100, MP24, 100]
    items = _items(len(sizes))
    pixels = dict(zip([it.file for it in items], sizes))
    budget = 2**24
    chunks = plan_chunks(items, sizes, 16, budget)
    assert [it for c in chunks for it in c] == items
    for c, s in zip(chunks, _sums(chunks, pixels)):
        assert s <= budget or len(c) == 1
    # Hand-computed: [24M] [1000, 1000, 10M] [10M, 5M, 100] [24M] [100]
    assert [len(c) for c in chunks] == [1, 3, 3, 1, 1]


def test_no_budget_is_count_only() -> None:
    chunks = plan_chunks(_items(10), [MP24] * 10, 4, None)
    assert [len(c) for c in chunks] == [4, 4, 2]


@pytest.mark.parametrize("bad", [0, -5, 1.5, True])
def test_budget_must_be_a_positive_int(bad: object) -> None:
    with pytest.raises(InputError, match="max_batch_pixels"):
        RunSettings(max_batch_pixels=bad)  # type: ignore[arg-type]


def _folder(tmp: Path) -> tuple[Path, Path]:
    """Six pairs in two sizes (64x48 and 40x30), natural order interleaving the sizes."""
    rng = np.random.default_rng(20)
    dist, ref = tmp / "d", tmp / "r"
    dist.mkdir()
    ref.mkdir()
    for i in range(6):
        h, w = (48, 64) if i % 2 else (30, 40)
        x = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        y = np.clip(x.astype(int) + rng.integers(-20, 21, x.shape), 0, 255).astype(np.uint8)
        Image.fromarray(x).save(ref / f"im{i}.png")
        Image.fromarray(y).save(dist / f"im{i}.png")
    return dist, ref


def _run(dist: Path, ref: Path, budget: int | None, seen: list[tuple[int, ...]] | None = None) -> list[dict]:
    metrics = {"psnr": iqa.create("psnr"), "ssim": iqa.create("ssim")}
    job = ScoreJob(
        root=dist, ref_root=ref, metrics=metrics, settings=RunSettings(batch_size=4, max_batch_pixels=budget)
    )
    return score_job(job)


def test_bounded_batches_give_the_same_scores_and_respect_the_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist, ref = _folder(tmp_path)
    unbounded = _run(dist, ref, None)
    shapes: list[tuple[int, ...]] = []
    real = job_chunks._run_metric

    def spy(m: object, img: torch.Tensor, r: torch.Tensor | None) -> torch.Tensor:
        shapes.append(tuple(img.shape))
        return real(m, img, r)  # type: ignore[arg-type]

    monkeypatch.setattr(job_chunks, "_run_metric", spy)
    budget = 2 * 64 * 48  # two of the larger images, or three of the smaller
    bounded = _run(dist, ref, budget)
    assert shapes, "the spy saw no batch"
    assert all(n * h * w <= budget or n == 1 for n, _, h, w in shapes)
    assert max(n for n, *_ in shapes) > 1  # small images still batch together
    # Same per-image computation whatever the batch around it: identical, not merely close.
    assert bounded == unbounded
    assert [r["error"] for r in bounded] == [""] * 6


def test_one_image_per_batch_gives_the_same_scores(tmp_path: Path) -> None:
    dist, ref = _folder(tmp_path)
    assert _run(dist, ref, 1) == _run(dist, ref, None)


def test_reference_cache_is_bounded_by_pixels() -> None:
    cache: OrderedDict[str, tuple[Future, int]] = OrderedDict()
    settings = RunSettings(batch_size=16, max_batch_pixels=2 * MP24)
    for i in range(5):
        cache[f"r{i}"] = (Future(), MP24)
        job_chunks._trim(cache, settings)
    assert list(cache) == ["r3", "r4"]  # the newest two fit the budget; count alone kept all five
    cache = OrderedDict([("big", (Future(), 10 * MP24))])
    job_chunks._trim(cache, settings)
    assert list(cache) == ["big"]  # the one in use is kept even above the budget


class _Stop(Exception):
    pass


def _stop_after_first_chunk(label: str, done: int, total: int) -> None:
    if done > 0:
        raise _Stop  # an interrupted run: its journal stays for --resume


def test_resume_refuses_another_budget(tmp_path: Path) -> None:
    dist, ref = _folder(tmp_path)
    out = tmp_path / "out.csv"
    psnr = {"psnr": iqa.create("psnr")}
    first = RunSettings(batch_size=2, progress=_stop_after_first_chunk)
    with pytest.raises(_Stop):
        score_job(ScoreJob(root=dist, ref_root=ref, metrics=psnr, settings=first), out)
    # Another budget cuts other chunks, so the interrupted chunk would not be recomputed as it was.
    other = ScoreJob(root=dist, ref_root=ref, metrics=psnr, settings=RunSettings(batch_size=2, max_batch_pixels=1000))
    with pytest.raises(InputError, match="different settings"):
        score_job(other, out, resume=True)
    same = ScoreJob(root=dist, ref_root=ref, metrics=psnr, settings=RunSettings(batch_size=2))
    assert len(score_job(same, out, resume=True)) == 6
