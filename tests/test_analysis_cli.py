"""``bncvl analyze`` and ``bncvl summary`` through the console script's router."""

from __future__ import annotations

import json
import re
import time

import pytest

from bncvl.analysis import read_json, read_jsonl
from bncvl.cli import main
from bncvl.commands.analyze import default_run_name

TINY = ["--epochs", "1", "--batch-size", "256", "--channels", "4,4", "--checkpoints", "2"]


def test_analyze_writes_a_named_run_and_prints_its_summary(tmp_path, capsys):
    assert main(["analyze", *TINY, "--runs-dir", str(tmp_path), "--name", "r1", "--no-progress", "--json"]) == 0
    out, err = capsys.readouterr()
    printed = json.loads(out)
    assert printed["run_dir"] == str(tmp_path / "r1")
    summary = read_json(tmp_path / "r1" / "summary.json")
    assert printed == {"run_dir": str(tmp_path / "r1"), **summary}
    assert summary["steps"] == 6  # ceil(1437 / 256)
    assert err == ""  # --no-progress: nothing on stderr
    assert read_json(tmp_path / "r1" / "config.json")["channels"] == [4, 4]


def test_analyze_progress_bar_goes_to_stderr(tmp_path, capsys):
    assert main(["analyze", *TINY, "--runs-dir", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert "bncvl analyze" in err
    assert "7/7" in err  # steps 0..6
    assert "test accuracy: BNCVL" in out
    (run,) = tmp_path.iterdir()
    assert re.fullmatch(r"digits-seed0-\d{8}-\d{6}", run.name)
    assert f"run directory: {run}" in out
    assert len(read_jsonl(run / "metrics.jsonl")) == 7 * 4


def test_analyze_refuses_an_existing_run(tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "config.json").write_text("{}")
    assert main(["analyze", *TINY, "--runs-dir", str(tmp_path), "--name", "taken", "--no-progress"]) == 2
    assert "already exists and is not empty; choose another --name" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--channels", "32,x"], "--channels expects comma-separated positive ints such as 32,32; got '32,x'"),
        (["--epochs", "0"], "epochs must be a positive int; got 0"),
        (["--dataset", "missing.npz"], "dataset file 'missing.npz' does not exist"),
    ],
)
def test_analyze_bad_arguments(tmp_path, capsys, flags, message):
    assert main(["analyze", "--runs-dir", str(tmp_path), "--no-progress", *flags]) == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing written for a run that could not start


def test_default_run_name_uses_the_dataset_stem():
    now = time.strptime("2026-01-02 03:04:05", "%Y-%m-%d %H:%M:%S")
    assert default_run_name("digits", 3, now) == "digits-seed3-20260102-030405"
    assert default_run_name("/data/my_images.npz", 0, now) == "my_images-seed0-20260102-030405"


def test_summary_prints_the_table(capsys):
    assert main(["summary"]) == 0
    out = capsys.readouterr().out
    assert "conv1" in out
    assert "head" in out
    assert "compression 1.45x" in out


def test_summary_json_counts_by_hand(capsys):
    assert main(["summary", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    rows = {row["name"]: row for row in summary["layers"]}
    assert [row["kind"] for row in summary["layers"]] == ["BNCVL", "BNCVL", "Linear"]
    # conv1: 32 filters of 1x3x3 and 32 biases, 1 bit each; 8x8 outputs per filter, 9 MACs each.
    assert rows["conv1"]["binary_params"] == 32 * 9 + 32
    assert rows["conv1"]["packed_bytes"] == 288 // 8 + 32 // 8
    assert rows["conv1"]["float_bytes"] == 4 * (288 + 32)
    assert rows["conv1"]["binary_weight_macs"] == 32 * 64 * 9
    assert rows["conv2"]["binary_params"] == 32 * 32 * 9 + 32
    assert rows["conv2"]["binary_weight_macs"] == 32 * 64 * 32 * 9
    assert rows["head"]["float_params"] == 32 * 64 * 10 + 10
    assert rows["head"]["float_macs"] == 32 * 64 * 10
    assert rows["head"]["packed_bytes"] == rows["head"]["float_bytes"]
    assert (rows["conv2"]["params"], rows["conv2"]["macs"]) == (9248, 589_824)
    totals = summary["totals"]
    float_bytes = 4 * (320 + 9248 + 20490)
    packed_bytes = (36 + 4) + (1152 + 4) + 4 * 20490
    assert (totals["float_bytes"], totals["packed_bytes"]) == (float_bytes, packed_bytes)
    assert totals["compression_ratio"] == pytest.approx(float_bytes / packed_bytes)
    assert totals["macs"] == 18_432 + 589_824 + 20_480


def test_summary_of_the_float_twin_has_no_binary_parameters(capsys):
    assert main(["summary", "--float", "--json", "--channels", "8", "--image-shape", "3,4,4", "--classes", "2"]) == 0
    totals = json.loads(capsys.readouterr().out)["totals"]
    assert totals["binary_params"] == 0
    assert totals["params"] == (8 * 3 * 9 + 8) + (8 * 16 * 2 + 2)
    assert totals["compression_ratio"] == 1.0


def test_summary_bad_image_shape(capsys):
    assert main(["summary", "--image-shape", "8,8"]) == 2
    assert "--image-shape expects three positive ints C,H,W such as 1,8,8; got '8,8'" in capsys.readouterr().err
