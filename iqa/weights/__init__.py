"""Pretrained-weights manager: manifest, resolution, verification, download, import.

Resolution order for a weights id: explicit path -> ``$IQA_WEIGHTS_DIR/<filename>`` -> user
cache -> download (atomic, verified, progress bar) unless ``IQA_OFFLINE=1`` ->
:class:`~iqa.errors.WeightsNotFoundError` naming the URL, the hash, where to put the file and
``iqa weights import FILE``. A file whose hash differs is an error, never a silent random init.
"""

from iqa.weights.manifest import WeightSpec, get_weight_spec, load_manifest
from iqa.weights.store import (
    cache_dir,
    fetch,
    import_file,
    load_torch_state,
    locate,
    resolve_weights,
    sha256_file,
    verify_file,
)

__all__ = [
    "WeightSpec",
    "cache_dir",
    "fetch",
    "get_weight_spec",
    "import_file",
    "load_manifest",
    "load_torch_state",
    "locate",
    "resolve_weights",
    "sha256_file",
    "verify_file",
]
