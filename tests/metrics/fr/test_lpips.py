"""lpips: exact parity with the lpips package (same random trunk, the real v0.1 heads), range safety,
properties, and no silent random trunk."""

from __future__ import annotations

import pytest
import torch

import iqa
from iqa.augment import distort
from iqa.errors import InputError, WeightsNotFoundError
from iqa.features.imagenet_trunks import StagedTrunk
from tests.conftest import shared_path
from tests.helpers.random_weights import randomize

lpips_pkg = pytest.importorskip("lpips")


def blur(x: torch.Tensor, level: int) -> torch.Tensor:
    return distort(x, "gaussian_blur", level=level)


def pair(net: str, seed: int = 0) -> tuple[iqa.metrics.base.FRMetric, torch.nn.Module]:  # type: ignore[name-defined]
    """Our lpips and the package's, sharing one random trunk state dict and the real heads."""
    ref = lpips_pkg.LPIPS(net=net, version="0.1", pnet_rand=True, verbose=False).eval()
    state = randomize(ref.net, seed)
    ref.net.load_state_dict(state)
    # lpips keys "sliceK.i.weight" keep torchvision's index i: features.i.weight in a torchvision checkpoint.
    tv_state = {f"features.{k.split('.', 1)[1]}": v for k, v in state.items()}
    ours = iqa.create(
        "lpips", net=net, heads=shared_path("weights", "lpips", f"{net}.pth"), trunk=StagedTrunk(net, tv_state)
    )
    return ours, ref


@pytest.mark.parametrize("net", ["alex", "vgg", "squeeze"])
def test_matches_the_lpips_package(net: str, photos) -> None:  # noqa: ANN001
    ours, ref = pair(net)
    x = photos[:, :, :96, :128]
    y = distort(blur(x, 2), "white_noise", level=2, seed=0)
    with torch.no_grad():
        expected = ref(y * 2 - 1, x * 2 - 1).flatten()
        got = ours(y, x)
    assert torch.allclose(got, expected, rtol=0, atol=1e-6), (got, expected)
    assert torch.allclose(ours(x, x), torch.zeros(len(x)), atol=1e-7)


def test_heads_are_the_packages_files() -> None:
    import hashlib
    from pathlib import Path

    pkg = Path(lpips_pkg.__file__).parent / "weights" / "v0.1"
    for net in ("alex", "vgg", "squeeze"):
        ours = shared_path("weights", "lpips", f"{net}.pth").read_bytes()
        assert hashlib.sha256(ours).digest() == hashlib.sha256((pkg / f"{net}.pth").read_bytes()).digest()


def test_properties(photos) -> None:  # noqa: ANN001
    ours, _ = pair("alex", seed=1)
    x = photos[:, :, :96, :96]
    mild, strong = blur(x, 1), blur(x, 4)
    assert (ours(strong, x) > ours(mild, x)).all()
    batch = ours(mild, x)
    single = torch.stack([ours(mild[i : i + 1], x[i : i + 1])[0] for i in range(len(x))])
    assert torch.allclose(batch, single, atol=1e-6)
    y = mild.clone().requires_grad_(True)
    ours(y, x).sum().backward()
    assert y.grad is not None and y.grad.abs().sum() > 0


def test_range_mistakes_are_errors(photos) -> None:  # noqa: ANN001
    ours, _ = pair("alex")
    x = photos[:, :, :64, :64]
    with pytest.raises(InputError, match=r"\[-1, 1\]"):
        ours(x * 2 - 1, x * 2 - 1)  # images already in [-1, 1]: refused, with the fix
    m255 = iqa.create("lpips", data_range=255, heads=shared_path("weights", "lpips", "alex.pth"), trunk=ours.trunk)
    assert torch.allclose(m255(blur(x, 1) * 255, x * 255), ours(blur(x, 1), x), atol=1e-6)


def test_no_silent_random_trunk() -> None:
    with pytest.raises(WeightsNotFoundError, match="alexnet-owt-7be5be79.pth"):
        iqa.create("lpips", heads=shared_path("weights", "lpips", "alex.pth"))
