"""``bncvl summary``: a Larq-style summary of the analysis network (binary or, with ``--float``, its float baseline)."""

from __future__ import annotations

import argparse
import json
import sys

from bncvl.analysis.train import TrainConfig
from bncvl.commands import common_args

__all__ = ["configure", "main", "parse_image_shape"]

_DEFAULTS = TrainConfig()
DIGITS_IMAGE_SHAPE = (1, 8, 8)
DIGITS_CLASSES = 10


def parse_image_shape(text: str) -> tuple[int, int, int]:
    """``"1,8,8"`` -> ``(1, 8, 8)``; ``ValueError`` naming the expected form otherwise."""
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"--image-shape expects three positive ints C,H,W such as 1,8,8; got {text!r}")
    return shape[0], shape[1], shape[2]


def configure(parser: argparse.ArgumentParser) -> None:
    common_args.add_channels(parser, _DEFAULTS.channels)
    common_args.add_kernel_size(parser, _DEFAULTS.kernel_size)
    parser.add_argument("--image-shape", default="1,8,8", help="C,H,W of one input (default 1,8,8: digits)")
    parser.add_argument("--classes", type=int, default=DIGITS_CLASSES, help=f"default {DIGITS_CLASSES}")
    parser.add_argument("--float", action="store_true", help="summarise the float baseline instead")
    common_args.add_json(parser, "the rows and totals")


def main(args: argparse.Namespace) -> int:
    from bncvl.analysis.model import AnalysisNet
    from bncvl.analysis.summary import format_summary, summarize

    image_shape = parse_image_shape(args.image_shape)
    channels = common_args.parse_channels(args.channels)
    if args.kernel_size < 1 or args.classes < 1:
        raise ValueError(
            f"--kernel-size and --classes must be positive ints; got {args.kernel_size} and {args.classes}"
        )
    model = AnalysisNet(image_shape, args.classes, channels, args.kernel_size, binary=not args.float)
    summary = summarize(model, image_shape)
    if args.json:
        json.dump(summary.to_dict(), sys.stdout, indent=2)
        print()
    else:
        kind = "float baseline" if args.float else "BNCVL network"
        print(format_summary(summary, f"{kind}: input {'x'.join(map(str, image_shape))}, {args.classes} classes"))
    return 0
