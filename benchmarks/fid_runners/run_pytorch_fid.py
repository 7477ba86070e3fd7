"""pytorch-fid 0.3.0 with the shared random weights; argv: weights a b."""

from common import report  # noqa: I001

import sys
import warnings

import torch
from pytorch_fid import fid_score, inception

weights, a, b = sys.argv[1:4]
state = torch.load(weights, weights_only=True)
inception.load_state_dict_from_url = lambda *args, **kw: state
warnings.simplefilter("ignore")
report(fid_score.calculate_fid_given_paths([a, b], batch_size=50, device="cpu", dims=2048, num_workers=2))
