"""Networks and fitted models in their released key layouts, shared by metrics, training and the CLI.

A metric module is a leaf: what more than one metric (or a metric and the training code) needs lives
here under a public name. Modules:

- :mod:`iqa.models.contrique`: the CONTRIQUE network and its two-scale feature path;
- :mod:`iqa.models.quality_heads`: ridge heads and encoder loading for ``contrique*`` and ``qpt*``;
- :mod:`iqa.models.contrique_convert`: the release's checkpoint and sklearn regressors -> safetensors;
- :mod:`iqa.models.tanet`, :mod:`iqa.models.tanet_trunks`, :mod:`iqa.models.tanet_weights`: TANet
  (the ``tunet`` metric), its trunks by name, loading and conversion of its checkpoints;
- :mod:`iqa.models.dists`: DISTS's L2-pooled VGG16 trunk.

Importing the package imports none of them (no torch at import). Weight converters register
themselves in :data:`iqa.weights.converters.CONVERTERS` when their module is imported;
:func:`import_all` imports every module so that the registry is complete.
"""

from __future__ import annotations


def import_all() -> None:
    """Import every public module of the package (fills registries such as the weights converters)."""
    import importlib
    import pkgutil

    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
