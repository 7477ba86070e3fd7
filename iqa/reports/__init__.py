"""Reports: files a person reads (tables, figures, HTML) built from evaluation results."""

from iqa.reports.correlation import write_correlation_report

__all__ = ["write_correlation_report"]
