"""Measure ``bncvl check``'s error rates: A/A checks and planted regressions, each a real default check.

Not a test: each check is a full default ``bncvl check BASE HEAD`` (instruction
counts, relative timings, bytes), several minutes on a shared 2-core VM.
docs/ci-check.md's figures come from::

    .venv/bin/python -m tools.check_calibration --workdir /tmp/calib --aa 20 --runs 10
    .venv/bin/python -m tools.check_calibration --workdir /tmp/calib --summary

It copies the project into a git repository under ``--workdir`` with a base
commit, an A/A commit (README only) and one commit per planted regression
(:data:`PLANTS`), then runs the checks interleaved by case (A/A, a plant,
A/A, the next plant, ...), so a slow drift of the machine reaches every case
alike and a run stopped early has as many A/A checks as planted ones.
Each run appends one JSON line to ``--workdir/calibration.jsonl``; a second
invocation continues where the first stopped. Checks may run in several
workdirs side by side; ``--summary`` with ``--workdir`` repeated merges
their logs.

Every check counts instructions afresh: the counts that ``bncvl check``
keeps between checks (:mod:`bncvl.track.counts`) are deleted before each
one, so each check is measured as one whose base no earlier check counted
(the longest case), and the counts' own spread between processes stays in
the log. The checks' output folder is ``--workdir/out``: a new workdir, or
one whose ``out`` a check created.
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bncvl.testing import planted
from bncvl.track.asv import CONF_NAME, machine_name
from bncvl.track.checkrun import claim_output_dir
from bncvl.track.counts import COUNTS_DIR

PLANTS: dict[str, Callable[[Path], dict[str, str]]] = {
    # Sizes measured in-process against the unchanged forward (tiny preset, CPU time, paired blocks):
    # an output-sized elementwise pass is about +2.5%, a clone about +1.5%, a layout round trip about +5%.
    # In order of priority: each round of the calibration runs them in this order.
    "pass+5%": planted.extra_passes(2),
    "sleep-1ms": planted.sleep_per_call(0.001),
    "copy+5%": planted.needless_copies(3),
    "layout+5%": planted.layout_round_trips(1),
    "pass+10%": planted.extra_passes(4),
    "copy+10%": planted.needless_copies(6),
    "layout+10%": planted.layout_round_trips(2),
}


def run_check(repo: Path, workdir: Path, base: str, head: str) -> dict:
    """One default ``bncvl check``, its instruction counts taken afresh; its exit code, duration and worsened
    benchmarks."""
    workdir = workdir.resolve()  # the check runs in the repository: a relative path would point into it
    output = workdir / "out"
    shutil.rmtree(workdir / "env" / COUNTS_DIR, ignore_errors=True)
    command = [sys.executable, "-P", "-m", "bncvl.cli", "check", base, head, "--env-dir", str(workdir / "env")]
    command += ["--output-dir", str(output)]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    report = (output / "report.md").read_text() if result.returncode in (0, 1) else ""
    worsened = report.split("### Worsened", 1)[-1].split("### Newly failing", 1)[0] if report else ""
    return {
        "exit": result.returncode,
        "seconds": round(elapsed, 1),
        "worsened": [line.split("`")[1] for line in worsened.splitlines() if line.startswith("| `")],
        "error": result.stderr[-3000:] if result.returncode not in (0, 1) else "",
        "values": {side: _values(output, commit, machine_name()) for side, commit in (("base", base), ("head", head))}
        if report
        else {},
        "units": _units(output) if report else {},
        "report": report,
    }


def _values(output: Path, commit: str, machine: str) -> dict[str, list[float] | None]:
    """Every benchmark's samples at ``commit`` in a check's results (its value where asv kept none; None
    where it failed), read as ``bncvl check`` reads them, so that the decision can be recomputed."""
    from bncvl.track.checkrun import CheckRun

    outcomes, _ = CheckRun(output / CONF_NAME, output, machine).outcomes(commit)
    return {
        name: None if outcome.failed else list(outcome.samples or [outcome.value])
        for name, outcome in outcomes.items()
        if not outcome.skipped
    }


def _units(output: Path) -> dict[str, str | None]:
    from bncvl.track.checkrun import CheckRun

    return CheckRun(output / CONF_NAME, output, "").units()


_UNITS = {"bench_instructions": "instructions", "bench_relative": "time ratio", "bench_memory": "bytes"}
"""Units of the default check's benchmarks, by module, for log entries written before entries kept their units."""


