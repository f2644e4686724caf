"""`bncvl profile`, the registry and the workloads it times."""

import json
import subprocess
import sys

import pytest
import torch

import bncvl
from bncvl.cli import main
from bncvl.measure.memory import saved_tensor_bytes
from bncvl.measure.presets import PRESETS, get_preset
from bncvl.measure.timer import keep_freed_memory
from bncvl.measure.workload import make_workload, parse_dtype

TINY = ["--preset", "tiny", "--repeats", "3", "--warmup", "1"]


@pytest.fixture(autouse=True)
def eager_kernels(monkeypatch):
    """These tests check the CLI, not torch.compile: eager kernels keep them seconds, not minutes."""
    monkeypatch.setenv("BNCVL_COMPILE", "0")


def test_registry_starts_with_reference_and_get_lists_names():
    assert bncvl.VARIANTS["reference"] is bncvl.BNCVL
    assert bncvl.get("reference") is bncvl.BNCVL
    with pytest.raises(ValueError, match=r"unknown BNCVL variant 'nope'; expected one of \[.*'reference'"):
        bncvl.get("nope")


def test_every_variant_has_the_reference_constructor_and_state_dict():
    reference = bncvl.BNCVL(3, 5, 3)
    for name, cls in bncvl.VARIANTS.items():
        layer = cls(3, 5, 3)
        assert layer.state_dict().keys() == reference.state_dict().keys(), name
        layer.load_state_dict(reference.state_dict())


def test_workloads_are_seeded_and_identical_across_variants():
    a = make_workload("reference", PRESETS["tiny"], "train")
    b = make_workload("cached", PRESETS["tiny"], "train")
    assert type(a.layer) is not type(b.layer)
    assert torch.equal(a.x, b.x) and torch.equal(a.layer.weight, b.layer.weight)
    other = make_workload("reference", PRESETS["tiny"], "train", seed=1)
    assert not torch.equal(a.x, other.x) and not torch.equal(a.layer.weight, other.layer.weight)
    assert a.x.requires_grad and a.layer.training
    assert not make_workload("reference", PRESETS["tiny"], "eval").layer.training
    assert a.layer.bias.abs().sum() > 0  # a non-zero bias is exercised


def test_train_step_sets_every_gradient():
    work = make_workload("reference", PRESETS["tiny"], "train")
    work.train_step()
    assert all(t.grad is not None for t in (work.x, work.layer.weight, work.layer.bias))


def test_saved_activation_bytes_counts_outputs_not_inputs():
    shape = PRESETS["tiny"]
    work = make_workload("reference", shape, "train")
    saved = saved_tensor_bytes(work.train_forward, exclude=[work.x, *work.layer.parameters()])
    output_bytes = shape.batch * shape.out_channels * shape.size**2 * 4
    # The reference keeps at least the conv output and the normalised map for backward.
    assert 2 * output_bytes <= saved <= 4 * output_bytes
    assert saved_tensor_bytes(work.eval_forward) == 0


def test_bad_names_are_explained():
    with pytest.raises(ValueError, match=r"unknown preset 'huge'; expected one of \["):
        get_preset("huge")
    with pytest.raises(ValueError, match=r"unknown dtype 'float8'"):
        parse_dtype("float8")
    with pytest.raises(ValueError, match="mode must be 'eval' or 'train'; got 'test'"):
        make_workload("reference", PRESETS["tiny"], "test")


def test_profile_prints_table(capsys):
    assert main(["profile", *TINY]) == 0
    out = capsys.readouterr().out
    assert "batch 2, 8->8 channels, 16x16, k=3; cpu float32, 1 thread(s)" in out
    assert sum(line.startswith("reference ") for line in out.splitlines()) == 2
    assert "eval_forward" in out and "train_step" in out and "1.00x" in out


def test_profile_seed_reaches_the_workloads(monkeypatch):
    from bncvl.commands import profile

    seeds = []

    def recording(*args, **kwargs):
        seeds.append(args[5])
        return make_workload(*args, **kwargs)

    monkeypatch.setattr(profile, "make_workload", recording)
    assert main(["profile", *TINY, "--variants", "reference", "--seed", "7"]) == 0
    assert seeds and set(seeds) == {7}


def test_profile_json_is_machine_readable(capsys):
    assert main(["profile", *TINY, "--json", "--batch", "3", "--threads", "2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["config"]["shape"]["batch"] == 3
    assert report["config"]["threads"] == 2
    rows = {(r["variant"], r["pass"]): r for r in report["results"]}
    ref = rows[("reference", "eval_forward")]
    assert ref["ratio_vs_reference"] == 1.0
    assert ref["median_s"] > 0 and ref["iqr_s"] >= 0 and len(ref["samples_s"]) == 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--variants", "reference,nope"], "--variants: unknown ['nope']"),
        (["--batch", "0"], "--batch must be a positive int; got 0"),
        (["--kernel-size", "-1"], "--kernel-size must be a positive int; got -1"),
        (["--device", "tpu"], "unsupported device 'tpu'"),
    ],
)
def test_profile_usage_errors_exit_2(capsys, argv, message):
    assert main(["profile", *TINY, *argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without a GPU")
def test_profile_on_missing_gpu_says_so(capsys):
    assert main(["profile", *TINY, "--device", "cuda"]) == 2
    assert "torch.cuda.is_available() is False" in capsys.readouterr().err


def test_profile_system_malloc_runs_in_a_fresh_process_and_is_recorded():
    command = [sys.executable, "-m", "bncvl.cli", "profile", *TINY, "--variants", "reference", "--json"]
    for extra, malloc in (([], "keep-freed"), (["--system-malloc"], "system")):
        out = subprocess.run([*command, *extra], capture_output=True, text=True, check=True).stdout
        assert json.loads(out)["config"]["malloc"] == malloc


def test_profile_system_malloc_refuses_a_process_that_kept_freed_memory(capsys):
    keep_freed_memory()
    assert main(["profile", *TINY, "--system-malloc"]) == 2
    assert "cannot be undone; run the profile in a fresh process" in capsys.readouterr().err
