"""dists: parity with piq.DISTS given the same VGG16 state dict and the real alpha/beta; properties."""

from __future__ import annotations

import pytest
import torch

import iqa
from iqa.augment import distort
from iqa.errors import WeightsNotFoundError
from iqa.models.dists import DISTSTrunk
from tests.conftest import shared_path
from tests.helpers.random_weights import randomize


def vgg_state(seed: int = 0) -> dict:
    import torchvision

    return randomize(torchvision.models.vgg16(weights=None), seed)


def ours(state: dict, **options: object) -> iqa.metrics.base.FRMetric:  # type: ignore[name-defined]
    return iqa.create(
        "dists", weights=shared_path("weights", "dists_alpha_beta.pt"), trunk=DISTSTrunk(state), **options
    )


def test_matches_piq(photos, monkeypatch) -> None:  # noqa: ANN001
    piq = pytest.importorskip("piq")
    state = vgg_state()
    ab = torch.load(shared_path("weights", "dists_alpha_beta.pt"), weights_only=True)
    # piq downloads torchvision's VGG16 and DISTS weights.pt through torch.hub: hand it the same tensors.
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda url, **kw: ab if "dists" in url else state)
    import torchvision

    real_vgg16 = torchvision.models.vgg16

    def vgg16(*args: object, **kwargs: object) -> torch.nn.Module:
        m = real_vgg16(weights=None)
        m.load_state_dict(state)
        return m

    import importlib

    monkeypatch.setattr(importlib.import_module("piq.perceptual"), "vgg16", vgg16)  # piq imported the name
    ref = piq.DISTS(reduction="none")
    x = photos[:, :, :128, :160]
    y = distort(x, "jpeg", level=3)
    with torch.no_grad():
        assert torch.allclose(ours(state)(y, x), ref(y, x), atol=1e-5)
        big = photos[:, :, :256, :256]  # piq resizes above 256 only; ours with resize=256 does the same
        x3 = torch.nn.functional.interpolate(big, size=(300, 300), mode="bilinear")
        y3 = distort(x3, "gaussian_blur", level=2)
        assert torch.allclose(ours(state, resize=256)(y3, x3), ref(y3, x3), atol=1e-5)


def test_properties(photos) -> None:  # noqa: ANN001
    m = ours(vgg_state(1))
    x = photos[:, :, :96, :96]
    assert torch.allclose(m(x, x), torch.zeros(len(x)), atol=1e-6)
    assert (m(distort(x, "gaussian_blur", level=4), x) > m(distort(x, "gaussian_blur", level=1), x)).all()
    y = distort(x, "white_noise", level=2).requires_grad_(True)
    m(y, x).sum().backward()
    assert y.grad is not None and torch.isfinite(y.grad).all()


def test_no_silent_random_trunk() -> None:
    with pytest.raises(WeightsNotFoundError, match="vgg16-397923af.pth"):
        iqa.create("dists", weights=shared_path("weights", "dists_alpha_beta.pt"))