def worsened_now(entry: dict) -> list[str]:
    """The benchmarks today's decision (``bncvl.track.decision``, ``bncvl.track.verdict``) calls worse or newly
    failing in a logged check, from its recorded values, as ``bncvl check`` with its default factors would."""
    from bncvl.track.verdict import Outcome, compare

    def outcomes(side: str) -> dict[str, Outcome]:
        return {
            name: Outcome(None)
            if values is None
            else Outcome(statistics.median(values), samples=values if len(values) > 1 else None)
            for name, values in entry["values"][side].items()
        }

    units = entry.get("units") or {
        name.split("(", 1)[0]: _UNITS.get(name.split(".", 1)[0]) for name in entry["values"]["base"]
    }
    comparison = compare("base", "head", outcomes("base"), outcomes("head"), units)
    return [change.name for change in comparison.worsened + comparison.newly_failing]


def summary(logs: list[Path]) -> str:
    """Markdown tables of one or more logs, merged by case: checks, flagged (as run, and by today's
    decision from the recorded values), which benchmarks flagged today, minutes per check, the checks
    each gate flagged; then what each case moved (:func:`_effects`)."""
    cases: dict[str, list[dict]] = collections.defaultdict(list)
    for log in logs:
        for number, line in enumerate(log.read_text().splitlines(), 1):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as error:
                raise SystemExit(f"{log}:{number}: not a JSON line of a check ({error}); got {line[:80]!r}") from None
            cases[entry["case"]].append(entry)
    lines = [
        "| case | checks | flagged as run | flagged now | errors | flagged now by (checks) | minutes per check "
        "| load (1 min) | flagged now by counts | by relative timings |",
        "|---|---:|---:|---:|---:|---|---|---|---:|---:|",
    ]
    decided = {  # checks that ran to a verdict and kept their values (early logs kept none)
        case: [e for e in entries if e["exit"] in (0, 1) and "values" in e] for case, entries in cases.items()
    }
    for case, entries in cases.items():
        measured = [e for e in entries if e["exit"] in (0, 1)]
        now = [worsened_now(e) for e in decided[case]]
        by = collections.Counter(kind for names in now for kind in set(map(_kind, names)))
        minutes = [e["seconds"] / 60 for e in entries]
        loads = [float(e["load_1min"]) for e in entries]
        lines.append(
            f"| {case} | {len(entries)} | {sum(e['exit'] == 1 for e in entries)} | "
            f"{sum(map(bool, now))} of {len(now)} | {len(entries) - len(measured)} | "
            + (", ".join(f"{kind} {count}" for kind, count in sorted(by.items())) or "-")
            + f" | {min(minutes):.1f}-{max(minutes):.1f} | {min(loads):.1f}-{max(loads):.1f} | "
            + " | ".join(str(sum(any(n.startswith(m) for n in names) for names in now)) for m in _GATE_MODULES)
            + " |"
        )
    return "\n".join(lines) + "\n\n" + _effects(decided)


def _effects(cases: dict[str, list[dict]]) -> str:
    """A Markdown table of what each case's checks (those with a verdict and values) moved: the range of
    head/base instruction counts per pass, and of
    the relative timings the largest median ratio and the lowest one-sided p (each with the other figure; of
    timings at the same lowest p, the smallest ratio)."""
    from bncvl.track.decision import compare_processes

    lines = [
        "| case | instructions, eval forward | instructions, training step "
        "| relative: largest ratio (p) | relative: lowest p (ratio) |",
        "|---|---|---|---|---|",
    ]
    for case, entries in cases.items():
        counts: dict[str, list[float]] = collections.defaultdict(list)
        tests = []
        for entry in entries:
            base, head = entry["values"]["base"], entry["values"]["head"]
            for name in sorted(base.keys() & head.keys()):
                if base[name] is None or head[name] is None:  # failed at a commit
                    continue
                if name.startswith(_COUNTS):
                    counts[name.split("(", 1)[0].rsplit(".", 1)[1]].append(head[name][0] / base[name][0])
                elif name.startswith(_RELATIVE):
                    tests.append(compare_processes(base[name], head[name]))

        def span(ratios: list[float]) -> str:
            return f"{min(ratios):.4f}-{max(ratios):.4f}" if ratios else "-"

        largest = max(tests, key=lambda test: test.ratio, default=None)
        lowest = min(tests, key=lambda test: (test.p_worse, test.ratio), default=None)
        lines.append(
            f"| {case} | {span(counts['track_eval_forward'])} | {span(counts['track_train_step'])} | "
            + (f"{largest.ratio:.3f} ({largest.p_worse:.2g})" if largest else "-")
            + " | "
            + (f"{lowest.p_worse:.2g} ({lowest.ratio:.3f})" if lowest else "-")
            + " |"
        )
    return "\n".join(lines)


