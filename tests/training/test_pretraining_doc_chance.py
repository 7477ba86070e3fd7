"""docs/quality_pretraining.md: the chance levels its run table prints are those of the runs' configurations.

"Chance" is the loss when every embedding is the same vector (uniform similarities): log of the
number of terms in an anchor's partition. It is computed here by the training code itself
(``step_loss`` on the committed experiment config with each run's overrides, the projector's last
BatchNorm set to output one constant vector), so the doc cannot drift from the code. The ResNet
trunk is swapped for a pooling + 1x1 convolution with the same output channels: the embeddings are
constant whatever the trunk computes, and the real one would only cost time. For the same reason
the crop is lowered to 32 pixels (the config's 128 only changes the pixels, not how many embeddings
a step makes): the batch structure (batch, authentic, class repeats, views, patches) is the config's.
"""

from __future__ import annotations

import functools
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from iqa.models.contrique import ContriqueModel
from iqa.training.pretrain import load_config, step_loss

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "quality_pretraining.md"
CONFIG = ROOT / "experiments" / "quality_pretraining.toml"

# Each row of the doc's "Every run we made" table with a loss, and the overrides of the committed
# config that run used (the "change" column of the same row).
RUNS = {
    "CONTRIQUE-1": {"method": "contrique"},
    "CONTRIQUE-2": {"method": "contrique", "class_repeats": 4},
    "CONTRIQUE-3": {"method": "contrique", "class_repeats": 4, "authentic": 0, "steps": 1000},
    "QPT-style, 500 steps": {"method": "qpt", "steps": 500},
    "QPT-style, 1000 steps": {"method": "qpt"},
}


def printed_chance() -> dict[str, float]:
    """Run name -> the chance level in the "final train loss (chance)" column, e.g. '5.64 → 4.05 (5.54)'."""
    out = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and (m := re.fullmatch(r"[\d.]+ → [\d.]+ \(([\d.]+)\)", cells[2])):
            out[cells[0]] = float(m.group(1))
    return out


@functools.cache
def chance_of(run: str) -> float:
    cfg = load_config(CONFIG, **RUNS[run], crop=32)
    torch.manual_seed(0)
    model = ContriqueModel(cfg.trunk, proj_dim=cfg.proj_dim).train()
    model.encoder = torch.nn.Sequential(torch.nn.AvgPool2d(8), torch.nn.Conv2d(3, model.feature_dim // 2, 1))
    with torch.no_grad():  # BatchNorm with weight 0 outputs its bias: every embedding is the ones vector
        model.projector[-1].weight.zero_()
        model.projector[-1].bias.fill_(1.0)
    rng = np.random.default_rng(0)  # image content does not matter once the embeddings are constant
    sources = [rng.integers(0, 256, (2 * cfg.crop, 2 * cfg.crop, 3), dtype=np.uint8) for _ in range(4)]
    with torch.no_grad():
        return float(step_loss(model, cfg, sources, 0)[0])


def test_the_doc_table_lists_every_configured_run() -> None:
    assert set(printed_chance()) == set(RUNS)


@pytest.mark.parametrize("run", sorted(RUNS))
def test_printed_chance_is_the_configured_runs_chance(run: str) -> None:
    chance = chance_of(run)
    # the doc prints 2 decimals: half a unit of the last digit
    assert printed_chance()[run] == pytest.approx(chance, abs=0.005)


def test_chance_is_log_of_the_partition_size() -> None:
    # CONTRIQUE: 2 views x 2 x 2 patches x (16 synthetic + 16 authentic) = 256 embeddings, each anchor's
    # partition holds the 255 others; without authentic images 128 -> 127. QPT-style: 16 contents x
    # 2 degradations x 2 crops = 64 crops, one positive + 62 negatives -> 63.
    # float32 embeddings and logsumexp: agreement to 1e-5
    assert chance_of("CONTRIQUE-1") == pytest.approx(math.log(255), abs=1e-5)
    assert chance_of("CONTRIQUE-3") == pytest.approx(math.log(127), abs=1e-5)
    assert chance_of("QPT-style, 1000 steps") == pytest.approx(math.log(63), abs=1e-5)
