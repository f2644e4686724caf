"""The embedded results store: ``bncvl publish`` into an SQLite file, read back as the dashboard's frames."""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas", reason="needs the dashboard extra")
sa = pytest.importorskip("sqlalchemy", reason="needs the store extra")

from bncvl.cli import main as bncvl  # noqa: E402 - after the extras' guards
from bncvl.store import schema as t  # noqa: E402
from bncvl.store.engine import SCHEMA_VERSION, STORE_FILE, StoreError, open_store, resolve_url  # noqa: E402
from bncvl.store.query import (  # noqa: E402
    load_changes,
    load_commits,
    load_health,
    load_points,
    load_problems,
    load_store,
    store_state,
)
from bncvl.testing.results import CPU_MACHINE, GPU_MACHINE, write_results_set  # noqa: E402
from bncvl.track.changes import find_changes  # noqa: E402
from bncvl.track.results import load_results  # noqa: E402
from tests import store_cases  # noqa: E402


def publish(capsys: pytest.CaptureFixture[str], store: Path | str, results: Path, *more: str) -> tuple[int, str, str]:
    code = bncvl(["publish", "--store", str(store), "--results-dir", str(results), "--repo", str(results), *more])
    out, err = capsys.readouterr()
    return code, out, err


def count(store: Path, table: str) -> int:
    with sqlite3.connect(store) as connection:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.fixture
def results_copy(results_set: tuple[Path, list[str]], tmp_path: Path) -> Path:
    root = tmp_path / "results"
    shutil.copytree(results_set[0], root)
    return root


