"""Agreement of metrics with human scores: statistics, significance, dataset correlation runs."""

from iqa.evaluation.analysis import CorrelationResult, analyze
from iqa.evaluation.bootstrap import bootstrap_ci, bootstrap_difference
from iqa.evaluation.correlate import correlate
from iqa.evaluation.correlation import Fit, agreement, fit_mapping, krcc, orient, plcc, rmse, srcc
from iqa.evaluation.significance import williams_test

__all__ = [
    "CorrelationResult",
    "Fit",
    "agreement",
    "analyze",
    "bootstrap_ci",
    "bootstrap_difference",
    "correlate",
    "fit_mapping",
    "krcc",
    "orient",
    "plcc",
    "rmse",
    "srcc",
    "williams_test",
]
