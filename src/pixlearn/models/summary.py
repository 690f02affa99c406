"""Layer-by-layer model summary: output shapes, parameters, receptive fields and FLOPs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

from pixlearn._core.errors import WrongTypeError
from pixlearn.nn.size import count_parameters, layer_geometry

__all__ = ["LayerRow", "Summary", "summarize"]


@dataclass
class LayerRow:
    """One executed leaf layer: qualified name, class, output shape, own parameters, receptive
    field and jump (conv/pool layers only, else ``None``) and multiply-adds (conv/linear)."""

    name: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    receptive_field: int | None = None
    jump: int | None = None
    flops: int = 0


@dataclass
class Summary:
    """The rows of :func:`summarize` and the totals."""

    rows: list[LayerRow]
    input_size: tuple[int, ...]
    output_shape: tuple[int, ...]
    total_params: int
    trainable_params: int
    total_flops: int
    extra: dict[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[LayerRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def table(self) -> str:
        """A plain-text table, one line per layer, then the totals."""
        head = ("layer", "type", "output shape", "params", "RF", "jump", "MACs")
        lines = [
            (
                r.name,
                r.type,
                "x".join(map(str, r.output_shape)),
                f"{r.params:,}",
                "" if r.receptive_field is None else str(r.receptive_field),
                "" if r.jump is None else str(r.jump),
                f"{r.flops:,}" if r.flops else "",
            )
            for r in self.rows
        ]
        widths = [max(len(h), *(len(x[i]) for x in lines)) for i, h in enumerate(head)]
        fmt = "  ".join(f"{{:<{w}}}" if i < 3 else f"{{:>{w}}}" for i, w in enumerate(widths))
        out = [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
        out += [fmt.format(*x) for x in lines]
        out.append(
            f"total params {self.total_params:,} (trainable {self.trainable_params:,}); "
            f"multiply-adds {self.total_flops:,} for input {tuple(self.input_size)}"
        )
        return "\n".join(out)


class _Tags(TorchFunctionMode):
    """Propagate (receptive field, jump) from the inputs of every torch op to its outputs."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[int, tuple[Tensor, int, int]] = {}

    def get(self, t: object) -> tuple[int, int] | None:
        if isinstance(t, Tensor) and id(t) in self.tags and self.tags[id(t)][0] is t:
            return self.tags[id(t)][1:]
        return None

    def set(self, t: object, rf: int, jump: int) -> None:
        if isinstance(t, Tensor):
            self.tags[id(t)] = (t, rf, jump)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        found = [g for g in map(self.get, tree_flatten((args, kwargs or {}))[0]) if g]
        if found:
            # merging paths (add, cat): the unit sees the union of its inputs' fields
            rf, jump = max(g[0] for g in found), max(g[1] for g in found)
            for t in tree_flatten(out)[0]:
                if self.get(t) is None:
                    self.set(t, rf, jump)
        return out


def _macs(module: nn.Module, out: Tensor) -> int:
    # multiply-adds: every output value of a conv costs (C_in / groups) k_h k_w of them,
    # every output of a linear layer in_features
    if isinstance(module, nn.modules.conv._ConvNd):
        k = 1
        for s in module.kernel_size:
            k *= s
        return out.numel() * (module.in_channels // module.groups) * k
    if isinstance(module, nn.Linear):
        return out.numel() * module.in_features
    return 0


def summarize(model: nn.Module, input_size: Sequence[int] = (1, 3, 224, 224)) -> Summary:
    r"""Run one forward pass of zeros and describe every leaf layer it executes.

    Args:
        model: the network (evaluated in eval mode without gradients; its mode is restored).
        input_size: the input's shape, batch included.

    Returns:
        A :class:`Summary`: ``rows`` in execution order and the totals; ``str(summary.table())``
        prints it.

    Notes:
        Parameters of a conv layer: :math:`C_{out} (C_{in}/g\, k_h k_w + 1)`; its multiply-adds:
        :math:`H_{out} W_{out} C_{out} \cdot C_{in}/g\, k_h k_w` per image (a linear layer:
        :math:`n_{in} n_{out}`). The receptive field and jump follow the data through every
        operation (:math:`r_l = r_{l-1} + d(k - 1) j_{l-1}`, :math:`j_l = j_{l-1} s`; where
        paths merge, the larger field), so shortcuts and parallel branches are handled; ops
        that mix the whole image (global pooling, SE gates) are not counted as growing it.
        Layers the pass does not run (GoogLeNet's auxiliary heads in eval mode) have no row,
        so the rows' parameters can sum to less than ``total_params``.

    Example:
        >>> s = summarize(nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2)),
        ...               (1, 1, 8, 8))
        >>> for r in s.rows:
        ...     print(r.name, r.type, r.output_shape, r.params, r.receptive_field, r.jump)
        0 Conv2d (1, 4, 6, 6) 40 3 1
        1 ReLU (1, 4, 6, 6) 0 None None
        2 MaxPool2d (1, 4, 3, 3) 0 4 2
        >>> s.total_flops  # 36 outputs x 4 channels x 9 taps
        1296
    """
    if not isinstance(model, nn.Module):
        raise WrongTypeError(f"model must be an nn.Module, got {type(model).__name__}")
    size = tuple(int(s) for s in input_size)
    if len(size) < 2 or any(s < 1 for s in size):
        raise ValueError(f"input_size must be a shape like (1, 3, 224, 224), got {input_size!r}")
    ref = next(iter(model.parameters()), None)
    x = torch.zeros(
        size,
        dtype=ref.dtype if ref is not None else None,
        device=ref.device if ref is not None else None,
    )
    rows: list[LayerRow] = []
    seen: set[int] = set()
    names = {m: n for n, m in model.named_modules()}
    tags = _Tags()
    pending: dict[int, tuple[int, int] | None] = {}

    def pre_hook(module: nn.Module, args: tuple) -> None:
        pending[id(module)] = tags.get(args[0]) if args else None

    def hook(module: nn.Module, args: tuple, out: Any) -> None:
        first = tree_flatten(out)[0]
        t = next((o for o in first if isinstance(o, Tensor)), None)
        params = 0
        if id(module) not in seen:
            seen.add(id(module))
            params = sum(p.numel() for p in module.parameters(recurse=False))
        row = LayerRow(
            names.get(module, "?"),
            type(module).__name__,
            tuple(t.shape) if t is not None else (),
            params,
            flops=_macs(module, t) if t is not None else 0,
        )
        geom, tag_in = layer_geometry(module), pending.pop(id(module), None)
        if geom is not None and tag_in is not None and t is not None:
            k, s, d = geom
            # r_l = r_{l-1} + d (k - 1) j_{l-1};  j_l = j_{l-1} s
            row.receptive_field, row.jump = tag_in[0] + d * (k - 1) * tag_in[1], tag_in[1] * s
            tags.set(t, row.receptive_field, row.jump)
        rows.append(row)

    handles = []
    for m in model.modules():
        if next(m.children(), None) is None:  # leaf layers only
            handles.append(m.register_forward_pre_hook(pre_hook))
            handles.append(m.register_forward_hook(hook))
    was_training = model.training
    try:
        model.eval()
        tags.set(x, 1, 1)
        with torch.no_grad(), tags:
            out = model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    first = next((o for o in tree_flatten(out)[0] if isinstance(o, Tensor)), None)
    return Summary(
        rows=rows,
        input_size=size,
        output_shape=tuple(first.shape) if first is not None else (),
        total_params=count_parameters(model),
        trainable_params=count_parameters(model, trainable_only=True),
        total_flops=sum(r.flops for r in rows),
    )
