"""BNCVL eval forward replayed from a CUDA graph: one launch for the whole layer.

At small batches the layer is latency-bound: a handful of kernel launches
(binarised-weight lookup, layout conversion, convolution, statistics,
normalise + ReLU) each cost more CPU time to launch than GPU time to run. A
captured CUDA graph replays all of them with one launch.
"""

from __future__ import annotations

import torch
from torch import Tensor

from bncvl.layers.fast import FastBNCVL
from bncvl.layers.functional import check_input, conv2d_same, to_channels_last

__all__ = ["CudaGraphBNCVL"]

_WARMUP_CALLS = 3
"""Eager calls on a side stream before capture (cuDNN autotuning, lazy allocations)."""


class CudaGraphBNCVL(FastBNCVL):
    """:class:`~bncvl.layers.fast.FastBNCVL` whose eval forward is a replayed CUDA graph.

    The graph is captured on the first eval call for each input shape,
    dtype and layout, into static input/output buffers; a call copies the
    input in, replays, and returns a copy of the output (so a later call
    cannot overwrite a result the caller holds). It is recaptured whenever
    the cached binary weights change (optimizer step, in-place edit,
    ``load_state_dict``, ``.to()``, ``train()``/``eval()``). Training, and
    eval calls that need a gradient, run :class:`~bncvl.layers.fast.FastBNCVL`'s
    path without a graph. The graph runs the eager fused kernels (no
    ``torch.compile`` inside the capture).

    It can be built and loaded anywhere (same ``state_dict`` as the
    reference); ``make_workload`` refuses other devices up front
    (``supported_device_types``) so benchmarks skip cleanly.

    Raises:
        NotImplementedError: in ``forward``, for an input that is not on a CUDA device.
    """

    compiled = False
    variant_name = "cuda_graph"
    supported_device_types: tuple[str, ...] = ("cuda",)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._graph: torch.cuda.CUDAGraph | None = None
        self._graph_key: tuple[object, ...] | None = None
        self._static_input: Tensor | None = None
        self._static_output: Tensor | None = None

    def invalidate_cache(self) -> None:
        super().invalidate_cache()
        self._graph = self._graph_key = self._static_input = self._static_output = None

    def _eval_body(self, x: Tensor) -> Tensor:
        w_b, b_b = self.cached_binary_weights(x.dtype, torch.channels_last)
        return self.normalize_activation(conv2d_same(to_channels_last(x), w_b, b_b))

    def _capture(self, x: Tensor, key: tuple[object, ...]) -> None:
        static_input = x.detach().clone()
        side = torch.cuda.Stream(x.device)
        side.wait_stream(torch.cuda.current_stream(x.device))
        with torch.cuda.stream(side), torch.no_grad():
            for _ in range(_WARMUP_CALLS):
                self._eval_body(static_input)
        torch.cuda.current_stream(x.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph), torch.no_grad():
            static_output = self._eval_body(static_input)
        self._graph, self._graph_key = graph, key
        self._static_input, self._static_output = static_input, static_output

    def forward(self, x: Tensor) -> Tensor:
        check_input(x, self.in_channels)
        if x.device.type != "cuda":
            raise NotImplementedError(f"the 'cuda_graph' variant runs on CUDA only; got an input on {x.device}")
        if self.training or (torch.is_grad_enabled() and x.requires_grad):
            return super().forward(x)
        w_b, b_b = self.cached_binary_weights(x.dtype, torch.channels_last)
        key = (tuple(x.shape), x.stride(), x.dtype, x.device, w_b.data_ptr(), b_b.data_ptr())
        if self._graph is None or key != self._graph_key:
            self._capture(x, key)
        assert self._graph is not None and self._static_input is not None and self._static_output is not None
        self._static_input.copy_(x)
        self._graph.replay()
        return self._static_output.clone()
