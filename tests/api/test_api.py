"""iqa.score on every input form, iqa.as_loss signs and training use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import iqa
from iqa.errors import InputError
from iqa.metrics.base import FRMetric
from iqa.registry import MetricSpec
from tests.helpers.distort import noisy


def save(t: torch.Tensor, path: Path) -> Path:
    Image.fromarray((t.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(path)
    return path


@pytest.fixture
def pair(photos) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: ANN001
    # 8-bit exact images, so files and tensors hold the same values
    ref = (photos[:2] * 255).round() / 255
    dist = (noisy(ref, 0.05) * 255).round() / 255
    return dist, ref


def test_tensor_forms(pair) -> None:  # noqa: ANN001
    dist, ref = pair
    expected = iqa.create("ssim")(dist, ref)
    assert torch.equal(iqa.score("ssim", dist, ref), expected)
    assert torch.equal(iqa.score("ssim", dist[0], ref[0]), expected[:1])  # CHW gets a batch dim
    u8 = lambda t: (t * 255).round().to(torch.uint8)  # noqa: E731
    assert torch.allclose(iqa.score("ssim", u8(dist), u8(ref)), expected, atol=1e-6)  # uint8 at the boundary


def test_files_pil_and_lists(tmp_path: Path, pair) -> None:  # noqa: ANN001
    dist, ref = pair
    d0, r0 = save(dist[0], tmp_path / "d0.png"), save(ref[0], tmp_path / "r0.png")
    expected = iqa.create("psnr")(dist[:1], ref[:1])
    assert torch.allclose(iqa.score("psnr", d0, r0), expected, atol=1e-4)
    assert torch.allclose(iqa.score("psnr", Image.open(d0), Image.open(r0)), expected, atol=1e-4)
    small_d = save(dist[1, :, :100, :120], tmp_path / "d1.png")
    small_r = save(ref[1, :, :100, :120], tmp_path / "r1.png")
    out = iqa.score("psnr", [d0, small_d], [str(r0), small_r])  # mixed sizes in one call
    assert out.shape == (2,) and out[0] == pytest.approx(expected.item(), abs=1e-4)


def test_folders_give_a_table(tmp_path: Path, pair) -> None:  # noqa: ANN001
    dist, ref = pair
    (tmp_path / "d").mkdir()
    (tmp_path / "r").mkdir()
    for i in range(2):
        save(dist[i], tmp_path / "d" / f"img{i}.png")
        save(ref[i], tmp_path / "r" / f"img{i}.png")
    (tmp_path / "d" / "broken.png").write_bytes(b"junk")
    df = iqa.score("ssim", tmp_path / "d", tmp_path / "r", data_range=1.0)
    assert list(df.columns) == ["file", "ref", "ssim", "error"]
    assert list(df.file) == ["broken.png", "img0.png", "img1.png"]
    assert df.error[0] and np.isnan(df.ssim[0])
    assert df.ssim[1:].tolist() == pytest.approx(iqa.create("ssim")(dist, ref).tolist(), abs=1e-6)


def test_argument_errors(pair) -> None:  # noqa: ANN001
    dist, ref = pair
    with pytest.raises(InputError, match="full-reference"):
        iqa.score("ssim", dist)
    with pytest.raises(InputError, match="expected a tensor"):
        iqa.score("ssim", 3, 4)


def test_as_loss_sign_and_training(pair) -> None:  # noqa: ANN001
    dist, ref = pair
    loss = iqa.as_loss("ssim")
    assert loss(dist, ref).item() == pytest.approx(-iqa.create("ssim")(dist, ref).mean().item())
    x = dist.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=0.01)
    start = loss(x, ref).item()
    for _ in range(20):
        opt.zero_grad()
        loss(x.clamp(0, 1), ref).backward()
        opt.step()
    assert loss(x.detach().clamp(0, 1), ref).item() < start - 0.01  # the loss really trains


def test_as_loss_rejects_non_differentiable() -> None:
    class Frozen(FRMetric):
        spec = MetricSpec(
            name="frozen",
            kind="fr",
            higher_is_better=True,
            value_range=(0, 1),
            differentiable=False,
            color="any",
            paper="-",
            reference_impl="-",
            tolerance="-",
        )

    with pytest.raises(InputError, match="not differentiable"):
        iqa.as_loss(Frozen())
    assert iqa.as_loss("psnr", reduction="none")(torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)).shape == (2,)


def test_device_moves_metric_and_inputs(pair, tmp_path: Path) -> None:  # noqa: ANN001
    dist, ref = pair
    expected = iqa.score("ssim", dist, ref)
    on_cpu = iqa.score("ssim", dist, ref, device="cpu")
    assert torch.equal(on_cpu, expected) and on_cpu.device.type == "cpu"  # identical on cpu
    m = iqa.create("psnr")
    assert torch.equal(iqa.score(m, dist, ref, device=torch.device("cpu")), iqa.create("psnr")(dist, ref))
    if torch.cuda.is_available():
        on_gpu = iqa.score("ssim", dist, ref, device="cuda")
        assert on_gpu.device.type == "cuda" and torch.allclose(on_gpu.cpu(), expected, atol=1e-5)
        (tmp_path / "d").mkdir()
        (tmp_path / "r").mkdir()
        save(dist[0], tmp_path / "d" / "a.png")
        save(ref[0], tmp_path / "r" / "a.png")
        table = iqa.score("ssim", tmp_path / "d", tmp_path / "r", device="cuda")  # folders: the job runs there
        assert table.ssim[0] == pytest.approx(iqa.score("ssim", tmp_path / "d", tmp_path / "r").ssim[0], abs=1e-5)
    else:
        with pytest.raises(InputError, match="CUDA is not available"):
            iqa.score("ssim", dist, ref, device="cuda")
    with pytest.raises(InputError, match="device 'nonsense'"):
        iqa.score("ssim", dist, ref, device="nonsense")


def test_folder_settings_and_keywords(tmp_path: Path, pair) -> None:  # noqa: ANN001
    from iqa.api.settings import RunSettings

    dist, ref = pair
    for d in ("d", "r", "d/sub", "r/sub"):
        (tmp_path / d).mkdir()
    for i in range(2):
        save(dist[i], tmp_path / "d" / f"img{i}.png")
        save(ref[i], tmp_path / "r" / f"img{i}.png")
    save(dist[0], tmp_path / "d" / "sub" / "img0.png")
    save(ref[0], tmp_path / "r" / "sub" / "img0.png")
    flat = iqa.score("psnr", tmp_path / "d", tmp_path / "r", device="cpu", batch_size=1, workers=0)
    assert list(flat.file) == ["img0.png", "img1.png"]
    deep = iqa.score("psnr", tmp_path / "d", tmp_path / "r", settings=RunSettings(recursive=True, batch_size=3))
    assert list(deep.file) == ["img0.png", "img1.png", "sub/img0.png"]
    assert deep.psnr[:2].tolist() == flat.psnr.tolist()  # the batch size never changes a score
    # an explicit keyword overrides the settings object
    assert (
        len(iqa.score("psnr", tmp_path / "d", tmp_path / "r", settings=RunSettings(recursive=True), recursive=False))
        == 2
    )
    with pytest.raises(InputError, match="batch_size"):
        iqa.score("psnr", tmp_path / "d", tmp_path / "r", batch_size=0)
