"""``iqa explain fid GEN/ REF/ --images N --out DIR``: FID sensitivity heatmaps and top-1 classes."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from iqa.cli.options import default_cache, run_settings
from iqa.cli.progress import ProgressBars


@click.group()
def explain() -> None:
    """Explain metrics: where in an image a metric looks."""


@explain.command("fid")
@click.argument("gen", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("ref", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (gallery.html, overlays/, ...).",
)
@click.option("--images", default=8, show_default=True, help="How many GEN images to explain (random, --seed).")
@click.option(
    "--image", "names", multiple=True, help="Explain this GEN image (relative name); repeat. Overrides --images."
)
@click.option(
    "--explain-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Explain the images of this folder as additions to GEN instead of GEN's own images.",
)
@click.option(
    "--extractor",
    default="efficientnet_lite0",
    show_default=True,
    help="Feature extractor with a spatial map: inception_v3_fid, inception_v3_fid_tf, efficientnet_lite0, ...",
)
@click.option(
    "--weighting",
    type=click.Choice(["grad_sq", "grad"]),
    default="grad_sq",
    show_default=True,
    help="grad_sq: mean squared gradient per channel (the paper's); grad: mean gradient (signed, standard Grad-CAM).",
)
@click.option("--route", type=click.Choice(["closed_form", "autograd"]), default="closed_form", show_default=True)
@click.option(
    "--ridge",
    default=0.0,
    show_default=True,
    type=float,
    help="Fraction of the mean feature variance added to the covariances; needed when a set has <= dim images "
    "(the value is then printed as FD (ridge r), not FID).",
)
@click.option("--seed", default=0, show_default=True)
@click.option("--top-k", default=5, show_default=True, help="Classes listed per image.")
@click.option("--batch-size", default=32, show_default=True)
@click.option("--workers", default=2, show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Feature cache (default: the iqa cache folder); a rerun on the same files extracts nothing.",
)
@click.option("--no-cache", is_flag=True, help="Extract every feature again and store none.")
@click.option("--max-pixels", type=int)
@click.option("-q", "--quiet", is_flag=True)
def explain_fid_cmd(
    gen: Path,
    ref: Path,
    out: Path,
    images: int,
    names: tuple[str, ...],
    explain_dir: Path | None,
    extractor: str,
    weighting: str,
    route: str,
    ridge: float,
    seed: int,
    top_k: int,
    batch_size: int,
    workers: int,
    device: str,
    cache_dir: Path | None,
    no_cache: bool,
    max_pixels: int | None,
    quiet: bool,
) -> None:
    """Heatmaps of where FID between GEN and REF looks in GEN's images, with top-1 class histograms."""
    from iqa.explain.fid_explain import explain_fid
    from iqa.reports.explain_gallery import write_explain_gallery

    exp = explain_fid(
        gen,
        ref,
        extractor=extractor,
        images=list(names) if names else images,
        explain_dir=explain_dir,
        weighting=weighting,
        route=route,
        ridge=ridge,
        seed=seed,
        top_k=top_k,
        settings=run_settings(
            device=device,
            batch_size=batch_size,
            workers=workers,
            cache_dir=default_cache(cache_dir, no_cache),
            max_pixels=max_pixels,
            progress=ProgressBars(quiet),
        ),
    )
    paths = write_explain_gallery(exp, out, command=shlex.join(["iqa", *sys.argv[1:]]))
    click.echo(f"{exp.label} ({exp.extractor}) = {exp.fid:.4f}; {len(exp.items)} images explained")
    if exp.histograms is not None:
        click.echo(f"top-1 class overlap {exp.histograms.overlap:.3f}")
    click.echo(f"gallery: {paths['html']}")
    for f in exp.failed:
        click.echo(f"skipped: {f}", err=True)
    if exp.failed:
        sys.exit(1)
