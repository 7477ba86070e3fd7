"""vsi: equal to a float64 transcription of VSI.m (with SDSP); piq's resizing difference; properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import iqa
from iqa.augment import distort
from iqa.transforms.saliency import sdsp
from tests.oracles.vsi_official import imresize_bilinear
from tests.oracles.vsi_official import sdsp as matlab_sdsp
from tests.oracles.vsi_official import vsi as matlab_vsi


def _hwc(t: torch.Tensor) -> np.ndarray:
    return t.permute(1, 2, 0).numpy() * 255


def test_oracle_resize_is_the_library_resize() -> None:
    from iqa.transforms.imresize import imresize

    a = np.random.default_rng(0).random((37, 300))
    for size in ((256, 256), (50, 17), (37, 300)):
        assert np.allclose(
            imresize_bilinear(a, *size), imresize(torch.from_numpy(a), size=size, method="bilinear").numpy(), atol=1e-12
        )


def test_saliency_equals_sdsp(photos) -> None:  # noqa: ANN001
    x = photos[:2, :, :120, :150].double()
    ours = sdsp(x * 255)
    for i in range(2):
        assert np.abs(ours[i, 0].numpy() - matlab_sdsp(_hwc(x[i]))).max() < 1e-10


@pytest.mark.parametrize("size", [(96, 128), (97, 131), (400, 390)])  # f = 1, 1 (odd), 2 (odd side)
def test_equals_vsi_m(photos, size) -> None:  # noqa: ANN001
    x = (
        F.interpolate(photos[:2].double(), size=size, mode="bilinear", align_corners=False)
        if size[0] > 256
        else photos[:, :, : size[0], : size[1]].double()
    )
    y = distort(x, "jpeg", level=3, seed=0)
    ours = iqa.create("vsi")(y, x)
    for i in range(len(x)):
        assert ours[i].item() == pytest.approx(matlab_vsi(_hwc(x[i]), _hwc(y[i])), abs=1e-9)


def test_piq_differs_by_its_resizing(photos) -> None:  # noqa: ANN001
    piq = pytest.importorskip("piq")
    x = photos[:, :, :128, :160].double()
    y = distort(x, "gaussian_blur", level=3)
    ours, theirs = iqa.create("vsi")(y, x), piq.vsi(y, x, data_range=1.0, reduction="none")
    assert torch.allclose(ours, theirs, rtol=2e-3)  # saliency computed on differently resized images
    assert not torch.allclose(ours, theirs, rtol=1e-7)


def test_properties(photos) -> None:  # noqa: ANN001
    m = iqa.create("vsi")
    x = photos[:, :, :96, :96]
    assert torch.allclose(m(x, x), torch.ones(len(x)), atol=1e-6)
    scores = torch.stack([m(distort(x, "gaussian_blur", level=k), x) for k in (1, 3, 5)])
    assert (scores[1:] < scores[:-1]).all()
    g = x[:, :1]
    gy = distort(x, "jpeg", level=3)[:, :1]
    assert torch.allclose(m(gy, g), m(gy.expand(-1, 3, -1, -1), g.expand(-1, 3, -1, -1)))
