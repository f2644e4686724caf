"""The ``bncvl`` subcommands, one module each (see :mod:`bncvl.cli`).

A command module defines ``configure(parser)`` and ``main(args) -> exit code``
and imports its heavy or optional dependencies inside ``main``; options that
several commands take are defined once in :mod:`bncvl.commands.common_args`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from types import ModuleType

__all__ = ["run_command"]


def run_command(command: ModuleType, argv: Sequence[str]) -> int:
    """Run the command module ``command`` on ``argv`` (its options only), as ``bncvl <command> argv`` would."""
    parser = argparse.ArgumentParser(prog=f"bncvl {command.__name__.rsplit('.', 1)[-1]}")
    command.configure(parser)
    return int(command.main(parser.parse_args(list(argv))))
