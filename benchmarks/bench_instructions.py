"""Instructions per call of the eval forward and the training step, counted under callgrind.

The counts come from one valgrind process per commit (``setup_cache``, see
:mod:`benchmarks.callgrind`), so torch's import under valgrind is paid once,
not once per combination. Each value is the median of
:data:`benchmarks.callgrind.REPEATS` counts of
:data:`benchmarks.callgrind.NUMBER` calls. Only the CPU and the tiny preset
are counted: valgrind runs the code about 50 times slower, and a count does
not need a big shape to be exact.
"""

from __future__ import annotations

import statistics
from typing import ClassVar

from benchmarks.callgrind import count_instructions, valgrind_missing
from benchmarks.common import PARAM_NAMES, VARIANT_NAMES, check_applicable

__all__ = ["Instructions"]

PRESETS = ["tiny"]
NOT_COUNTED = {
    name: "torch.compile under valgrind took about 7 minutes for the two compiled variants (measured here), "
    "too long for a check; their regressions are gated by relative timing (bench_relative)"
    for name in ("fused", "fast")
}
"""Variants whose kernels torch.compile generates: not run under valgrind."""


class Instructions:
    """User-space instructions per call (CPU, float32, one torch thread, AVX2 kernels)."""

    params: ClassVar[list[list[str]]] = [VARIANT_NAMES, PRESETS, ["cpu"], ["float32"]]
    param_names: ClassVar[list[str]] = PARAM_NAMES
    unit = "instructions"
    rounds = 1
    # torch's import and every variant's set-up under valgrind: about 2 minutes here.
    timeout = 1200

    def setup_cache(self) -> dict:
        missing = valgrind_missing()
        if missing:
            return {"skip": missing}
        jobs = [(variant, preset) for variant in VARIANT_NAMES if variant not in NOT_COUNTED for preset in PRESETS]
        return {"counts": count_instructions(jobs)}

    def setup(self, cache: dict, variant: str, preset: str, device: str, dtype: str) -> None:
        check_applicable(preset, device, dtype)
        if variant in NOT_COUNTED:
            raise NotImplementedError(NOT_COUNTED[variant])
        if "skip" in cache:
            raise NotImplementedError(cache["skip"])
        entry = cache["counts"][(variant, preset)]
        if isinstance(entry, str):
            raise NotImplementedError(entry)
        self.counts = entry

    def track_eval_forward(self, cache: dict, variant: str, preset: str, device: str, dtype: str) -> float:
        return statistics.median(self.counts["eval_forward"])

    def track_train_step(self, cache: dict, variant: str, preset: str, device: str, dtype: str) -> float:
        return statistics.median(self.counts["train_step"])
