"""bncvl: a binary-weight convolution layer, its faster variants, and the tools to measure them."""

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
