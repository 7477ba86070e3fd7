"""clean-fid 0.1.35 mode='clean' with the shared random weights; argv: weights a b.

clean-fid loads NVIDIA's TorchScript Inception from /tmp and calls ``.layers`` on (x-128)/128.
Here ``torch.jit.load`` inside clean-fid returns a TorchScript module whose ``layers`` is iqa's
FID Inception graph holding the shared random weights, so only the weights are swapped; nothing
is written to /tmp.
"""

from common import report  # noqa: I001

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.helpers.cleanfid_stub import scripted_inception  # noqa: E402

weights, a, b = sys.argv[1:4]
scripted = scripted_inception(torch.load(weights, weights_only=True))

import cleanfid.downloads_helper as dh  # noqa: E402
import cleanfid.inception_torchscript as its  # noqa: E402
from cleanfid import fid  # noqa: E402

its.check_download_inception = dh.check_download_inception = lambda fpath="./": None
torch.jit.load = lambda path, *args, **kw: scripted  # this process only: the runner's own copy
report(
    fid.compute_fid(
        a,
        b,
        mode="clean",
        device=torch.device("cpu"),
        num_workers=0,
        batch_size=50,
        use_dataparallel=False,
        verbose=False,
    )
)
