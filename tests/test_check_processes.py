"""How ``bncvl check`` runs its benchmarks: the selection, the per-process measurements, the kept counts, the trees.

The end-to-end checks on real git repositories are in ``test_check_e2e.py``;
the fork server's real processes are the slow tests at the end.
"""

from __future__ import annotations

import json
import sys
import time
import types
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from benchmarks import bench_instructions, bench_memory, bench_relative, callgrind
from benchmarks.figures import memory_figures
from benchmarks.timing import PairedRatios
from bncvl.testing import planted
from bncvl.track import checkbench, counts
from bncvl.track.checkrun import PACKAGE, TREES, CheckRun
from bncvl.track.forks import Answer, ForkServer, Request
from bncvl.track.git import GitError, export_tree, tree_hash
from bncvl.track.selection import select

TINY_CPU = ("reference", "tiny", "cpu", "float32")
SUITE = Path(__file__).resolve().parents[1] / "benchmarks"


# --- what is selected, and how each is run ----------------------------------------------------------


def _asv_benchmark(name: str, params: list[list[str]], timeout: float = 60) -> dict:
    """A benchmark as asv's discovery describes it (parameters as their reprs)."""
    return {"name": name, "params": [[repr(value) for value in values] for values in params], "timeout": timeout}


def test_the_selection_sorts_each_benchmark_by_how_it_is_run() -> None:
    relative = _asv_benchmark("bench_relative.RelativeCpuTime.track_eval_forward", [["reference", "fast"], ["tiny"]])
    counted = _asv_benchmark("bench_instructions.Instructions.track_train_step", [["reference"], ["tiny"]], 1200)
    latency = _asv_benchmark("bench_latency.Latency.time_eval_forward", [["reference"], ["tiny"]])
    flops = _asv_benchmark("bench_efficiency.Efficiency.track_forward_flops", [["reference"], ["tiny"]])
    weights = _asv_benchmark("bench_memory.WeightStorage.track_float_weight_bytes", [["reference"], ["tiny"]])
    benchmarks = {b["name"]: b for b in (relative, counted, latency, flops, weights)}
    chosen = select(benchmarks, {relative["name"]: [1], counted["name"]: [0], latency["name"]: [0]})

    fast = ("RelativeCpuTime", "track_eval_forward", ("fast", "tiny"))
    assert chosen.own == {
        "relative": [fast],
        "instructions": [("Instructions", "track_train_step", ("reference", "tiny"))],
    }
    assert chosen.slots[fast] == (relative["name"], 1)
    assert chosen.timeouts[("Instructions", "track_train_step", ("reference", "tiny"))] == 1200
    assert (chosen.timed, chosen.untimed) == ([latency["name"]], [flops["name"], weights["name"]])  # asv runs these


# --- one process, every relative timing: each pass once, both clocks ---------------------------------


def test_one_process_measures_each_pass_once_and_reads_both_clocks(monkeypatch: pytest.MonkeyPatch) -> None:
    measured: list[str] = []

    def paired(self: object, run: object, mode: str) -> PairedRatios:
        measured.append(mode)
        return PairedRatios(wall=[2.0, 2.2, 2.1], cpu=[1.5, 1.4, 1.6])

    monkeypatch.setattr(bench_relative._Relative, "paired", paired)
    wanted = [(cls, method) for cls in ("RelativeWallTime", "RelativeCpuTime") for method in bench_relative.PASSES]
    values = bench_relative.measure_together(TINY_CPU, wanted)

    assert measured == ["eval", "train"]
    assert values == {
        ("RelativeWallTime", "track_eval_forward"): 2.1,
        ("RelativeWallTime", "track_train_step"): 2.1,
        ("RelativeCpuTime", "track_eval_forward"): 1.5,
        ("RelativeCpuTime", "track_train_step"): 1.5,
    }
    measured.clear()
    only_eval = bench_relative.measure_together(TINY_CPU, [("RelativeCpuTime", "track_eval_forward")])
    assert measured == ["eval"] and only_eval == {("RelativeCpuTime", "track_eval_forward"): 1.5}


