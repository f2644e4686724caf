"""Options that several ``bncvl`` commands take, each defined once, as ``asv.commands.common_args`` does for asv.

Every ``add_*`` function adds one option to a command's parser, with its
name, type and help; what really differs between commands (its default, or
what the default is) is a parameter. Nothing here imports more than the
standard library and :mod:`bncvl.track.asv`, so ``bncvl <command> --help``
stays fast and works without extras.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from bncvl.track.asv import DEFAULT_RUNS_DIR, STORE_ENV

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_RUNS_DIR",
    "add_bench",
    "add_channels",
    "add_config",
    "add_json",
    "add_kernel_size",
    "add_machine",
    "add_port",
    "add_runs_dir",
    "add_seed",
    "add_store",
    "add_threads",
    "no_abbreviations",
    "parse_channels",
]

DEFAULT_PORT = 8501
"""The dashboard's port: Streamlit's own default."""


def add_config(parser: argparse.ArgumentParser) -> None:
    """``--config FILE``: the project's asv configuration (None: the command finds asv.conf.json itself)."""
    parser.add_argument("--config", type=Path, help="asv configuration (default: asv.conf.json of this repository)")


def no_abbreviations(parser: argparse.ArgumentParser) -> None:
    """Accept whole option names only, for a command that takes git refs: a ref that starts with ``--``
    (``--output=FILE``) is then refused as an unknown option, never read as an abbreviation (``--output-dir``)."""
    parser.allow_abbrev = False


def add_machine(parser: argparse.ArgumentParser, default_help: str) -> None:
    """``--machine NAME``: the asv machine the results are stored under (default None: this host's)."""
    parser.add_argument("--machine", help=f"asv machine name (default: {default_help})")


def add_bench(parser: argparse.ArgumentParser, default_help: str) -> None:
    """``-b/--bench REGEX``, repeatable: asv's ``--bench``; the value is None when it is not given."""
    parser.add_argument(
        "-b",
        "--bench",
        action="append",
        metavar="REGEX",
        help=f"benchmarks to run, matched against 'name(params)' as asv run -b does (repeatable; default: "
        f"{default_help})",
    )


def add_runs_dir(
    parser: argparse.ArgumentParser, default: str | None = DEFAULT_RUNS_DIR, default_help: str = ""
) -> None:
    """``--runs-dir DIR``: the directory of ``bncvl analyze``'s run directories."""
    where = default_help or f"{default}/"
    parser.add_argument(
        "--runs-dir", default=default, help=f"directory of the bncvl analyze run directories (default: {where})"
    )


def add_port(parser: argparse.ArgumentParser) -> None:
    """``--port N``: the port the dashboard serves on."""
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port the dashboard serves on (default: {DEFAULT_PORT})"
    )


def add_json(parser: argparse.ArgumentParser, what: str) -> None:
    """``--json``: print ``what`` as JSON instead of the text report."""
    parser.add_argument("--json", action="store_true", help=f"print {what} as JSON instead of the text report")


def add_seed(parser: argparse.ArgumentParser, default: int) -> None:
    """``--seed N``: the seed of the command's weights, inputs and data."""
    parser.add_argument("--seed", type=int, default=default, help=f"random seed (default {default})")


def add_threads(parser: argparse.ArgumentParser, default: int) -> None:
    """``--threads N``: torch's intra-op threads."""
    parser.add_argument("--threads", type=int, default=default, help=f"torch intra-op threads (default {default})")


def add_channels(parser: argparse.ArgumentParser, default: Sequence[int]) -> None:
    """``--channels C,C,...``: output channels of each BNCVL layer of the analysis network (:func:`parse_channels`)."""
    text = ",".join(map(str, default))
    parser.add_argument("--channels", default=text, help=f"output channels of each BNCVL layer (default {text})")


def parse_channels(text: str) -> tuple[int, ...]:
    """``--channels``' value: ``"32,32"`` -> ``(32, 32)``; ``ValueError`` naming the expected form otherwise."""
    try:
        channels = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"--channels expects comma-separated positive ints such as 32,32; got {text!r}") from None
    if not channels or min(channels) < 1:
        raise ValueError(f"--channels expects comma-separated positive ints such as 32,32; got {text!r}")
    return channels


def add_kernel_size(parser: argparse.ArgumentParser, default: int) -> None:
    """``--kernel-size K``: the analysis network's convolution kernel size."""
    parser.add_argument("--kernel-size", type=int, default=default, help=f"kernel size (default {default})")


def add_store(parser: argparse.ArgumentParser) -> None:
    """``--store URL``: the results store (None: ``$BNCVL_STORE``, else the embedded file in the results directory)."""
    parser.add_argument(
        "--store",
        metavar="URL",
        help=f"results store: postgresql://USER@HOST[:PORT]/DB, sqlite:///PATH or a path (default: ${STORE_ENV}, "
        "else bncvl-store.sqlite in asv's results directory)",
    )
