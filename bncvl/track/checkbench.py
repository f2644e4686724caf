"""How ``bncvl check`` measures two commits: which process measures what, in which order.

1. asv discovers the suite (the working tree's, for both commits) against
   the base's ``bncvl`` and selects what ``-b`` matches (:mod:`bncvl.track.selection`).
2. Instruction counts and bytes, which do not depend on the machine's load:
   one process per commit for each, all side by side. Counts kept by an
   earlier check for the same code are reused (:mod:`bncvl.track.counts`).
3. Relative timings, alone on the machine: one process per round and
   commit, in ABBA order (base, head, head, base, ...; ``rounds`` each).
   Each process measures every selected relative timing, each pass once
   with its own warm-up, and reads both clocks: it gives one value per
   benchmark, as one asv process per benchmark did.
4. Any other benchmark by asv's runner, as ``asv run --interleave-rounds``
   runs it, with the commit's tree first on ``sys.path``: ``time_*`` ones
   once per round and commit, interleaved with step 3, the others once per
   commit.

Steps 2 and 3 run in processes forked from one server that loaded torch
(:mod:`bncvl.track.forks`). The values are written as asv's results, one
file per commit, as ``asv run`` would have written them (every sample kept).
asv discovers the suite once; a commit whose bncvl does not import fails
its benchmarks, as asv records a benchmark that raises.
Why this keeps the per-process test's assumptions is in docs/ci-check.md.
"""

from __future__ import annotations

import datetime
import logging
import math
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

from bncvl.track import counts
from bncvl.track.forks import Answer, ForkServer, Request
from bncvl.track.selection import Benchmark, Selection, own_kind, select

if TYPE_CHECKING:
    from asv.benchmarks import Benchmarks
    from asv.config import Config
    from asv.environment import Environment, ExistingEnvironment
    from asv.results import Results

    from bncvl.track.checkrun import CheckRun

__all__ = ["measure", "python_of"]

ASV_PYTHONPATH = "ASV_PYTHONPATH"
"""What asv's benchmark script puts first on ``sys.path`` (it takes ``PYTHONPATH`` off): the commit's tree."""

Values = dict[Benchmark, list[object]]
"""A commit's values: per benchmark, one entry per process (a number, ``{"skip": ...}`` or ``{"error": ...}``)."""


class _Progress:
    """Progress lines, shown and kept in the check's log."""

    def __init__(self, log: IO[str]) -> None:
        self.log = log

    def say(self, text: str) -> None:
        line = f"· {text}\n"
        sys.stdout.write(line)
        sys.stdout.flush()
        self.log.write(line)
        self.log.flush()


def python_of(env: Environment) -> Path:
    """The Python interpreter of asv's environment ``env``."""
    from asv.environment import ExistingEnvironment

    if isinstance(env, ExistingEnvironment):
        return Path(env._executable)  # asv keeps it private; it is the interpreter the configuration names
    return Path(env.find_executable("python"))


def measure(
    run: CheckRun,
    env: Environment,
    trees: dict[str, Path],
    commits: list[str],
    bench: list[str],
    rounds: int,
    log: IO[str],
) -> None:
    """Measure the benchmarks that match ``bench`` at ``commits`` (see the module docstring) into ``run``'s results.

    Args:
        run: the check (its configuration, results folder and machine).
        env: asv's environment, created.
        trees: each commit's exported package (:meth:`bncvl.track.checkrun.CheckRun.trees`).
        commits: base, head.
        bench: ``-b`` regexes.
        rounds: processes per commit for relative timings and ``time_*`` benchmarks.
        log: the check's log.

    Raises:
        ValueError: ``bench`` matches no benchmark.
        RuntimeError: the benchmark server or asv failed.
    """
    from asv import config

    conf = config.Config.load(str(run.config))
    python = python_of(env)
    progress = _Progress(log)
    results = _new_results(run, conf, env, commits)
    with ForkServer.started(python, Path(conf.benchmark_dir), log) as server:  # loads torch while asv discovers
        benchmarks = _discover(conf, python, [trees[commit] for commit in commits], commits, bench)
        selection = select(benchmarks, benchmarks.benchmark_selection)
        if not selection:
            raise ValueError(f"no benchmark matches -b {bench}")
        selected = sum(len(benchmarks.benchmark_selection.get(name) or [None]) for name in benchmarks)
        progress.say(f"{selected} benchmarks selected; Python {python}, torch {server.torch_version}")
        values: dict[str, Values] = {commit: defaultdict(list) for commit in commits}
        started = datetime.datetime.now(datetime.UTC)
        _exact(server, run, env, trees, commits, selection, values, progress)
        environments = {commit: _tree_environment(conf, python, trees[commit]) for commit in commits}
        timed, untimed = (
            benchmarks.filter_out(set(benchmarks) - set(names)) for names in (selection.timed, selection.untimed)
        )
        relative = selection.own.get("relative", [])
        if relative or timed:
            for number in range(rounds):
                for commit in commits if number % 2 == 0 else commits[::-1]:  # ABBA: a drift hits both alike
                    if relative:
                        begin = time.perf_counter()
                        _measure_one(server, values[commit], _request(selection, "relative", trees[commit]))
                        progress.say(
                            f"relative timings, round {number + 1}/{rounds}, {commit[:8]}: "
                            f"{time.perf_counter() - begin:.1f} s"
                        )
                    if timed:
                        _asv_round(conf, timed, environments[commit], results[commit], rounds - number, rounds, log)
        for commit in commits if untimed else []:
            _asv_round(conf, untimed, environments[commit], results[commit], 1, 1, log)
    for commit, result in results.items():
        _add_own(result, benchmarks, selection, values[commit], started)
        result.save(conf.results_dir)


