"""``iqa attack fid-resample POOL/ REF/ --out DIR``: the resampling attack on FD."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from iqa.cli.options import command_line, default_cache, finish_run, run_options, split_list
from iqa.cli.progress import ProgressBars

if TYPE_CHECKING:
    from iqa.api.settings import RunSettings


@click.group()
def attack() -> None:
    """Attacks that show where metrics can be gamed."""


@attack.command("fid-resample")
@click.argument("pool", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("ref", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (report.html, weights.csv, ...).",
)
@click.option(
    "--extractor",
    default="efficientnet_lite0",
    show_default=True,
    help="The attacked feature space (with a classifier for class modes).",
)
@click.option(
    "--check",
    "checks",
    multiple=True,
    default=("pixel_stats",),
    show_default=True,
    help="Independent extractor(s) evaluated on the same draws, e.g. clip_vit_b32 (the paper's CLIP-FID).",
)
@click.option(
    "--mode",
    type=click.Choice(["pre_logits", "logits", "top_n", "middle_n"]),
    default="pre_logits",
    show_default=True,
    help="Features matched: pooled features, logits, or binarised top/middle-n classes (top_n with --num-dims 1 = top-1 histogram matching).",
)
@click.option("--num-dims", default=1, show_default=True)
@click.option("--iterations", default=300, show_default=True)
@click.option(
    "--optimizer",
    type=click.Choice(["sgd", "adam"]),
    default="adam",
    show_default=True,
    help="sgd with --lr 10 is the reference's (tuned for 250k candidates); adam is scale-free.",
)
@click.option("--lr", default=0.05, show_default=True, type=float)
@click.option(
    "--ridge",
    type=float,
    help="Fraction of the mean reference variance added to the covariances (default: 0, or 1e-4 if singular).",
)
@click.option("--eval-every", default=50, show_default=True)
@click.option("--eval-size", type=int, help="Candidates drawn per evaluation (default: as many as reference images).")
@click.option("--repeats", default=3, show_default=True)
@click.option("--seed", default=0, show_default=True)
@run_options(batch_size=32)
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-cache", is_flag=True)
@click.option("--resume", is_flag=True, help="Continue from OUT/checkpoint.npz (written at every evaluation).")
@click.option("-q", "--quiet", is_flag=True)
def fid_resample(
    pool: Path,
    ref: Path,
    out: Path,
    extractor: str,
    checks: tuple[str, ...],
    mode: str,
    num_dims: int,
    iterations: int,
    optimizer: str,
    lr: float,
    ridge: float | None,
    eval_every: int,
    eval_size: int | None,
    repeats: int,
    seed: int,
    settings: RunSettings,
    cache_dir: Path | None,
    no_cache: bool,
    resume: bool,
    quiet: bool,
) -> None:
    """Reweight POOL's images so that FD to REF drops, and show what else moves."""
    from iqa.pipelines import fid_resample_report

    with ProgressBars(quiet) as bars:
        run = settings.replace(cache_dir=default_cache(cache_dir, no_cache), progress=bars)
        outcome = fid_resample_report(
            pool, ref, out, resume=resume, settings=run, command=command_line(), extractor=extractor,
            check=checks, mode=mode, num_dims=num_dims, iterations=iterations, optimizer=optimizer, lr=lr,
            ridge=ridge, eval_every=eval_every, eval_size=eval_size, repeats=repeats, seed=seed,
        )  # fmt: skip
    res, change = outcome.run.result, outcome.summary.relative_change
    for k in res.before:
        click.echo(f"{k}: {res.before[k]:.4f} -> {res.after[k]:.4f} ({100 * change.get(k, float('nan')):+.1f} %)")
    finish_run({}, outcome.paths["html"], outcome.run.failed)


