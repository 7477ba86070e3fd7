"""NIMA (nima, nima_vgg16_ava, nima_koniq, nima_spaq): released key layout, parity with pyiqa, CLI.

Reference: pyiqa 0.1.16 ``NIMA`` (pyiqa/archs/nima_arch.py), a test-time reference only (its licence
is non-commercial). The released weights are not available offline: both networks get the same
seeded random state dict in the released key layout (tests/helpers/random_weights.py).
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
from iqa.metrics.nr.nima import NIMAKonIQ, nima
from iqa.models.nima import NIMA, RELEASES, load_nima, resize_center_crop
from tests.conftest import shared_path
from tests.helpers.random_weights import randomize

# Same timm trunk and the same float32 ops on both sides; what differs is the image decoding
# (iqa multiplies by 1/255, torchvision divides by 255: 1 ulp per pixel). Measured: 5e-7.
TOL = 1e-5


@pytest.fixture
def reference(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """pyiqa's NIMA class, its timm trunk built with pretrained=False (the release hard-codes True: a download)."""
    nima_arch = pytest.importorskip("pyiqa.archs.nima_arch")
    create = nima_arch.timm.create_model
    monkeypatch.setattr(nima_arch.timm, "create_model", lambda name, pretrained=False, **kw: create(name, **kw))
    return nima_arch.NIMA


def _same_layout(ours: torch.nn.Module, ref: torch.nn.Module) -> None:
    a, b = ours.state_dict(), ref.state_dict()
    assert list(a) == list(b)
    assert {k: tuple(v.shape) for k, v in a.items()} == {k: tuple(v.shape) for k, v in b.items()}


def test_vgg16_ava_layout_and_parity_end_to_end(reference) -> None:  # noqa: ANN001
    """nima_vgg16_ava: every released key and shape; the score of a PNG through each side's own path."""
    ref = reference(base_model_name="vgg16", num_classes=10, pretrained=False).eval()
    ours = NIMA("vgg16", 10).eval()
    _same_layout(ours, ref)
    # the release's VGG16: timm FeatureListNet keys features_0 .. features_28 (13 convs), then the head
    keys = list(ours.state_dict())
    assert len(keys) == 28 and keys[0] == "base_model.features_0.weight" and keys[-1] == "classifier.2.bias"
    state = randomize(ref, 0)
    ref.load_state_dict(state)
    ours.load_state_dict(state)
    path = shared_path("data", "images", "CBSD68", "101085.png")  # 481 x 321: resized and cropped
    from pyiqa.utils.img_util import imread2tensor

    with torch.no_grad():
        want = ref(imread2tensor(str(path), rgb=True)[None]).reshape(-1)
    got = iqa.create("nima_vgg16_ava", model=ours)(read_image(path)[None]).detach()
    assert 1 <= float(got) <= 10
    assert torch.allclose(got, want, rtol=0, atol=TOL), (got, want)


def test_inception_resnet_v2_layout_and_parity(reference) -> None:  # noqa: ANN001
    """nima (AVA): every released key and shape; the network at a small input; the 299 input path.

    Inception-ResNet-v2 at its 299 x 299 input takes seconds per image on the CI's two cores: the
    network is compared on a 96 x 96 normalised input, the input path (resize, crop, 0.5/0.5) on
    its own; test_vgg16_ava_layout_and_parity_end_to_end runs the same code end to end.
    nima_koniq / nima_spaq have this layout with classifier.2 of shapes (1, 1536) and (1,)
    (pyiqa's num_classes=1); their head is compared in test_one_output_head_parity_end_to_end.
    """
    ref = reference(base_model_name="inception_resnet_v2", num_classes=10, pretrained=False).eval()
    ours = NIMA("inception_resnet_v2", 10).eval()
    _same_layout(ours, ref)
    shapes = {k: tuple(v.shape) for k, v in ours.state_dict().items()}
    assert len(shapes) == 1306  # 1304 trunk tensors (timm features_only) + classifier.2.{weight,bias}
    assert shapes["base_model.conv2d_1a.conv.weight"] == (32, 3, 3, 3)
    assert shapes["base_model.conv2d_7b.conv.weight"] == (1536, 2080, 1, 1)
    assert shapes["classifier.2.weight"] == (10, 1536)
    state = randomize(ref, 1)
    ref.load_state_dict(state)
    ours.load_state_dict(state)
    x = torch.rand(1, 3, 300, 420, generator=torch.Generator().manual_seed(0))
    assert ours.input_size == 299
    assert torch.equal(ours.preprocess(x), ref.preprocess(x))
    small = torch.randn(1, 3, 96, 96, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = ref.classifier(ref.base_model(small)[-1].mean((2, 3), keepdim=True))
        got = ours(small)
    assert got.shape == (1, 10)
    assert torch.allclose(got, want, rtol=0, atol=TOL), (got, want)


def test_one_output_head_parity_end_to_end(reference) -> None:  # noqa: ANN001
    """The one-output head of nima_koniq / nima_spaq (no softmax, the output is the score), end to end.

    pyiqa's NIMA takes any timm trunk: a small one (mobilenetv3_small_050) keeps this test fast; the
    head and the scoring do not depend on the trunk, whose released layout is checked above.
    """
    ref = reference(base_model_name="mobilenetv3_small_050", num_classes=1, pretrained=False).eval()
    ours = NIMA("mobilenetv3_small_050", 1).eval()
    _same_layout(ours, ref)
    assert tuple(ours.state_dict()["classifier.2.weight"].shape) == (1, 288)
    state = randomize(ref, 2)
    ref.load_state_dict(state)
    ours.load_state_dict(state)
    path = shared_path("data", "images", "CBSD68", "101087.png")
    from pyiqa.utils.img_util import imread2tensor

    with torch.no_grad():
        want = ref(imread2tensor(str(path), rgb=True)[None]).reshape(-1)
    got = NIMAKonIQ(model=ours)(read_image(path)[None]).detach()
    # randomize() gives this trunk's BatchNorm weights (named bn1/bn2, not .bn.) unit-variance values, so the
    # output is large (about 4e4): relative tolerance, float32 accumulation over the same ops (measured 7e-7)
    assert torch.allclose(got, want, rtol=1e-5, atol=0), (got, want)


@pytest.mark.parametrize("h,w", [(300, 420), (421, 299), (224, 224), (500, 180), (233, 231)])
def test_resize_center_crop_is_torchvision(h: int, w: int) -> None:
    """The release's torchvision resize(short side) + center_crop, including its rounding of odd offsets."""
    tf = pytest.importorskip("torchvision.transforms.functional")
    x = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(h))
    want = tf.center_crop(tf.resize(x, 224), 224)
    assert torch.equal(resize_center_crop(x, 224), want)


