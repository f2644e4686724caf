"""Faults a user can type or a file can hold, command by command: each is refused cleanly or survived.

A refused command exits 2 with exactly one ``bncvl <command>: error:`` line that names the problem
(the option or file, the form expected, what was got), prints no traceback, and leaves every file as
it was: nothing created, overwritten or lost. The guarantees are listed in docs/reliability.md.
"""

from __future__ import annotations

import argparse
import fcntl
import functools
import json
import os
import re
import warnings
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import cmarkgfm
import pytest
import torch
from cmarkgfm.cmark import Options as cmarkgfm_options

import bncvl
from bncvl.analysis.rundir import METRICS, SUMMARY, RunWriter, read_json
from bncvl.cli import main
from bncvl.commands import analyze, pipeline
from bncvl.layers.functional import EPS
from bncvl.layers.fused import (
    COMPILE_ENV,
    EAGER_KERNELS,
    FusedBNCVL,
    RecompileLimitWarning,
    compiled_kernels,
    reset_compiled_kernels,
)
from bncvl.track.checkrun import ENV_LOCK
from bncvl.track.report import render_markdown
from bncvl.track.verdict import Outcome, compare, parse_factor_rule

TINY_ANALYZE = ["--epochs", "1", "--batch-size", "512", "--channels", "2", "--checkpoints", "2", "--no-progress"]
TINY_PROFILE = ["--preset", "tiny", "--repeats", "1", "--warmup", "0", "--variants", "reference"]


@pytest.fixture(autouse=True)
def eager_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI faults are not about torch.compile: eager kernels keep a wrongly accepted profile short."""
    monkeypatch.setenv(COMPILE_ENV, "0")


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for a directory): what a refused command must not change."""
    return {
        str(path.relative_to(root)): None if path.is_dir() else path.read_bytes() for path in sorted(root.rglob("*"))
    }


def assert_refused(code: int, capsys: pytest.CaptureFixture[str], command: str, *fragments: str) -> str:
    """Exit 2, one ``bncvl <command>: error:`` line holding every fragment, no traceback; the line."""
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith(f"bncvl {command}: error: ")]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


# --- bncvl analyze: where the run goes --------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../x", "../x", "a/b", "/abs/run", ".", "..", "", "a\\b", "nul\0byte"])
def test_analyze_refuses_a_run_name_that_is_not_one_path_component(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    runs = tmp_path / "project" / "runs"
    runs.mkdir(parents=True)
    before = tree(tmp_path)
    code = main(["analyze", *TINY_ANALYZE, "--runs-dir", str(runs), "--name", name])
    assert_refused(code, capsys, "analyze", "--name", "one path component", repr(name))
    assert tree(tmp_path) == before


@pytest.mark.parametrize("under_a_file", [False, True])
def test_analyze_refuses_a_runs_dir_that_is_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], under_a_file: bool
) -> None:
    file = tmp_path / "passwd"
    file.write_text("root:x:0:0\n")
    runs_dir = file / "runs" if under_a_file else file
    before = tree(tmp_path)
    code = main(["analyze", *TINY_ANALYZE, "--runs-dir", str(runs_dir), "--name", "r"])
    assert_refused(code, capsys, "analyze", "--runs-dir", str(runs_dir), "directory")
    assert tree(tmp_path) == before


def test_analyze_refuses_a_runs_dir_it_cannot_create(capsys: pytest.CaptureFixture[str]) -> None:
    """Linux's /proc takes no new directory, not even from root (whom file modes do not stop)."""
    code = main(["analyze", *TINY_ANALYZE, "--runs-dir", "/proc/self/runs", "--name", "r"])
    assert_refused(code, capsys, "analyze", "--runs-dir: cannot create run directory '/proc/self/runs/r'")


def test_analyze_refuses_a_dataset_that_is_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["analyze", *TINY_ANALYZE, "--runs-dir", str(tmp_path / "runs"), "--dataset", str(tmp_path)])
    assert_refused(code, capsys, "analyze", f"dataset file {str(tmp_path)!r} is a directory; expected a .npz")
    assert [path.name for path in tmp_path.iterdir()] == []


