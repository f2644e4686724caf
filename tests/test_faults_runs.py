"""Faults of a shared CI runner for ``bncvl check``, ``bncvl history`` and the git calls under them.

kill -9 at a chosen point, two runs at once, an output folder that is not
bncvl's, refs that look like git options, broken configurations and result
files. Each test asserts that nothing was lost, nothing crashed (no
traceback; exit codes keep their meaning: ``bncvl check`` exits 1 only for a
regression) and that the user got one clear line.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bncvl.cli import main as cli_main
from bncvl.commands import history
from bncvl.measure.machine import register
from bncvl.testing import planted
from bncvl.track import asv
from bncvl.track.checkrun import OUTPUT_MARKER, CheckRun
from bncvl.track.git import GitError, commit_subject, commits_in_range, export_tree, merge_base, resolve_commit
from bncvl.track.report import render_markdown
from bncvl.track.verdict import Outcome, Status, compare
from tests.toy_project import make_env, make_toy_repo, tracked

MACHINE = "toybox"


def one_error_line(err: str, command: str) -> str:
    """The one line ``bncvl COMMAND: error: ...`` that ``err`` must consist of."""
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"bncvl {command}: error: "), err
    return lines[0]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throwaway home (asv's machine file, bncvl history's state) with :data:`MACHINE` registered."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    register(MACHINE, home / ".asv-machine.json")
    return home


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository of two commits with an asv configuration that asv reads but cannot build with
    (no environment_type): a check gets as far as asv's build, cheaply."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "asv.conf.json").write_text(json.dumps({"version": 1, "project": "p", "repo": ".", "branches": ["main"]}))
    planted.git(repo, "init", "-q", "-b", "main")
    for message in ("one", "two"):
        (repo / "README").write_text(message)
        planted.git(repo, "add", "-A")
        planted.git(repo, "commit", "-q", "-m", message)
    return repo


# --- 2. a check empties only a folder it created ---------------------------------------------------


def test_check_refuses_an_output_dir_it_did_not_create(
    repo: Path, home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    results = repo / ".asv" / "results" / MACHINE / "0123abcd-env.json"
    results.parent.mkdir(parents=True)
    results.write_text('{"the project": "results"}')
    monkeypatch.chdir(repo)

    assert cli_main(["check", "HEAD~1", "HEAD", "-b", "x", "--machine", MACHINE, "--output-dir", ".asv"]) == 2

    line = one_error_line(capsys.readouterr().err, "check")
    assert f"--output-dir {repo / '.asv'} holds files that bncvl check did not create (no {OUTPUT_MARKER})" in line
    assert results.read_text() == '{"the project": "results"}'
    assert [path.name for path in (repo / ".asv").iterdir()] == ["results"]  # nothing written either


def test_check_refuses_an_output_path_that_is_a_file(
    repo: Path, home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "notes.txt").write_text("mine")
    monkeypatch.chdir(repo)
    assert cli_main(["check", "HEAD~1", "HEAD", "-b", "x", "--output-dir", "notes.txt"]) == 2
    assert "is a file, not a folder" in one_error_line(capsys.readouterr().err, "check")
    assert (repo / "notes.txt").read_text() == "mine"


def test_check_empties_only_what_it_wrote_into_its_own_folder(repo: Path, home: Path, tmp_path: Path) -> None:
    output = tmp_path / "out"
    run = CheckRun.prepare(repo, repo / "asv.conf.json", output, machine=MACHINE)
    assert (output / OUTPUT_MARKER).is_file()
    (run.results_dir / MACHINE).mkdir(parents=True)
    (run.results_dir / MACHINE / "old.json").write_text("{}")
    (output / "report.md").write_text("the last check's report")
    (output / "mine.txt").write_text("a file the user put there")

    CheckRun.prepare(repo, repo / "asv.conf.json", output, machine=MACHINE)

    assert not run.results_dir.exists()
    assert not (output / "report.md").exists()  # a stale report must not pass for this check's
    assert (output / "mine.txt").read_text() == "a file the user put there"
    # An existing empty folder is taken, and marked.
    (tmp_path / "empty").mkdir()
    CheckRun.prepare(repo, repo / "asv.conf.json", tmp_path / "empty", machine=MACHINE)
    assert (tmp_path / "empty" / OUTPUT_MARKER).is_file()


# --- 4. exit codes under infrastructure failures; locks ---------------------------------------------


def test_an_asv_error_during_a_check_exits_2_not_1(
    repo: Path, home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from asv.util import UserError

    def broken_benchmark(self: CheckRun, commits: list[str], bench: list[str], rounds: int) -> None:
        raise UserError("Environment type must be specified")  # asv's error type, neither ValueError nor RuntimeError

    monkeypatch.setattr(CheckRun, "benchmark", broken_benchmark)
    monkeypatch.chdir(repo)
    assert cli_main(["check", "HEAD~1", "HEAD", "-b", "x", "--machine", MACHINE]) == 2
    line = one_error_line(capsys.readouterr().err, "check")
    assert line.endswith("could not decide: UserError: Environment type must be specified")


HOLDER = """
import sys
from pathlib import Path
from bncvl.track.lock import hold

