"""Named shapes for benchmarks and the CLI: a few points, not a cartesian product."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PRESETS", "Shape", "get_preset"]


@dataclass(frozen=True)
class Shape:
    """One BNCVL workload: input (batch, in_channels, size, size), kernel size."""

    batch: int
    in_channels: int
    out_channels: int
    size: int
    kernel_size: int

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.batch, self.in_channels, self.size, self.size)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the convolution ("same" padding, stride 1)."""
        return self.batch * self.out_channels * self.size**2 * self.in_channels * self.kernel_size**2

    def describe(self) -> str:
        return (
            f"batch {self.batch}, {self.in_channels}->{self.out_channels} channels, "
            f"{self.size}x{self.size}, k={self.kernel_size}"
        )


PRESETS: dict[str, Shape] = {
    # Smallest useful work: CI smoke runs and the regression-check tests.
    "tiny": Shape(batch=2, in_channels=8, out_channels=8, size=16, kernel_size=3),
    # Latency-bound: launch and Python overhead dominate.
    "small": Shape(batch=16, in_channels=16, out_channels=16, size=32, kernel_size=3),
    # The seed's typical use, and the CLI's default.
    "medium": Shape(batch=16, in_channels=64, out_channels=64, size=32, kernel_size=3),
    # Compute-bound: the convolution dominates.
    "large": Shape(batch=32, in_channels=128, out_channels=128, size=56, kernel_size=3),
}


def get_preset(name: str) -> Shape:
    """The preset called ``name``; ``ValueError`` listing the valid names otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; expected one of {sorted(PRESETS)}") from None
