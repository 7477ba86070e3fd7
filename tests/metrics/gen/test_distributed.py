"""Two gloo processes on CPU give the same FID, KID and CMMD as one process with all the data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

NAMES = ("fid", "kid", "cmmd")


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(40, 3, 32, 32, generator=g)
    return x, (x * 0.6 + 0.3 * torch.rand(40, 3, 32, 32, generator=g)).clamp(0, 1)


def _metrics():  # noqa: ANN202
    import iqa
    from tests.helpers.fake_extractor import TinyExtractor

    return {
        "fid": iqa.create("fid", extractor=TinyExtractor()),
        "kid": iqa.create("kid", extractor=TinyExtractor(), subsets=10, subset_size=20),
        "cmmd": iqa.create("cmmd", extractor=TinyExtractor()),
    }


def _values(ms) -> dict[str, float]:  # noqa: ANN001
    return {k: float(m.compute()) for k, m in ms.items()}


def _worker(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.distributed.init_process_group("gloo", rank=rank, world_size=world)
    try:
        x, y = _data()
        share = slice(rank * 20, (rank + 1) * 20)  # contiguous halves: rank order = data order
        ms = _metrics()
        for m in ms.values():
            m.update(x[share], real=True)
            m.update(y[share], real=False)
        Path(f"{out}.{rank}").write_text(json.dumps(_values(ms)))
    finally:
        torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_processes_equal_one(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = str(tmp_path / "r")
    mp.spawn(_worker, args=(2, port, out), nprocs=2, join=True)
    x, y = _data()
    ms = _metrics()
    for m in ms.values():
        m.update(x, real=True)
        m.update(y, real=False)
    single = _values(ms)
    for rank in (0, 1):
        got = json.loads(Path(f"{out}.{rank}").read_text())
        for k in NAMES:
            assert got[k] == pytest.approx(single[k], rel=1e-6), (rank, k)
