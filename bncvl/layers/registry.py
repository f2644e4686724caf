"""The registry of BNCVL implementations that compute the same function."""

from __future__ import annotations

from torch import nn

from bncvl.layers.cached import CachedBNCVL
from bncvl.layers.channels_last import ChannelsLastBNCVL
from bncvl.layers.conv_limit import ConvLimit
from bncvl.layers.cuda_graph import CudaGraphBNCVL
from bncvl.layers.fast import FastBNCVL
from bncvl.layers.fused import FusedBNCVL
from bncvl.layers.half import HalfBNCVL
from bncvl.layers.reference import BNCVL

__all__ = ["BASELINES", "VARIANTS", "get"]

# The names are a contract with the asv suite (benchmarks/common.py hard-codes
# them as parameters); renaming one means updating it there in the same commit.
VARIANTS: dict[str, type[nn.Module]] = {
    "reference": BNCVL,
    "cached": CachedBNCVL,
    "fused": FusedBNCVL,
    "channels_last": ChannelsLastBNCVL,
    "half": HalfBNCVL,
    "cuda_graph": CudaGraphBNCVL,
    "fast": FastBNCVL,
}
"""Name -> ``nn.Module`` class with the reference's constructor and ``state_dict`` layout."""

BASELINES: dict[str, type[nn.Module]] = {
    "conv_limit": ConvLimit,
}
"""Name -> baseline built like a variant that does not compute BNCVL's function (the bare convolution)."""


def get(name: str) -> type[nn.Module]:
    """The variant or baseline class registered as ``name``.

    Raises:
        ValueError: if nothing has that name; the message lists the valid ones.
    """
    try:
        return VARIANTS[name] if name in VARIANTS else BASELINES[name]
    except KeyError:
        raise ValueError(
            f"unknown BNCVL variant {name!r}; expected one of {sorted(VARIANTS)} or a baseline {sorted(BASELINES)}"
        ) from None
