"""``iqa.as_loss`` in real training: small overshoot of [0, 1] is clamped, real mistakes are named.

Issue 20 item 5: under Adam a network's output leaves [0, 1] after one step and the loss used to
raise InputError with a "[0, 255] image" hint.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import iqa
from iqa.checks import LOSS_TOLERANCE, loss_input
from iqa.errors import InputError
from tests.helpers.mos_fixtures import photos


def _pair(n: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Real photo crops (scikit-image's) as the target, the same plus seeded noise as the input."""
    ref = torch.from_numpy(np.stack(photos(n, size=size))).permute(0, 3, 1, 2).float() / 255
    noisy = ref + 0.08 * torch.randn(ref.shape, generator=torch.Generator().manual_seed(0))
    return noisy.clamp(0, 1), ref


def _identity_conv() -> nn.Conv2d:
    """A 3x3 conv that starts as the identity: its first output is the input, inside [0, 1]."""
    net = nn.Conv2d(3, 3, 3, padding=1)
    with torch.no_grad():
        net.weight.zero_()
        net.bias.zero_()
        for c in range(3):
            net.weight[c, c, 1, 1] = 1.0
    return net


@pytest.mark.parametrize(("metric", "size"), [("ms_ssim", 176), ("ssim", 64)])  # 176: ms_ssim's smallest input
def test_adam_training_survives_overshoot(metric: str, size: int) -> None:
    x, ref = _pair(1, size)
    net = _identity_conv()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    loss_fn = iqa.as_loss(metric)
    losses, lows, highs = [], [], []
    for _ in range(4):
        out = net(x)
        lows.append(float(out.detach().min()))
        highs.append(float(out.detach().max()))
        loss = loss_fn(out, ref)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    # The run did overshoot (what made the old loss raise), and stayed within the tolerance.
    assert min(lows) < 0 or max(highs) > 1, (lows, highs)
    assert min(lows) >= -LOSS_TOLERANCE and max(highs) <= 1 + LOSS_TOLERANCE
    assert np.isfinite(losses).all()
    assert losses[-1] < losses[0]  # it trains: -metric falls as the denoiser improves
    with pytest.raises(InputError, match=r"requires \[0, 1\]"):  # the metric called directly still refuses
        iqa.create(metric)(net(x).detach(), ref)


def test_clamp_is_straight_through() -> None:
    x = torch.tensor([-0.01, 0.5, 1.01, 1.2]).reshape(1, 1, 2, 2).requires_grad_(True)
    y = loss_input(x, "img", 1.0)
    assert y.min().item() == 0.0 and y.max().item() == 1.0  # exactly in range: the metric's check passes
    y.sum().backward()
    assert x.grad is not None and torch.equal(x.grad, torch.ones_like(x))  # clamped pixels still get a gradient
    inside = torch.rand(1, 1, 4, 4)
    assert loss_input(inside, "img", 1.0) is inside  # nothing to clamp: the tensor itself


def test_real_mistakes_are_named() -> None:
    img, ref = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    loss = iqa.as_loss("ssim")
    with pytest.raises(InputError, match=r"looks like a \[0, 255\] image"):
        loss(img * 255, ref)
    with pytest.raises(InputError, match=r"looks like a \[-1, 1\] image"):
        loss(img * 2 - 1, ref)
    # Beyond the tolerance but neither convention: no guess, the way out is named.
    with pytest.raises(InputError, match="sigmoid or clamp") as e:
        loss(img * 1.4, ref)
    assert "0, 255" not in str(e.value) and "-1, 1" not in str(e.value)
    with pytest.raises(InputError, match="ref has values") as e:
        loss(img, ref * 255)
    # The metric itself: small overshoot refused with no wrong guess (it used to say "[0, 255] image").
    with pytest.raises(InputError, match=r"\[-0.01, 1.01\]") as e:
        iqa.create("ms_ssim")(
            torch.linspace(-0.01, 1.01, 3 * 176 * 176).reshape(1, 3, 176, 176), ref.new_ones(1, 3, 176, 176)
        )
    assert "0, 255" not in str(e.value) and "-1, 1" not in str(e.value)
    with pytest.raises(InputError, match=r"looks like a \[0, 255\] image"):
        iqa.create("ssim")(img * 255, ref)
    with pytest.raises(InputError, match="overshoot must be in"):
        iqa.as_loss("ssim", overshoot=1.5)
    with pytest.raises(InputError, match="values in"):  # overshoot=0: the metric's strict range
        iqa.as_loss("ssim", overshoot=0.0)(img + 0.01, ref)
