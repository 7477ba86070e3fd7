"""Shared by the FID runners: the random FID-Inception state dict every contender loads.

The published Inception weights are not available offline, so all contenders load one random
state dict in the official key layout (written once by bench_fid.py); values must then agree.
"""

import sys
import time

T0 = time.perf_counter()


def report(value: float) -> None:
    print(f"RESULT {float(value)!r} {time.perf_counter() - T0:.3f}")
    sys.stdout.flush()