# --- bncvl machine: a machine file that is not asv's ------------------------------------------------


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"box": {"machine": "box"', "invalid JSON"),
        (b"", "invalid JSON"),
        (b"[1, 2]", "expected a JSON object of machine records, got list"),
        (b'{"version": 1, "box": "not a record"}', "record 'box' is a str"),
        (b'{"version": 99, "box": {"machine": "box"}}', "format version 99"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_machine_refuses_a_machine_file_it_cannot_read_and_leaves_it_as_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, problem: str
) -> None:
    machine_file = tmp_path / "bad.json"
    machine_file.write_bytes(content)
    code = main(["machine", "--name", "box-cpu", "--machine-file", str(machine_file)])
    assert_refused(code, capsys, "machine", str(machine_file), problem)
    assert machine_file.read_bytes() == content


def test_machine_refuses_a_machine_file_that_is_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = tree(tmp_path)
    code = main(["machine", "--name", "box-cpu", "--machine-file", str(tmp_path)])
    assert_refused(code, capsys, "machine", str(tmp_path), "not a file")
    assert tree(tmp_path) == before


def test_machine_adds_its_record_and_keeps_the_others(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    machine_file = tmp_path / "asv-machine.json"
    other = {"machine": "other", "os": "Linux", "arch": "x86_64", "cpu": "c", "num_cpu": "2", "ram": "1"}
    machine_file.write_text(json.dumps({"version": 1, "other": other}))
    assert main(["machine", "--name", "box-cpu", "--machine-file", str(machine_file), "--json"]) == 0
    stored = json.loads(machine_file.read_text())
    assert stored["other"] == other and stored["box-cpu"]["machine"] == "box-cpu" and stored["version"] == 1
    assert [path.name for path in tmp_path.iterdir()] == [machine_file.name]  # no temporary file left


# --- numbers and lists out of range -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--warmup", "-1"], "--warmup must be an int >= 0; got -1"),
        (["--repeats", "0"], "--repeats must be an int >= 1; got 0"),
        (["--threads", "0"], "--threads must be an int >= 1; got 0"),
        (["--seed", "-1"], "--seed must be an int in [0, 2**64); got -1"),
        (["--seed", str(2**64)], f"--seed must be an int in [0, 2**64); got {2**64}"),
        (["--variants", ","], "--variants expects comma-separated names from ["),
        (["--variants", ""], "--variants expects comma-separated names from ["),
        (["--variants", "reference,,fast"], "got 'reference,,fast'"),
    ],
)
def test_profile_refuses_out_of_range_options(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert_refused(main(["profile", *TINY_PROFILE, *argv]), capsys, "profile", message)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--epochs", "0"], "--epochs must be a positive int; got 0"),
        (["--batch-size", "-1"], "--batch-size must be a positive int; got -1"),
        (["--kernel-size", "0"], "--kernel-size must be a positive int; got 0"),
        (["--threads", "0"], "--threads must be a positive int; got 0"),
        (["--checkpoints", "1"], "--checkpoints must be >= 2 (the first and the last step); got 1"),
        (["--lr", "nan"], "--lr must be a positive finite number; got nan"),
        (["--lr", "inf"], "--lr must be a positive finite number; got inf"),
        (["--lr", "-0.1"], "--lr must be a positive finite number; got -0.1"),
        (["--lr-min", "nan"], "--lr-min must be in [0, --lr=0.01]; got nan"),
        (["--test-fraction", "nan"], "--test-fraction must be in (0, 1); got nan"),
        (["--test-fraction", "1"], "--test-fraction must be in (0, 1); got 1.0"),
        (["--seed", "-1"], "--seed must be an int in [0, 2**64); got -1"),
        (["--channels", ","], "--channels expects comma-separated positive ints such as 32,32; got ','"),
    ],
)
def test_analyze_refuses_out_of_range_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code = main(["analyze", *TINY_ANALYZE, "--runs-dir", str(tmp_path), *argv])
    assert_refused(code, capsys, "analyze", message)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--classes", "0"], "--classes must be positive ints; got 3 and 0"),
        (["--kernel-size", "-2"], "--kernel-size and --classes must be positive ints; got -2 and 10"),
        (["--channels", ","], "--channels expects comma-separated positive ints such as 32,32; got ','"),
        (["--image-shape", "1,0,8"], "--image-shape expects three positive ints C,H,W such as 1,8,8; got '1,0,8'"),
    ],
)
def test_summary_refuses_out_of_range_options(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert_refused(main(["summary", *argv]), capsys, "summary", message)


def test_publish_refuses_a_negative_steps_window_before_it_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["publish", "--store", str(tmp_path / "store.sqlite"), "--results-dir", str(tmp_path), "--no-runs"]
    code = main([*argv, "--steps-window", "-20"])
    assert_refused(code, capsys, "publish", "--steps-window must be a number of commits >= 0", "got -20")
    assert list(tmp_path.iterdir()) == []


# --- bncvl pipeline after an interrupted analysis -----------------------------------------------------


class FakeAnalyze:
    """``bncvl analyze``'s main as the pipeline calls it: writes a run; the first ``interruptions`` calls stop early."""

    def __init__(self, interruptions: int) -> None:
        self.interruptions = interruptions
        self.runs: list[Path] = []

    def __call__(self, args: argparse.Namespace) -> int:
        run_dir = Path(args.runs_dir) / (args.name or f"digits-seed0-{len(self.runs)}")
        self.runs.append(run_dir)
        with RunWriter(run_dir) as writer:
            writer.append_metrics([{"step": 0, "model": "bncvl", "loss": 2.0}])
            if len(self.runs) <= self.interruptions:
                return 130  # as analyze after Ctrl-C: the steps so far, no summary.json
            writer.write_json(SUMMARY, {"complete": True})
        return 0


def run_pipeline(runs: Path, fake: FakeAnalyze, monkeypatch: pytest.MonkeyPatch) -> int:
    """One ``bncvl pipeline --no-serve`` with asv, the machine's registration and training stubbed."""
    monkeypatch.setattr(pipeline, "register", lambda: {"machine": "box-cpu"})
    monkeypatch.setattr(pipeline, "recent_commits", lambda repo, count: ["a" * 40])
    monkeypatch.setattr(analyze, "main", fake)
    parser = argparse.ArgumentParser()
    pipeline.configure(parser)
    return pipeline.main(parser.parse_args(["--runs-dir", str(runs), "--no-serve"]), run=lambda argv: 0)


def test_pipeline_after_an_interrupted_analysis_trains_once_and_keeps_the_interrupted_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "asv.conf.json").write_text("{}")
    runs = tmp_path / "runs"
    fake = FakeAnalyze(interruptions=1)
    assert run_pipeline(runs, fake, monkeypatch) == 130
    interrupted = tree(runs / "default")
    for _ in range(3):
        assert run_pipeline(runs, fake, monkeypatch) == 0
    assert fake.runs == [runs / "default"] * 2  # the interrupted run, then one training, then reuse
    (aside,) = (path for path in runs.iterdir() if path.name != "default")
    assert aside.name.startswith("default.interrupted-")
    assert tree(aside) == interrupted  # the interrupted run's steps, kept as they were
    assert read_json(runs / "default" / SUMMARY)["complete"] is True
    assert f"{runs / 'default'} is incomplete (an interrupted analysis); moved it to {aside}" in capsys.readouterr().out


