"""Augmentations: the KADID-style distortion bank, distortion chains and JNDMix."""

from iqa.augment.bank import FAMILIES, describe, distort, distort_file, get_distortion, list_distortions
from iqa.augment.chains import Step, apply_chain, chain_label, sample_chain
from iqa.augment.jnd import jnd_map
from iqa.augment.jndmix import JNDMix, jnd_heatmap, jnd_noise

__all__ = [
    "FAMILIES",
    "JNDMix",
    "Step",
    "apply_chain",
    "chain_label",
    "describe",
    "distort",
    "distort_file",
    "get_distortion",
    "jnd_heatmap",
    "jnd_map",
    "jnd_noise",
    "list_distortions",
    "sample_chain",
]
