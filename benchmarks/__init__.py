"""The bncvl asv suite (see docs/benchmarks.md). Nothing heavy is imported here.

Before torch is imported anywhere in the suite, CPU kernels are held to AVX2
(ATen's dispatch, oneDNN's convolutions, inductor's generated C++), the
instruction set valgrind emulates: the kernels the suite times are then the
kernels :mod:`benchmarks.callgrind` counts, on any x86 host. CUDA numbers
GPUs by PCI bus id, as NVML does, so that the GPU NVML samples is the one at
work (:func:`benchmarks.bench_gpu.nvml_index`). Set a variable yourself to
override it.
"""

import os

for _name, _value in (
    ("ATEN_CPU_CAPABILITY", "avx2"),
    ("ONEDNN_MAX_CPU_ISA", "AVX2"),
    ("TORCHINDUCTOR_CPP_MARCH", "haswell"),
    ("CUDA_DEVICE_ORDER", "PCI_BUS_ID"),
):
    os.environ.setdefault(_name, _value)
