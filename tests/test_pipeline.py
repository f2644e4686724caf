"""`bncvl pipeline`, the main job: its pieces on a real temporary git repository."""

import json
import subprocess

import pytest

from benchmarks.common import QUICK_REGEX
from bncvl.commands.pipeline import DEFAULT_BENCHMARKS, SHORT_RUN, asv_run_command, complete_run
from bncvl.track.git import GitError, recent_commits


@pytest.fixture
def repo(tmp_path):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    for i in range(3):
        (tmp_path / "f.txt").write_text(str(i))
        git("add", "f.txt")
        git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", f"c{i}")
    return tmp_path


def test_recent_commits_newest_first_and_capped_by_history(repo):
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    assert recent_commits(repo, 2)[0] == head
    assert len(recent_commits(repo, 2)) == 2
    assert len(recent_commits(repo, 10)) == 3


def test_recent_commits_errors(tmp_path):
    with pytest.raises(ValueError, match="--commits must be >= 1; got 0"):
        recent_commits(tmp_path, 0)
    with pytest.raises(GitError, match="is not a git checkout with commits"):
        recent_commits(tmp_path, 1)


def test_asv_command_skips_existing_and_is_short_by_default(tmp_path):
    command = asv_run_command("box-cpu", tmp_path / "h.txt", full=False, benchmarks=["tiny", "Storage"])
    assert command[1:5] == ["-m", "asv", "run", f"HASHFILE:{tmp_path / 'h.txt'}"]
    assert {"--skip-existing", "--show-stderr"} <= set(command)
    assert "--quick" not in command  # its one sample reads a short pass high: SHORT_RUN takes the median of five
    assert " ".join(SHORT_RUN) in " ".join(command)
    assert command[command.index("--machine") + 1] == "box-cpu"
    assert [command[i + 1] for i, arg in enumerate(command) if arg == "--bench"] == ["tiny", "Storage"]
    full = asv_run_command("box-cpu", tmp_path / "h.txt", full=True, benchmarks=[])
    assert "-a" not in full and "--quick" not in full


def test_default_subset_selects_the_quick_subset_storage_and_quantization():
    """Each default pattern must select benchmarks of the suite, or a dashboard page stays empty."""
    from benchmarks import bench_memory, bench_quantization

    assert QUICK_REGEX in DEFAULT_BENCHMARKS
    assert bench_memory.WeightStorage.__name__ in DEFAULT_BENCHMARKS
    assert bench_quantization.__name__.split(".")[-1] in DEFAULT_BENCHMARKS


def test_complete_run_needs_a_finished_summary(tmp_path, capsys):
    run = tmp_path / "default"
    assert not complete_run(tmp_path, "default")
    run.mkdir()
    (run / "summary.json").write_text('{"complete": tr')  # truncated by an interruption
    assert not complete_run(tmp_path, "default")
    assert f"{run / 'summary.json'}: invalid JSON" in capsys.readouterr().err
    (run / "summary.json").write_text("[]")
    assert not complete_run(tmp_path, "default")
    assert f"{run / 'summary.json'}: expected a JSON object, got list" in capsys.readouterr().err
    (run / "summary.json").write_text(json.dumps({"complete": "yes"}))
    assert not complete_run(tmp_path, "default")
    (run / "summary.json").write_text(json.dumps({"complete": True}))
    assert complete_run(tmp_path, "default")
