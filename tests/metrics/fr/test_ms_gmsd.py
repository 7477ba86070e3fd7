"""ms_gmsd: equal to piq's multi_scale_gmsd (the only public implementation); properties."""

from __future__ import annotations

import pytest
import torch

import iqa
from iqa.augment import distort
from iqa.errors import InputError


@pytest.mark.parametrize("size", [(96, 128), (97, 131)])
@pytest.mark.parametrize("chromatic", [False, True])
def test_equals_piq(photos, size, chromatic: bool) -> None:  # noqa: ANN001
    piq = pytest.importorskip("piq")
    x = photos[:, :, : size[0], : size[1]].double()
    y = distort(x, "jpeg", level=3, seed=0)
    ours = iqa.create("ms_gmsd", chromatic=chromatic)(y, x)
    theirs = piq.multi_scale_gmsd(y, x, data_range=1.0, reduction="none", chromatic=chromatic)
    assert torch.allclose(ours, theirs, rtol=1e-10, atol=0)
    if not chromatic:
        grey = piq.multi_scale_gmsd(y[:, :1], x[:, :1], data_range=1.0, reduction="none")
        assert torch.allclose(iqa.create("ms_gmsd")(y[:, :1], x[:, :1]), grey, rtol=1e-10, atol=0)


def test_chromatic_term_sees_colour_shifts_the_luma_term_misses(photos) -> None:  # noqa: ANN001
    x = photos[:, :, :96, :96].double()
    # Swap R and B: luma moves a little, chroma a lot.
    y = x[:, [2, 1, 0]]
    plain, colour = iqa.create("ms_gmsd")(y, x), iqa.create("ms_gmsd", chromatic=True)(y, x)
    assert (colour > plain).all()
    with pytest.raises(InputError, match="chromatic=False"):
        iqa.create("ms_gmsd", chromatic=True)(y[:, :1], x[:, :1])


def test_properties(photos) -> None:  # noqa: ANN001
    m = iqa.create("ms_gmsd")
    x = photos[:, :, :96, :96]
    assert torch.all(m(x, x) == 0)
    scores = torch.stack([m(distort(x, "gaussian_blur", level=k), x) for k in (1, 3, 5)])
    assert (scores[1:] > scores[:-1]).all()
