"""torch-fidelity 0.4.0 FID with the shared random weights; argv: weights a b."""

from common import report  # noqa: I001

import sys

import torch_fidelity

weights, a, b = sys.argv[1:4]
r = torch_fidelity.calculate_metrics(
    input1=b,
    input2=a,
    fid=True,
    cuda=False,
    verbose=False,
    batch_size=50,
    feature_extractor_weights_path=weights,
    cache=False,
    save_cpu_ram=True,
)
report(r["frechet_inception_distance"])
