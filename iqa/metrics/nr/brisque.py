"""BRISQUE: blind/referenceless image spatial quality evaluator (the original LIVE release).

Paper: Mittal, Moorthy, Bovik, "No-Reference Image Quality Assessment in the Spatial Domain",
IEEE TIP 2012. Reference implementation: the LIVE ``BRISQUE_release`` (``brisquescore.m``,
``brisque_feature.m``, ``estimateggdparam.m``, ``estimateaggdparam.m``) with its libsvm model
``allmodel`` (weights manager) and feature ranges ``allrange`` (shipped:
:mod:`iqa.weights.brisque_allrange`), followed exactly:

- RGB goes through ``uint8`` then MATLAB ``rgb2gray`` (exact weights, rounded; ``gray=`` names the
  other conversions); grey input is used as is (0-255);
- two scales (the second after MATLAB ``imresize(., 0.5)``, bicubic, antialiased); at each,
  MSCN = (I - mu) / (sigma + 1) with ``filter2(fspecial('gaussian', 7, 7/6), ., 'same')`` (zero
  padding) and sigma = sqrt(|E[I^2] - mu^2|), constant windows as MATLAB's
  (:func:`iqa.transforms.nss.flat_value`);
- GGD fit of the MSCN map (alpha from the grid 0.2:0.001:10, first minimum of
  |rho - G(1/a)G(3/a)/G(2/a)^2|; variance); AGGD fits of its products with ``circshift`` by
  (0,1), (1,0), (1,1), (-1,1) (alpha, mean (r - l) G(2/a)/G(1/a) sqrt(G(1/a)/G(3/a)), l^2, r^2
  with l, r the raw one-sided RMS): 18 features per scale;
- the text round trip of the release: features printed with ``%f``, scaled by ``svm-scale -r
  allrange`` to [-1, 1] and printed with ``%g``, then ``svm-predict`` (RBF epsilon-SVR, gamma
  0.05) whose output is printed with ``%g``.

Lower is better (about 0-100). Float64; not differentiable (grid searches, rounding). Checked
against a MATLAB run of the release on its ``testimage1.bmp`` (all 36 features to their printed
digits, score 97.4301) and runs on images with saturated areas (see the tests).
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
from iqa.transforms.matlab import GrayConversion, to_gray
from iqa.transforms.nss import gamma_grid, mscn
from iqa.weights import brisque_allrange, resolve_weights

SHIFTS = ((0, 1), (1, 0), (1, 1), (-1, 1))
MODEL_ID = "brisque_live_allmodel"
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


def release_ranges() -> FeatureRange:
    """The release's ``allrange`` (shipped, :mod:`iqa.weights.brisque_allrange`), float64."""
    pairs = torch.tensor(brisque_allrange.PAIRS, dtype=torch.float64)
    return FeatureRange(brisque_allrange.LOWER, brisque_allrange.UPPER, pairs[:, 0], pairs[:, 1])


def load_release(model: str | Path | None, ranges: str | Path | None) -> tuple[RBFSVR, FeatureRange]:
    """The SVR (``model`` or the weights manager's ``allmodel``) and its ranges (``ranges`` or the release's)."""
    try:
        model_path = resolve_weights(MODEL_ID, model)
    except WeightsNotFoundError as e:
        raise WeightsNotFoundError(
            f"BRISQUE needs the release's SVR 'allmodel'; run `iqa weights fetch {MODEL_ID}` (or pass model=PATH). {e}"
        ) from e
    svr = read_libsvm_model(model_path)
    if ranges is None:
        return svr, release_ranges()
    range_path = Path(ranges)
    if not range_path.is_file():
        raise WeightsNotFoundError(
            f"BRISQUE feature ranges {range_path} not found; pass an existing libsvm range file, "
            "or ranges=None for the release's allrange"
        )
    return svr, read_libsvm_range(range_path, svr.sv.shape[1])


def brisque(
    img: torch.Tensor,
    *,
    data_range: float = 1.0,
    svr: RBFSVR | None = None,
    feature_range: FeatureRange | None = None,
    gray: GrayConversion = "rgb2gray_uint8",
) -> torch.Tensor:
    """BRISQUE as LIVE's ``brisquescore.m`` with its libsvm model; lower is better.

    Args:
        img: images to judge, (N, 3, H, W) RGB or (N, 1, H, W) grey, float in ``[0, data_range]``.
        data_range: value of white; RGB is rounded to 8-bit levels as the release's uint8 images.
        svr: the regressor (``allmodel``); None, or ``feature_range`` None, loads the release's pair.
        feature_range: the feature scaling (``allrange``) that goes with ``svr``.
        gray: RGB to grey: rgb2gray_uint8 (MATLAB on 8-bit files), rgb2gray (float) or rgb2gray_rounded.

    Returns:
        Tensor (N,), about 0-100.
    """
    data_range = check_data_range(data_range)
    check_image(img, data_range=data_range, min_size=MIN_SIZE)
    if svr is None or feature_range is None:
        svr, feature_range = load_release(None, None)
    levels = to_gray(img.detach().to(torch.float64), data_range=data_range, gray=gray, out_range=255)
    scores = []
    for g in levels[:, 0]:
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
        tolerance="exact to the printed digits of MATLAB runs of the release (testimage1: 36 features and 97.4301; "
        "saturated-white images 70.1863, 18.0734); 1e-4 relative on other flat areas (flat-window values unmeasured)",
        weights=(MODEL_ID,),
        offline=OfflineBuild(files=(("model", "brisque/allmodel"),)),
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
        ranges: a libsvm feature-range file for ``model``; None uses the release's ``allrange`` (shipped).
        gray: RGB to grey: rgb2gray_uint8 (MATLAB on 8-bit files), rgb2gray (float) or rgb2gray_rounded.
    """

    function = staticmethod(brisque)

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        model: str | Path | None = None,
        ranges: str | Path | None = None,
        gray: GrayConversion = "rgb2gray_uint8",
    ) -> None:
        super().__init__(data_range=data_range)
        self.model = model
        self.ranges = ranges
        self.gray = gray
        self.svr, self.range = load_release(model, ranges)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return brisque(img, data_range=self.data_range, svr=self.svr, feature_range=self.range, gray=self.gray)
