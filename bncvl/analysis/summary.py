"""A Larq-style model summary: parameters by bit-width, memory float vs packed, MACs.

BNCVL's weight and bias are binary, so they count as 1-bit parameters and
pack at 1 bit each (:func:`bncvl.packed_storage_bytes`); every other
parameter stays at its float width. MACs are multiply-accumulates of one
forward pass per sample; a BNCVL layer's are between float inputs and
{0, 1} weights (each is a conditional add), so they are counted apart.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn

from bncvl.layers.functional import float_storage_bytes, packed_storage_bytes
from bncvl.layers.reference import BNCVL

__all__ = ["LayerSummary", "ModelSummary", "format_summary", "summarize"]


@dataclass(frozen=True)
class LayerSummary:
    """One layer's row: parameters by bit-width, storage and MACs per sample."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    binary_params: int
    float_params: int
    float_bytes: int
    packed_bytes: int
    binary_weight_macs: int
    float_macs: int

    @property
    def compression_ratio(self) -> float | None:
        return self.float_bytes / self.packed_bytes if self.packed_bytes else None

    def to_dict(self) -> dict[str, object]:
        return {
            **asdict(self),
            "output_shape": list(self.output_shape),
            "params": self.binary_params + self.float_params,
            "macs": self.binary_weight_macs + self.float_macs,
            "compression_ratio": self.compression_ratio,
        }


@dataclass(frozen=True)
class ModelSummary:
    """Per-layer rows and their totals; ``compression_ratio`` is float bytes / packed bytes."""

    input_shape: tuple[int, ...]
    layers: tuple[LayerSummary, ...]

    def total(self, field_name: str) -> int:
        return sum(getattr(layer, field_name) for layer in self.layers)

    @property
    def compression_ratio(self) -> float:
        return self.total("float_bytes") / self.total("packed_bytes")

    def to_dict(self) -> dict[str, object]:
        fields = ("binary_params", "float_params", "float_bytes", "packed_bytes", "binary_weight_macs", "float_macs")
        totals: dict[str, object] = {name: self.total(name) for name in fields}
        totals["params"] = self.total("binary_params") + self.total("float_params")
        totals["macs"] = self.total("binary_weight_macs") + self.total("float_macs")
        totals["compression_ratio"] = self.compression_ratio
        return {"input_shape": list(self.input_shape), "layers": [r.to_dict() for r in self.layers], "totals": totals}


def _macs(module: nn.Module, output: Tensor) -> int:
    per_sample_outputs = output[0].numel()
    if isinstance(module, BNCVL):
        return per_sample_outputs * module.in_channels * module.kernel_size**2
    if isinstance(module, nn.Conv2d):
        return per_sample_outputs * (module.in_channels // module.groups) * math.prod(module.kernel_size)
    if isinstance(module, nn.Linear):
        return per_sample_outputs * module.in_features
    return 0


def summarize(model: nn.Module, input_shape: tuple[int, ...]) -> ModelSummary:
    """Summarise ``model`` by running one sample of ``input_shape`` (C, H, W) through it in eval mode.

    A row is made for every BNCVL layer and every other module that owns
    parameters, named by its qualified name in ``model``.

    Raises:
        ValueError: if ``model`` has no parameters.
    """
    modules = {
        name: module
        for name, module in model.named_modules()
        if isinstance(module, BNCVL) or any(True for _ in module.parameters(recurse=False))
    }
    if not modules:
        raise ValueError(f"summarize expects a model with parameters; got {type(model).__name__} with none")
    outputs: dict[str, Tensor] = {}
    handles = [
        module.register_forward_hook(lambda _m, _i, out, name=name: outputs.__setitem__(name, out))
        for name, module in modules.items()
    ]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    rows = []
    for name, module in modules.items():
        own = list(module.parameters(recurse=False))
        binary = isinstance(module, BNCVL)
        numel = sum(p.numel() for p in own)
        float_bytes = sum(float_storage_bytes(p.numel(), p.dtype) for p in own)
        output = outputs.get(name)
        macs = 0 if output is None else _macs(module, output)
        rows.append(
            LayerSummary(
                name=name,
                kind="BNCVL" if binary else type(module).__name__,
                output_shape=() if output is None else tuple(output.shape[1:]),
                binary_params=numel if binary else 0,
                float_params=0 if binary else numel,
                float_bytes=float_bytes,
                packed_bytes=sum(packed_storage_bytes(p.numel()) for p in own) if binary else float_bytes,
                binary_weight_macs=macs if binary else 0,
                float_macs=0 if binary else macs,
            )
        )
    return ModelSummary(tuple(input_shape), tuple(rows))


def _kib(n: int) -> str:
    return f"{n / 1024:.2f} KiB"


def format_summary(summary: ModelSummary, title: str = "") -> str:
    """A text table like Larq's ``summary``: one row per layer, then totals."""
    header = (
        f"{'layer':<12} {'type':<14} {'output':<12} {'1-bit':>8} {'32-bit':>8} "
        f"{'float mem':>12} {'packed mem':>12} {'1-bit-w MACs':>13} {'float MACs':>11}"
    )
    lines = [title] if title else []
    lines += [header, "-" * len(header)]
    for r in summary.layers:
        shape = "x".join(map(str, r.output_shape))
        lines.append(
            f"{r.name:<12} {r.kind:<14} {shape:<12} {r.binary_params:>8} {r.float_params:>8} "
            f"{_kib(r.float_bytes):>12} {_kib(r.packed_bytes):>12} {r.binary_weight_macs:>13,} {r.float_macs:>11,}"
        )
    lines.append("-" * len(header))
    t = summary.to_dict()["totals"]
    assert isinstance(t, dict)
    lines.append(
        f"{'total':<12} {'':<14} {'':<12} {t['binary_params']:>8} {t['float_params']:>8} "
        f"{_kib(t['float_bytes']):>12} {_kib(t['packed_bytes']):>12} "
        f"{t['binary_weight_macs']:>13,} {t['float_macs']:>11,}"
    )
    lines.append(
        f"params {t['params']:,} ({t['binary_params']:,} at 1 bit); memory {_kib(t['float_bytes'])} as float32, "
        f"{_kib(t['packed_bytes'])} packed: compression {t['compression_ratio']:.2f}x; "
        f"MACs per sample {t['macs']:,}"
    )
    return "\n".join(lines)
