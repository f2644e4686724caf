"""The ``bncvl`` console script: one subcommand per module, imported on demand."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from bncvl._extras import MissingExtra

# name -> one-line help. The command's module is bncvl.commands.<name>; it
# defines configure(parser) and main(args) -> exit code, and imports its heavy
# or optional dependencies inside main, so `bncvl --help` stays fast and works
# without extras.
COMMANDS: dict[str, str] = {
    "profile": "time every variant against the reference",
    "machine": "register this machine with asv, with its GPU, driver, CUDA and torch facts",
    "history": "benchmark a range of commits in the current environment (asv -E existing)",
    "analyze": "train BNCVL layers on a real dataset and record how they binarise",
    "summary": "Larq-style model summary: params by bit-width, memory, MACs",
    "dashboard": "serve the Streamlit dashboard of asv results and analysis runs",
    "check": "CI regression check: benchmark two commits and fail on a significant slowdown",
    "pipeline": "the main job: register, benchmark recent commits, analyze, serve the dashboard",
    "publish": "put asv results and analysis runs into the results store (an SQLite file, or PostgreSQL for a team)",
    "gpu-check": "a GPU host's self-check: GPU tests, NVML, the suite's GPU slice, a publish; one report",
}


def command_module(name: str) -> ModuleType:
    """The module of subcommand ``name`` (``bncvl.commands.<name>``), imported now."""
    return importlib.import_module(f"bncvl.commands.{name.replace('-', '_')}")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bncvl", description="Profile and benchmark the BNCVL binary-weight layer.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            command_module(name).configure(sub_parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command if command in COMMANDS else None).parse_args(argv)
    try:
        return command_module(args.command).main(args)
    except (ValueError, RuntimeError, FileNotFoundError, MissingExtra) as error:
        print(f"bncvl {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