with hold(Path(sys.argv[1]), sys.argv[2]):
    print("held", flush=True)
    sys.stdin.read()
print("released", flush=True)
"""
"""A process that holds the lock at argv[1] as command argv[2] until its stdin closes."""


def _holder(lock: Path, command: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock), command],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_second_process_waits_for_the_lock_and_says_whom_for(tmp_path: Path) -> None:
    lock = tmp_path / "state" / "env.lock"
    first = _holder(lock, "bncvl check")
    assert first.stdout is not None and first.stdin is not None
    assert first.stdout.readline() == "held\n"
    second = _holder(lock, "bncvl check")
    assert second.stderr is not None and second.stdout is not None and second.stdin is not None
    waiting = second.stderr.readline()
    assert re.fullmatch(
        rf"bncvl check: waiting for the lock on {re.escape(str(lock))} held by pid {first.pid} "
        r"\(bncvl check since \d\d:\d\d\)\n",
        waiting,
    ), waiting
    assert second.poll() is None  # it waits: the first still holds the lock

    first.stdin.close()
    assert first.wait(timeout=30) == 0
    assert second.stdout.readline() == "held\n"  # only now
    second.stdin.close()
    assert second.wait(timeout=30) == 0
    assert second.stderr.read() == ""


def test_a_lock_whose_holder_was_killed_is_free_at_once(tmp_path: Path) -> None:
    lock = tmp_path / "env.lock"
    first = _holder(lock, "bncvl history")
    assert first.stdout is not None
    assert first.stdout.readline() == "held\n"
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)

    second = subprocess.run(
        [sys.executable, "-c", HOLDER, str(lock), "bncvl history"], input="", capture_output=True, text=True, timeout=30
    )
    assert (second.returncode, second.stdout, second.stderr) == (0, "held\nreleased\n", "")


# --- 6. refs that look like git options -------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["history", "--existing", "--", "--output={trap}/x"],
        ["history", "--existing", "--", "--output={trap}/x..HEAD"],
        ["history", "--existing", "HEAD~1..HEAD --output={trap}/x"],
        ["check", "-b", "x", "--", "--output={trap}/x", "HEAD"],
        ["check", "-b", "x", "--", "HEAD~1", "--output={trap}/x"],
        ["check", "-b", "x", "--main-branch=--output={trap}/x"],
    ],
)
def test_a_ref_that_looks_like_a_git_option_is_refused_and_creates_nothing(
    repo: Path,
    home: Path,
    tmp_path: Path,
    argv: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    trap = tmp_path / "trap"
    trap.mkdir()
    monkeypatch.chdir(repo)
    assert cli_main([argv[0], "--machine", MACHINE, *(arg.format(trap=trap) for arg in argv[1:])]) == 2
    line = one_error_line(capsys.readouterr().err, argv[0])
    assert "looks like a git option" in line and f"--output={trap}/x" in line
    assert list(trap.iterdir()) == []
    assert not (repo / ".asv" / "check").exists()


def test_an_option_like_ref_is_not_read_as_an_abbreviated_option(
    repo: Path, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # argparse would take --output=DIR for --output-dir=DIR and write the check there.
    monkeypatch.chdir(repo)
    with pytest.raises(SystemExit) as exit_info:
        cli_main(["check", "-b", "x", f"--output={tmp_path / 'made'}", "HEAD~1"])
    assert exit_info.value.code == 2
    assert f"unrecognized arguments: --output={tmp_path / 'made'}" in capsys.readouterr().err
    assert not (tmp_path / "made").exists()


@pytest.mark.parametrize(
    "call",
    [
        lambda repo, ref, into: resolve_commit(repo, ref),
        lambda repo, ref, into: merge_base(repo, ref, "HEAD"),
        lambda repo, ref, into: merge_base(repo, "HEAD", ref),
        lambda repo, ref, into: commit_subject(repo, ref),
        lambda repo, ref, into: commits_in_range(repo, ref),
        lambda repo, ref, into: commits_in_range(repo, f"HEAD~1..HEAD {ref}"),
        lambda repo, ref, into: export_tree(repo, ref, into),
    ],
    ids=["resolve_commit", "merge_base-branch", "merge_base-head", "commit_subject", "range", "range-part", "export"],
)
def test_no_git_call_takes_a_ref_as_an_option(
    repo: Path, tmp_path: Path, call: Callable[[Path, str, Path], object]
) -> None:
    trap = tmp_path / "trap"
    trap.mkdir()
    with pytest.raises(GitError, match="looks like a git option"):
        call(repo, f"--output={trap / 'x'}", tmp_path / "tree")
    assert list(trap.iterdir()) == []


# --- 7. a bad --config is named -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"version": 1, "repo": "."', "Unexpected end of input"),
        ("[1]", "expected a JSON object"),
        ('{"repo": "."}', "No version specified"),
        (None, "no asv configuration"),
    ],
    ids=["truncated", "list", "no-version", "folder"],
)
@pytest.mark.parametrize("command", [["check", "-b", "x", "HEAD~1", "HEAD"], ["history", "--existing", "HEAD~1"]])
def test_a_bad_config_is_named(
    repo: Path,
    home: Path,
    command: list[str],
    text: str | None,
    reason: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = repo / "bad.json"
    if text is None:
        config.mkdir()
    else:
        config.write_text(text)
    monkeypatch.chdir(repo)
    assert cli_main([command[0], "--config", "bad.json", "--machine", MACHINE, *command[1:]]) == 2
    line = one_error_line(capsys.readouterr().err, command[0])
    assert str(config) in line and reason in line
    assert not (repo / ".asv").exists()


# --- 3, 4, 7. bncvl history: run from the repository root, kill -9, two at once, partial results ----------

PAUSING_SUITE = """import os
import time
from pathlib import Path


