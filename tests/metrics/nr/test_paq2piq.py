"""paq2piq: released key layout, parity with pyiqa end to end, the checkpoint formats, the CLI.

Reference: pyiqa 0.1.16 ``PAQ2PIQ`` (pyiqa/archs/paq2piq_arch.py), a test-time reference only (its
licence is non-commercial). The released weights are not available offline: both networks get the
same seeded random state dict in the released key layout (tests/helpers/random_weights.py).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import iqa
from iqa.errors import InputError, WeightsHashError, WeightsNotFoundError
from iqa.io.images import read_image
from iqa.metrics.nr.paq2piq import paq2piq
from iqa.models.paq2piq import PaQ2PiQ, load_paq2piq
from tests.conftest import shared_path
from tests.helpers.random_weights import randomize

FILENAME = "P2P_RoIPoolModel-fit.10.bs.120-ca69882e.pth"  # pyiqa's default_model_urls["url"]


@functools.cache
def _net(seed: int = 0) -> tuple[PaQ2PiQ, dict[str, torch.Tensor]]:
    torch.manual_seed(seed)
    net = PaQ2PiQ().eval()
    state = randomize(net, seed)
    net.load_state_dict(state)
    return net, state


@pytest.fixture
def reference(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """pyiqa's PAQ2PIQ class, its ResNet-18 built without ImageNet weights (it asks for them: a download)."""
    arch = pytest.importorskip("pyiqa.archs.paq2piq_arch")
    build = arch.tv.models.resnet18
    monkeypatch.setattr(arch.tv.models, "resnet18", lambda weights=None, **kw: build(weights=None, **kw))
    return arch.PAQ2PIQ


def test_key_layout_and_parity_end_to_end(reference) -> None:  # noqa: ANN001
    """Every released key and shape; the score of two PNGs (native sizes) through each side's own path."""
    ref = reference(pretrained=False).eval()
    ours, state = _net()
    a, b = ours.state_dict(), ref.state_dict()
    assert list(a) == list(b) and {k: v.shape for k, v in a.items()} == {k: v.shape for k, v in b.items()}
    # ResNet-18 body (conv1 = body.0, bn1 = body.1, layer1-4 = body.4-7) and the fastai head's
    # BatchNorm1d (head.2, head.6) and Linear (head.4, head.8): 134 tensors
    assert len(a) == 134 and tuple(a["body.0.weight"].shape) == (64, 3, 7, 7)
    assert tuple(a["body.7.1.conv2.weight"].shape) == (512, 512, 3, 3)
    assert tuple(a["head.2.running_var"].shape) == (1024,) and tuple(a["head.8.weight"].shape) == (1, 512)
    ref.load_state_dict(state)
    from pyiqa.utils.img_util import imread2tensor

    for name in ("101085.png", "102061.png"):  # CBSD68, 481 x 321 and 321 x 481: no resize, as released
        path = shared_path("data", "images", "CBSD68", name)
        with torch.no_grad():
            want = ref(imread2tensor(str(path), rgb=True)[None]).reshape(-1)
        got = iqa.create("paq2piq", model=ours)(read_image(path)[None]).detach()
        # randomize() gives the body's BatchNorm weights (named body.1.weight, not .bn.) unit-variance
        # values, so outputs are large (about 5e3): relative tolerance; the same torchvision ops on both
        # sides (measured identical), decoding differs by 1 ulp per pixel (x * 1/255 vs x / 255)
        assert torch.allclose(got, want, rtol=1e-6, atol=0), (name, got, want)


def test_batch_of_sizes_matches_one_by_one() -> None:
    """The whole-image region of each image is its own: batching changes nothing (the release scores one at a time)."""
    net, _ = _net()
    x = torch.rand(3, 3, 70, 90, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        whole = paq2piq(x, model=net)
        alone = torch.cat([paq2piq(x[i : i + 1], model=net) for i in range(3)])
    # float32 convolutions of a batch and of one image may sum in another order (measured 1.1e-6 relative
    # under xdist): the contract's 1e-5 float32 tolerance
    assert torch.allclose(whole, alone, rtol=1e-5, atol=0)


def test_quality_map_is_the_release_grid() -> None:
    """The release's 20 x 20 block map; a 1 x 1 grid is the whole-picture region, so it equals the score."""
    net, _ = _net()
    x = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert net.quality_map(x).shape == (1, 20, 20)
        assert torch.allclose(net.quality_map(x, (1, 1)).reshape(-1), net(x), rtol=1e-6, atol=0)


def test_checkpoint_formats(tmp_path: Path) -> None:
    """IQA-PyTorch's plain state dict and the authors' {"model": state_dict} both load; a wrong file is named."""
    net, state = _net()
    plain, authors, wrong = tmp_path / "plain.pth", tmp_path / "authors.pth", tmp_path / "wrong.pth"
    torch.save(state, plain)
    torch.save({"model": state, "opt": {}}, authors)
    torch.save({k: v for k, v in state.items() if not k.startswith("head.8")}, wrong)
    x = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        for path in (plain, authors):
            assert torch.equal(load_paq2piq(path)(x), net(x))
    with pytest.raises(InputError, match="not a PaQ-2-PiQ RoIPoolModel checkpoint"):
        load_paq2piq(wrong)


def test_absent_weights_name_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("IQA_OFFLINE", "1")
    with pytest.raises(WeightsNotFoundError, match=FILENAME.replace(".", r"\.")):
        iqa.create("paq2piq")


def test_cli_scores_a_folder_with_a_released_layout_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`iqa score DIR -m paq2piq` with a file in the released layout (random values, seeded).

    A random file cannot carry the release's sha256 prefix, so the store refuses it in IQA_WEIGHTS_DIR
    (checked: the error names the file) and it is given as `--opt paq2piq.weights=FILE`, the route of
    a checkpoint the user trained; a real download is found in IQA_WEIGHTS_DIR by its name.
    """
    from iqa.cli.main import cli

    net, state = _net()
    weights = tmp_path / "w" / FILENAME
    weights.parent.mkdir()
    torch.save(state, weights)
    d = tmp_path / "d"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate(((48, 64), (64, 40), (33, 50))):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(d / f"{i}.png")
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(weights.parent))
    monkeypatch.setenv("IQA_OFFLINE", "1")
    out = tmp_path / "scores.csv"
    r = CliRunner().invoke(
        cli, ["score", str(d), "-m", "paq2piq", "--opt", f"paq2piq.weights={weights}", "-o", str(out)]
    )
    assert r.exit_code == 0, r.output
    rows = [line.split(",") for line in out.read_text().splitlines()]
    col = rows[0].index("paq2piq")
    assert len(rows) == 4 and rows[0][0] == "file" and rows[0][-1] == "error"
    for row in rows[1:]:
        with torch.no_grad():
            want = float(paq2piq(read_image(d / Path(row[0]).name)[None], model=net))
        # same weights; the CLI's metric folds BatchNorm into the convolutions (iqa.models.fusion), which
        # moves this random network's large scores by float32 rounding (measured 1.8e-5 relative)
        assert abs(float(row[col]) - want) <= 1e-4 * abs(want) and row[-1] == ""
    with pytest.raises(WeightsHashError, match=FILENAME):
        iqa.create("paq2piq")