def _new_results(run: CheckRun, conf: Config, env: Environment, commits: list[str]) -> dict[str, Results]:
    """An empty asv result of each commit, named and described as ``asv run`` in ``env`` would name it."""
    from asv.machine import Machine
    from asv.repo import get_repo
    from asv.results import Results

    machine = Machine.load(machine_name=run.machine, interactive=False)
    machine.save(conf.results_dir)
    params = {**machine.__dict__, "python": env.python, **env.requirements}
    repo = get_repo(conf)
    return {
        commit: Results(params, env.requirements, commit, repo.get_date(commit), env.python, env.name, env.env_vars)
        for commit in commits
    }


def _tree_environment(conf: Config, python: Path, tree: Path) -> ExistingEnvironment:
    """asv's environment of ``python`` with ``tree`` first on its benchmark processes' ``sys.path``.

    asv's benchmark script takes ``PYTHONPATH`` off ``sys.path``; ``ASV_PYTHONPATH`` is what it puts first.
    """
    from asv.environment import ExistingEnvironment

    return ExistingEnvironment(conf, str(python), {}, {("nobuild", ASV_PYTHONPATH): str(tree)})


def _discover(conf: Config, python: Path, trees: list[Path], commits: list[str], bench: list[str]) -> Benchmarks:
    """asv's discovery of the suite in ``python`` against the first tree's package (the next's, if that fails)."""
    from asv.benchmarks import Benchmarks
    from asv.repo import get_repo

    environments = [_tree_environment(conf, python, tree) for tree in trees]
    benchmarks = Benchmarks.discover(conf, get_repo(conf), environments, commits, regex=bench)
    benchmarks.save()
    return benchmarks


def _request(selection: Selection, kind: str, tree: Path, counted: dict | None = None) -> Request:
    """The request of one process that measures ``selection``'s benchmarks of ``kind`` against ``tree``."""
    benchmarks = selection.own[kind]
    return Request(kind, tree, benchmarks, sum(selection.timeouts[key] for key in benchmarks), counted)


def _record(values: Values, request: Request, answer: Answer) -> None:
    """Add the values of ``answer`` to ``request`` to ``values`` (a process that failed: an error for each)."""
    for benchmark in request.benchmarks:
        values[benchmark].append({"error": answer.failure} if answer.failure else answer.values[benchmark])


def _measure_one(server: ForkServer, values: Values, request: Request) -> None:
    """Run ``request`` alone and record its values."""
    (answer,) = server.run([request])
    _record(values, request, answer)


def _exact(
    server: ForkServer,
    run: CheckRun,
    env: Environment,
    trees: dict[str, Path],
    commits: list[str],
    selection: Selection,
    values: dict[str, Values],
    progress: _Progress,
) -> None:
    """Instruction counts and bytes of every commit, side by side; counts kept before are reused, new ones kept."""
    jobs: list[tuple[str, Request]] = [
        (commit, _request(selection, "memory", trees[commit])) for commit in commits if "memory" in selection.own
    ]
    keys: dict[str, counts.CountKey] = {}
    if "instructions" in selection.own:
        env_dir = Path(run.conf["env_dir"])
        keys = {commit: _count_key(run, env, server, selection, commit) for commit in commits}
        kept = {commit: counts.load(env_dir, keys[commit]) for commit in commits}
        counting = {}  # one commit per distinct code not counted before
        for commit in commits:
            if kept[commit] is None:
                counting.setdefault(keys[commit].digest, commit)
        later = [commit for commit in commits if kept[commit] is None and commit not in counting.values()]
        jobs += [
            (commit, _request(selection, "instructions", trees[commit], kept[commit]))
            for commit in commits
            if commit not in later
        ]
        for commit in commits:
            if kept[commit] is not None:
                progress.say(f"instruction counts of {commit[:8]}: kept from an earlier check of the same code")
    begin = time.perf_counter()
    requests = [request for _, request in jobs]
    answers = server.run(requests)
    for (commit, request), answer in zip(jobs, answers, strict=True):
        _record(values[commit], request, answer)
        if request.kind == "instructions" and request.counted is None and answer.counted is not None:
            counts.store(Path(run.conf["env_dir"]), keys[commit], answer.counted)
    if jobs:
        progress.say(f"instruction counts and bytes: {time.perf_counter() - begin:.1f} s")
    if "instructions" in selection.own:
        for commit in later:  # the same code as a commit counted just now
            counted = counts.load(Path(run.conf["env_dir"]), keys[commit])
            _measure_one(server, values[commit], _request(selection, "instructions", trees[commit], counted))


