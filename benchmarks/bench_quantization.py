"""Quantization behaviour tracked like speed: one fixed, seeded, few-second training run per commit.

``setup_cache`` trains the ``bncvl analyze`` network and its float twin once
(:data:`TRAINING`, on scikit-learn's digits) and every ``track_`` reads its
figure. The numbers are deterministic for a given commit, torch and machine
(one thread, fixed seed), so any change between commits is the code's.
Test error rather than accuracy: asv flags every increase as a regression.
A commit without ``bncvl.analysis`` skips the whole class.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TRAINING", "QuantizationTraining"]

TRAINING: dict[str, Any] = {"epochs": 5, "seed": 0}
"""Overrides of ``bncvl.analysis.TrainConfig``: its defaults with 5 epochs (115
steps of batch 64), a few seconds of one CPU thread for both networks."""

PERCENT = 100.0


def _train() -> dict[str, Any] | None:
    try:
        from bncvl.analysis import TrainConfig, load_dataset, run_training
    except ImportError as error:
        # Only an older commit without the analysis package is a skip; a broken import inside it must fail.
        if error.name not in ("bncvl.analysis",) and "cannot import name" not in str(error):
            raise
        return None
    config = TrainConfig(**TRAINING)
    return run_training(config, load_dataset(config.dataset, config.test_fraction, config.split_seed)).summary()


class QuantizationTraining:
    """Test error, accuracy gap, flips, ones and dead filters of the seeded digits run. Clock: none."""

    timeout = 300  # the training in setup_cache takes seconds alone, minutes on a loaded machine

    def setup_cache(self) -> dict[str, Any]:
        # Never None: asv then calls setup and the tracks without the cache argument.
        return {"summary": _train()}

    def setup(self, cache: dict[str, Any]) -> None:
        if cache["summary"] is None:
            raise NotImplementedError("bncvl.analysis does not exist at this commit")
        self.summary = cache["summary"]

    def track_test_error(self, cache: dict[str, Any]) -> float:
        return PERCENT * (1.0 - self.summary["bncvl_test_accuracy"])

    track_test_error.unit = "%"

    def track_accuracy_gap(self, cache: dict[str, Any]) -> float:
        """Float baseline's test accuracy minus BNCVL's, in percentage points."""
        return PERCENT * self.summary["accuracy_gap"]

    track_accuracy_gap.unit = "%"

    def track_final_flip_ratio(self, cache: dict[str, Any]) -> float:
        """Mean over layers of the last epoch's mean flip ratio (Larq's per-epoch FlipRatio)."""
        ratios = [r for r in self.summary["final_flip_ratio"].values() if r is not None]
        return sum(ratios) / len(ratios)

    track_final_flip_ratio.unit = "fraction"

    def track_ones_fraction(self, cache: dict[str, Any]) -> float:
        """Mean over layers of the final fraction of ones in the binary weights."""
        fractions = list(self.summary["ones_fraction"].values())
        return sum(fractions) / len(fractions)

    track_ones_fraction.unit = "fraction"

    def track_dead_filters(self, cache: dict[str, Any]) -> int:
        """All-zero binary filters over all layers at the end (each outputs a constant)."""
        return self.summary["dead_filters_total"]

    track_dead_filters.unit = "filters"
