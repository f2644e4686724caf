"""``bncvl profile``: time every registered variant against the reference."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from dataclasses import asdict, dataclass

import torch

from bncvl.commands import common_args
from bncvl.layers.registry import BASELINES, VARIANTS
from bncvl.measure.presets import PRESETS, Shape, get_preset
from bncvl.measure.timer import (
    DEFAULT_SEED,
    DEFAULT_THREADS,
    SEED_LIMIT,
    Measurement,
    Timer,
    keep_freed_memory,
    reproducible,
    resolve_device,
)
from bncvl.measure.workload import DTYPES, make_workload, parse_dtype

__all__ = ["ProfileRow", "configure", "main", "profile_variants"]

DEFAULT_PRESET = "medium"
PASSES = ("eval_forward", "train_step")
LIMIT = "conv_limit"
"""The baseline every row is also compared with: the bare convolution (:class:`bncvl.layers.conv_limit.ConvLimit`)."""


@dataclass(frozen=True)
class ProfileRow:
    """One variant's timing of one pass, with its ratios to the reference and to the conv limit."""

    variant: str
    pass_name: str
    measurement: Measurement | None
    ratio_vs_reference: float | None
    skipped: str | None = None
    ratio_vs_limit: float | None = None

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "variant": self.variant,
            "pass": self.pass_name,
            "ratio_vs_reference": self.ratio_vs_reference,
            "ratio_vs_limit": self.ratio_vs_limit,
            "skipped": self.skipped,
        }
        if self.measurement is not None:
            out.update(self.measurement.to_dict())
        return out


def profile_variants(
    shape: Shape,
    device: torch.device,
    dtype: torch.dtype,
    variants: list[str],
    repeats: int,
    warmup: int,
    seed: int = DEFAULT_SEED,
) -> list[ProfileRow]:
    """Time eval forward and the training step of each variant and of the conv limit.

    Ratios are time / reference time and time / limit time. The limit row
    (:data:`LIMIT`) is always measured and returned.
    """
    rows: list[ProfileRow] = []
    for pass_name in PASSES:
        mode = "eval" if pass_name == "eval_forward" else "train"
        measured: dict[str, Measurement | NotImplementedError] = {}
        for name in ["reference", LIMIT, *(v for v in variants if v not in ("reference", LIMIT))]:
            try:
                work = make_workload(name, shape, mode, device, dtype, seed)
                timer = Timer(getattr(work, pass_name), device, label=f"{name}/{pass_name}", warmup=warmup)
                measured[name] = timer.repeat(repeats)
            except NotImplementedError as reason:
                measured[name] = reason
        reference, limit = measured["reference"], measured[LIMIT]
        assert isinstance(reference, Measurement)  # the reference runs everywhere
        for name, result in measured.items():
            if isinstance(result, NotImplementedError):
                rows.append(ProfileRow(name, pass_name, None, None, skipped=str(result)))
                continue
            rows.append(
                ProfileRow(
                    name,
                    pass_name,
                    result,
                    result.median / reference.median,
                    ratio_vs_limit=result.median / limit.median if isinstance(limit, Measurement) else None,
                )
            )
    return [row for row in rows if row.variant in variants or row.variant == LIMIT]


def format_table(rows: list[ProfileRow]) -> str:
    header = f"{'variant':<16} {'pass':<13} {'median':>11} {'IQR':>10} {'x reference':>12} {'x limit':>8}"
    lines = [header, "-" * len(header)]
    for row in rows:
        if row.measurement is None:
            lines.append(f"{row.variant:<16} {row.pass_name:<13} skipped: {row.skipped}")
            continue
        m = row.measurement
        lines.append(
            f"{row.variant:<16} {row.pass_name:<13} {_ms(m.median):>11} {_ms(m.iqr):>10} "
            f"{row.ratio_vs_reference:>11.2f}x {_ratio(row.ratio_vs_limit):>8}"
        )
    return "\n".join(lines)


