"""The results store on a real PostgreSQL server (Debian's ``postgresql``), started for these tests.

Without the server binaries these tests skip with the reason, except where
``CI`` is set (``.ci/run``) or ``BNCVL_REQUIRE_POSTGRES=1``: there they fail,
so that CI never passes without having run them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas", reason="needs the dashboard extra")
sa = pytest.importorskip("sqlalchemy", reason="needs the store extra")

from bncvl.store import schema as t  # noqa: E402 - after the extras' guards
from bncvl.store.engine import SCHEMA_VERSION, StoreError, open_store, resolve_url  # noqa: E402
from bncvl.testing.postgres import APT_PACKAGE, PASSWORD, create_database, postgres_bin, throwaway_server  # noqa: E402
from bncvl.testing.results import write_results_set  # noqa: E402
from tests import store_cases  # noqa: E402

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def postgres_required() -> bool:
    """CI (``CI`` set to a true value) or ``BNCVL_REQUIRE_POSTGRES=1``: a missing server fails instead of skipping."""
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return ci or os.environ.get("BNCVL_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    if postgres_bin() is None:
        reason = f"no PostgreSQL server binaries (initdb, pg_ctl); apt-get install -y {APT_PACKAGE}"
        if postgres_required():
            pytest.fail(f"{reason} (required here: CI or BNCVL_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    with throwaway_server() as url:
        yield url


@pytest.fixture
def store(server: str, request: pytest.FixtureRequest) -> str:
    """A new, empty database on the server for this test."""
    return create_database(server, request.node.name[:60].lower())


def run_publish(store: str, results: Path, *more: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(store_cases.publish_command(store, results, *more), capture_output=True, text=True)


def count_results(store: str, results: Path) -> int:
    """Result files committed to the store so far (0 while it has no schema)."""
    try:
        engine = open_store(resolve_url(store, results), write=False)
    except StoreError:
        return 0
    try:
        with engine.connect() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(t.results)).scalar_one()
    finally:
        engine.dispose()


def test_a_publish_reads_back_as_load_results_reads_the_files(
    store: str, results_set: tuple[Path, list[str]], runs_dir: Path
) -> None:
    results = results_set[0]
    command = store_cases.publish_command(store, results)
    completed = subprocess.run(
        [c for c in command if c != "--no-runs"] + ["--runs-dir", str(runs_dir)], capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr
    assert "16 result file(s) published (16 new, 0 replaced)" in completed.stdout
    assert "3 analysis run(s) published" in completed.stdout
    store_cases.assert_store_equals_files(store, [results])
    again = run_publish(store, results)
    assert "0 result file(s) published (0 new, 0 replaced), 16 unchanged" in again.stdout
    store_cases.assert_store_equals_files(store, [results])


def test_the_migrations_build_exactly_the_schema(store: str, tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = open_store(resolve_url(store, tmp_path), write=True)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), t.metadata) == []
    engine.dispose()


def test_a_corrupt_file_is_named_and_skipped(store: str, results_set: tuple[Path, list[str]], tmp_path: Path) -> None:
    results = tmp_path / "results"
    shutil.copytree(results_set[0], results)
    broken = sorted(results.glob("*/*-*.json"))[3]
    broken.write_bytes(broken.read_bytes()[:300])
    completed = run_publish(store, results)
    assert completed.returncode == 1
    assert f"bncvl publish: skipped: {broken}: skipped, not a readable asv results file" in completed.stderr
    broken.unlink()
    store_cases.assert_store_equals_files(store, [results])


def test_a_wrong_password_is_one_line_exit_2_without_the_password(store: str, tmp_path: Path) -> None:
    results = tmp_path / "results"
    write_results_set(results, commits=2)
    before = {p: p.read_bytes() for p in results.rglob("*") if p.is_file()}
    wrong = store.replace(PASSWORD, "not-the-password")
    completed = run_publish(wrong, results)
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.count("\n") == 1
    assert completed.stderr.startswith("bncvl publish: error: cannot use the store postgresql://bncvl:***@127.0.0.1:")
    assert 'password authentication failed for user "bncvl"' in completed.stderr
    assert "not-the-password" not in completed.stderr
    assert {p: p.read_bytes() for p in results.rglob("*") if p.is_file()} == before, "nothing local touched"


def test_a_store_with_a_newer_schema_is_refused_naming_both_versions(store: str, tmp_path: Path) -> None:
    results = tmp_path / "results"
    write_results_set(results, commits=2)
    assert run_publish(store, results).returncode == 0
    engine = open_store(resolve_url(store, results), write=True)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": store_cases.NEWER})
    engine.dispose()
    completed = run_publish(store, results)
    assert completed.returncode == 2
    assert completed.stderr.count("\n") == 1
    assert (
        f"has schema version {store_cases.NEWER}, newer than this bncvl's {SCHEMA_VERSION}; upgrade bncvl"
        in completed.stderr
    )


def test_html_and_sql_metacharacters_are_stored_verbatim(store: str, tmp_path: Path) -> None:
    store_cases.check_metacharacters_verbatim(tmp_path, store)


def test_a_publish_killed_midway_leaves_each_file_whole_and_the_next_completes(store: str, tmp_path: Path) -> None:
    results = tmp_path / "results"
    write_results_set(results, commits=40)
    total = len(list(results.glob("*/*-*.json")))
    done = store_cases.kill_mid_publish(store, results, lambda: count_results(store, results), total)
    assert store_cases.assert_each_file_whole(store, results) == done
    completed = run_publish(store, results)
    assert completed.returncode == 0, completed.stderr
    assert f"{total - done} result file(s) published ({total - done} new, 0 replaced), {done} unchanged" in (
        completed.stdout
    )
    store_cases.assert_store_equals_files(store, [results])


def test_ten_concurrent_publishers_leave_every_value_exactly_once(store: str, tmp_path: Path) -> None:
    """Eight machines publishing at once, and two more processes publishing one ninth machine, into a fresh store
    (so they also race to create the schema)."""
    dirs = store_cases.write_fleet(tmp_path, machines=9)
    store_cases.publish_concurrently(store, [(d, ()) for d in dirs] + [(dirs[-1], ())])
    store_cases.assert_fleet_exactly_once(store, dirs)


@pytest.mark.parametrize(("ci", "outcome", "code"), [("true", "1 error", 1), ("", "1 skipped", 0)])
def test_without_server_binaries_these_tests_fail_in_ci_and_skip_elsewhere(ci: str, outcome: str, code: int) -> None:
    hide_server = (
        "import sys, pytest, bncvl.testing.postgres as p; p.postgres_bin = lambda: None; "
        "sys.exit(pytest.main(['tests/test_store_postgres.py', '-k', 'wrong_password', '-p', 'no:cacheprovider']))"
    )
    environ = {k: v for k, v in os.environ.items() if k not in ("CI", "BNCVL_REQUIRE_POSTGRES")}
    completed = subprocess.run(
        [sys.executable, "-c", hide_server],
        capture_output=True,
        text=True,
        env={**environ, "CI": ci},
        cwd=Path(__file__).resolve().parents[1],
    )
    assert (completed.returncode, outcome in completed.stdout) == (code, True), completed.stdout[-2000:]
    assert f"no PostgreSQL server binaries (initdb, pg_ctl); apt-get install -y {APT_PACKAGE}" in completed.stdout


def read_only_grants(database: str) -> list[str]:
    """The statements docs/store.md gives for the dashboard's read-only role, for the database ``database``."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "store.md").read_text()
    blocks = [block.split("```", 1)[0] for block in text.split("```sql\n")[1:]]
    (grants,) = [block for block in blocks if "bncvl_dashboard" in block]
    statements = [line.split("--", 1)[0].strip() for line in grants.splitlines()]
    return [s.replace("DATABASE bncvl ", f'DATABASE "{database}" ') for s in statements if s]