def test_a_cpu_clock_too_coarse_leaves_the_wall_clock_measured_from_the_same_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    measured: list[str] = []

    def paired(self: object, run: object, mode: str) -> PairedRatios:
        measured.append(mode)
        return PairedRatios(wall=[2.0, 2.2, 2.1], cpu=[1.5, 1.4, 1.6])

    coarse = types.SimpleNamespace(resolution=1e-3)
    real = time.get_clock_info
    monkeypatch.setattr(time, "get_clock_info", lambda name: coarse if name == "process_time" else real(name))
    monkeypatch.setattr(bench_relative._Relative, "paired", paired)
    closed: list[object] = []
    monkeypatch.setattr(bench_relative.Reproducible, "close", lambda self: closed.append(self))
    wanted = [(cls, method) for cls in ("RelativeWallTime", "RelativeCpuTime") for method in bench_relative.PASSES]
    values = bench_relative.measure_together(TINY_CPU, wanted)

    reason = "this platform's CPU clock ticks every 0.001 s; 1 µs or finer needed"
    assert values == {
        ("RelativeWallTime", "track_eval_forward"): 2.1,
        ("RelativeWallTime", "track_train_step"): 2.1,
        ("RelativeCpuTime", "track_eval_forward"): reason,
        ("RelativeCpuTime", "track_train_step"): reason,
    }
    assert measured == ["eval", "train"]
    assert len(closed) == 1, "the measuring subject's seeds are restored"


def test_what_cannot_run_here_is_skipped_with_the_reason_and_not_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    def paired(self: object, run: object, mode: str) -> PairedRatios:
        pytest.fail("nothing should be measured")

    monkeypatch.setattr(bench_relative._Relative, "paired", paired)
    cuda = ("reference", "tiny", "cuda", "float32")
    cpu_clock = bench_relative.measure_together(cuda, [("RelativeCpuTime", "track_eval_forward")])
    assert cpu_clock == {
        ("RelativeCpuTime", "track_eval_forward"): "CPU time does not measure work on the GPU; see RelativeWallTime"
    }
    float16 = bench_relative.measure_together(
        ("reference", "tiny", "cpu", "float16"), [("RelativeWallTime", "track_train_step")]
    )
    assert float16 == {
        (
            "RelativeWallTime",
            "track_train_step",
        ): "the CPU is measured in float32 only (see benchmarks.common.CPU_DTYPE)"
    }
    closed: list[object] = []
    monkeypatch.setattr(bench_relative.Reproducible, "close", lambda self: closed.append(self))
    unknown = ("a-variant-of-a-later-commit", "tiny", "cpu", "float32")
    refused = bench_relative.measure_together(unknown, [("RelativeCpuTime", "track_eval_forward")])
    assert "variant 'a-variant-of-a-later-commit' is not registered at this commit" in refused.popitem()[1]
    assert len(closed) == 1, "a setup that refused after seeding restores the seeds"
    with pytest.raises(ValueError, match=r"no relative timing RelativeGpuTime\.track_eval_forward"):
        bench_relative.measure_together(TINY_CPU, [("RelativeGpuTime", "track_eval_forward")])


# --- bytes and instruction counts of the selection only ------------------------------------------------


def test_bytes_of_one_combination_are_memorys_figures_for_it() -> None:
    methods = ["track_peak_forward_bytes", "track_peak_train_step_bytes", "track_saved_activation_bytes"]
    values = bench_memory.measure_selected(TINY_CPU, methods)
    figures = memory_figures(*TINY_CPU)
    assert values == {
        "track_peak_forward_bytes": figures["peak_forward"],
        "track_peak_train_step_bytes": figures["peak_train_step"],
        "track_saved_activation_bytes": figures["saved_activation"],
    }
    float16 = bench_memory.measure_selected(("reference", "tiny", "cpu", "float16"), methods[:1])
    assert float16 == {
        "track_peak_forward_bytes": "the CPU is measured in float32 only (see benchmarks.common.CPU_DTYPE)"
    }


