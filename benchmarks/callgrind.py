"""Instruction counts of BNCVL's passes under callgrind: one valgrind process per commit.

Counted instructions do not depend on what else the machine runs: the same
code, inputs and environment give the same count within a fraction of a
percent, where two processes' times on a shared 2-core VM differ by up to
1.6x. So a count that moves by more than about 1.5% is a real change of work.

The parent (:func:`count_instructions`, called from a ``setup_cache``) starts
this file as a script (with the ``bncvl`` of asv's environment, not of the
checkout beside the suite) under ``valgrind --tool=callgrind`` with
instrumentation off, so torch's import runs at about 5x slow-down instead of
50x (20 s instead of 76 s here). The child turns instrumentation on with
``callgrind_control`` once torch and the workloads are ready, then collects
each statement between ``torch._C._valgrind_toggle`` (collection on) and
``torch._C._valgrind_toggle_and_dump_stats`` (off, and a dump file per
repeat). It writes a manifest naming what each dump holds; the parent reads
each dump's ``totals:`` line.

Conditions, fixed for every commit: one torch thread, the seed of
``bncvl.measure.timer``, ``ATEN_CPU_CAPABILITY=avx2`` and ``ONEDNN_MAX_CPU_ISA=AVX2``
and ``TORCHINDUCTOR_CPP_MARCH=haswell`` (:data:`ISA_ENV`: valgrind emulates
no AVX-512, and the suite's timed processes are held to the same kernels by
``benchmarks/__init__.py``), ``PYTHONHASHSEED=0``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["ISA_ENV", "NUMBER", "PASSES", "REPEATS", "count_instructions", "import_suite_only", "valgrind_missing"]

PASSES = ("eval_forward", "train_step")
NUMBER = 10
"""Calls per collected statement: the count is per call, Python's loop included."""
REPEATS = 3
"""Collected statements per pass; the count is their median, their spread is kept."""
WARMUP = 3
ISA_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "TORCHINDUCTOR_CPP_MARCH": "haswell"}
"""Forced here (valgrind cannot run AVX-512), and defaulted for the timed suite by ``benchmarks/__init__.py``."""
TIMEOUT = 1200


def valgrind_missing() -> str | None:
    """Why instructions cannot be counted here (a missing tool), or None when they can."""
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            return f"{tool} is not on PATH; install Debian's valgrind package (apt-get install valgrind)"
    return None


def count_instructions(jobs: list[tuple[str, str]], workdir: Path | None = None) -> dict[tuple[str, str], object]:
    """Count the instructions per call of each ``(variant, preset)``'s passes, in one valgrind process.

    Args:
        jobs: the (variant, preset) pairs, each counted on the CPU in float32.
        workdir: where the callgrind dumps go (a temporary folder by default).

    Returns:
        ``{(variant, preset): {"eval_forward": [count, ...], "train_step": [...]}}``
        with :data:`REPEATS` counts per pass, or the reason (a ``str``) when
        the pair cannot be counted at this commit (an unknown variant).

    Raises:
        RuntimeError: valgrind is missing, exits with an error, or leaves a
            dump unreadable; the message has the tail of its output.
    """
    missing = valgrind_missing()
    if missing:
        raise RuntimeError(missing)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        out = Path(tmp)
        (out / "jobs.json").write_text(json.dumps(jobs))
        env = {**os.environ, **ISA_ENV, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}
        command = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            "--collect-atstart=no",
            f"--callgrind-out-file={out}/callgrind.out",
            sys.executable,
            str(Path(__file__).resolve()),
            str(out),
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        manifest = out / "manifest.json"
        if done.returncode != 0 or not manifest.is_file():
            tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
            raise RuntimeError(f"callgrind run failed (exit {done.returncode}): {' '.join(command)}\n{tail}")
        entries = json.loads(manifest.read_text())
        results: dict[tuple[str, str], object] = {}
        for entry in entries:
            key = (entry["variant"], entry["preset"])
            if "skip" in entry:
                results[key] = entry["skip"]
                continue
            results[key] = {
                name: [_totals(out / f"callgrind.out.{dump}") / NUMBER for dump in dumps]
                for name, dumps in entry["dumps"].items()
            }
        return results


def _totals(path: Path) -> int:
    """The instruction total of one callgrind dump (its ``totals:`` line)."""
    try:
        text = path.read_text()
    except OSError as error:
        raise RuntimeError(f"callgrind dump {path} is missing or unreadable: {error}") from None
    for line in text.splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise RuntimeError(f"callgrind dump {path} has no 'totals:' line; is it a callgrind output file?")


def _instrumentation_on() -> None:
    """Ask valgrind, from inside, to start instrumenting this process (``callgrind_control -i on``).

    Callgrind reads such commands only while the client runs code, so this
    process keeps running until ``callgrind_control`` has its answer.
    """
    control = subprocess.Popen(
        ["callgrind_control", "-i", "on", str(os.getpid())], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    while control.poll() is None:
        sum(range(1000))
    output = control.stdout.read().decode(errors="replace") if control.stdout else ""
    if control.returncode != 0 or "OK" not in output:
        raise RuntimeError(f"callgrind_control -i on failed (exit {control.returncode}): {output.strip()}")


def _child(out: Path) -> None:
    import torch

    from benchmarks.common import Reproducible, build_workload

    jobs = json.loads((out / "jobs.json").read_text())
    reproducible = Reproducible()
    plans: list[dict] = []
    workloads = []
    for variant, preset in jobs:
        entry: dict = {"variant": variant, "preset": preset}
        try:
            work = {mode: build_workload(variant, preset, mode, "cpu", "float32") for mode in ("eval", "train")}
        except NotImplementedError as reason:
            entry["skip"] = str(reason)
        else:
            workloads.append(
                (entry, {"eval_forward": work["eval"].eval_forward, "train_step": work["train"].train_step})
            )
            for run in workloads[-1][1].values():
                for _ in range(WARMUP):
                    run()  # compiles (torch.compile) and fills caches before instrumentation starts
        plans.append(entry)
    _instrumentation_on()
    dump = 0
    for entry, runs in workloads:
        entry["dumps"] = {}
        for name, run in runs.items():
            run()  # once more, instrumented: callgrind re-translates the code it had run uninstrumented
            entry["dumps"][name] = []
            for _ in range(REPEATS):
                torch._C._valgrind_toggle()
                for _ in range(NUMBER):
                    run()
                torch._C._valgrind_toggle_and_dump_stats()
                dump += 1
                entry["dumps"][name].append(dump)
    reproducible.close()
    (out / "manifest.json").write_text(json.dumps(plans))


def import_suite_only() -> None:
    """Make ``benchmarks`` importable in a process started as a script of the suite, without its parent on ``sys.path``.

    The suite's parent is usually a checkout of the project, and on ``sys.path``
    it would shadow the ``bncvl`` of the commit under test (first on
    ``PYTHONPATH``, or installed in asv's environment) with the checkout's
    (asv's own runner imports the suite the same way, by name only). The
    scripts are this file's child under valgrind and :mod:`benchmarks.forkserver`.
    """
    suite = Path(__file__).resolve().parent
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != suite]
    spec = importlib.util.spec_from_file_location(
        "benchmarks", suite / "__init__.py", submodule_search_locations=[str(suite)]
    )
    package = importlib.util.module_from_spec(spec)
    sys.modules["benchmarks"] = package
    spec.loader.exec_module(package)


if __name__ == "__main__":
    import_suite_only()
    _child(Path(sys.argv[1]))
