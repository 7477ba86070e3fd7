"""Augmentations: the KADID-style distortion bank, distortion chains and JNDMix."""

from iqa.augment.bank import FAMILIES, describe, distort, distort_file, get_distortion, list_distortions
from iqa.augment.chains import Step, apply_chain, chain_label, sample_chain

__all__ = [
    "FAMILIES",
    "Step",
    "apply_chain",
    "chain_label",
    "describe",
    "distort",
    "distort_file",
    "get_distortion",
    "list_distortions",
    "sample_chain",
]
