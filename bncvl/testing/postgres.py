"""A throwaway PostgreSQL server for tests and measurements: Debian's ``postgresql`` binaries on a temporary directory.

:func:`throwaway_server` runs ``initdb`` and ``pg_ctl`` on a fresh data
directory, listening on 127.0.0.1 at a free port with password logins
(scram-sha-256) and a Unix socket in the same directory, and removes it all
afterwards. PostgreSQL refuses to run as root, so as root the server runs
as the ``postgres`` system user that Debian's package creates (through
``runuser``). Nothing here touches a server the machine already runs.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["APT_PACKAGE", "create_database", "data_directory", "postgres_bin", "restart_server", "throwaway_server"]

APT_PACKAGE = "postgresql"
"""Debian's package that brings the server (``apt-get install -y postgresql``)."""
USER = "bncvl"
PASSWORD = "bncvl-test-password"
_SYSTEM_USER = "postgres"


def postgres_bin() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl``: Debian's newest ``/usr/lib/postgresql/<ver>/bin``, else PATH's."""
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    if debian:
        return debian[-1].parent
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(command: list[str], as_user: list[str]) -> None:
    result = subprocess.run([*as_user, *command], capture_output=True, text=True, check=False, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:2])} exited {result.returncode}: {result.stderr.strip()[-2000:]}")


def _as_server_user() -> list[str]:
    """The command prefix that runs a server command as the ``postgres`` user when this process is root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(_SYSTEM_USER)
    except KeyError:
        raise RuntimeError(f"running as root needs the {_SYSTEM_USER!r} user of Debian's {APT_PACKAGE}") from None
    return ["runuser", "-u", _SYSTEM_USER, "--"]


@contextlib.contextmanager
def throwaway_server(parent: Path | None = None) -> Iterator[str]:
    """Start a PostgreSQL server for the duration of the block; yields its URL (user :data:`USER`, database
    ``postgres``, password :data:`PASSWORD`). Its files go to a new directory in ``parent`` (default: the
    temporary directory).

    Raises:
        FileNotFoundError: the server binaries are missing (install Debian's :data:`APT_PACKAGE`).
        RuntimeError: ``initdb`` or ``pg_ctl`` failed (their stderr is in the message).
    """
    bindir = postgres_bin()
    if bindir is None:
        raise FileNotFoundError(f"no PostgreSQL server binaries (initdb, pg_ctl); apt-get install -y {APT_PACKAGE}")
    root = Path(tempfile.mkdtemp(prefix="bncvl-pg-", dir=parent))
    as_user = _as_server_user()
    if as_user:
        account = pwd.getpwnam(_SYSTEM_USER)
        os.chown(root, account.pw_uid, account.pw_gid)
    data = root / "data"
    password_file = root / "password"
    password_file.write_text(PASSWORD + "\n")
    if as_user:
        os.chown(password_file, account.pw_uid, account.pw_gid)
    port = _free_port()
    started = False
    try:
        _run(
            [
                *(str(bindir / "initdb"), "-D", str(data), "-U", USER, f"--pwfile={password_file}", "-E", "UTF8"),
                *("--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"),
            ],
            as_user,
        )
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
        _run([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o", options, "start"], as_user)
        started = True
        yield f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run(
                [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True,
                check=False,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)


def create_database(server_url: str, name: str) -> str:
    """Create the empty database ``name`` on the server of ``server_url``; return its URL."""
    import sqlalchemy as sa

    url = sa.make_url(server_url).set(drivername="postgresql+psycopg")
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            quoted = connection.dialect.identifier_preparer.quote(name)
            connection.exec_driver_sql(f"CREATE DATABASE {quoted}")
    finally:
        engine.dispose()
    return sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)


def data_directory(server_url: str) -> Path:
    """The data directory of the server at ``server_url`` (asked as its superuser)."""
    import sqlalchemy as sa

    engine = sa.create_engine(sa.make_url(server_url).set(drivername="postgresql+psycopg"))
    try:
        with engine.connect() as connection:
            return Path(connection.exec_driver_sql("SHOW data_directory").scalar_one())
    finally:
        engine.dispose()


def restart_server(server_url: str, settings: dict[str, str] | None = None) -> None:
    """Restart the :func:`throwaway_server` at ``server_url`` (its shared buffers empty afterwards), with
    ``settings`` (e.g. ``{"fsync": "on"}``) written to its ``postgresql.auto.conf`` first."""
    import sqlalchemy as sa

    data = data_directory(server_url)
    if settings:
        engine = sa.create_engine(
            sa.make_url(server_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
        )
        try:
            with engine.connect() as connection:
                for name, value in settings.items():
                    # ALTER SYSTEM takes no parameters: a setting is a plain word, checked here
                    if not re.fullmatch(r"[A-Za-z0-9_.]+", name + value):
                        raise ValueError(f"a server setting is a plain word; got {name!r} = {value!r}")
                    connection.exec_driver_sql(f"ALTER SYSTEM SET {name} = '{value}'")
        finally:
            engine.dispose()
    bindir = postgres_bin()
    if bindir is None:
        raise FileNotFoundError(f"no PostgreSQL server binaries (initdb, pg_ctl); apt-get install -y {APT_PACKAGE}")
    _run(
        [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(data.parent / "log"), "-m", "fast", "-w", "restart"],
        _as_server_user(),
    )
