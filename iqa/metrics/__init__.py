"""Importing this package registers every metric: one line per metric module.

``tests/test_registry.py`` fails if a metric module exists but is not listed here.
"""

from iqa.metrics.fr import (  # noqa: F401
    contrique_fr,
    cw_ssim,
    dists,
    dss,
    fsim,
    gmsd,
    haarpsi,
    iw_ssim,
    lpips,
    mad,
    mdsi,
    ms_gmsd,
    ms_ssim,
    nlpd,
    psnr,
    srsim,
    ssim,
    vif,
    vifp,
    vsi,
)
from iqa.metrics.gen import cmmd, feature_distances, fid, kid  # noqa: F401
from iqa.metrics.nr import brisque, brisque_opencv, contrique, niqe, qpt, tunet  # noqa: F401
