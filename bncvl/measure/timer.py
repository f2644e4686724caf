"""The CLI's timer (``bncvl profile``), and the seed, thread, device and allocator helpers.

``bncvl profile`` times with :class:`Timer`, which synchronises CUDA inside
the timed region, so a time ends when the device work ends, not when the
launch returns. The pytest-benchmark shoot-out (``tests/test_shootout.py``)
times with pytest-benchmark's own loop and ends each call with
:func:`synchronize`.

The asv suite times with its own loops, in ``benchmarks/timing.py``, and
takes only :func:`reproducible` and :func:`resolve_device` from here: asv
runs the suite against every commit with that commit's bncvl installed, so
a loop taken from here would time each commit with its own version, and a
change here would show in the suite's history as a step that no change to
the layer made. This package cannot use the suite's module either:
``benchmarks/`` is not part of the installed package.
"""

from __future__ import annotations

import ctypes
import functools
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_THREADS",
    "SEED_LIMIT",
    "Measurement",
    "Timer",
    "keep_freed_memory",
    "reproducible",
    "resolve_device",
    "synchronize",
]

DEFAULT_SEED = 0
SEED_LIMIT = 2**64
"""Seeds are ints in ``[0, SEED_LIMIT)``: what ``torch.manual_seed`` takes, without its negative aliases."""
DEFAULT_THREADS = 1
"""One thread: these machines are shared 2-core boxes, and a second thread
contends with everything else on them, which turns into noise. Ratios between
variants, not absolute times, are what the suite tracks."""


def synchronize(device: torch.device | str) -> None:
    """Wait for all queued work on ``device`` (a no-op on the CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def resolve_device(device: str) -> torch.device:
    """``torch.device(device)``, raising ``RuntimeError`` if it is a CUDA device this machine lacks."""
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise RuntimeError(f"unsupported device {device!r}; expected 'cpu' or 'cuda[:N]'") from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError(f"device {device!r} requested, but torch.cuda.is_available() is False on this machine")
        index = resolved.index or 0
        if index >= torch.cuda.device_count():
            raise RuntimeError(
                f"device {device!r} requested, but only {torch.cuda.device_count()} CUDA device(s) exist"
            )
    elif resolved.type != "cpu":
        raise RuntimeError(f"unsupported device {device!r}; expected 'cpu' or 'cuda[:N]'")
    return resolved


_M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
_M_MMAP_MAX = -4


@functools.cache
def keep_freed_memory() -> bool:
    """Make the C allocator keep freed memory for reuse, as a long-running training process does.

    torch allocates CPU tensors with ``malloc``. glibc serves blocks of 128 KB
    and more (one 16 x 64 x 32 x 32 float32 map is 4 MB) with ``mmap`` and
    unmaps them on ``free``, so every call faults its fresh pages in again.
    Measured on the project's 2-core VM, a medium-preset reference forward
    took about 3,000 minor page faults, a third of its CPU time was system
    time, and most of the sample-to-sample spread came from them. With
    ``mmap`` off and heap trimming off, freed blocks are reused (page faults
    per call: 0), which is what PyTorch's CUDA caching allocator does on the
    GPU and what jemalloc or tcmalloc (PyTorch's CPU tuning advice) do.

    Process-wide and lasting; applied once.

    Returns:
        True where applied (glibc); False on another C library, whose
        allocator is then used as it is.

    Raises:
        RuntimeError: glibc refused the setting.
    """
    if platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL(None)
    if not (libc.mallopt(_M_MMAP_MAX, 0) and libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1)):
        raise RuntimeError("glibc mallopt refused M_MMAP_MAX=0 / M_TRIM_THRESHOLD=2**31-1")
    return True


@contextmanager
def reproducible(seed: int = DEFAULT_SEED, threads: int = DEFAULT_THREADS, keep_freed: bool = True) -> Iterator[None]:
    """Seed torch's generators and fix its intra-op thread count, restoring the count after.

    With ``keep_freed`` it also makes the allocator keep freed memory
    (:func:`keep_freed_memory`), which lasts beyond the block.
    """
    if keep_freed:
        keep_freed_memory()
    previous = torch.get_num_threads()
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@dataclass(frozen=True)
class Measurement:
    """Per-call times in seconds of one timed function; statistics are derived."""

    samples: tuple[float, ...]
    label: str = ""
    number_per_sample: int = 1
    metadata: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.samples:
            raise ValueError(f"Measurement {self.label!r} needs at least one sample; got none")

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def q25(self) -> float:
        return self._quartiles[0]

    @property
    def q75(self) -> float:
        return self._quartiles[2]

    @property
    def iqr(self) -> float:
        return self.q75 - self.q25

    @property
    def _quartiles(self) -> list[float]:
        if len(self.samples) == 1:
            return [self.samples[0]] * 3
        return statistics.quantiles(self.samples, n=4, method="inclusive")

    def to_dict(self) -> dict[str, object]:
        return {
            "label": self.label,
            "median_s": self.median,
            "iqr_s": self.iqr,
            "q25_s": self.q25,
            "q75_s": self.q75,
            "number_per_sample": self.number_per_sample,
            "samples_s": list(self.samples),
            **self.metadata,
        }


class Timer:
    """Time ``fn()`` on ``device``, synchronising CUDA inside the timed region.

    Each sample runs ``fn`` ``number`` times back to back between two
    synchronisations and records the mean per call; ``number`` is calibrated
    so that a sample lasts at least ``min_sample_time`` (short calls are
    otherwise dominated by clock resolution and Python overhead).

    Args:
        fn: the work to time; its result is discarded.
        device: where ``fn`` runs, to know what to synchronise.
        label: a name carried into the :class:`Measurement`.
        warmup: calls before timing (lazy init, allocator, cuDNN autotune).
        min_sample_time: seconds one sample should take at least.

    Raises:
        ValueError: ``warmup`` is negative.
    """

    def __init__(
        self,
        fn: Callable[[], object],
        device: torch.device | str = "cpu",
        label: str = "",
        warmup: int = 3,
        min_sample_time: float = 1e-3,
    ) -> None:
        if warmup < 0:
            raise ValueError(f"warmup must be >= 0; got {warmup}")
        self.fn = fn
        self.device = torch.device(device)
        self.label = label
        self.warmup = warmup
        self.min_sample_time = min_sample_time

    def _run(self, number: int) -> float:
        synchronize(self.device)
        start = time.perf_counter()
        for _ in range(number):
            self.fn()
        synchronize(self.device)
        return time.perf_counter() - start

    def calibrate(self) -> int:
        """Run the warm-up and return how many calls make one sample."""
        for _ in range(self.warmup):
            self.fn()
        number = 1
        while (elapsed := self._run(number)) < self.min_sample_time and number < 1 << 20:
            number *= max(2, min(10, int(self.min_sample_time / max(elapsed, 1e-9)) + 1))
        return number

    def repeat(self, repeats: int = 20, number: int | None = None) -> Measurement:
        """Warm up, then take ``repeats`` samples of ``number`` calls each (calibrated if None)."""
        if repeats < 1:
            raise ValueError(f"repeats must be >= 1; got {repeats}")
        number = number or self.calibrate()
        samples = tuple(self._run(number) / number for _ in range(repeats))
        return Measurement(samples, self.label, number)