def test_kept_counts_are_read_as_instructions_reads_its_cache() -> None:
    counted = {
        "counts": [
            ["reference", "tiny", {"eval_forward": [300.0, 100.0, 200.0], "train_step": [500.0, 600.0, 500.0]}],
            ["cached", "tiny", "variant 'cached' is not registered at this commit"],
        ]
    }
    methods = ["track_eval_forward", "track_train_step"]
    assert bench_instructions.values_of(counted, TINY_CPU, methods) == {
        "track_eval_forward": 200.0,
        "track_train_step": 500.0,
    }
    cached = bench_instructions.values_of(counted, ("cached", "tiny", "cpu", "float32"), methods[:1])
    assert cached == {"track_eval_forward": "variant 'cached' is not registered at this commit"}
    fast = bench_instructions.values_of(counted, ("fast", "tiny", "cpu", "float32"), methods[:1])
    assert fast["track_eval_forward"].startswith("torch.compile under valgrind took about 7 minutes")
    no_valgrind = bench_instructions.values_of({"skip": "valgrind is not on PATH"}, TINY_CPU, methods[:1])
    assert no_valgrind == {"track_eval_forward": "valgrind is not on PATH"}


def test_without_valgrind_nothing_is_counted_and_the_reason_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(callgrind.shutil, "which", lambda tool: None)
    monkeypatch.setattr(callgrind, "count_instructions", lambda jobs: pytest.fail("valgrind is missing"))
    skip = bench_instructions.count_selected([TINY_CPU])
    assert skip == {"skip": "valgrind is not on PATH; install Debian's valgrind package (apt-get install valgrind)"}


