"""One pure function per metric: ``iqa.functional.ssim(img, ref, data_range=1.0)``.

Each registered metric class is a thin wrapper that holds options (and weights) and calls its
function here (``Metric.function``). Full-reference functions take ``(img, ref, *, ...)``,
no-reference ones ``(img, *, ...)``; every option is keyword-only and every function returns one
score per image, shape ``(N,)``. Learned metrics take their loaded networks as keywords
(``lpips(img, ref, trunk=..., heads=...)``); the registered class builds them from the weights.
Variants that differ only in a learned head (``contrique_live``, ...) share their function.

Distribution metrics are stateful (two sets accumulated batch by batch); their statistics functions
are re-exported here: :func:`frechet_distance`, :class:`GaussianStats`, :func:`mmd2_rbf`,
:func:`kid` (see :mod:`iqa.stats`).

Importing this module imports every metric module (and so torch); ``import iqa`` alone does not.
"""

from __future__ import annotations

from iqa.metrics.fr.contrique_fr import contrique_fr
from iqa.metrics.fr.cw_ssim import cw_ssim
from iqa.metrics.fr.dists import dists
from iqa.metrics.fr.dss import dss
from iqa.metrics.fr.fsim import fsim, fsimc
from iqa.metrics.fr.gmsd import gmsd
from iqa.metrics.fr.haarpsi import haarpsi
from iqa.metrics.fr.iw_ssim import iw_ssim
from iqa.metrics.fr.lpips import lpips
from iqa.metrics.fr.mad import mad
from iqa.metrics.fr.mdsi import mdsi
from iqa.metrics.fr.ms_gmsd import ms_gmsd
from iqa.metrics.fr.ms_ssim import ms_ssim, ms_ssim_wtd_sum
from iqa.metrics.fr.nlpd import nlpd
from iqa.metrics.fr.pieapp import pieapp
from iqa.metrics.fr.psnr import psnr, psnr_y
from iqa.metrics.fr.srsim import srsim
from iqa.metrics.fr.ssim import ssim, ssim_rgb
from iqa.metrics.fr.topiq_fr import topiq_fr
from iqa.metrics.fr.vif import vif
from iqa.metrics.fr.vifp import vifp
from iqa.metrics.fr.vsi import vsi
from iqa.metrics.gen.inception_score import inception_score
from iqa.metrics.nr.arniqa import arniqa
from iqa.metrics.nr.brisque import brisque
from iqa.metrics.nr.brisque_opencv import brisque_opencv
from iqa.metrics.nr.clipiqa import clipiqa
from iqa.metrics.nr.contrique import contrique
from iqa.metrics.nr.dbcnn import dbcnn
from iqa.metrics.nr.hyperiqa import hyperiqa
from iqa.metrics.nr.laion_aes import laion_aes
from iqa.metrics.nr.liqe import liqe
from iqa.metrics.nr.maniqa import maniqa
from iqa.metrics.nr.musiq import musiq
from iqa.metrics.nr.nima import nima
from iqa.metrics.nr.niqe import niqe
from iqa.metrics.nr.paq2piq import paq2piq
from iqa.metrics.nr.qpt import qpt
from iqa.metrics.nr.topiq_iaa import topiq_iaa
from iqa.metrics.nr.topiq_nr import topiq_nr
from iqa.metrics.nr.tunet import tunet
from iqa.metrics.text.clipscore import clipscore
from iqa.metrics.text.hpsv2 import hpsv2
from iqa.metrics.text.pickscore import pickscore
from iqa.stats import GaussianStats, frechet_distance, kid, mmd2_rbf

__all__ = [
    "GaussianStats",
    "arniqa",
    "brisque",
    "brisque_opencv",
    "clipiqa",
    "clipscore",
    "contrique",
    "contrique_fr",
    "cw_ssim",
    "dbcnn",
    "dists",
    "dss",
    "frechet_distance",
    "fsim",
    "fsimc",
    "gmsd",
    "haarpsi",
    "hpsv2",
    "hyperiqa",
    "inception_score",
    "iw_ssim",
    "kid",
    "laion_aes",
    "liqe",
    "lpips",
    "mad",
    "maniqa",
    "mdsi",
    "mmd2_rbf",
    "ms_gmsd",
    "ms_ssim",
    "ms_ssim_wtd_sum",
    "musiq",
    "nima",
    "niqe",
    "nlpd",
    "paq2piq",
    "pickscore",
    "pieapp",
    "psnr",
    "psnr_y",
    "qpt",
    "srsim",
    "ssim",
    "ssim_rgb",
    "topiq_fr",
    "topiq_iaa",
    "topiq_nr",
    "tunet",
    "vif",
    "vifp",
    "vsi",
]
