"""Quantization analysis: how BNCVL's binarisation behaves while it trains.

``bncvl analyze`` trains a few BNCVL layers and their float twin on a real
dataset and writes a run directory (see :mod:`bncvl.analysis.rundir`);
``bncvl summary`` prints a Larq-style model summary. scikit-learn and tqdm
(the ``analysis`` extra) are imported only where they are used, and torch
only when a name below is first used (PEP 562): the dashboard reads runs
through :mod:`bncvl.analysis.rundir` without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bncvl import _lazy

if TYPE_CHECKING:
    from bncvl.analysis.data import Dataset, load_dataset
    from bncvl.analysis.model import AnalysisNet, FloatConv, ObservedBNCVL
    from bncvl.analysis.rundir import RunWriter, load_snapshot, read_json, read_jsonl
    from bncvl.analysis.summary import ModelSummary, format_summary, summarize
    from bncvl.analysis.train import TrainConfig, TrainingResult, run_training

__all__ = [
    "AnalysisNet",
    "Dataset",
    "FloatConv",
    "ModelSummary",
    "ObservedBNCVL",
    "RunWriter",
    "TrainConfig",
    "TrainingResult",
    "format_summary",
    "load_dataset",
    "load_snapshot",
    "read_json",
    "read_jsonl",
    "run_training",
    "summarize",
]

# public name -> the module that defines it
_MODULES = {
    "Dataset": "bncvl.analysis.data",
    "load_dataset": "bncvl.analysis.data",
    "AnalysisNet": "bncvl.analysis.model",
    "FloatConv": "bncvl.analysis.model",
    "ObservedBNCVL": "bncvl.analysis.model",
    "RunWriter": "bncvl.analysis.rundir",
    "load_snapshot": "bncvl.analysis.rundir",
    "read_json": "bncvl.analysis.rundir",
    "read_jsonl": "bncvl.analysis.rundir",
    "ModelSummary": "bncvl.analysis.summary",
    "format_summary": "bncvl.analysis.summary",
    "summarize": "bncvl.analysis.summary",
    "TrainConfig": "bncvl.analysis.train",
    "TrainingResult": "bncvl.analysis.train",
    "run_training": "bncvl.analysis.train",
}

__getattr__, __dir__ = _lazy.attach(__name__, _MODULES)
