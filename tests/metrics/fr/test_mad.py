"""mad: equal to a float64 transcription of MAD_index_april_2010.m with loop ports of its mex files."""

from __future__ import annotations

import pytest
import torch

import iqa
from iqa.augment import distort
from iqa.transforms.matlab import rgb2gray
from tests.oracles.mad_official import mad_index


# Sizes where the last 16x16 block does and does not end at the border (the mex files' neighbour rule).
@pytest.mark.parametrize("size", [(64, 80), (67, 83), (65, 81)])
@pytest.mark.parametrize("kind", ["jpeg", "white_noise"])
def test_equals_mad_index_m(photos, size, kind) -> None:  # noqa: ANN001
    x = photos[:2, :, : size[0], : size[1]].double()
    y = distort(x, kind, level=3, seed=0)
    ours = iqa.create("mad")(y, x)
    r, d = (rgb2gray(t, coefficients="rounded", quantize=True, out_range=255)[:, 0] for t in (x, y))
    for i in range(2):
        assert ours[i].item() == pytest.approx(mad_index(r[i].numpy(), d[i].numpy()), abs=1e-10)


def test_pyiqa_is_a_different_mad(photos) -> None:  # noqa: ANN001
    ma = pytest.importorskip("pyiqa.archs.mad_arch")
    x = photos[:2, :, :128, :128]
    y = distort(x, "jpeg", level=3, seed=0)
    theirs = ma.MAD()(y, x).flatten().double()
    ours = iqa.create("mad")(y, x).double()
    # pyiqa's port (from IQA-optimization, "official code not available") differs in its CSF,
    # block statistics and pooling; both rank these JPEG levels the same way (checked below).
    assert not torch.allclose(ours, theirs, rtol=1e-2)
    z = distort(x, "jpeg", level=5, seed=0)
    assert (iqa.create("mad")(z, x) > ours.float()).all() and (ma.MAD()(z, x).flatten() > theirs.float()).all()


def test_properties(photos) -> None:  # noqa: ANN001
    m = iqa.create("mad")
    x = photos[:3, :, :96, :96]  # the rocket crop is flat sky: every block is masked, MAD is 0 at any blur
    assert torch.all(m(x, x) == 0)
    scores = torch.stack([m(distort(x, "gaussian_blur", level=k), x) for k in (1, 3, 5)])
    assert (scores[1:] > scores[:-1]).all()