def _count_key(
    run: CheckRun, env: Environment, server: ForkServer, selection: Selection, commit: str
) -> counts.CountKey:
    """What ``commit``'s instruction counts depend on (:class:`bncvl.track.counts.CountKey`)."""
    from bncvl._extras import valgrind_missing

    valgrind = (
        "missing"
        if valgrind_missing()
        else subprocess.run(["valgrind", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    )
    conf = run.conf
    return counts.CountKey(
        package_tree=run.package_tree(commit),
        suite=counts.suite_digest(Path(conf["benchmark_dir"])),
        torch=server.torch_version,
        python=f"{env.name} {env.python}",
        valgrind=valgrind,
        machine=run.machine,
        cpu=counts.cpu_identity(),
        combinations=counts.combinations(selection.own["instructions"]),
    )


class _Tee:
    """A text stream that writes to two."""

    def __init__(self, *streams: IO[str]) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self.streams:
            stream.flush()


@contextmanager
def _asv_console(log: IO[str]) -> Iterator[None]:
    """asv's progress output, as ``asv run`` prints it, shown and kept in ``log`` for the block."""
    from asv.console import log as console

    root = logging.getLogger()  # asv logs through the root logger
    handlers, level, stdout = list(root.handlers), root.level, sys.stdout
    console.enable()
    sys.stdout = _Tee(stdout, log)  # type: ignore[assignment]  # asv prints to whatever sys.stdout is
    try:
        yield
    finally:
        sys.stdout = stdout
        for handler in [handler for handler in root.handlers if handler not in handlers]:
            root.removeHandler(handler)
        root.setLevel(level)


def _asv_round(
    conf: Config,
    benchmarks: Benchmarks,
    env: ExistingEnvironment,
    result: Results,
    round_: int,
    rounds: int,
    log: IO[str],
) -> None:
    """Run ``benchmarks`` once in ``env``, as round ``round_`` of ``rounds`` of ``asv run --interleave-rounds`` (asv
    counts them down; 1 is the last), adding their samples to ``result``. A benchmark that fails is recorded so."""
    from asv.runner import run_benchmarks

    with _asv_console(log):
        run_benchmarks(
            benchmarks,
            env,
            results=result,
            show_stderr=True,
            extra_params={"rounds": rounds},
            record_samples=True,
            append_samples=round_ < rounds,
            run_rounds=[round_],
            launch_method=conf.launch_method,
        )
    log.flush()


def _add_own(
    result: Results, benchmarks: Benchmarks, selection: Selection, measured: Values, started: datetime.datetime
) -> None:
    """Add the values the check's own processes measured to ``result``, as asv would have recorded them: a
    relative timing with one sample per process, a count or a byte figure as its value; failed where any process
    failed, skipped (NaN) where the benchmark cannot run here."""
    from asv.runner import BenchmarkResult

    slots: dict[str, dict[int, Benchmark]] = defaultdict(dict)
    for key, (name, index) in selection.slots.items():
        slots[name][index] = key
    for name, indices in slots.items():
        benchmark = benchmarks[name]
        size = math.prod(len(values) for values in benchmark["params"]) if benchmark["params"] else 1
        outcome: list[object] = [math.nan] * size
        samples: list[list[float] | None] = [None] * size
        number: list[int | None] = [None] * size
        errors = []
        for index, key in indices.items():
            entries = measured.get(key, [])
            failed = [entry["error"] for entry in entries if isinstance(entry, dict) and "error" in entry]
            numbers = [entry for entry in entries if not isinstance(entry, dict)]
            if failed or not entries:
                outcome[index] = None
                errors += failed or [f"{name}{key[2]}: not measured"]
            elif len(numbers) < len(entries):
                outcome[index] = math.nan  # skipped, as asv records a benchmark whose setup raised NotImplementedError
            elif own_kind(name) == "relative":  # one sample per process, as asv keeps a timing's samples
                outcome[index], samples[index], number[index] = True, [float(x) for x in numbers], 1
            else:
                outcome[index] = numbers[0]
        stderr = "\n\n".join(errors)
        benchmark_result = BenchmarkResult(outcome, samples, number, 1 if errors else 0, stderr, None)
        result.add_result(
            benchmark, benchmark_result, started_at=started, record_samples=True, selected_idx=set(indices)
        )
