"""qpt: no released weights, so a clear error names both commands; a trained encoder + fitted head score
as the head's ridge on the two-scale features; a head fitted on another encoder is refused."""

from __future__ import annotations

import pytest
import torch

import iqa
from iqa.errors import WeightsError, WeightsNotFoundError
from iqa.models.contrique import two_scale_features
from iqa.models.quality_heads import RidgeHead
from tests.helpers.quality_heads import random_encoder


def test_missing_weights_name_the_commands(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("IQA_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(WeightsNotFoundError, match=r"iqa train qpt --config FILE --install.*iqa fit-head qpt"):
        iqa.create("qpt")


def test_score_is_the_ridge_of_the_two_scale_features() -> None:
    enc = random_encoder()
    coef = torch.linspace(-1, 1, 1024, dtype=torch.float64)
    m = iqa.create("qpt", model=enc, head=RidgeHead(coef, 3.0, {"higher_is_better": True}))
    x = torch.rand(2, 3, 80, 80, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(m(x).double(), two_scale_features(enc, x).double() @ coef + 3.0)


def test_head_of_another_encoder_is_refused() -> None:
    m = iqa.create("qpt", model=random_encoder(), head=RidgeHead(torch.zeros(4096), 0.0, {}))
    with pytest.raises(WeightsError, match="head expects 4096 features, the encoder gives 1024"):
        m(torch.rand(1, 3, 80, 80))


def test_weight_files_given_by_path_are_checked(tmp_path) -> None:  # noqa: ANN001
    from safetensors.torch import save_file

    from iqa.errors import WeightsHashError
    from iqa.weights.converted import save_converted

    (tmp_path / "junk.safetensors").write_bytes(b"garbage")
    with pytest.raises(WeightsError, match=r"junk\.safetensors: not a readable safetensors file"):
        iqa.create("qpt", weights=str(tmp_path / "junk.safetensors"))
    src = tmp_path / "src.bin"
    src.write_bytes(b"x")
    head = save_converted("qpt_head_x", {"coef": torch.zeros(1024), "intercept": torch.zeros(1)}, source=src, converter="test",
                          options={}, out_dir=tmp_path)  # fmt: skip
    save_file({"coef": torch.ones(1024), "intercept": torch.zeros(1)}, str(head))  # edited after its record was written
    with pytest.raises(WeightsHashError, match="qpt_head_x.safetensors: sha256 differs"):
        iqa.create("qpt", model=random_encoder(), head=str(head))


def test_heads_of_each_direction_have_their_own_name() -> None:
    from iqa.cli.fit_head_cmd import scoring_metric
    from iqa.errors import InputError

    enc = random_encoder()
    dmos = RidgeHead(torch.zeros(1024), 0.0, {"higher_is_better": False, "dataset": "mine"})
    with pytest.raises(InputError, match=r"qpt: head 'ridge:[0-9a-f]{16}' predicts mine.*Use qpt_dmos instead"):
        iqa.create("qpt", model=enc, head=dmos)
    m = iqa.create("qpt_dmos", model=enc, head=dmos)
    assert not m.spec.higher_is_better and m.options()["head"] == dmos.cache_key()
    # iqa fit-head names the metric whose declared direction is the dataset's
    for family in ("contrique", "contrique_fr", "qpt"):
        for hib in (True, False):
            assert iqa.get_spec(scoring_metric(family, hib)).higher_is_better == hib
    assert scoring_metric("qpt", False) == "qpt_dmos" and scoring_metric("contrique_fr", True) == "contrique_fr_mos"