def track_value():
    import toyproj

    pause = os.environ.get("TOY_PAUSE")
    if pause:  # say the commit is installed and being measured, then wait for "go" (asv's timeout is 60 s)
        Path(pause, "started").touch()
        deadline = time.time() + 50
        while not Path(pause, "go").exists() and time.time() < deadline:
            time.sleep(0.05)
    return toyproj.VALUE


def track_double():
    import toyproj

    return 2 * toyproj.VALUE
"""
"""The toy suite of these tests: two benchmarks, the first of which can be held at a chosen point."""


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The toy project (:mod:`tests.toy_project`) with :data:`PAUSING_SUITE`; its commits, oldest first."""
    repo = tmp_path_factory.mktemp("toy project")  # a space: pip records the path URL-quoted
    return repo, make_toy_repo(repo, PAUSING_SUITE)


@pytest.fixture(scope="module")
def toy_env(tmp_path_factory: pytest.TempPathFactory, toy: tuple[Path, list[str]]) -> str:
    """A venv with the toy project installed editable; its interpreter."""
    return make_env(tmp_path_factory.mktemp("env"), toy[0])


@pytest.fixture
def fresh_toy(toy: tuple[Path, list[str]], toy_env: str, home: Path) -> tuple[Path, list[str]]:
    """The toy project without results, installed editable in :func:`toy_env` as at the start."""
    repo, commits = toy
    subprocess.run(["rm", "-rf", str(repo / ".asv")], check=True)
    assert history.current_install(toy_env, "toyproj") == history.Install(str(repo), editable=True)
    return repo, commits


