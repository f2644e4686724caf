"""The names of a machine's facts, in one place for the side that writes them (:mod:`bncvl.measure.machine`) and
the sides that read them (the store's machine columns, the dashboard's machine table).

It imports nothing, so the store and the dashboard may import it without torch or asv.
"""

from __future__ import annotations

__all__ = ["ASV_MACHINE_KEYS", "COMPARED_FACTS", "DEVICE_FACT_COLUMNS", "FACT_KEYS"]

ASV_MACHINE_KEYS = ("arch", "cpu", "num_cpu", "ram", "os")
"""The fields asv itself writes into a machine record (``asv.machine.Machine.get_defaults``), besides its name."""

# The GPU and the software that drives it: first among the facts bncvl machine adds, and in the Overview's table.
_GPU_STACK = ("gpu_model", "gpu_count", "gpu_driver", "cuda_version", "torch_version", "cudnn_version")

FACT_KEYS = (*_GPU_STACK, "cpu_model", "torch_threads", "benchmark_seed", "mig_mode")
"""Keys ``bncvl machine`` adds to asv's machine record. None is named like a package: asv also
copies the environment's requirements (e.g. ``torch``) into ``params``."""

DEVICE_FACT_COLUMNS = (*ASV_MACHINE_KEYS, *FACT_KEYS)
"""Every fact of a machine record: asv's fields, then those ``bncvl machine`` adds."""

COMPARED_FACTS = (*_GPU_STACK, "mig_mode", "cpu_model", "num_cpu", "torch_threads")
"""The facts a reader compares machines by, in the order the Overview's machine table shows them: the GPU and the
software that drives it, then the CPU. Left out: asv's ``cpu`` (``cpu_model`` says it), ``arch``, ``os`` and
``ram``, and ``benchmark_seed`` (the suite's, the same on every machine)."""
