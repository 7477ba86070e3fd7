"""The FID Inception-v3: the TF ``pt_inception-2015-12-05`` graph with its quirks, three input paths.

Paper: Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
Equilibrium", NeurIPS 2017. Reference implementations: pytorch-fid 0.3.0 (``inception.py``),
torch-fidelity 0.4.0 (``feature_extractor_inceptionv3.py``), clean-fid 0.1.35.

Architecture (same parameter names as torchvision, so the published state dict loads as is):
torchvision's Inception-v3 with 1008 classes, where the pool branches of Mixed_5b-5d, 6b-6e and
7b average without counting padding (TF semantics) and Mixed_7c's pool branch is a *max* pool (a
quirk of the TF graph, kept). ``pool3`` (2048-d) is the mean of Mixed_7c's 8x8 map, which is
exposed for attribution; ``logits`` are the 1008 outputs of ``fc``.

Input paths (named extractors):
- ``inception_v3_fid`` (pytorch-fid): float [0, 1] -> ``F.interpolate`` bilinear to 299
  (align_corners=False, no antialias) -> ``2x - 1``.
- ``inception_v3_fid_tf`` (torch-fidelity, TF-exact): quantise to uint8 levels -> TF 1.x
  bilinear to 299 -> ``(x - 128) / 128``.
- ``inception_v3_fid_clean`` (clean-fid 0.1.35 "clean" mode): uint8 levels -> PIL bicubic
  (antialiased) resize of each channel as a float image ('F' mode), clipped to [0, 255] ->
  ``(x - 128) / 128``. Pillow itself does the resize, so the pixels are clean-fid's exactly.
- ``inception_v3_fid_tf_spatial7`` (the ADM evaluator's sFID features; Nash et al., "Generating
  images with sparse representations", ICML 2021; openai/guided-diffusion
  ``evaluations/evaluator.py``): the TF-exact input path above (the evaluator feeds uint8 values as
  float32 to the graph's ``ExpandDims:0``, so the graph's own ``ResizeBilinear`` to 299 and
  ``(x - 128) / 128`` run, which torch-fidelity reproduces), then TF's ``mixed_6/conv:0``: the 1x1
  branch of the ``mixed_6`` block, which is ``Mixed_6d`` here (mixed = 5b, mixed_1 = 5c,
  mixed_2 = 5d, mixed_3 = 6a, mixed_4 = 6b, mixed_5 = 6c, mixed_6 = 6d, as torch-fidelity's
  weight converter maps them), after its ReLU: in the graph's op list each layer ``X`` is
  ``X/Conv2D``, ``X/batchnorm``, ``X/CheckNumerics``, ``X/control_dependency``, then ``X`` itself,
  which can only be the ReLU (the test checks the tap is post-ReLU), and the input ops are ``ExpandDims``, ``ResizeBilinear``, ``Sub``, ``Mul``.
  Its first 7 of 192 channels on the 17x17 grid, flattened in TF's NHWC order:
  feature ``(h * 17 + w) * 7 + c`` (2023-d), so the ADM reference batches' ``mu_s``/``sigma_s``
  match coordinate by coordinate.

``logits_unbiased`` are ``pool3 @ fc.weight.T`` without the bias: the inputs of the Inception
Score in the original code (Salimans et al., the graph's ``softmax/logits/MatMul``), the ADM
evaluator and torch-fidelity (its ``'logits_unbiased'`` feature).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import inception as tv

from iqa.errors import InputError
from iqa.features.base import FeatureExtractor
from iqa.transforms.resize import resize_bilinear_tf1
from iqa.weights import load_torch_state, resolve_weights

WEIGHTS_ID = "fid_inception_v3_pt"


def _tf_avg_pool(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class _BlockA(tv.InceptionA):
    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return [self.branch1x1(x), b5, b3, self.branch_pool(_tf_avg_pool(x))]


class _BlockC(tv.InceptionC):
    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for layer in (
            self.branch7x7dbl_1,
            self.branch7x7dbl_2,
            self.branch7x7dbl_3,
            self.branch7x7dbl_4,
            self.branch7x7dbl_5,
        ):
            d = layer(d)
        return [self.branch1x1(x), b7, d, self.branch_pool(_tf_avg_pool(x))]


class _BlockE(tv.InceptionE):
    def __init__(self, in_channels: int, max_pool: bool) -> None:
        super().__init__(in_channels)
        self.max_pool = max_pool

    def _forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        # The TF graph's last block max-pools here (a bug in the original graph, reproduced).
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _tf_avg_pool(x)
        return [self.branch1x1(x), b3, d, self.branch_pool(pooled)]


class FIDInceptionNet(nn.Module):
    """The network alone: input already resized to 299 and normalised to [-1, 1]."""

    def __init__(self) -> None:
        super().__init__()
        conv = tv.BasicConv2d
        self.Conv2d_1a_3x3 = conv(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = conv(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = conv(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = conv(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = conv(80, 192, kernel_size=3)
        self.Mixed_5b, self.Mixed_5c, self.Mixed_5d = _BlockA(192, 32), _BlockA(256, 64), _BlockA(288, 64)
        self.Mixed_6a = tv.InceptionB(288)
        self.Mixed_6b, self.Mixed_6c = _BlockC(768, 128), _BlockC(768, 160)
        self.Mixed_6d, self.Mixed_6e = _BlockC(768, 160), _BlockC(768, 192)
        self.Mixed_7a = tv.InceptionD(768)
        self.Mixed_7b, self.Mixed_7c = _BlockE(1280, max_pool=False), _BlockE(2048, max_pool=True)
        self.fc = nn.Linear(2048, 1008)

    def _through(self, x: torch.Tensor, blocks: tuple[str, ...]) -> torch.Tensor:
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for name in blocks:
            x = getattr(self, f"Mixed_{name}")(x)
        return x

    def spatial(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 299, 299) in [-1, 1] -> Mixed_7c map (N, 2048, 8, 8)."""
        return self._through(x, ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"))

    def mixed_6_conv(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, 299, 299) in [-1, 1] -> TF's ``mixed_6/conv`` map (N, 192, 17, 17): Mixed_6d's 1x1
        branch after its ReLU (the sFID tap; see the module docstring).
        """
        return self.Mixed_6d.branch1x1(self._through(x, ("5b", "5c", "5d", "6a", "6b", "6c")))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial(x).mean(dim=(2, 3))


def load_fid_inception(weights: str | Path | None = None) -> FIDInceptionNet:
    """The network with the published weights (resolved by the weights manager); strict loading."""
    net = FIDInceptionNet()
    state = load_torch_state(resolve_weights(WEIGHTS_ID, weights))
    net.load_state_dict(state, strict=True)
    return net.eval()


def _fold_batchnorm(net: FIDInceptionNet) -> FIDInceptionNet:
    import copy

    from torch.nn.utils.fusion import fuse_conv_bn_eval

    net = copy.deepcopy(net).eval()
    for m in net.modules():
        if isinstance(m, tv.BasicConv2d):
            m.conv = fuse_conv_bn_eval(m.conv, m.bn)
            m.bn = nn.Identity()
    return net


class _FIDInceptionBase(FeatureExtractor):
    dim = 2048
    spatial_layer = "Mixed_7c"

    def __init__(self, net: FIDInceptionNet | None = None, *, weights: str | Path | None = None) -> None:
        super().__init__()
        net = net if net is not None else load_fid_inception(weights)
        # Inference copy: BatchNorm folded into the convolutions (eval statistics; ~8 % faster) and
        # channels_last (oneDNN's CPU convolutions ~1.8x faster in NHWC; measured at batch 50).
        # Both change results only by float rounding (~1e-5 on pool3; parity tests bound it).
        self.net = _fold_batchnorm(net).to(memory_format=torch.channels_last)

    def prepare(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != 3:
            raise InputError(f"{self.name} takes (N, 3, H, W) RGB images in [0, 1], got shape {tuple(x.shape)}")

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        return self.prepare(self.follow(x)).contiguous(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """pool3 features (N, 2048)."""
        return self.net(self._input(x))

    def spatial(self, x: torch.Tensor) -> torch.Tensor:
        """The 8x8 Mixed_7c map (N, 2048, 8, 8) whose spatial mean is pool3."""
        return self.net.spatial(self._input(x))

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """1008 class logits from pool3 features (the 2015 graph's class order)."""
        return self.net.fc(self.follow(features))

    def logits_unbiased(self, features: torch.Tensor) -> torch.Tensor:
        """``features @ fc.weight.T``, no bias: the Inception Score's logits (see the module docstring).

        Computed in the features' dtype on their device (float64 features give float64 logits).
        """
        w = self.net.fc.weight.detach().to(features.device, features.dtype)
        return features @ w.T

    def class_names(self) -> list[str] | None:
        """The 2015 graph's 1008 outputs are not in the standard ImageNet order and their label map
        is not shipped here: index-named ("inception:0" .. "inception:1007").
        """
        return [f"inception:{i}" for i in range(1008)]


class FIDInceptionPytorchFID(_FIDInceptionBase):
    """pytorch-fid input path: bilinear 299 (``F.interpolate``), then ``2x - 1``."""

    name = "inception_v3_fid"

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        x = x.to(torch.float32)
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        return 2 * x - 1


class FIDInceptionTF(_FIDInceptionBase):
    """TF-exact input path (torch-fidelity): uint8 levels, TF1 bilinear 299, ``(x - 128) / 128``."""

    name = "inception_v3_fid_tf"

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        x = torch.round(x.to(torch.float32).clamp(0, 1) * 255)
        if x.shape[-2:] != (299, 299):
            x = resize_bilinear_tf1(x, (299, 299))
        return (x - 128) / 128


def pil_bicubic_float(x: torch.Tensor, size: int = 299) -> torch.Tensor:
    """clean-fid's resize: each channel of uint8-level values as a float32 PIL image, bicubic, clip."""
    import numpy as np
    from PIL import Image

    levels = torch.round(x.detach().to(torch.float32).clamp(0, 1) * 255).cpu().numpy()
    out = np.empty((x.shape[0], 3, size, size), dtype=np.float32)
    for n in range(x.shape[0]):
        for c in range(3):
            im = Image.fromarray(levels[n, c], mode="F").resize((size, size), resample=Image.Resampling.BICUBIC)
            out[n, c] = np.asarray(im).clip(0, 255)
    return torch.from_numpy(out).to(x.device)


class FIDInceptionClean(_FIDInceptionBase):
    """clean-fid input path: PIL bicubic (antialiased) float resize to 299, ``(x - 128) / 128``."""

    name = "inception_v3_fid_clean"

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        return (pil_bicubic_float(x) - 128) / 128


class FIDInceptionSpatial7(FIDInceptionTF):
    """The ADM evaluator's sFID features: TF's ``mixed_6/conv`` (Mixed_6d's 1x1 branch, after ReLU),
    channels 0-6 of the 17x17 map, flattened in NHWC order (2023-d); TF-exact input path.

    Only the network up to Mixed_6d's 1x1 branch runs. The features are a flattened map, not a pooled
    one, so the extractor exposes no spatial map for attribution and no classifier head.
    """

    name = "inception_v3_fid_tf_spatial7"
    dim = 7 * 17 * 17
    spatial_layer = ""
    channels = 7

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The sFID features (N, 2023): index ``(h * 17 + w) * 7 + c``, as ``spatial[..., :7].reshape(N, -1)`` in TF."""
        m = self.net.mixed_6_conv(self._input(x))[:, : self.channels]
        return m.permute(0, 2, 3, 1).reshape(m.shape[0], -1)

    spatial = FeatureExtractor.spatial  # the features are not a pooled map (has_spatial_map is False)
    logits = FeatureExtractor.logits  # no classifier head on these features

    def logits_unbiased(self, features: torch.Tensor) -> torch.Tensor:
        return FeatureExtractor.logits(self, features)

    def class_names(self) -> list[str] | None:
        return None
