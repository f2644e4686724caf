"""Instruction counts under callgrind: the dump parser, the missing-tool errors and one real valgrind run."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from asv_runner.discovery import disc_benchmarks

import bncvl
from benchmarks import bench_instructions, callgrind
from bncvl.track.decision import INSTRUCTION_FACTOR, INSTRUCTIONS_UNIT

SUITE = Path(__file__).resolve().parents[1] / "benchmarks"
TINY_CPU = ("tiny", "cpu", "float32")
needs_valgrind = pytest.mark.skipif(callgrind.valgrind_missing() is not None, reason="valgrind is not installed")


def test_totals_line_is_read_and_a_bad_dump_names_the_file(tmp_path: Path) -> None:
    dump = tmp_path / "callgrind.out.1"
    dump.write_text("version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nsummary: 1234\ntotals: 1234\n")
    assert callgrind._totals(dump) == 1234
    dump.write_text("version: 1\nevents: Ir\n")
    with pytest.raises(RuntimeError, match=r"callgrind\.out\.1 has no 'totals:' line"):
        callgrind._totals(dump)
    with pytest.raises(RuntimeError, match=r"callgrind dump .*callgrind\.out\.2 is missing or unreadable"):
        callgrind._totals(tmp_path / "callgrind.out.2")


def test_missing_valgrind_is_named_and_the_benchmarks_skip_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(callgrind.shutil, "which", lambda tool: None)
    reason = "valgrind is not on PATH; install Debian's valgrind package (apt-get install valgrind)"
    assert callgrind.valgrind_missing() == reason
    with pytest.raises(RuntimeError, match=r"valgrind is not on PATH"):
        callgrind.count_instructions([("reference", "tiny")])
    bench = bench_instructions.Instructions()
    cache = bench.setup_cache()
    with pytest.raises(NotImplementedError, match=r"valgrind is not on PATH"):
        bench.setup(cache, "reference", *TINY_CPU)


def test_compiled_variants_are_not_counted_and_say_why() -> None:
    bench = bench_instructions.Instructions()
    with pytest.raises(NotImplementedError, match=r"torch\.compile under valgrind"):
        bench.setup({"counts": {}}, "fast", *TINY_CPU)


def test_discovered_with_the_instructions_unit() -> None:
    found = {b.name: b for b in disc_benchmarks(str(SUITE))}
    for method in ("track_eval_forward", "track_train_step"):
        assert found[f"bench_instructions.Instructions.{method}"].unit == INSTRUCTIONS_UNIT


@needs_valgrind
@pytest.mark.slow
def test_one_valgrind_process_counts_every_variant_repeatably() -> None:
    counts = callgrind.count_instructions([("reference", "tiny"), ("conv_limit", "tiny"), ("no_such", "tiny")])
    assert counts[("no_such", "tiny")].startswith("variant 'no_such' is not registered at this commit")
    reference, limit = counts[("reference", "tiny")], counts[("conv_limit", "tiny")]
    for pass_name in callgrind.PASSES:
        for values in (reference[pass_name], limit[pass_name]):
            assert len(values) == callgrind.REPEATS
            spread = (max(values) - min(values)) / statistics.median(values)
            assert spread < INSTRUCTION_FACTOR - 1, (pass_name, values)
        # The bare convolution does strictly less than the layer around it.
        assert statistics.median(limit[pass_name]) < 0.8 * statistics.median(reference[pass_name])
    assert statistics.median(reference["train_step"]) > 2 * statistics.median(reference["eval_forward"])


def test_the_child_imports_the_suite_beside_it_but_bncvl_from_the_environment(tmp_path: Path) -> None:
    # A checkout's bncvl beside the suite must not shadow the commit under test, installed in asv's environment.
    suite = tmp_path / "checkout" / "benchmarks"
    shutil.copytree(SUITE, suite)
    (tmp_path / "checkout" / "bncvl").mkdir()
    (tmp_path / "checkout" / "bncvl" / "__init__.py").write_text("raise ImportError('the checkout was imported')\n")
    script = (
        f"import runpy, sys; sys.path.insert(0, {str(suite)!r}); "
        f"runpy.run_path({str(suite / 'callgrind.py')!r}, run_name='child')['import_suite_only'](); "
        "import benchmarks.common, bncvl; print(benchmarks.common.__file__); print(bncvl.__file__)"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=True)
    common_file, bncvl_file = out.stdout.split()[-2:]
    assert Path(common_file).parent == suite
    assert Path(bncvl_file).parent == Path(bncvl.__file__).parent
