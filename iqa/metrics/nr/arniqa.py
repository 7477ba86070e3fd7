"""ARNIQA: a self-supervised distortion-manifold encoder with a linear quality regressor per dataset.

Paper: Agnolucci, Galteri, Bertini, Del Bimbo, "ARNIQA: Learning Distortion Manifold for Image
Quality Assessment", WACV 2024. Reference implementation: ``miccunifi/ARNIQA`` ``hubconf.py``
(network in :mod:`iqa.models.arniqa`).

Released weights (github.com/miccunifi/ARNIQA/releases/tag/weights; repository Apache-2.0, the
release states no separate licence for the files): the encoder ``ARNIQA.pth`` and one TorchScript
regressor per dataset, ``regressor_{koniq10k,kadid10k,live,csiq,tid2013,flive,spaq,clive}.pth``
(pyiqa mirrors them on huggingface.co/chaofengc/IQA-PyTorch-Weights). Each is a registered name,
``arniqa_<dataset>``; ``arniqa`` is the KonIQ-10k one, pyiqa's default (the authors' hubconf
defaults to KADID-10k).

Score: the regressor's prediction mapped to [0, 1] from the dataset's label range, higher is better
(``hubconf._scale_score``); a linear head, so real images can land slightly outside [0, 1].

Input path: the whole image and its half-scale copy (``crops="full"``, the README's example,
hubconf, torchmetrics and pyiqa); ``crops="five"`` is the paper's evaluation protocol (the five
224 x 224 centre and corner crops of each scale, scores averaged); both deterministic. The half
scale is antialiased bilinear as the release's ``transforms.Resize``; ``antialias=False`` is
pyiqa's plain ``F.interpolate`` (what pyiqa's numbers use).

Parity (tests/metrics/nr/test_arniqa.py): with the same seeded random files in the released
layout, end to end from the same image file, against torchmetrics' ``_ARNIQA`` (antialiased half
scale) and pyiqa's ``ARNIQA`` (``antialias=False``), to 1e-5; the key layout of both released
files is checked against the authors' ``ResNet`` and the released regressor's two tensors.
One difference from pyiqa is kept on the release's side: pyiqa maps FLIVE from (0, 100), the
authors' hubconf from (1, 100).
"""

from __future__ import annotations

from pathlib import Path

import torch

from iqa.checks import check_image
from iqa.errors import InputError
from iqa.metrics.base import DataRange, NRMetric, compute_dtype
from iqa.models.arniqa import LABELS, ARNIQANet, Crops, Dataset, arniqa_score, encoder_id, load_arniqa, regressor_id
from iqa.models.fusion import prepare_inference
from iqa.registry import MetricSpec, OfflineBuild, register_metric

MIN_SIZE = {"full": 32, "five": 2 * 224}  # five: the half-scale copy must hold a 224 crop


def arniqa(
    img: torch.Tensor, *, model: ARNIQANet, data_range: float = 1.0, crops: Crops = "full", antialias: bool = True
) -> torch.Tensor:
    """ARNIQA quality per image, (N,), nominally in [0, 1], higher is better.

    Args:
        img: images to judge, (N, 3, H, W) in ``[0, data_range]``.
        model: the network (encoder and the regressor of ``model.dataset``, weights loaded).
        data_range: value of white in the input (1.0 for images in [0, 1], 255 for [0, 255]).
        crops: full (whole image and its half-scale copy) or five (the paper's 5 crops of 224, averaged).
        antialias: antialiased half-scale copy as released; False is pyiqa's plain bilinear.
    """
    if crops not in MIN_SIZE:
        raise InputError(f"arniqa: crops must be 'full' or 'five', got {crops!r}")
    img = check_image(img, "img", data_range=data_range, channels=(3,), min_size=MIN_SIZE[crops])
    return arniqa_score(model, img / data_range, crops, antialias).to(compute_dtype(img))


def _spec(name: str, dataset: Dataset) -> MetricSpec:
    lab = LABELS[dataset]
    label = f"{'DMOS' if lab.dmos else 'MOS'} {lab.lo:g}-{lab.hi:g}"
    return MetricSpec(
        name=name,
        kind="nr",
        higher_is_better=True,
        value_range=(float("-inf"), float("inf")),
        differentiable=True,
        color="rgb",
        paper="Agnolucci et al., 'ARNIQA: Learning Distortion Manifold for Image Quality Assessment', WACV 2024",
        reference_impl="miccunifi/ARNIQA hubconf.py (torchmetrics 1.9 _ARNIQA; pyiqa 0.1.16 arniqa_arch with antialias=False)",
        tolerance="1e-5 vs torchmetrics and pyiqa with the same random files in the released layout (float32 "
        "ResNet-50 sums); released weights not offline",
        weights=(encoder_id(), regressor_id(dataset)),
        min_size=MIN_SIZE["full"],
        offline=OfflineBuild(stand_ins=(("model", "arniqa_small_on_noise"),)),
        summary=f"ARNIQA distortion-manifold ResNet-50 + {lab.tag} regressor ({label} mapped to nominal 0-1)",
    )


