"""The results store at fleet scale: build a synthetic store of the suite's real benchmarks, then time every
dashboard page's data and the publish of one new commit. Figures: docs/measurements/2026-12-04-store-scale.md.

    .venv/bin/python -m tools.store_scale --workdir /tmp/scale --engine sqlite --commits 1000
    .venv/bin/python -m tools.store_scale --workdir /tmp/scale --engine postgresql --commits 1000

The store holds ``--commits`` commits of 15 CPU-only and 5 GPU hosts (``--cpu-hosts``, ``--gpu-hosts``), every
benchmark and parameter combination the suite lists (:func:`suite_catalogue`: its classes' ``params``, with a CUDA
build's devices and dtypes for the GPU hosts), built by :func:`bncvl.testing.fleet.build_store`.

It builds the store (PostgreSQL: a throwaway server of Debian's ``postgresql`` in ``--workdir``, built with
``fsync=off``, then restarted with ``fsync=on`` before anything is timed), then times:

- each page's data (:data:`dashboard.loads.PAGES`: what a page reads from the store when it opens on its
  defaults), *cold*: in a new process, connection included, the store's files dropped from the operating
  system's page cache first (``posix_fadvise(DONTNEED)``; PostgreSQL is also restarted, emptying its shared
  buffers); then *warm*: the same again in that process, ``--repeat`` times (the median; Streamlit's own cache,
  which makes a repeated view instant, is not used);
- publishing one new commit of a CPU host and of a GPU host, ``--repeat`` times each: ``bncvl publish`` end to
  end (asv's files written by :func:`bncvl.testing.fleet.write_result_file`, step detection included), and the
  same in this process with its parts timed.

It prints a Markdown report and writes it, with the figures as JSON, to ``--workdir``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import json
import os
import pkgutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def suite_catalogue(cuda: bool):
    """Every benchmark of the asv suite in ``benchmarks/`` as a CPU-only (``cuda`` False) or a CUDA build of torch
    lists it: name, unit and parameter grid, read from the suite's classes (importing it imports torch)."""
    from bncvl.testing.fleet import BenchmarkSpec

    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import benchmarks
    import benchmarks.common as common

    def grid(values: list[str]) -> list[str]:
        # the suite's grid of a CUDA build (benchmarks.common.GRID_DEVICES / GRID_DTYPES are the CPU build's here)
        if cuda and values is common.GRID_DEVICES:
            return common.DEVICES
        if cuda and values is common.GRID_DTYPES:
            return common.DTYPES
        return values

    specs = []
    for module_info in sorted(pkgutil.iter_modules(benchmarks.__path__), key=lambda m: m.name):
        if not module_info.name.startswith("bench_"):
            continue
        module = importlib.import_module(f"benchmarks.{module_info.name}")
        for class_name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or class_name.startswith("_"):
                continue
            params = [tuple(repr(v) for v in grid(values)) for values in getattr(cls, "params", [])]
            names = tuple(getattr(cls, "param_names", []))
            for method in sorted(n for n in dir(cls) if n.startswith(("time_", "track_"))):
                # asv reads an attribute from the method, else from its class
                unit = getattr(getattr(cls, method), "unit", getattr(cls, "unit", "unit"))
                unit = "seconds" if method.startswith("time_") else unit
                name = f"{module_info.name}.{class_name}.{method}"
                specs.append(BenchmarkSpec(name, unit, tuple(params), names))
    return tuple(specs)


def fleet(args: argparse.Namespace):
    from bncvl.testing.fleet import Fleet

    return Fleet(
        suite_catalogue(False),
        suite_catalogue(True),
        args.cpu_hosts,
        args.gpu_hosts,
        args.commits,
        valued_commits=args.valued_commits,
    )


