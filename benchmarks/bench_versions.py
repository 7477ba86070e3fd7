"""Two versions of iqa side by side: per-metric forward time and ``iqa score`` time (no regressions).

    python benchmarks/bench_versions.py --base /tmp/iqa-base [--pairs 16] [--rounds 5]

``--base`` is a checkout of the older version (``git worktree add /tmp/iqa-base <commit>``); the
newer one is this checkout. Each round runs one worker process per version, alternating which goes
first, so drift in machine load hits both alike. A worker imports iqa from its tree only
(``PYTHONPATH``), scores the same batch as benchmarks/bench_metrics.py (512x384 crops of
../shared/data/images/Urban50 and JPEG q30 copies) with the same options as that script's iqa rows,
and reports the median of three calls per metric after a warm-up. ``iqa score`` (psnr + ssim on
the pairs of benchmarks/bench_score.py) is timed as a whole process per version. Prints a markdown
table: median seconds per version, the ratio new/base and whether the values agree.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NEW = HERE.parent
SHARED = NEW.parent / "shared"

# name -> (registry name, options, pairs used); as the iqa rows of bench_metrics.py.
ROWS: dict[str, tuple[str, dict, int | None]] = {
    "psnr": ("psnr", {}, None),
    "ssim_rgb (no downsampling)": ("ssim_rgb", {"downsample": False}, None),
    "ssim": ("ssim", {}, None),
    "ms_ssim": ("ms_ssim", {}, None),
    "gmsd": ("gmsd", {}, None),
    "ms_gmsd": ("ms_gmsd", {}, None),
    "mdsi": ("mdsi", {}, None),
    "fsim": ("fsim", {}, None),
    "fsimc": ("fsimc", {}, None),
    "vsi": ("vsi", {}, None),
    "vif": ("vif", {}, None),
    "vifp": ("vifp", {}, None),
    "haarpsi": ("haarpsi", {}, None),
    "nlpd": ("nlpd", {}, None),
    "iw_ssim": ("iw_ssim", {}, None),
    "cw_ssim (4 levels, 8 orientations)": ("cw_ssim", {"level": 4, "orientations": 8}, None),
    "mad (2 pairs)": ("mad", {}, 2),
    "niqe": ("niqe", {"weights": str(SHARED / "weights" / "niqe_pris_params.npz")}, None),
}


def worker(pairs: int) -> None:
    """Runs inside one version's interpreter: prints {row: [median seconds, values...]} as JSON."""
    sys.path.insert(0, str(HERE))
    import torch
    from bench_metrics import batch

    import iqa

    y, x = batch(pairs)
    out = {}
    for row, (name, options, n) in ROWS.items():
        m = iqa.create(name, **options)
        a, b = (y[:n], x[:n]) if n else (y, x)
        call = (lambda: m(a, b)) if iqa.get_spec(name).kind == "fr" else (lambda: m(a))
        with torch.no_grad():
            values = call()
            times = []
            for _ in range(3):
                t = time.perf_counter()
                call()
                times.append(time.perf_counter() - t)
        out[row] = [statistics.median(times), *values.double().tolist()]
    print(json.dumps(out))


def run_worker(tree: Path, pairs: int) -> dict[str, list[float]]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    res = subprocess.run(
        [sys.executable, __file__, "--worker", "--pairs", str(pairs)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(res.stdout.strip().splitlines()[-1])


def score_cmd(tree: Path, data: Path, out: Path) -> list[str]:
    dist, ref = data / "dist", data / "ref"
    return [sys.executable, "-m", "iqa.cli.main", "score", str(dist), "--ref", str(ref), "-m", "psnr", "-m", "ssim",
            "-o", str(out), "--overwrite", "-q", "--ref-pattern", r"(?P<ref>.+)__"]  # fmt: skip


def time_score(tree: Path, data: Path, out: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    t = time.perf_counter()
    subprocess.run(score_cmd(tree, data, out), env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", type=Path, help="checkout of the older version")
    ap.add_argument("--pairs", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--score-pairs", type=int, default=300)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.pairs)
        return
    if args.base is None or not (args.base / "iqa").is_dir():
        sys.exit("--base must be a checkout of the older version (git worktree add /tmp/iqa-base <commit>)")
    sys.path.insert(0, str(HERE))
    from bench_score import build

    data = Path.home() / ".cache" / "iqa-bench" / "score"
    build(data, args.score_pairs)
    trees = {"base": args.base.resolve(), "new": NEW}
    per: dict[str, dict[str, list[float]]] = {"base": {}, "new": {}}
    values: dict[str, dict[str, list[float]]] = {}
    score: dict[str, list[float]] = {"base": [], "new": []}
    for r in range(args.rounds):
        for v in ("base", "new") if r % 2 == 0 else ("new", "base"):
            res = run_worker(trees[v], args.pairs)
            for row, (t, *vals) in res.items():
                per[v].setdefault(row, []).append(t)
                values.setdefault(row, {})[v] = vals
            score[v].append(time_score(trees[v], data, data / f"out_{v}.csv"))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    print(f"{args.pairs} pairs of 512x384 (CPU, {os.cpu_count()} threads), median over {args.rounds} rounds "
          "of the median of 3 calls; base and new alternate\n")  # fmt: skip
    print("| row | base s | new s | new / base | values equal |\n|---|---|---|---|---|")
    for row in ROWS:
        b, n = statistics.median(per["base"][row]), statistics.median(per["new"][row])
        same = values[row]["base"] == values[row]["new"]
        print(f"| {row} | {b:.4f} | {n:.4f} | {n / b:.3f} | {'yes' if same else 'NO'} |")
    b, n = statistics.median(score["base"]), statistics.median(score["new"])
    same = (data / "out_base.csv").read_text() == (data / "out_new.csv").read_text()
    print(f"| iqa score psnr+ssim, {args.score_pairs} PNG pairs (whole process) | {b:.2f} | {n:.2f} | {n / b:.3f} | "
          f"{'yes (byte-identical CSV)' if same else 'NO'} |")  # fmt: skip
    shutil.rmtree(data / "out", ignore_errors=True)


if __name__ == "__main__":
    main()
