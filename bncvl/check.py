"""``bncvl check BASE HEAD``: does HEAD make BNCVL slower or hungrier than BASE?

Both commits are built in asv's environment and benchmarked on this machine,
interleaved round by round (``asv run --interleave-rounds``), so a drift of
the machine during the run hits both alike. The benchmark suite is the one in
the working tree, for both commits, as with ``asv continuous``. The verdict is
asv's (factor *and* significance), direction-aware for ``track_*`` metrics:
see :mod:`bncvl.report`.

Exit status: 0 nothing significantly worse; 1 a regression or a newly failing
benchmark; 2 a usage error, a commit that cannot be built, or a benchmark that
failed at both commits, so that nothing was measured (the reason is printed).
``asv compare`` always exits 0 and ``asv continuous`` counts every increase as
worse, so neither exit code is used.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bncvl.decision import INSTRUCTION_FACTOR, MIN_PROCESSES, RELATIVE_FACTOR

__all__ = [
    "DEFAULT_FACTOR_RULES",
    "DEFAULT_ROUNDS",
    "QUICK_BENCHMARKS",
    "CheckRun",
    "configure",
    "main",
    "merge_base",
    "resolve_commit",
]

QUICK_BENCHMARKS = (
    r"\.(track_eval_forward|track_train_step|track_saved_activation_bytes|track_peak_forward_bytes)"
    r"\('(reference|fast)', 'tiny', 'cpu', 'float32'\)$"
)
"""The default subset, on the tiny preset, CPU, float32, for the reference and
fast variants: instruction counts (``Instructions``) and relative timings on
both clocks (``RelativeWallTime``, ``RelativeCpuTime``) of the eval forward
and the training step, and the saved-activation and peak-forward bytes (asv
matches ``-b`` against ``name(params)``). Absolute times (``time_*``) are
left out: on a shared runner they cannot tell a 5% slowdown from noise (see
:mod:`bncvl.decision`); select them with ``-b`` to see them anyway."""

DEFAULT_ROUNDS = 7
"""Interleaved rounds per commit for relative timings and ``time_*`` benchmarks:
base, head, then head, base..., each a fresh process giving one per-process
value, so a drift of a shared runner hits both commits alike. The per-process
test needs at least :data:`bncvl.decision.MIN_PROCESSES` (7): with 7 + 7
values it finds p < 0.001 with at most one of the 49 pairs out of order, so
one process on a loaded core does not hide a regression."""

DEFAULT_FACTOR_RULES = ("time_=1.6",)
"""Factors applied after the user's ``--factor-for`` rules: absolute times
need 1.6 to stay quiet on a shared 2-core VM (docs/ci-check.md). Instruction
counts and relative timings get theirs from :mod:`bncvl.decision`; bytes
and other exact counts the default 1.10."""

DEFAULT_OUTPUT_DIR = Path(".asv") / "check"

NO_DEPS_INSTALL = "in-dir={env_dir} python -m pip install --no-deps --force-reinstall {wheel_file}"
"""The install command used when asv.conf.json sets none (see :meth:`CheckRun.prepare`)."""

_REPEATED = r"(?:[^(]*\.time_|bench_relative\.)"
"""Matches the asv name of a benchmark that runs one process per round: ``time_*`` and the relative timings."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "base", nargs="?", default=None, help="base commit (default: the merge-base of HEAD with --main-branch)"
    )
    parser.add_argument("head", nargs="?", default="HEAD", help="commit under test (default: HEAD)")
    parser.add_argument(
        "-b",
        "--bench",
        action="append",
        metavar="REGEX",
        help="benchmarks to run, matched against 'name(params)' (repeatable; default: instruction counts, "
        "relative timings and bytes of the reference and fast variants on the tiny preset, CPU, float32)",
    )
    parser.add_argument(
        "--factor",
        type=float,
        default=1.10,
        help=f"how much worse counts as worse (default 1.10; instruction counts {INSTRUCTION_FACTOR}, relative "
        f"timings {RELATIVE_FACTOR}, time_ benchmarks 1.6; see --factor-for)",
    )
    parser.add_argument(
        "--factor-for",
        action="append",
        default=[],
        metavar="REGEX=FACTOR",
        help="the factor of the benchmarks matching REGEX, e.g. 'time_train_step=1.5' (repeatable; first match "
        f"wins; built in after yours: {', '.join(DEFAULT_FACTOR_RULES)})",
    )
    parser.add_argument("--report", type=Path, metavar="FILE", help="also write the Markdown report to FILE")
    parser.add_argument(
        "--rounds", type=int, default=DEFAULT_ROUNDS, help=f"interleaved rounds per commit (default {DEFAULT_ROUNDS})"
    )
    parser.add_argument("--main-branch", help="branch for the default BASE (default: asv.conf.json's first branch)")
    parser.add_argument("--config", type=Path, help="asv configuration (default: asv.conf.json at the repository root)")
    parser.add_argument(
        "--output-dir",
        type=Path,
        help=f"results, asv log and report.md (default: {DEFAULT_OUTPUT_DIR} in the repository; emptied first)",
    )
    parser.add_argument("--env-dir", type=Path, help="asv environments to create or reuse (default: asv.conf.json's)")
    parser.add_argument("--machine", help="asv machine name (default: this host's; registered when missing)")


