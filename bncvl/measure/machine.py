"""This machine's facts (GPU, driver, CUDA, torch, cuDNN, CPU, threads) and its record in asv's machine file.

asv keeps one record per machine in ``~/.asv-machine.json`` and copies every
key of it into the ``params`` of each result it writes; :func:`register` writes
asv's own fields plus :data:`FACT_KEYS`, so every result says what it ran on.
"""

from __future__ import annotations

import platform
import re
import socket
from pathlib import Path
from types import ModuleType

__all__ = [
    "FACT_KEYS",
    "default_machine_name",
    "device_facts",
    "gpu_slug",
    "machine_record",
    "register",
]

FACT_KEYS = (
    "gpu_model",
    "gpu_count",
    "gpu_driver",
    "cuda_version",
    "torch_version",
    "cudnn_version",
    "cpu_model",
    "torch_threads",
    "benchmark_seed",
    "mig_mode",
)
"""Keys added to asv's machine record. None is named like a package: asv also
copies the environment's requirements (e.g. ``torch``) into ``params``."""

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


def register(name: str | None = None, machine_file: Path | None = None, nvml: ModuleType | None = None) -> dict:
    """Write this machine's record into asv's machine file and return it.

    Args:
        name: the machine name in results (default :func:`default_machine_name`).
        machine_file: asv's machine file (default ``~/.asv-machine.json``).
        nvml: passed to :func:`device_facts`.

    Raises:
        ValueError: ``name`` is empty or contains a path separator (it names a results folder).
    """
    from asv.machine import MachineCollection

    facts = device_facts(nvml)
    name = name or default_machine_name(facts)
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        raise ValueError(f"machine name must be a non-empty folder name; got {name!r}")
    record = machine_record(name, facts)
    MachineCollection.save(name, record, _path=str(machine_file) if machine_file else None)
    return record
