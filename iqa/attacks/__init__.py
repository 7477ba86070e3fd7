"""Attacks on metrics: the resampling FID attack.

``resample_fid`` works on feature tensors; ``attack_fid_resample`` on two folders.
"""

from iqa.attacks.fid_resample import ResampleResult, Space, resample_fid, select_top1_histogram
from iqa.attacks.fid_resample_run import ResampleRun, attack_fid_resample

__all__ = ["ResampleResult", "ResampleRun", "Space", "attack_fid_resample", "resample_fid", "select_top1_histogram"]
