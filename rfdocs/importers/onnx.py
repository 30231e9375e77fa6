"""ONNX models as rfdocs networks: every supported node becomes a layer, channel-first tensors
become channels-last shapes (NCT -> (T, C) for sequences, NCHW -> (H, W, C) for images, NCDHW ->
(D, H, W, C) for volumes), weights become channels-last ``Network.params`` (float32), shape
subgraphs are folded.

The file is data, never code: its size is checked before it is read, external weight files must
lie inside ``base_dir`` (symbolic links followed before checking), only the default operator
domain is read, model-local functions are refused, and every tensor's byte count is checked
against its dimensions before anything is allocated. Nothing is executed: the graph is read
node by node, constants are folded with numpy.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from rfdocs.compute.receptive import _shape as layer_shape
from rfdocs.compute.spec import (
    INPUT_NAME,
    MAX_DIM,
    MAX_FLOAT,
    MAX_LAYERS,
    MAX_NAME,
    Layer,
    Network,
    SpecError,
    layer_from_mapping,
    validate_graph,
)
from rfdocs.importers import DEFAULT_MAX_MODEL_BYTES, ONNX_INSTALL_HINT, ModelError
from rfdocs.messages import quote

Array = npt.NDArray[Any]

#: Operators that become layers (or pass their input through), by what they become.
LAYER_OPS = (
    "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
    "ReduceMean", "ReduceMax", "BatchNormalization", "Relu", "LeakyRelu", "PRelu", "Sigmoid",
    "Tanh", "Clip", "HardSigmoid", "HardSwish", "Gelu", "Softmax", "Add", "Sub", "Mul", "Div",
    "Sum", "Concat", "Pad", "Resize", "Upsample", "Identity", "Dropout", "Flatten", "Gemm",
    "MatMul", "Reshape", "Squeeze", "Unsqueeze",
)
#: Operators computed on constants only (the shape subgraphs of dynamic exports).
FOLDED_OPS = (
    "Constant", "ConstantOfShape", "Shape", "Size", "Gather", "Unsqueeze", "Squeeze", "Concat",
    "Cast", "Slice", "Reshape", "Flatten", "Transpose", "Identity", "Expand", "Range", "Add",
    "Sub", "Mul", "Div", "Pow", "Neg", "Abs", "Floor", "Ceil", "Sqrt", "Min", "Max", "Equal",
    "Less", "Greater", "Not", "And", "Or", "Where", "Erf", "Relu", "Sigmoid", "Tanh",
)
#: Opsets of the default domain read (7 is ONNX 1.2; newer opsets change these operators in
#: ways handled here or not at all).
MIN_OPSET, MAX_OPSET = 7, 30
#: Elements of one constant computed while folding (shapes are tiny; this only stops abuse).
MAX_FOLD_ELEMENTS = 1 << 24
#: Ops a PyTorch module emits as its whole self: the module's name alone names them.
_MODULE_OPS = frozenset((
    "Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization", "Relu", "LeakyRelu",
    "PRelu", "Sigmoid", "Tanh", "Clip", "HardSigmoid", "HardSwish", "Gelu", "Softmax", "MaxPool",
    "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Resize", "Upsample", "Pad", "Dropout",
    "Identity", "Flatten",
))
#: TensorFlow op names tf2onnx leaves at the end of node names.
_TF_MARKERS = frozenset((
    "conv2d", "conv2dbackpropinput", "depthwiseconv2dnative", "biasadd", "relu6", "matmul",
    "fusedbatchnorm", "fusedbatchnormv3", "maxpool", "avgpool", "mean", "addv2", "concatv2",
    "resizebilinear", "resizenearestneighbor", "leakyrelu", "squeeze", "biasadd_1",
))
_TF_SCOPES = ("StatefulPartitionedCall", "PartitionedCall")
_NOT_NAME = re.compile(r"[^A-Za-z0-9_.\-]")
_NUMBERED = re.compile(r"(.*?)(?:_+(\d+))?")

_DTYPES: dict[int, tuple[str, str]] = {  # ONNX data type -> numpy dtype, typed field
    1: ("<f4", "float_data"), 2: ("u1", "int32_data"), 3: ("i1", "int32_data"),
    4: ("<u2", "int32_data"), 5: ("<i2", "int32_data"), 6: ("<i4", "int32_data"),
    7: ("<i8", "int64_data"), 9: ("?", "int32_data"), 10: ("<f2", "int32_data"),
    11: ("<f8", "double_data"), 12: ("<u4", "uint64_data"), 13: ("<u8", "uint64_data"),
}


@dataclass(frozen=True)
class Act:
    """A tensor computed from the input: the layer that computes it and its (*spatial, C) shape
    (H, W, C for images). ``flat``: the ONNX tensor is (N, K) (after Flatten or Gemm), held as
    1x1xK (one 1 per spatial axis)."""

    name: str
    shape: tuple[int, ...]
    flat: bool = False

    @property
    def spatial(self) -> tuple[int, ...]:
        return self.shape[:-1]

    @property
    def channels(self) -> int:
        return self.shape[-1]

    @property
    def rank(self) -> int:
        """The rank of the ONNX tensor: 2 when flat, else batch, channels and spatial axes."""
        return 2 if self.flat else len(self.shape) + 1

    def onnx_shape(self) -> tuple[int, ...]:
        return (1, self.channels) if self.flat else (1, self.channels, *self.spatial)


#: How a model's input is described in messages, by its number of spatial axes.
_LAYOUT = {1: "(N, C, T)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}
_KIND = {1: "sequence", 2: "image", 3: "volume"}


Value = Act | Array


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ModelError("reading ONNX models needs the onnx package; install it with "
                         f"{ONNX_INSTALL_HINT}") from None
    return onnx


def load_onnx(
    path: str | Path,
    *,
    base_dir: str | Path | None = None,
    max_bytes: int | None = None,
    until: str | None = None,
    input_shape: Sequence[int] | None = None,
    external_files: list[Path] | None = None,
) -> Network:
    """The network of an ONNX model file, with its learned weights in ``params``.

    ``base_dir``: external weight files must lie in it (default: the model's folder);
    ``max_bytes``: the most bytes read, model and external data together; ``until``: the last
    layer to import, by its rfdocs name or an ONNX node or output name (to stop before an
    unsupported operator); ``input_shape``: (H, W) or (H, W, C) of the input (needed when the
    model leaves them open, overrides them otherwise); ``external_files``: a list the external
    weight files read are appended to (resolved paths), for callers that key on them."""
    onnx_mod = _onnx()
    path = Path(path)
    limit = DEFAULT_MAX_MODEL_BYTES if max_bytes is None else int(max_bytes)
    data = _read_limited(path, limit)
    model = onnx_mod.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception as err:  # protobuf's DecodeError and friends: the file is not ONNX
        raise ModelError(f"{quote(path.name)} is not a readable ONNX model (truncated, damaged "
                         f"or another format): {type(err).__name__}: {err}") from None
    if not model.HasField("graph") or not model.graph.node:
        raise ModelError(f"{quote(path.name)} is not an ONNX model: it has no graph of nodes")
    folder = ExternalData(path.parent, Path(base_dir) if base_dir is not None else path.parent)
    importer = _Importer(model, folder, limit - len(data))
    net = importer.run(until, input_shape)
    if external_files is not None:
        external_files.extend(folder.read)
    return net


def _read_limited(path: Path, limit: int) -> bytes:
    """The file's bytes, refused before reading when larger than ``limit``."""
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > limit:
                raise ModelError(f"{quote(path.name)} is {size:,} bytes, more than the limit of "
                                 f"{limit:,} bytes for a model (max_bytes)")
            data = handle.read(min(size, limit) + 1)  # read(n) allocates n bytes at once
    except OSError as err:
        raise ModelError(f"cannot read {quote(str(path))}: {err.strerror or err}") from None
    if len(data) > limit:
        raise ModelError(f"{quote(path.name)} is more than the limit of {limit:,} bytes for a "
                         "model (max_bytes)")
    return data


# --------------------------------------------------------------------------- names


def clean_name(node_name: str, op_type: str) -> str | None:
    """The first of ``name_candidates``, or None for an empty name."""
    candidates = name_candidates(node_name, op_type)
    return candidates[0] if candidates else None


def name_candidates(node_name: str, op_type: str) -> list[str]:
    """Readable layer names, best first from an exporter's node name: PyTorch's scope path
    ``/layer1/layer1.0/conv1/Conv`` -> ``layer1.0.conv1``, ``/layer1/layer1.0/Add`` ->
    ``layer1.0.add``, ``/Flatten`` -> ``flatten``; tf2onnx's
    ``StatefulPartitionedCall/sequential/conv2d/Conv2D`` -> ``sequential.conv2d``; then the
    scope with the operator (``sequential.conv2d.relu``) for a module's second operator."""
    parts = [p for p in re.split(r"[/:]", node_name)
             if p and p not in _TF_SCOPES and not p.startswith("__inference")]
    if not parts:
        return []
    match = _NUMBERED.fullmatch(parts[-1])
    assert match is not None
    base, number = match.group(1).lower(), match.group(2)
    marker: str | None = None
    if base == op_type.lower() or base in _TF_MARKERS or (base and base == _op_of(op_type)):
        marker = parts[-1].lower()
        parts = parts[:-1]
    joined = ""
    for part in parts:  # each scope repeats its parent's dotted path, or adds a word to it
        if joined and not part.startswith(joined + "."):
            joined = f"{joined}.{part}"
        else:
            joined = part
    if not joined:
        return [marker] if marker else []
    if marker is None:
        return [joined]
    if op_type in _MODULE_OPS and number is None:
        return [joined, f"{joined}.{marker}"]
    return [f"{joined}.{marker}"]


def _op_of(op_type: str) -> str:
    return op_type.lower()


def _valid_name(name: str, op_type: str) -> str:
    name = _NOT_NAME.sub("_", name)
    if len(name) > MAX_NAME - 8:
        name = name[-(MAX_NAME - 8):]
    if not re.match(r"[A-Za-z_]", name):
        name = f"{op_type.lower()}_{name}".strip(".")
    return name[:MAX_NAME - 8]


def layer_names(nodes: Sequence[Any]) -> list[str]:
    """A unique, valid rfdocs name for every node (in order; ``_2``, ``_3`` for repeats)."""
    used = {INPUT_NAME}
    names = []
    for index, node in enumerate(nodes):
        candidates = [_valid_name(c, node.op_type) for c in name_candidates(node.name, node.op_type)]
        candidates = candidates or [_valid_name(f"{node.op_type.lower()}_{index}", node.op_type)]
        name = next((c for c in candidates if c not in used), candidates[0])
        unique, k = name, 2
        while unique in used:
            unique, k = f"{name}_{k}", k + 1
        used.add(unique)
        names.append(unique)
    return names


# --------------------------------------------------------------------------- tensors


@dataclass
class ExternalData:
    """Where a model's external weight files are: named relative to the model's own folder
    (``model_dir``), allowed only inside ``root``; ``read``: the files read so far."""

    model_dir: Path
    root: Path
    read: list[Path] = field(default_factory=list)


def tensor_array(tensor: Any, folder: ExternalData, budget: list[int], label: str) -> Array:
    """A TensorProto as a numpy array: byte counts checked against the dimensions before
    allocating (so a tensor never takes more memory than the file's bytes for it); external data
    read only from inside ``folder``; ``budget[0]``: bytes of external data still allowed
    (decremented)."""
    dims = [int(d) for d in tensor.dims]
    if any(d < 0 for d in dims):
        raise ModelError(f"tensor {quote(label)} has negative dimensions {dims}")
    if tensor.data_type not in _DTYPES:
        raise ModelError(f"tensor {quote(label)} has data type {tensor.data_type} (not a number "
                         "type rfdocs reads: float, double, float16, integers, bool)")
    dtype_text, field = _DTYPES[tensor.data_type]
    dtype = np.dtype(dtype_text)
    count = math.prod(dims)
    nbytes = count * dtype.itemsize
    if tensor.HasField("segment"):
        raise ModelError(f"tensor {quote(label)} is split in segments (not supported)")
    if tensor.data_location == 1:  # EXTERNAL: counted against what is left of max_bytes
        if nbytes > budget[0]:
            raise ModelError(f"tensor {quote(label)} of shape {dims} takes {nbytes:,} bytes of "
                             f"external data, more than the {max(budget[0], 0):,} bytes left "
                             "under the model size limit (max_bytes)")
        raw = _external_bytes(tensor, folder, nbytes, label)
        budget[0] -= nbytes
        array = np.frombuffer(raw, dtype=dtype, count=count)
    elif tensor.HasField("raw_data"):
        if len(tensor.raw_data) != nbytes:
            raise ModelError(f"tensor {quote(label)} of shape {dims} should hold {nbytes:,} bytes "
                             f"but holds {len(tensor.raw_data):,}")
        array = np.frombuffer(tensor.raw_data, dtype=dtype, count=count)
    else:
        values = getattr(tensor, field)
        if len(values) != count:
            raise ModelError(f"tensor {quote(label)} of shape {dims} should hold {count:,} "
                             f"values but holds {len(values):,}")
        if tensor.data_type == 10:  # float16 bits kept in int32_data
            array = np.array(values, dtype=np.uint16).view(np.float16)
        else:
            array = np.array(values, dtype=dtype)
    return np.array(array.reshape(dims), dtype=dtype.newbyteorder("="))


def _external_bytes(tensor: Any, folder: ExternalData, nbytes: int, label: str) -> bytes:
    info = {entry.key: entry.value for entry in tensor.external_data}
    location = info.get("location", "")
    if not location:
        raise ModelError(f"tensor {quote(label)} has external data without a location")
    root = os.path.realpath(folder.root)
    target = os.path.realpath(os.path.join(folder.model_dir, location))
    if os.path.isabs(location) or os.path.commonpath([root, target]) != root:
        raise ModelError(f"tensor {quote(label)} keeps its data in {quote(location)}, outside "
                         f"the folder {quote(str(folder.root))}; external data must lie inside it")
    if Path(target) not in folder.read:
        folder.read.append(Path(target))
    try:
        offset = int(info.get("offset", "0"))
        length = int(info.get("length", str(nbytes)))
    except ValueError:
        raise ModelError(f"tensor {quote(label)}: external data offset or length is not a "
                         "number") from None
    if length != nbytes or offset < 0:
        raise ModelError(f"tensor {quote(label)}: external data of {length:,} bytes at offset "
                         f"{offset:,}; its shape needs {nbytes:,} bytes")
    try:
        with open(target, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if offset + length > size:
                raise ModelError(f"tensor {quote(label)}: {quote(location)} is {size:,} bytes, "
                                 f"too short for {length:,} bytes at offset {offset:,}")
            handle.seek(offset)
            raw = handle.read(length)
    except OSError as err:
        raise ModelError(f"tensor {quote(label)}: cannot read its external data "
                         f"{quote(location)}: {err.strerror or err}") from None
    if len(raw) != length:
        raise ModelError(f"tensor {quote(label)}: {quote(location)} ended early")
    return raw


# --------------------------------------------------------------------------- the graph


def _int(value: Any) -> int:
    return int(value)


def _ints(values: Any) -> list[int]:
    return [int(v) for v in np.asarray(values).reshape(-1)]


def _float(value: Any) -> float:
    """The first number of ``value``; a float32 as the shortest decimal that reads back as the
    same float32 (ONNX's 0.2 is 0.2 in the spec, not 0.20000000298023224)."""
    number = np.asarray(value).reshape(-1)[0]
    if isinstance(number, np.float32):
        return float(str(number))
    return float(number)


def _f32(value: Any) -> float:
    """A float attribute (a float32 in the file) as its shortest decimal."""
    return float(str(np.float32(value))) if math.isfinite(float(value)) else float(value)


class _Importer:
    """One pass over a model's nodes in topological order."""

    def __init__(self, model: Any, folder: ExternalData, budget: int) -> None:
        self.onnx = _onnx()
        self.model = model
        self.graph = model.graph
        self.folder = folder
        self.budget = [budget]
        self.opset = self._default_opset()
        if model.functions:
            raise ModelError(f"the model defines {len(model.functions)} local function(s) "
                             f"({quote(model.functions[0].name)}); rfdocs does not run "
                             "model-local functions")
        if len(self.graph.node) > MAX_LAYERS:
            raise ModelError(f"the model has {len(self.graph.node):,} nodes; at most "
                             f"{MAX_LAYERS:,} are read")
        self.initializers = {t.name: t for t in self.graph.initializer}
        if len(self.graph.sparse_initializer):
            raise ModelError("the model has sparse initializers (not supported)")
        self.values: dict[str, Value] = {}
        self.layers: list[Layer] = []
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.params: dict[str, dict[str, Array]] = {}
        self.biasless_dense: set[str] = set()
        self.input_name = ""
        self.nhwc = False  # the input is (N, H, W, C), made NCHW by a Transpose (tf2onnx)
        self.ndim = 2  # spatial axes of the input: 1 (N, C, T), 2 (N, C, H, W), 3 (N, C, D, H, W)
        self.node_names: dict[int, str] = {}
        self.consumers: dict[str, int] = {}

    def _default_opset(self) -> int:
        versions = {o.domain: o.version for o in self.model.opset_import}
        version = versions.get("", versions.get("ai.onnx"))
        if version is None:
            raise ModelError("the model imports no opset of the default ONNX domain")
        if not MIN_OPSET <= version <= MAX_OPSET:
            raise ModelError(f"the model uses ONNX opset {version}; rfdocs reads opsets "
                             f"{MIN_OPSET} to {MAX_OPSET}")
        return int(version)

    # ----------------------------------------------------------------- the run

    def run(self, until: str | None, input_shape: Sequence[int] | None) -> Network:
        nodes = self._sorted(list(self.graph.node))
        for node in nodes:
            if node.domain not in ("", "ai.onnx"):
                raise self.error(node, f"uses the operator domain {quote(node.domain)}; only the "
                                 "default ONNX domain is read (custom operators are not run)")
        constants = {n.output[0]: n for n in nodes if n.op_type == "Constant" and n.output}

        def static(name: str) -> Array | None:
            if name in self.initializers:
                return self._initializer(name)
            if name in constants:
                return _fold_constant(self, constants[name])[0]
            return None

        nodes = _fuse_gelu(nodes, static)
        names = layer_names(nodes)
        self.node_names = dict(zip((id(n) for n in nodes), names, strict=True))
        targets = [o.name for o in self.graph.output]
        if until is not None:
            index = self._find(nodes, names, until)
            targets = [o for o in nodes[index].output if o]
            nodes = nodes[:index + 1]
        live = self._live(nodes, targets)
        for node in live:
            for name in node.input:
                self.consumers[name] = self.consumers.get(name, 0) + 1
        for name in targets:
            self.consumers[name] = self.consumers.get(name, 0) + 1
        self._read_input(input_shape, live)
        for node in live:
            self._node(node)
        outputs = [self.values.get(name) for name in targets]
        acts = [v for v in outputs if isinstance(v, Act)]
        if not acts or acts[0].name == INPUT_NAME or not self.layers:
            raise ModelError("the model (up to its output) computes nothing rfdocs shows: no "
                             "layer depends on the input")
        layers = self._output_last(acts[0].name)
        net = Network(self._net_input(), tuple(layers), params=self.params)
        try:
            return validate_graph(net)
        except SpecError as err:
            raise ModelError(str(err)) from None

    def _sorted(self, nodes: list[Any]) -> list[Any]:
        """The nodes in a topological order (ONNX requires one; a stable sort otherwise)."""
        known = set(self.initializers) | {i.name for i in self.graph.input} | {""}
        ready: list[Any] = []
        produced = set(known)
        ordered = True
        for node in nodes:
            if any(name not in produced for name in node.input):
                ordered = False
                break
            produced.update(node.output)
        if ordered:
            return nodes
        waiting = {id(n): sum(1 for name in n.input if name not in known) for n in nodes}
        users: dict[str, list[Any]] = {}
        for node in nodes:
            for name in node.input:
                if name not in known:
                    users.setdefault(name, []).append(node)
        ready = [n for n in nodes if waiting[id(n)] == 0]
        out: list[Any] = []
        while ready:
            node = ready.pop(0)
            out.append(node)
            for name in node.output:
                for user in users.pop(name, []):
                    waiting[id(user)] -= sum(1 for i in user.input if i == name)
                    if waiting[id(user)] == 0:
                        ready.append(user)
        if len(out) != len(nodes):
            stuck = next(n for n in nodes if waiting[id(n)] > 0)
            missing = next((i for i in stuck.input if i not in known and i not in
                            {o for n in out for o in n.output}), "?")
            raise self.error(stuck, f"its input {quote(missing)} is computed by no node (or in a "
                             "cycle) and is no initializer")
        return out

    def _find(self, nodes: list[Any], names: list[str], until: str) -> int:
        for index, node in enumerate(nodes):
            if until in (names[index], node.name) or until in node.output:
                return index
        import difflib

        close = difflib.get_close_matches(until, names, n=3)
        hint = f"; did you mean {', '.join(map(quote, close))}?" if close else ""
        raise ModelError(f"until: {quote(until)} is neither a layer name nor an ONNX node or "
                         f"output name of the model{hint}")

    def _live(self, nodes: list[Any], targets: list[str]) -> list[Any]:
        needed = set(targets)
        keep = []
        for node in reversed(nodes):
            if any(name in needed for name in node.output):
                keep.append(node)
                needed.update(node.input)
        return keep[::-1]

    def _output_last(self, output: str) -> list[Layer]:
        """The layers, with the one computing the graph's (first) output last where nothing
        depends on it."""
        layers = list(self.layers)
        index = next((i for i, lay in enumerate(layers) if lay.name == output), None)
        if index is None or index == len(layers) - 1:
            return layers
        if any(output in lay.inputs for lay in layers):
            return layers
        return layers[:index] + layers[index + 1:] + [layers[index]]

    # ----------------------------------------------------------------- the input

    def _read_input(self, input_shape: Sequence[int] | None, live: list[Any]) -> None:
        inputs = [i for i in self.graph.input if i.name not in self.initializers]
        if len(inputs) != 1:
            listed = ", ".join(quote(i.name) for i in inputs[:4])
            raise ModelError(f"the model has {len(inputs)} inputs ({listed}); rfdocs reads models "
                             "with one image input")
        value = inputs[0]
        self.input_name = value.name
        tensor_type = value.type.tensor_type
        dims: list[Any] = []
        if tensor_type.HasField("shape"):
            for dim in tensor_type.shape.dim:
                if dim.HasField("dim_value") and dim.dim_value > 0:
                    dims.append(int(dim.dim_value))
                else:
                    dims.append(dim.dim_param or "?")
        if len(dims) not in (3, 4, 5):
            raise ModelError(f"the model's input {quote(value.name)} has shape {dims or '?'}; "
                             "rfdocs reads models with an (N, C, H, W) image input, an "
                             "(N, C, T) sequence or an (N, C, D, H, W) volume")
        self.ndim = len(dims) - 2
        users = [n for n in live if value.name in n.input]
        self.nhwc = bool(users) and all(
            n.op_type == "Transpose" and [int(v) for v in self.attrs(n).get("perm", [])]
            == [0, len(dims) - 1, *range(1, len(dims) - 1)] for n in users)
        shape = self._input_hwc(dims, input_shape, nhwc=self.nhwc)
        self.values[value.name] = Act(INPUT_NAME, shape)

    def _input_hwc(self, dims: Sequence[Any], given: Sequence[int] | None,
                   nhwc: bool) -> tuple[int, ...]:
        """The input's (*spatial, C) from its ONNX dims (channel first, or last for nhwc)."""
        nd = len(dims) - 2
        c = dims[-1] if nhwc else dims[1]
        spatial = list(dims[1:-1] if nhwc else dims[2:])
        names = ("length",) if nd == 1 else ("height", "width") if nd == 2 else (
            "depth", "height", "width")
        if given is not None:
            given = [int(v) for v in given]
            if len(given) not in (nd, nd + 1) or any(v < 1 or v > MAX_DIM for v in given):
                listed = ", ".join(names)
                raise ModelError(f"input_shape must be ({listed}) or ({listed}, channels) of "
                                 f"positive sizes, got {quote(tuple(given))}")
            spatial = given[:nd]
            if len(given) == nd + 1:
                if isinstance(c, int) and c != given[nd]:
                    raise ModelError(f"input_shape gives {given[nd]} channels but the model's "
                                     f"input has {c}")
                c = given[nd]
        if not isinstance(c, int):
            raise ModelError(f"the model's input channels are not fixed ({quote(c)}); give "
                             f"input_shape as ({', '.join(names)}, channels)")
        if not all(isinstance(n, int) for n in spatial):
            if nd == 2:
                raise ModelError(f"the model's input height and width are not fixed "
                                 f"({quote(spatial[0])}, {quote(spatial[1])}); give them: "
                                 "input_shape=(224, 224) in Python, --input-shape 224x224 on "
                                 "the command line")
            example = {1: ("(16000,)", "16000"), 3: ("(16, 112, 112)", "16x112x112")}[nd]
            raise ModelError(f"the model's input {' and '.join(names)} are not all fixed "
                             f"({', '.join(quote(n) for n in spatial)}); give them: "
                             f"input_shape={example[0]} in Python, --input-shape {example[1]} "
                             "on the command line")
        shape = (*(int(n) for n in spatial), c)
        if max(shape) > MAX_DIM:
            raise ModelError(f"the model's input is {'x'.join(map(str, shape))}; sizes are at "
                             f"most {MAX_DIM}")
        return shape

    def _net_input(self) -> tuple[int, ...]:
        act = self.values[self.input_name]
        assert isinstance(act, Act)
        return act.shape

    # ----------------------------------------------------------------- values

    def error(self, node: Any, message: str) -> ModelError:
        label = node.name or (node.output[0] if node.output else "?")
        return ModelError(f"node {quote(label)} ({node.op_type}): {message}")

    def _initializer(self, name: str) -> Array:
        array = tensor_array(self.initializers[name], self.folder, self.budget, name)
        self.values[name] = array
        return array

    def value(self, node: Any, index: int) -> Value:
        name = node.input[index]
        if name in self.values:
            return self.values[name]
        if name in self.initializers:
            return self._initializer(name)
        raise self.error(node, f"its input {quote(name)} is computed by no node and is no "
                         "initializer")

    def has(self, node: Any, index: int) -> bool:
        return index < len(node.input) and node.input[index] != ""

    def act(self, node: Any, index: int = 0) -> Act:
        value = self.value(node, index)
        if not isinstance(value, Act):
            raise self.error(node, "its input is a constant, not computed from the image")
        return value

    def const(self, node: Any, index: int, what: str) -> Array:
        value = self.value(node, index)
        if isinstance(value, Act):
            raise self.error(node, f"its {what} ({quote(node.input[index])}) is computed from "
                             "the input; rfdocs needs it constant (an initializer)")
        return value

    def attrs(self, node: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for attr in node.attribute:
            if attr.type == self.onnx.AttributeProto.TENSOR:
                out[attr.name] = tensor_array(attr.t, self.folder, self.budget,
                                              f"{node.name}.{attr.name}")
            elif attr.type in (self.onnx.AttributeProto.GRAPH, self.onnx.AttributeProto.GRAPHS):
                out[attr.name] = None  # never read: the ops taking graphs are not supported
            else:
                value = self.onnx.helper.get_attribute_value(attr)
                out[attr.name] = value.decode("utf-8", "replace") if isinstance(value, bytes) \
                    else value
        return out

    def set(self, node: Any, value: Value, index: int = 0) -> None:
        self.values[node.output[index]] = value

    def unused(self, node: Any, first: int) -> None:
        """Refuse a node whose extra outputs (an index map, a mask) something reads."""
        for name in node.output[first:]:
            if name and self.consumers.get(name):
                raise self.error(node, f"its output {quote(name)} is used; rfdocs reads only the "
                                 "first output of this operator")

    def emit(self, node: Any, op: str, inputs: Sequence[Act], fields: dict[str, Any] | None = None,
             params: dict[str, Array] | None = None, flat: bool = False) -> Act:
        """A new layer from ``node``; its output becomes the node's first output."""
        name = self.node_names[id(node)]
        raw: dict[str, Any] = {"name": name, "op": op, **(fields or {}),
                               "inputs": [a.name for a in inputs]}
        try:
            layer = layer_from_mapping(raw, len(self.layers), INPUT_NAME, ndim=self.ndim)
            shape, _ = layer_shape(layer, [a.shape for a in inputs])
        except SpecError as err:
            raise self.error(node, err.message) from None
        if max(shape) > MAX_DIM:
            raise self.error(node, f"its output is {'x'.join(map(str, shape))}; sizes are at "
                             f"most {MAX_DIM}")
        self.layers.append(layer)
        self.shapes[name] = shape
        if params:
            self.params[name] = {k: np.ascontiguousarray(v, dtype=np.float32)
                                 for k, v in params.items()}
        act = Act(name, shape, flat)
        self.set(node, act)
        return act

    # ----------------------------------------------------------------- dispatch

    def _node(self, node: Any) -> None:
        op = node.op_type
        ins = [self.values.get(n) if n in self.values else
               (self._initializer(n) if n in self.initializers else None)
               for n in node.input if n]
        if op in ("Shape", "Size") or not any(isinstance(v, Act) for v in ins):
            if op in _FOLDERS:
                self._fold(node)
                return
            if op in _HANDLERS and node.input:
                raise self.error(node, "all its inputs are constants, and rfdocs computes only "
                                 f"these operators on constants: {', '.join(FOLDED_OPS)}")
            raise self.unsupported(node)
        handler = _HANDLERS.get(op)
        if handler is None:
            raise self.unsupported(node)
        handler(self, node)

    def unsupported(self, node: Any) -> ModelError:
        before = [self.values.get(n) for n in node.input if n]
        last = next((v.name for v in before if isinstance(v, Act) and v.name != INPUT_NAME), None)
        stop = f"; import the part before it with until={quote(last)}" if last else ""
        return self.error(node, f"operator not supported{stop}; supported: {', '.join(LAYER_OPS)}")

    # ----------------------------------------------------------------- constants

    def _fold(self, node: Any) -> None:
        try:
            outputs = _FOLDERS[node.op_type](self, node)
        except ModelError:
            raise
        except (ValueError, IndexError, TypeError, OverflowError, ZeroDivisionError) as err:
            raise self.error(node, f"cannot compute it on its constant inputs: {err}") from None
        for index, value in enumerate(outputs):
            array = np.asarray(value)
            if array.size > MAX_FOLD_ELEMENTS:
                raise self.error(node, f"computes a constant of {array.size:,} elements; at most "
                                 f"{MAX_FOLD_ELEMENTS:,} are computed while folding")
            self.set(node, array, index)

    def fold_inputs(self, node: Any) -> list[Array | None]:
        out: list[Array | None] = []
        for index, name in enumerate(node.input):
            if not name:
                out.append(None)
                continue
            value = self.value(node, index)
            out.append(None if isinstance(value, Act) else value)
        return out

    # ----------------------------------------------------------------- windows

    def _spatial(self, node: Any, attrs: dict[str, Any], key: str, default: int) -> list[int]:
        """One value per spatial axis of the model's input (``default`` for each if absent)."""
        values = attrs.get(key)
        if values is None:
            return [default] * self.ndim
        values = [int(v) for v in values]
        if len(values) != self.ndim:
            raise self.error(node, f"{key} {values} has {len(values)} axes, but the model's "
                             f"input is a {self.ndim}-D {_KIND[self.ndim]} {_LAYOUT[self.ndim]}; "
                             "rfdocs reads operators over every spatial axis of the input")
        return values

    def _pads(self, node: Any, attrs: dict[str, Any]) -> list[int] | str:
        auto = attrs.get("auto_pad", "NOTSET")
        if auto == "SAME_UPPER":
            return "same"
        if auto == "SAME_LOWER":
            return "same_lower"
        if auto == "VALID":
            return "valid"
        if auto not in ("NOTSET", ""):
            raise self.error(node, f"auto_pad {quote(auto)} is not NOTSET, SAME_UPPER, "
                             "SAME_LOWER or VALID")
        nd = self.ndim
        pads = [int(v) for v in attrs.get("pads", [0] * (2 * nd))]
        if len(pads) != 2 * nd or min(pads) < 0:
            count = "four" if nd == 2 else str(2 * nd)
            raise self.error(node, f"pads {pads}: rfdocs reads {count} non-negative {nd}-D pads")
        # ONNX: every axis' begin, then every axis' end; rfdocs: before, after per axis
        return [v for a in range(nd) for v in (pads[a], pads[nd + a])]

    def image(self, node: Any, index: int = 0) -> Act:
        act = self.act(node, index)
        if act.flat:
            raise self.error(node, "its input is flat (N, K) here; rfdocs reads this operator on "
                             f"{_LAYOUT[self.ndim]} {_KIND[self.ndim]}s")
        return act

    def conv(self, node: Any) -> None:
        x = self.image(node)
        a = self.attrs(node)
        w = self.const(node, 1, "weight")
        nd = self.ndim
        if w.ndim != nd + 2:
            raise self.error(node, f"weight of shape {list(w.shape)}: the model's input is "
                             f"{nd}-D, so rfdocs reads {nd}-D convolutions (a {nd + 2}-D weight)")
        groups = int(a.get("group", 1))
        cout, cin_g = int(w.shape[0]), int(w.shape[1])
        sizes = [int(v) for v in w.shape[2:]]
        kernel = self._spatial(node, a, "kernel_shape", 0)
        if kernel != [0] * nd and kernel != sizes:
            raise self.error(node, f"kernel_shape {kernel} differs from the weight's "
                             f"{'x'.join(map(str, sizes))}")
        if groups < 1 or x.channels != cin_g * groups:
            raise self.error(node, f"weight of shape {list(w.shape)} and group {groups} do not "
                             f"fit the input's {x.channels} channels")
        params = {"weight": w.transpose(*range(2, nd + 2), 1, 0)}
        if self.has(node, 2):
            bias = self.const(node, 2, "bias").reshape(-1)
            if bias.size != cout:
                raise self.error(node, f"bias of {bias.size} values for {cout} filters")
            params["bias"] = bias
        fields = {"kernel": sizes, "stride": self._spatial(node, a, "strides", 1),
                  "padding": self._pads(node, a), "dilation": self._spatial(node, a, "dilations", 1),
                  "filters": cout, "groups": groups}
        self.emit(node, "conv", [x], fields, params)

    def conv_transpose(self, node: Any) -> None:
        x = self.image(node)
        a = self.attrs(node)
        w = self.const(node, 1, "weight")
        nd = self.ndim
        if w.ndim != nd + 2:
            raise self.error(node, f"weight of shape {list(w.shape)}: the model's input is "
                             f"{nd}-D, so rfdocs reads {nd}-D transposed convolutions (a "
                             f"{nd + 2}-D weight)")
        groups = int(a.get("group", 1))
        if groups != 1:
            raise self.error(node, f"group {groups}: rfdocs reads transposed convolutions with "
                             "group 1 only")
        cin, cout = int(w.shape[0]), int(w.shape[1])
        ksizes = [int(v) for v in w.shape[2:]]
        if cin != x.channels:
            raise self.error(node, f"weight of shape {list(w.shape)} does not fit the input's "
                             f"{x.channels} channels")
        kernel = self._spatial(node, a, "kernel_shape", 0)
        if kernel != [0] * nd and kernel != ksizes:
            raise self.error(node, f"kernel_shape {kernel} differs from the weight's "
                             f"{'x'.join(map(str, ksizes))}")
        stride = self._spatial(node, a, "strides", 1)
        dilation = self._spatial(node, a, "dilations", 1)
        out_pad = self._spatial(node, a, "output_padding", 0)
        auto = a.get("auto_pad", "NOTSET")
        output_shape = a.get("output_shape")
        pads: list[int]
        if output_shape is not None or auto in ("SAME_UPPER", "SAME_LOWER"):
            sizes = x.spatial
            if output_shape is not None:
                wanted = [int(v) for v in output_shape][-nd:]
            else:
                wanted = [sizes[axis] * stride[axis] for axis in range(nd)]
            begin, end = [], []
            for axis in range(nd):
                full = (stride[axis] * (sizes[axis] - 1) + out_pad[axis]
                        + dilation[axis] * (ksizes[axis] - 1) + 1)
                total = full - wanted[axis]
                if total < 0:
                    raise self.error(node, f"an output of {wanted[axis]} units needs negative "
                                     "padding (rfdocs reads output shapes a padding can give)")
                if auto == "SAME_UPPER":
                    begin.append(total // 2)
                    end.append(total - total // 2)
                else:
                    begin.append(total - total // 2)
                    end.append(total // 2)
            pads = [v for axis in range(nd) for v in (begin[axis], end[axis])]
        elif auto == "VALID":
            pads = [0] * (2 * nd)
        else:
            resolved = self._pads(node, {**a, "auto_pad": "NOTSET"})
            assert not isinstance(resolved, str)
            pads = resolved
        params = {"weight": w.transpose(*range(2, nd + 2), 0, 1)}
        if self.has(node, 2):
            bias = self.const(node, 2, "bias").reshape(-1)
            if bias.size != cout:
                raise self.error(node, f"bias of {bias.size} values for {cout} filters")
            params["bias"] = bias
        fields = {"kernel": ksizes, "stride": stride, "padding": pads, "dilation": dilation,
                  "filters": cout, "output_padding": out_pad}
        self.emit(node, "deconv", [x], fields, params)

    def pool(self, node: Any) -> None:
        x = self.image(node)
        a = self.attrs(node)
        kernel = self._spatial(node, a, "kernel_shape", 0)
        if min(kernel) < 1:
            raise self.error(node, f"needs a {self.ndim}-D kernel_shape")
        fields: dict[str, Any] = {
            "kernel": kernel, "stride": self._spatial(node, a, "strides", 1),
            "padding": self._pads(node, a), "dilation": self._spatial(node, a, "dilations", 1),
            "ceil_mode": bool(a.get("ceil_mode", 0))}
        if node.op_type == "AveragePool":
            fields["count_include_pad"] = bool(a.get("count_include_pad", 0))
            self.emit(node, "avgpool", [x], fields)
        else:
            self.unused(node, 1)
            self.emit(node, "maxpool", [x], fields)

    def global_pool(self, node: Any) -> None:
        x = self.image(node)
        self.emit(node, "globalavgpool" if node.op_type == "GlobalAveragePool" else
                  "globalmaxpool", [x])

    def reduce(self, node: Any) -> None:
        """ReduceMean/ReduceMax over every spatial axis (H and W): the global pools."""
        x = self.image(node)
        a = self.attrs(node)
        if self.opset >= 18 and node.op_type in ("ReduceMean", "ReduceMax"):
            axes = _ints(self.const(node, 1, "axes")) if self.has(node, 1) else None
        else:
            axes = a.get("axes")
        rank = self.ndim + 2
        axes = sorted(v % rank for v in axes) if axes is not None else None
        if axes != list(range(2, rank)):
            what = "height and width" if rank == 4 else "every spatial axis"
            raise self.error(node, f"reduces over axes {axes}; rfdocs reads reductions over "
                             f"{what} (axes {list(range(2, rank))}) as global pools")
        op = "globalavgpool" if node.op_type == "ReduceMean" else "globalmaxpool"
        if int(a.get("keepdims", 1)):
            self.emit(node, op, [x])
        else:
            act = self.emit(node, op, [x])
            self.set(node, Act(act.name, act.shape, flat=True))

    # ----------------------------------------------------------------- pointwise

    def batchnorm(self, node: Any) -> None:
        x = self.act(node)  # (N, C, *spatial) tensors, or (N, K) features: a 1x1xK tensor
        a = self.attrs(node)
        if int(a.get("training_mode", 0)) or not int(a.get("spatial", 1)):
            raise self.error(node, "rfdocs reads inference batch normalisation only "
                             "(training_mode 0, spatial 1)")
        self.unused(node, 1)
        c = x.channels
        arrays = {}
        for index, key in ((1, "scale"), (2, "bias"), (3, "mean"), (4, "var")):
            value = self.const(node, index, key).reshape(-1)
            if value.size != c:
                raise self.error(node, f"its {key} has {value.size} values for {c} channels")
            arrays[key] = value
        self.emit(node, "batchnorm", [x], {"epsilon": _f32(a.get("epsilon", 1e-5))}, arrays,
                  flat=x.flat)

    def pointwise(self, node: Any) -> None:
        x = self.act(node)
        op = node.op_type
        a = self.attrs(node)
        fields: dict[str, Any] = {}
        params: dict[str, Array] = {}
        name = _POINTWISE[op]
        if op == "LeakyRelu":
            fields["alpha"] = _f32(a.get("alpha", 0.01))
        elif op == "HardSigmoid":
            fields["alpha"] = _f32(a.get("alpha", 0.2))
            fields["beta"] = _f32(a.get("beta", 0.5))
        elif op == "Gelu":
            fields["approximate"] = a.get("approximate", "none")
        elif op == "Clip":
            bounds: list[float | None] = [None, None]
            if self.opset < 11:
                bounds = [None if a.get(k) is None else _f32(a[k]) for k in ("min", "max")]
            else:
                for index in (1, 2):
                    if self.has(node, index):
                        bounds[index - 1] = _float(self.const(node, index, "bound"))
            for key, bound in zip(("min", "max"), bounds, strict=True):
                if bound is not None and math.isfinite(bound) and abs(bound) <= MAX_FLOAT:
                    fields[key] = float(bound)
        elif op == "PRelu":
            slope = self.const(node, 1, "slope")
            vector = self._channel_vector(node, x, slope)
            if vector is None:
                raise self.error(node, f"slope of shape {list(slope.shape)}: rfdocs reads one "
                                 "slope or one per channel")
            params["slope"] = vector
        elif op == "Softmax":
            self._check_softmax(node, x, a)
        self.emit(node, name, [x], fields, params, flat=x.flat)

    def _check_softmax(self, node: Any, x: Act, a: dict[str, Any]) -> None:
        rank = x.rank
        default = 1 if self.opset < 13 else -1
        axis = int(a.get("axis", default)) % rank
        if self.opset < 13:  # over every axis from `axis` on, flattened
            ok = axis == 1 and (x.flat or all(n == 1 for n in x.spatial))
        else:
            ok = axis == 1
        if not ok:
            raise self.error(node, f"softmax over axis {axis} of a rank-{rank} tensor; rfdocs "
                             "reads softmax over the channels (axis 1)")

    def _channel_vector(self, node: Any, x: Act, c: Array) -> Array | None:
        """A constant that varies at most along the channel axis of ``x``, as 1 or C values;
        None when it varies along another axis or would grow the tensor."""
        rank = x.rank
        shape = list(c.shape)
        if len(shape) > rank:
            return None
        shape = [1] * (rank - len(shape)) + shape
        channels = x.channels
        for axis, size in enumerate(shape):
            if axis == 1:
                if size not in (1, channels):
                    return None
            elif size != 1:
                return None
        return np.asarray(c, dtype=np.float64).reshape(-1)

    # ----------------------------------------------------------------- merges

    def arithmetic(self, node: Any) -> None:
        op = node.op_type
        first, second = self.value(node, 0), self.value(node, 1)
        if isinstance(first, Act) and isinstance(second, Act):
            if first.flat != second.flat:
                raise self.error(node, "mixes a flat (N, K) and an image (N, C, H, W) tensor")
            self.emit(node, op.lower(), [first, second], flat=first.flat)
            return
        act, const = (first, second) if isinstance(first, Act) else (second, first)
        assert isinstance(act, Act) and not isinstance(const, Act)
        swapped = not isinstance(first, Act)
        vector = self._channel_vector(node, act, const)
        if vector is None:
            raise self.error(node, f"{op.lower()} with a constant of shape {list(const.shape)}; "
                             "rfdocs reads constants that are one number or one per channel")
        if op == "Add" and self._fuse_bias(node, act, vector):
            return
        scale: Array = np.ones(1)
        shift: Array = np.zeros(1)
        if op == "Add":
            shift = vector
        elif op == "Sub":
            scale, shift = (-np.ones(1), vector) if swapped else (np.ones(1), -vector)
        elif op == "Mul":
            scale = vector
        else:  # Div
            if swapped:
                raise self.error(node, "divides a constant by the tensor; rfdocs reads x / c, "
                                 "not c / x")
            if not np.all(vector != 0):
                raise self.error(node, "divides by zero")
            scale = 1.0 / vector
        fields: dict[str, Any] = {}
        params: dict[str, Array] = {}
        for key, values in (("scale", scale), ("shift", shift)):
            if values.size == 1:
                number = _float(values.astype(np.float32)) if const.dtype == np.float32 else \
                    float(values[0])
                if not math.isfinite(number) or abs(number) > MAX_FLOAT:
                    raise self.error(node, f"its constant gives the {key} {number}, not a finite "
                                     "number of magnitude at most 1e30")
                fields[key] = number
            else:
                if not np.all(np.isfinite(values)):
                    raise self.error(node, "its constant holds values that are not finite")
                params[key] = values
        self.emit(node, "affine", [act], fields, params, flat=act.flat)

    def _fuse_bias(self, node: Any, act: Act, vector: Array) -> bool:
        """MatMul then Add of a vector: the Add becomes the dense layer's bias."""
        source = node.input[0] if isinstance(self.values.get(node.input[0]), Act) else node.input[1]
        if act.name not in self.biasless_dense or self.consumers.get(source, 0) != 1:
            return False
        units = act.channels
        self.params[act.name]["bias"] = np.broadcast_to(vector, (units,)).astype(np.float32)
        self.biasless_dense.discard(act.name)
        self.set(node, act)
        return True

    def sum(self, node: Any) -> None:
        values = [self.value(node, i) for i in range(len(node.input)) if node.input[i]]
        acts = [v for v in values if isinstance(v, Act)]
        consts = [v for v in values if not isinstance(v, Act)]
        if consts:
            raise self.error(node, "sums constants with tensors; rfdocs reads Sum of tensors "
                             "(use Add for a constant)")
        if len(acts) == 1:
            self.set(node, acts[0])
            return
        if len({a.flat for a in acts}) != 1:
            raise self.error(node, "mixes flat (N, K) and image (N, C, H, W) tensors")
        self.emit(node, "add", acts, flat=acts[0].flat)

    def concat(self, node: Any) -> None:
        values = [self.value(node, i) for i in range(len(node.input)) if node.input[i]]
        if not all(isinstance(v, Act) for v in values):
            raise self.error(node, "concatenates constants with tensors; rfdocs reads Concat of "
                             "tensors computed from the input")
        acts = [v for v in values if isinstance(v, Act)]
        flat = acts[0].flat
        if any(a.flat != flat for a in acts):
            raise self.error(node, "mixes flat (N, K) and image (N, C, H, W) tensors")
        axis = int(self.attrs(node).get("axis", 1)) % acts[0].rank
        if axis != 1:
            raise self.error(node, f"concatenates along axis {axis}; rfdocs reads "
                             "concatenation along the channels (axis 1)")
        if len(acts) == 1:
            self.set(node, acts[0])
            return
        self.emit(node, "concat", acts, flat=flat)

    # ----------------------------------------------------------------- resampling

    def pad(self, node: Any) -> None:
        x = self.image(node)
        a = self.attrs(node)
        rank = x.rank
        mode = a.get("mode", "constant")
        if mode != "constant":
            raise self.error(node, f"mode {quote(mode)}: rfdocs reads constant padding only")
        if self.opset < 11:
            pads = [int(v) for v in a.get("pads", a.get("paddings", []))]
            value = _f32(a.get("value", 0.0))
        else:
            pads = _ints(self.const(node, 1, "pads"))
            value = _float(self.const(node, 2, "constant value")) if self.has(node, 2) else 0.0
            if self.has(node, 3):
                axes = [v % rank for v in _ints(self.const(node, 3, "axes"))]
                full = [0] * (2 * rank)
                for i, axis in enumerate(axes):
                    full[axis], full[axis + rank] = pads[i], pads[i + len(axes)]
                pads = full
        if len(pads) != 2 * rank:
            raise self.error(node, f"pads {pads}: rfdocs reads pads of {_LAYOUT[self.ndim]} "
                             f"{_KIND[self.ndim]}s")
        if pads[0] or pads[1] or pads[rank] or pads[rank + 1]:
            raise self.error(node, "pads the batch or channel axis; rfdocs reads padding of "
                             f"{'height and width' if rank == 4 else 'the spatial axes'}")
        if min(pads) < 0:
            raise self.error(node, "has negative pads (cropping); rfdocs reads padding only")
        if not math.isfinite(value) or abs(value) > MAX_FLOAT:
            raise self.error(node, f"pads with {value}, not a finite number")
        if not any(pads):
            self.set(node, x)
            return
        padding = [v for axis in range(2, rank) for v in (pads[axis], pads[rank + axis])]
        self.emit(node, "pad", [x], {"padding": padding, "value": value})

    def resize(self, node: Any) -> None:
        x = self.image(node)
        a = self.attrs(node)
        op = node.op_type
        rank = x.rank
        spatial, c = x.spatial, x.channels
        scales: list[float] | None = None
        sizes: list[int] | None = None
        if op == "Upsample":
            if self.opset < 9 and "scales" in a:
                scales = [float(v) for v in a["scales"]]
            else:
                scales = [float(v) for v in np.asarray(self.const(node, 1, "scales")).reshape(-1)]
        elif self.opset < 11:
            scales = [float(v) for v in np.asarray(self.const(node, 1, "scales")).reshape(-1)]
        else:
            if self.has(node, 2) and np.asarray(self.const(node, 2, "scales")).size:
                scales = [float(v) for v in np.asarray(self.const(node, 2, "scales")).reshape(-1)]
            elif self.has(node, 3):
                sizes = _ints(self.const(node, 3, "sizes"))
            else:
                raise self.error(node, "has neither scales nor sizes")
        axes = ([int(v) % rank for v in a["axes"]] if a.get("axes") is not None
                else list(range(rank)))
        given: Sequence[float] = scales if scales is not None else sizes  # type: ignore[assignment]
        if len(given) != len(axes):
            raise self.error(node, f"{'scales' if scales is not None else 'sizes'} "
                             f"{list(given)}: rfdocs reads resizing of {_LAYOUT[self.ndim]} "
                             f"{_KIND[self.ndim]}s")
        if sizes is not None:
            if a.get("keep_aspect_ratio_policy", "stretch") != "stretch":
                raise self.error(node, "keep_aspect_ratio_policy other than 'stretch' is not "
                                 "supported")
            full_sizes = [1, c, *spatial]
            for axis, size in zip(axes, sizes, strict=True):
                full_sizes[axis] = size
            factors = [full_sizes[1] / c, *(full_sizes[2 + i] / n for i, n in enumerate(spatial))]
            factors = [1.0 if full_sizes[0] >= 1 else 0.0, *factors]
        else:
            factors = [1.0] * rank
            for axis, scale in zip(axes, given, strict=True):
                factors[axis] = float(scale)
        if factors[0] != 1 or factors[1] != 1:
            raise self.error(node, "resizes the batch or channel axis")
        factors = factors[2:]
        if any(not math.isfinite(f) or f < 1 or f != int(f) or f > MAX_DIM for f in factors):
            raise self.error(node, f"scales {factors}: rfdocs reads up-sampling by whole factors "
                             "(1, 2, 3, ...)")
        whole = [int(f) for f in factors]
        mode = a.get("mode", "nearest")
        if mode in ("bilinear", "trilinear"):
            mode = "linear"
        if op == "Upsample" or self.opset < 11:
            transform, nearest = "asymmetric", "floor"
        else:
            transform = a.get("coordinate_transformation_mode", "half_pixel")
            nearest = a.get("nearest_mode", "round_prefer_floor")
        if all(f == 1 for f in whole) and transform != "tf_crop_and_resize":
            self.set(node, x)
            return
        if mode == "nearest":
            ok = all(_nearest_is_floor(transform, nearest, n, f)
                     for n, f in zip(spatial, whole, strict=True))
            if not ok:
                raise self.error(node, f"nearest resizing with coordinate_transformation_mode "
                                 f"{quote(transform)} and nearest_mode {quote(nearest)} does not "
                                 "repeat each pixel; rfdocs reads nearest resizing that does "
                                 "(asymmetric with floor; half_pixel, pytorch_half_pixel or "
                                 "half_pixel_symmetric with round_prefer_floor or "
                                 "round_prefer_ceil)")
        elif mode == "linear":
            if transform not in ("half_pixel", "pytorch_half_pixel", "half_pixel_symmetric"):
                raise self.error(node, f"linear resizing with coordinate_transformation_mode "
                                 f"{quote(transform)}; rfdocs reads half_pixel, "
                                 "pytorch_half_pixel and half_pixel_symmetric (PyTorch's "
                                 "align_corners=False)")
        else:
            raise self.error(node, f"mode {quote(mode)}; rfdocs reads nearest and linear resizing")
        self.emit(node, "upsample", [x], {"factor": whole, "mode": mode})

    # ----------------------------------------------------------------- the head

    def flatten(self, node: Any) -> None:
        x = self.act(node)
        axis = int(self.attrs(node).get("axis", 1))
        rank = x.rank
        if axis % rank not in (0, 1) and axis != rank:
            raise self.error(node, f"flattens from axis {axis}; rfdocs reads Flatten from axis 1 "
                             "(one vector per image)")
        if x.flat:
            self.set(node, x)
            return
        self.emit(node, "flatten", [x], flat=True)

    def _flatten_to(self, node: Any, x: Act, target: list[int]) -> None:
        """A reshape or squeeze of ``x`` to ``target`` (N = 1): flatten or a no-op."""
        total = math.prod(x.shape)
        ones = [1] * (len(x.shape) - 1)
        if target in ([1, total], [total]):
            if x.flat:
                self.set(node, x)
            else:
                self.emit(node, "flatten", [x], flat=True)
            return
        if target == [1, total, *ones]:
            if x.flat or list(x.spatial) == ones:
                self.set(node, Act(x.name, x.shape, flat=False))
            else:
                act = self.emit(node, "flatten", [x])
                self.set(node, Act(act.name, act.shape, flat=False))
            return
        if not x.flat and target == list(x.onnx_shape()):
            self.set(node, x)
            return
        raise self.error(node, f"reshapes {list(x.onnx_shape())} to {target}; rfdocs reads "
                         "reshapes that flatten each image to a vector (the classifier head)")

    def reshape(self, node: Any) -> None:
        x = self.act(node)
        shape = _ints(self.const(node, 1, "shape"))
        allowzero = int(self.attrs(node).get("allowzero", 0))
        dims = list(x.onnx_shape())
        target: list[int] = []
        for i, v in enumerate(shape):
            target.append(dims[i] if v == 0 and not allowzero and i < len(dims) else v)
        total = math.prod(dims)
        if target.count(-1) == 1:
            known = math.prod(v for v in target if v != -1)
            if known <= 0 or total % known:
                raise self.error(node, f"cannot reshape {dims} to {shape}")
            target[target.index(-1)] = total // known
        if math.prod(target) != total or min(target, default=1) < 0:
            raise self.error(node, f"cannot reshape {dims} to {shape}")
        self._flatten_to(node, x, target)

    def squeeze(self, node: Any) -> None:
        x = self.act(node)
        dims = list(x.onnx_shape())
        if self.opset >= 13:
            axes = _ints(self.const(node, 1, "axes")) if self.has(node, 1) else None
        else:
            axes = self.attrs(node).get("axes")
        if axes is None:
            axes = [i for i, d in enumerate(dims) if d == 1]
        drop = {int(v) % len(dims) for v in axes}
        if any(dims[i] != 1 for i in drop):
            raise self.error(node, f"squeezes axes {sorted(drop)} of {dims}, not all of size 1")
        target = [d for i, d in enumerate(dims) if i not in drop]
        if 0 in drop:
            target = [1, *target]
        self._flatten_to(node, x, target)

    def unsqueeze(self, node: Any) -> None:
        x = self.act(node)
        dims = list(x.onnx_shape())
        if self.opset >= 13:
            axes = _ints(self.const(node, 1, "axes"))
        else:
            axes = [int(v) for v in self.attrs(node).get("axes", [])]
        rank = len(dims) + len(axes)
        out = list(dims)
        for axis in sorted(v % rank for v in axes):
            out.insert(axis, 1)
        self._flatten_to(node, x, out)

    def gemm(self, node: Any) -> None:
        x = self.act(node)
        if not x.flat:
            raise self.error(node, "its input is an image; rfdocs reads Gemm after Flatten (an "
                             "(N, K) input)")
        a = self.attrs(node)
        if int(a.get("transA", 0)):
            raise self.error(node, "transA 1 is not supported")
        b = self.const(node, 1, "weight").astype(np.float64)
        if b.ndim != 2:
            raise self.error(node, f"weight of shape {list(b.shape)}; Gemm needs a matrix")
        weight = (b.T if int(a.get("transB", 0)) else b) * float(a.get("alpha", 1.0))
        if weight.shape[0] != x.channels:
            raise self.error(node, f"weight of shape {list(b.shape)} does not fit the input's "
                             f"{x.channels} values")
        units = weight.shape[1]
        params = {"weight": weight}
        if self.has(node, 2):
            bias = self.const(node, 2, "bias").astype(np.float64) * float(a.get("beta", 1.0))
            try:
                params["bias"] = np.broadcast_to(bias, (1, units)).reshape(-1)
            except ValueError:
                raise self.error(node, f"bias of shape {list(bias.shape)} for {units} units") \
                    from None
        self.emit(node, "dense", [x], {"units": units}, params, flat=True)

    def matmul(self, node: Any) -> None:
        x = self.act(node)
        if not x.flat:
            raise self.error(node, "its input is an image; rfdocs reads MatMul after Flatten (an "
                             "(N, K) input times a constant matrix)")
        b = self.const(node, 1, "weight")
        if b.ndim != 2 or b.shape[0] != x.channels:
            raise self.error(node, f"weight of shape {list(b.shape)} does not fit the input's "
                             f"{x.channels} values")
        act = self.emit(node, "dense", [x], {"units": int(b.shape[1])}, {"weight": b}, flat=True)
        self.biasless_dense.add(act.name)

    def alias(self, node: Any) -> None:
        self.set(node, self.act(node))

    def transpose(self, node: Any) -> None:
        x = self.act(node)
        perm = [int(v) for v in self.attrs(node).get("perm", [])]
        if self.nhwc and node.input[0] == self.input_name:
            self.set(node, x)  # an NHWC input made NCHW (tf2onnx): its shape was read as H, W, C
            return
        if not x.flat and perm == [0, *range(2, x.rank), 1] \
                and self.consumers.get(node.output[0], 0) <= 1 \
                and node.output[0] in {o.name for o in self.graph.output}:
            self.set(node, x)  # NCHW to NHWC at the output: rfdocs shapes are H, W, C already
            return
        raise self.error(node, f"transposes with perm {perm}; rfdocs reads NHWC-to-NCHW at the "
                         "input and NCHW-to-NHWC at the output only")

    def gelu_node(self, node: Any) -> None:
        self.pointwise(node)


_POINTWISE = {
    "Relu": "relu", "LeakyRelu": "leakyrelu", "PRelu": "prelu", "Sigmoid": "sigmoid",
    "Tanh": "tanh", "Clip": "clip", "HardSigmoid": "hardsigmoid", "HardSwish": "hardswish",
    "Gelu": "gelu", "Softmax": "softmax",
}

_HANDLERS: dict[str, Callable[[_Importer, Any], None]] = {
    "Conv": _Importer.conv, "ConvTranspose": _Importer.conv_transpose,
    "MaxPool": _Importer.pool, "AveragePool": _Importer.pool,
    "GlobalAveragePool": _Importer.global_pool, "GlobalMaxPool": _Importer.global_pool,
    "ReduceMean": _Importer.reduce, "ReduceMax": _Importer.reduce,
    "BatchNormalization": _Importer.batchnorm,
    **{op: _Importer.pointwise for op in _POINTWISE},
    "Add": _Importer.arithmetic, "Sub": _Importer.arithmetic, "Mul": _Importer.arithmetic,
    "Div": _Importer.arithmetic, "Sum": _Importer.sum, "Concat": _Importer.concat,
    "Pad": _Importer.pad, "Resize": _Importer.resize, "Upsample": _Importer.resize,
    "Identity": _Importer.alias, "Dropout": _Importer.alias, "Flatten": _Importer.flatten,
    "Gemm": _Importer.gemm, "MatMul": _Importer.matmul, "Reshape": _Importer.reshape,
    "Squeeze": _Importer.squeeze, "Unsqueeze": _Importer.unsqueeze,
    "Transpose": _Importer.transpose,
}


# --------------------------------------------------------------------------- resizing


def _nearest_is_floor(transform: str, nearest: str, n: int, f: int) -> bool:
    """Whether ONNX nearest resizing by the whole factor ``f`` of ``n`` units reads input unit
    ``o // f`` for every output unit o (checked exactly, with fractions, over the first and last
    ``2 f`` outputs: the mapping repeats with period f in between)."""
    out = n * f
    half = Fraction(1, 2)

    def source(o: int) -> Fraction:
        if transform in ("half_pixel", "half_pixel_symmetric"):
            return Fraction(2 * o + 1, 2 * f) - half
        if transform == "pytorch_half_pixel":
            return Fraction(2 * o + 1, 2 * f) - half if out > 1 else Fraction(0)
        if transform == "asymmetric":
            return Fraction(o, f)
        if transform == "tf_half_pixel_for_nn":
            return Fraction(2 * o + 1, 2 * f)
        if transform == "align_corners":
            return Fraction(o * (n - 1), out - 1) if out > 1 else Fraction(0)
        raise ValueError(transform)

    rounding = {"round_prefer_floor": lambda x: math.ceil(x - half),
                "round_prefer_ceil": lambda x: math.floor(x + half),
                "floor": math.floor, "ceil": math.ceil}
    if nearest not in rounding:
        return False
    try:
        source(0)
    except ValueError:
        return False
    units = range(out) if transform == "align_corners" and out <= 100_000 else \
        [*range(min(out, 2 * f)), *range(max(out - 2 * f, 0), out)]
    if transform == "align_corners" and out > 100_000:
        return False
    for o in units:
        i = min(max(int(rounding[nearest](source(o))), 0), n - 1)
        if i != o // f:
            return False
    return True


# --------------------------------------------------------------------------- GELU


def _fuse_gelu(nodes: list[Any], static: Callable[[str], Array | None]) -> list[Any]:
    """The erf form of GELU that exporters write before opset 20, ``0.5 x (1 + erf(x / √2))``,
    as one Gelu node (Div or Mul by a constant, Erf, Add 1, Mul by x, Mul by 0.5, in either of
    PyTorch's two orders)."""
    if not any(n.op_type == "Erf" for n in nodes):
        return nodes
    import onnx.helper

    producer = {o: n for n in nodes for o in n.output}
    users: dict[str, list[Any]] = {}
    for node in nodes:
        for name in node.input:
            users.setdefault(name, []).append(node)

    def near(name: str, target: float) -> bool:
        value = static(name)
        return value is not None and value.size == 1 and abs(float(value.reshape(-1)[0]) - target) \
            < 1e-3 * abs(target)

    def other(node: Any, name: str) -> str | None:
        if len(node.input) != 2 or name not in node.input:
            return None
        return str(node.input[1] if node.input[0] == name else node.input[0])

    def sole(name: str) -> Any:
        found = users.get(name, [])
        return found[0] if len(found) == 1 else None

    replaced: dict[int, Any] = {}
    dropped: set[int] = set()
    for erf in nodes:
        if erf.op_type != "Erf":
            continue
        scaled = producer.get(erf.input[0])
        if scaled is None or sole(scaled.output[0]) is not erf:
            continue
        if scaled.op_type == "Div" and near(scaled.input[1], math.sqrt(2)):
            x = scaled.input[0]
        elif scaled.op_type == "Mul" and (near(scaled.input[1], 1 / math.sqrt(2))
                                          or near(scaled.input[0], 1 / math.sqrt(2))):
            x = scaled.input[0] if near(scaled.input[1], 1 / math.sqrt(2)) else scaled.input[1]
        else:
            continue
        plus = sole(erf.output[0])
        if plus is None or plus.op_type != "Add" or not near(other(plus, erf.output[0]) or "", 1.0):
            continue
        times = sole(plus.output[0])
        if times is None or times.op_type != "Mul":
            continue
        partner = other(times, plus.output[0])
        pattern = [scaled, erf, plus, times]
        if partner == x:
            half = sole(times.output[0])
            if half is None or half.op_type != "Mul" or not near(other(half, times.output[0])
                                                                  or "", 0.5):
                continue
            final = half
            pattern.append(half)
        else:
            halved = producer.get(partner or "")
            if halved is None or halved.op_type != "Mul" or sole(halved.output[0]) is not times \
                    or other(halved, x) is None or not near(other(halved, x) or "", 0.5):
                continue
            final = times
            pattern.append(halved)
        scope = erf.name.rsplit("/", 1)[0] if "/" in erf.name else ""
        gelu = onnx.helper.make_node("Gelu", [x], [final.output[0]],
                                     name=f"{scope}/Gelu" if scope else (erf.name or "gelu"))
        replaced[id(final)] = gelu
        dropped.update(id(n) for n in pattern if n is not final)
    if not replaced:
        return nodes
    return [replaced.get(id(n), n) for n in nodes if id(n) not in dropped]


# --------------------------------------------------------------------------- folding


def _elements(shape: Sequence[int]) -> int:
    count = math.prod(int(v) for v in shape)
    if count > MAX_FOLD_ELEMENTS or min(shape, default=0) < 0:
        raise ValueError(f"a constant of shape {list(shape)} is too large to compute")
    return count


def _int_div(a: Array, b: Array) -> Array:
    if np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer):
        q: Array = np.abs(a) // np.abs(b) * np.sign(a) * np.sign(b)
        return q.astype(np.result_type(a, b))
    return np.asarray(np.divide(a, b))


def _fold_shape(imp: _Importer, node: Any) -> list[Array]:
    value = imp.value(node, 0)
    dims = list(value.onnx_shape()) if isinstance(value, Act) else list(value.shape)
    a = imp.attrs(node)
    start, end = int(a.get("start", 0)), a.get("end")
    dims = dims[start:] if end is None else dims[start:int(end)]
    return [np.array(dims, dtype=np.int64)]


def _fold_size(imp: _Importer, node: Any) -> list[Array]:
    value = imp.value(node, 0)
    dims = list(value.onnx_shape()) if isinstance(value, Act) else list(value.shape)
    return [np.array(math.prod(dims), dtype=np.int64)]


def _fold_constant(imp: _Importer, node: Any) -> list[Array]:
    a = imp.attrs(node)
    if "value" in a:
        return [a["value"]]
    if "value_float" in a:
        return [np.array(a["value_float"], dtype=np.float32)]
    if "value_floats" in a:
        return [np.array(a["value_floats"], dtype=np.float32)]
    if "value_int" in a:
        return [np.array(a["value_int"], dtype=np.int64)]
    if "value_ints" in a:
        return [np.array(a["value_ints"], dtype=np.int64)]
    raise imp.error(node, "holds no numeric value (sparse and string constants are not read)")


def _inputs(imp: _Importer, node: Any) -> list[Array]:
    values = imp.fold_inputs(node)
    return [v for v in values if v is not None]


def _fold_unsqueeze(imp: _Importer, node: Any) -> list[Array]:
    data = _inputs(imp, node)[0]
    axes = _ints(imp.fold_inputs(node)[1]) if imp.opset >= 13 else list(
        imp.attrs(node).get("axes", []))
    rank = data.ndim + len(axes)
    for axis in sorted(int(v) % rank for v in axes):
        data = np.expand_dims(data, axis)
    return [data]


def _fold_squeeze(imp: _Importer, node: Any) -> list[Array]:
    values = imp.fold_inputs(node)
    data = values[0]
    assert data is not None
    axes = (_ints(values[1]) if len(values) > 1 and values[1] is not None else None) \
        if imp.opset >= 13 else imp.attrs(node).get("axes")
    if axes is None:
        return [np.squeeze(data)]
    return [np.squeeze(data, axis=tuple(int(v) % max(data.ndim, 1) for v in axes))]


def _fold_slice(imp: _Importer, node: Any) -> list[Array]:
    values = imp.fold_inputs(node)
    data = values[0]
    assert data is not None
    if imp.opset < 10:
        a = imp.attrs(node)
        starts, ends = list(a["starts"]), list(a["ends"])
        axes = list(a.get("axes", range(len(starts))))
        steps = [1] * len(starts)
    else:
        starts, ends = _ints(values[1]), _ints(values[2])
        axes = _ints(values[3]) if len(values) > 3 and values[3] is not None else \
            list(range(len(starts)))
        steps = _ints(values[4]) if len(values) > 4 and values[4] is not None else \
            [1] * len(starts)
    index: list[slice] = [slice(None)] * data.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        if step == 0:
            raise ValueError("a slice step of 0")
        index[int(axis) % data.ndim] = slice(int(start), int(end), int(step))
    return [data[tuple(index)]]


def _fold_reshape(imp: _Importer, node: Any) -> list[Array]:
    data, shape = _inputs(imp, node)[:2]
    target = _ints(shape)
    target = [data.shape[i] if v == 0 and i < data.ndim else v for i, v in enumerate(target)]
    return [data.reshape(target)]


def _fold_const_of_shape(imp: _Importer, node: Any) -> list[Array]:
    shape = _ints(_inputs(imp, node)[0])
    _elements(shape)
    value = imp.attrs(node).get("value")
    fill = np.zeros(1, dtype=np.float32) if value is None else np.asarray(value).reshape(-1)
    return [np.full(shape, fill[0], dtype=fill.dtype)]


def _fold_expand(imp: _Importer, node: Any) -> list[Array]:
    data, shape = _inputs(imp, node)[:2]
    out = np.broadcast_shapes(data.shape, tuple(_ints(shape)))
    _elements(out)
    return [np.broadcast_to(data, out).copy()]


def _fold_range(imp: _Importer, node: Any) -> list[Array]:
    start, limit, delta = (np.asarray(v).reshape(()) for v in _inputs(imp, node)[:3])
    if delta == 0:
        raise ValueError("a range step of 0")
    count = max(math.ceil((float(limit) - float(start)) / float(delta)), 0)
    _elements([count])
    return [np.arange(count, dtype=np.result_type(start, limit, delta)) * delta + start]


def _fold_cast(imp: _Importer, node: Any) -> list[Array]:
    to = int(imp.attrs(node)["to"])
    if to not in _DTYPES:
        raise ValueError(f"casting to data type {to}")
    return [_inputs(imp, node)[0].astype(np.dtype(_DTYPES[to][0]).newbyteorder("="))]


def _fold_concat(imp: _Importer, node: Any) -> list[Array]:
    parts = _inputs(imp, node)
    return [np.concatenate([np.atleast_1d(p) for p in parts], axis=int(imp.attrs(node)["axis"]))]


def _fold_gather(imp: _Importer, node: Any) -> list[Array]:
    data, indices = _inputs(imp, node)[:2]
    axis = int(imp.attrs(node).get("axis", 0))
    return [np.take(data, indices.astype(np.int64), axis=axis)]


def _fold_transpose(imp: _Importer, node: Any) -> list[Array]:
    perm = imp.attrs(node).get("perm")
    return [np.transpose(_inputs(imp, node)[0], perm)]


def _fold_flatten(imp: _Importer, node: Any) -> list[Array]:
    data = _inputs(imp, node)[0]
    axis = int(imp.attrs(node).get("axis", 1)) % (data.ndim + 1) if data.ndim else 0
    return [data.reshape(math.prod(data.shape[:axis]), -1)]


def _unary(fn: Callable[[Array], Any]) -> Callable[[_Importer, Any], list[Array]]:
    return lambda imp, node: [np.asarray(fn(_inputs(imp, node)[0]))]


def _binary(fn: Callable[[Array, Array], Any]) -> Callable[[_Importer, Any], list[Array]]:
    def fold(imp: _Importer, node: Any) -> list[Array]:
        a, b = _inputs(imp, node)[:2]
        _elements(np.broadcast_shapes(a.shape, b.shape))
        return [np.asarray(fn(a, b))]
    return fold


def _variadic(fn: Callable[[Array, Array], Any]) -> Callable[[_Importer, Any], list[Array]]:
    def fold(imp: _Importer, node: Any) -> list[Array]:
        parts = _inputs(imp, node)
        out = parts[0]
        for part in parts[1:]:
            out = np.asarray(fn(out, part))
        return [out]
    return fold


def _erf(x: Array) -> Array:
    out: Array = np.vectorize(math.erf, otypes=[np.float64])(x)
    return out.astype(x.dtype)


def _typed(fn: Callable[[Array, Array], Any]) -> Callable[[Array, Array], Array]:
    return lambda a, b: np.asarray(fn(a, b)).astype(np.result_type(a, b))


_FOLDERS: dict[str, Callable[[_Importer, Any], list[Array]]] = {
    "Constant": _fold_constant, "Shape": _fold_shape, "Size": _fold_size,
    "Gather": _fold_gather, "Unsqueeze": _fold_unsqueeze, "Squeeze": _fold_squeeze,
    "Concat": _fold_concat, "Cast": _fold_cast, "Slice": _fold_slice, "Reshape": _fold_reshape,
    "ConstantOfShape": _fold_const_of_shape, "Expand": _fold_expand, "Range": _fold_range,
    "Transpose": _fold_transpose, "Flatten": _fold_flatten,
    "Identity": _unary(lambda a: a), "Neg": _unary(np.negative), "Abs": _unary(np.abs),
    "Floor": _unary(np.floor), "Ceil": _unary(np.ceil), "Sqrt": _unary(np.sqrt),
    "Not": _unary(np.logical_not), "Erf": _unary(_erf), "Relu": _unary(lambda a: np.maximum(a, 0)),
    "Sigmoid": _unary(lambda a: 1 / (1 + np.exp(-a))), "Tanh": _unary(np.tanh),
    "Add": _binary(_typed(np.add)), "Sub": _binary(_typed(np.subtract)),
    "Mul": _binary(_typed(np.multiply)), "Div": _binary(_int_div), "Pow": _binary(np.power),
    "Equal": _binary(np.equal), "Less": _binary(np.less), "Greater": _binary(np.greater),
    "And": _binary(np.logical_and), "Or": _binary(np.logical_or),
    "Min": _variadic(np.minimum), "Max": _variadic(np.maximum),
    "Where": lambda imp, node: [np.where(*_inputs(imp, node)[:3])],
}