def test_pipeline_trains_into_an_empty_default_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "asv.conf.json").write_text("{}")
    (tmp_path / "runs" / "default").mkdir(parents=True)
    fake = FakeAnalyze(interruptions=0)
    assert run_pipeline(tmp_path / "runs", fake, monkeypatch) == 0
    assert fake.runs == [tmp_path / "runs" / "default"]
    assert [path.name for path in (tmp_path / "runs").iterdir()] == ["default"]
    assert (tmp_path / "runs" / "default" / METRICS).is_file()
    import sqlite3  # the pipeline published the run into the embedded store, for the dashboard

    with sqlite3.connect(tmp_path / ".asv" / "results" / "bncvl-store.sqlite") as connection:
        assert connection.execute("SELECT name, complete FROM analysis_runs").fetchall() == [("default", 1)]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "0"], "--port must be between 1 and 65535, got 0"),
        (["--port", "70000"], "--port must be between 1 and 65535, got 70000"),
        (["--runs-dir", "passwd"], "--runs-dir expects a directory (created if missing); got 'passwd'"),
    ],
)
def test_pipeline_refuses_a_bad_option_before_it_benchmarks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "asv.conf.json").write_text("{}")
    (tmp_path / "passwd").write_text("root:x:0:0\n")
    monkeypatch.setattr(pipeline, "register", lambda: pytest.fail("registered the machine"))
    monkeypatch.setattr(pipeline, "recent_commits", lambda repo, count: ["a" * 40])
    code = main(["pipeline", *argv])
    assert_refused(code, capsys, "pipeline", message)


def test_pipeline_refuses_fewer_than_one_commit_before_it_benchmarks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "asv.conf.json").write_text("{}")
    monkeypatch.setattr(pipeline, "register", lambda: pytest.fail("registered the machine"))
    assert_refused(main(["pipeline", "--commits", "0"]), capsys, "pipeline", "--commits must be >= 1; got 0")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["asv.conf.json"]


# --- bncvl check's pull-request report: hostile commit subjects, benchmark names and machine facts ------------


