"""``bncvl gpu-check``: at once and exit 2 without a CUDA host; on one, every stage under a time limit and one
report, written whatever a stage does (rehearsed here on the CPU, stage by stage)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
import torch

from bncvl.cli import main as bncvl
from bncvl.commands import gpu_check
from bncvl.commands.gpu_check import Stage, run_stage, write_report

REPO = Path(__file__).resolve().parent.parent


def test_a_cpu_only_machine_is_refused_at_once_naming_why(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(REPO)
    before = set((REPO / "docs" / "measurements").glob("*gpu-self-check*"))
    code = bncvl(["gpu-check", "--report", str(tmp_path / "report.md")])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith("bncvl gpu-check: error: no CUDA torch build: torch 2.13.0+cpu is a CPU-only build")
    assert (
        not (tmp_path / "report.md").exists()
        and set((REPO / "docs" / "measurements").glob("*gpu-self-check*")) == before
    )


class FakeNvml(types.SimpleNamespace):
    class NVMLError(Exception):
        pass

    def nvmlInit(self) -> None:
        raise self.NVMLError("NVML Shared Library Not Found")


@pytest.mark.parametrize(
    ("cuda", "available", "nvml", "reason"),
    [
        (None, False, None, "no CUDA torch build: torch "),
        ("12.4", False, None, "no GPU: torch "),
        ("12.4", True, "missing", "no NVML: NVML sampling needs the nvidia-ml-py package"),
        ("12.4", True, "broken", "no NVML library: NVML Shared Library Not Found"),
    ],
)
def test_each_reason_a_machine_cannot_run_the_check(
    monkeypatch: pytest.MonkeyPatch, cuda: str | None, available: bool, nvml: str | None, reason: str
) -> None:
    import bncvl.measure.nvml as nvml_module

    monkeypatch.setattr(torch.version, "cuda", cuda)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    if nvml == "missing":
        monkeypatch.setitem(sys.modules, "pynvml", None)
    elif nvml == "broken":
        monkeypatch.setattr(nvml_module, "load_nvml", lambda: FakeNvml())
    assert (gpu_check.gpu_unavailable() or "").startswith(reason)


def test_a_stage_that_fails_or_hangs_is_reported_with_its_exit_code_and_output(tmp_path: Path) -> None:
    python = sys.executable
    results = [
        run_stage(Stage("passes", [python, "-c", "print('fine')"], 30), tmp_path),
        run_stage(
            Stage("fails", [python, "-c", "import sys; print('x\\n' * 60 + 'the end'); sys.exit(3)"], 30), tmp_path
        ),
        run_stage(
            Stage("hangs", [python, "-c", "import time; print('started', flush=True); time.sleep(60)"], 1), tmp_path
        ),
        run_stage(Stage("missing", ["/nonexistent/tool"], 5), tmp_path),
    ]
    assert [(r.outcome, r.exit_code) for r in results[:3]] == [("passed", 0), ("failed", 3), ("timed out", -9)]
    assert results[2].seconds < 10 and results[2].tail == "started"
    assert results[1].tail.endswith("the end") and len(results[1].tail.splitlines()) == gpu_check.TAIL_LINES
    assert results[3].outcome == "failed" and "cannot start" in results[3].tail
    report = tmp_path / "docs" / "report.md"
    write_report(report, {"date": "2026-12-04", "host": "box", "GPU": "none"}, results)
    text = report.read_text()
    assert text.startswith("# 2026-12-04: GPU self-check on box\n\n- **GPU:** none\n")
    assert "| fails | failed | 3 |" in text and "| hangs | timed out | -9 |" in text
    assert "## hangs: timed out" in text and "started" in text


@pytest.mark.slow
def test_the_check_rehearsed_on_the_cpu_runs_every_stage_and_writes_its_report(tmp_path: Path) -> None:
    """Every stage's command as on a GPU host (a CPU slice of the suite): the NVML stage fails here, the others pass,
    and the report says so; the store is published and read back."""
    import subprocess

    report = tmp_path / "report.md"
    command = [sys.executable, "-m", "bncvl.cli", "gpu-check", "--rehearse-on-cpu", "--report", str(report)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 1, done.stderr[-3000:]
    text = report.read_text()
    rows = [line.split("|") for line in text.splitlines() if line.startswith("| ") and "seconds (limit)" not in line]
    outcomes = {row[1].strip(): row[2].strip() for row in rows}
    assert outcomes == {
        "GPU tests (pytest -m gpu)": "passed",
        "NVML sampling": "failed",
        "register the machine": "passed",
        "asv, GPU slice (--quick)": "passed",
        "publish into an embedded store": "passed",
        "read the store back": "passed",
    }, text
    # asv records the benchmark's whole grid (32 combinations), the one the slice selects measured
    assert '"files": 1, "values": 32, "ok": 1, "skipped": 31' in text, "the asv run, published and read back"
    assert "NVML" in text.split("## NVML sampling: failed")[1].split("##")[0]


def test_the_stages_limits_keep_the_check_within_its_budget(tmp_path: Path) -> None:
    limits = [stage.timeout_s for stage in gpu_check.stages(REPO, tmp_path, gpu_check.GPU_SLICE, "gpu-host")]
    assert len(limits) == 6 and sum(limits) < gpu_check.BUDGET_S == 480
