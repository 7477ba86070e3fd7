"""TANet network (issue 9): branch shapes, the batch-independent default, the released (compat)
forward against a transcription on random weights, and the release's key layout."""

from __future__ import annotations

import pytest
import torch

from iqa.errors import InputError
from iqa.models.tanet import TANet, rgb_attention
from tests.oracles.tanet_release import released_forward


def _model(variant: str = "tad66k", mode: str = "per_image", seed: int = 0) -> TANet:
    torch.manual_seed(seed)
    m = TANet(variant=variant, mode=mode).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics and PReLU slopes, as a trained model has
        for mod in m.modules():
            if isinstance(mod, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                mod.running_mean.uniform_(-0.1, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
        m.tygertnet.relu7.weight.fill_(0.1)
    return m


def _batch(n: int = 4, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, 3, 224, 224, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def test_branch_shapes_and_output_ranges() -> None:
    m, x = _model(), _batch(3)
    br = m.branches(x)
    assert {k: tuple(v.shape) for k, v in br.items()} == {"aesthetics": (3, 10), "theme": (3, 10), "rgb": (3, 10)}
    assert torch.allclose(br["rgb"].sum(1), torch.ones(3)) and torch.allclose(br["theme"].sum(1), torch.ones(3))
    s = m(x)
    assert s.shape == (3,) and ((s > 0) & (s < 1)).all()
    p = _model("ava")(x)
    assert p.shape == (3, 10) and torch.allclose(p.sum(1), torch.ones(3))
    a = rgb_attention(x)
    assert a.shape == (3, 144 * 144) and a.abs().max() <= 1 + 1e-6


@torch.no_grad()
def test_per_image_mode_does_not_depend_on_the_batch() -> None:
    for variant in ("tad66k", "ava"):
        m, x = _model(variant), _batch(4)
        together = m(x)
        alone = torch.cat([m(x[i : i + 1]) for i in range(4)])
        torch.testing.assert_close(alone, together, atol=1e-6, rtol=1e-5)
        other = m(torch.cat([x[:1], _batch(3, seed=9)]))
        torch.testing.assert_close(other[:1], together[:1], atol=1e-6, rtol=1e-5)


@torch.no_grad()
def test_compat_mode_is_the_released_forward() -> None:
    for variant in ("tad66k", "ava"):
        m, x = _model(variant, "compat"), _batch(4)
        sd = m.state_dict()
        expected = released_forward(sd, x, m.res365_last(x), m.mobileNet.base_model(x).flatten(1), variant)
        torch.testing.assert_close(m(x), expected, atol=1e-6, rtol=1e-5)
        # ... and it couples the batch: image 0's theme vector moves with its companions
        theme = m.branches(torch.cat([x[:1], _batch(3, seed=9)]))["theme"][0]
        assert not torch.allclose(theme, m.branches(x)["theme"][0], atol=1e-6)


@torch.no_grad()
def test_compat_quirks_at_batch_size_one() -> None:
    m, x = _model("tad66k", "compat"), _batch(1)
    assert torch.equal(m.branches(x)["theme"], torch.ones(1, 10))  # softmax of one value, pooled
    with pytest.raises(InputError, match="batch of one"):
        _model("ava", "compat")(x)
    with pytest.raises(InputError, match="mode"):
        TANet(mode="batch")


def test_release_key_layout() -> None:
    sd = TANet().state_dict()
    shapes = {k: tuple(v.shape) for k, v in sd.items()}
    # names and shapes of the released checkpoint (module attribute names of train_nni.py)
    expected = {
        "res365_last.conv1.weight": (64, 3, 7, 7), "res365_last.fc.weight": (365, 512),
        "hypernet.last_out_w.weight": (100, 365), "hypernet.last_out_b.weight": (1, 365),
        "tygertnet.fc1.weight": (100, 365), "tygertnet.bn1.running_var": (100,),
        "tygertnet.relu1.weight": (1,), "tygertnet.relu7.weight": (1,),
        "mobileNet.base_model.0.0.0.weight": (32, 3, 3, 3),  # conv_bn(3, 32, 2)
        "mobileNet.base_model.0.1.conv.0.weight": (32, 32, 1, 1),  # the t=1 block still has its 1x1 expansion
        "mobileNet.base_model.0.1.conv.6.weight": (16, 32, 1, 1),
        "mobileNet.base_model.0.17.conv.6.weight": (320, 960, 1, 1),
        "mobileNet.base_model.0.18.0.weight": (1280, 320, 1, 1),  # conv_1x1_bn(320, 1280)
        "mobileNet.head.2.weight": (10, 1280), "head_rgb.2.weight": (10, 20736), "head.2.weight": (1, 30),
    }  # fmt: skip
    for k, v in expected.items():
        assert shapes.get(k) == v, k
    assert (
        max(int(k.split(".")[3]) for k in sd if k.startswith("mobileNet.base_model.0.")) == 18
    )  # conv_bn, 17 blocks, conv_1x1_bn
    assert not [k for k in sd if k.startswith("mobileNet.base_model.1")]  # the pool has no parameters
    assert TANet(variant="ava").state_dict()["head.2.weight"].shape == (10, 30)
