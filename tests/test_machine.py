"""``bncvl machine``: device facts, default names, and the record asv copies into every result."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch
from asv.machine import MachineCollection

from bncvl.cli import main as cli_main
from bncvl.measure import machine
from bncvl.measure.timer import DEFAULT_SEED, DEFAULT_THREADS

ROOT = Path(__file__).resolve().parents[1]


class FakeNvml:
    """The driver and MIG calls of ``pynvml``."""

    NVML_DEVICE_MIG_ENABLE = 1

    class NVMLError(Exception):
        pass

    class NVMLError_NotSupported(NVMLError):
        pass

    def __init__(self, mig: int | None) -> None:
        self.mig = mig
        self.shutdown = False
        self.handles = {"0:1b:0.0": "gpu0", "0:9a:0.0": "gpu1"}  # by PCI bus id

    def nvmlInit(self) -> None:
        pass

    def nvmlShutdown(self) -> None:
        self.shutdown = True

    def nvmlSystemGetDriverVersion(self) -> bytes:
        return b"550.54.15"

    def nvmlDeviceGetHandleByPciBusId(self, bus_id: str) -> str:
        if bus_id not in self.handles:
            raise self.NVMLError("Not Found")
        return self.handles[bus_id]

    def nvmlDeviceGetMigMode(self, handle: str) -> list[int]:
        if self.mig is None:
            raise self.NVMLError_NotSupported("Not Supported")
        mode = self.mig if handle == "gpu1" else 1 - self.mig  # only torch's cuda:0 (gpu1) has the mode asked
        return [mode, mode]


@pytest.fixture
def two_h100s(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch.cuda as on a host with two H100s (the calls device_facts makes)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "NVIDIA H100 80GB HBM3")
    # cuda:0 is the second GPU on the bus, as CUDA's fastest-first order or CUDA_VISIBLE_DEVICES=1,0 can make it
    properties = types.SimpleNamespace(pci_domain_id=0, pci_bus_id=0x9A, pci_device_id=0)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda index=0: properties)


def test_facts_on_this_cpu_machine() -> None:
    if torch.cuda.is_available():
        pytest.skip("checks the facts of a machine without a GPU")
    facts = machine.device_facts()
    assert tuple(facts) == machine.FACT_KEYS
    assert all(isinstance(value, str) for value in facts.values())
    assert facts["gpu_model"] == "none"
    assert facts["gpu_count"] == "0"
    assert facts["torch_version"] == torch.__version__
    assert facts["torch_threads"] == str(DEFAULT_THREADS)
    assert facts["benchmark_seed"] == str(DEFAULT_SEED)
    assert facts["cpu_model"] == machine.cpu_model() != ""


@pytest.mark.parametrize(("mig", "expected"), [(1, "enabled"), (0, "disabled"), (None, "n/a")])
def test_gpu_facts_from_torch_and_nvml(two_h100s: None, mig: int | None, expected: str) -> None:
    fake = FakeNvml(mig)
    facts = machine.device_facts(nvml=fake)
    assert facts["gpu_model"] == "NVIDIA H100 80GB HBM3"
    assert facts["gpu_count"] == "2"
    assert facts["gpu_driver"] == "550.54.15"
    assert facts["mig_mode"] == expected
    assert fake.shutdown
    assert machine.default_machine_name(facts, host="node7") == "node7-h100x2"


def test_gpu_facts_without_pynvml_say_how_to_get_them(two_h100s: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    facts = machine.device_facts()
    assert facts["gpu_driver"] == "unknown (pip install 'bncvl[gpu]')"
    assert facts["mig_mode"] == "unknown"


def test_gpu_facts_when_nvml_cannot_start_say_why(two_h100s: None) -> None:
    fake = FakeNvml(None)

    def no_library() -> None:
        raise fake.NVMLError("NVML Shared Library Not Found")

    fake.nvmlInit = no_library
    facts = machine.device_facts(nvml=fake)
    assert facts["gpu_driver"] == "unknown (NVML failed to start: NVML Shared Library Not Found)"
    assert facts["mig_mode"] == "unknown"
    assert facts["gpu_model"] == "NVIDIA H100 80GB HBM3"  # torch's facts are kept


def test_mig_mode_of_a_gpu_nvml_does_not_list_says_so(two_h100s: None) -> None:
    fake = FakeNvml(1)
    del fake.handles["0:9a:0.0"]
    facts = machine.device_facts(nvml=fake)
    assert facts["mig_mode"] == "unknown (NVML on the GPU at PCI 0:9a:0.0: Not Found)"
    assert facts["gpu_driver"] == "550.54.15"
    assert fake.shutdown


@pytest.mark.parametrize(
    ("model", "count", "name"),
    [
        ("none", "0", "box-cpu"),
        ("NVIDIA H100 80GB HBM3", "1", "box-h100"),
        ("NVIDIA A100-SXM4-40GB", "8", "box-a100x8"),
        ("NVIDIA GeForce RTX 4090", "1", "box-rtx4090"),
        ("Tesla T4", "1", "box-t4"),
    ],
)
def test_default_name_says_the_device(model: str, count: str, name: str) -> None:
    assert machine.default_machine_name({"gpu_model": model, "gpu_count": count}, host="box") == name


def test_register_writes_asv_fields_and_facts(tmp_path: Path) -> None:
    machine_file = tmp_path / "asv-machine.json"
    record = machine.register("box-cpu", machine_file)
    stored = MachineCollection.load("box-cpu", _path=str(machine_file))
    assert stored == record
    assert stored["machine"] == "box-cpu"
    assert {"os", "arch", "cpu", "num_cpu", "ram"} <= set(stored)
    assert set(machine.FACT_KEYS) <= set(stored)
    machine.register("other-cpu", machine_file)
    assert set(json.loads(machine_file.read_text())) >= {"box-cpu", "other-cpu"}


@pytest.mark.parametrize("name", ["a/b", "..", "."])
def test_register_refuses_a_name_that_is_not_a_folder_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="must be a non-empty folder name"):
        machine.register(name, tmp_path / "m.json")


def test_cli_prints_the_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["machine", "--name", "box-cpu", "--machine-file", str(tmp_path / "m.json"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["machine"] == "box-cpu"


@pytest.mark.slow
def test_facts_reach_the_params_of_a_real_asv_result(tmp_path: Path) -> None:
    """One real ``asv run`` (existing environment, one tiny benchmark): the result carries the facts."""
    home = tmp_path / "home"
    home.mkdir()
    record = machine.register("facts-box", home / ".asv-machine.json")
    config = _config_in(tmp_path)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
    run = [
        sys.executable, "-m", "asv", "run", "--config", str(config), "--machine", "facts-box",
        "-E", f"existing:{sys.executable}", "--set-commit-hash", head.stdout.strip(), "--quick",
        "-b", r"Latency.time_eval_forward\('reference', 'tiny', 'cpu', 'float32'\)",
    ]  # fmt: skip
    out = subprocess.run(run, cwd=ROOT, env={**os.environ, "HOME": str(home)}, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    (result_file,) = (tmp_path / "results" / "facts-box").glob(f"{head.stdout[:8]}-*.json")
    result = json.loads(result_file.read_text())
    for key in machine.FACT_KEYS:
        assert result["params"][key] == record[key], key
    latency = result["results"]["bench_latency.Latency.time_eval_forward"]
    values = latency[0]
    assert sum(isinstance(v, float) and v > 0 for v in values) == 1, values  # the one selected combination
    assert json.loads((tmp_path / "results" / "facts-box" / "machine.json").read_text())["gpu_model"]


def _config_in(tmp_path: Path) -> Path:
    """This repository's asv.conf.json with absolute paths and results, envs and HTML under ``tmp_path``."""
    text = re.sub(r"^\s*//.*$", "", (ROOT / "asv.conf.json").read_text(), flags=re.MULTILINE)
    conf = json.loads(text)
    conf.update(
        repo=str(ROOT),
        benchmark_dir=str(ROOT / "benchmarks"),
        results_dir=str(tmp_path / "results"),
        env_dir=str(tmp_path / "env"),
        html_dir=str(tmp_path / "html"),
    )
    path = tmp_path / "asv.conf.json"
    path.write_text(json.dumps(conf))
    return path


def test_nvml_namespace_is_only_what_device_facts_uses() -> None:
    # the stand-in above must not hide a call device_facts makes on a real GPU host
    used = set(re.findall(r"nvml\.(\w+)", Path(machine.__file__).read_text()))
    assert used <= set(dir(FakeNvml)) | {"NVMLError_NotSupported"}, used - set(dir(FakeNvml))


def test_the_fact_names_have_one_owner_that_imports_nothing() -> None:
    """The writer, the store and the dashboard read the names of a machine's facts from bncvl.measure.facts."""
    import ast

    from asv.machine import Machine

    from bncvl.measure import facts
    from bncvl.store import schema

    assert machine.FACT_KEYS is facts.FACT_KEYS
    assert schema.DEVICE_FACT_COLUMNS is facts.DEVICE_FACT_COLUMNS
    assert set(facts.ASV_MACHINE_KEYS) == set(Machine.get_defaults()) - {"machine"}, "asv's own fields"
    assert set(facts.COMPARED_FACTS) <= set(facts.DEVICE_FACT_COLUMNS)
    tree = ast.parse(Path(facts.__file__).read_text())
    imported = [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom) and getattr(node, "module", None) != "__future__"
    ]
    assert imported == [], "the store and the dashboard import it without torch or asv"
