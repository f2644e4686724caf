"""The one way bncvl says that an optional dependency (an extra of pyproject.toml, or valgrind) is missing."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator

__all__ = ["MissingExtra", "needs_extra", "valgrind_missing"]


class MissingExtra(ImportError):
    """An optional dependency is missing; the message names the extra to install. ``bncvl`` prints it."""


@contextlib.contextmanager
def needs_extra(extra: str, what: str, error_type: type[Exception] = MissingExtra) -> Iterator[None]:
    """Imports in the block come from the ``extra`` extra; a failed one raises ``error_type`` saying what to install.

    Args:
        extra: the extra's name in pyproject.toml (``dashboard``, ``bench``, ``analysis``...).
        what: what needs it, for the message (a module or a command).
        error_type: :class:`MissingExtra` (an ``ImportError``) where a module needs the extra to import
            at all; ``RuntimeError`` inside a command. ``bncvl`` prints either as an error, exit 2.
    """
    try:
        yield
    except ImportError as error:
        missing = f"{error.name} is missing" if error.name else str(error)
        raise error_type(f"{what} needs the {extra} extra ({missing}): pip install 'bncvl[{extra}]'") from error


def valgrind_missing() -> str | None:
    """Why instruction counts cannot be taken here (a missing tool of Debian's valgrind package), or None.

    ``benchmarks/callgrind.py`` keeps its own copy: the suite also runs against commits without this one.
    """
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            return f"{tool} is not on PATH; install Debian's valgrind package (apt-get install valgrind)"
    return None
