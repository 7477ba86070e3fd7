"""Attacks on metrics: the resampling FID attack (and, later, the compression hack)."""

from iqa.attacks.fid_resample import ResampleResult, Space, resample_fid, select_top1_histogram

__all__ = ["ResampleResult", "Space", "resample_fid", "select_top1_histogram"]
