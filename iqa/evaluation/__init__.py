"""Agreement of metrics with human scores: statistics, significance, dataset correlation runs."""

from iqa.evaluation.analysis import CorrelationResult, analyze
from iqa.evaluation.bootstrap import bootstrap_ci, bootstrap_difference
from iqa.evaluation.correlate import correlate, select_records
from iqa.evaluation.correlation import Fit, agreement, fit_mapping, krcc, orient, plcc, rmse, srcc
from iqa.evaluation.gains import bitrate_change, gain_percent, summarize_compression, transfer_table
from iqa.evaluation.robustness import robustness_table
from iqa.evaluation.significance import williams_test

__all__ = [
    "CorrelationResult",
    "Fit",
    "agreement",
    "analyze",
    "bitrate_change",
    "bootstrap_ci",
    "bootstrap_difference",
    "correlate",
    "fit_mapping",
    "gain_percent",
    "krcc",
    "orient",
    "plcc",
    "rmse",
    "robustness_table",
    "select_records",
    "srcc",
    "summarize_compression",
    "transfer_table",
    "williams_test",
]
