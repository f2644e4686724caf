"""The registry of BNCVL implementations that compute the same function."""

from __future__ import annotations

from torch import nn

from bncvl.layer import BNCVL

__all__ = ["VARIANTS", "get"]

VARIANTS: dict[str, type[nn.Module]] = {
    "reference": BNCVL,
}
"""Name -> ``nn.Module`` class with the reference's constructor and ``state_dict`` layout."""


def get(name: str) -> type[nn.Module]:
    """The variant class registered as ``name``.

    Raises:
        ValueError: if no variant has that name; the message lists the valid ones.
    """
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown BNCVL variant {name!r}; expected one of {sorted(VARIANTS)}") from None
