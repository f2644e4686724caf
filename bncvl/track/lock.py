"""An exclusive lock on a file, held for a ``with`` block, that a second process waits for with a message.

``fcntl.flock`` locks belong to the open file, so the kernel releases one when
its process dies, whatever killed it (``kill -9`` included): a lock is never
left stale. The holder writes who it is into the file, so a process that has
to wait says whom for.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["hold", "holder"]


def holder(path: Path) -> str:
    """Who holds (or last held) the lock at ``path``, as its holder wrote it: ``pid N (COMMAND since HH:MM)``."""
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        text = ""
    return text or "another process"


@contextmanager
def hold(path: Path, command: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the ``with`` block.

    When another process holds it, prints ``COMMAND: waiting for the lock on
    PATH held by pid N (COMMAND since HH:MM)`` to stderr once, then waits as
    long as it takes.

    Args:
        path: the lock file; its folder is created if missing.
        command: who is locking, e.g. ``"bncvl check"``; written into the file for a waiting process to show.

    Raises:
        OSError: the lock file cannot be created or opened.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by children: Python opens it O_CLOEXEC
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"{command}: waiting for the lock on {path} held by {holder(path)}", file=sys.stderr, flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} ({command} since {time.strftime('%H:%M')})\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock
