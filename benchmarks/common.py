"""Parameters, skip rules and seeded workloads shared by the asv suite (its clocks and loops: :mod:`benchmarks.timing`).

Importing this module imports torch and the bncvl under test, but builds no
tensor. asv's forkserver (see asv.conf.json) imports the suite once and
forks one process per parameter combination, so torch's import (about 3 s
on a 2-core machine) is paid once per run, not once per combination.

The suite must import against every commit it is run on, and bncvl's
modules moved (``bncvl.timing`` became ``bncvl.measure.timer``...), so the
suite reaches bncvl only through :func:`bncvl_module`, which knows both
places, and re-exports from here what the benchmark modules need. What
bncvl's first commit already had (presets, the timer module's seed, thread and
device helpers, variants, workload, quantize) is imported at the top; younger
helpers go through :func:`require`. Nothing the suite times with comes from
bncvl (see :mod:`benchmarks.timing`).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib
import itertools
import platform
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import ModuleType
from typing import Any

import torch

from benchmarks.compiler import load_compiler

BNCVL_MODULES: dict[str, tuple[str, ...]] = {
    "functional": ("bncvl.layers.functional", "bncvl.quantize"),
    "memory": ("bncvl.measure.memory", "bncvl.memory"),
    "nvml": ("bncvl.measure.nvml", "bncvl.nvml"),
    "presets": ("bncvl.measure.presets", "bncvl.presets"),
    "registry": ("bncvl.layers.registry", "bncvl.variants"),
    "results": ("bncvl.track.results", "bncvl.results"),
    "synthetic": ("bncvl.testing.results", "bncvl.testing.synthetic", "bncvl.synthetic"),
    "timer": ("bncvl.measure.timer", "bncvl.timing"),
    "workload": ("bncvl.measure.workload", "bncvl.workload"),
}
"""The bncvl modules the suite uses: its name here -> where this tree keeps it, then where older commits did."""


def bncvl_module(name: str) -> ModuleType:
    """The module ``name`` (a key of :data:`BNCVL_MODULES`) of the bncvl under test, wherever that commit keeps it.

    Raises:
        ModuleNotFoundError: the commit has it in none of its places.
        ImportError: the module exists but fails to import (a real error, never taken for "absent").
    """
    places = BNCVL_MODULES[name]
    for place in places:
        try:
            return importlib.import_module(place)
        except ModuleNotFoundError as error:
            if error.name is None or not (place == error.name or place.startswith(f"{error.name}.")):
                raise
    raise ModuleNotFoundError(f"bncvl has no {name!r} module at this commit (looked for {', '.join(places)})")


_variants = bncvl_module("registry")
Shape = bncvl_module("presets").Shape
get_preset = bncvl_module("presets").get_preset
reproducible = bncvl_module("timer").reproducible
resolve_device = bncvl_module("timer").resolve_device
Mode = bncvl_module("workload").Mode
Workload = bncvl_module("workload").Workload
make_workload = bncvl_module("workload").make_workload
parse_dtype = bncvl_module("workload").parse_dtype
packed_storage_bytes = bncvl_module("functional").packed_storage_bytes

__all__ = [
    "CPU_DTYPE",
    "CPU_SKIPPED_PRESETS",
    "DEVICES",
    "DTYPES",
    "GRID_DEVICES",
    "GRID_DTYPES",
    "PARAM_NAMES",
    "QUICK_REGEX",
    "VARIANT_NAMES",
    "Reproducible",
    "build_workload",
    "cached_entry",
    "check_applicable",
    "check_variant_coverage",
    "cold_compile_caches",
    "keep_freed_memory",
    "measure_each",
    "registered_variants",
    "require",
    "values_from_cache",
]

VARIANT_NAMES = ["reference", "cached", "fused", "channels_last", "half", "cuda_graph", "fast", "conv_limit"]
"""Every implementation the suite measures: ``bncvl.VARIANTS`` plus the bare-conv
limit (``BASELINES`` of :mod:`bncvl.layers.registry`). A name missing at the commit being
benchmarked is skipped there; a registered name missing here fails the import."""

PARAM_NAMES = ["variant", "preset", "device", "dtype"]
DEVICES = ["cpu", "cuda"]
DTYPES = ["float32", "float16", "bfloat16"]

CPU_DTYPE = "float32"
"""The CPU is measured in float32 only: BNCVL's half-precision variants target
CUDA, and torch's CPU half-precision convolutions are slow fallback kernels,
so their times would measure torch's CPU backend, not the layer."""

