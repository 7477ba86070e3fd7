"""What a distribution-metric result was computed with, recorded next to the numbers.

``iqa.compare`` adds ``result["provenance"]``: for each metric its variant and options, the feature
extractor (its cache key, which names the network and its input path), the sha256 of the weights
file it used, the estimator, the sample counts; for each side what it was (folder, file and its
format, published statistics with their source); and the versions of iqa and torch.
:func:`citation` turns that record into the sentence and references a paper should print.
"""

from __future__ import annotations

import math
import platform
from pathlib import Path
from typing import Any

import torch

import iqa
from iqa.features.registry import DECLARED
from iqa.metrics.base import DistributionMetric
from iqa.options import option_infos
from iqa.registry import get_metric_class

__all__ = ["citation", "environment", "metric_provenance"]

_PLAIN = (str, int, float, bool, type(None))


def _option_values(name: str, m: DistributionMetric) -> dict[str, Any]:
    """The metric's declared options with the values it runs with (objects by class name)."""
    out: dict[str, Any] = {}
    for opt, info in option_infos(get_metric_class(name)).items():
        value = getattr(m, opt, info.default)
        if isinstance(value, float) and not math.isfinite(value):
            value = str(value)
        elif isinstance(value, Path):
            value = str(value)
        elif not isinstance(value, _PLAIN):
            value = type(value).__name__  # an injected extractor or network
        out[opt] = value
    return out


def _weights_used(name: str, m: DistributionMetric) -> list[dict[str, str]]:
    """Each weights file behind the metric: its manifest id and the sha256 of the local copy."""
    from iqa.weights.manifest import get_weight_spec
    from iqa.weights.store import local_status, sha256_file

    given = getattr(m, "weights", None)
    if given is not None:  # a file given explicitly is what ran
        p = Path(given)
        return [{"file": str(p), "sha256": sha256_file(p) if p.is_file() else "missing"}]
    default = getattr(option_infos(get_metric_class(name)).get("extractor"), "default", None)
    if isinstance(default, str) and DECLARED.get(default, (default, 0))[0] != m.extractor.cache_key():
        # another extractor was given as an option: the spec's weights are not the ones that ran
        return [{"extractor": m.extractor.cache_key(), "sha256": "not recorded (extractor given as an option)"}]
    out = []
    for wid in get_metric_class(name).spec.weights:
        st = local_status(get_weight_spec(wid))
        out.append({"id": wid, "sha256": st.digest or "not on this machine", "status": st.status})
    return out


def _estimator(m: DistributionMetric) -> str:
    """The estimator in words, from the metric's family and options."""
    from iqa.metrics.distribution import FrechetMetric, RBFMMDMetric

    if isinstance(m, FrechetMetric):
        return f"Frechet distance of Gaussian fits (unbiased covariance, N-1; sqrt route {m.method})"
    if isinstance(m, RBFMMDMetric):
        return f"RBF MMD^2 (sigma {m.sigma}) x{m.scale:g}, {m.estimator}"
    k, ball = getattr(m, "k", None), getattr(m, "ball", None)
    if k is not None and ball is not None:
        return f"k-NN manifold, k = {k}, {ball} balls (radius: k-th neighbour excluding the sample itself)"
    if hasattr(m, "q"):
        return f"Vendi score, cosine kernel, q = {m.q}, generated set only"
    splits = getattr(m, "splits", None)
    if splits is not None:
        shuffle = f"shuffled with seed {getattr(m, 'seed', None)}" if getattr(m, "shuffle", False) else "in order"
        return f"Inception Score, mean and population std over {splits} splits ({shuffle}), generated set only"
    subsets, size = getattr(m, "subsets", None), getattr(m, "subset_size", None)
    if subsets is not None and size is not None:
        return (
            f"unbiased polynomial-kernel MMD^2, mean over {subsets} subsets of {size} (seed {getattr(m, 'seed', None)})"
        )
    return type(m).__name__


def metric_provenance(name: str, m: DistributionMetric, values: dict[str, Any]) -> dict[str, Any]:
    """The record of one metric's run (``values``: what it reported, for the counts)."""
    spec = get_metric_class(name).spec
    ext = m.extractor
    return {
        "variant": name,
        "class": type(m).__name__,
        "options": _option_values(name, m),
        "extractor": ext.cache_key(),
        "extractor_dim": int(ext.dim),
        "weights": _weights_used(name, m),
        "estimator": _estimator(m),
        "paper": spec.paper,
        "reference_impl": spec.reference_impl,
        **{k: v for k, v in values.items() if k in ("n_real", "n_fake")},
    }


def environment(device: str) -> dict[str, str]:
    """Versions and device of this run."""
    return {"iqa": iqa.__version__, "torch": torch.__version__, "python": platform.python_version(), "device": device}


def citation(result: dict[str, Any]) -> str:
    """How to report ``result`` (an ``iqa.compare`` result with its provenance), as plain text."""
    prov = result.get("provenance")
    if not prov:
        return "no provenance in this result (computed by an older iqa?)"
    env, sides = prov["environment"], prov["sides"]
    lines = [f"Computed with iqa {env['iqa']} (torch {env['torch']}, {env['device']})."]
    lines.append(f"Reference set (a): {_side_text(sides['a'])}. Generated set (b): {_side_text(sides['b'])}.")
    for name, rec in prov["metrics"].items():
        value = result.get(name)
        shown = f"{value:.6g}" if isinstance(value, float) else str(value)
        sha = ", ".join(w.get("sha256", "?")[:12] for w in rec["weights"]) or "none"
        lines.append(
            f"- {name} = {shown}: {rec['estimator']}; features {rec['extractor']} ({rec['extractor_dim']}-d, "
            f"weights sha256 {sha}); n_a = {rec.get('n_real')}, n_b = {rec.get('n_fake')}. Cite: {rec['paper']}."
        )
    return "\n".join(lines)


def _side_text(side: dict[str, Any]) -> str:
    if "published" in side:
        p = side["published"]
        return f"{side['source']} ({p['source']}: {p['dataset']}, {p['split']}, {p['resolution']} px, {p['preprocessing']})"
    return f"{side['source']} ({side['kind']})"
