"""bncvl: a binary-weight convolution layer, its faster variants, and the tools to measure them."""

from bncvl.layer import BNCVL
from bncvl.quantize import (
    float_storage_bytes,
    mean_threshold,
    pack_bits,
    packed_storage_bytes,
    ste_mean_threshold,
    unpack_bits,
)
from bncvl.timing import Measurement, Timer
from bncvl.variants import VARIANTS, get

__all__ = [
    "BNCVL",
    "VARIANTS",
    "Measurement",
    "Timer",
    "float_storage_bytes",
    "get",
    "mean_threshold",
    "pack_bits",
    "packed_storage_bytes",
    "ste_mean_threshold",
    "unpack_bits",
]
