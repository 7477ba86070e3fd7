"""iqa: FID (pytorch-fid path) or FID-TF between two folders; argv: weights a b variant."""

from common import report  # noqa: I001

import sys

import torch

import iqa
from iqa.features.inception import FIDInceptionClean, FIDInceptionNet, FIDInceptionPytorchFID, FIDInceptionTF

weights, a, b, variant = sys.argv[1:5]
net = FIDInceptionNet()
net.load_state_dict(torch.load(weights, weights_only=True))
ext = {"fid": FIDInceptionPytorchFID, "fid_tf": FIDInceptionTF, "fid_clean": FIDInceptionClean}[variant](net.eval())
r = iqa.compare(a, b, [variant], options={variant: {"extractor": ext}}, batch_size=50, cache_dir=None)
report(r[variant])