class Rendered(HTMLParser):
    """HTML as GitHub's Markdown renderer (cmark-gfm) wrote it: every tag, the cells of each table row, code texts."""

    def __init__(self, markdown: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.rows: list[list[str]] = []
        self.code: list[str] = []
        self.paragraphs: list[str] = []
        self._open: list[tuple[str, list[str]]] = []
        self.feed(cmarkgfm.github_flavored_markdown_to_html(markdown, options=cmarkgfm_options.CMARK_OPT_UNSAFE))
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        self._open.append((tag, []))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            open_tag, parts = self._open.pop()
            text = "".join(parts)
            if open_tag in ("td", "th"):
                self.rows[-1].append(text)
            elif open_tag == "code":
                self.code.append(text)
            elif open_tag == "p":
                self.paragraphs.append(text)
            if self._open:
                self._open[-1][1].append(text)
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1][1].append(data)


HOSTILE = [
    "<img src=x onerror=alert(1)>",
    "a | b | c",
    "`code` and ``double`` and a trailing `",
    "[click](javascript:alert(1)) ![pixel](x.png)",
    "first line\nsecond line\r\nthird",
    "**bold** _em_ ~~gone~~ $x^2$ &amp; \\| ends in \\",
    "<script>alert(1)</script></td></tr></table><h1>x</h1>",
]
REPORT_TAGS = {"h2", "h3", "p", "table", "thead", "tbody", "tr", "th", "td", "code", "details", "summary"}


@pytest.mark.parametrize("hostile", HOSTILE)
def test_report_shows_hostile_strings_as_literal_text(hostile: str) -> None:
    latency = "bench_latency.Latency.time_eval_forward"
    slower, renamed = f"{latency}('{hostile}', 'cpu')", f"{latency}('{hostile}', 'cuda')"
    before = {slower: Outcome(1e-4, None, None, version="v1"), renamed: Outcome(1e-4, None, None, version="v1")}
    after = {slower: Outcome(2e-4, None, None, version="v1"), renamed: Outcome(1e-4, None, None, version="v2")}
    comparison = compare(
        "a" * 40,
        "b" * 40,
        before,
        after,
        {latency: "seconds"},
        factor_rules=[parse_factor_rule(f"{re.escape(hostile)}=1.5")],
        machine={"machine": hostile, "gpu_model": hostile, hostile: "value"},
        base_label=hostile,
        head_label=f"fix: {hostile}",
    )
    rendered = Rendered(render_markdown(comparison))
    literal = " ".join(hostile.splitlines())
    assert set(rendered.tags) <= REPORT_TAGS  # no HTML, link, image, emphasis or heading of the string's own
    assert all(len(row) in (6, 2) for row in rendered.rows), rendered.rows  # every table keeps its columns
    assert [f"{latency}('{literal}', 'cpu')", "100μs", "200μs"] in [row[:3] for row in rendered.rows]
    assert ["gpu_model", literal] in rendered.rows and [literal, "value"] in rendered.rows
    assert any(f"({literal}) → head bbbbbbbb (fix: {literal})" in p for p in rendered.paragraphs)
    assert {" ".join(re.escape(hostile).splitlines()), literal, f"{latency}('{literal}', 'cuda')"} <= set(rendered.code)


def test_report_pings_no_one_and_links_no_issue_from_a_commit_subject() -> None:
    """A subject such as "cc @octocat, fixes #12" would notify that user and link issue 12 from every pull
    request the report is posted to; GitHub reads neither across a zero-width space, which shows as nothing."""
    latency = "bench_latency.Latency.time_eval_forward"
    comparison = compare(
        "a" * 40,
        "b" * 40,
        {latency: Outcome(1e-4, None, None, version="v1")},
        {latency: Outcome(1e-4, None, None, version="v1")},
        {latency: "seconds"},
        base_label="cc @octocat and @org/team",
        head_label="fixes #12, see GH-3",
    )
    markdown = render_markdown(comparison)
    for literal in ("@octocat", "@org", "#12"):
        assert literal not in markdown, literal
    text = " ".join(Rendered(markdown).paragraphs)
    assert "cc @\u200boctocat and @\u200borg/team" in text and "fixes #\u200b12" in text


# --- torch.compile's recompile limit in the fused and fast variants ------------------------------------------


