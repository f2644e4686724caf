"""bncvl: a binary-weight convolution layer, its faster variants, and the tools to measure them.

The public names are imported on first use (PEP 562), not with the package:
they need torch, which takes seconds to import, while the command line
(``bncvl --help``), the dashboard and the results readers never touch it.
``from bncvl import BNCVL`` and ``bncvl.BNCVL`` work as usual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bncvl.cached import CachedBNCVL
    from bncvl.channels_last import ChannelsLastBNCVL
    from bncvl.fast import FastBNCVL
    from bncvl.fused import FusedBNCVL
    from bncvl.graphs import CudaGraphBNCVL
    from bncvl.half import HalfBNCVL
    from bncvl.layer import BNCVL
    from bncvl.limit import ConvLimit
    from bncvl.packed import PackedBNCVL
    from bncvl.quantize import (
        float_storage_bytes,
        mean_threshold,
        pack_bits,
        packed_storage_bytes,
        ste_mean_threshold,
        unpack_bits,
    )
    from bncvl.timing import Measurement, Timer
    from bncvl.variants import BASELINES, VARIANTS, get

__all__ = [
    "BASELINES",
    "BNCVL",
    "VARIANTS",
    "CachedBNCVL",
    "ChannelsLastBNCVL",
    "ConvLimit",
    "CudaGraphBNCVL",
    "FastBNCVL",
    "FusedBNCVL",
    "HalfBNCVL",
    "Measurement",
    "PackedBNCVL",
    "Timer",
    "float_storage_bytes",
    "get",
    "mean_threshold",
    "pack_bits",
    "packed_storage_bytes",
    "ste_mean_threshold",
    "unpack_bits",
]

# public name -> the module that defines it
_MODULES = {
    "BASELINES": "bncvl.variants",
    "BNCVL": "bncvl.layer",
    "VARIANTS": "bncvl.variants",
    "CachedBNCVL": "bncvl.cached",
    "ChannelsLastBNCVL": "bncvl.channels_last",
    "ConvLimit": "bncvl.limit",
    "CudaGraphBNCVL": "bncvl.graphs",
    "FastBNCVL": "bncvl.fast",
    "FusedBNCVL": "bncvl.fused",
    "HalfBNCVL": "bncvl.half",
    "Measurement": "bncvl.timing",
    "PackedBNCVL": "bncvl.packed",
    "Timer": "bncvl.timing",
    "float_storage_bytes": "bncvl.quantize",
    "get": "bncvl.variants",
    "mean_threshold": "bncvl.quantize",
    "pack_bits": "bncvl.quantize",
    "packed_storage_bytes": "bncvl.quantize",
    "ste_mean_threshold": "bncvl.quantize",
    "unpack_bits": "bncvl.quantize",
}


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access and keep the name here (PEP 562)."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'bncvl' has no attribute {name!r}; public names: {', '.join(__all__)}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
