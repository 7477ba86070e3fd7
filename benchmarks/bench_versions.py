"""Two versions of iqa side by side: per-metric forward time and ``iqa score`` time (no regressions).

    python benchmarks/bench_versions.py --base /tmp/iqa-base [--pairs 16] [--rounds 5]
        [--rows niqe --calls 15 --threads 1 --no-score]   # one row, tighter: best and median

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


def worker(pairs: int, rows: list[str], calls: int, threads: int | None, cpu_time: bool = False) -> None:
    """Runs inside one version's interpreter: prints {row: [median seconds, values...]} as JSON."""
    sys.path.insert(0, str(HERE))
    import torch
    from bench_metrics import batch

    import iqa

    if threads:
        torch.set_num_threads(threads)
    clock = time.process_time if cpu_time else time.perf_counter  # CPU time: less sensitive to other load
    y, x = batch(pairs)
    out = {}
    for row, (name, options, n) in ROWS.items():
        if row not in rows:
            continue
        m = iqa.create(name, **options)
        a, b = (y[:n], x[:n]) if n else (y, x)
        call = (lambda: m(a, b)) if iqa.get_spec(name).kind == "fr" else (lambda: m(a))
        with torch.no_grad():
            values = call()
            times = []
            for _ in range(calls):
                t = clock()
                call()
                times.append(clock() - t)
        out[row] = [statistics.median(times), min(times), *values.double().tolist()]
    print(json.dumps(out))


def run_worker(tree: Path, args: argparse.Namespace) -> dict[str, list[float]]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    extra = ["--rows", *args.rows, "--calls", str(args.calls)] + (
        ["--threads", str(args.threads)] if args.threads else []
    )
    res = subprocess.run(
        [sys.executable, __file__, "--worker", "--pairs", str(args.pairs), *extra],
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
    ap.add_argument("--new", type=Path, default=NEW, help="checkout of the newer version (default: this one)")
    ap.add_argument("--pairs", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--score-pairs", type=int, default=300)
    ap.add_argument("--rows", nargs="+", default=list(ROWS), help="row names (default: all)")
    ap.add_argument("--calls", type=int, default=3, help="timed calls per row and worker (after a warm-up)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads per worker (default: torch's)")
    ap.add_argument("--no-score", action="store_true", help="skip the whole-process iqa score row")
    ap.add_argument("--cpu-time", action="store_true", help="time rows by process CPU time (use with --threads 1)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    unknown = [r for r in args.rows if r not in ROWS]
    if unknown:
        sys.exit(f"unknown --rows {unknown}; known: {list(ROWS)}")
    if args.worker:
        worker(args.pairs, args.rows, args.calls, args.threads, args.cpu_time)
        return
    if args.base is None or not (args.base / "iqa").is_dir():
        sys.exit("--base must be a checkout of the older version (git worktree add /tmp/iqa-base <commit>)")
    sys.path.insert(0, str(HERE))
    from bench_score import build

    data = Path.home() / ".cache" / "iqa-bench" / "score"
    build(data, args.score_pairs)
    trees = {"base": args.base.resolve(), "new": args.new.resolve()}
    per: dict[str, dict[str, list[float]]] = {"base": {}, "new": {}}
    best: dict[str, dict[str, list[float]]] = {"base": {}, "new": {}}
    values: dict[str, dict[str, list[float]]] = {}
    score: dict[str, list[float]] = {"base": [], "new": []}
    for r in range(args.rounds):
        for v in ("base", "new") if r % 2 == 0 else ("new", "base"):
            res = run_worker(trees[v], args)
            for row, (t, t_best, *vals) in res.items():
                per[v].setdefault(row, []).append(t)
                best[v].setdefault(row, []).append(t_best)
                values.setdefault(row, {})[v] = vals
            if not args.no_score:
                score[v].append(time_score(trees[v], data, data / f"out_{v}.csv"))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    threads = args.threads or f"torch default on {os.cpu_count()} cores"
    threads = f"{threads}; clock: {'process CPU time' if args.cpu_time else 'wall'}"
    print(f"{args.pairs} pairs of 512x384 (CPU, threads: {threads}), median over {args.rounds} rounds of the "
          f"median of {args.calls} calls (best: the fastest call of all rounds); base and new alternate\n")  # fmt: skip
    print("| row | base s | new s | new / base | best base s | best new s | best ratio | values equal |")
    print("|---|---|---|---|---|---|---|---|")
    for row in args.rows:
        b, n = statistics.median(per["base"][row]), statistics.median(per["new"][row])
        bb, bn = min(best["base"][row]), min(best["new"][row])
        same = values[row]["base"] == values[row]["new"]
        print(f"| {row} | {b:.4f} | {n:.4f} | {n / b:.3f} | {bb:.4f} | {bn:.4f} | {bn / bb:.3f} | "
              f"{'yes' if same else 'NO'} |")  # fmt: skip
    if args.no_score:
        return
    b, n = statistics.median(score["base"]), statistics.median(score["new"])
    same = (data / "out_base.csv").read_text() == (data / "out_new.csv").read_text()
    print(f"| iqa score psnr+ssim, {args.score_pairs} PNG pairs (whole process) | {b:.2f} | {n:.2f} | {n / b:.3f} | "
          f"{'yes (byte-identical CSV)' if same else 'NO'} |")  # fmt: skip
    shutil.rmtree(data / "out", ignore_errors=True)


if __name__ == "__main__":
    main()