@pytest.fixture
def fresh_compiled_kernels(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Compiled kernels with no compiled entry and no fallback yet; the same for the tests after this one."""
    monkeypatch.setenv(COMPILE_ENV, "1")
    reset_compiled_kernels()
    yield
    reset_compiled_kernels()


def distinct_inputs(count: int) -> list[torch.Tensor]:
    """``count`` small inputs that each need a compiled entry of their own: dtype, and which dimensions are 1."""
    inputs = []
    for dtype in (torch.float32, torch.float64):
        for batch in (1, 2):
            for height in (1, 4):
                for width in (1, 5):
                    z = torch.randn(batch, 3, height, width, generator=torch.Generator().manual_seed(len(inputs)))
                    inputs.append(z.to(dtype))
    assert count <= len(inputs)
    return inputs[:count]


def test_a_compiled_kernel_past_the_recompile_limit_runs_eager_with_one_warning(
    fresh_compiled_kernels: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dynamo traces and guards as shipped; its eager backend skips inductor's code generation, which plays no
    part in the recompile limit and takes seconds a compile on a 2-core machine (the slow test below has it)."""
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="eager"))
    limit = torch._dynamo.config.recompile_limit
    kernels = compiled_kernels("fused")
    inputs = distinct_inputs(limit + 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outputs = [kernels.eval(z, EPS) for z in [*inputs, inputs[0]]]
    for z, y in zip([*inputs, inputs[0]], outputs, strict=True):
        torch.testing.assert_close(y, EAGER_KERNELS.eval(z, EPS), rtol=1e-5, atol=1e-5)
    assert [str(w.message) for w in caught if issubclass(w.category, RecompileLimitWarning)] == [
        f"fused: torch.compile of the fused kernel 'eval' hit torch._dynamo.config.recompile_limit ({limit} "
        "compiled input dtypes, shapes and layouts); the fused variant runs that kernel eager from now on in "
        f"this process (the same function, slower). Raise the limit, or set {COMPILE_ENV}=0 to run eager from "
        "the start"
    ]


@pytest.mark.parametrize("name", [name for name, cls in bncvl.VARIANTS.items() if issubclass(cls, FusedBNCVL)])
def test_a_recompile_limit_warning_names_the_variant_as_the_registry_does(name: str) -> None:
    assert bncvl.get(name).variant_name == name


@pytest.mark.slow
@pytest.mark.parametrize("name", ["fast", "fused"])
def test_a_variant_trains_on_more_input_kinds_than_the_recompile_limit(fresh_compiled_kernels: None, name: str) -> None:
    """Forward and gradients of the layer stay the reference's through and past the limit; one warning per kernel."""
    torch.manual_seed(0)
    reference = bncvl.BNCVL(3, 4, 3)
    variant = bncvl.get(name)(3, 4, 3)
    variant.load_state_dict(reference.state_dict())
    inputs = distinct_inputs(torch._dynamo.config.recompile_limit + 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for z in inputs:
            reference.to(z.dtype), variant.to(z.dtype)
            for layer in (reference, variant):
                layer.zero_grad()
            x_ref, x_var = z.clone().requires_grad_(), z.clone().requires_grad_()
            y_ref, y_var = reference(x_ref), variant(x_var)
            torch.testing.assert_close(y_var, y_ref, rtol=1e-4, atol=1e-4)
            grad_y = torch.randn(y_ref.shape, generator=torch.Generator().manual_seed(1)).to(z.dtype)
            y_ref.backward(grad_y), y_var.backward(grad_y)
            for actual, expected in [(x_var.grad, x_ref.grad), (variant.weight.grad, reference.weight.grad)]:
                torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-4)
    fallbacks = [str(w.message) for w in caught if issubclass(w.category, RecompileLimitWarning)]
    assert sorted(message.split("'")[1] for message in fallbacks) == ["backward", "train_forward"]
    assert all(message.startswith(f"{name}: torch.compile of the fused kernel") for message in fallbacks)


def test_pipeline_holds_the_asv_environments_lock_while_asv_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``make run`` and a default ``bncvl check`` share asv's environments (``.asv/env``): the pipeline's asv
    run holds the same lock as a check, so neither installs a commit into the other's environment."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "asv.conf.json").write_text('{"env_dir": "envs"}')
    lock = tmp_path / "envs" / ENV_LOCK
    held = []

    def asv_run(argv: list[str]) -> int:
        fd = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held.append(False)
        except BlockingIOError:
            held.append(True)
        finally:
            os.close(fd)
        return 0

    monkeypatch.setattr(pipeline, "register", lambda: {"machine": "box-cpu"})
    monkeypatch.setattr(pipeline, "recent_commits", lambda repo, count: ["a" * 40])
    monkeypatch.setattr(analyze, "main", FakeAnalyze(interruptions=0))
    parser = argparse.ArgumentParser()
    pipeline.configure(parser)
    assert pipeline.main(parser.parse_args(["--runs-dir", str(tmp_path / "runs"), "--no-serve"]), run=asv_run) == 0
    assert held == [True]
