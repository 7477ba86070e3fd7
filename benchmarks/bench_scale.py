"""Throughput of ``iqa score`` on Ray with 1 and 2 workers, and its overhead against one process.

Usage:
    IQA_WEIGHTS_DIR=../shared/weights python benchmarks/bench_scale.py [--images 64] [--size 256]

Writes ``--images`` distorted/reference PNG pairs (random texture, ``--size`` pixels square), then
scores them with psnr, ssim, niqe and brisque (niqe's and brisque's parameters from
``IQA_WEIGHTS_DIR``):
  1. in this process (``score_job``, what ``iqa score`` runs),
  2. on a local Ray instance with 1 and with 2 actors (``score_on_ray``, what ``--engine ray`` runs).
Ray's times include starting the actors (each imports torch and builds the metrics); "steady"
is the throughput from the first chunk's arrival to the last (the pool at work). The tables must
be identical (checked). One run prints one table.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

NAMES = ("psnr", "ssim", "niqe", "brisque")


def make_pairs(root: Path, n: int, size: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    dist, ref = root / "dist", root / "ref"
    dist.mkdir(parents=True)
    ref.mkdir(parents=True)
    base = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    for i in range(n):
        x = np.roll(base, 7 * i, axis=1)
        y = np.clip(x.astype(int) + rng.integers(-20, 21, x.shape), 0, 255).astype(np.uint8)
        Image.fromarray(x).save(ref / f"im{i:04d}.png")
        Image.fromarray(y).save(dist / f"im{i:04d}.png")
    return dist, ref


def same(a: list[dict], b: list[dict]) -> bool:
    def eq(x: object, y: object) -> bool:
        return (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y)) or x == y

    return len(a) == len(b) and all(all(eq(r[k], s[k]) for k in r) for r, s in zip(a, b))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=64)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch-size", type=int, default=8)
    args = ap.parse_args()
    import ray

    import iqa
    from iqa.api.jobs import ScoreJob, score_job
    from iqa.api.ray_engine import RayOptions, score_on_ray
    from iqa.api.settings import RunSettings

    with tempfile.TemporaryDirectory() as tmp:
        dist, ref = make_pairs(Path(tmp), args.images, args.size)

        def job() -> ScoreJob:
            metrics = {n: iqa.create(n) for n in NAMES}
            return ScoreJob(root=dist, ref_root=ref, metrics=metrics, settings=RunSettings(batch_size=args.batch_size))

        t = time.perf_counter()
        local = score_job(job())
        t_local = time.perf_counter() - t
        t = time.perf_counter()
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
        t_init = time.perf_counter() - t
        print(f"{args.images} pairs of {args.size}x{args.size}, metrics {', '.join(NAMES)}, batch {args.batch_size}, "
              f"{os.cpu_count()} CPUs; ray.init {t_init:.1f} s (once per cluster)")  # fmt: skip
        print("| engine | wall s | images/s | steady images/s | overhead vs local |")
        print("|---|---|---|---|---|")
        print(f"| local (one process) | {t_local:.2f} | {args.images / t_local:.1f} | - | 1.00x |")
        for workers in (1, 2):
            arrivals: list[tuple[float, int]] = []
            t = time.perf_counter()
            rows = score_on_ray(
                job(), ray_options=RayOptions(workers=workers),
                on_chunk=lambda c: arrivals.append((time.perf_counter(), len(c.rows))),
            )  # fmt: skip
            wall = time.perf_counter() - t
            assert same(rows, local), "Ray's table differs from the local one"
            span = arrivals[-1][0] - arrivals[0][0]
            steady = sum(n for _, n in arrivals[1:]) / span if span > 0 else float("nan")
            print(f"| ray, {workers} worker(s) | {wall:.2f} | {args.images / wall:.1f} | {steady:.1f} | "
                  f"{wall / t_local:.2f}x |")  # fmt: skip
        ray.shutdown()


if __name__ == "__main__":
    main()
