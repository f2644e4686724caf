"""bncvl.analysis.rundir: analysis run directories, including interrupted ones."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pandas", reason="needs the dashboard extra")

from bncvl.analysis.rundir import list_runs, load_run, load_runs, read_jsonl
from bncvl.testing.runs import write_run
from dashboard.data import fingerprint


def test_truncated_last_line_is_dropped_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 0}\n{"step": 1}\n{"step": 2, "flip_ra')
    warnings: list[str] = []
    assert read_jsonl(path, warnings) == [{"step": 0}, {"step": 1}]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{path}:3: truncated last line")


def test_bad_middle_lines_are_skipped_and_named(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 0}\nnot json\n[1, 2]\n\n{"step": 3}\n\n')
    warnings: list[str] = []
    assert read_jsonl(path, warnings) == [{"step": 0}, {"step": 3}]
    assert warnings[0].startswith(f"{path}:2: invalid JSON")
    assert warnings[1] == f"{path}:3: expected a JSON object, got list; skipped"
    assert read_jsonl(tmp_path / "absent.jsonl", warnings) == []
    assert warnings[-1] == f"{tmp_path / 'absent.jsonl'}: missing"


def test_a_complete_run_loads_every_file(runs_dir: Path) -> None:
    run = load_run(runs_dir / "digits-seed0")
    assert run.warnings == ()
    assert run.complete
    assert run.config["dataset"] == "digits"
    assert run.summary["accuracy_gap"] == pytest.approx(0.97 - 0.93)
    layers = run.layer_metrics
    assert set(layers["layer"]) == {"conv1", "conv2"}
    assert len(layers) == 2 * 30
    first = layers[layers["step"] == 0]
    assert first["flip_ratio"].isna().all(), "undefined at the first step: missing, not 0"
    assert (layers[layers["step"] > 0]["flip_ratio"] > 0).all()
    models = run.model_metrics
    assert set(models["model"]) == {"bncvl", "float"}
    evaluated = models[models["test_accuracy"].notna()]
    assert sorted(set(evaluated["step"])) == [0, 10, 20, 29]
    assert set(run.histograms["kind"]) == {"latent_weight", "margin"}
    latent = run.histograms[run.histograms["kind"] == "latent_weight"].iloc[0]
    assert len(latent["edges"]) == len(latent["counts"]) + 1
    assert latent["threshold"] is not None
    assert [p.name for p in run.snapshots] == ["step_000000.npz"]
    with np.load(run.snapshots[0], allow_pickle=False) as snapshot:
        assert tuple(snapshot["conv1.weight.shape"]) == (8, 1, 3, 3)


def test_an_interrupted_run_still_loads(runs_dir: Path) -> None:
    run = load_run(runs_dir / "interrupted")
    assert not run.complete
    assert len(run.warnings) == 1
    assert "metrics.jsonl" in run.warnings[0] and "truncated last line" in run.warnings[0]
    assert run.metrics["step"].max() == 29
    assert len(run.metrics) == 30 * 4 - 1


def test_missing_files_become_warnings(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path, "bare")
    (run_dir / "summary.json").unlink()
    (run_dir / "histograms.jsonl").unlink()
    (run_dir / "config.json").write_text("{broken")
    run = load_run(run_dir)
    assert run.config == {} and run.histograms.empty and not run.complete
    assert any(w.startswith(f"{run_dir / 'config.json'}: invalid JSON") for w in run.warnings)
    assert f"{run_dir / 'histograms.jsonl'}: missing" in run.warnings
    assert any(w.startswith(str(run_dir / "summary.json")) for w in run.warnings)
    assert not math.isnan(run.metrics["step"].max())


def test_listing_skips_other_directories(runs_dir: Path, tmp_path: Path) -> None:
    assert [p.name for p in list_runs(runs_dir)] == ["digits-seed0", "digits-seed1", "interrupted"]
    assert [run.name for run in load_runs(runs_dir)] == ["digits-seed0", "digits-seed1", "interrupted"]
    (tmp_path / "notes").mkdir()
    assert list_runs(tmp_path) == []
    assert list_runs(tmp_path / "absent") == []
    with pytest.raises(FileNotFoundError, match=r"run directory .* does not exist"):
        load_run(tmp_path / "absent")


def test_fingerprint_follows_a_growing_run(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path, "live")
    before = fingerprint([tmp_path])
    with (run_dir / "metrics.jsonl").open("a") as handle:
        handle.write(json.dumps({"step": 30, "model": "bncvl", "layer": None}) + "\n")
    assert fingerprint([tmp_path]) != before
