"""BRISQUE: blind/referenceless image spatial quality evaluator (the original LIVE release).

Paper: Mittal, Moorthy, Bovik, "No-Reference Image Quality Assessment in the Spatial Domain",
IEEE TIP 2012. Reference implementation: the LIVE ``BRISQUE_release`` (``brisquescore.m``,
``brisque_feature.m``, ``estimateggdparam.m``, ``estimateaggdparam.m``) with its libsvm model
``allmodel`` and feature ranges ``allrange``, followed exactly:

- RGB goes through ``uint8`` then MATLAB ``rgb2gray`` (rounded); grey input is used as is (0-255);
- two scales (the second after MATLAB ``imresize(., 0.5)``, bicubic, antialiased); at each,
  MSCN = (I - mu) / (sigma + 1) with ``filter2(fspecial('gaussian', 7, 7/6), ., 'same')`` (zero
  padding) and sigma = sqrt(|E[I^2] - mu^2|);
- GGD fit of the MSCN map (alpha from the grid 0.2:0.001:10, first minimum of
  |rho - G(1/a)G(3/a)/G(2/a)^2|; variance); AGGD fits of its products with ``circshift`` by
  (0,1), (1,0), (1,1), (-1,1) (alpha, mean (r - l) G(2/a)/G(1/a) sqrt(G(1/a)/G(3/a)), l^2, r^2
  with l, r the raw one-sided RMS): 18 features per scale;
- the text round trip of the release: features printed with ``%f``, scaled by ``svm-scale -r
  allrange`` to [-1, 1] and printed with ``%g``, then ``svm-predict`` (RBF epsilon-SVR, gamma
  0.05) whose output is printed with ``%g``.

Lower is better (about 0-100). Float64; not differentiable (grid searches, rounding).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from iqa.checks import check_data_range, check_image
from iqa.errors import WeightsNotFoundError
from iqa.metrics.base import DataRange, NRMetric
from iqa.models.svr import RBFSVR, FeatureRange, read_libsvm_model, read_libsvm_range
from iqa.registry import MetricSpec, OfflineBuild, register_metric
from iqa.transforms.imresize import imresize
from iqa.transforms.matlab import rgb2gray
from iqa.transforms.nss import gamma_grid, mscn
from iqa.weights import resolve_weights

SHIFTS = ((0, 1), (1, 0), (1, 1), (-1, 1))
RELEASE = "http://live.ece.utexas.edu/research/quality/BRISQUE_release.zip"
MIN_SIZE = 16


def ggd(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """estimateggdparam.m on a vector: (alpha, sigma^2)."""
    gam, r_aggd = gamma_grid()
    sigma_sq = (v * v).mean()
    rho = sigma_sq / v.abs().mean() ** 2
    alpha = gam[torch.argmin((rho - 1 / r_aggd.to(v)).abs())]  # r_gam = G(1/a)G(3/a)/G(2/a)^2
    return alpha.to(v), sigma_sq


def aggd_raw(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """BRISQUE's estimateaggdparam.m on a vector: (alpha, left RMS, right RMS)."""
    gam, r = gamma_grid()
    left = torch.sqrt((v[v < 0] ** 2).mean())
    right = torch.sqrt((v[v > 0] ** 2).mean())
    g = left / right
    rhat = v.abs().mean() ** 2 / (v * v).mean()
    rnorm = rhat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    return gam[torch.argmin((r.to(v) - rnorm) ** 2)].to(v), left, right


def brisque_features(gray: torch.Tensor) -> torch.Tensor:
    """(H, W) float64 grey levels -> (36,) features of brisque_feature.m."""
    feats: list[torch.Tensor] = []
    img = gray
    for _ in range(2):
        s = mscn(img[None, None], padding="zeros")[0, 0]
        alpha, var = ggd(s.flatten())
        feats += [alpha, var]
        for dy, dx in SHIFTS:
            a, left, right = aggd_raw((s * torch.roll(s, shifts=(dy, dx), dims=(0, 1))).flatten())
            lg = torch.lgamma
            mean = (right - left) * torch.exp(lg(2 / a) - lg(1 / a)) * torch.exp(0.5 * (lg(1 / a) - lg(3 / a)))
            feats += [a, mean, left**2, right**2]
        img = imresize(img, 0.5)
    return torch.stack(feats)


