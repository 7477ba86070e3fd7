"""PieAPP: perceptual error of an image against its reference, learned from pairwise preferences.

Paper: Prashnani, Cai, Mostofi, Sen, "PieAPP: Perceptual Image-Error Assessment through Pairwise
Preference", CVPR 2018. Network: :mod:`iqa.models.pieapp`. Reference implementations: the authors'
``test_PieAPP_PT.py`` (github.com/prashnani/PerceptualImageError); pyiqa's ``PieAPP``
(``pyiqa/archs/pieapp_arch.py``, PolyForm-Noncommercial, used only as a test-time reference), whose
numbers papers report; piq 0.8's ``piq.PieAPP`` (Apache-2.0).

Released weights: the authors' ``PieAPPv0.1.pth`` as mirrored by pyiqa,
https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights/PieAPPv0.1-0937b014.pth
(manifest id ``pieapp``), loaded unchanged.

Direction and scale: the released output is the error itself, lower is better; pyiqa reports it
unflipped (``lower_better``, "~0, ~5"), as here. The last layer is affine, so the declared range is
unbounded; identical images score the heads' value at a zero feature difference (the same for every
image, ``model.identity_error()``), not a fixed number.

Input path, as released: RGB in [0, data_range] -> BGR in [0, 255] (the authors read images with
OpenCV) -> 64x64 patches at top-left corners every ``stride`` px while a patch fits -> per patch an
error and a weight -> the weighted mean of the errors. Sampling (all deterministic):

- ``sampling="sparse"`` (default): stride 27, the authors' "sparse" mode and the default of pyiqa
  and piq, so the value papers report through pyiqa;
- ``sampling="dense"``: stride 6, the authors' "dense" mode (their README's recommendation for
  accuracy comparisons since an update of the demo scripts); about 20x the patches and time.

Borders: the last ``(H - 64) % stride`` rows and ``(W - 64) % stride`` columns are never inside a
patch, in all three implementations. The authors' scripts also list a position flush with the border
but, tiling the image into sub-images of 10x10 patches to save memory, sample each sub-image on the
same grid, so that position is used only at a sub-image boundary of a few image sizes (and their
column positions come from the image height, a bug for non-square images); pyiqa and piq unfold
the grid above at any size. piq differs in one respect: it feeds RGB to the BGR-trained network
(pyiqa and the authors give BGR); with the same file its scores are this metric's with the colour
planes of ``conv1`` swapped (tests/metrics/fr/test_pieapp.py checks both).

Parity: the same seeded random state dict in the released layout loaded into this network and into
pyiqa's, the same pair of image files scored through each side's own input path: equal to float32
rounding (tests/metrics/fr/test_pieapp.py); the key layout test names every released key.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import torch

from iqa.checks import check_pair
from iqa.errors import InputError
from iqa.metrics.base import DataRange, FRMetric
from iqa.models.pieapp import PATCH, WEIGHTS_ID, PieAPPNet, pieapp_for, weighted_error
from iqa.registry import MetricSpec, OfflineBuild, register_metric

Sampling = Literal["sparse", "dense"]
STRIDES: dict[str, int] = {"sparse": 27, "dense": 6}  # the authors' two --sampling_mode values


def to_bgr255(x: torch.Tensor, data_range: float, dtype: torch.dtype) -> torch.Tensor:
    """RGB in [0, data_range] -> BGR in [0, 255] (scaled to [0, 1] in the input's precision first)."""
    return (x / data_range).to(dtype).flip(1) * 255.0


def pieapp(
    img: torch.Tensor,
    ref: torch.Tensor,
    *,
    model: PieAPPNet,
    data_range: float = 1.0,
    sampling: Sampling = "sparse",
) -> torch.Tensor:
    """PieAPP error per image, (N,); lower is better (the released scale, about 0-5 on real distortions).

    Args:
        img: images to judge, (N, 3, H, W) in ``[0, data_range]``, at least 64x64.
        ref: their references, same shape.
        model: the PieAPP network (weights loaded).
        data_range: value of white in the input (1.0 for images in [0, 1], 255 for [0, 255]).
        sampling: sparse (64 px patches every 27 px: the authors' sparse mode, pyiqa's and piq's default) or dense (every 6 px: the authors' dense mode).
    """
    if sampling not in STRIDES:
        raise InputError(f"pieapp: sampling must be one of {sorted(STRIDES)}, got {sampling!r}")
    img, ref = check_pair(img, ref, data_range=data_range, channels=(3,), min_size=PATCH)
    dtype = next(model.parameters()).dtype
    x, r = to_bgr255(img, data_range, dtype), to_bgr255(ref, data_range, dtype)
    return weighted_error(model, x, r, STRIDES[sampling]).to(img.dtype)


@register_metric(
    MetricSpec(
        name="pieapp",
        kind="fr",
        higher_is_better=False,
        value_range=(-math.inf, math.inf),
        differentiable=True,
        color="rgb",
        paper="Prashnani et al., 'PieAPP: Perceptual Image-Error Assessment through Pairwise Preference', CVPR 2018",
        reference_impl="pyiqa 0.1.16 PieAPP (stride 27, BGR x 255, unfolded grid) = the authors' test_PieAPP_PT.py sparse mode; weights PieAPPv0.1-0937b014.pth",  # fmt: skip
        tolerance="1e-5 absolute vs pyiqa PieAPP end to end from image files (same seeded random state dict; float32 rounding, measured ~1e-8); no released weights offline",  # fmt: skip
        weights=(WEIGHTS_ID,),
        min_size=PATCH,
        identity_fixed=False,  # identical inputs give the heads' intercept: image-independent but release-specific
        offline=OfflineBuild(stand_ins=(("model", "pieapp_on_noise"),)),
        summary="PieAPP v0.1 perceptual error (weighted 64x64 patch errors, pairwise-preference trained); lower is better",  # fmt: skip
    )
)
class PieAPP(FRMetric):
    """PieAPP error per image, (N,), lower is better (the released scale, about 0-5).

    Args:
        sampling: sparse (64 px patches every 27 px: the authors' sparse mode, pyiqa's and piq's default) or dense (every 6 px: the authors' dense mode).
        weights: a checkpoint in the release's layout (e.g. fine-tuned), loaded as given; None: the release (verified).
        model: a ready PieAPP network (weights loaded); None loads the release.
    """

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        sampling: Sampling = "sparse",
        weights: str | Path | None = None,
        model: PieAPPNet | None = None,
    ) -> None:
        super().__init__(data_range=data_range)
        self.sampling, self.weights = sampling, weights
        self.model = pieapp_for(weights, model)

    function = staticmethod(pieapp)

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return pieapp(img, ref, model=self.model, data_range=self.data_range, sampling=self.sampling)
