"""``bncvl analyze``: train BNCVL layers and their float twin, and write a run directory."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bncvl.analysis.data import DEFAULT_DATASET, DEFAULT_TEST_FRACTION
from bncvl.analysis.train import LR_SCHEDULES, OPTIMIZERS, TrainConfig
from bncvl.commands import common_args

__all__ = ["check_run_name", "check_runs_dir", "configure", "default_run_name", "main"]

_DEFAULTS = TrainConfig()


def check_run_name(name: str) -> str:
    """``name`` if it names one directory inside the runs directory; ``ValueError`` naming the form otherwise.

    A run name is one path component: not empty, no ``/`` or ``\\`` (nor a NUL), not ``.`` or ``..``;
    so ``--name`` can never write outside ``--runs-dir``.
    """
    if not name or name in (".", "..") or any(sep in name for sep in ("/", "\\", "\0")):
        raise ValueError(
            f"--name expects one path component (a directory name: no '/', backslash or NUL, not '.' or '..'); "
            f"got {name!r}"
        )
    return name


def check_runs_dir(runs_dir: str) -> Path:
    """``runs_dir`` if it is a directory or can become one; ``ValueError`` naming ``--runs-dir`` otherwise.

    Raises:
        ValueError: ``runs_dir`` (or a folder above it) is a file.
    """
    root = Path(runs_dir)
    blocking = next((p for p in (root, *root.parents) if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise ValueError(
            f"--runs-dir expects a directory (created if missing); got {runs_dir!r}, and {str(blocking)!r} is a file"
        )
    return root


def default_run_name(dataset: str, seed: int, now: time.struct_time | None = None) -> str:
    """``<dataset>-seed<seed>-<YYYYmmdd-HHMMSS>``; a ``.npz`` dataset is named by its file stem."""
    name = dataset if dataset == DEFAULT_DATASET else Path(dataset).stem
    return f"{name}-seed{seed}-{time.strftime('%Y%m%d-%H%M%S', now or time.localtime())}"


def configure(parser: argparse.ArgumentParser) -> None:
    d = _DEFAULTS
    parser.add_argument(
        "--dataset",
        default=DEFAULT_DATASET,
        help=f"'{DEFAULT_DATASET}' (scikit-learn's 8x8 digits) or a .npz with 'images' and 'labels' "
        f"(default {DEFAULT_DATASET})",
    )
    common_args.add_seed(parser, d.seed)
    parser.add_argument("--epochs", type=int, default=d.epochs, help=f"default {d.epochs}")
    parser.add_argument("--batch-size", type=int, default=d.batch_size, help=f"default {d.batch_size}")
    parser.add_argument("--lr", type=float, default=d.lr, help=f"peak learning rate (default {d.lr})")
    parser.add_argument("--lr-min", type=float, default=d.lr_min, help=f"cosine schedule's floor (default {d.lr_min})")
    parser.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=d.lr_schedule, help=f"default {d.lr_schedule}")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer, help=f"default {d.optimizer}")
    common_args.add_channels(parser, d.channels)
    common_args.add_kernel_size(parser, d.kernel_size)
    common_args.add_threads(parser, d.threads)
    parser.add_argument(
        "--checkpoints",
        type=int,
        default=d.checkpoints,
        help=f"steps with histograms and weight snapshots, first and last included (default {d.checkpoints})",
    )
    parser.add_argument(
        "--test-fraction", type=float, default=DEFAULT_TEST_FRACTION, help=f"default {DEFAULT_TEST_FRACTION}"
    )
    common_args.add_runs_dir(parser)
    parser.add_argument("--name", help="run directory name (default <dataset>-seed<seed>-<YYYYmmdd-HHMMSS>)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    common_args.add_json(parser, "the run's summary (summary.json) and directory")


def _option_name(field_name: str) -> str:
    """The ``bncvl analyze`` option of a :class:`TrainConfig` field: ``batch_size`` -> ``--batch-size``."""
    return "--" + field_name.replace("_", "-")


def main(args: argparse.Namespace) -> int:
    from bncvl.analysis.data import load_dataset
    from bncvl.analysis.rundir import RunWriter
    from bncvl.analysis.train import run_training

    config = TrainConfig(
        dataset=args.dataset,
        seed=args.seed,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        lr_min=args.lr_min,
        lr_schedule=args.lr_schedule,
        optimizer=args.optimizer,
        channels=common_args.parse_channels(args.channels),
        kernel_size=args.kernel_size,
        threads=args.threads,
        checkpoints=args.checkpoints,
        test_fraction=args.test_fraction,
    )
    config.validate(_option_name)
    name = default_run_name(config.dataset, config.seed) if args.name is None else check_run_name(args.name)
    run_dir = check_runs_dir(args.runs_dir) / name
    dataset = load_dataset(config.dataset, config.test_fraction, config.split_seed)
    try:
        writer = RunWriter(run_dir)
    except FileExistsError as error:
        raise ValueError(str(error)) from error
    except OSError as error:  # e.g. no permission: a usage error, not a crash
        raise ValueError(
            f"--runs-dir: cannot create run directory {str(run_dir)!r} ({error.strerror or error}); "
            "expected a directory this user can create and write in"
        ) from error
    try:
        with writer:
            result = run_training(config, dataset, writer, progress=not args.no_progress)
    except KeyboardInterrupt:
        print(f"bncvl analyze: interrupted; the steps so far are in {run_dir} (no summary.json)", file=sys.stderr)
        return 130
    summary = result.summary()
    if args.json:
        json.dump({"run_dir": str(run_dir), **summary}, sys.stdout, indent=2)
        print()
        return 0
    print(f"bncvl analyze: {dataset.name}, seed {config.seed}, {result.steps} steps in {result.wall_time_s:.1f} s")
    print(
        f"test accuracy: BNCVL {summary['bncvl_test_accuracy']:.2%}, float {summary['float_test_accuracy']:.2%}, "
        f"gap {summary['accuracy_gap']:.2%}"
    )
    for layer, ratio in summary["final_flip_ratio"].items():
        flip = "n/a" if ratio is None else f"{ratio:.5f}"
        print(
            f"{layer}: last-epoch flip ratio {flip}, ones {summary['ones_fraction'][layer]:.3f}, "
            f"all-zero filters {summary['dead_filters'][layer]}, all-one filters {summary['all_one_filters'][layer]}"
        )
    print(f"run directory: {run_dir}")
    return 0
