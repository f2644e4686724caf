"""This machine's facts (GPU, driver, CUDA, torch, cuDNN, CPU, threads) and its record in asv's machine file.

asv keeps one record per machine in ``~/.asv-machine.json`` and copies every
key of it into the ``params`` of each result it writes; :func:`register` writes
asv's own fields plus :data:`FACT_KEYS`, so every result says what it ran on.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import socket
import tempfile
from pathlib import Path
from types import ModuleType

from bncvl.measure.facts import FACT_KEYS

__all__ = [
    "FACT_KEYS",
    "default_machine_name",
    "device_facts",
    "gpu_slug",
    "machine_record",
    "read_machine_file",
    "register",
]

NONE = "none"


def device_facts(nvml: ModuleType | None = None) -> dict[str, str]:
    """What this machine benchmarks on, as strings (asv's ``params`` are strings).

    Args:
        nvml: the ``pynvml`` module for the driver version and MIG mode;
            imported when available if not given, and those two facts are
            ``"unknown"`` without it. The MIG mode is that of torch's
            ``cuda:0``, found by its PCI bus id (NVML numbers GPUs otherwise
            than CUDA).

    Returns:
        One value per key of :data:`FACT_KEYS`.
    """
    import torch

    from bncvl.measure.timer import DEFAULT_SEED, DEFAULT_THREADS

    gpu_count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    facts = {
        "gpu_model": torch.cuda.get_device_name(0) if gpu_count else NONE,
        "gpu_count": str(gpu_count),
        "gpu_driver": NONE,
        "cuda_version": torch.version.cuda or NONE,
        "torch_version": torch.__version__,
        "cudnn_version": str(torch.backends.cudnn.version()) if torch.backends.cudnn.is_available() else NONE,
        "cpu_model": cpu_model(),
        "torch_threads": str(DEFAULT_THREADS),
        "benchmark_seed": str(DEFAULT_SEED),
        "mig_mode": "n/a",
    }
    if gpu_count:
        props = torch.cuda.get_device_properties(0)
        facts.update(_nvml_facts(nvml, f"{props.pci_domain_id:x}:{props.pci_bus_id:x}:{props.pci_device_id:x}.0"))
    return facts


def _nvml_facts(nvml: ModuleType | None, pci_bus_id: str) -> dict[str, str]:
    if nvml is None:
        try:
            import pynvml as nvml
        except ImportError:
            return {"gpu_driver": "unknown (pip install 'bncvl[gpu]')", "mig_mode": "unknown"}
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as error:  # e.g. the driver's libnvidia-ml is missing: say so in the facts
        return {"gpu_driver": f"unknown (NVML failed to start: {error})", "mig_mode": "unknown"}
    try:
        driver = nvml.nvmlSystemGetDriverVersion()
        driver = driver.decode() if isinstance(driver, bytes) else str(driver)
        try:
            handle = nvml.nvmlDeviceGetHandleByPciBusId(pci_bus_id)
            current, _pending = nvml.nvmlDeviceGetMigMode(handle)
            mig = "enabled" if current == nvml.NVML_DEVICE_MIG_ENABLE else "disabled"
        except nvml.NVMLError_NotSupported:
            mig = "n/a"
        except nvml.NVMLError as error:  # e.g. no GPU at torch's bus id: name it rather than another GPU's mode
            mig = f"unknown (NVML on the GPU at PCI {pci_bus_id}: {error})"
    finally:
        nvml.nvmlShutdown()
    return {"gpu_driver": driver, "mig_mode": mig}


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo``, else what ``platform`` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        if match:
            return match.group(1).strip()
    return platform.processor() or platform.machine() or "unknown"


def default_machine_name(facts: dict[str, str], host: str | None = None) -> str:
    """``<host>-cpu``, or ``<host>-<gpu>`` (``-h100``, ``-a100x8``) named after the GPU model.

    Example:
        >>> default_machine_name({"gpu_model": "NVIDIA H100 80GB HBM3", "gpu_count": "1"}, host="box")
        'box-h100'
        >>> default_machine_name({"gpu_model": "none", "gpu_count": "0"}, host="box")
        'box-cpu'
    """
    host = host or socket.gethostname().split(".")[0]
    count = int(facts["gpu_count"])
    if not count:
        return f"{host}-cpu"
    return f"{host}-{gpu_slug(facts['gpu_model'])}" + (f"x{count}" if count > 1 else "")


def gpu_slug(model: str) -> str:
    """A short lowercase name of a GPU model: its first word with a number, and a series prefix (RTX).

    Example:
        >>> [gpu_slug(m) for m in ["NVIDIA A100-SXM4-40GB", "NVIDIA GeForce RTX 4090", "Tesla T4"]]
        ['a100', 'rtx4090', 't4']
    """
    words = [w for w in model.split() if w not in ("NVIDIA", "GeForce", "Tesla", "Quadro")]
    for index, word in enumerate(words):
        match = re.match(r"[A-Za-z]*\d+[A-Za-z]*", word)
        if match:
            series = words[index - 1] if index and words[index - 1].isalpha() and words[index - 1].isupper() else ""
            return (series + match.group()).lower()
    return re.sub(r"[^a-z0-9]+", "", model.lower())[:16] or "gpu"


def machine_record(name: str, facts: dict[str, str]) -> dict[str, str]:
    """asv's default machine fields (os, arch, cpu, num_cpu, ram) named ``name``, plus ``facts``."""
    from asv.machine import Machine

    return {**Machine.get_defaults(), **facts, "machine": name}


def read_machine_file(path: Path) -> dict[str, object]:
    """The machine records of asv's machine file ``path`` ({} when it does not exist), ``version`` key included.

    Raises:
        ValueError: ``path`` is not a file, unreadable, not UTF-8 JSON, not an object of records, or of
            another format version than asv's; the message names the file.
    """
    from asv.machine import MachineCollection

    expected = "expected asv's machine file (a JSON object of machine records); the file is left as it is"
    if not path.exists():
        return {}
    if not path.is_file():
        raise ValueError(f"machine file {str(path)!r} is not a file; {expected}")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as error:
        raise ValueError(f"machine file {str(path)!r} is unreadable ({error.strerror or error}); {expected}") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"machine file {str(path)!r} is not UTF-8 ({error.reason}); {expected}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"machine file {str(path)!r}: invalid JSON ({error}); {expected}") from None
    if not isinstance(data, dict):
        raise ValueError(
            f"machine file {str(path)!r}: expected a JSON object of machine records, got {type(data).__name__}; "
            "the file is left as it is"
        )
    version = data.get("version", MachineCollection.api_version)
    if version != MachineCollection.api_version:
        raise ValueError(
            f"machine file {str(path)!r} has format version {version!r}, and this asv writes version "
            f"{MachineCollection.api_version}; {expected}"
        )
    for key, record in data.items():
        if key != "version" and not isinstance(record, dict):
            raise ValueError(f"machine file {str(path)!r}: record {key!r} is a {type(record).__name__}; {expected}")
    return data


def register(name: str | None = None, machine_file: Path | None = None, nvml: ModuleType | None = None) -> dict:
    """Write this machine's record into asv's machine file and return it.

    The file is read and checked first (:func:`read_machine_file`), and replaced in one rename, so a
    file it cannot read and a write cut short leave the file as it was.

    Args:
        name: the machine name in results (default :func:`default_machine_name`).
        machine_file: asv's machine file (default ``~/.asv-machine.json``).
        nvml: passed to :func:`device_facts`.

    Raises:
        ValueError: ``name`` is empty or contains a path separator (it names a results folder), or the
            machine file is not asv's (:func:`read_machine_file`).
    """
    from asv.machine import MachineCollection
    from asv.util import write_json

    path = machine_file or Path(MachineCollection.get_machine_file_path())
    records = read_machine_file(path)
    facts = device_facts(nvml)
    name = name or default_machine_name(facts)
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ValueError(f"machine name must be a non-empty folder name; got {name!r}")
    record = machine_record(name, facts)
    records[name] = record
    target = path.resolve()  # a symlinked machine file stays a symlink: its target is replaced
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=target.parent, prefix=f".{target.name}.", delete=False) as temporary:
        pass
    try:
        if target.exists():
            shutil.copymode(target, temporary.name)
        write_json(temporary.name, {k: v for k, v in records.items() if k != "version"}, MachineCollection.api_version)
        os.replace(temporary.name, target)
    finally:
        Path(temporary.name).unlink(missing_ok=True)
    return record
