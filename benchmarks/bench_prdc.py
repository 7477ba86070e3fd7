"""k-NN manifold metrics: iqa vs prdc (all four) and torch-fidelity (precision/recall), time and memory.

Usage:
    python benchmarks/bench_prdc.py [--n 10000 5000] [--dim 2048] [--repeats 3] [--memory-check]

Features are seeded random float32 (N(0, 1) real, N(0.02, 1) generated), n x n, the same in
every contender. Each contender runs in its own process (so peak RSS is its own): it builds the
features, then times its call ``repeats`` times; the table gives the median wall time, the ratio to
iqa, the peak RSS of the process and its increase over the RSS once the features exist, and the
values (they must agree: the same counts).

- ``prdc`` row: ``prdc.compute_prdc(real, fake, nearest_k=5)`` (sklearn pairwise distances, whole
  matrices) vs ``iqa.stats.prdc(real=, fake=, k=5)``, all four in one pass.
- ``P/R`` row: torch-fidelity 0.4.0 ``prc_features_to_metric(fake, real)`` (k = 3, batch 10000,
  ``save_cpu_ram=False``, its default) vs ``iqa.stats.precision_recall(real=, fake=, k=3)``.

``--memory-check`` also runs iqa alone on 50000 x 50000 64-d features (the chunking bound: its
memory is the features plus the 256 MiB chunk budget, whatever n). The machine's load
(``uptime``) is printed before and after: on a shared machine, only a quiet run is worth quoting.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _features(n: int, dim: int):  # noqa: ANN202
    import numpy as np

    g = np.random.default_rng(0)
    real = g.standard_normal((n, dim), dtype=np.float32)
    fake = g.standard_normal((n, dim), dtype=np.float32) + np.float32(0.02)  # near the real set: values ~0.4-1
    return real, fake


def worker(name: str, n: int, dim: int, repeats: int) -> None:
    """Run one contender in this process and print one JSON line."""
    import torch

    sys.path.insert(0, str(HERE.parent))
    real, fake = _features(n, dim)
    if name == "prdc":
        import contextlib
        import io

        import prdc

        def call() -> dict[str, float]:
            with contextlib.redirect_stdout(io.StringIO()):  # it prints the sample counts
                return {k: float(v) for k, v in prdc.compute_prdc(real, fake, nearest_k=5).items()}
    elif name == "torch-fidelity":
        from torch_fidelity.metric_prc import prc_features_to_metric

        r, f = torch.from_numpy(real), torch.from_numpy(fake)

        def call() -> dict[str, float]:
            out = prc_features_to_metric(
                f, r, prc_neighborhood=3, prc_batch_size=10000, save_cpu_ram=False, verbose=False
            )
            return {"precision": out["precision"], "recall": out["recall"]}
    else:
        from iqa.stats import prdc as iqa_prdc
        from iqa.stats import precision_recall

        r, f = torch.from_numpy(real), torch.from_numpy(fake)
        if name == "iqa-prdc":

            def call() -> dict[str, float]:
                return iqa_prdc(real=r, fake=f, k=5)
        else:

            def call() -> dict[str, float]:
                return precision_recall(real=r, fake=f, k=3)

    base = _rss_mib()
    times, values = [], {}
    for _ in range(repeats):
        t = time.perf_counter()
        values = call()
        times.append(time.perf_counter() - t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print("RESULT " + json.dumps({"times": times, "values": values, "peak_mib": peak, "base_mib": base}))


def run(name: str, n: int, dim: int, repeats: int) -> dict:
    p = subprocess.run(
        [sys.executable, __file__, "--worker", name, "--n", str(n), "--dim", str(dim), "--repeats", str(repeats)],
        capture_output=True,
        text=True,
    )
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{name} failed:\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}")


def _load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _row(label: str, res: dict, ref: float) -> str:
    med = statistics.median(res["times"])
    vals = ", ".join(f"{k[0].upper()} {v:.4f}" for k, v in res["values"].items())
    return (
        f"| {label} | {med:.2f} | {med / ref:.2f}x | {res['peak_mib']:.0f} | "
        f"{res['peak_mib'] - res['base_mib']:.0f} | {vals} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[10000])
    ap.add_argument("--dim", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--memory-check", action="store_true")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.n[0], args.dim, args.repeats)
        return
    print(f"load before: {_load()}  (cores: {os.cpu_count()})")
    for n in args.n:
        print(f"\n{n} x {n} features, {args.dim}-d float32, median of {args.repeats}")
        print("| contender | median s | vs iqa | peak RSS MiB | RSS over features MiB | values |")
        print("|---|---|---|---|---|---|")
        ours = run("iqa-prdc", n, args.dim, args.repeats)
        ref = statistics.median(ours["times"])
        print(_row("iqa.stats.prdc (k=5, all four)", ours, ref))
        print(_row("prdc 0.2 compute_prdc (k=5)", run("prdc", n, args.dim, args.repeats), ref))
        ours = run("iqa-pr", n, args.dim, args.repeats)
        ref = statistics.median(ours["times"])
        print(_row("iqa.stats.precision_recall (k=3)", ours, ref))
        print(_row("torch-fidelity 0.4.0 prc (k=3)", run("torch-fidelity", n, args.dim, args.repeats), ref))
    if args.memory_check:
        res = run("iqa-prdc", 50000, 64, 1)
        print("\n50000 x 50000 features, 64-d, iqa.stats.prdc once (the references would hold 3 x 50000^2 distances):")
        print(_row("iqa.stats.prdc (k=5)", res, res["times"][0]))
    print(f"\nload after: {_load()}")


if __name__ == "__main__":
    main()
