"""TOPIQ-IAA (ResNet-50, AVA): parity with pyiqa end to end from an image file, the 1-10 readout.

The released checkpoint is not offline: the test builds a seeded random state dict in the released
key layout (tests/models/test_topiq.py checks that layout key by key against pyiqa).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import iqa
from iqa.errors import InputError
from iqa.io.images import read_image
from iqa.metrics.nr.topiq_iaa import topiq_iaa
from tests.models.test_topiq import net_with, photo_files, pyiqa_metric, release_state


@torch.no_grad()
def test_parity_with_pyiqa_from_an_image_file(tmp_path: Path) -> None:
    # Reference: pyiqa's CFANet with its topiq_iaa_res50 settings (shorter side to 384, 10 bins, the mean
    # rating) and the same random state dict; each side reads the same PNG files.
    state = release_state("iaa_ava_res50")
    ref = pyiqa_metric("topiq_iaa_res50", state)
    files = photo_files(tmp_path)
    expected = torch.cat([ref(str(f)).flatten() for f in files])
    ours = iqa.create("topiq_iaa_res50", model=net_with("iaa_ava_res50", state))(
        torch.stack([read_image(f) for f in files])
    )
    # float32 through ResNet-50 and 10 attention blocks, then a softmax mean on 1..10: measured <= 1e-6
    # on these scores; 1e-5 leaves room across BLAS builds
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=0)
    assert ((ours > 1) & (ours < 10)).all() and (ours[0] - ours[1]).abs() > 1e-4  # the comparison can fail


def test_only_the_aesthetics_network_is_accepted() -> None:
    with pytest.raises(InputError, match="needs the aesthetics"):
        topiq_iaa(torch.rand(1, 3, 64, 64), model=net_with("nr_koniq", release_state("nr_koniq")))
