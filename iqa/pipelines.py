"""Runs that end in a report: each chains library steps and renders the result.

The CLI parses its options and calls one of these; scripts can call them the same way. Every step
lives in its own layer (training, attacks, evaluation compute; the report modules only render), and
these functions sit above all of them, in their own layer just under the CLI.

Each returns an outcome object: the run, the numbers its report shows, and the report's paths.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iqa.api.settings import RunSettings
from iqa.attacks.compression_hack import HackConfig
from iqa.attacks.compression_run import CompressionRun, run_compression_hack
from iqa.attacks.fid_resample_run import ResampleRun, attack_fid_resample
from iqa.attacks.robustness_run import RobustnessRun, run_robustness
from iqa.datasets.base import MOSDataset
from iqa.evaluation.analysis import CorrelationResult
from iqa.evaluation.correlate import correlate
from iqa.evaluation.gains import CompressionSummary, effective_sample_size, relative_change, summarize_compression
from iqa.evaluation.robustness import robustness_table
from iqa.explain.classes import top1_histograms
from iqa.io.checkpoints import existing
from iqa.metrics.base import Metric
from iqa.reports.attack_report import ResampleSummary, write_attack_report
from iqa.reports.compression_report import write_compression_report
from iqa.reports.correlation import write_correlation_report
from iqa.reports.robustness_report import write_robustness_report
from iqa.training.runs import TUNetRun, train_tunet_run
from iqa.training.tunet import TUNetTrainConfig

Progress = Callable[[str, int, int], None]
Paths = dict[str, Path]


@dataclass
class CorrelationOutcome:
    result: CorrelationResult
    paths: Paths


def correlation_report(
    dataset: str | MOSDataset,
    metrics: list[str] | dict[str, Metric],
    report: str | Path,
    *,
    cache: str | Path | None = None,
    command: str = "",
    **options: Any,
) -> CorrelationOutcome:
    """:func:`~iqa.evaluation.correlate` (scores cached in ``cache``, default ``report/cache``), then
    the report in ``report``. ``options`` are :func:`~iqa.evaluation.correlate`'s keyword arguments.
    """
    report = Path(report)
    result = correlate(dataset, metrics, cache=cache if cache is not None else report / "cache", **options)
    return CorrelationOutcome(result, write_correlation_report(result, report, command=command))


@dataclass
class TUNetOutcome:
    run: TUNetRun
    result: CorrelationResult  # on the test split
    paths: Paths


def tunet_training_report(
    dataset: str | MOSDataset,
    out: str | Path,
    cfg: TUNetTrainConfig,
    *,
    root: str | Path | None = None,
    theme_weights: str | Path | None = None,
    aes_weights: str | Path | None = None,
    resume: bool = False,
    n_boot: int = 200,
    settings: RunSettings | None = None,
    command: str = "",
) -> TUNetOutcome:
    """Train TANet (:func:`~iqa.training.runs.train_tunet_run`), correlate it with the test split's
    scores (overall and per theme, cached in ``out/cache``) and write the report to ``out/report``.
    """
    settings = settings or RunSettings()
    out = Path(out)
    run = train_tunet_run(dataset, out, cfg, root=root, theme_weights=theme_weights, aes_weights=aes_weights,
                          resume=resume, progress=settings.progress)  # fmt: skip
    result = correlate(run.data, {"tunet": run.metric}, split="test", cache=out / "cache", n_boot=n_boot,
                       settings=settings)  # fmt: skip
    return TUNetOutcome(run, result, write_correlation_report(result, out / "report", command=command))


@dataclass
class CompressionOutcome:
    run: CompressionRun
    summary: CompressionSummary
    paths: Paths


def compression_attack_report(
    train_dir: str | os.PathLike[str],
    test_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    cfg: HackConfig,
    *,
    metrics: list[str] | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    command: str = "",
) -> CompressionOutcome:
    """Train and evaluate the compression hack (:func:`~iqa.attacks.compression_run.run_compression_hack`),
    summarise every metric's gain (:func:`~iqa.evaluation.gains.summarize_compression`), write the report.
    """
    run = run_compression_hack(train_dir, test_dir, out, cfg, metrics=metrics, resume=resume, progress=progress)
    summary = summarize_compression(run.rows, run.higher_is_better, cfg.metric)
    return CompressionOutcome(run, summary, write_compression_report(run, summary, test_dir, command=command))


@dataclass
class RobustnessOutcome:
    run: RobustnessRun
    table: list[dict[str, Any]]
    paths: Paths


def robustness_report(
    images: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    quality: int = 30,
    attacks: tuple[str, ...] = ("fgsm", "ifgsm"),
    metrics: list[str] | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    command: str = "",
) -> RobustnessOutcome:
    """Attack every metric (:func:`~iqa.attacks.robustness_run.run_robustness`), score its robustness
    (:func:`~iqa.evaluation.robustness.robustness_table`), write the report.
    """
    run = run_robustness(images, out, quality=quality, attacks=attacks, metrics=metrics, resume=resume,
                         progress=progress)  # fmt: skip
    table = robustness_table(run.rows, run.attacks, run.higher_is_better)
    return RobustnessOutcome(run, table, write_robustness_report(run, table, command=command))


def summarize_resample(run: ResampleRun) -> ResampleSummary:
    """Relative FD changes, the weights' effective sample size and the top-1 class histograms."""
    res = run.result
    before = after = None
    if run.pool_top1 is not None and run.ref_top1 is not None:
        before = top1_histograms(run.ref_top1, run.pool_top1, run.class_names)
        after = top1_histograms(run.ref_top1, run.pool_top1, run.class_names, weights_b=res.probabilities)
    return ResampleSummary(
        relative_change(res.before, res.after), effective_sample_size(res.probabilities), before, after
    )


@dataclass
class ResampleOutcome:
    run: ResampleRun
    summary: ResampleSummary
    paths: Paths


def fid_resample_report(
    pool: str | os.PathLike[str],
    ref: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    resume: bool = False,
    settings: RunSettings | None = None,
    command: str = "",
    **attack: Any,
) -> ResampleOutcome:
    """The resampling attack on two folders (:func:`~iqa.attacks.fid_resample_run.attack_fid_resample`,
    checkpointed in ``out/checkpoint.npz``), summarised and written as a report into ``out``.

    ``attack`` holds the attack's own options (extractor, check, mode, iterations, lr, ...); device,
    batch size, decoding threads, the feature cache and progress come from ``settings``.
    """
    settings = settings or RunSettings()
    out = Path(out)
    checkpoint = out / "checkpoint.npz"
    existing(checkpoint, resume=resume)  # an earlier run's checkpoint is continued only when asked
    run = attack_fid_resample(pool, ref, checkpoint=checkpoint, settings=settings, **attack)
    summary = summarize_resample(run)
    return ResampleOutcome(run, summary, write_attack_report(run, out, summary, command=command))
