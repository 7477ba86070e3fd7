"""Type aliases and literal option sets shared across the package."""

from __future__ import annotations

from typing import Literal

import torch

MetricKind = Literal["fr", "nr", "text", "dist"]
Reduction = Literal["none", "mean", "sum"]
# How a metric treats colour: "y" = BT.601 luma (MATLAB rgb2ycbcr), "rgb" = per channel,
# "gray" = single channel input only, "any" = channel count does not matter.
ColorHandling = Literal["y", "rgb", "gray", "any"]
ImageTensor = torch.Tensor
