"""pytest-benchmark shoot-out: every variant and the conv limit, per preset, grouped per preset and pass.

Skipped in the default test run (``--benchmark-skip`` in pyproject.toml).
Run it with::

    pytest tests/test_shootout.py --benchmark-only
    pytest tests/test_shootout.py --benchmark-only --benchmark-autosave          # keep a baseline
    pytest tests/test_shootout.py --benchmark-only --benchmark-compare \\
        --benchmark-compare-fail=median:10%                                        # fail on a >10% slowdown

It runs on CUDA when a GPU is present, else on the CPU at
``bncvl.measure.timer.DEFAULT_THREADS``; the CUDA-only variants skip on the CPU.
The first call of a compiled variant (``torch.compile``) happens before
timing, so compilation never lands in a round. The ``large`` preset is left
out: one CPU training step takes seconds there; use ``bncvl profile --preset
large`` or the asv suite for it.
"""

from __future__ import annotations

import pytest
import torch

from bncvl.layers.registry import BASELINES, VARIANTS
from bncvl.measure.presets import PRESETS
from bncvl.measure.timer import DEFAULT_THREADS, reproducible, synchronize
from bncvl.measure.workload import make_workload

SHOOTOUT_PRESETS = ["tiny", "small", "medium"]
NAMES = [*VARIANTS, *BASELINES]
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


@pytest.mark.parametrize("pass_name", ["eval_forward", "train_step"])
@pytest.mark.parametrize("preset", SHOOTOUT_PRESETS)
@pytest.mark.parametrize("name", NAMES)
def test_shootout(benchmark, name, preset, pass_name):
    mode = "eval" if pass_name == "eval_forward" else "train"
    try:
        work = make_workload(name, PRESETS[preset], mode, DEVICE)
    except NotImplementedError as reason:
        pytest.skip(str(reason))
    step = getattr(work, pass_name)

    def run() -> None:
        step()
        synchronize(DEVICE)

    benchmark.group = f"{preset} {pass_name} ({DEVICE})"
    benchmark.extra_info.update(
        {"variant": name, "preset": preset, "pass": pass_name, "device": DEVICE, "threads": DEFAULT_THREADS}
    )
    with reproducible(threads=DEFAULT_THREADS):
        run()  # compiles torch.compile kernels, fills caches, autotunes cuDNN: outside the rounds
        benchmark(run)
