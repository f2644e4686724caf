"""bncvl: a binary-weight convolution layer, its faster variants, and the tools to measure them.

The public names are imported on first use (PEP 562), not with the package:
they need torch, which takes seconds to import, while the command line
(``bncvl --help``), the dashboard and the results readers never touch it.
``from bncvl import BNCVL`` and ``bncvl.BNCVL`` work as usual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bncvl import _lazy

if TYPE_CHECKING:
    from bncvl.layers.cached import CachedBNCVL
    from bncvl.layers.channels_last import ChannelsLastBNCVL
    from bncvl.layers.conv_limit import ConvLimit
    from bncvl.layers.cuda_graph import CudaGraphBNCVL
    from bncvl.layers.fast import FastBNCVL
    from bncvl.layers.functional import (
        float_storage_bytes,
        mean_threshold,
        pack_bits,
        packed_storage_bytes,
        ste_mean_threshold,
        unpack_bits,
    )
    from bncvl.layers.fused import FusedBNCVL
    from bncvl.layers.half import HalfBNCVL
    from bncvl.layers.packed import PackedBNCVL
    from bncvl.layers.reference import BNCVL
    from bncvl.layers.registry import BASELINES, VARIANTS, get
    from bncvl.measure.timer import Measurement, Timer

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
    "BASELINES": "bncvl.layers.registry",
    "BNCVL": "bncvl.layers.reference",
    "VARIANTS": "bncvl.layers.registry",
    "CachedBNCVL": "bncvl.layers.cached",
    "ChannelsLastBNCVL": "bncvl.layers.channels_last",
    "ConvLimit": "bncvl.layers.conv_limit",
    "CudaGraphBNCVL": "bncvl.layers.cuda_graph",
    "FastBNCVL": "bncvl.layers.fast",
    "FusedBNCVL": "bncvl.layers.fused",
    "HalfBNCVL": "bncvl.layers.half",
    "Measurement": "bncvl.measure.timer",
    "PackedBNCVL": "bncvl.layers.packed",
    "Timer": "bncvl.measure.timer",
    "float_storage_bytes": "bncvl.layers.functional",
    "get": "bncvl.layers.registry",
    "mean_threshold": "bncvl.layers.functional",
    "pack_bits": "bncvl.layers.functional",
    "packed_storage_bytes": "bncvl.layers.functional",
    "ste_mean_threshold": "bncvl.layers.functional",
    "unpack_bits": "bncvl.layers.functional",
}


__getattr__, __dir__ = _lazy.attach(__name__, _MODULES)
