"""TUNet: theme-aware image aesthetics (TANet), a 1-10 score per image.

Paper: He et al., "Rethinking Image Aesthetics Assessment: Models, Datasets and Benchmarks",
IJCAI 2022 (TANet, trained on TAD66k). Reference implementation: ``woshidandan/TANet``,
``code/TAD66K`` (network in :mod:`iqa.models.tanet`). Input path as the release's test
transform: resize to 224 x 224 (bilinear, antialiased as PIL does), ImageNet mean/std; score =
10 x sigmoid output (TAD66k labels are score / 10), or sum_i i p_i for the AVA 10-bin variant.

Weights: the released checkpoints (``SRCC_513_LCC_531_MSE_016.pth`` for TAD66k,
``SRCC_758_LCC_765.pth`` for AVA, links in the repository's README) are converted once with
``iqa weights convert tanet FILE --variant tad66k`` into verified safetensors; a model trained with
``iqa train tunet`` is used the same way. The mode follows the weights (their record names it):
the releases run ``mode="compat"``, the batch-coupled theme branch they were trained and evaluated
with (feed batches of 40 in the test list's order to reproduce their numbers); weights trained by
``iqa train tunet`` run ``mode="per_image"`` (every image scored on its own). Asking for the mode
the weights were not trained in is refused (see :mod:`iqa.models.tanet`, docs/tunet.md).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from iqa.checks import check_image
from iqa.errors import InputError
from iqa.metrics.base import DataRange, NRMetric
from iqa.models.tanet import Mode, TANet, Variant, preprocess, score_of
from iqa.models.tanet_weights import load_tanet
from iqa.registry import MetricSpec, OfflineBuild, register_metric


def tunet(img: torch.Tensor, *, model: TANet, data_range: float = 1.0) -> torch.Tensor:
    """TANet aesthetic score per image on the 1-10 scale; higher is better.

    Args:
        img: images to judge, (N, 3, H, W) in ``[0, data_range]``, at least 8x8.
        model: the TANet (weights loaded; its ``variant`` decides the readout, its ``mode`` the forward).
        data_range: value of white in the input (1.0 for images in [0, 1], 255 for [0, 255]).
    """
    img = check_image(img, "img", data_range=data_range, channels=(3,), min_size=8)
    if model.mode == "compat" and len(img) == 1 and model.variant == "tad66k":
        # the release never scored an image alone: its theme vector is then ten 1.0s whatever the image
        warnings.warn("tunet in compat mode (the release's) scored a batch of one: its theme branch is constant "
                      "then; score batches of 40 as the release's test loader did", stacklevel=2)  # fmt: skip
    return score_of(model(preprocess(img / data_range)), model.variant).to(img.dtype)


@register_metric(
    MetricSpec(
        name="tunet",
        kind="nr",
        higher_is_better=True,
        value_range=(0.0, 10.0),
        differentiable=True,
        color="rgb",
        paper="He et al., 'Rethinking Image Aesthetics Assessment: Models, Datasets and Benchmarks' (TANet), IJCAI 2022",
        reference_impl="woshidandan/TANet code/TAD66K train_nni.py (module names kept; compat mode = its batch-coupled forward, the mode its weights run)",
        tolerance="compat forward 1e-6 vs a transcription of the release on random weights; no released weights offline",
        min_size=8,
        offline=OfflineBuild(stand_ins=(("model", "tanet_release"),)),
        summary="theme-aware aesthetics (TAD66k): Places365 theme, RGB attention and MobileNetV2 branches, 1-10",
    )
)
class TUNet(NRMetric):
    """Aesthetic score per image, (N,), higher is better (1-10 scale).

    Args:
        variant: tad66k (10 x sigmoid output) or ava (mean of the 10-bin rating distribution).
        mode: None (the weights' own: compat for the release), per_image or compat; another than the weights' is refused.
        weights: a .safetensors file (e.g. from ``iqa train tunet``); None: the converted release ``tanet_<variant>``.
        theme_trunk: theme-branch trunk of the weights (resnet18_places365 as the release, efficientnet_lite0, timm:NAME).
        aes_trunk: aesthetics-branch trunk of the weights (mobilenet_v2_nima as the release, efficientnet_lite0, timm:NAME).
        model: a ready TANet of ``variant`` (its weights loaded); None builds and loads one.
    """

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        variant: Variant = "tad66k",
        mode: Mode | None = None,
        weights: str | Path | None = None,
        theme_trunk: str = "resnet18_places365",
        aes_trunk: str = "mobilenet_v2_nima",
        model: TANet | None = None,
    ) -> None:
        super().__init__(data_range=data_range)
        self.variant, self.weights = variant, weights
        self.theme_trunk, self.aes_trunk = theme_trunk, aes_trunk
        if model is None:
            model = load_tanet(variant, mode, weights, theme_trunk, aes_trunk)
        elif model.variant != variant:
            raise InputError(f"tunet: the given model is the {model.variant} variant; pass variant={model.variant!r}")
        elif mode is not None and mode != model.mode:
            # a given network's mode is how it was built for its weights: never switched behind the caller's back
            raise InputError(f"tunet: the given model runs mode {model.mode!r}; leave mode unset or build the model "
                             f"with mode={mode!r} (only for weights trained in that mode)")  # fmt: skip
        self.mode: Mode = model.mode
        self.model = model.eval()

    function = staticmethod(tunet)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return tunet(img, model=self.model, data_range=self.data_range)
