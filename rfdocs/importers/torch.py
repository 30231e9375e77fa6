"""PyTorch modules as rfdocs networks: ``from_torch`` traces a module with torch.fx, runs the traced
graph once on a seeded input to learn every value's shape, and maps each node to a layer of the
spec language, named by its module path (``layer1.0.conv1``), with the learned numbers (eval-mode
state, float32, channels-last layouts) in ``Network.params``.

torch is imported only when ``from_torch`` is called; it is never a dependency of rfdocs.
Nothing is loaded from files here (no ``torch.load``): the caller hands over a live module.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from rfdocs.compute.spec import INPUT_NAME, MAX_NAME, Network, SpecError, network_from_data
from rfdocs.importers import ModelError
from rfdocs.messages import quote

if TYPE_CHECKING:
    import torch
    from torch.fx import GraphModule, Node

#: What the importer maps, for messages (module classes of torch.nn; functions and methods).
SUPPORTED_MODULES = (
    "Conv1d, Conv2d, Conv3d, ConvTranspose1d, ConvTranspose2d, ConvTranspose3d, MaxPool1d, "
    "MaxPool2d, MaxPool3d, AvgPool1d, AvgPool2d, AvgPool3d, AdaptiveAvg/MaxPool1d, 2d, 3d (to 1 "
    "or a divisor), BatchNorm1d, BatchNorm2d, BatchNorm3d, ReLU, ReLU6, LeakyReLU, PReLU, "
    "Sigmoid, Tanh, Hardtanh, Hardsigmoid, Hardswish, GELU, SiLU, Softmax, Dropout, Identity, "
    "Flatten, Linear, Upsample, ZeroPad1d, ZeroPad2d, ZeroPad3d, ConstantPad1d, ConstantPad2d, "
    "ConstantPad3d")
SUPPORTED_FUNCTIONS = (
    "+ - * / (tensors or constants), cat(dim=1), flatten/view/reshape to (N, -1), "
    "mean/amax over the spatial dims ((2, 3) for images), F.pad, F.interpolate, clamp and the "
    "functional forms of the modules")
#: Module classes that fix a model's dimension (by their name's ending: 1d, 2d, 3d); BatchNorm1d
#: is left out (it also normalises the features of a Linear layer).
_DIMENSIONED = ("Conv", "ConvTranspose", "MaxPool", "AvgPool", "AdaptiveAvgPool",
                "AdaptiveMaxPool", "BatchNorm", "ZeroPad", "ConstantPad")

#: Seed of the random input the traced graph runs on once, to learn every value's shape.
SEED = 0


@dataclass(frozen=True)
class _Tensor:
    """A value that depends on the network input: the layer holding it and its torch shape,
    (N, C, *spatial) ((N, C, H, W) for images) or (N, F) (a feature vector: the spec's 1x1xF)."""

    layer: str
    shape: tuple[int, ...]

    @property
    def channels(self) -> int:
        return self.shape[1]


def _channels_last(shape: Sequence[int], ndim: int) -> tuple[int, ...]:
    """A torch shape (N, C, *spatial) or (N, F) as the spec's (*spatial, C) or (1.., F)."""
    if len(shape) == ndim + 2:
        return (*shape[2:], shape[1])
    return (*(1,) * ndim, shape[1])


class _Unsupported(Exception):
    """A node the spec language cannot express (turned into one SpecError naming the node)."""


def _axes(value: Any, ndim: int) -> list[int]:
    """An int or a sequence (of one entry, or one per axis) as one int per spatial axis."""
    if isinstance(value, list | tuple):
        if len(value) == 1:
            return [int(value[0])] * ndim
        if len(value) != ndim:
            raise _Unsupported(f"{list(value)} has {len(value)} entries for a {ndim}-D input")
        return [int(v) for v in value]
    return [int(value)] * ndim


def _class_ndim(module: Any) -> int | None:
    """1, 2 or 3 for a module class ending in 1d, 2d, 3d; None otherwise."""
    match = re.search(r"([123])d$", type(module).__name__)
    return int(match.group(1)) if match else None


def _module_ndim(module: Any) -> int | None:
    """The dimension the module's classes fix (Conv1d: 1, MaxPool3d: 3, ...), None if none
    does; two different ones are refused."""
    found: dict[int, str] = {}
    for sub in module.modules():
        name = type(sub).__name__
        match = re.fullmatch(r"([A-Za-z]+)([123])d", name)
        if match and match.group(1) in _DIMENSIONED and name != "BatchNorm1d":
            found.setdefault(int(match.group(2)), name)
    if len(found) > 1:
        listed = ", ".join(f"{cls} ({nd}-D)" for nd, cls in sorted(found.items()))
        raise ModelError(f"the module mixes layers of different dimensions: {listed}; pass "
                         "ndim= to from_torch")
    return next(iter(found), None)


def _np(tensor: Any) -> np.ndarray[Any, Any]:
    """A tensor's numbers as a float32 numpy array (a copy, detached from the module)."""
    return np.array(tensor.detach().cpu().numpy(), dtype=np.float32)


def _spec_name(raw: str, op: str) -> str:
    """A module path made a spec name: characters other than letters, digits, '_', '.' and '-'
    become '_'; a path starting with a digit (the children of a top-level Sequential: ``0``,
    ``1.conv``) gets the op in front (``conv_0``, ``relu_1.conv``), as the ONNX importer names
    the same model exported."""
    name = re.sub(r"[^\w.\-]", "_", raw, flags=re.ASCII) or op
    if not re.match(r"[A-Za-z_]", name):
        name = f"{op}_{name}"
    return name[:MAX_NAME - 8]


# --------------------------------------------------------------------------- tracing


def _trace(module: torch.nn.Module) -> GraphModule:
    import torch.fx

    try:
        return torch.fx.symbolic_trace(module)
    except Exception as err:  # torch.fx raises many kinds: TraceError, TypeError, ...
        raise ModelError(
            f"torch.fx cannot trace {type(module).__name__}: {type(err).__name__}: {err}. "
            "Export it with torch.onnx.export and use rfdocs' ONNX importer instead, or make "
            "forward() free of control flow on tensor values") from None


def _record(gm: GraphModule, example: torch.Tensor) -> tuple[dict[Node, Any], set[Node]]:
    """Run the traced graph once: every node's value (torch shapes for tensors that depend on
    the input, the values themselves otherwise) and the set of nodes that depend on the input."""
    import torch
    import torch.fx

    values: dict[Node, Any] = {}
    dynamic: set[Node] = set()

    class Recorder(torch.fx.Interpreter):
        def run_node(self, n: Node) -> Any:
            result = super().run_node(n)
            if n.op == "placeholder" or any(a in dynamic for a in n.all_input_nodes):
                dynamic.add(n)
                if isinstance(result, torch.Tensor):
                    values[n] = _Tensor("", tuple(result.shape))
                    return result
            values[n] = result
            return result

    with torch.no_grad():
        try:
            Recorder(gm).run(example)
        except Exception as err:
            raise ModelError(f"the module fails on an input of shape {tuple(example.shape)}: "
                            f"{type(err).__name__}: {err}") from None
    return values, dynamic


# --------------------------------------------------------------------------- the converter


def _target_text(node: Node, module: Any = None) -> str:
    if node.op == "call_module":
        cls = type(module)
        return f"{cls.__module__.replace('torch.nn.modules', 'torch.nn')}.{cls.__name__}".replace(
            "torch.nn.activation.", "torch.nn.").replace("torch.nn.conv.", "torch.nn.")
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    target = node.target
    name = getattr(target, "__name__", None) or str(target)
    mod = getattr(target, "__module__", None) or ""
    if mod in ("_operator", "operator"):
        return f"operator.{name}"
    if mod.startswith("torch.nn.functional") or mod == "torch._C._nn":
        return f"torch.nn.functional.{name}"
    return f"torch.{name}" if mod.startswith("torch") or not mod else f"{mod}.{name}"


class _Converter:
    """Walks the traced graph in order, emitting long-form layer mappings and params."""

    def __init__(self, gm: GraphModule, values: dict[Node, Any], dynamic: set[Node],
                 until: str | None) -> None:
        self.gm = gm
        self.modules = dict(gm.named_modules())
        self.values = values
        self.dynamic = dynamic
        self.until = until
        self.env: dict[Node, Any] = {}
        self.layers: list[dict[str, Any]] = []
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.params: dict[str, dict[str, np.ndarray[Any, Any]]] = {}
        self.used: set[str] = {INPUT_NAME}
        self.output: _Tensor | None = None
        self.node: Node | None = None
        self.ndim = 2  # spatial dims of the network input: 1 (N, C, T), 2, 3 (N, C, D, H, W)

    # -- names and emission

    def _base_name(self, node: Node) -> str:
        if node.op == "call_module":
            return str(node.target)
        stack = node.meta.get("nn_module_stack") or {}
        prefix = str(list(stack.values())[-1][0]) if stack else ""
        op = re.sub(r"(_\d+)+$", "", node.name).rstrip("_") or "op"
        return f"{prefix}.{op}" if prefix else op

    def _unique(self, raw: str, op: str) -> str:
        name = _spec_name(raw, op)
        if name in self.used:
            n = 1
            while f"{name}_{n}" in self.used:
                n += 1
            name = f"{name}_{n}"
        self.used.add(name)
        return name

    def emit(self, op: str, inputs: Sequence[_Tensor], fields: dict[str, Any] | None = None,
             params: dict[str, Any] | None = None, *, suffix: str = "",
             shape: tuple[int, ...] | None = None) -> _Tensor:
        """One layer reading ``inputs``; its torch shape is the node's recorded one."""
        assert self.node is not None
        name = self._unique(self._base_name(self.node) + suffix, op)
        layer = {"name": name, "op": op, **(fields or {}),
                 "inputs": [t.layer for t in inputs]}
        self.layers.append(layer)
        if params:
            self.params[name] = params
        if shape is None:
            recorded = self.values[self.node]
            shape = recorded.shape
        self.shapes[name] = shape
        return _Tensor(name, shape)

    # -- argument helpers

    def tensor(self, value: Any, what: str = "input") -> _Tensor:
        if isinstance(value, _Tensor):
            return value
        raise _Unsupported(f"its {what} is a constant, not a value computed from the network "
                           "input")

    def spatial(self, value: Any, module_ndim: int | None = None) -> _Tensor:
        """``value`` as a tensor of the network's dimension; ``module_ndim``: the dimension of
        the module reading it (Conv1d: 1), which must be that one."""
        t = self.tensor(value)
        layout = {1: "(N, C, T)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}[self.ndim]
        if len(t.shape) != self.ndim + 2:
            raise _Unsupported(f"it needs an {layout} input, got shape {t.shape}")
        if module_ndim is not None and module_ndim != self.ndim:
            raise _Unsupported(f"a {module_ndim}-D layer in a {self.ndim}-D network (input "
                               f"{layout}); pass ndim= to from_torch if the dimension was "
                               "guessed wrong")
        return t

    def arg(self, node: Node, index: int, name: str, default: Any = None) -> Any:
        """Argument ``index`` (positional) or ``name`` (keyword) of a call, resolved."""
        if index < len(node.args):
            return self.resolve(node.args[index])
        if name in node.kwargs:
            return self.resolve(node.kwargs[name])
        return default

    def resolve(self, value: Any) -> Any:
        import torch.fx

        if isinstance(value, torch.fx.Node):
            return self.env[value]
        if isinstance(value, list | tuple):
            return type(value)(self.resolve(v) for v in value)
        return value

    # -- the walk

    def run(self) -> None:
        seen_input = False
        for node in self.gm.graph.nodes:
            self.node = node
            if node.op == "placeholder":
                if seen_input:  # a further argument of forward(), left at its default
                    self.env[node] = self.values[node]
                    continue
                seen_input = True
                self.env[node] = _Tensor(INPUT_NAME, self.values[node].shape)
                continue
            if node.op == "output":
                if self.output is None:
                    result = self.resolve(node.args[0])
                    if isinstance(result, list | tuple) and len(result) == 1:
                        result = result[0]
                    if not isinstance(result, _Tensor):
                        raise ModelError("the module's output is not one tensor computed from its "
                                        f"input (got {type(result).__name__}); rfdocs networks "
                                        "have one output (pass until= to end at a layer)")
                    self.output = result
                break
            if node not in self.dynamic or not isinstance(self.values.get(node), _Tensor):
                value = self.values.get(node)
                self.env[node] = value
                continue
            module = self.modules.get(str(node.target)) if node.op == "call_module" else None
            try:
                out = self.convert(node, module)
            except _Unsupported as err:
                raise ModelError(
                    f"node {quote(self._base_name(node))} ({_target_text(node, module)}): "
                    f"{err}") from None
            if out is None:
                kind = "module" if node.op == "call_module" else (
                    "method" if node.op == "call_method" else "function")
                raise ModelError(
                    f"node {quote(self._base_name(node))} calls the {kind} "
                    f"{_target_text(node, module)}, which rfdocs cannot import. Supported modules: "
                    f"{SUPPORTED_MODULES}; functions: {SUPPORTED_FUNCTIONS}. Pass until='LAYER' "
                    "to end the network before it")
            if out.shape != self.values[node].shape:
                raise ModelError(f"node {quote(self._base_name(node))}: the import gives shape "
                                f"{out.shape}, torch {self.values[node].shape} (please report)")
            self.env[node] = out
            if self.until is not None and out.layer == self.until:
                self.output = out
                break
        if self.output is None:
            raise ModelError(f"no layer is named {quote(self.until)} (until); layers: "
                            f"{', '.join(str(layer['name']) for layer in self.layers[:20])}")

    # -- node kinds

    def convert(self, node: Node, module: Any) -> _Tensor | None:
        if node.op == "call_module":
            return self.convert_module(node, module)
        if node.op == "call_method":
            return self.convert_call(str(node.target), node, method=True)
        if node.op == "call_function":
            key = _function_key(node.target)
            return None if key is None else self.convert_call(key, node, method=False)
        return None

    def convert_module(self, node: Node, m: Any) -> _Tensor | None:
        import torch.nn as nn

        x = self.arg(node, 0, "input")
        conv_types = nn.Conv1d | nn.Conv2d | nn.Conv3d
        deconv_types = nn.ConvTranspose1d | nn.ConvTranspose2d | nn.ConvTranspose3d
        if isinstance(m, conv_types):
            return self.conv(m, self.spatial(x, len(m.kernel_size)))
        if isinstance(m, deconv_types):
            return self.deconv(m, self.spatial(x, len(m.kernel_size)), node)
        pool_nd = _class_ndim(m)
        if isinstance(m, nn.MaxPool1d | nn.MaxPool2d | nn.MaxPool3d):
            if m.return_indices:
                raise _Unsupported("return_indices=True is not supported")
            return self.pool("maxpool", self.spatial(x, pool_nd), m.kernel_size, m.stride,
                             m.padding, m.dilation, m.ceil_mode)
        if isinstance(m, nn.AvgPool1d | nn.AvgPool2d | nn.AvgPool3d):
            if getattr(m, "divisor_override", None):
                raise _Unsupported("divisor_override is not supported")
            return self.pool("avgpool", self.spatial(x, pool_nd), m.kernel_size, m.stride,
                             m.padding, 1, m.ceil_mode, m.count_include_pad)
        adaptive_avg = nn.AdaptiveAvgPool1d | nn.AdaptiveAvgPool2d | nn.AdaptiveAvgPool3d
        adaptive_max = nn.AdaptiveMaxPool1d | nn.AdaptiveMaxPool2d | nn.AdaptiveMaxPool3d
        if isinstance(m, adaptive_avg | adaptive_max):
            if isinstance(m, adaptive_max) and m.return_indices:
                raise _Unsupported("return_indices=True is not supported")
            return self.adaptive("avg" if isinstance(m, adaptive_avg) else "max",
                                 self.spatial(x, pool_nd), m.output_size)
        if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d | nn.BatchNorm3d):
            t = self.tensor(x)
            if isinstance(m, nn.BatchNorm3d | nn.BatchNorm2d):
                self.spatial(t, pool_nd)
            elif len(t.shape) != 2:  # BatchNorm1d on (N, C, T): a sequence network's layer
                self.spatial(t, 1)
            return self.batchnorm(m, t)
        if isinstance(m, nn.ReLU6):
            return self.emit("clip", [self.tensor(x)], {"min": 0.0, "max": 6.0})
        if isinstance(m, nn.Hardtanh):
            return self.emit("clip", [self.tensor(x)], {"min": float(m.min_val),
                                                         "max": float(m.max_val)})
        simple = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh",
                  nn.Hardswish: "hardswish"}
        for cls, op in simple.items():
            if isinstance(m, cls):
                return self.emit(op, [self.tensor(x)])
        if isinstance(m, nn.LeakyReLU):
            return self.emit("leakyrelu", [self.tensor(x)], {"alpha": float(m.negative_slope)})
        if isinstance(m, nn.PReLU):
            slope = _np(m.weight).reshape(-1)
            return self.emit("prelu", [self.tensor(x)], {"alpha": float(slope[0])},
                             {"slope": slope})
        if isinstance(m, nn.Hardsigmoid):
            return self.emit("hardsigmoid", [self.tensor(x)], {"alpha": 1 / 6, "beta": 0.5})
        if isinstance(m, nn.GELU):
            return self.gelu(self.tensor(x), m.approximate)
        if isinstance(m, nn.SiLU):
            return self.silu(self.tensor(x))
        if isinstance(m, nn.Softmax):
            return self.softmax(self.tensor(x), m.dim)
        if isinstance(m, nn.Dropout | nn.Dropout1d | nn.Dropout2d | nn.Dropout3d | nn.AlphaDropout
                      | nn.Identity):
            return self.tensor(x)
        if isinstance(m, nn.Flatten):
            return self.reshape(self.tensor(x), node)
        if isinstance(m, nn.Linear):
            return self.linear(m, self.tensor(x))
        if isinstance(m, nn.Upsample):
            return self.upsample(self.spatial(x), node, m.scale_factor, m.mode, m.align_corners)
        pads = (nn.ZeroPad1d, nn.ZeroPad2d, nn.ZeroPad3d, nn.ConstantPad1d, nn.ConstantPad2d,
                nn.ConstantPad3d)
        if isinstance(m, pads):
            return self.pad(self.spatial(x, pool_nd), m.padding, "constant", float(m.value))
        return None

    def convert_call(self, key: str, node: Node, *, method: bool) -> _Tensor | None:
        """A function or tensor method; ``key`` names it without its namespace."""
        key = key.rstrip("_") if key not in ("__add__", "__mul__") else key
        x = self.arg(node, 0, "input")
        a = self.arg
        if key in ("relu", "sigmoid", "tanh", "hardswish"):
            return self.emit(key, [self.tensor(x)])
        if key == "relu6":
            return self.emit("clip", [self.tensor(x)], {"min": 0.0, "max": 6.0})
        if key == "hardtanh":
            return self.emit("clip", [self.tensor(x)], {"min": float(a(node, 1, "min_val", -1.0)),
                                                         "max": float(a(node, 2, "max_val", 1.0))})
        if key in ("clamp", "clip"):
            lo, hi = a(node, 1, "min"), a(node, 2, "max")
            if any(v is not None and not isinstance(v, int | float) for v in (lo, hi)):
                raise _Unsupported("clamp takes number bounds here, not tensors")
            return self.emit("clip", [self.tensor(x)], {
                **({"min": float(lo)} if lo is not None else {}),
                **({"max": float(hi)} if hi is not None else {})})
        if key == "leaky_relu":
            return self.emit("leakyrelu", [self.tensor(x)],
                             {"alpha": float(a(node, 1, "negative_slope", 0.01))})
        if key == "hardsigmoid":
            return self.emit("hardsigmoid", [self.tensor(x)], {"alpha": 1 / 6, "beta": 0.5})
        if key == "gelu":
            return self.gelu(self.tensor(x), a(node, 1, "approximate", "none"))
        if key == "silu":
            return self.silu(self.tensor(x))
        if key == "softmax":
            return self.softmax(self.tensor(x), a(node, 1, "dim"))
        if key in ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "contiguous",
                   "clone",
                   "detach", "float", "to", "type_as"):
            t = self.tensor(x)
            return t if self.values[node].shape == t.shape else None
        if key in ("add", "sub", "mul", "truediv", "div", "__add__", "__mul__", "rsub",
                   "iadd", "isub", "imul", "itruediv"):
            return self.binary(key, node, x, a(node, 1, "other"))
        if key == "neg":
            return self.emit("affine", [self.tensor(x)], {"scale": -1.0, "shift": 0.0})
        if key in ("cat", "concat", "concatenate"):
            return self.cat(x, a(node, 1, "dim", 0))
        if key in ("flatten", "view", "reshape", "squeeze", "unsqueeze"):
            return self.reshape(self.tensor(x), node)
        if key in ("mean", "amax"):
            return self.reduce(key, node, self.tensor(x), a(node, 1, "dim"))
        if key in ("max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d",
                   "avg_pool3d"):
            nd = int(key[-2])
            size = a(node, 1, "kernel_size")
            stride = a(node, 2, "stride") or size
            if key.startswith("max"):
                if a(node, 6, "return_indices", False):
                    raise _Unsupported("return_indices=True is not supported")
                return self.pool("maxpool", self.spatial(x, nd), size, stride,
                                 a(node, 3, "padding", 0), a(node, 4, "dilation", 1),
                                 a(node, 5, "ceil_mode", False))
            if nd > 1 and a(node, 6, "divisor_override"):
                raise _Unsupported("divisor_override is not supported")
            return self.pool("avgpool", self.spatial(x, nd), size, stride,
                             a(node, 3, "padding", 0), 1, a(node, 4, "ceil_mode", False),
                             a(node, 5, "count_include_pad", True))
        if key in ("adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
                   "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d"):
            if key.startswith("adaptive_max") and a(node, 2, "return_indices", False):
                raise _Unsupported("return_indices=True is not supported")
            return self.adaptive(key[9:12], self.spatial(x, int(key[-2])),
                                 a(node, 1, "output_size"))
        if key == "pad":
            value = a(node, 3, "value")
            return self.pad(self.spatial(x), a(node, 1, "pad"), a(node, 2, "mode", "constant"),
                            0.0 if value is None else float(value))
        if key in ("interpolate", "upsample"):
            return self.upsample(self.spatial(x), node, a(node, 2, "scale_factor"),
                                 a(node, 3, "mode", "nearest"), a(node, 4, "align_corners"),
                                 bool(a(node, 6, "antialias", False)))
        return None

    # -- layers

    def conv(self, m: Any, x: _Tensor) -> _Tensor:
        if m.padding_mode != "zeros":
            raise _Unsupported(f"padding_mode {m.padding_mode!r} is not supported (only 'zeros')")
        nd = self.ndim
        kernel, stride, dilation = (_axes(m.kernel_size, nd), _axes(m.stride, nd),
                                    _axes(m.dilation, nd))
        if isinstance(m.padding, str):
            pads = [0] * (2 * nd)
            if m.padding == "same":  # PyTorch: total d (k - 1), the extra pixel at the end
                totals = [dilation[i] * (kernel[i] - 1) for i in range(nd)]
                pads = [v for t in totals for v in (t // 2, t - t // 2)]
        else:
            pads = [v for p in _axes(m.padding, nd) for v in (p, p)]
        weight = _np(m.weight).transpose(*range(2, nd + 2), 1, 0)
        params = {"weight": np.ascontiguousarray(weight)}
        if m.bias is not None:
            params["bias"] = _np(m.bias)
        return self.emit("conv", [x], {"kernel": kernel, "stride": stride, "padding": pads,
                                       "dilation": dilation, "filters": int(m.out_channels),
                                       "groups": int(m.groups)}, params)

    def deconv(self, m: Any, x: _Tensor, node: Node) -> _Tensor:
        if m.groups != 1:
            raise _Unsupported(f"groups={m.groups} is not supported for transposed convolutions")
        if m.padding_mode != "zeros":
            raise _Unsupported(f"padding_mode {m.padding_mode!r} is not supported (only 'zeros')")
        if len(node.args) > 1 or "output_size" in node.kwargs:
            raise _Unsupported("output_size is not supported; set output_padding on the module")
        nd = self.ndim
        weight = _np(m.weight).transpose(*range(2, nd + 2), 0, 1)
        params = {"weight": np.ascontiguousarray(weight)}
        if m.bias is not None:
            params["bias"] = _np(m.bias)
        return self.emit("deconv", [x], {
            "kernel": _axes(m.kernel_size, nd), "stride": _axes(m.stride, nd),
            "padding": [v for p in _axes(m.padding, nd) for v in (p, p)],
            "dilation": _axes(m.dilation, nd), "filters": int(m.out_channels),
            "output_padding": _axes(m.output_padding, nd)}, params)

    def pool(self, op: str, x: _Tensor, kernel: Any, stride: Any, padding: Any, dilation: Any,
             ceil_mode: Any, count_include_pad: Any = True) -> _Tensor:
        nd = self.ndim
        fields = {"kernel": _axes(kernel, nd),
                  "stride": _axes(stride if stride not in (None, [], ()) else kernel, nd),
                  "padding": [v for p in _axes(padding, nd) for v in (p, p)],
                  "dilation": _axes(dilation, nd), "ceil_mode": bool(ceil_mode)}
        if op == "avgpool":
            fields["count_include_pad"] = bool(count_include_pad)
        return self.emit(op, [x], fields)

    def adaptive(self, kind: str, x: _Tensor, output_size: Any) -> _Tensor:
        sizes = x.shape[2:]
        wanted = (output_size if isinstance(output_size, list | tuple)
                  else (output_size,) * len(sizes))
        if len(wanted) != len(sizes):
            raise _Unsupported(f"output_size {output_size!r} for a {len(sizes)}-D input")
        out = [n if o is None else int(o) for n, o in zip(sizes, wanted, strict=True)]
        if all(o == 1 for o in out):
            return self.emit(f"global{kind}pool", [x])
        if any(n % o for n, o in zip(sizes, out, strict=True)):
            raise _Unsupported(f"adaptive pooling of {'x'.join(map(str, sizes))} to "
                               f"{'x'.join(map(str, out))} is not a plain pool (the output "
                               "size must divide the input size, or be 1)")
        k = [n // o for n, o in zip(sizes, out, strict=True)]
        fields: dict[str, Any] = {"kernel": k, "stride": k}
        if kind == "avg":
            fields["count_include_pad"] = True
        return self.emit(f"{kind}pool", [x], fields)

    def batchnorm(self, m: Any, x: _Tensor) -> _Tensor:
        if m.running_mean is None or m.running_var is None:
            raise _Unsupported("track_running_stats=False: eval-mode statistics are needed")
        c = x.channels
        scale = _np(m.weight) if m.weight is not None else np.ones(c, np.float32)
        bias = _np(m.bias) if m.bias is not None else np.zeros(c, np.float32)
        return self.emit("batchnorm", [x], {"epsilon": float(m.eps)},
                         {"mean": _np(m.running_mean), "var": _np(m.running_var),
                          "scale": scale, "bias": bias})

    def gelu(self, x: _Tensor, approximate: Any) -> _Tensor:
        if approximate not in ("none", "tanh"):
            raise _Unsupported(f"approximate={approximate!r} is not supported")
        return self.emit("gelu", [x], {"approximate": str(approximate)})

    def silu(self, x: _Tensor) -> _Tensor:
        """x * sigmoid(x): a sigmoid layer and a mul layer (the language has no silu)."""
        gate = self.emit("sigmoid", [x], suffix=".sigmoid", shape=x.shape)
        return self.emit("mul", [x, gate])

    def softmax(self, x: _Tensor, dim: Any) -> _Tensor:
        ndim = len(x.shape)
        if dim is None:
            dim = 1  # PyTorch's implicit choice for 2-D and 4-D inputs
        if int(dim) % ndim != 1:
            raise _Unsupported(f"softmax over dim {dim} of a {ndim}-D tensor; rfdocs takes the "
                               "channel dimension (dim=1)")
        return self.emit("softmax", [x])

    def linear(self, m: Any, x: _Tensor) -> _Tensor:
        if len(x.shape) != 2:
            raise _Unsupported(f"a Linear layer needs an (N, features) input (flatten first), "
                               f"got shape {x.shape}")
        params = {"weight": np.ascontiguousarray(_np(m.weight).T)}
        if m.bias is not None:
            params["bias"] = _np(m.bias)
        return self.emit("dense", [x], {"units": int(m.out_features)}, params)

    def upsample(self, x: _Tensor, node: Node, scale: Any, mode: Any, align_corners: Any,
                 antialias: bool = False) -> _Tensor:
        out = self.values[node].shape[2:]
        sizes = x.shape[2:]
        if any(o % n for o, n in zip(out, sizes, strict=True)):
            raise _Unsupported(f"resizing {'x'.join(map(str, sizes))} to "
                               f"{'x'.join(map(str, out))} is not by an integer factor")
        factor = [o // n for o, n in zip(out, sizes, strict=True)]
        if scale is not None:
            scales = scale if isinstance(scale, list | tuple) else (scale,) * len(sizes)
            if [float(s) for s in scales] != [float(f) for f in factor]:
                raise _Unsupported(f"scale_factor {scale!r} is not an integer")
        linear = {1: "linear", 2: "bilinear", 3: "trilinear"}[len(sizes)]
        if mode in ("nearest", "nearest-exact"):  # equal for integer factors
            spec_mode = "nearest"
        elif mode == linear and not align_corners and not antialias:
            spec_mode = "linear"
        else:
            raise _Unsupported(f"mode {mode!r} (align_corners={align_corners}) is not supported; "
                               f"rfdocs takes 'nearest' and {linear!r} with align_corners=False")
        return self.emit("upsample", [x], {"factor": factor, "mode": spec_mode})

    def pad(self, x: _Tensor, pads: Any, mode: Any, value: float) -> _Tensor:
        if mode != "constant":
            raise _Unsupported(f"pad mode {mode!r} is not supported (only 'constant')")
        nd = self.ndim
        amounts = [int(p) for p in pads] if isinstance(pads, list | tuple) else [int(pads)] * (
            2 * nd)
        if len(amounts) % 2 or len(amounts) > 2 * nd or min(amounts, default=0) < 0:
            what = "height and width" if nd == 2 else "the spatial axes"
            raise _Unsupported(f"pads {pads!r}: rfdocs pads {what} only, by amounts >= 0")
        amounts += [0] * (2 * nd - len(amounts))
        # torch: (before, after) of the last axis first; the spec: of the first axis first
        padding = [v for a in range(nd - 1, -1, -1) for v in (amounts[2 * a], amounts[2 * a + 1])]
        return self.emit("pad", [x], {"padding": padding, "value": value})

    def cat(self, tensors: Any, dim: Any) -> _Tensor:
        if not isinstance(tensors, list | tuple) or not tensors:
            raise _Unsupported("cat takes a list of tensors")
        items = [self.tensor(t, "input list") for t in tensors]
        ndim = len(items[0].shape)
        if int(dim) % ndim != 1:
            raise _Unsupported(f"cat along dim {dim} of {ndim}-D tensors; rfdocs concatenates "
                               "channels (dim=1)")
        if len(items) == 1:
            return items[0]
        return self.emit("concat", items)

    def reshape(self, x: _Tensor, node: Node) -> _Tensor:
        out = tuple(self.values[node].shape)
        if out[:1] != x.shape[:1]:
            raise _Unsupported(f"reshaping {x.shape} to {out} changes the batch dimension")
        rank = self.ndim + 2
        if len(x.shape) == rank and len(out) == 2 and out[1] == math.prod(x.shape[1:]):
            return self.emit("flatten", [x])
        as_features = out == (x.shape[0], math.prod(x.shape[1:])) + (1,) * (len(out) - 2)
        if out == x.shape or (len(x.shape) == 2 and len(out) == rank and as_features):
            return _Tensor(x.layer, out)  # the same numbers: (N, F) and (N, F, 1, 1) alike
        raise _Unsupported(f"reshaping {x.shape} to {out} is not a flatten to (N, -1)")

    def reduce(self, key: str, node: Node, x: _Tensor, dims: Any) -> _Tensor:
        ndim = len(x.shape)
        axes = {int(d) % ndim for d in (dims if isinstance(dims, list | tuple) else [dims])} \
            if dims is not None else set(range(ndim))
        rank = self.ndim + 2
        if ndim != rank or axes != set(range(2, rank)):
            what = ("height and width (dims 2, 3)" if rank == 4 else
                    f"every spatial dim (dims {', '.join(map(str, range(2, rank)))})")
            raise _Unsupported(f"{key} over dims {sorted(axes)} of shape {x.shape}; rfdocs takes "
                               f"the mean or max over {what}")
        return self.emit("globalavgpool" if key == "mean" else "globalmaxpool", [x])

    def binary(self, key: str, node: Node, a: Any, b: Any) -> _Tensor:
        """add, sub, mul, div of two tensors (a merge layer, broadcast) or of a tensor and a
        constant (an affine layer: scalar fields or per-channel params)."""
        op = {"add": "add", "__add__": "add", "iadd": "add", "sub": "sub", "isub": "sub",
              "rsub": "sub", "mul": "mul", "__mul__": "mul", "imul": "mul", "truediv": "div",
              "div": "div", "itruediv": "div"}[key]
        if key == "rsub":
            a, b = b, a
        if op in ("add", "sub") and (alpha := self.arg(node, 2, "alpha", 1)) != 1:
            raise _Unsupported(f"alpha={alpha!r} is not supported")
        if op == "div" and self.arg(node, 2, "rounding_mode") is not None:
            raise _Unsupported("rounding_mode is not supported")
        if isinstance(a, _Tensor) and isinstance(b, _Tensor):
            if len(a.shape) != len(b.shape):
                raise _Unsupported(f"{op} of shapes {a.shape} and {b.shape} (broadcasting across "
                                   "ranks is not supported)")
            return self.emit(op, [a, b])
        x, c, first = (a, b, True) if isinstance(a, _Tensor) else (b, a, False)
        x = self.tensor(x)
        vector = self.constant(c, x)
        if op == "div" and not first:
            raise _Unsupported("a constant divided by a tensor (a reciprocal) is not supported")
        scale: np.ndarray[Any, Any] | None
        shift: np.ndarray[Any, Any] | None
        if op == "div":
            scale, shift = 1.0 / vector, None
        elif op == "mul":
            scale, shift = vector, None
        elif op == "add":
            scale, shift = None, vector
        elif first:  # x - c
            scale, shift = None, -vector
        else:  # c - x
            scale, shift = -np.ones(1), vector
        fields: dict[str, Any] = {"scale": 1.0, "shift": 0.0}
        params: dict[str, Any] = {}
        for name, values in (("scale", scale), ("shift", shift)):
            if values is None:
                continue
            if values.size == 1:
                fields[name] = float(values[0])
            else:
                params[name] = values.astype(np.float32)
        return self.emit("affine", [x], fields, params)

    def constant(self, c: Any, x: _Tensor) -> np.ndarray[Any, Any]:
        """A constant operand as one number (shape (1,)) or one per channel (shape (C,))."""
        import torch

        if isinstance(c, bool) or not isinstance(c, int | float | torch.Tensor):
            raise _Unsupported(f"the other operand is {type(c).__name__}, not a number or tensor")
        arr = np.array(c.detach().cpu().numpy() if isinstance(c, torch.Tensor) else c,
                       dtype=np.float64)
        if arr.size == 1:
            return arr.reshape(1)
        shape = (1,) * (len(x.shape) - arr.ndim) + arr.shape
        channel_axis_only = (len(shape) == len(x.shape) and shape[0] == 1
                             and shape[1] == x.channels and all(s == 1 for s in shape[2:]))
        if not channel_axis_only:
            raise _Unsupported(f"a constant of shape {tuple(arr.shape)} with a tensor of shape "
                               f"{x.shape}: rfdocs takes a number or one number per channel")
        return arr.reshape(-1)


_FUNCTION_KEYS: dict[Any, str] | None = None


def _function_key(target: Any) -> str | None:
    """The name a supported function goes by (``F.relu`` and ``torch.relu`` alike: ``relu``)."""
    global _FUNCTION_KEYS
    if _FUNCTION_KEYS is None:
        import torch
        import torch.nn.functional as F

        keys: dict[Any, str] = {
            operator.add: "add", operator.iadd: "iadd", operator.sub: "sub",
            operator.isub: "isub", operator.mul: "mul", operator.imul: "imul",
            operator.truediv: "truediv", operator.itruediv: "itruediv", operator.neg: "neg",
            torch.add: "add", torch.sub: "sub", torch.subtract: "sub", torch.rsub: "rsub",
            torch.mul: "mul", torch.multiply: "mul", torch.div: "div", torch.divide: "div",
            torch.true_divide: "div", torch.neg: "neg",
            torch.cat: "cat", torch.concat: "cat", torch.concatenate: "cat",
            torch.flatten: "flatten", torch.reshape: "reshape", torch.squeeze: "squeeze",
            torch.unsqueeze: "unsqueeze", torch.mean: "mean", torch.amax: "amax",
            torch.relu: "relu", torch.relu_: "relu", torch.sigmoid: "sigmoid",
            torch.tanh: "tanh", torch.clamp: "clamp", torch.clip: "clamp",
            torch.softmax: "softmax", torch.dropout: "dropout", torch.clone: "clone",
        }
        for name in ("relu", "relu_", "relu6", "leaky_relu", "sigmoid", "tanh", "hardtanh",
                     "hardsigmoid", "hardswish", "gelu", "silu", "softmax", "dropout",
                     "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "max_pool1d",
                     "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
                     "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
                     "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d", "pad",
                     "interpolate", "upsample"):
            fn = getattr(F, name, None)
            if fn is not None:
                keys[fn] = name.rstrip("_")
        _FUNCTION_KEYS = keys
    try:
        return _FUNCTION_KEYS.get(target)
    except TypeError:  # an unhashable target
        return None


# --------------------------------------------------------------------------- entry point


def _input_shape(input_shape: Sequence[int], ndim: int | None) -> tuple[int, ...]:
    """(N, C, *spatial) from ``input_shape`` ((C, *spatial) or (N, C, *spatial)) for a network
    of ``ndim`` spatial dims (None: 2 for 3 or 4 numbers, 1 for 2, 3 for 5)."""
    dims = list(input_shape)
    if not dims or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1
                           for d in dims):
        raise SpecError(f"input_shape must be positive integers, got {quote(input_shape)}",
                        field="input")
    if ndim is None:
        ndim = {2: 1, 3: 2, 4: 2, 5: 3}.get(len(dims), 2)
    if ndim not in (1, 2, 3) or len(dims) not in (ndim + 1, ndim + 2):
        layout = {1: "(C, T) or (N, C, T)", 2: "(C, H, W) or (N, C, H, W)",
                  3: "(C, D, H, W) or (N, C, D, H, W)"}.get(ndim, "(C, *spatial)")
        raise SpecError(f"input_shape must be {layout} positive integers for a {ndim}-D "
                        f"network, got {quote(input_shape)}", field="input")
    if len(dims) == ndim + 1:
        dims.insert(0, 1)
    return tuple(dims)


def _ancestors(layers: list[dict[str, Any]], output: str) -> set[str]:
    inputs = {str(layer["name"]): layer["inputs"] for layer in layers}
    keep: set[str] = set()
    stack = [output]
    while stack:
        name = stack.pop()
        if name in keep or name == INPUT_NAME:
            continue
        keep.add(name)
        stack.extend(inputs[name])
    return keep


def from_torch(module: Any, input_shape: Sequence[int], *, until: str | None = None,
               ndim: int | None = None) -> Network:
    """The ``Network`` of a PyTorch module on inputs of ``input_shape`` ((C, H, W) or
    (N, C, H, W) for images; (C, T) or (N, C, T) for sequences, (C, D, H, W) or (N, C, D, H, W)
    for volumes), with its learned numbers (eval-mode state) in ``params``.

    The dimension (``ndim``: 1, 2 or 3 spatial axes) comes from the module's layer classes
    (Conv1d, MaxPool3d, ...) when not given, else from the length of ``input_shape``.

    Layers are named by module path (``layer1.0.conv1``; a second call of one module gets
    ``_1``; functions by the module whose forward calls them: ``layer1.0.add``). Dropout and
    Identity modules and reshapes that keep the numbers add no layer. ``until``: end the network
    at the layer of that name (to leave out a head rfdocs cannot import). Raises SpecError
    naming the node for anything the spec language cannot express. The module's training flag
    is restored afterwards."""
    import torch

    if not isinstance(module, torch.nn.Module):
        raise ModelError(f"from_torch takes a torch.nn.Module, got {type(module).__name__}")
    if ndim is None:
        ndim = _module_ndim(module)
    dims = _input_shape(input_shape, ndim)
    n, c, spatial = dims[0], dims[1], dims[2:]
    training = module.training
    module.eval()
    try:
        gm = _trace(module)
        generator = torch.Generator().manual_seed(SEED)
        dtype = next((p.dtype for p in module.parameters() if p.is_floating_point()),
                     torch.float32)
        example = torch.randn((n, c, *spatial), generator=generator).to(dtype)
        values, dynamic = _record(gm, example)
        converter = _Converter(gm, values, dynamic, until)
        converter.ndim = len(spatial)
        converter.run()
    finally:
        module.train(training)
    assert converter.output is not None
    output = converter.output
    if output.layer == INPUT_NAME:
        raise ModelError("the module returns its input unchanged: there is no layer to import")
    keep = _ancestors(converter.layers, output.layer)
    layers = [layer for layer in converter.layers if layer["name"] in keep]
    net = network_from_data({"input": [*spatial, c], "layers": layers})
    net = replace(net, params={name: p for name, p in converter.params.items() if name in keep})
    _check_shapes(net, converter.shapes)
    return net


def _check_shapes(net: Network, shapes: dict[str, tuple[int, ...]]) -> None:
    """Every layer's shape in the analysis equals the shape torch computed."""
    from rfdocs.compute.receptive import analyze

    for info in analyze(net).layers:
        expect = _channels_last(shapes[info.name], net.ndim)
        if info.shape != expect:
            raise ModelError(f"rfdocs computes {'x'.join(map(str, info.shape))}, torch "
                            f"{'x'.join(map(str, expect))} (please report)", layer=info.name)

