"""``iqa synth REF_DIR OUT_DIR``: a KADID-format synthetic benchmark from any folder of images."""

from __future__ import annotations

from pathlib import Path

import click

from iqa.cli.progress import ProgressBars


def _split_list(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


@click.command()
@click.argument("ref_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "-t",
    "--types",
    "types",
    multiple=True,
    help="Distortion names or KADID numbers (comma list or repeated; default all 25).",
)
@click.option("-l", "--levels", "levels", multiple=True, help="Levels 1-5 (comma list or repeated; default all).")
@click.option("--seed", default=0, show_default=True)
@click.option("--recursive", is_flag=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["kadid10k", "tad66k"]),
    default="kadid10k",
    show_default=True,
    help="tad66k: an aesthetics set (sub-folders of REF_DIR are themes) with a learnable proxy score.",
)
@click.option("--per-image", default=4, show_default=True, help="tad66k: edited crops per source image.")
@click.option("-q", "--quiet", is_flag=True)
def synth(ref_dir: Path, out_dir: Path, types: tuple[str, ...], levels: tuple[str, ...], seed: int, recursive: bool, fmt: str,
          per_image: int, quiet: bool) -> None:  # fmt: skip
    """Distort every image in REF_DIR into OUT_DIR, KADID-10k layout, with a synthetic dmos.csv.

    The dmos column is 6 - level, a proxy and not a human score (OUT_DIR/SYNTHETIC.txt says so).
    Then: iqa correlate kadid10k --root OUT_DIR -m psnr -m ssim --report REPORT/

    With --format tad66k: edited crops in TAD66k's layout, scored by a fixed function of the edits
    (blur, saturation, exposure, noise), themes = REF_DIR's sub-folders; then
    iqa train tunet --root OUT_DIR --out RUN/
    """
    if fmt == "tad66k":
        _synth_tad66k(ref_dir, out_dir, per_image, seed, quiet)
        return
    from iqa.augment.synth import synthesize

    type_list: list[str | int] = [int(t) if t.isdigit() else t for t in _split_list(types)]
    try:
        level_list = [int(v) for v in _split_list(levels)]
    except ValueError as e:
        raise click.BadParameter(f"levels must be integers 1-5: {e}", param_hint="--levels") from e
    with ProgressBars(quiet) as bars:
        res = synthesize(ref_dir, out_dir, types=type_list or None, levels=level_list or None, seed=seed,
                         recursive=recursive, progress=lambda done, total: bars("synth", done, total))  # fmt: skip
    click.echo(_summary(res.rows, res.written, res.kept, len(res.failed), out_dir))
    for rel, err in res.failed.items():
        click.echo(f"failed: {rel}: {err}", err=True)
    if res.failed:
        raise SystemExit(1)


def _summary(rows: int, written: int, kept: int, failed: int, out_dir: Path) -> str:
    """What synthesize did, in words: the distorted images listed, then the files written or kept.

    Each reference is also copied into OUT_DIR/images (KADID's layout), so the files on disk are the
    listed distorted images plus one copy per reference.
    """
    refs = written + kept - rows
    per_ref = rows // refs if refs else 0
    files = f"{written} new file{'s' * (written != 1)} written" if written else "no new file written"
    lines = [
        f"{out_dir / 'dmos.csv'} lists {rows} distorted images ({refs} reference{'s' * (refs != 1)} x {per_ref} "
        "distortion type/level pairs; dmos = 6 - level, a synthetic proxy: see SYNTHETIC.txt).",
        f"Under {out_dir / 'images'}: {rows} distorted images and {refs} reference copies; {files}"
        + (f", {kept} already there and kept (a re-run resumes, it does not overwrite)." if kept else "."),
    ]
    if failed:
        lines.append(f"{failed} source image{'s' * (failed != 1)} could not be read (listed below) and were skipped.")
    return "\n".join(lines)


def _synth_tad66k(ref_dir: Path, out_dir: Path, per_image: int, seed: int, quiet: bool) -> None:
    from iqa.augment.synth_aesthetics import synthesize_aesthetics

    with ProgressBars(quiet) as bars:
        res = synthesize_aesthetics(ref_dir, out_dir, per_image=per_image, seed=seed,
                                    progress=lambda done, total: bars("synth tad66k", done, total))  # fmt: skip
    click.echo(f"{res.train} train and {res.test} test images in {len(res.themes)} themes under {out_dir} "
               "(synthetic proxy scores, see SYNTHETIC.txt)")  # fmt: skip
    for rel, err in res.failed.items():
        click.echo(f"failed: {rel}: {err}", err=True)
    if res.failed:
        raise SystemExit(1)
