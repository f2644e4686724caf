"""Synthetic analysis run directories, in exactly the form ``bncvl analyze`` writes and the dashboard reads.

Seeded curves and histograms for the tests and a demo of the dashboard's
Quantization page; synthetic asv results are :mod:`bncvl.testing.results`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bncvl.analysis.rundir import CONFIG, METRICS, MODEL_SUMMARY, SUMMARY, RunWriter

__all__ = ["write_run"]


def write_run(
    root: str | os.PathLike[str],
    name: str,
    *,
    steps: int = 30,
    eval_every: int = 10,
    layers: Sequence[str] = ("conv1", "conv2"),
    seed: int = 0,
    complete: bool = True,
    truncate_last_line: bool = False,
    final_bncvl_accuracy: float = 0.93,
) -> Path:
    """Write an analysis run directory in the form ``bncvl analyze`` writes.

    Args:
        root: the runs directory.
        name: the run's directory name.
        steps: optimizer steps recorded.
        eval_every: test accuracy is recorded every this many steps (and at the last).
        layers: BNCVL layer names.
        seed: seeds the synthetic curves.
        complete: whether summary.json says the run finished.
        truncate_last_line: cut metrics.jsonl mid-line, as an interrupted run leaves it.
        final_bncvl_accuracy: the BNCVL network's final test accuracy.

    Returns:
        The run directory.
    """
    rng = np.random.default_rng(seed)
    run = Path(root) / name
    config = {"dataset": "digits", "seed": seed, "steps": steps, "batch_size": 64, "lr": 0.01, "optimizer": "adam"}
    lines, histograms = [], []
    float_accuracy = 0.97
    for step in range(steps):
        progress = (step + 1) / steps
        for index, layer in enumerate(layers):
            channels = 8 * (index + 1)
            ones = 0.5 + 0.05 * math.sin(step / 5 + index) + float(rng.normal(0, 0.01))
            threshold = 0.01 * index + 0.002 * step
            lines.append(
                {
                    "step": step,
                    "model": "bncvl",
                    "layer": layer,
                    "flip_ratio": None if step == 0 else 0.05 * (1 - progress) + 0.001,
                    "bias_flip_ratio": None if step == 0 else 0.02 * (1 - progress),
                    "cumulative_flips": int(40 * step),
                    "hamming_to_initial": 0.2 * progress,
                    "oscillation_frequency_mean": 0.01 * progress,
                    "oscillating_fraction": 0.02 * progress,
                    "ones_fraction": ones,
                    "ones_fraction_per_channel": [round(ones + 0.01 * c, 4) for c in range(channels)],
                    "all_zero_filters": 1 if (index == 1 and step > steps // 2) else 0,
                    "all_one_filters": 0,
                    "threshold": threshold,
                    "threshold_drift": threshold - 0.01 * index,
                    "latent_norm": 3.0 + 0.05 * step,
                    "flip_prone_fraction": 0.1 * (1 - progress),
                    "dead_unit_fraction": 0.3,
                    "prenorm_std_min": 0.1,
                    "prenorm_std_median": 0.5,
                    "prenorm_std_max": 1.2,
                    "epsilon_regime_samples": 0,
                    "nonfinite_count": 0,
                    "ste_grad_norm": 1.0 / (1 + step),
                }
            )
            if step % eval_every == 0 or step == steps - 1:
                for kind, center in (("latent_weight", threshold), ("margin", 1.0)):
                    samples = rng.normal(center, 0.1, size=500)
                    counts, edges = np.histogram(samples, bins=20)
                    histograms.append(
                        {
                            "step": step,
                            "layer": layer,
                            "kind": kind,
                            "edges": edges.tolist(),
                            "counts": counts.tolist(),
                            "threshold": threshold if kind == "latent_weight" else None,
                        }
                    )
        for model, final in (("bncvl", final_bncvl_accuracy), ("float", float_accuracy)):
            row = {
                "step": step,
                "model": model,
                "layer": None,
                "train_loss": 2.3 * (1 - progress) + 0.1,
                "train_accuracy": final * progress,
            }
            if step % eval_every == 0 or step == steps - 1:
                row["test_accuracy"] = final * (0.5 + 0.5 * progress)
            lines.append(row)
    model_summary = {
        "layers": [
            {"name": layer, "binary_params": 576 * (i + 1), "float_params": 8 * (i + 1), "macs": 36864 * (i + 1)}
            for i, layer in enumerate(layers)
        ]
    }
    summary: dict[str, object] = {"complete": complete}
    if complete:
        summary.update(
            {
                "bncvl_test_accuracy": final_bncvl_accuracy,
                "float_test_accuracy": float_accuracy,
                "accuracy_gap": float_accuracy - final_bncvl_accuracy,
                "steps": steps,
            }
        )
    bits = rng.integers(0, 2, size=(8, 1, 3, 3), dtype=np.uint8)
    with RunWriter(run) as writer:
        writer.write_json(CONFIG, config)
        writer.append_metrics(lines)
        writer.append_histograms(histograms)
        writer.write_json(MODEL_SUMMARY, model_summary)
        writer.write_json(SUMMARY, summary)
        writer.write_packed_snapshot(0, {"conv1.weight": (np.packbits(bits), bits.shape)})
    if truncate_last_line:  # as an interrupted run leaves it
        text = (run / METRICS).read_text()
        (run / METRICS).write_text(text[: -len(json.dumps(lines[-1])) // 2 - 1])
    return run
