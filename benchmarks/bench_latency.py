"""Latency of BNCVL's passes: eval forward, training forward, backward alone, training step.

asv times each ``time_`` method itself; every body ends with the device
synchronised (``synchronize`` of :mod:`bncvl.measure.timer`), so a CUDA time is the work's,
not the launch's.
"""

from __future__ import annotations

from typing import ClassVar

from benchmarks.common import (
    GRID_DEVICES,
    GRID_DTYPES,
    PARAM_NAMES,
    VARIANT_NAMES,
    Reproducible,
    build_workload,
    check_applicable,
    latency_clock,
    resolve_device,
    select_clock,
    synchronize,
)


class Latency:
    """Seconds per pass of each variant, preset, device and dtype."""

    params: ClassVar[list[list[str]]] = [VARIANT_NAMES, ["tiny", "small", "medium", "large"], GRID_DEVICES, GRID_DTYPES]
    param_names: ClassVar[list[str]] = PARAM_NAMES
    # Each combination runs in one process and takes its samples there: a
    # second round would double the run for little gain in a noisy box.
    rounds = 1
    repeat = (5, 20, 3.0)
    # A sample averages at least 50 ms of calls (asv's default is 10 ms):
    # on a shared machine, short samples catch other processes' bursts whole.
    sample_time = 0.05
    warmup_time = 0.2
    timeout = 120
    # CPU time on the CPU, wall time on CUDA: see benchmarks.common.select_clock.
    timer = staticmethod(latency_clock)

    def setup(self, variant: str, preset: str, device: str, dtype: str) -> None:
        check_applicable(preset, device, dtype)
        self.device = resolve_device(device)
        select_clock(device)
        self.reproducible = Reproducible()
        self.eval = build_workload(variant, preset, "eval", device, dtype)
        self.train = build_workload(variant, preset, "train", device, dtype)
        # time_backward replays this one graph (retain_graph), so it times backward alone.
        self.output = self.train.train_forward()
        synchronize(self.device)

    def teardown(self, variant: str, preset: str, device: str, dtype: str) -> None:
        # asv calls teardown after a skipped setup too.
        if hasattr(self, "reproducible"):
            self.reproducible.close()

    def time_eval_forward(self, variant: str, preset: str, device: str, dtype: str) -> None:
        self.eval.eval_forward()
        synchronize(self.device)

    def time_train_forward(self, variant: str, preset: str, device: str, dtype: str) -> None:
        self.train.train_forward()
        synchronize(self.device)

    def time_backward(self, variant: str, preset: str, device: str, dtype: str) -> None:
        self.output.backward(self.train.grad_output, retain_graph=True)
        synchronize(self.device)

    def time_train_step(self, variant: str, preset: str, device: str, dtype: str) -> None:
        self.train.train_step()
        synchronize(self.device)
