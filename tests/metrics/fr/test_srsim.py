"""srsim: equal to a float64 transcription of SR_SIM.m; piq per image where its conventions agree; properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import iqa
from iqa.augment import distort
from iqa.errors import InputError
from iqa.metrics.fr.srsim import spectral_residual_saliency, srsim
from tests.conftest import shared_path
from tests.oracles.srsim_official import imresize_scale, imresize_size, spectral_residue_saliency, sr_sim


def _hwc(t: torch.Tensor) -> np.ndarray:
    return t.permute(1, 2, 0).numpy() * 255


def _tid_refs(n: int = 2) -> torch.Tensor:
    from PIL import Image

    files = sorted(shared_path("data", "images", "TID-refs").glob("*.bmp"))[:n]
    arrays = [np.asarray(Image.open(f).convert("RGB")) for f in files]  # 384 x 512: F = 2
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).double() / 255


def _sized(photos: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if size[0] > 256 or size[1] > 256:
        return F.interpolate(photos[:2].double(), size=size, mode="bilinear", align_corners=False).clamp(0, 1)
    return photos[:, :, : size[0], : size[1]].double()


def test_oracle_resize_is_the_library_resize() -> None:
    from iqa.transforms.imresize import imresize

    a = np.random.default_rng(0).random((37, 300))
    assert np.allclose(imresize_scale(a, 0.25), imresize(torch.from_numpy(a), scale=0.25).numpy(), atol=1e-12)
    for size in ((150, 1200), (37, 301)):
        assert np.allclose(imresize_size(a, *size), imresize(torch.from_numpy(a), size=size).numpy(), atol=1e-12)


def test_saliency_equals_the_script(photos) -> None:  # noqa: ANN001
    y = photos[:2, :1, :120, :150].double() * 255
    ours = spectral_residual_saliency(y)
    for i in range(2):
        assert np.abs(ours[i, 0].numpy() - spectral_residue_saliency(y[i, 0].numpy())).max() < 1e-10


# F = 1; F = 1 with odd sides; F = 2 with an odd side; 640 / 256 = 2.5: MATLAB's F = 3 (Python's round: 2).
@pytest.mark.parametrize("size", [(96, 128), (97, 131), (400, 389), (640, 700)])
def test_equals_sr_sim_m(photos, size) -> None:  # noqa: ANN001
    x = _sized(photos, size)
    y = distort(x, "jpeg", level=3, seed=0)
    ours = iqa.create("srsim")(y, x)
    ours32 = iqa.create("srsim")(y.float(), x.float())
    for i in range(len(x)):
        expected = sr_sim(_hwc(y[i]), _hwc(x[i]))
        assert ours[i].item() == pytest.approx(expected, abs=1e-10)
        assert ours32[i].item() == pytest.approx(expected, abs=1e-6)  # measured 6e-8


def test_equals_sr_sim_m_on_shared_photos_and_grey() -> None:
    x = _tid_refs()
    y = distort(x, "gaussian_blur", level=2)
    ours = srsim(y, x)
    grey = srsim(y[:, 1:2], x[:, 1:2])
    for i in range(len(x)):
        assert ours[i].item() == pytest.approx(sr_sim(_hwc(y[i]), _hwc(x[i])), abs=1e-10)
        assert grey[i].item() == pytest.approx(sr_sim(_hwc(y[i])[..., 1], _hwc(x[i])[..., 1]), abs=1e-10)


@pytest.mark.parametrize("size", [(96, 128), (256, 256), (384, 512)])  # piq's round() agrees with MATLAB's here
def test_piq_agrees_one_image_at_a_time(photos, size) -> None:  # noqa: ANN001
    piq = pytest.importorskip("piq")
    x = _tid_refs() if size == (384, 512) else _sized(photos, size)
    y = distort(x, "jpeg", level=3, seed=0)
    for dtype, tol in ((torch.float64, 1e-7), (torch.float32, 2e-6)):  # piq adds eps to log|X| and to sum(w)
        ours = srsim(y.to(dtype), x.to(dtype))
        theirs = torch.cat(
            [piq.srsim(y[i : i + 1].to(dtype), x[i : i + 1].to(dtype), reduction="none") for i in range(len(x))]
        )
        assert torch.allclose(ours, theirs, rtol=0, atol=tol), (ours - theirs).abs().max()


def test_piq_differs_by_batch_normalisation_and_rounding(photos) -> None:  # noqa: ANN001
    piq = pytest.importorskip("piq")
    x = photos.double()
    y = distort(x, "jpeg", level=3, seed=0)
    ours, theirs = srsim(y, x), piq.srsim(y, x, reduction="none")
    assert (ours - theirs).abs().max() > 1e-5  # piq's mat2gray takes min/max over the whole batch
    x = _sized(photos, (640, 700))
    y = distort(x, "jpeg", level=3, seed=0)
    assert (srsim(y, x) - piq.srsim(y, x, reduction="none")).abs().max() > 1e-3  # F = 3 here, 2 in piq


def test_properties(photos) -> None:  # noqa: ANN001
    m = iqa.create("srsim")
    x = photos[:, :, :96, :96]
    y = distort(x, "jpeg", level=3, seed=0)
    assert torch.allclose(m(x, x), torch.ones(len(x)), atol=1e-6)
    assert torch.allclose(m(y, x), m(x, y), atol=1e-7)  # symmetric
    scores = torch.stack([m(distort(x, "gaussian_blur", level=k), x) for k in (1, 3, 5)])
    assert (scores[1:] < scores[:-1]).all()
    g, gy = x[:, 1:2], y[:, 1:2]  # grey input equals the same grey level on three channels
    assert torch.allclose(m(gy, g), m(gy.expand(-1, 3, -1, -1), g.expand(-1, 3, -1, -1)), atol=1e-6)


def test_flat_and_black_images_stay_defined() -> None:
    black = torch.zeros(1, 3, 64, 64, dtype=torch.float64)
    assert srsim(black, black).item() == pytest.approx(1.0)  # MATLAB: log(0) and 0/0, NaN
    flat = torch.full((1, 3, 64, 64), 0.5, requires_grad=True)
    ref = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    s = srsim(flat, ref)
    s.sum().backward()
    assert torch.isfinite(s).all() and torch.isfinite(flat.grad).all()


def test_options_and_sizes(photos) -> None:  # noqa: ANN001
    x = photos[:1, :, :128, :128]
    y = distort(x, "jpeg", level=3, seed=0)
    assert srsim(y, x, scale=0.5).item() != pytest.approx(srsim(y, x).item(), abs=1e-6)
    with pytest.raises(InputError, match="scale"):
        iqa.create("srsim", scale=0)
    with pytest.raises(InputError, match="at least"):
        srsim(y[..., :40, :40], x[..., :40, :40], gaussian_size=15)
    big = _sized(photos[:1], (512, 512))
    dist = distort(big, "jpeg", level=3, seed=0)
    assert srsim(big, big, downsample=False).item() == pytest.approx(1.0)
    assert srsim(dist, big, downsample=False).item() != pytest.approx(srsim(dist, big).item(), abs=1e-4)
