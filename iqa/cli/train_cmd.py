"""``iqa train tunet --dataset tad66k --root DIR --out OUT``: train TANet, evaluate per theme."""

from __future__ import annotations

from pathlib import Path

import click

from iqa.cli.options import command_line, run_settings
from iqa.cli.progress import ProgressBars


@click.group()
def train() -> None:
    """Train learned metrics."""


@train.command("tunet")
@click.option("--dataset", type=click.Choice(["tad66k"]), default="tad66k", show_default=True)
@click.option(
    "--root",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Dataset folder (images/ and the labels).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (weights, checkpoint, report/).",
)
@click.option("--epochs", default=10, show_default=True)
@click.option("--batch", default=16, show_default=True)
@click.option("--lr", default=3e-4, show_default=True, type=float)
@click.option(
    "--theme-trunk",
    default="resnet18_places365",
    show_default=True,
    help="resnet18_places365 (the release's), efficientnet_lite0 (offline ImageNet) or timm:NAME.",
)
@click.option(
    "--theme-weights",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="resnet18_places365.pth.tar (MIT CSAIL); EfficientNet-Lite0 needs none.",
)
@click.option(
    "--aes-trunk",
    default="mobilenet_v2_nima",
    show_default=True,
    help="mobilenet_v2_nima (the release's), efficientnet_lite0 (offline ImageNet) or timm:NAME.",
)
@click.option(
    "--aes-weights", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="NIMA's mobilenetv2.pth.tar."
)
@click.option(
    "--theme-bn",
    type=click.Choice(["train", "eval"]),
    default="train",
    show_default=True,
    help="train: the release's drifting BatchNorm statistics in the frozen theme trunk; eval: truly frozen.",
)
@click.option("--seed", default=0, show_default=True)
@click.option("--resume", is_flag=True, help="Continue OUT/checkpoint.pt.")
@click.option("-q", "--quiet", is_flag=True)
def tunet(
    dataset: str,
    root: Path,
    out: Path,
    epochs: int,
    batch: int,
    lr: float,
    theme_trunk: str,
    theme_weights: Path | None,
    aes_trunk: str,
    aes_weights: Path | None,
    theme_bn: str,
    seed: int,
    resume: bool,
    quiet: bool,
) -> None:
    """Train TANet on the train split, then SRCC/PLCC overall and per theme on the test split."""
    from iqa.pipelines import tunet_training_report
    from iqa.training.tunet import TUNetTrainConfig

    if (theme_trunk == "resnet18_places365" and theme_weights is None) or (
        aes_trunk == "mobilenet_v2_nima" and aes_weights is None
    ):
        click.echo("note: a trunk without --theme-weights/--aes-weights starts from random weights; "
                   "offline, --theme-trunk efficientnet_lite0 --aes-trunk efficientnet_lite0 start from ImageNet", err=True)  # fmt: skip
    cfg = TUNetTrainConfig(
        epochs=epochs, batch=batch, lr=lr, theme_trunk=theme_trunk, aes_trunk=aes_trunk, theme_bn=theme_bn, seed=seed
    )
    with ProgressBars(quiet) as bars:
        outcome = tunet_training_report(dataset, out, cfg, root=root, theme_weights=theme_weights, aes_weights=aes_weights,
                                        resume=resume, settings=run_settings(progress=bars), command=command_line())  # fmt: skip
    run, row = outcome.run, outcome.result.overall.iloc[0]
    for h in run.history:
        click.echo(f"epoch {h['epoch']}: train MSE {h['train_mse']:.4f} (on score/10)")
    click.echo(f"test ({run.n_test} images): SRCC {row['srcc']:.3f}, PLCC {row['plcc']:.3f}")
    click.echo(f"weights: {run.weights}; report: {outcome.paths.get('html', out / 'report')}")
    click.echo(
        f"use: iqa.create('tunet', weights='{run.weights}', theme_trunk='{theme_trunk}', aes_trunk='{aes_trunk}')"
    )
    for f in run.failed:
        click.echo(f"skipped: {f}", err=True)


def _pretrain(
    method: str, config: Path, out: Path, steps: int | None, resume: bool, install: bool, quiet: bool
) -> None:
    from iqa.training.runs import prepare_pretraining, pretrain_run

    prepared = prepare_pretraining(method, config, steps=steps)
    for s in prepared.skipped:
        click.echo(f"skipped: {s}", err=True)
    cfg = prepared.config
    click.echo(
        f"{method}: {len(prepared.sources)} images, {cfg.trunk}, crop {cfg.crop}, batch {cfg.batch}, {cfg.steps} steps -> {out}",
        err=True,
    )
    with ProgressBars(quiet) as bars:
        run = pretrain_run(prepared, out, resume=resume, install=install, progress=bars)
    first, last, n_last = run.loss_summary()
    click.echo(f"loss: first {first:.3f}, mean of the last {n_last} steps {last:.3f}")
    click.echo(f"encoder: {run.encoder}{' (also installed as ' + method + '_encoder)' if install else ''}")
    click.echo(f"next: iqa fit-head {method} --dataset NAME --root DIR --encoder {run.encoder}")


def _pretrain_command(method: str, help_text: str):  # noqa: ANN202 - a click command
    @train.command(method, help=help_text)
    @click.option(
        "--config",
        required=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="TOML with the PretrainConfig fields (images = [folders], trunk, crop, batch, steps, lr, ...).",
    )
    @click.option(
        "--out",
        required=True,
        type=click.Path(file_okay=False, path_type=Path),
        help="Run folder (checkpoint, log.jsonl, encoder).",
    )
    @click.option("--steps", type=int, help="Override the config's number of steps.")
    @click.option("--resume", is_flag=True, help="Continue OUT/checkpoint.pt (same config).")
    @click.option(
        "--install",
        is_flag=True,
        help=f"Also store the encoder as {method}_encoder, the default of iqa.create('{method}').",
    )
    @click.option("-q", "--quiet", is_flag=True)
    def command(config: Path, out: Path, steps: int | None, resume: bool, install: bool, quiet: bool) -> None:
        _pretrain(method, config, out, steps, resume, install, quiet)

    return command


contrique = _pretrain_command(
    "contrique", "CONTRIQUE pre-training: bank classes + authentic images, two-scale views, multi-positive NT-Xent."
)
qpt = _pretrain_command(
    "qpt", "QPT-style pre-training (approximate: no official code): two degradations per image, quality-aware InfoNCE."
)
