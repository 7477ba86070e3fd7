"""FGSM / I-FGSM on FR metrics (MSU benchmark settings): budget, range, direction, errors."""

from __future__ import annotations

import pytest
import torch

import iqa
from iqa.attacks.gradient import fgsm, ifgsm
from iqa.errors import InputError


def _pair() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    ref = torch.rand(2, 3, 48, 48, generator=g) * 0.8 + 0.1
    img = (ref + 0.1 * (torch.rand(ref.shape, generator=g) - 0.5)).clamp(0, 1)
    return img, ref


def test_fgsm_is_one_signed_step_inside_the_budget() -> None:
    img, ref = _pair()
    m = iqa.create("psnr")
    adv = fgsm(m, img, ref, eps=0.01)
    step = adv - img
    assert step.abs().max() <= 0.01 + 1e-6 and adv.min() >= 0 and adv.max() <= 1
    # For PSNR the step moves every pixel towards the reference: |error| shrinks by eps where it exceeds eps
    big = (img - ref).abs() > 0.011
    assert torch.all((adv - ref).abs()[big] < (img - ref).abs()[big])
    assert torch.all(m(adv, ref) > m(img, ref))


def test_ifgsm_stays_in_the_eps_ball_and_raises_the_metric() -> None:
    img, ref = _pair()
    for name in ("ssim", "haarpsi"):
        m = iqa.create(name)
        adv = ifgsm(m, img, ref, eps=4 / 255, steps=5, alpha=1 / 255)
        assert (adv - img).abs().max() <= 4 / 255 + 1e-6
        assert torch.all(m(adv, ref) > m(img, ref)), name


def test_distances_are_pushed_down() -> None:
    img, ref = _pair()
    m = iqa.create("gmsd")  # lower is better
    assert torch.all(m(ifgsm(m, img, ref, eps=4 / 255, steps=5), ref) < m(img, ref))


def test_errors() -> None:
    img, ref = _pair()
    with pytest.raises(InputError, match="not differentiable"):
        fgsm(iqa.create("mad"), img, ref)
    with pytest.raises(InputError, match="eps"):
        fgsm(iqa.create("psnr"), img, ref, eps=0)
    with pytest.raises(InputError, match="steps"):
        ifgsm(iqa.create("psnr"), img, ref, steps=0)
