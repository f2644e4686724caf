"""Parameters, skip rules and seeded workloads shared by the asv suite.

Importing this module imports torch and the bncvl under test, but builds no
tensor. asv's forkserver (see asv.conf.json) imports the suite once and
forks one process per parameter combination, so torch's import (about 3 s
on a 2-core machine) is paid once per run, not once per combination.

The suite must import against every commit it is run on, so this module
imports only what bncvl's first commit already had (presets, timing,
variants, workload); younger helpers go through :func:`require`.
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import time
from collections.abc import Callable
from typing import Any

import torch

from bncvl import variants as _variants
from bncvl.presets import Shape, get_preset
from bncvl.timing import reproducible, resolve_device
from bncvl.workload import Mode, Workload, make_workload, parse_dtype

__all__ = [
    "CPU_DTYPE",
    "CPU_SKIPPED_PRESETS",
    "DEVICES",
    "DTYPES",
    "PARAM_NAMES",
    "QUICK_REGEX",
    "VARIANT_NAMES",
    "Reproducible",
    "build_workload",
    "cached_entry",
    "check_applicable",
    "check_variant_coverage",
    "latency_clock",
    "measure_each",
    "registered_variants",
    "require",
    "select_clock",
]

VARIANT_NAMES = ["reference", "cached", "fused", "channels_last", "half", "cuda_graph", "fast", "conv_limit"]
"""Every implementation the suite measures: ``bncvl.VARIANTS`` plus the bare-conv
limit (``bncvl.variants.BASELINES``). A name missing at the commit being
benchmarked is skipped there; a registered name missing here fails the import."""

PARAM_NAMES = ["variant", "preset", "device", "dtype"]
DEVICES = ["cpu", "cuda"]
DTYPES = ["float32", "float16", "bfloat16"]

CPU_DTYPE = "float32"
"""The CPU is measured in float32 only: BNCVL's half-precision variants target
CUDA, and torch's CPU half-precision convolutions are slow fallback kernels,
so their times would measure torch's CPU backend, not the layer."""

CPU_SKIPPED_PRESETS = {
    "large": "the compute-bound 'large' preset takes about 4 s per training step on one CPU thread, "
    "too long for the suite's 10-minute budget; 'medium' is already compute-bound on the CPU",
}

QUICK_REGEX = "'tiny', 'cpu', 'float32'"
"""``asv run -b`` pattern of the quick subset: every layer benchmark on the tiny
preset, CPU, float32. asv matches ``-b`` against ``name(param, ...)``, so the
other combinations are not even started."""


def registered_variants() -> dict[str, object]:
    """Every name the bncvl under test can build: its VARIANTS and, where it has them, its BASELINES."""
    return {**_variants.VARIANTS, **getattr(_variants, "BASELINES", {})}


def check_variant_coverage(names: list[str] = VARIANT_NAMES) -> None:
    """Raise ``ImportError`` if a variant registered in bncvl is not among ``names``.

    Without this, a new variant would silently go unbenchmarked.
    """
    missing = sorted(set(registered_variants()) - set(names))
    if missing:
        raise ImportError(
            f"bncvl registers {missing}, which benchmarks/common.py VARIANT_NAMES lacks; "
            f"add them there (it has {names})"
        )


check_variant_coverage()


def require(module: str, name: str) -> Any:
    """``module.name`` of the bncvl under test, for helpers younger than the oldest commits benchmarked.

    The suite must import against every commit it runs on, so such helpers
    are looked up when a benchmark runs, not imported at the top.

    Raises:
        NotImplementedError: the commit under test does not have it (asv records a skip).
    """
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        raise NotImplementedError(f"{module}.{name} does not exist at this commit") from None


def check_applicable(preset: str, device: str, dtype: str) -> None:
    """Raise ``NotImplementedError`` (asv's skip) when this combination cannot run on this machine.

    Raises:
        NotImplementedError: the device is absent, or the dtype or preset is not measured on it.
        ValueError: ``preset``, ``device`` or ``dtype`` is not one of the suite's values.
    """
    get_preset(preset)
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; expected one of {DEVICES}")
    parse_dtype(dtype)
    if device == "cpu":
        if dtype != CPU_DTYPE:
            raise NotImplementedError(f"the CPU is measured in {CPU_DTYPE} only (see benchmarks.common.CPU_DTYPE)")
        if preset in CPU_SKIPPED_PRESETS:
            raise NotImplementedError(f"preset {preset!r} is not run on the CPU: {CPU_SKIPPED_PRESETS[preset]}")
    else:
        try:
            resolve_device(device)
        except RuntimeError as absent:
            raise NotImplementedError(str(absent)) from None


def build_workload(variant: str, preset: str | Shape, mode: Mode, device: str, dtype: str) -> Workload:
    """The seeded workload of ``variant`` on ``preset`` (a name or a :class:`Shape`).

    Raises:
        NotImplementedError: ``variant`` does not exist at the commit under
            test, or the variant itself refuses this device or dtype.
    """
    known = registered_variants()
    if variant not in known:
        raise NotImplementedError(f"variant {variant!r} is not registered at this commit (it has {sorted(known)})")
    shape = get_preset(preset) if isinstance(preset, str) else preset
    return make_workload(variant, shape, mode, device, parse_dtype(dtype))


_clock: Callable[[], float] = time.perf_counter


def select_clock(device: str) -> None:
    """Make :func:`latency_clock` read the clock that suits ``device``; called from ``setup``.

    On the CPU the suite times this process's CPU time. With one intra-op
    thread (``bncvl.timing.DEFAULT_THREADS``) that equals the wall time on an
    idle machine, and it leaves out the time other processes hold the core:
    on a shared 2-core machine wall-clock samples of one process shifted
    together by up to 10x under load, which asv's significance test then took
    for a regression. On CUDA the work runs on the device, so wall time
    (with the device synchronised in the timed body) is the only honest clock.
    """
    global _clock
    _clock = time.process_time if device == "cpu" else time.perf_counter


def latency_clock() -> float:
    """asv's ``timer`` for the latency benchmarks: the clock :func:`select_clock` chose."""
    return _clock()


class Reproducible:
    """``bncvl.timing.reproducible`` held open from ``setup`` to ``teardown``: fixed seed and thread count."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(reproducible())

    def close(self) -> None:
        self._stack.close()


Key = tuple[str, str, str, str]


def measure_each(params: list[list[str]], measure: Callable[[str, str, str, str], dict[str, float]]) -> dict:
    """``measure(variant, preset, device, dtype)`` for every combination, for a ``setup_cache``.

    A combination that cannot run maps to its skip reason (a ``str``); see :func:`cached_entry`.
    """
    results: dict[Key, dict[str, float] | str] = {}
    for key in itertools.product(*params):
        try:
            check_applicable(*key[1:])
            with reproducible():
                results[key] = measure(*key)
        except NotImplementedError as reason:
            results[key] = str(reason)
    return results


def cached_entry(cache: dict, variant: str, preset: str, device: str, dtype: str) -> dict[str, float]:
    """The measured figures of one combination from :func:`measure_each`'s result.

    Raises:
        NotImplementedError: the combination was skipped; the message is why.
    """
    entry = cache[(variant, preset, device, dtype)]
    if isinstance(entry, str):
        raise NotImplementedError(entry)
    return entry


def free_device_memory(device: str) -> None:
    """Return cached CUDA blocks between measurements (a no-op on the CPU)."""
    if device == "cuda":
        torch.cuda.empty_cache()
