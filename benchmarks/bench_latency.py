"""Latency of BNCVL's passes (eval forward, training forward, backward alone, training step) and of their first call.

asv times each ``time_`` method itself; every body ends with the device
synchronised (:func:`benchmarks.timing.synchronize`), so a CUDA time is the work's,
not the launch's. Each ``time_`` method has its own asv ``setup``, run after
:meth:`Latency.setup`, which warms up the pass it times (:func:`benchmarks.timing.warm_up`),
so a timed call never compiles or fills a cache, and the one sample of
``asv run --quick`` is a steady-state call. What a first call costs
(``torch.compile``) is tracked on its own, by :class:`FirstCall`.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from typing import ClassVar

import torch

from benchmarks.common import (
    GRID_DEVICES,
    GRID_DTYPES,
    PARAM_NAMES,
    VARIANT_NAMES,
    Reproducible,
    build_workload,
    check_applicable,
    cold_compile_caches,
    registered_variants,
    resolve_device,
)
from benchmarks.timing import WARM_UP_CALLS, DeviceClock, synchronize, wall_seconds, warm_up

__all__ = ["LATENCY_CLOCK", "FirstCall", "Latency", "Passes", "forget_passes", "passes"]

LATENCY_CLOCK = DeviceClock()
"""``Latency``'s asv ``timer``: CPU time on the CPU, wall time on CUDA (:func:`benchmarks.timing.clock_for`)."""

# asv hashes the source of a benchmark's methods and setups into its version and hides the results of every other
# version: the methods call these two by the names they have always called, so their history stays in view.
select_clock = LATENCY_CLOCK.select
_first_call_seconds = wall_seconds


class Passes:
    """The four timed passes of one combination, on seeded workloads; each method runs one pass.

    The weights stay the seeded ones however often a pass runs: a training
    step computes gradients and applies no optimizer step.
    """

    def __init__(self, variant: str, preset: str, device: str, dtype: str) -> None:
        self.device = resolve_device(device)
        self.eval = build_workload(variant, preset, "eval", device, dtype)
        self.train = build_workload(variant, preset, "train", device, dtype)
        self.output: torch.Tensor | None = None
        self.warmed: set[str] = set()

    def eval_forward(self) -> None:
        self.eval.eval_forward()

    def train_forward(self) -> None:
        self.train.train_forward()

    def backward(self) -> None:
        """Backward alone: a replay of one training forward's graph, kept with ``retain_graph``."""
        assert self.output is not None, "warm('backward') builds the graph backward replays"
        self.output.backward(self.train.grad_output, retain_graph=True)

    def train_step(self) -> None:
        self.train.train_step()

    def _backward_from_no_gradients(self) -> None:
        self.train.zero_grad()
        self.backward()

    def warm(self, name: str) -> None:
        """Run pass ``name`` :data:`WARM_UP_CALLS` times the first time, once on later calls; no gradients left.

        The first time it compiles and fills caches; later (asv's setup of
        the next sample) the one call puts the pass's code and data back in
        the CPU's caches, where the previous sample left them in a full run.
        Every timed backward then starts from no gradients, as a training
        step's does after ``zero_grad``.
        """
        if name == "backward" and self.output is None:
            # The graph replayed is built once the forward is warm (compiled, where it compiles).
            warm_up([self.train_forward], self.device)
            self.output = self.train.train_forward()
        run = self._backward_from_no_gradients if name == "backward" else getattr(self, name)
        warm_up([run], self.device, 1 if name in self.warmed else WARM_UP_CALLS)
        self.warmed.add(name)
        self.train.zero_grad()


@functools.cache
def _passes(layer: type, variant: str, preset: str, device: str, dtype: str) -> Passes:
    return Passes(variant, preset, device, dtype)


def passes(variant: str, preset: str, device: str, dtype: str) -> Passes:
    """The :class:`Passes` of one combination, built once per process and kept.

    asv runs ``setup`` again before every sample of a benchmark (and before
    every call of its warm-up): building the workloads there made each
    sample a layer's first call (``cached`` filling its weight cache,
    ``cuda_graph`` capturing its graph). Kept per registered class, so a
    registry changed in this process (tests do) is never served an old layer.

    Raises:
        NotImplementedError: ``variant`` is not registered at this commit, or refuses this device or dtype.
    """
    return _passes(registered_variants().get(variant, type(None)), variant, preset, device, dtype)


def forget_passes() -> None:
    """Drop every kept :class:`Passes`, so that the next setup builds and warms up anew."""
    _passes.cache_clear()


def _warm(name: str) -> Callable[[str, str, str, str], None]:
    """The asv ``setup`` of ``time_<name>``, run after :meth:`Latency.setup`: :meth:`Passes.warm` of that pass.

    Per method because the pass run last before a timed call matters: on the
    tiny preset, an eval forward timed once right after every pass's warm-up
    read 1.6-1.9x a full run's median, where each sample follows the same
    pass; after its own pass's, 1.4x (docs/measurements/2026-12-03-steady-state.md).
    """

    def setup(variant: str, preset: str, device: str, dtype: str) -> None:
        passes(variant, preset, device, dtype).warm(name)

    return setup


