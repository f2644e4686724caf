"""The one way bncvl says that an optional dependency (an extra of pyproject.toml) is missing."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["MissingExtra", "needs_extra"]


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
