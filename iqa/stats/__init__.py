"""Distribution statistics: features -> summary statistics -> distances, as pure functions.

The numbers behind the distribution metrics (FID and its variants, KID, CMMD, ``fd_*``, ``mmd_*``),
FID attribution (:mod:`iqa.explain`) and the resampling attack (:mod:`iqa.attacks`), public so that
they can be used and tested on their own:

- :class:`GaussianStats` (:mod:`iqa.stats.gaussian`): float64 mean and scatter of feature vectors,
  merged batch by batch, file by file or process by process with Chan's exact pairwise formula;
  ``.npz`` load/save in pytorch-fid's format (``mu``, ``sigma``, plus ``n``).
- :func:`frechet_distance` (:mod:`iqa.stats.frechet`): the Frechet distance between two Gaussians,
  through a symmetric eigenvalue route (default) or ``scipy.linalg.sqrtm`` (pytorch-fid / clean-fid
  parity); :func:`warn_if_rank_deficient` for covariances from too few samples.
- The closed-form Frechet gradient: :class:`FrechetReference` (dFD/dmean, dFD/dcov),
  :func:`add_one` / :func:`remove_one` (exact one-sample updates) and :func:`feature_gradient`
  (dFD/df of one added feature vector).
- :func:`mmd2_rbf` and :func:`kid` (:mod:`iqa.stats.mmd`): RBF-kernel MMD^2 in memory-bounded
  blocks (CMMD) and polynomial-kernel KID over random subsets (torch-fidelity's draws).
- :func:`precision_recall`, :func:`density_coverage`, :func:`prdc`, :func:`knn_metrics`,
  :func:`knn_radii` (:mod:`iqa.stats.knn`): k-NN manifold metrics in memory-bounded chunks.
- :func:`vendi_score` (:mod:`iqa.stats.vendi`): the Vendi diversity score (cosine kernel).
- :func:`gather_stats` / :func:`gather_features` (:mod:`iqa.stats.distributed`): the exact
  ``torch.distributed`` gather used by the metrics' ``compute()``.

Everything computes in float64 on the device of its input (the CPU for MPS, which has no float64:
:func:`float64_device`).

Example:
    >>> import torch
    >>> from iqa.stats import GaussianStats, frechet_distance
    >>> a = GaussianStats.from_features(torch.randn(500, 8, dtype=torch.float64))
    >>> b = GaussianStats.from_features(torch.randn(500, 8, dtype=torch.float64) + 1)
    >>> float(frechet_distance(a.mean, a.cov, b.mean, b.cov)) > 7
    True
"""

from iqa.stats.distributed import gather_features, gather_stats, world
from iqa.stats.frechet import (
    FrechetMethod,
    FrechetReference,
    add_one,
    feature_gradient,
    frechet_distance,
    remove_one,
    sqrt_psd,
    trace_sqrt_product,
    warn_if_rank_deficient,
    with_ridge,
)
from iqa.stats.gaussian import GaussianStats, float64_device
from iqa.stats.knn import density_coverage, knn_metrics, knn_radii, prdc, precision_recall
from iqa.stats.mmd import kid, mmd2_rbf
from iqa.stats.vendi import vendi_score

__all__ = [
    "FrechetMethod",
    "FrechetReference",
    "GaussianStats",
    "add_one",
    "density_coverage",
    "feature_gradient",
    "float64_device",
    "frechet_distance",
    "gather_features",
    "gather_stats",
    "kid",
    "knn_metrics",
    "knn_radii",
    "mmd2_rbf",
    "prdc",
    "precision_recall",
    "remove_one",
    "sqrt_psd",
    "trace_sqrt_product",
    "vendi_score",
    "warn_if_rank_deficient",
    "with_ridge",
    "world",
]
