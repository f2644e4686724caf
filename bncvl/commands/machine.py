"""``bncvl machine``: register this machine with asv, with the facts that decide its speed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bncvl.commands import common_args
from bncvl.measure.machine import register

__all__ = ["configure", "main"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", help="machine name in asv results (default <host>-cpu or <host>-<gpu>)")
    parser.add_argument("--machine-file", type=Path, help="asv's machine file (default ~/.asv-machine.json)")
    common_args.add_json(parser, "the record")


def main(args: argparse.Namespace) -> int:
    record = register(args.name, args.machine_file)
    if args.json:
        print(json.dumps(record, indent=2))
        return 0
    width = max(map(len, record))
    for key, value in record.items():
        print(f"{key:<{width}}  {value}")
    print(f"\nregistered machine {record['machine']!r}; benchmark on it with: asv run --machine {record['machine']}")
    return 0
