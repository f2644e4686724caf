"""torch's compiler stack, loaded in a process that forks benchmark processes, so that each child inherits it.

A child that builds a compiled variant (``fused``, ``fast``) paid, before its
first compilation (measured on a 2-core machine): the ``torch._dynamo`` and
``torch._inductor`` imports (3.7 s), inductor's CPU vector-ISA probe, which
compiles and runs a test program (0.8 s), and its hash of torch's sources
(0.3 s); about 5 s in each of dozens of children. Loaded once in the parent,
a compiled child's set-up fell from 5.9 s to 0.6-0.8 s.

This module imports neither bncvl nor the rest of the suite, so a parent that
has not yet chosen the commit under test (``bncvl check``'s fork server) can
load it.
"""

from __future__ import annotations

import importlib

__all__ = ["load_compiler"]


def load_compiler() -> None:
    """Import torch's compiler and run its one-off probes, in a process that will fork.

    None of this builds a tensor, touches CUDA or leaves a thread running, so
    forking after it is safe. The probe and the hash are private inductor
    helpers of the pinned torch; with a torch that lacks them, children do
    that work themselves.
    """
    importlib.import_module("torch._dynamo")
    importlib.import_module("torch._inductor.compile_fx")
    from torch._inductor import codecache, cpu_vec_isa

    for warm_up in (getattr(cpu_vec_isa, "pick_vec_isa", None), getattr(codecache, "torch_key", None)):
        if warm_up is not None:
            warm_up()
