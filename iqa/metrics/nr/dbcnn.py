"""DBCNN: no-reference quality from bilinear pooling of a VGG-16 and a synthetic-distortion S-CNN.

Paper: Zhang et al., "Blind Image Quality Assessment Using a Deep Bilinear Convolutional Neural
Network", IEEE TCSVT 30(1), 2020. Network: :mod:`iqa.models.dbcnn`. Reference implementations: the
authors' ``zwx8981/DBCNN-PyTorch`` (MIT) and pyiqa 0.1.16 ``DBCNN`` (``pyiqa/archs/dbcnn_arch.py``,
PolyForm-Noncommercial, used only as a test-time reference), whose ``dbcnn`` is the KonIQ-10k file.

Released weights (IQA-PyTorch releases,
https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights/, loaded unchanged):
``DBCNN_KonIQ10k-2de81c0a.pth`` (``dbcnn`` and ``dbcnn_koniq``), ``DBCNN_LIVEC-83f6dad3.pth``,
``DBCNN_LIVEM-698474e3.pth``, ``DBCNN_LIVE-97262bf4.pth``, ``DBCNN_CSIQ-8677d071.pth``,
``DBCNN_TID2008-4b47c5d1.pth``, ``DBCNN_TID2013-485d021d.pth``. Each regresses its training set's
labels with a linear layer, so the scale is the labels' and the range is not bounded: KonIQ ~0-1,
LIVEC MOS ~0-100, TID MOS ~0-9 (higher is better); LIVE, LIVEM and CSIQ were trained on DMOS
(pyiqa's label columns for these sets), so their scores are lower-is-better.

Input path as released (``simple_demo.py``, pyiqa's ``preprocess``): the whole image at its own
size (no resize, no crop), ImageNet mean/std. A score depends only on its own image.

Parity (tests/metrics/nr/test_dbcnn.py): the same seeded random file in the released layout loaded
into pyiqa's ``DBCNN`` and into ours, each reading the same image file (Set5 woman, 228 x 344: the
S-CNN grid is resized to VGG's there) through its own input path, agree to 1e-5 (measured 0; 1.2e-6
on a 72 x 88 batch scored image by image by pyiqa); the key layout test names every released key and
shape (and those of the S-CNN file).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import ClassVar

import torch

from iqa.checks import check_image
from iqa.metrics.base import DataRange, NRMetric, compute_dtype
from iqa.models.dbcnn import MIN_SIZE, RELEASES, DBCNNNet, Variant, dbcnn_score, load_dbcnn
from iqa.models.fusion import prepare_inference
from iqa.registry import MetricSpec, OfflineBuild, register_metric


def dbcnn(img: torch.Tensor, *, model: DBCNNNet, data_range: float = 1.0) -> torch.Tensor:
    """DBCNN quality per image, (N,), in the scale (and direction) of the network's training labels.

    Args:
        img: images to judge, (N, 3, H, W) in ``[0, data_range]``, at least 16 x 16, scored whole.
        model: the network (weights loaded).
        data_range: value of white in the input (1.0 for images in [0, 1], 255 for [0, 255]).
    """
    img = check_image(img, "img", data_range=data_range, channels=(3,), min_size=MIN_SIZE)
    return dbcnn_score(model, img / data_range).to(compute_dtype(img))


def _spec(name: str, variant: Variant, note: str = "") -> MetricSpec:
    r = RELEASES[variant]
    return MetricSpec(
        name=name,
        kind="nr",
        higher_is_better=r.higher_is_better,
        value_range=(-math.inf, math.inf),
        differentiable=True,
        color="rgb",
        paper="Zhang et al., 'Blind Image Quality Assessment Using a Deep Bilinear Convolutional Neural Network', "
        "IEEE TCSVT 2020",
        reference_impl=f"pyiqa 0.1.16 dbcnn_arch.DBCNN with its converted {r.filename} (authors' code: "
        "zwx8981/DBCNN-PyTorch)",
        tolerance="1e-5 absolute vs pyiqa, same seeded random file in the released layout, same image file "
        "(float32 rounding, channels-last here; measured 0 to 1.2e-6); released weights not offline",
        weights=(r.weights_id,),
        min_size=MIN_SIZE,
        offline=OfflineBuild(stand_ins=(("model", "dbcnn_on_noise"),)),
        summary=f"bilinear VGG-16 x S-CNN features, trained on {r.dataset}{note} ({r.scale}, "
        f"{'higher' if r.higher_is_better else 'lower'} is better)",
    )


@register_metric(_spec("dbcnn", "koniq", ", pyiqa's default"))
class DBCNN(NRMetric):
    """DBCNN quality per image, (N,), higher is better (KonIQ-10k file, about 0-1).

    Args:
        weights: a file in the released DBCNN layout (e.g. your own training); None: this name's released file.
        model: a ready DBCNNNet (weights loaded); None loads ``weights``.
    """

    variant: ClassVar[Variant] = "koniq"

    def __init__(
        self, *, data_range: DataRange = 1.0, weights: str | Path | None = None, model: DBCNNNet | None = None
    ) -> None:
        super().__init__(data_range=data_range)
        self.weights = weights
        if model is None:
            model = load_dbcnn(self.variant, weights)
            prepare_inference(model)  # ours: BatchNorm folded, channels-last (iqa.models.fusion)
        self.model = model.eval()

    function = staticmethod(dbcnn)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return dbcnn(img, model=self.model, data_range=self.data_range)


@register_metric(_spec("dbcnn_koniq", "koniq", " (the same model as dbcnn)"))
class DBCNNKonIQ(DBCNN):
    """DBCNN with the KonIQ-10k file (the same as ``dbcnn``); higher is better, about 0-1."""


@register_metric(_spec("dbcnn_livec", "livec"))
class DBCNNLIVEC(DBCNN):
    """DBCNN with the LIVE Challenge file; MOS, about 0-100, higher is better."""

    variant: ClassVar[Variant] = "livec"


@register_metric(_spec("dbcnn_livem", "livem"))
class DBCNNLIVEM(DBCNN):
    """DBCNN with the LIVE Multiply Distorted file; DMOS, about 0-100, lower is better."""

    variant: ClassVar[Variant] = "livem"


@register_metric(_spec("dbcnn_live", "live"))
class DBCNNLIVE(DBCNN):
    """DBCNN with the LIVE IQA (release 2) file; DMOS, about 0-100, lower is better."""

    variant: ClassVar[Variant] = "live"


@register_metric(_spec("dbcnn_csiq", "csiq"))
class DBCNNCSIQ(DBCNN):
    """DBCNN with the CSIQ file; DMOS, about 0-1, lower is better."""

    variant: ClassVar[Variant] = "csiq"


@register_metric(_spec("dbcnn_tid2008", "tid2008"))
class DBCNNTID2008(DBCNN):
    """DBCNN with the TID2008 file; MOS, about 0-9, higher is better."""

    variant: ClassVar[Variant] = "tid2008"


@register_metric(_spec("dbcnn_tid2013", "tid2013"))
class DBCNNTID2013(DBCNN):
    """DBCNN with the TID2013 file; MOS, about 0-9, higher is better."""

    variant: ClassVar[Variant] = "tid2013"