def _history(repo: Path, python: str, *args: str, cwd: Path, pause: Path | None = None) -> subprocess.Popen[str]:
    """``bncvl history ARGS --existing`` on the toy project in its own process group, as a CI job runs it."""
    command = [sys.executable, "-P", "-m", "bncvl.cli", "history", *args, "--existing", "--python", python]
    command += ["--machine", MACHINE, "--config", str(repo / "asv.conf.json")]
    env = {name: value for name, value in os.environ.items() if name != "TOY_PAUSE"}
    if pause is not None:
        env["TOY_PAUSE"] = str(pause)
    return subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def _wait_for(path: Path, process: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"history exited {process.returncode} early:\n{process.communicate()}")
        assert time.monotonic() < deadline, f"{path} did not appear in {seconds} s"
        time.sleep(0.05)


def test_history_reads_the_install_of_the_environment_not_of_the_working_directory(
    fresh_toy: tuple[Path, list[str]], toy_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, _ = fresh_toy
    # What `pip install -e .` (make setup) leaves in a checkout: setuptools' metadata, without pip's direct_url.json.
    (repo / "toyproj.egg-info").mkdir(exist_ok=True)
    (repo / "toyproj.egg-info" / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: toyproj\nVersion: 0.1\n")
    monkeypatch.chdir(repo)
    assert history.current_install(toy_env, "toyproj") == history.Install(str(repo), editable=True)


@pytest.mark.slow
def test_a_history_killed_mid_run_is_restored_by_the_next_from_another_folder(
    fresh_toy: tuple[Path, list[str]], toy_env: str, tmp_path: Path
) -> None:
    repo, commits = fresh_toy
    pause = tmp_path / "pause"
    pause.mkdir()
    first = _history(repo, toy_env, "HEAD~2..HEAD", cwd=repo, pause=pause)
    _wait_for(pause / "started", first)  # the older commit is installed and being measured
    installed = history.current_install(toy_env, "toyproj")
    assert installed != history.Install(str(repo), editable=True), "the kill point is not the one meant"
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=30)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    second = _history(repo, toy_env, "HEAD~2..HEAD", cwd=elsewhere)
    out, err = second.communicate(timeout=300)

    assert second.returncode == 0, out + err
    assert "Traceback" not in err
    assert "restoring toyproj as it was installed before the bncvl history interrupted since" in out
    assert history.current_install(toy_env, "toyproj") == history.Install(str(repo), editable=True)
    values = tracked(repo / ".asv" / "results", MACHINE)
    assert {commit: v["bench_toy.track_value"] for commit, v in values.items()} == {commits[2]: 30, commits[3]: 40}, out
    assert not list((tmp_path / "home").rglob("*.journal.json"))  # removed once restored


@pytest.mark.slow
def test_two_histories_on_one_environment_take_turns(
    fresh_toy: tuple[Path, list[str]], toy_env: str, tmp_path: Path
) -> None:
    repo, commits = fresh_toy
    pause = tmp_path / "pause"
    pause.mkdir()
    first = _history(repo, toy_env, "HEAD~2..HEAD", cwd=repo, pause=pause)
    _wait_for(pause / "started", first)
    second = _history(repo, toy_env, "HEAD~3..HEAD", cwd=repo)
    assert second.stderr is not None
    waiting = second.stderr.readline()
    assert re.search(rf"^bncvl history: waiting for the lock on .* held by pid {first.pid} \(bncvl history", waiting)
    (pause / "go").touch()
    first_out, first_err = first.communicate(timeout=300)
    second_out, second_err = second.communicate(timeout=300)

    assert (first.returncode, second.returncode) == (0, 0), first_out + first_err + second_out + second_err
    assert "results exist for machine" in second_out  # the first's two commits, measured while it waited
    values = tracked(repo / ".asv" / "results", MACHINE)
    assert {commit: v["bench_toy.track_value"] for commit, v in values.items()} == {
        commits[1]: 20,
        commits[2]: 30,
        commits[3]: 40,
    }
    assert history.current_install(toy_env, "toyproj") == history.Install(str(repo), editable=True)


@pytest.mark.slow
def test_history_benchmarks_a_commit_again_when_its_results_are_partial_or_truncated(
    fresh_toy: tuple[Path, list[str]], toy_env: str
) -> None:
    repo, commits = fresh_toy
    config = repo / "asv.conf.json"
    assert history.run_history("HEAD~1", config, toy_env, MACHINE, ("--quick",), bench=("track_value",)) == [commits[2]]
    # Only track_value was asked for: a run of the whole suite measures the commit again.
    assert history.run_history("HEAD~1", config, toy_env, MACHINE, ("--quick",)) == [commits[2]]
    assert tracked(repo / ".asv" / "results", MACHINE)[commits[2]] == {
        "bench_toy.track_value": 30,
        "bench_toy.track_double": 60,
    }
    assert history.run_history("HEAD~1", config, toy_env, MACHINE, ("--quick",)) == []  # now complete

    (result_file,) = (repo / ".asv" / "results" / MACHINE).glob(f"{commits[2][:8]}-existing*.json")
    text = result_file.read_text()
    result_file.write_text(text[: len(text) // 2])  # asv killed while writing it
    assert history.run_history("HEAD~1", config, toy_env, MACHINE, ("--quick",)) == [commits[2]]
    kept = result_file.with_name(result_file.name + ".unreadable")
    assert kept.read_text() == text[: len(text) // 2]  # moved aside, not lost
    assert tracked(repo / ".asv" / "results", MACHINE)[commits[2]]["bench_toy.track_double"] == 60


def test_a_result_file_covers_a_run_only_when_asv_reads_it_and_it_holds_every_selected_benchmark(
    tmp_path: Path,
) -> None:
    from asv.benchmarks import Benchmarks
    from asv.config import Config

    from bncvl.testing.results import CPU_MACHINE, write_results_set

    results_dir = tmp_path / "results"
    commit = write_results_set(results_dir, commits=1, machines=[CPU_MACHINE])[0]
    conf = Config()
    conf.results_dir = str(results_dir)
    (path,) = (results_dir / CPU_MACHINE).glob(f"{commit[:8]}-*.json")
    result = asv.read_result(path)

    assert asv.missing_benchmarks(result, Benchmarks.load(conf)) == []
    assert asv.missing_benchmarks(result, Benchmarks.load(conf, regex=["Latency"])) == []
    catalogue = json.loads((results_dir / "benchmarks.json").read_text())
    new = {**catalogue["bench_latency.Latency.time_eval_forward"], "name": "bench_new.track_new"}
    changed = {**catalogue["bench_latency.Latency.time_backward"], "version": "changed"}
    more = Benchmarks(conf, [new, changed, catalogue["bench_latency.Latency.time_eval_forward"]])
    assert asv.missing_benchmarks(result, more) == ["bench_latency.Latency.time_backward", "bench_new.track_new"]

    text = path.read_text()
    path.write_text(text[: len(text) // 2])
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: asv cannot read this result file: "):
        asv.read_result(path)


# --- 4. two real checks at once on one repository --------------------------------------------------------

SAVED_BYTES = r"\.track_saved_activation_bytes\('reference', 'tiny', 'cpu', 'float32'\)$"


@pytest.mark.slow
def test_two_checks_at_once_on_one_repository_each_decide_their_own_commits(
    tmp_path: Path, check_env_dir: Path
) -> None:
    # Both use the repository's default output folder (.asv/check) and one asv environment folder:
    # the second waits for the first, then each decides on its own head.
    path = tmp_path / "repo"
    path.mkdir()
    base = planted.make_repo(path)
    heads = {
        "same-code": planted.commit_on(path, base, "same-code", planted.same_code),
        "hungrier": planted.commit_on(path, base, "hungrier", planted.extra_activation),
    }
    planted.git(path, "checkout", "-q", "main")
    env_dir = check_env_dir
    environ = {**os.environ, "HOME": str(tmp_path)}  # asv's machine file lives in $HOME
    checks = {}
    for name, head in heads.items():
        command = [sys.executable, "-P", "-m", "bncvl.cli", "check", base, head, "-b", SAVED_BYTES]
        command += ["--env-dir", str(env_dir), "--report", str(tmp_path / f"{name}.md")]
        checks[name] = subprocess.Popen(
            command, cwd=path, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        if name == "same-code":  # the second starts once the first holds the output folder
            lock = path / ".asv" / "check" / ".bncvl-check.lock"
            deadline = time.monotonic() + 120
            while not (lock.is_file() and f"pid {checks[name].pid} " in lock.read_text()):
                assert checks[name].poll() is None and time.monotonic() < deadline, checks[name].communicate()
                time.sleep(0.05)
    outputs = {name: process.communicate(timeout=1800) for name, process in checks.items()}

    codes = {name: process.returncode for name, process in checks.items()}
    assert codes == {"same-code": 0, "hungrier": 1}, outputs
    assert "waiting for the lock on" in outputs["hungrier"][1], outputs["hungrier"][1]
    same, hungrier = ((tmp_path / f"{name}.md").read_text() for name in heads)
    assert f"→ head `{heads['same-code'][:8]}`" in same and "### Worsened (0)" in same
    assert f"→ head `{heads['hungrier'][:8]}`" in hungrier and "### Worsened (1)" in hungrier
    assert (path / ".asv" / "check" / "report.md").read_text() == hungrier  # the one that ran last


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (math.inf, "inf is not finite"),
        (1e308, "beyond"),
        ("0.0012", "is not a number"),
        (-0.002, "negative"),
    ],
    ids=["Infinity", "1e308", "a string", "a negative time"],
)
def test_a_value_that_is_not_a_measurement_makes_the_check_undecided_not_a_verdict(value: object, reason: str) -> None:
    """A benchmark whose result file holds an absurd value (asv stores what the benchmark returned) is
    neither a regression nor a pass: the check cannot decide (exit 2) and the report names the value."""
    name = "bench_latency.Latency.time_eval_forward('reference', 'tiny', 'cpu', 'float32')"
    saved = "bench_memory.Memory.track_saved_activation_bytes('reference', 'tiny', 'cpu', 'float32')"
    units = {name.split("(")[0]: "seconds", saved.split("(")[0]: "bytes"}
    before = {name: Outcome(0.001), saved: Outcome(50_000.0)}
    after = {name: Outcome(value), saved: Outcome(50_000.0)}  # type: ignore[arg-type]
    comparison = compare("a" * 40, "b" * 40, before, after, units)
    (change,) = (c for c in comparison.changes if c.name == name)
    assert change.status is Status.INVALID and reason in change.significance
    assert comparison.exit_code == 2
    report = render_markdown(comparison)
    assert "### Invalid values (1)" in report and "not measurements" in report
