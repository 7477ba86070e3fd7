"""Baseline: a per-image loop with torchmetrics computing the same PSNR and Y-channel SSIM as iqa.

torchmetrics has no ssim.m downsampling, so the loop applies it (f = 2 for 512x384: a 2x2 mean).
"""

import torch
import torch.nn.functional as F
from loop_common import main, to_y
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure


def score_pair(x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    with torch.no_grad():
        p = peak_signal_noise_ratio(x, y, data_range=1.0).item()
        xs, ys = F.avg_pool2d(to_y(x), 2), F.avg_pool2d(to_y(y), 2)
        s = structural_similarity_index_measure(
            xs, ys, data_range=1.0, gaussian_kernel=True, sigma=1.5, kernel_size=11
        ).item()
    return p, s


if __name__ == "__main__":
    main(score_pair)