class _ARNIQABase(NRMetric):
    """ARNIQA quality per image, (N,), nominally 0-1, higher is better.

    Args:
        crops: full (whole image + half scale, as hubconf/pyiqa/torchmetrics) or five (the paper's 5 crops of 224).
        antialias: antialiased half-scale copy as the release; False reproduces pyiqa's plain bilinear.
        weights: a regressor file of your own (TorchScript, released layout); None: the release's for this name.
        encoder_weights: an encoder state dict file (``ARNIQA.pth`` layout); None: the released ``ARNIQA.pth``.
        model: a ready ARNIQANet for this name's dataset (weights loaded); None loads the files.
    """

    dataset: Dataset = "koniq"

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        crops: Crops = "full",
        antialias: bool = True,
        weights: str | Path | None = None,
        encoder_weights: str | Path | None = None,
        model: ARNIQANet | None = None,
    ) -> None:
        super().__init__(data_range=data_range)
        self.crops, self.antialias = crops, antialias
        self.weights, self.encoder_weights = weights, encoder_weights
        if model is None:
            model = load_arniqa(self.dataset, weights, encoder_weights)
            prepare_inference(model)  # ours: BatchNorm folded, channels-last (iqa.models.fusion)
        elif model.dataset != self.dataset:
            raise InputError(f"{self.spec.name}: the given model holds the {model.dataset} regressor; "
                             f"use arniqa_{model.dataset}")  # fmt: skip
        self.model = model.eval()

    function = staticmethod(arniqa)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return arniqa(img, model=self.model, data_range=self.data_range, crops=self.crops, antialias=self.antialias)


@register_metric(_spec("arniqa", "koniq"))
class ARNIQA(_ARNIQABase):
    """ARNIQA with the KonIQ-10k regressor (pyiqa's default ``arniqa``)."""

    dataset: Dataset = "koniq"


@register_metric(_spec("arniqa_koniq", "koniq"))
class ARNIQAKonIQ(_ARNIQABase):
    """ARNIQA with the KonIQ-10k regressor (MOS 1-100)."""

    dataset: Dataset = "koniq"


@register_metric(_spec("arniqa_kadid", "kadid"))
class ARNIQAKADID(_ARNIQABase):
    """ARNIQA with the KADID-10k regressor (MOS 1-5; the authors' hubconf default)."""

    dataset: Dataset = "kadid"


@register_metric(_spec("arniqa_live", "live"))
class ARNIQALIVE(_ARNIQABase):
    """ARNIQA with the LIVE IQA regressor (DMOS 1-100, inverted so higher is better)."""

    dataset: Dataset = "live"


@register_metric(_spec("arniqa_csiq", "csiq"))
class ARNIQACSIQ(_ARNIQABase):
    """ARNIQA with the CSIQ regressor (DMOS 0-1, inverted so higher is better)."""

    dataset: Dataset = "csiq"


@register_metric(_spec("arniqa_tid", "tid"))
class ARNIQATID(_ARNIQABase):
    """ARNIQA with the TID2013 regressor (MOS 0-9)."""

    dataset: Dataset = "tid"


@register_metric(_spec("arniqa_flive", "flive"))
class ARNIQAFLIVE(_ARNIQABase):
    """ARNIQA with the FLIVE (PaQ-2-PiQ) regressor (MOS 1-100 as hubconf; pyiqa maps from 0-100)."""

    dataset: Dataset = "flive"


@register_metric(_spec("arniqa_spaq", "spaq"))
class ARNIQASPAQ(_ARNIQABase):
    """ARNIQA with the SPAQ regressor (MOS 1-100)."""

    dataset: Dataset = "spaq"


@register_metric(_spec("arniqa_clive", "clive"))
class ARNIQACLIVE(_ARNIQABase):
    """ARNIQA with the LIVE Challenge regressor (MOS 1-100)."""

    dataset: Dataset = "clive"
