"""The asv suite's timing: the clocks it reads, every loop that reads one, its device synchronisation and warm-up.

Which benchmark reads which clock:

- ``Latency.time_*``: asv's own loop, with a :class:`DeviceClock` as its
  ``timer``: this process's CPU time on the CPU, the wall clock on CUDA
  (:func:`clock_for`); each timed body ends with :func:`synchronize`.
- ``FirstCall``: the wall clock around one call (:func:`wall_seconds`).
- ``RelativeWallTime``, ``RelativeCpuTime``: the wall clock and the CPU time
  of the same alternating blocks (:func:`paired_ratios`).
- ``Efficiency``: the wall clock, median seconds per call over samples of a
  calibrated number of calls (:func:`seconds_per_call`).
- ``GPU``: the wall clock only as the end of the loop that NVML samples (:func:`run_for`).
- ``DashboardLoad``, ``StorePages``, ``StorePublish``: asv's own loop and
  timer (the wall clock, ``timeit.default_timer``); nothing here.

Every loop waits for the device (:func:`synchronize`) before it reads the
clock at the end, so a CUDA time is the work's, not the launch's.

Why the suite does not time with ``bncvl.measure.timer``, the CLI's timer:
asv runs this suite against every commit it measures, with that commit's
bncvl installed. A loop taken from the bncvl under test would time each
commit with its own loop, and a change to that loop would show in the
history as a step that no change to the layer made (the reason the suite
also keeps its own ``keep_freed_memory``, :mod:`benchmarks.common`). So this
module imports no bncvl; and bncvl cannot import it, because ``benchmarks/``
is not part of the installed package.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable

import torch

__all__ = [
    "BLOCK_SECONDS",
    "CLOCKS",
    "MEASURE_SECONDS",
    "MIN_SAMPLE_SECONDS",
    "WARMUP_SECONDS",
    "WARM_UP_CALLS",
    "Clock",
    "DeviceClock",
    "PairedRatios",
    "calls_per_sample",
    "clock_for",
    "paired_ratios",
    "run_for",
    "seconds_per_call",
    "synchronize",
    "wall_seconds",
    "warm_up",
]

Clock = Callable[[], float]
"""A clock: seconds since some fixed point (``time.perf_counter``, ``time.process_time``)."""

Device = torch.device | str


def synchronize(device: Device) -> None:
    """Wait for all queued work on ``device`` (a no-op on the CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def clock_for(device: Device) -> Clock:
    """The clock that times work on ``device``: this process's CPU time on the CPU, the wall clock on CUDA.

    On the CPU, ``time.process_time``. With one intra-op thread
    (``DEFAULT_THREADS`` of ``bncvl.measure.timer``) it equals the wall time
    on an idle machine, and it leaves out the time other processes hold the
    core: on a shared 2-core machine wall-clock samples of one process
    shifted together by up to 10x under load, which asv's significance test
    then took for a regression. On CUDA the work runs on the device, so the
    wall time (``time.perf_counter``, the device synchronised in the timed
    body) is the only honest clock.

    Raises:
        ValueError: ``device`` is neither the CPU nor a CUDA device.
        RuntimeError: a CUDA device, on a machine where torch sees no GPU.
    """
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        kind = None
    if kind == "cpu":
        return time.process_time
    if kind != "cuda":
        raise ValueError(f"no clock for device {device!r}; expected 'cpu' or 'cuda[:N]'")
    if not torch.cuda.is_available():
        raise RuntimeError(f"no clock for device {device!r}: torch.cuda.is_available() is False on this machine")
    return time.perf_counter


class DeviceClock:
    """A clock that reads :func:`clock_for` of the device last selected; the wall clock until one is.

    asv's ``timer`` for a benchmark class whose clock depends on its
    ``device`` parameter: asv takes ``timer`` from the class, the same for
    every parameter combination, so the class holds one of these and its
    ``setup`` selects the device (``bench_latency.Latency``).
    """

    def __init__(self) -> None:
        self.read: Clock = time.perf_counter

    def select(self, device: Device) -> None:
        """Read :func:`clock_for` of ``device`` from now on (unchanged if that raises)."""
        self.read = clock_for(device)

    def __call__(self) -> float:
        return self.read()


WARM_UP_CALLS = 20
"""Untimed calls of a pass before it is first timed in a process, so that a timed call is in the steady state.

Measured on the tiny preset, CPU, float32, one process per variant and five processes each
(docs/measurements/2026-12-03-steady-state.md), against the median of calls 31-40: the first
call of a compiled variant's pass (``fused``, ``fast``) runs ``torch.compile`` (one new
dynamo graph per kernel; 90-220x the steady time with inductor's on-disk cache warm, seconds
cold); the second is still 1.7-6x and the fifth 1.1-1.3x (first use of the generated code
and of fresh allocations); the eighth is slower again (1.1-1.4x), when CPython's specialising
interpreter quickens the layer's Python code; from about the fifteenth call on every pass
of every variant is within 1.05x. No later call recompiled (dynamo's recompile counter
stayed 0): each compiled kernel is only ever called with one shape and under one grad mode
in a process. The reference's first call costs 1.3-16x its steady time too (allocator,
oneDNN's primitive cache). On CUDA the same calls cover cuDNN's algorithm choice, lazy
handles and the ``cuda_graph`` variant's capture. On a preset whose pass takes milliseconds
the calls after the third change little, but cost 20 passes once per process."""


def warm_up(passes: Iterable[Callable[[], object]], device: Device, calls: int = WARM_UP_CALLS) -> None:
    """Call each of ``passes`` ``calls`` times (device synchronised after each): what no timed call may pay.

    Benchmarks call it in ``setup`` (or before timing in a ``setup_cache``)
    with every pass they time, so that ``asv run --quick``, whose one
    sample is one call with no warm-up, times a call in the steady state
    (see :data:`WARM_UP_CALLS` for what the first calls cost).
    """
    for run in passes:
        for _ in range(calls):
            run()
            synchronize(device)


def wall_seconds(
    run: Callable[[], object], device: Device, calls: int = 1, *, wall: Clock = time.perf_counter
) -> float:
    """Wall seconds of ``calls`` calls of ``run`` back to back, the device synchronised before and after."""
    synchronize(device)
    start = wall()
    for _ in range(calls):
        run()
    synchronize(device)
    return wall() - start


MIN_SAMPLE_SECONDS = 1e-3
"""Least wall time of one sample of :func:`seconds_per_call`: shorter ones are dominated by clock resolution and
Python's overhead."""


def calls_per_sample(
    run: Callable[[], object],
    device: Device,
    min_seconds: float = MIN_SAMPLE_SECONDS,
    *,
    wall: Clock = time.perf_counter,
) -> int:
    """How many calls of ``run`` make a sample of at least ``min_seconds``.

    From one call, each try multiplies the calls by the factor by which it
    fell short (2 to 10), until a try lasts ``min_seconds``, or 2**20 calls.
    """
    calls = 1
    while (elapsed := wall_seconds(run, device, calls, wall=wall)) < min_seconds and calls < 1 << 20:
        calls *= max(2, min(10, int(min_seconds / max(elapsed, 1e-9)) + 1))
    return calls


def seconds_per_call(
    run: Callable[[], object], device: Device, samples: int, *, wall: Clock = time.perf_counter
) -> float:
    """Median over ``samples`` samples of the wall seconds per call, each sample :func:`calls_per_sample` calls.

    No warm-up: :func:`warm_up` first.

    Raises:
        ValueError: ``samples`` is below 1.
    """
    if samples < 1:
        raise ValueError(f"samples must be >= 1; got {samples}")
    calls = calls_per_sample(run, device, wall=wall)
    return statistics.median(wall_seconds(run, device, calls, wall=wall) / calls for _ in range(samples))


def run_for(
    run: Callable[[], object], device: Device, seconds: float, batch: int = 10, *, wall: Clock = time.perf_counter
) -> int:
    """Call ``run`` in batches of ``batch``, the device synchronised after each, until ``seconds`` of wall time
    have passed; the number of calls made."""
    calls = 0
    start = wall()
    while wall() - start < seconds:
        for _ in range(batch):
            run()
        calls += batch
        synchronize(device)
    return calls


# --- the relative timings' paired blocks -------------------------------------------------------------

BLOCK_SECONDS = 1e-3
"""Target length of one block: long enough that the clock reads (about 1 µs)
are noise-free, short enough that a block of the layer and the next block of
the reference see the same machine."""

MEASURE_SECONDS = 1.0
"""Measured time per process after warm-up (about 500 pairs on the tiny preset)."""

WARMUP_SECONDS = 0.2

CLOCKS = ("wall", "cpu")


class PairedRatios:
    """The per-pair ratios ``(layer time per call) / (reference time per call)`` of one process, on both clocks."""

    def __init__(self, wall: list[float], cpu: list[float]) -> None:
        if not wall or len(wall) != len(cpu):
            raise ValueError(f"need the same, non-zero number of wall and CPU ratios; got {len(wall)} and {len(cpu)}")
        self.wall = wall
        self.cpu = cpu

    def median(self, clock: str) -> float:
        """The median ratio on ``clock`` (``"wall"`` or ``"cpu"``)."""
        if clock not in CLOCKS:
            raise ValueError(f"clock must be one of {CLOCKS}; got {clock!r}")
        return statistics.median(self.wall if clock == "wall" else self.cpu)


def _calls_per_block(run: Callable[[], object], device: Device, block_seconds: float, wall: Clock) -> int:
    """How many calls of ``run`` fill ``block_seconds`` of wall time (at least one)."""
    start = wall()
    calls = 0
    while wall() - start < block_seconds or calls == 0:
        run()
        synchronize(device)
        calls += 1
    return calls


def _block(run: Callable[[], object], device: Device, calls: int, wall: Clock, cpu: Clock) -> tuple[float, float]:
    """Wall and CPU seconds per call of ``calls`` calls of ``run``, device synchronised at the end."""
    wall_start, cpu_start = wall(), cpu()
    for _ in range(calls):
        run()
    synchronize(device)
    return (wall() - wall_start) / calls, (cpu() - cpu_start) / calls


def paired_ratios(
    run: Callable[[], object],
    reference: Callable[[], object],
    device: Device = "cpu",
    *,
    block_seconds: float = BLOCK_SECONDS,
    measure_seconds: float = MEASURE_SECONDS,
    warmup_seconds: float = WARMUP_SECONDS,
    min_pairs: int = 20,
    wall: Clock = time.perf_counter,
    cpu: Clock = time.process_time,
) -> PairedRatios:
    """Alternate blocks of ``run`` and ``reference`` and return each pair's time ratio on both clocks.

    Each block is sized once, after the warm-up: the calls that fill
    ``block_seconds`` of wall time, one at a time. Within a pair the order
    alternates (layer first, then reference first), so a drift within the
    pair cancels over two pairs. CPU-time ratios of blocks too short for the
    CPU clock's resolution would be noise; the clock reads nanoseconds on
    Linux (``RelativeCpuTime`` skips where it does not).

    Args:
        run: one call of the code under test.
        reference: one call of the fixed reference.
        device: where both run, synchronised at the end of each block.
        block_seconds: target wall time of one block.
        measure_seconds: wall time spent measuring, after ``warmup_seconds``.
        min_pairs: measure at least this many pairs, however long they take.
        wall: the wall clock; it also times the warm-up, the sizing and the measuring.
        cpu: the CPU clock.

    Returns:
        The ratios on both clocks.
    """
    # The first calls may compile (torch.compile) or fill caches: warm-up is timed from after them.
    for _ in range(3):
        run()
        reference()
    synchronize(device)
    deadline = wall() + warmup_seconds
    while wall() < deadline:
        run()
        reference()
    synchronize(device)
    run_calls = _calls_per_block(run, device, block_seconds, wall)
    reference_calls = _calls_per_block(reference, device, block_seconds, wall)
    wall_ratios: list[float] = []
    cpu_ratios: list[float] = []
    deadline = wall() + measure_seconds
    while wall() < deadline or len(wall_ratios) < min_pairs:
        if len(wall_ratios) % 2 == 0:
            run_time = _block(run, device, run_calls, wall, cpu)
            reference_time = _block(reference, device, reference_calls, wall, cpu)
        else:
            reference_time = _block(reference, device, reference_calls, wall, cpu)
            run_time = _block(run, device, run_calls, wall, cpu)
        wall_ratios.append(run_time[0] / reference_time[0])
        cpu_ratios.append(run_time[1] / reference_time[1])
    return PairedRatios(wall_ratios, cpu_ratios)
