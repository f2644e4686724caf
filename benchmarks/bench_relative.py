"""Relative latency: each pass timed against a fixed reference in the same process, in alternating blocks.

Two processes of the same code on a shared 2-core VM differ in absolute
time by up to 1.6x (CPU frequency, the other core's tenant, cache and
memory-bandwidth contention). Within one process, a millisecond block of the
layer and a millisecond block of a fixed reference run under almost the same
conditions, so their ratio cancels most of that drift. The reference is the
bare ``F.conv2d`` of the same shape from the pinned torch, built from the
shape alone, so it is the same code at every commit: the ratio moves only
when the layer's own work moves.

Each method returns the median of its process's paired ratios as one asv
sample (``{"samples": [...], "number": 1}``, asv's timing-result form), so
``asv run -a rounds=7`` gives seven processes, seven samples per commit, and
asv's statistics (median, quartiles) are over processes, the independent
unit. (asv reads a ``rounds`` attribute from ``time_`` benchmarks only; a
plain ``asv run`` gives one process per commit, which the dashboard marks
low-confidence.) ``bncvl check`` and the dashboard test these per-process
values (:func:`bncvl.track.decision.compare_processes`), not the pairs
within a process.

Both clocks are kept: CPU time ignores other processes' use of the core;
wall time also sees a pass that waits (a sleep, a lock, I/O), which CPU time
cannot. Both are read from the same blocks
(:func:`benchmarks.timing.paired_ratios`): under asv each benchmark runs in
a process of its own and keeps one clock; ``bncvl check`` measures a
commit's whole selection in one process per round (:func:`measure_together`),
each pass once, and keeps both.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import ClassVar

import torch
import torch.nn.functional as F

from benchmarks.common import (
    GRID_DEVICES,
    GRID_DTYPES,
    PARAM_NAMES,
    VARIANT_NAMES,
    Reproducible,
    build_workload,
    check_applicable,
    get_preset,
    resolve_device,
)
from benchmarks.timing import PairedRatios, paired_ratios

__all__ = ["RelativeCpuTime", "RelativeWallTime", "bare_conv", "measure_together"]


def bare_conv(preset: str, mode: str, device: torch.device, dtype: torch.dtype) -> Callable[[], object]:
    """The fixed reference of ``mode``: ``F.conv2d`` of ``preset``'s shape ("same" padding), seeded.

    ``"eval"``: the forward under inference mode. ``"train"``: forward and
    backward through autograd with gradients for the input, weight and bias,
    so the reference allocates and frees as a training step does.
    """
    shape = get_preset(preset)
    generator = torch.Generator().manual_seed(1)
    k = shape.kernel_size

    def tensor(*size: int) -> torch.Tensor:
        return torch.randn(size, generator=generator).to(device=device, dtype=dtype)

    x, weight, bias = (
        tensor(*shape.input_shape),
        tensor(shape.out_channels, shape.in_channels, k, k),
        tensor(shape.out_channels),
    )
    if mode == "eval":

        def forward() -> torch.Tensor:
            with torch.inference_mode():
                return F.conv2d(x, weight, bias, padding=k // 2)

        return forward
    if mode != "train":
        raise ValueError(f"mode must be 'eval' or 'train'; got {mode!r}")
    for leaf in (x, weight, bias):
        leaf.requires_grad_(True)
    grad_output = tensor(shape.batch, shape.out_channels, shape.size, shape.size)

    def step() -> None:
        for leaf in (x, weight, bias):
            leaf.grad = None
        F.conv2d(x, weight, bias, padding=k // 2).backward(grad_output)

    return step


PASSES = {"track_eval_forward": "eval", "track_train_step": "train"}
"""Each benchmark method and the mode of the pass it times (the reference of that mode is its denominator)."""


class _Relative:
    """Per-process median of (pass time / bare-conv time) on the clock ``clock``."""

    params: ClassVar[list[list[str]]] = [VARIANT_NAMES, ["tiny", "medium"], GRID_DEVICES, GRID_DTYPES]
    param_names: ClassVar[list[str]] = PARAM_NAMES
    unit = "time ratio"
    timeout = 120
    clock = "wall"

    def setup(self, variant: str, preset: str, device: str, dtype: str) -> None:
        check_applicable(preset, device, dtype)
        self.device = resolve_device(device)
        self.reproducible = Reproducible()
        self.eval = build_workload(variant, preset, "eval", device, dtype)
        self.train = build_workload(variant, preset, "train", device, dtype)
        dtype_ = self.eval.x.dtype
        self.references = {mode: bare_conv(preset, mode, self.device, dtype_) for mode in ("eval", "train")}

    def teardown(self, variant: str, preset: str, device: str, dtype: str) -> None:
        if hasattr(self, "reproducible"):
            self.reproducible.close()

    def paired(self, run: Callable[[], object], mode: str) -> PairedRatios:
        """The paired ratios, on both clocks, of ``run`` against the reference of ``mode`` (a value of
        :data:`PASSES`)."""
        return paired_ratios(run, self.references[mode], self.device)

    # asv hashes the source of each method and setup into the benchmark's version and hides the results of every
    # other version: the methods and RelativeCpuTime.setup keep the source they have had since the relative timings
    # began, so the history stays in view (bncvl.track.suite.VERSIONS and its test guard it).
    def _ratio(self, run: Callable[[], object], mode: str) -> dict[str, object]:
        return {"samples": [self.paired(run, mode).median(self.clock)], "number": 1}

    def track_eval_forward(self, variant: str, preset: str, device: str, dtype: str) -> dict[str, object]:
        return self._ratio(self.eval.eval_forward, "eval")

    def track_train_step(self, variant: str, preset: str, device: str, dtype: str) -> dict[str, object]:
        return self._ratio(self.train.train_step, "train")


class RelativeWallTime(_Relative):
    """Wall-clock ratio (``time.perf_counter``): also sees a pass that waits (sleep, lock, I/O, a device sync)."""

    clock = "wall"


class RelativeCpuTime(_Relative):
    """CPU-time ratio (this process's ``time.process_time``): blind to waits, and to other processes holding the
    core."""

    clock = "cpu"

    def setup(self, variant: str, preset: str, device: str, dtype: str) -> None:
        if device != "cpu":
            raise NotImplementedError("CPU time does not measure work on the GPU; see RelativeWallTime")
        resolution = time.get_clock_info("process_time").resolution
        if resolution > 1e-6:
            raise NotImplementedError(f"this platform's CPU clock ticks every {resolution} s; 1 µs or finer needed")
        super().setup(variant, preset, device, dtype)


CLASSES = {cls.__name__: cls for cls in (RelativeWallTime, RelativeCpuTime)}


def measure_together(params: Sequence[str], wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], float | str]:
    """The ``wanted`` relative timings of one parameter combination, measured in this process together.

    Each pass is measured once, with its own warm-up, and its median ratio is
    read on every clock wanted: the value of ``RelativeWallTime`` and of
    ``RelativeCpuTime`` for a pass come from the same blocks, as the
    per-process values of one process. ``bncvl check`` calls this in one
    process per round and commit for every combination it selected.

    Args:
        params: ``(variant, preset, device, dtype)``.
        wanted: ``(class name, method)`` pairs, e.g. ``("RelativeCpuTime", "track_eval_forward")``.

    Returns:
        ``{(class name, method): value}``, or the skip reason (a ``str``) where the benchmark cannot run here.

    Raises:
        ValueError: an unknown class or method. Any error of the measurement itself propagates.
    """
    wanted = list(dict.fromkeys(wanted))
    for name, method in wanted:
        if name not in CLASSES or method not in PASSES:
            raise ValueError(f"no relative timing {name}.{method}; expected {sorted(CLASSES)} x {sorted(PASSES)}")
    values: dict[tuple[str, str], float | str] = {}
    # One subject measures every pass wanted. RelativeCpuTime's setup also refuses a device or platform its clock
    # cannot time: then the CPU-clock values are that reason, and a RelativeWallTime measures the rest.
    subject: _Relative | None = None
    for cls in (RelativeCpuTime, RelativeWallTime):
        keys = [key for key in wanted if key not in values and (cls is RelativeWallTime or CLASSES[key[0]] is cls)]
        if subject is not None or not keys:
            continue
        candidate = cls()
        try:
            candidate.setup(*params)
        except NotImplementedError as reason:
            candidate.teardown(*params)  # a setup may refuse after it entered Reproducible
            values.update(dict.fromkeys(keys, str(reason)))
        else:
            subject = candidate
    if subject is None:
        return values
    to_measure = [key for key in wanted if key not in values]
    try:
        runs = {"eval": subject.eval.eval_forward, "train": subject.train.train_step}
        modes = {PASSES[method] for _, method in to_measure}
        ratios = {mode: subject.paired(runs[mode], mode) for mode in PASSES.values() if mode in modes}
    finally:
        subject.teardown(*params)
    for name, method in to_measure:
        values[name, method] = ratios[PASSES[method]].median(CLASSES[name].clock)
    return values
