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
from collections.abc import Iterable, Sequence
from typing import ClassVar

from benchmarks.callgrind import count_instructions, valgrind_missing
from benchmarks.common import PARAM_NAMES, VARIANT_NAMES, check_applicable, values_from_cache

__all__ = ["Instructions", "count_selected", "values_of"]

PRESETS = ["tiny"]
NOT_COUNTED = {
    name: "torch.compile under valgrind took about 7 minutes for the two compiled variants (measured here), "
    "too long for a check; their regressions are gated by relative timing (bench_relative)"
    for name in ("fused", "fast")
}
"""Variants whose kernels torch.compile generates: not run under valgrind."""


class Instructions:
    """User-space instructions per call (CPU, float32, one torch thread, AVX2 kernels).

    Clock: none; callgrind's instruction counts.
    """

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


def count_selected(combos: Iterable[Sequence[str]]) -> dict:
    """``Instructions``' ``setup_cache`` for the combinations ``combos`` only, as JSON-able data.

    ``bncvl check`` counts what it selected (the default: the reference
    variant alone), in one valgrind process per commit, and keeps the result
    to reuse for a commit whose code it counted before (see :func:`values_of`).

    Returns:
        ``{"skip": reason}`` without valgrind, else ``{"counts": [[variant, preset, counts or reason], ...]}``.
    """
    missing = valgrind_missing()
    if missing:
        return {"skip": missing}
    jobs = sorted({(variant, preset) for variant, preset, *_ in combos if variant not in NOT_COUNTED})
    counted = count_instructions(jobs) if jobs else {}
    return {"counts": [[variant, preset, entry] for (variant, preset), entry in counted.items()]}


def values_of(counted: dict, params: Sequence[str], methods: Iterable[str]) -> dict[str, float | str]:
    """The ``methods`` (``track_eval_forward``...) of the combination ``params`` from :func:`count_selected`'s data,
    read as ``Instructions`` reads its ``setup_cache``.

    Returns:
        ``{method: instructions per call}``, or the skip reason (a ``str``) where the combination was not counted.
    """
    cache = dict(counted)
    if "counts" in cache:
        cache["counts"] = {(variant, preset): entry for variant, preset, entry in cache["counts"]}
    return values_from_cache(Instructions(), cache, params, methods)