def _ratio(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms"


def configure(parser: argparse.ArgumentParser) -> None:
    default = PRESETS[DEFAULT_PRESET]
    parser.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        help=f"named shape (default {DEFAULT_PRESET}); the shape flags below override it",
    )
    parser.add_argument("--batch", type=int, help=f"batch size (default {default.batch})")
    parser.add_argument("--in-channels", type=int, help=f"input channels (default {default.in_channels})")
    parser.add_argument("--out-channels", type=int, help=f"output channels (default {default.out_channels})")
    parser.add_argument("--size", type=int, help=f"height and width (default {default.size})")
    parser.add_argument("--kernel-size", type=int, help=f"kernel size (default {default.kernel_size})")
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default cpu)")
    parser.add_argument("--dtype", default="float32", choices=sorted(DTYPES), help="default float32")
    common_args.add_threads(parser, DEFAULT_THREADS)
    common_args.add_seed(parser, DEFAULT_SEED)
    parser.add_argument("--repeats", type=int, default=20, help="timed samples per pass (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls before timing (default 3)")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help=f"comma-separated subset of {sorted(VARIANTS)} (default all)"
    )
    parser.add_argument(
        "--system-malloc",
        action="store_true",
        help="leave the C allocator's defaults, under which glibc unmaps large freed blocks and every call "
        "faults its memory in again (default: keep freed memory, as the asv suite does; see "
        "bncvl.measure.timer.keep_freed_memory)",
    )
    common_args.add_json(parser, "the configuration and every row")


def _shape_from(args: argparse.Namespace) -> Shape:
    base = asdict(get_preset(args.preset or DEFAULT_PRESET))
    overrides = {k: getattr(args, k) for k in base if getattr(args, k, None) is not None}
    for key, value in overrides.items():
        if value < 1:
            raise ValueError(f"--{key.replace('_', '-')} must be a positive int; got {value}")
    return Shape(**{**base, **overrides})


def _check_counts(args: argparse.Namespace) -> None:
    for option, value, least in (
        ("--repeats", args.repeats, 1),
        ("--warmup", args.warmup, 0),
        ("--threads", args.threads, 1),
    ):
        if value < least:
            raise ValueError(f"{option} must be an int >= {least}; got {value}")
    if not 0 <= args.seed < SEED_LIMIT:
        raise ValueError(f"--seed must be an int in [0, 2**64); got {args.seed}")


def _variants_from(text: str) -> list[str]:
    names = sorted([*VARIANTS, *BASELINES])
    variants = [v.strip() for v in text.split(",")]
    if not all(variants):
        raise ValueError(f"--variants expects comma-separated names from {names}, none empty; got {text!r}")
    unknown = sorted(set(variants) - set(names))
    if unknown:
        raise ValueError(f"--variants: unknown {unknown}; expected names from {names}")
    return variants


def main(args: argparse.Namespace) -> int:
    _check_counts(args)
    shape = _shape_from(args)
    device = resolve_device(args.device)
    dtype = parse_dtype(args.dtype)
    variants = _variants_from(args.variants)
    if args.system_malloc and keep_freed_memory.cache_info().currsize:
        raise RuntimeError(
            "--system-malloc: this process has already set keep-freed malloc options "
            "(bncvl.measure.timer.keep_freed_memory), which cannot be undone; run the profile in a fresh process"
        )
    with reproducible(args.seed, args.threads, keep_freed=not args.system_malloc):
        rows = profile_variants(shape, device, dtype, variants, args.repeats, args.warmup, args.seed)
    config = {
        "shape": asdict(shape),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine(),
        "dtype": args.dtype,
        "threads": args.threads,
        "seed": args.seed,
        "malloc": "system" if args.system_malloc else "keep-freed",
        "torch": torch.__version__,
    }
    if args.json:
        json.dump({"config": config, "results": [r.to_dict() for r in rows]}, sys.stdout, indent=2)
        print()
    else:
        print(
            f"BNCVL profile: {shape.describe()}; {device} {args.dtype}, "
            f"{args.threads} thread(s), malloc {config['malloc']}, torch {torch.__version__}"
        )
        print(format_table(rows))
    return 0
