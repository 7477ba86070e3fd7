"""Baseline: a per-image loop with piq computing the same PSNR and Y-channel SSIM as iqa."""

import piq
import torch
from loop_common import main, to_y


def score_pair(x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    with torch.no_grad():
        p = piq.psnr(x, y, data_range=1.0).item()
        s = piq.ssim(to_y(x), to_y(y), data_range=1.0, downsample=True).item()
    return p, s


if __name__ == "__main__":
    main(score_pair)
