"""Pixel-domain just-noticeable-difference (JND) maps.

``namm_chou`` / ``namm_yang``: Yang, Lin, Lu, Ong, Yao, "Motion-compensated residue preprocessing
in video coding based on just-noticeable-distortion profile", IEEE TCSVT 2005 (the nonlinear
additivity model, NAMM) with Chou & Li's luminance adaptation and contrast masking (IEEE TCSVT
1995). Transcribed from the formulas of the MATLAB ``ImportanceWeight.m`` (shenjianbing/
Exposure-fusion-using-boosting-Laplacian-pyramid), on grey levels I in [0, 255] with
zero-padded 'same' correlation (MATLAB ``filter2``):

- background luminance bg = filter2(B, I) / 32 (B: 5x5 weights, centre 0);
- luminance adaptation LA = 17 (1 - sqrt(bg/127)) + 3 if bg <= 127, else 3/128 (bg - 127) + 3;
- gradient Gm = max over 4 directional 5x5 operators of |filter2(G_k, I)| / 16;
- ``namm_yang`` only: Gm *= W, W = gauss7x7,0.8(1 - 0.95 dilate_disk6(canny(I)));
- contrast masking CM = Gm (0.0001 bg + 0.115) + (0.5 - 0.01 bg);
- JND = LA + CM - 0.3 min(LA, CM).

``wu2017``: the variant after Wu et al., "Enhanced just noticeable difference model for images
with pattern complexity", IEEE TIP 2017, as widely re-implemented: LA without the "+3" below 127,
CM = 0.117 * 16 G^2.4 / (G^2 + 26^2) with G the Sobel magnitude, JND clamped at 0.

Our Canny for ``namm_yang`` is scikit-image's with MATLAB's default sigma sqrt(2) and the high
threshold at 0.5 of the largest gradient (MATLAB's thresholds are relative): close to, not
identical with, MATLAB's ``edge(I, 'canny', 0.5)``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from iqa.errors import InputError

MODELS = ("namm_chou", "namm_yang", "wu2017")

_B = torch.tensor(
    [[1, 1, 1, 1, 1], [1, 2, 2, 2, 1], [1, 2, 0, 2, 1], [1, 2, 2, 2, 1], [1, 1, 1, 1, 1]], dtype=torch.float64
)
_G = torch.tensor(
    [
        [[0, 0, 0, 0, 0], [1, 3, 8, 3, 1], [0, 0, 0, 0, 0], [-1, -3, -8, -3, -1], [0, 0, 0, 0, 0]],
        [[0, 0, 1, 0, 0], [0, 8, 3, 0, 0], [1, 3, 0, -3, -1], [0, 0, -3, -8, 0], [0, 0, -1, 0, 0]],
        [[0, 0, 1, 0, 0], [0, 0, 3, 8, 0], [-1, -3, 0, 3, 1], [0, -8, -3, 0, 0], [0, 0, -1, 0, 0]],
        [[0, 1, 0, -1, 0], [0, 3, 0, -3, 0], [0, 8, 0, -8, 0], [0, 3, 0, -3, 0], [0, 1, 0, -1, 0]],
    ],
    dtype=torch.float64,
)
_SOBEL = torch.tensor([[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]], dtype=torch.float64)


def gray255(x: torch.Tensor, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """(N, 3, H, W) RGB in [0, 1] -> (N, 1, H, W) grey levels in [0, 255] (MATLAB ``rgb2gray`` weights)."""
    if x.shape[1] == 1:
        return x.to(dtype) * 255
    w = torch.tensor([0.2989, 0.5870, 0.1140], dtype=dtype).view(1, 3, 1, 1)
    return (x.to(dtype) * w).sum(1, keepdim=True) * 255


def _filter2(img: torch.Tensor, k: torch.Tensor, padding: str = "zeros") -> torch.Tensor:
    """MATLAB filter2(k, img, 'same') (zero padding) or with replicated borders; k (K, h, w) -> (N, K, H, W)."""
    r = k.shape[-1] // 2
    if padding == "replicate":
        return F.conv2d(F.pad(img, (r, r, r, r), mode="replicate"), k.unsqueeze(1).to(img))
    return F.conv2d(img, k.unsqueeze(1).to(img), padding=r)


def _luminance_adaptation(bg: torch.Tensor, plus3: bool) -> torch.Tensor:
    dark = 17 * (1 - torch.sqrt(bg.clamp_min(0) / 127)) + (3 if plus3 else 0)
    return torch.where(bg <= 127, dark, 3 / 128 * (bg - 127) + 3)


def _edge_weight(img: torch.Tensor) -> torch.Tensor:
    from skimage.feature import canny
    from skimage.morphology import dilation, disk

    out = []
    for im in img[:, 0].double().numpy():
        mag_max = np.hypot(*np.gradient(im)).max() or 1.0
        e = canny(im, sigma=np.sqrt(2), high_threshold=0.5 * mag_max, low_threshold=0.2 * mag_max)
        out.append(1 - 0.95 * dilation(e, disk(6)).astype(np.float64))
    w = torch.from_numpy(np.stack(out))[:, None].to(img.dtype)
    t = torch.arange(-3, 4, dtype=img.dtype)
    g = torch.exp(-(t**2) / (2 * 0.8**2))
    g2 = torch.outer(g, g) / torch.outer(g, g).sum()
    return _filter2(w, g2[None])


def jnd_map(
    x: torch.Tensor, model: str = "namm_chou", *, padding: str = "zeros", dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """JND threshold per pixel on the 0-255 grey scale, shape (N, 1, H, W), in ``dtype``.

    Divide by 255 for images in [0, 1]. ``x``: (N, 3, H, W) RGB or (N, 1, H, W) grey in [0, 1].
    ``padding="zeros"`` is MATLAB ``filter2`` (the reference; it sees a dark frame around the image,
    so thresholds rise along the borders); ``"replicate"`` avoids that frame (what JNDMix uses).
    """
    if model not in MODELS:
        raise InputError(f"model must be one of {MODELS}, got {model!r}")
    if padding not in ("zeros", "replicate"):
        raise InputError(f"padding must be 'zeros' or 'replicate', got {padding!r}")
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise InputError(f"x must be (N, 3, H, W) or (N, 1, H, W), got {tuple(x.shape)}")
    img = gray255(x.detach().cpu(), dtype)
    bg = _filter2(img, _B[None], padding) / 32
    if model == "wu2017":
        gxy = _filter2(img, _SOBEL, padding)
        g = torch.sqrt((gxy**2).sum(1, keepdim=True))
        la = _luminance_adaptation(bg, plus3=False)
        cm = 0.117 * 16 * g**2.4 / (g**2 + 26**2)
        return (la + cm - 0.3 * torch.minimum(la, cm)).clamp_min(0)
    gm = (_filter2(img, _G, padding) / 16).abs().amax(1, keepdim=True)
    if model == "namm_yang":
        gm = gm * _edge_weight(img)
    la = _luminance_adaptation(bg, plus3=True)
    cm = gm * (0.0001 * bg + 0.115) + (0.5 - 0.01 * bg)
    return la + cm - 0.3 * torch.minimum(la, cm)