GRID_DEVICES = DEVICES if torch.version.cuda else ["cpu"]
GRID_DTYPES = DTYPES if torch.version.cuda else [CPU_DTYPE]
"""The devices and dtypes in the layer benchmarks' ``params``: all of them with
a CUDA build of torch, only the CPU's with a CPU-only build, which can never
run the others. asv runs every combination in its own process, a skipped one
included (about 40 ms each on a 2-core machine): listing the 3 dtypes on both
devices made 9 in 10 of a CPU run's combinations skips, a third of a quick
run. Decided from the build, not by probing the GPU: a probe in asv's
forkserver parent would initialise the CUDA driver before the fork. On a CUDA
build without a usable GPU, the CUDA combinations skip with the reason. The
``GPU`` benchmarks always list ``cuda``, so they skip with a reason on a CPU."""

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
    """``name`` from bncvl's module ``module`` (see :func:`bncvl_module`), for helpers younger than the oldest commits.

    The suite must import against every commit it runs on, so such helpers
    are looked up when a benchmark runs, not imported at the top.

    Raises:
        NotImplementedError: the commit under test does not have it (asv records a skip).
    """
    try:
        return getattr(bncvl_module(module), name)
    except (ModuleNotFoundError, AttributeError):
        raise NotImplementedError(f"bncvl's {module}.{name} does not exist at this commit") from None


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


@functools.cache
def keep_freed_memory() -> None:
    """Make glibc's malloc reuse freed memory instead of unmapping it (no-op on other C libraries).

    The suite's own copy of ``keep_freed_memory`` of :mod:`bncvl.measure.timer` (whose
    docstring has the measurements): commits older than that function must be
    measured with the same allocator, or the history would show a step that
    no code change made.
    """
    if platform.libc_ver()[0] == "glibc":
        libc = ctypes.CDLL(None)
        if not (libc.mallopt(-4, 0) and libc.mallopt(-1, 2**31 - 1)):  # M_MMAP_MAX, M_TRIM_THRESHOLD
            raise RuntimeError("glibc mallopt refused M_MMAP_MAX=0 / M_TRIM_THRESHOLD=2**31-1")


def _import_compiler_in_forkserver() -> None:
    """Load torch's compiler stack in asv's forkserver (:func:`benchmarks.compiler.load_compiler`), so that forked
    children inherit it. The server is the process asv starts as ``benchmark.py run_server``; discovery and the
    spawn launcher keep the suite's import fast."""
    if sys.argv[1:2] == ["run_server"]:
        load_compiler()


_import_compiler_in_forkserver()


class Reproducible:
    """``reproducible`` (:mod:`bncvl.measure.timer`) held open from ``setup`` to ``teardown``: seed and threads.

    Also :func:`keep_freed_memory`, whatever the commit under test.
    """

    def __init__(self) -> None:
        keep_freed_memory()
        self._stack = contextlib.ExitStack()
        self._stack.enter_context(reproducible())

    def close(self) -> None:
        self._stack.close()


Key = tuple[str, str, str, str]


def measure_each(params: list[list[str]], measure: Callable[[str, str, str, str], dict[str, float]]) -> dict:
    """``measure(variant, preset, device, dtype)`` for every combination, for a ``setup_cache``.

    A combination that cannot run maps to its skip reason (a ``str``); see :func:`cached_entry`.

    Each combination starts with dynamo's state reset: a process that has
    compiled a kernel for one shape recompiles it for the next as a
    shape-generic (dynamic) kernel, which is not the kernel a process of one
    shape (``Latency``'s) runs.
    """
    results: dict[Key, dict[str, float] | str] = {}
    for key in itertools.product(*params):
        if "torch._dynamo" in sys.modules:  # something may have compiled: forget its shapes
            torch._dynamo.reset()
        try:
            check_applicable(*key[1:])
            keep_freed_memory()
            with reproducible():
                results[key] = measure(*key)
        except NotImplementedError as reason:
            results[key] = str(reason)
    return results


def values_from_cache(benchmark: Any, cache: dict, params: Sequence[str], methods: Iterable[str]) -> dict:
    """What asv would record for ``methods`` of ``benchmark`` (an instance of a suite class) on the one combination
    ``params``, given its ``setup_cache`` data ``cache``: ``setup``, then each method; or, for every method, the
    reason ``setup`` skipped the combination (a ``str``)."""
    try:
        benchmark.setup(cache, *params)
    except NotImplementedError as reason:
        return dict.fromkeys(methods, str(reason))
    return {method: getattr(benchmark, method)(cache, *params) for method in methods}


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


@contextlib.contextmanager
def cold_compile_caches() -> Iterator[None]:
    """``torch.compile`` with nothing compiled: dynamo's code dropped, inductor's caches in a fresh private folder.

    Inside the block, a compiled function compiles from scratch, as in a
    user's first run on a new machine: ``torch._dynamo.reset()`` drops what
    this process compiled, and torch's ``fresh_cache`` points inductor's
    on-disk caches (``TORCHINDUCTOR_CACHE_DIR``, shared by every process of
    the user, /tmp/torchinductor_$USER by default) and Triton's
    (``TRITON_CACHE_DIR``) at a new empty folder, clears their in-memory
    copies, and removes the folder on exit.

    Raises:
        NotImplementedError: (asv: skipped) this torch has neither ``fresh_cache`` nor its older name.
    """
    import torch._dynamo
    import torch._inductor.utils

    fresh_cache = getattr(torch._inductor.utils, "fresh_cache", None) or getattr(
        torch._inductor.utils, "fresh_inductor_cache", None
    )
    if fresh_cache is None:
        raise NotImplementedError(f"torch {torch.__version__} has no torch._inductor.utils.fresh_cache")
    torch._dynamo.reset()
    with fresh_cache():
        yield
