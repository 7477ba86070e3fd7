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
    pieapp,
    psnr,
    srsim,
    ssim,
    topiq_fr,
    vif,
    vifp,
    vsi,
)
from iqa.metrics.gen import cmmd, feature_distances, fid, inception_score, kid, prdc, sfid, vendi  # noqa: F401
from iqa.metrics.nr import (  # noqa: F401
    arniqa,
    brisque,
    brisque_opencv,
    clipiqa,
    contrique,
    dbcnn,
    hyperiqa,
    laion_aes,
    liqe,
    maniqa,
    musiq,
    nima,
    niqe,
    paq2piq,
    qpt,
    topiq_iaa,
    topiq_nr,
    tunet,
)
from iqa.metrics.text import clipscore, hpsv2, pickscore  # noqa: F401
