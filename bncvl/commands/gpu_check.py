"""``bncvl gpu-check``: a GPU host's self-check, in one command and one report (``make gpu-check``).

On a CUDA host it runs, each stage in a process of its own under a time
limit, the report written whatever a stage does:

1. the GPU tests (``pytest -m gpu``);
2. NVML sampling (:class:`bncvl.measure.nvml.NvmlSampler`) around a CUDA workload;
3. the GPU slice of the asv suite (:data:`GPU_SLICE`, ``asv run --quick -E existing``) on this checkout's
   commit, with a throwaway ``HOME`` (asv's machine file) and a results directory of its own;
4. a publish of those results into an embedded store, read back.

It writes one Markdown report (default ``docs/measurements/<date>-gpu-self-check-<host>.md``): the machine,
then per stage its outcome, exit code, time and the tail of its output. The limits add up to less than
:data:`BUDGET_S` (8 minutes). On a machine without a CUDA build of torch, a GPU or NVML it stops at once,
exit 2, saying which.

Exit status: 0 every stage passed; 1 some stage failed (the report says which); 2 not a CUDA host, or a usage
error.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bncvl.track.asv import CONF_NAME, find_conf, read_conf

__all__ = [
    "BUDGET_S",
    "GPU_SLICE",
    "Stage",
    "StageResult",
    "configure",
    "gpu_unavailable",
    "main",
    "run_stage",
    "write_report",
]

GPU_SLICE = r"Latency\.time_.*\('(reference|half|cuda_graph)', 'small', 'cuda'"
"""The asv benchmarks of the check: every timed pass of the uncompiled variants on the small preset on CUDA, all
dtypes (36 combinations). The classes whose ``setup_cache`` measures every combination (Memory, Efficiency, GPU:
the compiled variants and the large preset included) would not fit the budget; NVML is stage 2."""
CPU_REHEARSAL_SLICE = r"Latency\.time_eval_forward\('reference', 'tiny', 'cpu'"
TAIL_LINES = 40
BUDGET_S = 8 * 60
"""What the stages' limits add up to at most (issue 22: the check within 8 minutes on one H100/H200)."""
NVML_PROGRAM = """
import json, time, torch
from bncvl.measure.nvml import NvmlSampler
with NvmlSampler(device_index=0) as sampler:
    x = torch.randn(4096, 4096, device="cuda")
    end = time.perf_counter() + 3.0
    while time.perf_counter() < end:
        x = (x @ x).clamp_(-1, 1)
    torch.cuda.synchronize()
r = sampler.reading
print(json.dumps({"samples": len(r.samples), "seconds": round(r.duration_s, 2), "gpu_utilization_pct":
    r.gpu_utilization_pct, "memory_utilization_pct": r.memory_utilization_pct, "power_w": r.power_w,
    "sm_clock_mhz": r.sm_clock_mhz, "energy_j": r.energy_j}))
"""
READ_BACK = """
import json, sys
from bncvl.store.engine import open_store, resolve_url
from bncvl.store.query import load_health
engine = open_store(resolve_url(sys.argv[1], "."), write=False)
print(json.dumps(load_health(engine).to_dict(orient="records")))
"""


@dataclass(frozen=True)
class Stage:
    """One step of the check: a command, its time limit, and extra environment variables."""

    name: str
    command: Sequence[str]
    timeout_s: float
    env: Mapping[str, str] | None = None


@dataclass(frozen=True)
class StageResult:
    """What a stage did: ``passed``, ``failed`` (exit code) or ``timed out``; its time and output's tail."""

    stage: Stage
    outcome: str
    exit_code: int | None
    seconds: float
    tail: str


def gpu_unavailable() -> str | None:
    """Why this machine cannot run the check (no CUDA build of torch, no GPU, no NVML), or None."""
    import torch

    if torch.version.cuda is None:
        return (
            f"no CUDA torch build: torch {torch.__version__} is a CPU-only build; on a GPU host install torch from "
            "a CUDA index (docs/benchmarks.md, 'GPU hosts')"
        )
    if not torch.cuda.is_available():
        return f"no GPU: torch {torch.__version__} (CUDA {torch.version.cuda}) sees none (torch.cuda.is_available())"
    from bncvl.measure.nvml import NvmlUnavailableError, load_nvml

    try:
        nvml = load_nvml()
    except NvmlUnavailableError as error:
        return f"no NVML: {error}"
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as error:  # the library missing, or a driver it does not match
        return f"no NVML library: {error}"
    nvml.nvmlShutdown()
    return None


