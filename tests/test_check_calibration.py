"""The calibration's summary: logs merged by case, each check re-decided from its recorded values."""

import json
import subprocess
from pathlib import Path

import pytest

from bncvl.track.counts import COUNTS_DIR
from tools import check_calibration

COUNT = "bench_instructions.Instructions.track_eval_forward('reference', 'tiny', 'cpu', 'float32')"
RELATIVE = "bench_relative.RelativeWallTime.track_eval_forward('reference', 'tiny', 'cpu', 'float32')"
SAME = [2.70, 2.72, 2.68, 2.71, 2.69, 2.73, 2.70]


def _entry(case, exit_code, head_count, head_relative):
    values = {
        "base": {COUNT: [856682.4], RELATIVE: SAME},
        "head": {COUNT: [head_count], RELATIVE: head_relative},
    }
    return {"case": case, "exit": exit_code, "seconds": 420.0, "values": values, "load_1min": "1.50"}


def _write(workdir, *entries):
    workdir.mkdir()
    (workdir / "calibration.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))
    return workdir


def _rows(table):
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()[2:]]
    return {row[0]: row for row in cells}


def _tables(out):
    flagged, effects = out.strip().split("\n\n")
    return _rows(flagged), _rows(effects)


def test_summary_merges_workdirs_and_re_decides_each_check(tmp_path, capsys):
    slower = [value * 1.5 for value in SAME]  # every head process slower than every base one
    first = _write(tmp_path / "a", _entry("A/A", 0, 856682.4, SAME), _entry("pass+5%", 1, 901788.4, SAME))
    # Logged as not flagged (an older rule), flagged by today's: 7 of 7 processes 1.5x slower.
    second = _write(tmp_path / "b", _entry("A/A", 0, 856682.4, SAME), _entry("sleep-1ms", 0, 858000.0, slower))
    # A second wait, 1.2x: the same lowest p, so the effects table shows its ratio (the smaller one).
    with (second / "calibration.jsonl").open("a") as stream:
        stream.write(json.dumps(_entry("sleep-1ms", 1, 858000.0, [value * 1.2 for value in SAME])) + "\n")
    broken = _entry("A/A", 1, 856682.4, SAME)
    broken["values"]["head"][RELATIVE] = None  # failed at head: newly failing
    broken["units"] = {COUNT.split("(")[0]: "instructions", RELATIVE.split("(")[0]: "time ratio"}
    with (second / "calibration.jsonl").open("a") as stream:
        stream.write(json.dumps(broken) + "\n")

    assert check_calibration.main(["--workdir", str(first), "--workdir", str(second), "--summary"]) == 0
    rows, effects = _tables(capsys.readouterr().out)

    assert rows["A/A"][1:5] == ["3", "1", "1 of 3", "0"]
    assert rows["A/A"][5] == "RelativeWallTime.track_eval_forward 1"
    assert rows["pass+5%"][1:5] == ["1", "1", "1 of 1", "0"]
    assert rows["pass+5%"][5] == "Instructions.track_eval_forward 1"
    assert rows["sleep-1ms"][1:5] == ["2", "1", "2 of 2", "0"]
    assert rows["sleep-1ms"][5] == "RelativeWallTime.track_eval_forward 2"
    # The checks each gate flagged (counts, relative timings).
    assert rows["pass+5%"][8:10] == ["1", "0"]
    assert rows["sleep-1ms"][8:10] == ["0", "2"]
    assert rows["A/A"][8:10] == ["0", "1"]  # the newly failing relative timing

    # What each case moved: count ratios head/base; relative timings' largest ratio and lowest p.
    assert effects["A/A"][1:5] == ["1.0000-1.0000", "-", "1.000 (0.5)", "0.5 (1.000)"]
    assert effects["pass+5%"][1] == "1.0527-1.0527"
    assert effects["sleep-1ms"][3:5] == ["1.500 (0.00029)", "0.00029 (1.200)"]


