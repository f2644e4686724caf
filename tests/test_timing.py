"""The CLI's timer (``bncvl.measure.timer``), its Measurement, and the reproducibility helpers.

The asv suite's own timing loops are tested in test_suite_timing.py.
"""

import platform
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bncvl.measure.timer import Measurement, Timer, reproducible, resolve_device

ROOT = Path(__file__).resolve().parents[1]


def test_measurement_statistics_from_raw_samples():
    m = Measurement((4.0, 1.0, 3.0, 2.0, 5.0), label="x")
    assert m.median == 3.0
    assert (m.q25, m.q75, m.iqr) == (2.0, 4.0, 2.0)
    assert m.to_dict()["samples_s"] == [4.0, 1.0, 3.0, 2.0, 5.0]


def test_single_sample_has_zero_iqr():
    assert Measurement((0.5,)).iqr == 0.0


def test_measurement_needs_samples():
    with pytest.raises(ValueError, match="at least one sample"):
        Measurement(())


def test_timer_counts_calls_and_calibrates():
    calls = []
    timer = Timer(lambda: calls.append(1), warmup=2, min_sample_time=1e-4)
    m = timer.repeat(repeats=5)
    assert len(m.samples) == 5
    assert m.number_per_sample > 1  # an append takes far less than 0.1 ms
    assert len(calls) >= 2 + 5 * m.number_per_sample
    assert all(s > 0 for s in m.samples)


def test_timer_uses_given_number_without_calibrating():
    calls = []
    Timer(lambda: calls.append(1), warmup=0).repeat(repeats=3, number=4)
    assert len(calls) == 12


def test_timer_rejects_no_repeats():
    with pytest.raises(ValueError, match="repeats must be >= 1; got 0"):
        Timer(lambda: None).repeat(repeats=0)


def test_timer_rejects_a_negative_warmup():
    with pytest.raises(ValueError, match="warmup must be >= 0; got -1"):
        Timer(lambda: None, warmup=-1)


def test_reproducible_seeds_and_restores_threads():
    before = torch.get_num_threads()
    with reproducible(seed=7, threads=1):
        assert torch.get_num_threads() == 1
        first = torch.randn(3)
    with reproducible(seed=7, threads=1):
        assert torch.equal(torch.randn(3), first)
    assert torch.get_num_threads() == before


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without a GPU")
def test_resolve_device_names_missing_gpu():
    with pytest.raises(RuntimeError, match=r"device 'cuda' requested, but torch.cuda.is_available\(\) is False"):
        resolve_device("cuda")


def test_resolve_device_rejects_unknown():
    with pytest.raises(RuntimeError, match="unsupported device 'mps'"):
        resolve_device("mps")
    assert resolve_device("cpu") == torch.device("cpu")


_FAULTS_SCRIPT = """
import resource, torch
from bncvl import BNCVL
{setup}
torch.set_num_threads(1)
layer, x = BNCVL(16, 16, 3).eval(), torch.randn(16, 16, 32, 32)  # the small preset
def faults_per_call():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        layer(x)
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10
faults_per_call()
print(faults_per_call())
"""


@pytest.mark.parametrize(
    "setup",
    [
        "from bncvl.measure.timer import keep_freed_memory; assert keep_freed_memory()",
        "from benchmarks import common; common.keep_freed_memory()",
    ],
    ids=["bncvl.measure.timer", "benchmarks.common"],
)
@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the setting is glibc's mallopt")
def test_keep_freed_memory_stops_page_faults_per_call(setup: str) -> None:
    def faults(code: str) -> float:
        script = _FAULTS_SCRIPT.format(setup=code)
        out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
        return float(out.stdout.strip().splitlines()[-1])

    default, kept = faults(""), faults(setup)
    assert default > 100, default  # measured: about 730 pages of 4 KB faulted in again on every call
    assert kept < default / 10, (default, kept)