def _printf(values: torch.Tensor, fmt: str) -> torch.Tensor:
    """Round as C's printf would write and read back the numbers (the release's text files)."""
    return torch.tensor([float(format(v, fmt)) for v in values.tolist()], dtype=torch.float64)


def load_release(model: str | Path | None, ranges: str | Path | None) -> tuple[RBFSVR, FeatureRange]:
    model_path = resolve_weights("brisque_live_allmodel", model)
    range_path = Path(ranges) if ranges is not None else model_path.with_name("allrange")
    if not range_path.is_file():
        raise WeightsNotFoundError(
            f"BRISQUE needs the release's feature ranges: {range_path} not found. Take 'allrange' from {RELEASE} "
            f"and put it beside {model_path.name} ({model_path.parent}), or pass ranges=PATH"
        )
    svr = read_libsvm_model(model_path)
    return svr, read_libsvm_range(range_path, svr.sv.shape[1])


def brisque(
    img: torch.Tensor,
    *,
    data_range: float = 1.0,
    svr: RBFSVR | None = None,
    feature_range: FeatureRange | None = None,
) -> torch.Tensor:
    """BRISQUE as LIVE's ``brisquescore.m`` with its libsvm model; lower is better.

    Args:
        img: images to judge, (N, 3, H, W) RGB or (N, 1, H, W) grey, float in ``[0, data_range]``.
        data_range: value of white; RGB is rounded to 8-bit levels as the release's uint8 images.
        svr: the regressor (``allmodel``); None, or ``feature_range`` None, loads the release's pair.
        feature_range: the feature scaling (``allrange``) that goes with ``svr``.

    Returns:
        Tensor (N,), about 0-100.
    """
    data_range = check_data_range(data_range)
    check_image(img, data_range=data_range, min_size=MIN_SIZE)
    if svr is None or feature_range is None:
        svr, feature_range = load_release(None, None)
    # RGB: MATLAB rgb2gray on uint8 (rounded weights, 8-bit levels); grey input as it is, on 0-255.
    gray = rgb2gray(
        img.to(torch.float64),
        data_range=data_range,
        coefficients="rounded",
        quantize=img.shape[1] == 3,
        out_range=255,
    )
    scores = []
    for g in gray[:, 0]:
        feats = _printf(brisque_features(g), ".6f")
        scaled = _printf(feature_range.scale(feats), "g")
        scores.append(_printf(svr.predict(scaled[None].to(g.device)), "g"))
    return torch.cat(scores).to(img.device, torch.float64 if img.dtype == torch.float64 else torch.float32)


@register_metric(
    MetricSpec(
        name="brisque",
        kind="nr",
        higher_is_better=False,
        value_range=(-math.inf, math.inf),
        differentiable=False,
        color="gray",
        paper="Mittal, Moorthy, Bovik, 'No-Reference Image Quality Assessment in the Spatial Domain', IEEE TIP 2012",
        reference_impl="LIVE BRISQUE_release (brisquescore.m + libsvm allmodel/allrange), including its %f/%g text round trip",
        tolerance="1e-2 relative to the MATLAB scores of TID2008 reference images (matlab_result.txt beside allmodel); measured below 1e-3",
        weights=("brisque_live_allmodel",),
        offline=OfflineBuild(files=(("model", "brisque/allmodel"),), stand_ins=(("ranges", "brisque_allrange"),)),
        min_size=MIN_SIZE,
        summary="natural scene statistics of MSCN coefficients, LIVE-trained SVR (MATLAB release)",
        # Noise of std 0.01 vs 0.03 can leave an already grainy photo's score flat (measured: coffee, -0.7).
        noise_monotone_from=0.03,
    )
)
class BRISQUE(NRMetric):
    """BRISQUE score per image, (N,); lower is better (see :func:`brisque`).

    Args:
        model: the release's libsvm model file ``allmodel``; None takes it from the weights manager.
        ranges: its feature ranges ``allrange``; None looks beside the model file.
    """

    function = staticmethod(brisque)

    def __init__(
        self, *, data_range: DataRange = 1.0, model: str | Path | None = None, ranges: str | Path | None = None
    ) -> None:
        super().__init__(data_range=data_range)
        self.model = model
        self.ranges = ranges
        self.svr, self.range = load_release(model, ranges)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return brisque(img, data_range=self.data_range, svr=self.svr, feature_range=self.range)