def drop_from_page_cache(paths: list[Path]) -> None:
    """Ask the kernel to drop these files' pages from its cache (they are read from disk again)."""
    for path in paths:
        for file in [path] if path.is_file() else [f for f in path.rglob("*") if f.is_file()]:
            try:
                descriptor = os.open(file, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.fsync(descriptor)
                os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(descriptor)


def time_page(url: str, page: str, repeat: int) -> dict[str, float]:
    """In this (new) process: the page's data cold (connection included), then ``repeat`` times warm."""

    from bncvl.store.engine import open_store, resolve_url
    from dashboard.loads import PAGES

    started = time.perf_counter()
    engine = open_store(resolve_url(url, "."), write=False)
    PAGES[page](engine)
    cold = time.perf_counter() - started
    warm = []
    for _ in range(repeat):
        started = time.perf_counter()
        PAGES[page](engine)
        warm.append(time.perf_counter() - started)
    engine.dispose()
    return {"cold": cold, "warm": statistics.median(warm), "warm_max": max(warm)}


def _subprocess_json(argv: list[str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "tools.store_scale", *argv], cwd=REPO, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_pages(url: str, cache_files: list[Path], server: str | None, repeat: int) -> dict[str, dict]:
    from dashboard.loads import PAGES

    figures = {}
    for page in PAGES:
        drop_from_page_cache(cache_files)
        if server is not None:
            from bncvl.testing.postgres import restart_server

            restart_server(server)
            drop_from_page_cache(cache_files)
        figures[page] = _subprocess_json(["page", "--url", url, "--page", page, "--repeat", str(repeat)])
        print(f"  {page}: cold {figures[page]['cold']:.3f} s, warm {figures[page]['warm']:.3f} s", flush=True)
    return figures


def measure_publish(url: str, plan, workdir: Path, repeat: int) -> dict[str, list[dict]]:
    """``bncvl publish`` of one new commit, end to end, then the same commit's parts timed in this process."""

    from bncvl.store.engine import open_store, resolve_url
    from bncvl.store.publish import Publisher
    from bncvl.store.steps import redetect
    from bncvl.testing.fleet import write_result_file

    figures: dict[str, list[dict]] = {}
    next_commit = plan.commits
    for machine, (name, _gpu) in ((0, plan.machines()[0]), (plan.cpu_hosts, plan.machines()[plan.cpu_hosts])):
        runs = []
        for _ in range(repeat):
            results = workdir / f"publish-{name}-{next_commit}"
            write_result_file(results, plan, machine, next_commit)
            command = [sys.executable, "-m", "bncvl.cli", "publish", "--store", url, "--results-dir", str(results)]
            command += ["--no-runs", "--repo", str(results), "--machine", name]
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            wall = time.perf_counter() - started
            if done.returncode != 0:
                raise RuntimeError(f"bncvl publish failed: {done.stderr[-3000:]}")
            next_commit += 1
            # the parts, on the next new commit, in this process (imports done)
            results = workdir / f"publish-{name}-{next_commit}"
            write_result_file(results, plan, machine, next_commit)
            engine = open_store(resolve_url(url, workdir), write=True)
            started = time.perf_counter()
            publisher = Publisher(engine, None)
            publisher.publish_results(results, [name])
            written = time.perf_counter() - started
            series, steps = redetect(engine, publisher.touched)
            detected = time.perf_counter() - started - written
            engine.dispose()
            next_commit += 1
            runs.append(
                {
                    "end_to_end": wall,
                    "read_and_write": written,
                    "step_detection": detected,
                    "values": publisher.report.values,
                    "series_searched": series,
                    "steps": steps,
                    "summary": done.stdout.strip(),
                }
            )
            print(f"  {name}: {wall:.2f} s end to end; in process {written:.2f} s + {detected:.2f} s", flush=True)
        figures[name] = runs
    return figures


def report(figures: dict) -> str:
    build = figures["build"]
    lines = [
        f"## {figures['engine']}: {figures['commits']:,} commits × {figures['machines']} machines "
        f"(values of the newest {figures['valued_commits']:,})",
        "",
        f"- values: {build['values']:,} in {build['files']:,} result files; {build['steps']:,} steps",
        f"- bulk build: {build['seconds']:.0f} s, {build['values_per_second']:,.0f} values/s",
        f"- size on disk: {figures['bytes'] / 1e9:.2f} GB ({figures['bytes'] / build['values']:.0f} B per value)",
        "- bncvl publish of one new commit, end to end, includes the process's start (about 1 s of imports)",
        "",
        "| page | cold (s) | warm (s, median) | warm (s, max) |",
        "|---|---:|---:|---:|",
    ]
    for page, times in figures["pages"].items():
        lines.append(f"| {page} | {times['cold']:.3f} | {times['warm']:.3f} | {times['warm_max']:.3f} |")
    lines += [
        "",
        "| publish one new commit | end to end (s) | in process: read and write (s) | step detection (s) | values |",
        "|---|---:|---:|---:|---:|",
    ]
    for machine, runs in figures["publish"].items():
        for run in runs:
            lines.append(
                f"| {machine} | {run['end_to_end']:.2f} | {run['read_and_write']:.2f} | "
                f"{run['step_detection']:.2f} | {run['values']:,} |"
            )
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> None:

    from bncvl.store.engine import open_store, resolve_url
    from bncvl.testing.fleet import build_store, store_bytes

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    plan = fleet(args)
    figures: dict = {"engine": args.engine, "commits": args.commits, "machines": len(plan.machines())}
    figures["valued_commits"] = args.valued_commits or args.commits
    with contextlib.ExitStack() as stack:
        if args.engine == "postgresql":
            from bncvl.testing.postgres import create_database, throwaway_server

            server = stack.enter_context(throwaway_server(workdir))
            url = create_database(server, "bncvl")
        else:
            server = None
            path = workdir / "store.sqlite"
            for stale in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
                stale.unlink(missing_ok=True)
            url = f"sqlite:///{path}"
        engine = open_store(resolve_url(url, workdir), write=True)
        print(f"building {args.commits:,} commits of {len(plan.machines())} machines into {args.engine}", flush=True)
        built = build_store(engine, plan, log=lambda line: print(f"  {line}", flush=True))
        figures["build"] = {**vars(built), "values_per_second": built.values_per_second}
        figures["bytes"] = store_bytes(engine)
        engine.dispose()
        if server is not None:
            from bncvl.testing.postgres import data_directory, restart_server

            restart_server(server, {"fsync": "on"})
            cache_files = [data_directory(server)]
        else:
            cache_files = [workdir / "store.sqlite", workdir / "store.sqlite-wal"]
        print("page data:", flush=True)
        figures["pages"] = measure_pages(url, cache_files, server, args.repeat)
        print("publishing one new commit:", flush=True)
        figures["publish"] = measure_publish(url, plan, workdir, args.repeat)
    text = report(figures)
    (workdir / f"scale-{args.engine}-{args.commits}.json").write_text(json.dumps(figures, indent=1, default=str))
    (workdir / f"scale-{args.engine}-{args.commits}.md").write_text(text)
    print(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tools.store_scale", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    page = sub.add_parser("page", help="time one page's data in this process (used by the others)")
    page.add_argument("--url", required=True)
    page.add_argument("--page", required=True)
    page.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", default="/tmp/bncvl-scale")
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--cpu-hosts", type=int, default=15)
    parser.add_argument("--gpu-hosts", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--valued-commits",
        type=int,
        help="write the values of only the newest N commits (the small tables at full scale); default: all",
    )
    args = parser.parse_args(argv)
    if args.command == "page":
        print(json.dumps(time_page(args.url, args.page, args.repeat)))
    else:
        run(args)


if __name__ == "__main__":
    main()