def test_only_the_selected_variants_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    jobs_counted: list[list[tuple[str, str]]] = []

    def count(jobs: list[tuple[str, str]]) -> dict:
        jobs_counted.append(jobs)
        return {job: {"eval_forward": [1.0], "train_step": [2.0]} for job in jobs}

    monkeypatch.setattr(callgrind.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(bench_instructions, "count_instructions", count)
    counted = bench_instructions.count_selected([TINY_CPU, ("fast", "tiny", "cpu", "float32"), TINY_CPU])
    assert jobs_counted == [[("reference", "tiny")]]  # fast is compiled: never counted; each variant once
    assert counted == {"counts": [["reference", "tiny", {"eval_forward": [1.0], "train_step": [2.0]}]]}
    assert json.loads(json.dumps(counted)) == counted


# --- counts kept between checks ------------------------------------------------------------------------


def _key(**changes: object) -> counts.CountKey:
    fields = {
        "package_tree": "a" * 40,
        "suite": "b" * 64,
        "torch": "2.13.0+cpu",
        "python": "virtualenv-py3.11 3.11",
        "valgrind": "valgrind-3.19.0",
        "machine": "vm-cpu",
        "cpu": "Intel(R) Xeon(R) Processor flags:0123456789abcdef",
        "combinations": (TINY_CPU,),
    }
    return counts.CountKey(**{**fields, **changes})


COUNTED = {"counts": [["reference", "tiny", {"eval_forward": [1.0, 1.0, 1.0], "train_step": [2.0, 2.0, 2.0]}]]}


def test_counts_are_kept_under_everything_they_depend_on(tmp_path: Path) -> None:
    counts.store(tmp_path, _key(), COUNTED)
    assert counts.load(tmp_path, _key()) == COUNTED
    for change in [
        {"package_tree": "c" * 40},
        {"suite": "d" * 64},
        {"torch": "2.14.0+cpu"},
        {"python": "virtualenv-py3.12 3.12"},
        {"valgrind": "valgrind-3.22.0"},
        {"machine": "ci-runner"},
        {"cpu": "AMD EPYC 7B13 flags:0123456789abcdef"},
        {"combinations": (TINY_CPU, ("cached", "tiny", "cpu", "float32"))},
    ]:
        assert counts.load(tmp_path, _key(**change)) is None, change


def test_a_skip_is_not_kept_and_a_damaged_entry_is_not_read(tmp_path: Path) -> None:
    counts.store(tmp_path, _key(), {"skip": "valgrind is not on PATH"})
    assert counts.load(tmp_path, _key()) is None
    assert not (tmp_path / counts.COUNTS_DIR).exists()
    counts.store(tmp_path, _key(), COUNTED)
    (entry,) = (tmp_path / counts.COUNTS_DIR).iterdir()
    entry.write_text(entry.read_text()[:40])
    assert counts.load(tmp_path, _key()) is None
    entry.write_text(json.dumps({"key": {"machine": "another"}, "counted": COUNTED}))
    assert counts.load(tmp_path, _key()) is None


def test_the_cpu_is_its_model_and_its_flags(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    processor = "processor\t: {n}\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu avx2 {extra}\n\n"
    cpuinfo.write_text(processor.format(n=0, extra="sse") + processor.format(n=1, extra="sse"))
    identity = counts.cpu_identity(cpuinfo)
    assert identity.startswith("AMD EPYC 7B13 flags:")
    cpuinfo.write_text(processor.format(n=0, extra="avx512f") + processor.format(n=1, extra="avx512f"))
    assert counts.cpu_identity(cpuinfo).startswith("AMD EPYC 7B13 flags:") and counts.cpu_identity(cpuinfo) != identity
    assert counts.cpu_identity(tmp_path / "missing")  # elsewhere, Python's name of the processor


def test_the_suites_digest_changes_with_any_of_its_files(tmp_path: Path) -> None:
    (tmp_path / "bench_a.py").write_text("x = 1\n")
    first = counts.suite_digest(tmp_path)
    assert counts.suite_digest(tmp_path) == first
    (tmp_path / "bench_a.py").write_text("x = 2\n")
    second = counts.suite_digest(tmp_path)
    (tmp_path / "common.py").write_text("")
    assert len({first, second, counts.suite_digest(tmp_path)}) == 3


# --- each commit's package, from git -----------------------------------------------------------------------


@pytest.fixture
def package_repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A git repository with a ``bncvl/`` package: a base, a README-only commit, a code change, and no package."""
    repo = tmp_path / "repo"
    (repo / PACKAGE).mkdir(parents=True)
    (repo / PACKAGE / "__init__.py").write_text("VALUE = 1\n")
    (repo / "README.md").write_text("readme\n")
    planted.git(repo, "init", "-q", "-b", "main")
    planted.git(repo, "add", "-A")
    planted.git(repo, "commit", "-q", "-m", "base")
    commits = {"base": planted.git(repo, "rev-parse", "HEAD")}
    for name, path, text in [("readme", "README.md", "more\n"), ("code", f"{PACKAGE}/__init__.py", "VALUE = 2\n")]:
        (repo / path).write_text(text)
        planted.git(repo, "commit", "-q", "-a", "-m", name)
        commits[name] = planted.git(repo, "rev-parse", "HEAD")
    planted.git(repo, "rm", "-q", "-r", PACKAGE)
    planted.git(repo, "commit", "-q", "-m", "no package")
    commits["none"] = planted.git(repo, "rev-parse", "HEAD")
    return repo, commits


def test_the_package_tree_is_the_same_exactly_when_its_code_is(package_repo: tuple[Path, dict[str, str]]) -> None:
    repo, commits = package_repo
    assert tree_hash(repo, commits["base"], PACKAGE) == tree_hash(repo, commits["readme"], PACKAGE)
    assert tree_hash(repo, commits["base"], PACKAGE) != tree_hash(repo, commits["code"], PACKAGE)
    with pytest.raises(GitError, match=rf"commit {commits['none'][:8]} has no bncvl/"):
        tree_hash(repo, commits["none"], PACKAGE)


@pytest.mark.parametrize("where", ["unknown commit", "not a checkout"])
def test_a_tree_of_an_unknown_commit_or_outside_a_checkout_says_so_in_gits_words(
    where: str, package_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    repo, commits = package_repo
    if where == "unknown commit":
        with pytest.raises(GitError, match=r"failed in .*: fatal: Needed a single revision") as raised:
            tree_hash(repo, "0" * 40, PACKAGE)
    else:
        with pytest.raises(GitError, match=r"failed in .*: fatal: not a git repository") as raised:
            tree_hash(tmp_path, commits["base"], PACKAGE)
    assert "has no bncvl/" not in str(raised.value)


def test_only_the_package_is_exported(package_repo: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    repo, commits = package_repo
    export_tree(repo, commits["code"], tmp_path / "tree", PACKAGE)
    assert [p.relative_to(tmp_path / "tree").as_posix() for p in sorted((tmp_path / "tree").rglob("*"))] == [
        "bncvl",
        "bncvl/__init__.py",
    ]
    assert (tmp_path / "tree" / PACKAGE / "__init__.py").read_text() == "VALUE = 2\n"


def _check_run(repo: Path, tmp_path: Path) -> CheckRun:
    (repo / "asv.conf.json").write_text(json.dumps({"version": 1, "repo": ".", "branches": ["main"]}))
    config = tmp_path / "out" / "asv.conf.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"version": 1, "repo": str(repo), "branches": ["main"]}))
    return CheckRun(config, tmp_path / "out", "toybox")


def test_each_commit_gets_its_own_tree_of_the_same_path_length_removed_afterwards(
    package_repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    repo, commits = package_repo
    run = _check_run(repo, tmp_path)
    with run.trees([commits["base"], commits["code"]]) as trees:
        base, head = trees[commits["base"]], trees[commits["code"]]
        assert base.parent == head.parent == run.output_dir / TREES
        assert len(str(base)) == len(str(head)) and base != head
        assert (head / PACKAGE / "__init__.py").read_text() == "VALUE = 2\n"
    assert not (run.output_dir / TREES).exists()
    with (
        pytest.raises(GitError, match=rf"commit {commits['none'][:8]} has no bncvl/"),
        run.trees(list(commits.values())),
    ):
        pytest.fail("a commit has no package: nothing to measure")
    assert not (run.output_dir / TREES).exists()


def test_a_matrix_of_several_environments_is_refused_naming_them(tmp_path: Path) -> None:
    config = tmp_path / "out" / "asv.conf.json"
    config.parent.mkdir()
    matrix = {"req": {"torch": ["2.12.0", "2.13.0"]}}
    conf = {"version": 1, "repo": str(tmp_path), "environment_type": "virtualenv", "pythons": ["3.11"]}
    conf["matrix"] = matrix
    config.write_text(json.dumps({**conf, "env_dir": str(tmp_path / "env")}))
    with pytest.raises(RuntimeError, match=r"bncvl check runs in one asv environment; .* give 2 \(virtualenv-py3\.11-"):
        CheckRun(config, tmp_path / "out", "toybox").environment()
    assert not (tmp_path / "env").exists()  # refused before anything was created


# --- counts: counted once per distinct code, kept, then reused -------------------------------------------


@dataclass
class FakeServer:
    """Answers as the fork server would, and remembers the requests."""

    torch_version: str = "2.13.0+cpu"
    requests: list[list[Request]] = field(default_factory=list)

    def run(self, requests: list[Request]) -> list[Answer]:
        self.requests.append(list(requests))
        answers = []
        for request in requests:
            counted = request.counted or (COUNTED if request.kind == "instructions" else None)
            answers.append(Answer(dict.fromkeys(request.benchmarks, 1.0), counted))
        return answers


@dataclass(frozen=True)
class FakeEnv:
    name: str = "virtualenv-py3.11-torch2.13.0"
    python: str = "3.11"


def test_counts_run_once_per_distinct_code_and_are_reused_by_the_next_check(
    package_repo: tuple[Path, dict[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, commits = package_repo
    config = tmp_path / "out" / "asv.conf.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"repo": str(repo), "benchmark_dir": str(SUITE), "env_dir": str(tmp_path / "env")}))
    run = CheckRun(config, tmp_path / "out", "toybox")
    selection = select(
        {"bench_instructions.Instructions.track_eval_forward": _asv_benchmark(
            "bench_instructions.Instructions.track_eval_forward", [[value] for value in TINY_CPU]
        )},
        {},
    )  # fmt: skip
    trees = {commit: tmp_path / commit for commit in commits.values()}

    def check(*names: str) -> FakeServer:
        server = FakeServer()
        values = {commits[name]: checkbench.defaultdict(list) for name in names}
        with (tmp_path / "log").open("w") as log:
            progress = checkbench._Progress(log)
            checkbench._exact(server, run, FakeEnv(), trees, [commits[n] for n in names], selection, values, progress)
        assert all(values[commits[name]] for name in names)
        return server

    # A/A: the README-only head has the base's code, so it is counted once, then read from what was kept.
    first = check("base", "readme")
    assert [[(r.tree, r.counted) for r in batch] for batch in first.requests] == [
        [(trees[commits["base"]], None)],
        [(trees[commits["readme"]], COUNTED)],
    ]
    # The next check of that base with a code change counts only the head.
    second = check("base", "code")
    assert [(r.tree, r.counted) for r in second.requests[0]] == [
        (trees[commits["base"]], COUNTED),
        (trees[commits["code"]], None),
    ]
    assert len(second.requests) == 1
    # And the one after needs no valgrind at all.
    third = check("code", "base")
    assert all(request.counted == COUNTED for batch in third.requests for request in batch)
    assert "kept from an earlier check of the same code" in capsys.readouterr().out


# --- the fork server: real processes ----------------------------------------------------------------------------


@pytest.fixture
def trees(tmp_path: Path) -> dict[str, Path]:
    """Folders to put first on the children's path: this checkout's bncvl, and a bncvl that fails to import."""
    good, broken = tmp_path / "good", tmp_path / "broken"
    good.mkdir()
    (good / PACKAGE).symlink_to(Path(bench_relative.__file__).resolve().parents[1] / PACKAGE)
    (broken / PACKAGE).mkdir(parents=True)
    (broken / PACKAGE / "__init__.py").write_text("raise ImportError('this commit does not import')\n")
    return {"good": good, "broken": broken}


BYTES = ("Memory", "track_saved_activation_bytes", TINY_CPU)


@pytest.mark.slow
def test_the_fork_server_measures_each_request_against_its_tree(trees: dict[str, Path], tmp_path: Path) -> None:
    log = tmp_path / "log"
    with log.open("w") as stream, ForkServer.started(Path(sys.executable), SUITE, stream) as server:
        assert server.torch_version.startswith("2.")
        good, broken, slow = server.run(
            [
                Request("memory", trees["good"], [BYTES], timeout=120),
                Request("memory", trees["broken"], [BYTES], timeout=120),
                Request("relative", trees["good"], [("RelativeWallTime", "track_eval_forward", TINY_CPU)], 0.5),
            ]
        )
        assert good.values == {BYTES: memory_figures(*TINY_CPU)["saved_activation"]} and not good.failure
        (error,) = broken.values.values()
        assert "ImportError: this commit does not import" in error["error"]
        assert slow.values == {} and slow.failure == (
            "the benchmark process was killed after its timeout of 0.5 s without an answer; see the log"
        )
        # The server goes on serving after a child failed or was killed.
        (again,) = server.run([Request("memory", trees["good"], [BYTES], timeout=120)])
        assert again.values == good.values
    assert "this commit does not import" in log.read_text()


@pytest.mark.slow
def test_a_server_that_cannot_start_is_an_error_naming_it(tmp_path: Path) -> None:
    suite = tmp_path / "benchmarks"
    suite.mkdir()
    (suite / "forkserver.py").write_text("import sys; sys.exit(3)\n")
    with (
        (tmp_path / "log").open("w") as log,
        ForkServer.started(Path(sys.executable), suite, log) as server,
        pytest.raises(RuntimeError, match=r"the benchmark server \(.*forkserver\.py\) exited before it was ready"),
    ):
        server.run([Request("memory", tmp_path, [BYTES], timeout=10)])


@pytest.mark.slow
def test_asv_discovers_the_suite_against_the_commits_tree_not_an_installed_bncvl(
    trees: dict[str, Path], tmp_path: Path
) -> None:
    from asv.config import Config
    from asv.util import UserError

    conf = Config()
    conf.benchmark_dir = str(SUITE)
    conf.results_dir = str(tmp_path / "results")
    conf.repo, conf.branches, conf.dvcs = str(SUITE.parent), [], "git"
    head = planted.git(SUITE.parent, "rev-parse", "HEAD")
    # This interpreter has bncvl installed: only a suite that imports the tree's bncvl fails on the broken one.
    with pytest.raises(UserError, match="import the benchmark suite"):
        checkbench._discover(conf, Path(sys.executable), [trees["broken"]], [head], [r"Memory\.track_saved"])
    found = checkbench._discover(
        conf, Path(sys.executable), [trees["broken"], trees["good"]], [head], [r"Memory\.track_saved"]
    )
    assert list(found) == ["bench_memory.Memory.track_saved_activation_bytes"]
    assert (tmp_path / "results" / "benchmarks.json").is_file()


CLIENT = """
import sys
from pathlib import Path
from bncvl.track.forks import ForkServer, Request

suite, tree, log = map(Path, sys.argv[1:])
with log.open("w") as stream, ForkServer.started(Path(sys.executable), suite, stream) as server:
    server.wait_ready()
    print("server", server._process.pid, flush=True)
    bytes_ = ("Memory", "track_saved_activation_bytes", ("reference", "tiny", "cpu", "float32"))
    server.run([Request("memory", tree, [bytes_], 600)])
"""
"""A check's part that starts the server and waits for a child: it is the process a ``kill -9`` hits."""


def _forks(pid: int) -> list[int]:
    """The children of ``pid`` that are forks of it (the same command line), not programs it runs."""
    try:
        children = [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
        return [child for child in children if Path(f"/proc/{child}/cmdline").read_bytes() == command]
    except OSError:
        return []


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead and not yet reaped, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
def test_the_server_and_its_processes_end_when_the_check_is_killed(tmp_path: Path) -> None:
    import signal
    import subprocess
    import time

    stuck = tmp_path / "stuck"
    (stuck / PACKAGE).mkdir(parents=True)
    (stuck / PACKAGE / "__init__.py").write_text("import time\ntime.sleep(600)\n")  # a child that would run 10 min
    client = subprocess.Popen(
        [sys.executable, "-c", CLIENT, str(SUITE), str(stuck), str(tmp_path / "log")], stdout=subprocess.PIPE, text=True
    )
    assert client.stdout is not None
    server = int(client.stdout.readline().split()[1])
    deadline = time.monotonic() + 120
    while not _forks(server):
        assert time.monotonic() < deadline and client.poll() is None, (tmp_path / "log").read_text()
        time.sleep(0.1)
    (child,) = _forks(server)

    client.send_signal(signal.SIGKILL)
    client.wait()
    deadline = time.monotonic() + 30
    while _running(server) or _running(child):
        assert time.monotonic() < deadline, f"server {server} or its child {child} outlived the check"
        time.sleep(0.1)