def main(args: argparse.Namespace) -> int:
    from bncvl import report  # needs the bench extra (asv); says so when it is missing

    factor = report.check_factor(args.factor)
    rules = [report.parse_factor_rule(text) for text in [*args.factor_for, *DEFAULT_FACTOR_RULES]]
    if args.rounds < MIN_PROCESSES:
        raise ValueError(
            f"--rounds must be >= {MIN_PROCESSES}: relative timings are tested on one value per process and "
            f"round; got {args.rounds}"
        )
    if args.bench is None and shutil.which("valgrind") is None:
        raise RuntimeError(
            "the default check gates on instruction counts, which need valgrind on PATH: install Debian's "
            "valgrind package (apt-get install valgrind), or choose benchmarks with -b"
        )

    root = Path(_git(Path.cwd(), "rev-parse", "--show-toplevel"))
    config = (args.config or root / "asv.conf.json").resolve()
    if not config.is_file():
        raise FileNotFoundError(
            f"no asv configuration at {config}; run inside the project's repository or pass --config"
        )
    head = resolve_commit(root, args.head)
    if args.base is None:
        branches = _load_asv_json(config).get("branches") or ["main"]
        base = merge_base(root, args.main_branch or branches[0], head)
    else:
        base = resolve_commit(root, args.base)
    if base == head:
        raise ValueError(f"BASE and HEAD are the same commit ({head[:8]}); nothing to compare")

    run = CheckRun.prepare(root, config, args.output_dir or root / DEFAULT_OUTPUT_DIR, args.env_dir, args.machine)
    run.build([head, base])  # the head first: a pull request that breaks the build fails fast
    bench = args.bench or [QUICK_BENCHMARKS]
    run.benchmark([base, head], bench, args.rounds)
    before, units = run.outcomes(base)
    after, _ = run.outcomes(head)

    comparison = report.compare(
        base,
        head,
        before,
        after,
        units,
        factor=factor,
        factor_rules=rules,
        machine=run.machine_record(head),
        base_label=_git(root, "log", "-1", "--format=%s", base),
        head_label=_git(root, "log", "-1", "--format=%s", head),
    )
    markdown = report.render_markdown(comparison)
    print(markdown)
    (run.output_dir / "report.md").write_text(markdown)
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(markdown)
    return comparison.exit_code


# --- git ----------------------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ValueError(f"git {' '.join(args)} failed in {repo}: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout.strip()


def resolve_commit(repo: Path, ref: str) -> str:
    """The full hash of ``ref``; ``ValueError`` naming it when it is not a commit of ``repo``."""
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except ValueError:
        raise ValueError(f"{ref!r} is not a commit in {repo} (expected a branch, tag or hash)") from None


def merge_base(repo: Path, main_branch: str, head: str) -> str:
    """The default BASE: where ``head`` left ``main_branch``."""
    branch = resolve_commit(repo, main_branch)
    try:
        return _git(repo, "merge-base", branch, head)
    except ValueError:
        raise ValueError(f"{main_branch!r} and {head[:8]} share no ancestor; give BASE explicitly") from None


# --- asv ----------------------------------------------------------------------------------------


def _load_asv_json(path: Path) -> dict:
    from asv.util import load_json

    return load_json(str(path), js_comments=True)


def _tail(text: str | bytes | None, lines: int = 30) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return "\n".join((text or "").strip().splitlines()[-lines:])


