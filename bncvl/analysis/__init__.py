"""Quantization analysis: how BNCVL's binarisation behaves while it trains.

``bncvl analyze`` trains a few BNCVL layers and their float twin on a real
dataset and writes a run directory (see :mod:`bncvl.analysis.rundir`);
``bncvl summary`` prints a Larq-style model summary. scikit-learn and tqdm
(the ``analysis`` extra) are imported only where they are used.
"""

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