@functools.cache
def _small_nima(outputs: int) -> NIMA:
    torch.manual_seed(0)
    return NIMA("mobilenetv3_small_050", outputs).eval()


def test_checkpoint_read_as_released(tmp_path: Path) -> None:
    """{"params": state_dict} (pyiqa's weight_keys='params'), DataParallel prefixes; a wrong file is named."""
    net = _small_nima(1)
    state = {f"module.{k}": v for k, v in randomize(net, 3).items()}
    path = tmp_path / "nima.pth"
    torch.save({"params": state}, path)
    loaded = NIMA("mobilenetv3_small_050", 1)
    from iqa.models.nima import read_state

    loaded.load_state_dict(read_state(path))
    assert torch.equal(loaded.classifier[2].weight, state["module.classifier.2.weight"])
    with pytest.raises(InputError, match="not a NIMA vgg16 checkpoint with 10 output"):
        load_nima("vgg16_ava", path)


def test_injected_model_must_have_the_variant_outputs() -> None:
    with pytest.raises(InputError, match="reads 1"):
        NIMAKonIQ(model=_small_nima(10))
    x = torch.rand(2, 3, 40, 50, generator=torch.Generator().manual_seed(0))
    scores = nima(x, model=_small_nima(10))
    assert scores.shape == (2,) and bool(((scores >= 1) & (scores <= 10)).all())


def test_absent_weights_name_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("IQA_OFFLINE", "1")
    for name, release in (("nima", "ava"), ("nima_koniq", "koniq"), ("nima_spaq", "spaq")):
        with pytest.raises(WeightsNotFoundError, match=RELEASES[release].filename.replace(".", r"\.")):
            iqa.create(name)


def test_cli_scores_a_folder_with_a_released_layout_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`iqa score DIR -m nima_vgg16_ava` with a file in the released layout (random values, seeded).

    A random file cannot carry the release's sha256 prefix, so the store refuses it in IQA_WEIGHTS_DIR
    (checked: the error names the file) and it is given as `--opt nima_vgg16_ava.weights=FILE`, the
    route of a checkpoint the user trained; a real download is found in IQA_WEIGHTS_DIR by its name.
    """
    from iqa.cli.main import cli

    net = NIMA("vgg16", 10)
    weights = tmp_path / "w" / RELEASES["vgg16_ava"].filename
    weights.parent.mkdir()
    state = randomize(net, 5)
    torch.save({"params": state}, weights)
    d = tmp_path / "d"
    d.mkdir()
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate(((48, 64), (64, 40))):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(d / f"{i}.png")
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(weights.parent))
    monkeypatch.setenv("IQA_OFFLINE", "1")
    out = tmp_path / "scores.csv"
    r = CliRunner().invoke(cli, ["score", str(d), "-m", "nima_vgg16_ava", "--opt", f"nima_vgg16_ava.weights={weights}",
                                 "-o", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = [line.split(",") for line in out.read_text().splitlines()]
    col = rows[0].index("nima_vgg16_ava")
    assert len(rows) == 3 and rows[0][0] == "file" and rows[0][-1] == "error"
    model = net.eval()
    model.load_state_dict(state)
    for row in rows[1:]:
        with torch.no_grad():
            want = float(nima(read_image(d / Path(row[0]).name)[None], model=model))
        assert abs(float(row[col]) - want) < 1e-5 and row[-1] == ""  # the CSV's decimals; same network
    with pytest.raises(WeightsHashError, match=RELEASES["vgg16_ava"].filename):
        iqa.create("nima_vgg16_ava")