def test_the_dashboard_works_with_a_read_only_role_and_that_role_cannot_publish(
    server: str, store: str, results_set: tuple[Path, list[str]], runs_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    """docs/store.md's grants, given before the first publish creates the tables: the dashboard role reads every
    page; a publish with it is refused in one line, exit 2, its password never shown."""
    pytest.importorskip("streamlit", reason="needs the dashboard extra")
    from streamlit.testing.v1 import AppTest

    database = sa.make_url(store).database
    admin = sa.create_engine(sa.make_url(store).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql("DROP ROLE IF EXISTS bncvl_dashboard")
        connection.exec_driver_sql("CREATE ROLE bncvl_dashboard LOGIN PASSWORD 'dashboard-pw'")
        for statement in read_only_grants(database):
            connection.exec_driver_sql(statement)
    admin.dispose()
    assert run_publish(store, results_set[0]).returncode == 0
    reader = sa.make_url(store).set(username="bncvl_dashboard", password="dashboard-pw")
    reader_url = reader.render_as_string(hide_password=False)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BNCVL_STORE", reader_url)
    monkeypatch.setenv("BNCVL_RUNS_DIR", str(runs_dir))
    app = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py"), default_timeout=120)
    app.run()
    assert {metric.label: metric.value for metric in app.metric}["Machines"] == "2"
    for page in ("overview", "regressions", "trends", "devices", "memory_gpu", "quantization"):
        app.switch_page(f"views/{page}.py").run()
        assert not app.exception, (page, [e.value for e in app.exception])
        assert not [e.value for e in app.error if "store" in e.value], page
        assert len(app.dataframe) + len(app.get("plotly_chart")) >= 1, page

    refused = run_publish(reader_url, results_set[0])
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and "permission denied" in refused.stderr
    assert "dashboard-pw" not in refused.stdout + refused.stderr