@dataclass(frozen=True)
class CheckRun:
    """One check's asv set-up: a configuration of its own whose results go to ``output_dir``.

    The user's ``asv.conf.json`` is copied with absolute paths and its
    results and HTML redirected, so a check never mixes its samples with
    earlier results and its folder can be uploaded as it is. Environments are
    shared (``env_dir``): asv reuses one whose requirements match.
    """

    config: Path
    output_dir: Path
    machine: str

    @property
    def results_dir(self) -> Path:
        return self.output_dir / "results"

    @property
    def log_path(self) -> Path:
        return self.output_dir / "asv-run.log"

    @classmethod
    def prepare(
        cls, repo: Path, config: Path, output_dir: Path, env_dir: Path | None = None, machine: str | None = None
    ) -> CheckRun:
        """Write the check's configuration into ``output_dir`` (emptied of earlier results) and register the machine."""
        conf = _load_asv_json(config)
        here = config.parent
        output_dir = output_dir.resolve()
        conf["repo"] = str(repo.resolve())
        conf["benchmark_dir"] = str((here / conf.get("benchmark_dir", "benchmarks")).resolve())
        conf["env_dir"] = str((env_dir or here / conf.get("env_dir", "env")).resolve())
        conf["results_dir"] = str(output_dir / "results")
        conf["html_dir"] = str(output_dir / "html")
        # asv's default install is `pip install WHEEL --force-reinstall`, which reinstalls torch
        # with the project every time, and interleaving installs each commit once per round.
        # The dependencies come from the configuration's matrix, as the --no-deps build implies.
        conf.setdefault("install_command", [NO_DEPS_INSTALL])
        shutil.rmtree(output_dir / "results", ignore_errors=True)
        output_dir.mkdir(parents=True, exist_ok=True)
        check_config = output_dir / "asv.conf.json"
        check_config.write_text(json.dumps(conf, indent=2) + "\n")
        return cls(check_config, output_dir, register_machine(machine))

    def build(self, commits: list[str]) -> None:
        """Build and install each commit in every environment, as ``asv run`` would.

        asv keeps the built wheels, so the benchmark run that follows only
        reinstalls them. Done up front because ``asv run`` reports a commit
        that does not build as "skipped", without the reason.

        Raises:
            RuntimeError: an environment cannot be created or a commit cannot
                be built; the message has the failing command's output.
        """
        from asv import config, environment, util
        from asv.repo import get_repo

        conf = config.Config.load(str(self.config))
        repo = get_repo(conf)
        environments = list(environment.get_environments(conf, None, verbose=False))
        if not environments:
            raise RuntimeError(f"asv found no environment to build in (pythons/matrix of {self.config})")
        for env in environments:
            if not env.can_install_project():
                raise RuntimeError(
                    f"environment {env.name!r} cannot install commits (an 'existing' environment); bncvl check "
                    "needs asv-managed environments (environment_type virtualenv or conda) to run two commits"
                )
            try:
                env.create()
            except util.ProcessError as error:
                raise RuntimeError(
                    f"cannot create asv environment {env.name}: {error}\n{_tail(error.stderr)}"
                ) from None
            for commit in commits:
                try:
                    env.install_project(conf, repo, commit)
                except util.ProcessError as error:
                    output = _tail(error.stderr) or _tail(error.stdout)
                    raise RuntimeError(
                        f"commit {commit[:8]} cannot be built in {env.name}: {error}\n{output}"
                    ) from None

    def benchmark(self, commits: list[str], bench: list[str], rounds: int) -> None:
        """``asv run`` the benchmarks matching ``bench`` on ``commits``, interleaved, keeping raw samples.

        ``time_*`` benchmarks and relative timings run ``rounds`` interleaved
        rounds; the others (instruction counts, bytes and the like, one
        deterministic value each) run one round, which is all they need.
        asv's output is shown and kept in :attr:`log_path`. A benchmark that fails is recorded as failed (asv
        exits 2); any other asv failure raises.

        Raises:
            ValueError: ``bench`` has an invalid regular expression, or matches nothing.
            RuntimeError: asv could not run (e.g. a broken configuration).
        """
        for regex in bench:
            try:
                re.compile(regex)
            except re.error as error:
                raise ValueError(f"-b {regex!r} is not a regular expression: {error}") from None
        hashfile = self.output_dir / "commits.txt"
        hashfile.write_text("\n".join(commits) + "\n")
        self.log_path.write_text("")
        # asv ORs its -b patterns; a lookahead ANDs each of ours with "is (not) run once per round".
        timed = [f"^(?={_REPEATED})(?=.*?(?:{regex}))" for regex in bench]
        untimed = [f"^(?!{_REPEATED})(?=.*?(?:{regex}))" for regex in bench]
        selected = [self._asv_run(hashfile, timed, rounds)]
        if self._selects_any(untimed):
            selected.append(self._asv_run(hashfile, untimed, 1))
        if not any(selected):
            raise ValueError(f"no benchmark matches -b {bench}; asv's log: {self.log_path}")

    def _selects_any(self, bench: list[str]) -> bool:
        """Whether ``bench`` selects a benchmark of the suite asv discovered in the last run (True if unknown)."""
        if not (self.results_dir / "benchmarks.json").is_file():
            return True
        from asv import config
        from asv.benchmarks import Benchmarks

        return len(Benchmarks.load(config.Config.load(str(self.config)), regex=bench)) > 0

    def _asv_run(self, hashfile: Path, bench: list[str], rounds: int) -> bool:
        """One ``asv run``; False when it selected no benchmark."""
        command = [sys.executable, "-m", "asv", "run", "--config", str(self.config), "--machine", self.machine]
        command += ["--interleave-rounds", "--record-samples", "--show-stderr", "-a", f"rounds={rounds}"]
        for regex in bench:
            command += ["--bench", regex]
        command.append(f"HASHFILE:{hashfile}")
        output = []
        with self.log_path.open("a") as log:
            log.write("$ " + " ".join(command) + "\n")
            log.flush()
            # Unbuffered: asv's progress shows as it happens, not when its pipe buffer fills.
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
            assert process.stdout is not None
            for line in process.stdout:
                sys.stdout.write(line)
                log.write(line)
                output.append(line)
            returncode = process.wait()
        if returncode == 1 and any("No benchmarks selected" in line for line in output):
            return False
        if returncode not in (0, 2):  # 2: some benchmark failed, which the results record
            raise RuntimeError(f"asv run exited {returncode}:\n{_tail(''.join(output))}")
        return True

    def _results(self, commit: str) -> list:
        from asv.results import iter_results_for_machine_and_hash

        return list(iter_results_for_machine_and_hash(str(self.results_dir), self.machine, commit))

    def outcomes(self, commit: str) -> tuple[dict, dict[str, str | None]]:
        """Every benchmark outcome of ``commit``, keyed ``name(params)``, and the unit of each benchmark.

        Returns:
            ``({name(params): Outcome}, {name: unit})``; a name gets `` [env]``
            appended when the check ran in several environments.
        """
        from asv.commands.compare import unroll_result

        from bncvl.report import Outcome

        results = self._results(commit)
        outcomes = {}
        for result in results:
            suffix = f" [{result.env_name}]" if len(results) > 1 else ""
            for key in result.get_all_result_keys():
                params = result.get_result_params(key)
                rows = unroll_result(
                    key,
                    params,
                    result.get_result_value(key, params),
                    result.get_result_stats(key, params),
                    result.get_result_samples(key, params),
                )
                version = result.benchmark_version.get(key)
                for name, value, stats, samples in rows:
                    outcomes[name + suffix] = Outcome(value, stats, samples, version)
        return outcomes, self.units()

    def units(self) -> dict[str, str | None]:
        path = self.results_dir / "benchmarks.json"
        if not path.is_file():
            return {}
        benchmarks = json.loads(path.read_text())
        return {name: info.get("unit") for name, info in benchmarks.items() if isinstance(info, dict)}

    def machine_record(self, commit: str) -> dict[str, object]:
        """The machine and environment facts asv stored with ``commit``'s results (machine.json, python, torch...)."""
        record: dict[str, object] = {}
        machine_json = self.results_dir / self.machine / "machine.json"
        if machine_json.is_file():
            record.update(json.loads(machine_json.read_text()))
        for result in self._results(commit):
            record.update(result.params)
        return record


def register_machine(machine: str | None) -> str:
    """The asv machine name to use, registering this machine (``bncvl machine``) when it is unknown.

    The default name is ``bncvl machine``'s (``<host>-cpu``, ``<host>-h100``...).
    A record that exists already is used as it is.
    """
    from asv import util
    from asv.machine import MachineCollection

    from bncvl.machine import default_machine_name, device_facts, register

    name = machine or default_machine_name(device_facts())
    try:
        MachineCollection.load(name)
    except util.UserError:
        register(name)
    return name
