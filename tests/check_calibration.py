"""Measure ``bncvl check``'s false-positive rate and its smallest reliably detected slowdown.

Not a test (about 40 minutes on an idle 2-core box). README's figures come
from these runs, one after the other, on one working directory::

    .venv/bin/python -m tests.check_calibration --workdir /tmp/calib2 --aa 1 --sizes --runs 0 --default-subset
    .venv/bin/python -m tests.check_calibration --workdir /tmp/calib2 --aa 8 --sizes 0.3 0.5 1.0 --runs 3 \
        --default-subset

It copies the project into a git repository under ``--workdir`` with a base
commit, an A/A commit (README only) and one commit per planted slowdown (a
busy-wait in the reference layer's forward of ``size`` times the base's
median eval-forward time), then runs real ``bncvl check`` commands (the reference layer's tiny eval
forward only, or the default subset for the A/A checks with
``--default-subset``) and
appends one JSON line per run to ``--workdir/calibration.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests import planted

EVAL_FORWARD = "bench_latency.Latency.time_eval_forward('reference', 'tiny', 'cpu', 'float32')"
EVAL_FORWARD_REGEX = r"time_eval_forward\('reference', 'tiny', 'cpu', 'float32'\)$"


def run_check(repo: Path, workdir: Path, base: str, head: str, bench: list[str]) -> dict:
    output = workdir / "out"
    command = [sys.executable, "-P", "-m", "bncvl.cli", "check", base, head, "--env-dir", str(workdir / "env")]
    command += ["--output-dir", str(output)]
    for regex in bench:
        command += ["-b", regex]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    report = (output / "report.md").read_text() if result.returncode in (0, 1) else result.stderr
    worsened = report.split("### Worsened", 1)[-1].split("### Newly failing", 1)[0]
    samples = _samples(output, base), _samples(output, head)
    return {
        "exit": result.returncode,
        "seconds": round(elapsed, 1),
        "worsened": [line.split("`")[1] for line in worsened.splitlines() if line.startswith("| `")],
        "base_median_s": statistics.median(samples[0]) if samples[0] else None,
        "head_median_s": statistics.median(samples[1]) if samples[1] else None,
        "error": result.stderr[-2000:] if result.returncode == 2 else "",
    }


def _samples(output: Path, commit: str) -> list[float]:
    """The raw eval-forward samples of ``commit`` in a check's results."""
    from asv.commands.compare import unroll_result
    from asv.results import iter_results_for_machine_and_hash

    for machine_dir in (output / "results").iterdir():
        if not machine_dir.is_dir():
            continue
        for result in iter_results_for_machine_and_hash(str(output / "results"), machine_dir.name, commit):
            key = "bench_latency.Latency.time_eval_forward"
            params = result.get_result_params(key)
            for name, samples in unroll_result(key, params, result.get_result_samples(key, params)):
                if name == EVAL_FORWARD and samples:
                    return list(samples)
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--aa", type=int, default=10, help="A/A checks with the default subset")
    parser.add_argument("--sizes", type=float, nargs="*", default=[0.15, 0.25, 0.4], help="slowdowns, fractions")
    parser.add_argument("--runs", type=int, default=5, help="checks per slowdown size")
    parser.add_argument(
        "--default-subset", action="store_true", help="A/A checks on the default subset, not eval forward alone"
    )
    args = parser.parse_args(argv)

    repo = args.workdir / "repo"
    log = args.workdir / "calibration.jsonl"
    if not repo.exists():
        repo.mkdir(parents=True)
        planted.make_repo(repo)
    base = planted.git(repo, "rev-parse", "main")
    aa = planted.commit_on(repo, base, "aa", planted.same_code)
    planted.git(repo, "checkout", "-q", "main")

    def record(entry: dict) -> dict:
        entry["time"] = time.strftime("%H:%M:%S")
        with log.open("a") as stream:
            stream.write(json.dumps(entry) + "\n")
        print(json.dumps(entry), flush=True)
        return entry

    bench = [] if args.default_subset else [EVAL_FORWARD_REGEX]
    subset = "default" if args.default_subset else "eval_forward"
    first = record({"kind": "aa", "subset": subset, **run_check(repo, args.workdir, base, aa, bench)})
    base_time = first["base_median_s"]
    for size in args.sizes:
        planted.git(repo, "checkout", "-q", "main")
        slow = planted.commit_on(repo, base, f"spin-{size}", planted.spin_delay(round(size * base_time, 7)))
        planted.git(repo, "checkout", "-q", "main")
        for _ in range(args.runs):
            result = run_check(repo, args.workdir, base, slow, [EVAL_FORWARD_REGEX])
            record({"kind": "slowdown", "size": size, "spin_s": round(size * base_time, 7), **result})
    for _ in range(args.aa - 1):
        record({"kind": "aa", "subset": subset, **run_check(repo, args.workdir, base, aa, bench)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