def run_stage(stage: Stage, cwd: Path) -> StageResult:
    """Run ``stage`` in its own process group; kill the group at its time limit. Never raises for the command."""
    started = time.perf_counter()
    environ = {**os.environ, **(stage.env or {})}
    try:
        process = subprocess.Popen(
            list(stage.command),
            cwd=cwd,
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    except OSError as error:
        return StageResult(stage, "failed", None, time.perf_counter() - started, f"cannot start: {error}")
    try:
        output, _ = process.communicate(timeout=stage.timeout_s)
        outcome = "passed" if process.returncode == 0 else "failed"
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        outcome = "timed out"
    tail = "\n".join(output.splitlines()[-TAIL_LINES:])
    return StageResult(stage, outcome, process.returncode, time.perf_counter() - started, tail)


def write_report(path: Path, facts: Mapping[str, str], results: Sequence[StageResult]) -> None:
    """The check's Markdown report: the machine's facts, a table of the stages, then each stage's output tail."""
    lines = [f"# {facts.get('date', '')}: GPU self-check on {facts.get('host', '')}", ""]
    lines += [f"- **{key}:** {value}" for key, value in facts.items() if key not in ("date", "host")]
    lines += ["", "| stage | outcome | exit code | seconds (limit) |", "|---|---|---:|---:|"]
    for result in results:
        code = "" if result.exit_code is None else str(result.exit_code)
        lines.append(
            f"| {result.stage.name} | {result.outcome} | {code} | {result.seconds:.0f} ({result.stage.timeout_s:.0f}) |"
        )
    for result in results:
        command = " ".join("<program>" if "\n" in part else part for part in result.stage.command)
        lines += ["", f"## {result.stage.name}: {result.outcome}", "", f"`{command[:300]}`", "", "```text"]
        lines += [result.tail.replace("```", "'''"), "```"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def _git_head(repo: Path) -> str:
    done = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise FileNotFoundError(f"{repo} is not a git checkout (bncvl gpu-check benchmarks its commit)")
    return done.stdout.strip()


def stages(repo: Path, work: Path, slice_regex: str, machine: str) -> list[Stage]:
    """The check's stages, their files in ``work``: the asv configuration, ``HOME``, results and store."""
    conf = read_conf(repo / CONF_NAME)
    conf.update(
        repo=str(repo),
        benchmark_dir=str(repo / conf.get("benchmark_dir", "benchmarks")),
        results_dir=str(work / "results"),
        env_dir=str(work / "env"),
        html_dir=str(work / "html"),
    )
    (work / CONF_NAME).write_text(json.dumps(conf, indent=2))
    (work / "home").mkdir(exist_ok=True)
    home = {"HOME": str(work / "home")}  # asv's machine file, not the user's
    python = sys.executable
    asv_run = [python, "-m", "asv", "run", "--config", str(work / CONF_NAME), "--machine", machine]
    asv_run += ["-E", f"existing:{python}", "--set-commit-hash", _git_head(repo), "--quick", "--show-stderr"]
    store = str(work / "results" / "bncvl-store.sqlite")
    publish = [python, "-m", "bncvl.cli", "publish", "--store", store, "--results-dir", str(work / "results")]
    return [
        Stage(
            "GPU tests (pytest -m gpu)",
            [python, "-m", "pytest", "-m", "gpu", "-q", "-rs", "-p", "no:cacheprovider"],
            140,
        ),
        Stage("NVML sampling", [python, "-c", NVML_PROGRAM], 45),
        Stage("register the machine", [python, "-m", "bncvl.cli", "machine", "--name", machine], 30, home),
        Stage("asv, GPU slice (--quick)", [*asv_run, "-b", slice_regex], 200, home),
        Stage("publish into an embedded store", [*publish, "--no-runs", "--repo", str(repo)], 40),
        Stage("read the store back", [python, "-c", READ_BACK, store], 20),
    ]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--report", type=Path, help="where to write the report (default docs/measurements/...)")
    parser.add_argument(
        "--rehearse-on-cpu",
        action="store_true",
        help="run every stage on this machine without a GPU (a CPU slice of the suite), to rehearse the check",
    )


def main(args: argparse.Namespace) -> int:
    conf = find_conf()
    if conf is None:
        raise FileNotFoundError(f"no {CONF_NAME} here or above; run bncvl gpu-check in the repository")
    repo = conf.parent
    if not args.rehearse_on_cpu:
        reason = gpu_unavailable()
        if reason is not None:
            raise RuntimeError(f"{reason}; nothing was run")
    import torch

    host = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname()) or "host"
    today = datetime.date.today().isoformat()
    report = args.report or repo / "docs" / "measurements" / f"{today}-gpu-self-check-{host}.md"
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU rehearsal)"
    facts = {
        "date": today,
        "host": host,
        "commit": _git_head(repo),
        "GPU": device,
        "torch": f"{torch.__version__} (CUDA {torch.version.cuda})",
        "command": "bncvl gpu-check" + (" --rehearse-on-cpu" if args.rehearse_on_cpu else ""),
        "asv benchmarks (-b)": f"`{CPU_REHEARSAL_SLICE if args.rehearse_on_cpu else GPU_SLICE}`",
    }
    results: list[StageResult] = []
    with tempfile.TemporaryDirectory(prefix="bncvl-gpu-check-") as work:
        slice_regex = CPU_REHEARSAL_SLICE if args.rehearse_on_cpu else GPU_SLICE
        for stage in stages(repo, Path(work), slice_regex, f"{host}-gpu-check"):
            print(f"bncvl gpu-check: {stage.name} (at most {stage.timeout_s:.0f} s)", file=sys.stderr, flush=True)
            results.append(run_stage(stage, repo))
            print(f"bncvl gpu-check: {stage.name}: {results[-1].outcome}", file=sys.stderr, flush=True)
            write_report(report, facts, results)  # after every stage: a killed check leaves what it did
    print(f"bncvl gpu-check: report {report}")
    return 0 if all(result.outcome == "passed" for result in results) else 1
