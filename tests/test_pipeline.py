"""`bncvl pipeline`, the main job: its pieces on a real temporary git repository."""

import json
import subprocess

import pytest

from bncvl.pipeline import asv_run_command, complete_run, recent_commits


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
    assert recent_commits(2, repo)[0] == head
    assert len(recent_commits(2, repo)) == 2
    assert len(recent_commits(10, repo)) == 3


def test_recent_commits_errors(tmp_path):
    with pytest.raises(ValueError, match="--commits must be >= 1; got 0"):
        recent_commits(0, tmp_path)
    with pytest.raises(RuntimeError, match="is not a git checkout with commits"):
        recent_commits(1, tmp_path)


def test_asv_command_skips_existing_and_is_quick_by_default(tmp_path):
    command = asv_run_command("box-cpu", tmp_path / "h.txt", quick=True, benchmarks="tiny")
    assert command[1:3] == ["run", f"HASHFILE:{tmp_path / 'h.txt'}"]
    assert {"--skip-existing", "--quick", "--show-stderr"} <= set(command)
    assert command[command.index("--machine") + 1] == "box-cpu"
    assert command[command.index("--bench") + 1] == "tiny"
    assert "--quick" not in asv_run_command("box-cpu", tmp_path / "h.txt", quick=False, benchmarks=None)


def test_complete_run_needs_a_finished_summary(tmp_path):
    run = tmp_path / "default"
    assert not complete_run(tmp_path, "default")
    run.mkdir()
    (run / "summary.json").write_text('{"complete": tr')  # truncated by an interruption
    assert not complete_run(tmp_path, "default")
    (run / "summary.json").write_text(json.dumps({"complete": True}))
    assert complete_run(tmp_path, "default")