class Latency:
    """Seconds per pass of each variant, preset, device and dtype.

    Clock: asv's own loop reads :data:`LATENCY_CLOCK`, which ``setup`` sets to
    this process's CPU time (``time.process_time``) on the CPU and the wall
    clock (``time.perf_counter``) on CUDA; each timed body ends with the
    device synchronised.
    """

    params: ClassVar[list[list[str]]] = [VARIANT_NAMES, ["tiny", "small", "medium", "large"], GRID_DEVICES, GRID_DTYPES]
    param_names: ClassVar[list[str]] = PARAM_NAMES
    # Each combination runs in one process and takes its samples there: a
    # second round would double the run for little gain in a noisy box.
    rounds = 1
    repeat = (5, 20, 3.0)
    # asv (asv_runner 0.3) runs setup before every call of a benchmark that has
    # one, so each sample is one call whatever sample_time says; kept for an asv
    # that batches calls: on a shared machine, short samples catch other
    # processes' bursts whole.
    sample_time = 0.05
    # The per-method setups warm the pass up (Passes.warm); asv's warm-up only drops its
    # first samples, which follow asv's own set-up code and read high on a 0.1 ms pass.
    warmup_time = 0.05
    timeout = 120
    timer = LATENCY_CLOCK

    def setup(self, variant: str, preset: str, device: str, dtype: str) -> None:
        check_applicable(preset, device, dtype)
        select_clock(device)
        self.reproducible = Reproducible()
        self.passes = passes(variant, preset, device, dtype)
        self.device = self.passes.device

    def teardown(self, variant: str, preset: str, device: str, dtype: str) -> None:
        # asv calls teardown after a skipped setup too.
        if hasattr(self, "reproducible"):
            self.reproducible.close()

    def time_eval_forward(self, variant: str, preset: str, device: str, dtype: str) -> None:
        self.passes.eval_forward()
        synchronize(self.device)

    time_eval_forward.setup = _warm("eval_forward")

    def time_train_forward(self, variant: str, preset: str, device: str, dtype: str) -> None:
        self.passes.train_forward()
        synchronize(self.device)

    time_train_forward.setup = _warm("train_forward")

    def time_backward(self, variant: str, preset: str, device: str, dtype: str) -> None:
        self.passes.backward()
        synchronize(self.device)

    time_backward.setup = _warm("backward")

    def time_train_step(self, variant: str, preset: str, device: str, dtype: str) -> None:
        self.passes.train_step()
        synchronize(self.device)

    time_train_step.setup = _warm("train_step")


class FirstCall:
    """Wall seconds of a variant's first eval forward and first training step: what a user waits for once.

    For ``fused`` and ``fast`` this is ``torch.compile``'s cold compile
    (dynamo's trace, inductor's code generation and the C++ or Triton
    compiler), for the other variants the first call's allocations and
    lazy initialisation. Each figure is one call in asv's own fresh
    process for that benchmark. Clock: the wall clock
    (``time.perf_counter``, :func:`benchmarks.timing.wall_seconds`), the
    device synchronised before and after; the C++ compiler runs in other
    processes, which this process's CPU time does not see. asv's forkserver has already imported the
    compiler (:mod:`benchmarks.common`), so the import of ``torch._dynamo``
    and ``torch._inductor`` (seconds, once per process) is not in it.

    Cold, not warm: inductor keeps compiled kernels on disk for every later
    process of the same user (/tmp/torchinductor_$USER), so a second run
    of the same code compiles in a fraction of the time, and which of the
    two a figure shows would depend on what ran before on the machine.
    Each measurement gets a fresh, private, empty cache folder instead
    (:func:`benchmarks.common.cold_compile_caches`): the cost of a first
    run on a new machine, the same at every commit.

    Only the tiny preset: the compile works per graph, not per element,
    and the tiny preset's pass itself takes under a millisecond, so the
    figure is nearly all first-call cost.
    """

    params: ClassVar[list[list[str]]] = [VARIANT_NAMES, ["tiny"], GRID_DEVICES, GRID_DTYPES]
    param_names: ClassVar[list[str]] = PARAM_NAMES
    timeout = 300  # a cold compile takes 4-6 s here alone, much longer on a loaded machine

    def setup(self, variant: str, preset: str, device: str, dtype: str) -> None:
        check_applicable(preset, device, dtype)
        self.device = resolve_device(device)
        self.context = contextlib.ExitStack()
        self.context.callback(Reproducible().close)
        self.eval = build_workload(variant, preset, "eval", device, dtype)
        self.train = build_workload(variant, preset, "train", device, dtype)
        self.context.enter_context(cold_compile_caches())

    def teardown(self, variant: str, preset: str, device: str, dtype: str) -> None:
        if hasattr(self, "context"):
            self.context.close()

    def track_first_eval_forward_seconds(self, variant: str, preset: str, device: str, dtype: str) -> float:
        return _first_call_seconds(self.eval.eval_forward, self.device)

    track_first_eval_forward_seconds.unit = "seconds"

    def track_first_train_step_seconds(self, variant: str, preset: str, device: str, dtype: str) -> float:
        return _first_call_seconds(self.train.train_step, self.device)

    track_first_train_step_seconds.unit = "seconds"