_COUNTS, _RELATIVE = "bench_instructions.", "bench_relative."
_GATE_MODULES = (_COUNTS, _RELATIVE)
"""The default check's two gates by benchmark module: the checks each flagged, alone or not."""


def _kind(name: str) -> str:
    """The class and method of a benchmark name, e.g. ``RelativeWallTime.track_eval_forward``."""
    return ".".join(name.split("(", 1)[0].split(".")[1:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workdir",
        type=Path,
        action="append",
        required=True,
        help="where the checks run and their log is kept; --summary merges the logs of every --workdir given",
    )
    parser.add_argument("--aa", type=int, default=20, help="A/A checks (default 20)")
    parser.add_argument("--runs", type=int, default=10, help="checks per planted regression (default 10)")
    every_plant = " ".join(PLANTS).replace("%", "%%")  # argparse formats help with %
    parser.add_argument("--plants", nargs="*", default=list(PLANTS), help=f"which plants (default all: {every_plant})")
    parser.add_argument("--summary", action="store_true", help="print the table of the log and stop")
    args = parser.parse_args(argv)

    logs = [workdir / "calibration.jsonl" for workdir in args.workdir]
    if args.summary:
        missing = [str(log) for log in logs if not log.is_file()]
        if missing:
            parser.error(f"no calibration log (calibration.jsonl) at {missing}")
        print(summary(logs))
        return 0
    if len(logs) != 1:
        parser.error(f"running checks takes one --workdir; got {len(logs)}")
    workdir, log = args.workdir[0], logs[0]
    unknown = sorted(set(args.plants) - set(PLANTS))
    if unknown:
        parser.error(f"unknown plants {unknown}; expected some of {list(PLANTS)}")
    try:  # refused now, not by the first check: a folder an older check (without the marker) left
        claim_output_dir(workdir / "out")
    except ValueError as error:
        parser.error(f"{error} (the workdir's checks write there; give a new --workdir, or delete that folder)")
    repo = workdir / "repo"
    if not repo.exists():
        repo.mkdir(parents=True)
        planted.make_repo(repo)
    base = planted.git(repo, "rev-parse", "main")
    heads = {"A/A": planted.commit_on(repo, base, "aa", planted.same_code)}
    for name in args.plants:
        heads[name] = planted.commit_on(repo, base, name.replace("%", "pc").replace("+", "-"), PLANTS[name])
    planted.git(repo, "checkout", "-q", "main")

    # The commit of the bncvl that decides (this checkout), so a log that spans changes says which rule ran.
    tool_commit = planted.git(Path(__file__).resolve().parent, "rev-parse", "HEAD")
    done = (
        collections.Counter(json.loads(line)["case"] for line in log.read_text().splitlines()) if log.exists() else {}
    )
    wanted = {"A/A": args.aa, **{name: args.runs for name in args.plants}}
    order = [case for name in args.plants for case in ("A/A", name)] or ["A/A"]
    while any(done.get(case, 0) < count for case, count in wanted.items()):
        for case in order:
            if done.get(case, 0) >= wanted[case]:
                continue
            entry = {"case": case, "time": time.strftime("%Y-%m-%d %H:%M:%S"), "decided_by": tool_commit}
            entry.update(run_check(repo, workdir, base, heads[case]))
            entry["load_1min"] = Path("/proc/loadavg").read_text().split()[0]
            with log.open("a") as stream:
                stream.write(json.dumps(entry) + "\n")
            print(json.dumps({k: v for k, v in entry.items() if k != "report"}), flush=True)
            done[case] = done.get(case, 0) + 1
    print(summary([log]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