def test_a_publish_reads_back_as_load_results_reads_the_files(
    results_copy: Path, runs_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = publish(capsys, results_copy / STORE_FILE, results_copy, "--runs-dir", str(runs_dir))
    assert code == 0, err
    assert "16 result file(s) published (16 new, 0 replaced)" in out
    store_cases.assert_store_equals_files(str(results_copy / STORE_FILE), [results_copy])
    engine = open_store(resolve_url(None, results_copy), write=False)
    changes = load_changes(engine)
    assert set(changes["kind"]) >= {"regression", "within noise", "unconfirmed", "change"}, "the planted steps"
    with engine.connect() as connection:
        runs = connection.execute(sa.select(t.analysis_runs.c.name, t.analysis_runs.c.complete)).all()
    assert sorted(runs) == [("digits-seed0", True), ("digits-seed1", True), ("interrupted", False)]
    engine.dispose()


def test_the_default_store_is_a_file_in_the_results_directory(tmp_path: Path) -> None:
    assert resolve_url(None, tmp_path, environ={}).database == str(tmp_path.resolve() / STORE_FILE)
    assert resolve_url(None, tmp_path, environ={"BNCVL_STORE": "x.sqlite"}).database == str(Path("x.sqlite").resolve())
    url = resolve_url("postgresql://u:pw@db.example:5433/bncvl", tmp_path)
    assert (url.drivername, url.host, url.port, url.database) == ("postgresql+psycopg", "db.example", 5433, "bncvl")
    with pytest.raises(StoreError, match=r"unsupported store URL mysql://u:\*\*\*@h/db: expected postgresql://"):
        resolve_url("mysql://u:secret@h/db", tmp_path)


def test_publishing_again_is_idempotent_and_a_changed_file_replaces_its_values(
    results_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = results_copy / STORE_FILE
    assert publish(capsys, store, results_copy, "--no-runs")[0] == 0
    points, results, steps = count(store, "points"), count(store, "results"), count(store, "steps")
    code, out, _ = publish(capsys, store, results_copy, "--no-runs")
    assert code == 0
    assert "0 result file(s) published (0 new, 0 replaced), 16 unchanged" in out
    assert (count(store, "points"), count(store, "results"), count(store, "steps")) == (points, results, steps)

    touched, changed = sorted(results_copy.glob(f"{CPU_MACHINE}/*-*.json"))[:2]
    touched.write_bytes(touched.read_bytes())  # a new mtime, the same bytes
    document = json.loads(changed.read_text())
    row = document["results"]["bench_memory.WeightStorage.track_float_weight_bytes"]
    row[0] = [123.0] * len(row[0])
    changed.write_text(json.dumps(document))
    code, out, _ = publish(capsys, store, results_copy, "--no-runs")
    assert "1 result file(s) published (0 new, 1 replaced), 15 unchanged" in out
    assert (count(store, "points"), count(store, "results")) == (points, results)
    store_cases.assert_store_equals_files(str(store), [results_copy])
    stored = load_points(
        open_store(resolve_url(str(store), results_copy), write=False),
        benchmarks="bench_memory.WeightStorage.track_float_weight_bytes",
        commits=document["commit_hash"],
        machines=CPU_MACHINE,
    )
    assert list(stored["value"]) == [123.0] * len(row[0])


def test_a_corrupt_or_truncated_file_is_named_and_skipped_and_the_rest_published(
    results_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truncated, garbage = sorted(results_copy.glob(f"{GPU_MACHINE}/*-*.json"))[:2]
    truncated.write_bytes(truncated.read_bytes()[:500])
    garbage.write_text("[1, 2")
    code, out, err = publish(capsys, results_copy / STORE_FILE, results_copy, "--no-runs")
    assert code == 1, "some files were skipped"
    assert f"bncvl publish: skipped: {truncated}: skipped, not a readable asv results file" in err
    assert f"bncvl publish: skipped: {garbage}: skipped" in err
    assert "14 result file(s) published (14 new, 0 replaced), 0 unchanged, 2 skipped" in out
    engine = open_store(resolve_url(None, results_copy), write=False)
    problems = load_problems(engine)
    assert len(problems) == 2, "kept for the dashboard to show"
    assert problems[0].startswith(f"{garbage}: skipped") or problems[1].startswith(f"{garbage}: skipped")
    assert any(line.startswith(f"{truncated}: skipped, not a readable asv results file") for line in problems)
    truncated.unlink()
    garbage.unlink()
    code, out, _ = publish(capsys, results_copy / STORE_FILE, results_copy, "--no-runs")
    assert code == 0 and "0 result file(s) published (0 new, 0 replaced), 14 unchanged, 0 skipped" in out
    assert load_problems(engine) == [], "gone with the files"
    engine.dispose()
    store_cases.assert_store_equals_files(str(results_copy / STORE_FILE), [results_copy])


def test_a_machine_without_machine_json_is_named_and_published_with_its_files_facts(
    results_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (results_copy / GPU_MACHINE / "machine.json").unlink()
    code, _, err = publish(capsys, results_copy / STORE_FILE, results_copy, "--no-runs")
    assert code == 0
    assert f"warning: {results_copy / GPU_MACHINE / 'machine.json'}: missing; the machine's facts are taken" in err
    engine = open_store(resolve_url(None, results_copy), write=False)
    machines = load_store(engine).machines.set_index("machine")
    assert machines.loc[GPU_MACHINE, "gpu_model"] == "NVIDIA H100 80GB HBM3", "from the result files' params"
    with engine.connect() as connection:
        gpu = connection.execute(sa.select(t.machines.c.gpu_model).where(t.machines.c.name == GPU_MACHINE)).scalar()
    assert gpu == "NVIDIA H100 80GB HBM3"
    engine.dispose()


def test_filters_select_in_the_store_what_they_select_in_the_files(results_copy: Path, capsys) -> None:
    assert publish(capsys, results_copy / STORE_FILE, results_copy, "--no-runs")[0] == 0
    engine = open_store(resolve_url(None, results_copy), write=False)
    files = load_results(results_copy).points
    newest = sorted(files["order"].unique())[-3:]
    name = "bench_latency.Latency.time_eval_forward"
    chosen = load_points(
        engine, machines=[CPU_MACHINE], benchmarks=[name], params={"preset": "medium", "variant": ["fused"]}, last=3
    )
    expected = files[
        (files["machine"] == CPU_MACHINE)
        & (files["benchmark"] == name)
        & (files["preset"] == "medium")
        & (files["variant"] == "fused")
        & files["order"].isin(newest)
    ]
    assert len(chosen) == 6  # 3 commits x 2 devices
    store_cases.assert_same_points(chosen, expected)
    assert load_points(engine, machines=["no-such-machine"]).empty
    commits = load_commits(engine)
    assert list(commits["commit_hash"]) == list(load_results(results_copy).commits["commit_hash"])
    assert list(commits["machines"]) == [2] * 8
    engine.dispose()


def test_steps_are_found_again_only_where_a_publish_wrote(tmp_path: Path, capsys) -> None:
    """Publishing a machine's newer commits finds its steps again over the whole history; another machine's stay."""
    from bncvl.testing.steps import PLANTED, PLANTED_UTILIZATION

    full = tmp_path / "full"
    hashes = write_results_set(full, steps=[*PLANTED, PLANTED_UTILIZATION])
    early = tmp_path / "early"
    shutil.copytree(full, early)
    for commit in hashes[6:]:  # the CPU machine's last two commits come later
        for path in early.glob(f"{CPU_MACHINE}/{commit[:8]}-*.json"):
            path.unlink()
    store = tmp_path / STORE_FILE
    assert publish(capsys, store, early, "--no-runs")[0] == 0
    with sqlite3.connect(store) as connection:
        gpu_steps = connection.execute(
            "SELECT s.id FROM steps s JOIN machines m ON m.id = s.machine_id WHERE m.name = ? ORDER BY s.id",
            (GPU_MACHINE,),
        ).fetchall()
    assert gpu_steps, "the GPU machine's planted step"
    code, out, _ = publish(capsys, store, full, "--no-runs", "--machine", CPU_MACHINE)
    assert code == 0
    assert "2 result file(s) published (2 new, 0 replaced), 6 unchanged" in out
    with sqlite3.connect(store) as connection:
        assert (
            connection.execute(
                "SELECT s.id FROM steps s JOIN machines m ON m.id = s.machine_id WHERE m.name = ? ORDER BY s.id",
                (GPU_MACHINE,),
            ).fetchall()
            == gpu_steps
        ), "the GPU machine's steps were not touched"
    store_cases.assert_store_equals_files(str(store), [full])


def test_a_store_with_a_newer_schema_is_refused_naming_both_versions(
    results_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = results_copy / STORE_FILE
    assert publish(capsys, store, results_copy, "--no-runs")[0] == 0
    with sqlite3.connect(store) as connection:
        connection.execute("UPDATE alembic_version SET version_num = :v", {"v": store_cases.NEWER})
    code, _out, err = publish(capsys, store, results_copy, "--no-runs")
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("bncvl publish: error: the store sqlite:///")
    assert f"has schema version {store_cases.NEWER}, newer than this bncvl's {SCHEMA_VERSION}; upgrade bncvl" in err
    with pytest.raises(StoreError, match=store_cases.NEWER):
        open_store(resolve_url(str(store), results_copy), write=False)


def test_the_migrations_build_exactly_the_schema(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = open_store(resolve_url(None, tmp_path), write=True)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), t.metadata) == []
    engine.dispose()


def test_an_unreachable_server_is_one_line_exit_2_without_the_password(
    results_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    before = {p: p.read_bytes() for p in results_copy.rglob("*") if p.is_file()}
    code, out, err = publish(capsys, f"postgresql://bncvl:s3cret@127.0.0.1:{port}/bncvl", results_copy)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"bncvl publish: error: cannot use the store postgresql://bncvl:***@127.0.0.1:{port}/bncvl:")
    assert "s3cret" not in err
    assert {p: p.read_bytes() for p in results_copy.rglob("*") if p.is_file()} == before, "nothing local touched"


def test_html_and_sql_metacharacters_are_stored_verbatim(tmp_path: Path) -> None:
    store_cases.check_metacharacters_verbatim(tmp_path, None)


def test_samples_and_infinite_bounds_survive_the_round_trip(results_copy: Path, capsys) -> None:
    assert publish(capsys, results_copy / STORE_FILE, results_copy, "--no-runs")[0] == 0
    stored = load_points(open_store(resolve_url(None, results_copy), write=False))
    with_samples = stored[stored["samples"].notna()]
    assert len(with_samples) > 0 and all(len(s) == 7 for s in with_samples["samples"])
    assert math.isinf(stored["ci_99_b"].max()), "a single-sample track has an infinite bound, as asv writes it"


@pytest.mark.slow
def test_a_publish_killed_midway_leaves_each_file_whole_and_the_next_completes(tmp_path: Path) -> None:
    results = tmp_path / "results"
    write_results_set(results, commits=40)
    total = len(list(results.glob("*/*-*.json")))
    store = results / STORE_FILE
    done = store_cases.kill_mid_publish(str(store), results, lambda: store_cases.count_results(store), total)
    assert store_cases.assert_each_file_whole(str(store), results) == done
    completed = subprocess.run(store_cases.publish_command(str(store), results), capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    assert f"{total - done} result file(s) published ({total - done} new, 0 replaced), {done} unchanged" in (
        completed.stdout
    )
    store_cases.assert_store_equals_files(str(store), [results])


@pytest.mark.slow
def test_ten_concurrent_publishers_leave_every_value_exactly_once(tmp_path: Path) -> None:
    """Eight machines publishing at once, and two more processes publishing one ninth machine."""
    dirs = store_cases.write_fleet(tmp_path, machines=9)
    store = str(tmp_path / "fleet.sqlite")
    store_cases.publish_concurrently(store, [(d, ()) for d in dirs] + [(dirs[-1], ())])
    store_cases.assert_fleet_exactly_once(store, dirs)


def test_reading_a_missing_store_says_how_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"no store at .*: run `bncvl publish` to create it"):
        open_store(resolve_url(None, tmp_path), write=False)


def test_find_changes_on_the_store_points_equals_the_stored_steps(results_copy: Path, capsys) -> None:
    assert publish(capsys, results_copy / STORE_FILE, results_copy, "--no-runs")[0] == 0
    engine = open_store(resolve_url(None, results_copy), write=False)
    found = find_changes(load_points(engine))
    kept = load_changes(engine)
    keys = ["machine", "benchmark", "params", "commit_before", "kind"]
    pd.testing.assert_frame_equal(store_cases.plain(kept, keys), store_cases.plain(found[kept.columns], keys))
    engine.dispose()


def test_an_invalid_value_is_published_marked_invalid_and_counted(
    results_copy: Path, results_set: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """A file holding an absurd value (bncvl.track.validity) is published whole, that value marked invalid."""
    from bncvl.testing.steps import PLANTED_TIME

    hashes = results_set[1]
    (path,) = (results_copy / CPU_MACHINE).glob(f"{hashes[2][:8]}-*.json")
    document = json.loads(path.read_text())
    document["results"][PLANTED_TIME.benchmark][0] = [1e308] * len(document["results"][PLANTED_TIME.benchmark][0])
    path.write_text(json.dumps(document))
    code, out, err = publish(capsys, results_copy / STORE_FILE, results_copy, "--no-runs")
    assert code == 0, err
    assert "16 result file(s) published (16 new, 0 replaced)" in out
    assert f"bncvl publish: warning: {path}: benchmark {PLANTED_TIME.benchmark!r}" in err
    problems = load_problems(open_store(resolve_url(None, results_copy), write=False))
    assert [line for line in problems if line.startswith(f"{path}: benchmark {PLANTED_TIME.benchmark!r}")]
    store_cases.assert_store_equals_files(str(results_copy / STORE_FILE), [results_copy])
    engine = open_store(resolve_url(None, results_copy), write=False)
    stored = load_points(engine, benchmarks=PLANTED_TIME.benchmark, commits=hashes[2], machines=CPU_MACHINE)
    invalid = stored[stored["status"] == "invalid"]
    assert len(invalid) == len(document["results"][PLANTED_TIME.benchmark][0]) - stored["status"].eq("skipped").sum()
    assert invalid["value"].isna().all()
    health = load_health(engine).set_index("machine")
    assert health.loc[CPU_MACHINE, "invalid"] == len(invalid)
    assert health.loc[GPU_MACHINE, "invalid"] == 0
    engine.dispose()


def test_a_store_of_the_first_schema_is_migrated_keeping_its_rows(tmp_path: Path) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.config import Config
    from alembic.migration import MigrationContext

    from bncvl.store import engine as store_engine

    url = resolve_url(None, tmp_path)
    old = store_engine._sqlite_engine(url, write=True)
    with old.begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(store_engine._MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.exec_driver_sql("INSERT INTO machines (id, name, facts, published_at) VALUES (1, 'm', '{}', 0)")
        connection.exec_driver_sql("INSERT INTO environments (id, name) VALUES (1, 'e')")
        connection.exec_driver_sql("INSERT INTO commits (id, hash, date) VALUES (1, 'abc', 0)")
        connection.exec_driver_sql(
            "INSERT INTO results (id, machine_id, commit_id, env_id, path, size, mtime_ns, sha256, value_count, "
            "skipped_count, failed_count, published_at) VALUES (1, 1, 1, 1, 'm/abc-e.json', 1, 1, 'x', 5, 1, 1, 0)"
        )
    old.dispose()
    with pytest.raises(StoreError, match=r"schema version 0001, older than this bncvl's .*run `bncvl publish`"):
        open_store(url, write=False)
    engine = open_store(url, write=True)
    with engine.connect() as connection:
        assert store_engine.schema_version(connection) == SCHEMA_VERSION
        assert compare_metadata(MigrationContext.configure(connection), t.metadata) == []
        row = connection.execute(sa.select(t.results.c.path, t.results.c.invalid_count)).one()
    assert tuple(row) == ("m/abc-e.json", 0)
    assert load_health(engine).loc[0, ["ok", "skipped", "failed", "invalid"]].tolist() == [3, 1, 1, 0]
    engine.dispose()


@pytest.mark.parametrize(("factor", "found"), [(1.3, [36, 5]), (1 / 1.5, [36])], ids=["worse again", "reverted"])
def test_a_new_commit_finds_steps_in_its_window_and_keeps_older_ones_that_hold(
    factor: float, found: list[int], tmp_path: Path, capsys
) -> None:
    """Publishing the newest commits searches the 20 before them: a step there is found; an older one is kept
    while the newest level still shows it (as asv, over the whole history, reports it) and dropped once reverted."""
    from bncvl.store import DEFAULT_STEPS_WINDOW
    from bncvl.testing.results import PlantedStep

    where = {"variant": "fused", "preset": "medium", "device": "cpu"}
    name = "bench_latency.Latency.time_eval_forward"
    old, new = PlantedStep(CPU_MACHINE, name, 5, 1.5, where), PlantedStep(CPU_MACHINE, name, 36, factor, where)
    full = tmp_path / "full"
    hashes = write_results_set(full, commits=40, machines=[CPU_MACHINE], steps=[old, new])
    early = tmp_path / "early"
    shutil.copytree(full, early)
    for commit in hashes[34:]:
        for path in early.glob(f"{CPU_MACHINE}/{commit[:8]}-*.json"):
            path.unlink()
    store = tmp_path / STORE_FILE
    assert publish(capsys, store, early, "--no-runs")[0] == 0
    engine = open_store(resolve_url(str(store), early), write=False)
    first = load_changes(engine, benchmarks=name)
    assert list(first["commit_after"]) == [hashes[5]], "the whole history is searched at first"
    columns = (t.steps.c.series_id, t.steps.c.commit_before_id, t.steps.c.value_before, t.steps.c.evidence)
    with engine.connect() as connection:
        first_rows = set(connection.execute(sa.select(*columns)).all())
    code, out, _ = publish(capsys, store, full, "--no-runs")
    assert code == 0 and "6 result file(s) published (6 new, 0 replaced)" in out
    steps = load_changes(engine, benchmarks=name)
    assert list(steps["commit_after"]) == [hashes[i] for i in found]
    with engine.connect() as connection:
        after = set(connection.execute(sa.select(*columns)).all())
        window_start = connection.execute(
            sa.select(t.commits.c.id).where(t.commits.c.hash == hashes[34 - DEFAULT_STEPS_WINDOW])
        ).scalar_one()
    older = {row for row in after if row.commit_before_id < window_start}
    assert older <= first_rows, "a step before the window is the one found before, untouched"
    assert bool(older) == (5 in found), "kept while it holds, dropped once reverted"
    store_cases.assert_store_equals_files(str(store), [full], step_rtol=1e-3)
    engine.dispose()


def test_the_readers_cache_key_changes_with_every_publish_that_changes_what_a_page_shows(
    results_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``store_state``, the dashboard's only cache key: it changes when a publish only fixes a warning (deletes a
    problem line) or only changes ``benchmarks.json``, and stays when a publish changes nothing (each page's cache
    kept) while two machines have warnings."""
    store = results_copy / STORE_FILE
    facts = {name: (results_copy / name / "machine.json").read_bytes() for name in (CPU_MACHINE, GPU_MACHINE)}
    for name in facts:
        (results_copy / name / "machine.json").unlink()

    def published() -> tuple:
        assert publish(capsys, store, results_copy, "--no-runs")[0] == 0
        return store_state(engine)

    engine = open_store(resolve_url(None, results_copy), write=True)
    warned = published()
    assert len([line for line in load_problems(engine) if "machine.json" in line]) == 2
    assert published() == warned, "a publish that changes nothing"
    (results_copy / CPU_MACHINE / "machine.json").write_bytes(facts[CPU_MACHINE])
    fixed = published()
    assert len([line for line in load_problems(engine) if "machine.json" in line]) == 1
    assert fixed != warned, "a fixed warning"

    catalogue = json.loads((results_copy / "benchmarks.json").read_text())
    name = next(name for name in catalogue if name != "version")
    catalogue[name]["unit"] = "a new unit"
    (results_copy / "benchmarks.json").write_text(json.dumps(catalogue))
    renamed = published()
    assert renamed != fixed, "a benchmark's new unit"
    assert published() == renamed, "a publish that changes nothing"
    engine.dispose()
