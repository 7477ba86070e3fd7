"""FGSM and I-FGSM on a full-reference metric: perturb the distorted image so the metric rates it better.

Settings follow the MSU Metrics Robustness Benchmark (reference implementation
``msu-video-group/MSU_Metrics_Robustness_Benchmark``, ``methods/std-fgsm`` and ``methods/ifgsm``):
FGSM is one sign step of size eps = 10/255; I-FGSM takes 10 sign steps of 1/255 on an additive
perturbation kept in the eps-ball, the image clamped to [0, 1]. In FR mode the attacked image is
the compressed one and the metric is computed against the untouched original. The reference
minimises 1 - score/range; only the gradient's sign is used, so we minimise -score for
similarities and +score for distances, which gives the same steps.
"""

from __future__ import annotations

import torch

from iqa.errors import InputError
from iqa.metrics.base import FRMetric


def _objective_grad(metric: FRMetric, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    x = img.detach().clone().requires_grad_(True)
    score = metric(x, ref).sum()  # per-image scores are independent: the sum's gradient is per image
    loss = -score if metric.spec.higher_is_better else score
    (grad,) = torch.autograd.grad(loss, x)
    return grad


def _check(metric: FRMetric, eps: float) -> None:
    if not metric.spec.differentiable:
        raise InputError(f"{metric.spec.name} is not differentiable; gradient attacks need a differentiable metric "
                         "(the 'grad' column of `iqa list --kind fr`)")  # fmt: skip
    if not eps > 0:
        raise InputError(f"eps must be > 0, got {eps}")


def fgsm(metric: FRMetric, img: torch.Tensor, ref: torch.Tensor, *, eps: float = 10 / 255) -> torch.Tensor:
    """One sign step of size ``eps`` on ``img`` (N, C, H, W) in [0, 1]; returns the attacked image."""
    _check(metric, eps)
    grad = _objective_grad(metric, img, ref)
    return (img - eps * grad.sign()).clamp(0, 1).detach()


def ifgsm(
    metric: FRMetric,
    img: torch.Tensor,
    ref: torch.Tensor,
    *,
    eps: float = 10 / 255,
    steps: int = 10,
    alpha: float = 1 / 255,
) -> torch.Tensor:
    """``steps`` sign steps of ``alpha`` on a perturbation clipped to [-eps, eps]; image clamped to [0, 1]."""
    _check(metric, eps)
    if steps < 1:
        raise InputError(f"steps must be >= 1, got {steps}")
    p = torch.zeros_like(img)
    for _ in range(steps):
        grad = _objective_grad(metric, (img + p).clamp(0, 1), ref)
        p = (p - alpha * grad.sign()).clamp(-eps, eps)
    return (img + p).clamp(0, 1).detach()


ATTACKS = {"fgsm": fgsm, "ifgsm": ifgsm}