@attack.command("compression")
@click.option(
    "--metric", required=True, help="Target: a differentiable full-reference metric (e.g. vif, haarpsi, dists)."
)
@click.option(
    "--codec",
    type=click.Choice(["jpeg"]),
    default="jpeg",
    show_default=True,
    help="Codec; baseline JPEG 4:2:0 via Pillow.",
)
@click.option("--quality", default=30, show_default=True, type=click.IntRange(1, 100))
@click.option(
    "--train",
    "train_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of training images (random crops are drawn from them).",
)
@click.option(
    "--test",
    "test_dir",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of held-out images, evaluated whole with the real codec.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (report.html, per_image.csv, ...).",
)
@click.option(
    "--placement",
    type=click.Choice(["before", "after"]),
    default="before",
    show_default=True,
    help="Preprocessor before the encoder (the attack) or post-filter after the decoder.",
)
@click.option(
    "--steps", default=300, show_default=True, help="Adam steps (about 0.3-1 s each on 2 CPU cores, by metric)."
)
@click.option("--crop", default=128, show_default=True)
@click.option("--batch", default=8, show_default=True)
@click.option(
    "--lr", default=1e-4, show_default=True, type=float, help="Learning rate of the CNN (0 freezes it at the identity)."
)
@click.option(
    "--lr-global", default=3e-3, show_default=True, type=float, help="Learning rate of the three global contrast gains."
)
@click.option("--optimizer", type=click.Choice(["adam", "sgd"]), default="adam", show_default=True)
@click.option("--fidelity", default=0.0, show_default=True, type=float, help="Weight of ||f(x) - x||^2 in the loss.")
@click.option(
    "--rounding",
    type=click.Choice(["ste", "deadzone", "threshold", "noise", "cubic"]),
    default="ste",
    show_default=True,
    help="Rounding surrogate for training (validation and evaluation always round exactly).",
)
@click.option("--val-every", default=25, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option(
    "--metrics",
    "metric_list",
    help="Comma-separated metrics for the transfer table (default: every differentiable FR metric).",
)
@click.option(
    "--resume", is_flag=True, help="Continue a stopped run in OUT (training checkpoint and finished test images)."
)
@click.option("-q", "--quiet", is_flag=True)
def compression(
    metric: str,
    codec: str,
    quality: int,
    train_dir: Path,
    test_dir: Path,
    out: Path,
    placement: str,
    steps: int,
    crop: int,
    batch: int,
    lr: float,
    lr_global: float,
    optimizer: str,
    fidelity: float,
    rounding: str,
    val_every: int,
    seed: int,
    metric_list: str | None,
    resume: bool,
    quiet: bool,
) -> None:
    """Train a tiny network that games METRIC through JPEG, then measure it on held-out images."""
    from iqa.attacks.compression_hack import HackConfig
    from iqa.pipelines import compression_attack_report

    cfg = HackConfig(metric=metric, quality=quality, placement=placement, crop=crop, batch=batch, steps=steps, lr=lr,
                     lr_global=lr_global, optimizer=optimizer, fidelity=fidelity, rounding=rounding, seed=seed,
                     val_every=val_every)  # fmt: skip
    with ProgressBars(quiet) as bars:
        outcome = compression_attack_report(train_dir, test_dir, out, cfg, metrics=split_list(metric_list),
                                            resume=resume, progress=bars, command=command_line())  # fmt: skip
    for t in outcome.summary.transfer:
        click.echo(
            f"{'*' if t['target'] else ' '} {t['metric']:<10} gain {t['mean_gain_pct']:+7.1f} % (median {t['median_gain_pct']:+.1f} %), "
            f"improved on {100 * t['improved']:.0f} % of {t['n']} images"
        )
    bits = outcome.summary.bitrate
    click.echo(f"bitrate: {bits['bpp_plain']:.3f} -> {bits['bpp_hacked']:.3f} bpp ({bits['change_pct']:+.1f} %)")
    finish_run(outcome.run.skipped_metrics, outcome.paths["html"], outcome.run.failed)
