"""Open the results store: which database a URL names, how to connect to it, and its schema version.

One code path, two deployments:

- the embedded default, an SQLite file under asv's results directory
  (:data:`STORE_FILE`), nothing to start. It runs in WAL mode (readers never
  wait for a writer), with ``synchronous=NORMAL`` (a killed process loses
  nothing committed; only a power cut may lose the last transactions), a
  busy timeout, and writers that take the write lock when their transaction
  begins (``BEGIN IMMEDIATE``), so concurrent publishers queue instead of
  failing half-way;
- a PostgreSQL server for a team (``postgresql://user@host/db``, driven by
  psycopg 3).

The URL comes from ``--store``, else :data:`STORE_ENV`, else the default
file. Opening for writing brings the schema to this bncvl's version with
the Alembic migrations in ``bncvl/store/migrations``, under a lock, so that
concurrent first publishers create it once; a store whose schema is newer
than this bncvl is refused with both versions named.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from bncvl._extras import needs_extra
from bncvl.track.asv import STORE_ENV

with needs_extra("store", "bncvl.store"):
    import sqlalchemy as sa
    from sqlalchemy import event, exc

__all__ = [
    "SCHEMA_VERSION",
    "STORE_ENV",
    "STORE_FILE",
    "StoreError",
    "describe",
    "open_store",
    "resolve_url",
    "schema_version",
]

STORE_FILE = "bncvl-store.sqlite"
"""The embedded store's file in asv's results directory (asv reads only ``*.json`` there)."""
SCHEMA_VERSION = "0002"
"""The newest migration of ``bncvl/store/migrations/versions``: the schema this bncvl reads and writes."""
BUSY_TIMEOUT_MS = 120_000
"""How long an SQLite writer waits for the write lock: a publish holds it for one file, or for one machine's step
detection, at a time."""
CONNECT_TIMEOUT_S = 10
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_MIGRATION_LOCK = 0x62_6E_63_76_6C  # "bncvl": the PostgreSQL advisory lock key that serialises migrations


class StoreError(RuntimeError):
    """The store cannot be reached, is not a store, or has a schema this bncvl cannot use. One line."""


def resolve_url(given: str | None, results_dir: str | os.PathLike[str], environ: Mapping[str, str] | None = None):
    """The store's SQLAlchemy URL: ``given``, else ``$BNCVL_STORE``, else the embedded file in ``results_dir``.

    A URL without a scheme is a path to an SQLite file; ``postgresql://`` and
    ``postgres://`` use psycopg 3.

    Raises:
        StoreError: the URL names another kind of database, or is not a URL.
    """
    environ = os.environ if environ is None else environ
    text = given or environ.get(STORE_ENV) or str(Path(results_dir) / STORE_FILE)
    if "://" not in text:
        return sa.URL.create("sqlite", database=str(Path(text).resolve()))
    try:
        url = sa.make_url(text)
    except exc.ArgumentError as error:
        raise StoreError(f"not a store URL: {describe_text(text)} ({error})") from None
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and url.database:
        return url.set(drivername="sqlite", database=str(Path(url.database).resolve()))
    raise StoreError(
        f"unsupported store URL {describe(url)}: expected postgresql://USER@HOST[:PORT]/DB, sqlite:///PATH or a path"
    )


def describe(url: sa.URL) -> str:
    """``url`` as it may be printed: without its password (and without the driver bncvl chose)."""
    return url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)


def describe_text(text: str) -> str:
    """A URL given as text, as it may be printed: the password replaced, even where the URL does not parse."""
    scheme, sep, rest = text.partition("://")
    if sep and "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in credentials else text
    return text


def _one_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error)
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _sqlite_engine(url: sa.URL, write: bool) -> sa.Engine:
    path = Path(url.database or "")
    if not write and not path.is_file():
        raise StoreError(f"no store at {path}: run `bncvl publish` to create it")
    if write:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" below issues BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if write:
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        # A writer that begins deferred and upgrades later can fail with SQLITE_BUSY at once (no busy wait).
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _postgres_engine(url: sa.URL) -> sa.Engine:
    with needs_extra("store", "a PostgreSQL store", StoreError):
        import psycopg  # noqa: F401 - only checks that the driver is installed
    return sa.create_engine(url, connect_args={"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "bncvl"})


def schema_version(connection: sa.Connection) -> str | None:
    """The store's schema version (its Alembic revision), or None for a database without a store."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def _check_version(found: str | None, url: sa.URL, *, write: bool) -> None:
    """Refuse a schema this bncvl cannot use: a newer one, an unknown one, or (reading) an older one."""
    if found is None or found == SCHEMA_VERSION:
        return
    if not found.isdigit():
        raise StoreError(
            f"the store {describe(url)} has schema version {found}, unknown to this bncvl's {SCHEMA_VERSION}; "
            "it was not written by bncvl"
        )
    if int(found) > int(SCHEMA_VERSION):
        raise StoreError(
            f"the store {describe(url)} has schema version {found}, newer than this bncvl's {SCHEMA_VERSION}; "
            "upgrade bncvl to use it"
        )
    if not write:
        raise StoreError(
            f"the store {describe(url)} has schema version {found}, older than this bncvl's {SCHEMA_VERSION}; "
            "run `bncvl publish` with this bncvl to migrate it"
        )


def _migrate(connection: sa.Connection) -> None:
    from alembic import command
    from alembic.config import Config

    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
    _check_version(schema_version(connection), connection.engine.url, write=True)
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, SCHEMA_VERSION)


def open_store(url: sa.URL, *, write: bool) -> sa.Engine:
    """Connect to the store at ``url`` and check its schema; for writing, create or migrate it first.

    Args:
        url: from :func:`resolve_url`.
        write: open for publishing (creates the store, migrates an older one, SQLite writers queue for the
            write lock); else for reading (the store must exist at this bncvl's version).

    Raises:
        StoreError: the server cannot be reached or refuses the login, the store is missing (reading), or its
            schema is newer than this bncvl's (or, reading, older: a publish migrates it). One line, without the
            password.
    """
    engine = _sqlite_engine(url, write) if url.get_backend_name() == "sqlite" else _postgres_engine(url)
    try:
        with engine.begin() as connection:
            if write:
                _migrate(connection)
            else:
                found = schema_version(connection)
                _check_version(found, url, write=False)
                if found is None:
                    raise StoreError(f"{describe(url)} holds no store: run `bncvl publish` to create it")
    except exc.DBAPIError as error:
        engine.dispose()
        raise StoreError(f"cannot use the store {describe(url)}: {_one_line(error)}") from None
    except StoreError:
        engine.dispose()
        raise
    return engine
