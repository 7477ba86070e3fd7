"""BRISQUE as OpenCV computes it (``cv::quality::QualityBRISQUE``), with OpenCV's own trained model.

Paper: Mittal, Moorthy, Bovik, "No-Reference Image Quality Assessment in the Spatial Domain",
IEEE TIP 2012. Reference implementation: opencv_contrib ``modules/quality/src/qualitybrisque.cpp``
with ``brisque_model_live.yml`` / ``brisque_range_live.yml``. It is a different variant of the
release, not a port: its numbers are not comparable with ``brisque``. Followed exactly:

- 8-bit input: the image rounded to uint8, OpenCV 5's fixed-point BGR2GRAY
  ((9798 R + 19235 G + 3735 B + 2^14) >> 15; OpenCV 4 used 14-bit weights and differs by one
  grey level on a few pixels), then float32 on [0, 1];
- scale 2 is ``cv::resize`` of the *original* grey image to (W/2, H/2) with INTER_CUBIC
  (a = -0.75, no antialiasing, replicated borders);
- MSCN with ``GaussianBlur(7x7, 7/6, BORDER_REPLICATE)``, sigma = sqrt|E[I^2] - mu^2| + 1/255;
- AGGD fits everywhere (the first pair of features is alpha and (l^2 + r^2) / 2 of the MSCN map),
  counting zeros in the mean but not in either side, with OpenCV's grid walk (0.2 upwards in
  steps of 0.001, stopping at the first increase of |r(alpha) - r_hat|);
- neighbour products with zero fill outside the image (not circular), shifts (0,1), (1,0), (1,1),
  (-1,1); features in float32, scaled to [-1, 1] by the range file, RBF SVR, clamped to [0, 100].

Lower is better. Not differentiable.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from iqa.checks import check_data_range, check_image
from iqa.metrics.base import DataRange, NRMetric
from iqa.models.svr import RBFSVR, FeatureRange, read_opencv_range, read_opencv_svm
from iqa.registry import MetricSpec, OfflineBuild, register_metric
from iqa.weights import resolve_weights

SHIFTS = ((0, 1), (1, 0), (1, 1), (-1, 1))
MIN_SIZE = 16


def opencv_gray_u8(x: torch.Tensor, data_range: float) -> torch.Tensor:
    """(N, C, H, W) -> (N, 1, H, W) float32 in [0, 1] as cvtColor(BGR2GRAY) on uint8 then /255."""
    u8 = torch.round((x.double() * (255.0 / data_range)).clamp(0, 255)).to(torch.int64)
    if u8.shape[1] == 3:
        w = torch.tensor([9798, 19235, 3735], dtype=torch.int64, device=x.device).view(1, 3, 1, 1)
        u8 = ((u8 * w).sum(1, keepdim=True) + (1 << 14)) >> 15
    return u8.to(torch.float32) / 255


def _cubic_weights(t: torch.Tensor, a: float = -0.75) -> torch.Tensor:
    """OpenCV's interpolateCubic: weights of taps -1, 0, 1, 2 for fractional offsets t."""
    w0 = ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a
    w1 = ((a + 2) * t - (a + 3)) * t * t + 1
    w2 = ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1
    return torch.stack([w0, w1, w2, 1 - w0 - w1 - w2], -1)


def _cubic_matrix(n_in: int, n_out: int) -> torch.Tensor:
    scale = n_in / n_out
    f = (torch.arange(n_out, dtype=torch.float64) + 0.5) * scale - 0.5
    s = torch.floor(f)
    w = _cubic_weights((f - s).float()).double()
    idx = (s.long()[:, None] + torch.arange(-1, 3)[None]).clamp(0, n_in - 1)  # replicated border
    m = torch.zeros(n_out, n_in, dtype=torch.float64)
    m.scatter_add_(1, idx, w)
    return m.float()