def test_summary_names_a_corrupt_log_line(tmp_path):
    workdir = _write(tmp_path / "a", _entry("A/A", 0, 856682.4, SAME))
    with (workdir / "calibration.jsonl").open("a") as stream:
        stream.write('{"case": "A/A", "exit"\n')
    with pytest.raises(SystemExit, match=r"calibration\.jsonl:2: not a JSON line of a check"):
        check_calibration.main(["--workdir", str(workdir), "--summary"])


def test_running_checks_takes_one_workdir(tmp_path, capsys):
    with pytest.raises(SystemExit):
        check_calibration.main(["--workdir", str(tmp_path / "a"), "--workdir", str(tmp_path / "b")])
    assert "running checks takes one --workdir; got 2" in capsys.readouterr().err


def test_values_are_read_from_a_checks_results_as_bncvl_check_reads_them(tmp_path):
    from bncvl.testing.results import CPU_MACHINE, write_results_set

    hashes = write_results_set(
        tmp_path / "out" / "results",
        commits=2,
        machines=[CPU_MACHINE],
        presets=["small"],
        devices=["cpu"],
        failed=[(CPU_MACHINE, 1, "bench_memory.Memory.track_saved_activation_bytes")],
    )
    base = check_calibration._values(tmp_path / "out", hashes[0], CPU_MACHINE)
    head = check_calibration._values(tmp_path / "out", hashes[1], CPU_MACHINE)
    saved = "bench_memory.Memory.track_saved_activation_bytes('reference', 'small', 'cpu', 'float32')"
    relative = "bench_relative.RelativeWallTime.track_eval_forward('reference', 'small', 'cpu', 'float32')"
    assert len(base[saved]) == 1 and head[saved] is None  # a value without samples; failed at head
    assert len(base[relative]) == 7  # one value per process
    assert check_calibration._units(tmp_path / "out")["bench_memory.Memory.track_saved_activation_bytes"] == "bytes"


def test_a_workdir_whose_output_folder_a_check_did_not_create_is_refused_before_any_check(tmp_path, capsys):
    # A folder left by a check older than the output folder's marker: bncvl check would refuse it at every check.
    (tmp_path / "old" / "out" / "results").mkdir(parents=True)
    with pytest.raises(SystemExit):
        check_calibration.main(["--workdir", str(tmp_path / "old"), "--aa", "0", "--plants"])
    err = capsys.readouterr().err
    assert "holds files that bncvl check did not create" in err and "give a new --workdir" in err
    assert sorted(p.name for p in (tmp_path / "old").iterdir()) == ["out"]  # no repository made, nothing run
    assert [p.name for p in (tmp_path / "old" / "out").iterdir()] == ["results"]


def test_each_check_counts_instructions_afresh(tmp_path, monkeypatch):
    kept = tmp_path / "env" / COUNTS_DIR
    kept.mkdir(parents=True)
    (kept / "entry.json").write_text("{}")
    seen = []

    def check(command, **kwargs):
        seen.append((command[3:6], kept.exists()))
        return subprocess.CompletedProcess(command, 2, "", "could not decide")

    monkeypatch.setattr(check_calibration.subprocess, "run", check)
    entry = check_calibration.run_check(tmp_path / "repo", tmp_path, "a" * 40, "b" * 40)
    assert seen == [(["bncvl.cli", "check", "a" * 40], False)]
    assert entry["exit"] == 2 and entry["error"] == "could not decide"


def test_a_relative_workdir_is_given_to_the_check_as_an_absolute_path(tmp_path, monkeypatch):
    # The check runs in the workdir's repository: --output-dir .asv/calib/out would land inside it.
    commands = []
    monkeypatch.setattr(
        check_calibration.subprocess, "run", lambda command, **kwargs: commands.append(command) or
        subprocess.CompletedProcess(command, 2, "", "could not decide")
    )  # fmt: skip
    monkeypatch.chdir(tmp_path)
    check_calibration.run_check(tmp_path / "work" / "repo", Path("work"), "a" * 40, "b" * 40)
    (command,) = commands
    assert command[command.index("--env-dir") + 1] == str(tmp_path / "work" / "env")
    assert command[command.index("--output-dir") + 1] == str(tmp_path / "work" / "out")
