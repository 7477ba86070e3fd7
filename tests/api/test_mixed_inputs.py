"""A grey image paired with a colour one is never scored silently (issue 20, item 9).

The rule (:func:`iqa.checks.mixed_channels`): refused by default, naming both files and the
fixes; ``mixed="gray"`` compares both as grey, ``mixed="rgb"`` scores the grey one as RGB, each
with a warning naming the files. A folder run records a refusal in the pair's row and goes on.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import iqa
from iqa.cli.main import cli
from iqa.errors import InputError
from tests.oracles.matlab_rgb2gray import rgb2gray_uint8


def _pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    ref = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    dist = np.clip(ref.astype(int) + rng.integers(-12, 13, ref.shape), 0, 255).astype(np.uint8)
    return ref, dist


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A colour reference, a grey and a colour distorted copy, and a grey reference."""
    ref, dist = _pair(np.random.default_rng(9))
    out = {k: tmp_path / f"{k}.png" for k in ("ref", "grey", "rgb2", "grey2")}
    Image.fromarray(ref).save(out["ref"])
    Image.fromarray(rgb2gray_uint8(dist)).save(out["grey"])  # an 8-bit 'L' file
    Image.fromarray(dist).save(out["rgb2"])
    Image.fromarray(rgb2gray_uint8(ref)).save(out["grey2"])
    return out


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR of 8-bit levels, written here from its definition (10 log10(255^2 / MSE))."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * math.log10(255.0**2 / mse)


def test_library_refuses_a_grey_image_against_a_colour_reference(files: dict[str, Path]) -> None:
    with pytest.raises(InputError) as e:
        iqa.score("psnr", files["grey"], files["ref"])
    msg = str(e.value)
    assert str(files["grey"]) in msg and str(files["ref"]) in msg
    assert "greyscale" in msg and "mixed='gray'" in msg and "mixed='rgb'" in msg


def test_library_refuses_the_reverse_too(files: dict[str, Path]) -> None:
    with pytest.raises(InputError, match="is colour but ref .* is greyscale"):
        iqa.score("ssim", files["ref"], files["grey"])


def test_mixed_gray_compares_both_as_grey_with_a_warning(files: dict[str, Path]) -> None:
    with pytest.warns(UserWarning, match="grey.png is greyscale.*compared as grey"):
        got = float(iqa.score("psnr", files["grey"], files["ref"], mixed="gray"))
    grey = np.asarray(Image.open(files["grey"]))
    ref_grey = rgb2gray_uint8(np.asarray(Image.open(files["ref"])))  # MATLAB rgb2gray oracle
    # float32 PSNR against a float64 formula: 1e-4 dB covers float32 rounding of the MSE.
    assert got == pytest.approx(_psnr(grey, ref_grey), abs=1e-4)


def test_mixed_rgb_scores_the_grey_side_replicated_with_a_warning(files: dict[str, Path]) -> None:
    with pytest.warns(UserWarning, match="grey one scored as RGB"):
        got = float(iqa.score("psnr", files["grey"], files["ref"], mixed="rgb"))
    grey = np.asarray(Image.open(files["grey"]))
    ref = np.asarray(Image.open(files["ref"]))
    # Over all three channels, the grey plane repeated: what iqa computed silently before.
    assert got == pytest.approx(_psnr(np.repeat(grey[..., None], 3, axis=2), ref), abs=1e-4)


def test_matching_pairs_do_not_warn(files: dict[str, Path]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        iqa.score("psnr", files["rgb2"], files["ref"])  # colour / colour
        iqa.score("psnr", files["grey"], files["grey2"])  # grey / grey


def test_tensors_follow_the_same_rule() -> None:
    rgb = torch.rand(1, 3, 16, 16)
    grey = rgb.mean(1, keepdim=True)
    with pytest.raises(InputError, match="img img is greyscale but ref ref is colour"):
        iqa.score("psnr", grey, rgb)
    with pytest.warns(UserWarning, match="as mixed='rgb'"):
        got = iqa.score("psnr", grey, rgb, mixed="rgb")
    assert torch.equal(got, iqa.score("psnr", grey.expand(1, 3, 16, 16), rgb))


def test_unknown_mode_is_refused(files: dict[str, Path]) -> None:
    with pytest.raises(InputError, match="mixed must be one of"):
        iqa.score("psnr", files["grey"], files["ref"], mixed="luma")  # type: ignore[arg-type]


def _folders(tmp: Path) -> tuple[Path, Path]:
    """Three pairs: a.png colour/colour, b.png grey/colour, c.png colour/colour."""
    rng = np.random.default_rng(3)
    dist, ref = tmp / "d", tmp / "r"
    dist.mkdir()
    ref.mkdir()
    for name in ("a", "b", "c"):
        r, d = _pair(rng)
        Image.fromarray(r).save(ref / f"{name}.png")
        Image.fromarray(rgb2gray_uint8(d) if name == "b" else d).save(dist / f"{name}.png")
    return dist, ref


def test_folder_run_records_the_refusal_and_keeps_going(tmp_path: Path) -> None:
    dist, ref = _folders(tmp_path)
    df = iqa.score("psnr", dist, ref)
    assert list(df["file"]) == ["a.png", "b.png", "c.png"]
    b = df.set_index("file").loc["b.png"]
    assert math.isnan(b["psnr"])
    assert "img b.png is greyscale but ref b.png is colour" in b["error"] and "--mixed gray" in b["error"]
    assert df.set_index("file").loc[["a.png", "c.png"], "error"].eq("").all()
    assert df.set_index("file").loc[["a.png", "c.png"], "psnr"].notna().all()


def test_folder_run_with_mixed_gray_scores_every_pair(tmp_path: Path) -> None:
    dist, ref = _folders(tmp_path)
    with pytest.warns(UserWarning, match="img b.png is greyscale"):
        df = iqa.score("psnr", dist, ref, mixed="gray")
    assert df["error"].eq("").all() and df["psnr"].notna().all()
    with pytest.warns(UserWarning, match="b.png is greyscale"):
        alone = iqa.score("psnr", dist / "b.png", ref / "b.png", mixed="gray")
    assert df.set_index("file").loc["b.png", "psnr"] == float(alone)  # the same computation, exactly


def test_cli_records_the_pair_and_exits_1(tmp_path: Path) -> None:
    dist, ref = _folders(tmp_path)
    out = tmp_path / "out.csv"
    r = CliRunner().invoke(cli, ["score", str(dist), "--ref", str(ref), "-m", "psnr", "-o", str(out), "-q"])
    assert r.exit_code == 1, r.output
    table = pd.read_csv(out, keep_default_na=False)
    assert table.loc[table["file"] == "b.png", "error"].item().startswith("img b.png is greyscale")
    r = CliRunner().invoke(
        cli,
        ["score", str(dist), "--ref", str(ref), "-m", "psnr", "-o", str(out), "-q", "--overwrite", "--mixed", "gray"],
    )
    assert r.exit_code == 0, r.output