def resize_cubic(img: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """``cv::resize(img, (w, h), INTER_CUBIC)`` for float32 (..., H, W) images."""
    return _cubic_matrix(img.shape[-2], h).to(img.device) @ img @ _cubic_matrix(img.shape[-1], w).to(img.device).t()


def _gauss7() -> torch.Tensor:
    t = torch.arange(-3, 4, dtype=torch.float64)
    g = torch.exp(-(t**2) / (2 * (7 / 6) ** 2))
    return (g / g.sum()).float()


def mscn_opencv(img: torch.Tensor) -> torch.Tensor:
    g = _gauss7().to(img.device).double()  # float32 taps, accumulated in double, stored as float32:

    # on flat areas this returns the grey level exactly (I - mu = 0, as OpenCV gives), where a
    # float32 accumulation leaves +-1 ulp residues that the AGGD fits would count as signal.
    def blur(t: torch.Tensor) -> torch.Tensor:
        t = t.double()
        t = F.conv2d(F.pad(t, (3, 3, 0, 0), mode="replicate"), g.view(1, 1, 1, 7))
        return F.conv2d(F.pad(t, (0, 0, 3, 3), mode="replicate"), g.view(1, 1, 7, 1)).float()

    mu = blur(img)
    sigma = (blur(img * img) - mu * mu).abs().sqrt() + np.float32(1.0 / 255)
    return (img - mu) / sigma


@lru_cache(maxsize=1)
def _opencv_grid() -> tuple[np.ndarray, np.ndarray]:
    gam = np.cumsum(np.concatenate([[0.2], np.full(9800, 0.001)]))  # repeated += in double, as the C++ loop
    gam = gam[gam < 10]
    from scipy.special import gamma as G

    return gam, G(2 / gam) ** 2 / (G(1 / gam) * G(3 / gam))


def aggd_opencv(v: np.ndarray) -> tuple[float, float, float]:
    """OpenCV's AGGDfit on a float32 map: (alpha, left sigma, right sigma)."""
    v = v.astype(np.float32).ravel()
    pos, neg = v[v > 0], v[v < 0]
    # cv::multiply squares in float32; cv::sum accumulates in double.
    pos_sq, neg_sq = (pos * pos).astype(np.float64).sum(), (neg * neg).astype(np.float64).sum()
    lsig = math.sqrt(neg_sq / len(neg))
    rsig = math.sqrt(pos_sq / len(pos))
    g = lsig / rsig
    n = v.size
    rhat = (np.abs(v).astype(np.float64).sum() / n) ** 2 / ((neg_sq + pos_sq) / n)
    rnorm = rhat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    gam, r = _opencv_grid()
    diff = np.abs(r - rnorm)
    rises = np.nonzero(diff[1:] > diff[:-1])[0]
    best = gam[rises[0]] if len(rises) else gam[-1]
    return float(best), lsig, rsig


def _shifted(s: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """out[i, j] = s[i + dy, j + dx] inside the image, 0 outside."""
    out = torch.zeros_like(s)
    h, w = s.shape
    out[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)] = s[
        max(0, dy) : h + min(0, dy), max(0, dx) : w + min(0, dx)
    ]
    return out


def opencv_features(gray: torch.Tensor) -> torch.Tensor:
    """(H, W) float32 grey in [0, 1] -> (36,) float32 features of ComputeBrisqueFeature."""
    feats: list[float] = []
    for scale in (1, 2):
        img = gray if scale == 1 else resize_cubic(gray, gray.shape[0] // 2, gray.shape[1] // 2)
        s = mscn_opencv(img[None, None])[0, 0]
        a, lft, rgt = aggd_opencv(s.numpy())
        feats += [a, (lft * lft + rgt * rgt) / 2]
        for dy, dx in SHIFTS:
            a, lft, rgt = aggd_opencv((s * _shifted(s, dy, dx)).numpy())
            const = math.sqrt(math.gamma(1 / a)) / math.sqrt(math.gamma(3 / a))
            feats += [a, (rgt - lft) * (math.gamma(2 / a) / math.gamma(1 / a)) * const, lft * lft, rgt * rgt]
    return torch.tensor(feats, dtype=torch.float32)


def load_opencv_model(model: str | Path | None = None, ranges: str | Path | None = None) -> tuple[RBFSVR, FeatureRange]:
    """OpenCV's ``brisque_model_live.yml`` and ``brisque_range_live.yml`` (paths, or the weights manager's)."""
    svr = read_opencv_svm(resolve_weights("brisque_opencv_model", model))
    return svr, read_opencv_range(resolve_weights("brisque_opencv_range", ranges))


def brisque_opencv(
    img: torch.Tensor,
    *,
    data_range: float = 1.0,
    svr: RBFSVR | None = None,
    feature_range: FeatureRange | None = None,
) -> torch.Tensor:
    """BRISQUE as OpenCV's ``QualityBRISQUE`` with its model; lower is better.

    Args:
        img: images to judge, (N, 3, H, W) RGB or (N, 1, H, W) grey, float in ``[0, data_range]``.
        data_range: value of white; the image is rounded to 8-bit levels as OpenCV takes it.
        svr: the regressor (OpenCV's model file); None, or ``feature_range`` None, loads OpenCV's pair.
        feature_range: the feature scaling (OpenCV's range file) that goes with ``svr``.

    Returns:
        Tensor (N,) in [0, 100].
    """
    data_range = check_data_range(data_range)
    check_image(img, data_range=data_range, min_size=MIN_SIZE)
    if svr is None or feature_range is None:
        svr, feature_range = load_opencv_model()
    gray = opencv_gray_u8(img.detach().cpu(), data_range)[:, 0]
    feats = torch.stack([opencv_features(g) for g in gray])
    scaled = feature_range.scale(feats.double()).float().double()  # OpenCV scales float32 features in float32
    out = svr.predict(scaled).clamp(0, 100)
    return out.to(img.device, torch.float64 if img.dtype == torch.float64 else torch.float32)


@register_metric(
    MetricSpec(
        name="brisque_opencv",
        kind="nr",
        higher_is_better=False,
        value_range=(0.0, 100.0),
        differentiable=False,
        color="gray",
        paper="Mittal, Moorthy, Bovik, 'No-Reference Image Quality Assessment in the Spatial Domain', IEEE TIP 2012",
        reference_impl="opencv_contrib cv::quality::QualityBRISQUE with brisque_model_live.yml / brisque_range_live.yml",
        tolerance="1e-3 absolute vs cv2.quality.QualityBRISQUE_compute on 8-bit images (OpenCV computes in float32)",
        weights=("brisque_opencv_model", "brisque_opencv_range"),
        offline=OfflineBuild(
            files=(("model", "brisque/brisque_model_live.yml"), ("ranges", "brisque/brisque_range_live.yml"))
        ),
        min_size=MIN_SIZE,
        summary="OpenCV's BRISQUE variant and model (not comparable with brisque)",
    )
)
class BRISQUEOpenCV(NRMetric):
    """OpenCV BRISQUE score per image, (N,), clamped to [0, 100]; lower is better (see :func:`brisque_opencv`).

    Args:
        model: OpenCV's ``brisque_model_live.yml``; None takes it from the weights manager.
        ranges: OpenCV's ``brisque_range_live.yml``; None takes it from the weights manager.
    """

    function = staticmethod(brisque_opencv)

    def __init__(
        self, *, data_range: DataRange = 1.0, model: str | Path | None = None, ranges: str | Path | None = None
    ) -> None:
        super().__init__(data_range=data_range)
        self.model = model
        self.ranges = ranges
        self.svr, self.range = load_opencv_model(model, ranges)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return brisque_opencv(img, data_range=self.data_range, svr=self.svr, feature_range=self.range)
