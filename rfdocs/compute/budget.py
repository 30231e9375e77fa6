"""Work and memory budgets: what a computation will cost, estimated before anything is allocated.

A ``Cost`` counts *operations*, about a nanosecond or two of one core each (an array element
read or written by numpy, a result of a matrix product and a share of its depth; two billion
take a few seconds) and bytes: the most allocated at once while a step runs (``peak``) and
what is still allocated when it ends (``kept``), so that steps chain like the code they follow
(``a.then(b)``).  The estimators here
mirror the code paths of ``conv``, ``forward``, ``erf`` and ``images`` array by array; the
figure layer adds its own drawing costs and checks the total against a ``Budget`` before it
computes anything."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rfdocs.compute.conv import (
    DEFAULT_MAX_BYTES,
    IM2COL_MAX_BYTES,
    conv_size,
    conv_transpose_size,
    pool_size,
)
from rfdocs.compute.receptive import Analysis, analyze, resolve_pads
from rfdocs.compute.spec import INPUT_NAME, POINTWISE_OPS, Layer, Network

#: The defaults of the ``rfdocs_max_work`` and ``rfdocs_max_memory`` configuration values.
DEFAULT_MAX_WORK = 2_000_000_000
DEFAULT_MAX_MEMORY = 1 << 30
F8 = 8  # bytes of a float64: every array of these code paths is float64
#: Operations per element of an elementwise result written to fresh memory (the write, and the
#: page faults of memory touched for the first time), and per normal random number drawn.
FRESH, NORMAL = 4, 12


def product_work(outputs: int, depth: int) -> int:
    """Operations of a matrix product with ``outputs`` results, each summing ``depth`` terms:
    BLAS does a multiply-add in well under a nanosecond, but every result of a thin product
    costs several (a few channels deep, or a kernel's taps: multi-threaded OpenBLAS takes
    about 30 ns a result for a 65536×16 by 16×16 product on two busy cores)."""
    return outputs * (depth // 4 + 8)

Shape = tuple[int, ...]  # (N, H, W, C); (N, T, C) and (N, D, H, W, C) for sequences, volumes


class BudgetError(ValueError):
    """A request over budget, refused before allocating; ``option`` names the budget exceeded
    (``max_work`` or ``max_memory``), ``message`` says by how much and what to lower."""

    def __init__(self, option: str, message: str) -> None:
        self.option = option
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Cost:
    """Operations, the most bytes allocated at once (``peak``) and the bytes still allocated at
    the end (``kept``, negative where a step frees more than it keeps), all relative to what
    was allocated when the step began."""

    work: int = 0
    peak: int = 0
    kept: int = 0

    def then(self, after: Cost) -> Cost:
        """This step, then ``after`` (which runs while this step's results are kept)."""
        return Cost(self.work + after.work, max(self.peak, self.kept + after.peak),
                    self.kept + after.kept)

    def freeing(self, nbytes: int) -> Cost:
        """This step, after which ``nbytes`` allocated before it are freed."""
        return Cost(self.work, self.peak, self.kept - nbytes)

    def times(self, n: int) -> Cost:
        """``n`` runs of this step one after another, each freeing what the last one kept."""
        return Cost(self.work * n, self.peak, self.kept) if n > 0 else Cost()


def chain(steps: Iterable[Cost]) -> Cost:
    """Steps one after another."""
    total = Cost()
    for step in steps:
        total = total.then(step)
    return total


def alloc(nbytes: int, work: int = 0) -> Cost:
    """An array of ``nbytes`` that is kept (``work`` operations to fill it)."""
    return Cost(work, nbytes, nbytes)


def temporary(nbytes: int, work: int = 0) -> Cost:
    """An array of ``nbytes`` freed again at the end of the step."""
    return Cost(work, nbytes, 0)


def bytes_text(n: float) -> str:
    """'1 GiB', '5.2 GiB', '340 MiB', '12 KiB' (binary units, about two significant digits)."""
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            value = n / size
            return f"{value:.1f} {unit}".replace(".0 ", " ") if value < 10 else f"{value:.0f} {unit}"
    return f"{n:.0f} bytes"


def work_text(n: float) -> str:
    """'2 billion', '31 billion', '450 million', '12,000'."""
    for unit, size in (("trillion", 1e12), ("billion", 1e9), ("million", 1e6)):
        if n >= size:
            value = n / size
            return f"{value:.1f} {unit}".replace(".0 ", " ") if value < 10 else f"{value:.0f} {unit}"
    return f"{n:,.0f}"


def _alternatives(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


@dataclass(frozen=True)
class Budget:
    """The most operations and bytes one figure may use (``rfdocs_max_work`` and
    ``rfdocs_max_memory`` in Sphinx, the ``max_work`` and ``max_memory`` options of a kind)."""

    max_work: int = DEFAULT_MAX_WORK
    max_memory: int = DEFAULT_MAX_MEMORY

    def check(self, cost: Cost, what: str, lower: Sequence[str]) -> None:
        """Refuse ``cost`` (BudgetError) when over budget: memory first, then work.  ``what``
        names the request ('the feature maps'), ``lower`` what would make it smaller
        (':size:', ':count:' or 'rfdocs_png_dpi')."""
        advice = f"lower {_alternatives(lower)}, or raise" if lower else "raise"
        if cost.peak > self.max_memory:
            raise BudgetError("max_memory", (
                f"{what} would need about {bytes_text(cost.peak)} of memory, more than the limit "
                f"of {bytes_text(self.max_memory)}: {advice} rfdocs_max_memory in conf.py "
                "(or :max_memory: of this figure)"))
        if cost.work > self.max_work:
            raise BudgetError("max_work", (
                f"{what} would take about {work_text(cost.work)} operations, more than the limit "
                f"of {work_text(self.max_work)}: {advice} rfdocs_max_work in conf.py "
                "(or :max_work: of this figure)"))


# --------------------------------------------------------------------------- convolutions


def conv2d_cost(shape: Shape, kernel: Sequence[int], cout: int, *,
                stride: Sequence[int] | None = None, pads: Sequence[int] | None = None,
                dilation: Sequence[int] | None = None, groups: int = 1,
                max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[Cost, Shape]:
    """``conv.conv2d`` of an (N, H, W, C) float64 input: the padded copy, then the depthwise,
    im2col or per-tap path it takes; keeps the (N, H', W', Cout) result.  Any number of
    spatial axes (N, *spatial, C), counted the same way (``conv``'s 1-D and 3-D forms run the
    2-D code on a unit axis or once per depth tap)."""
    n, cin = shape[0], shape[-1]
    size = shape[1:-1]
    axes = range(len(size))
    stride, pads, dilation = _defaults(len(size), stride, pads, dilation)
    outs = [conv_size(size[a], kernel[a], stride[a], dilation[a], pads[2 * a], pads[2 * a + 1])
            for a in axes]
    taps = math.prod(kernel[a] for a in axes)
    positions = n * math.prod(outs)
    ci = cin // groups
    padded = n * math.prod(size[a] + pads[2 * a] + pads[2 * a + 1] for a in axes) * cin
    out = positions * cout
    macs = product_work(out, taps * ci)  # as operations
    nbytes = F8 * (padded + positions * (2 * cout + 2 * cin))
    column_bytes = F8 * positions * (taps * cin + cout)
    if ci == 1 and groups > 1:  # out and tmp; a multiply and an add per tap
        peak, work = padded + 2 * out, 3 * taps * out
    elif column_bytes <= IM2COL_MAX_BYTES and nbytes + column_bytes <= max_bytes:
        cols = positions * taps * cin
        peak = padded + cols + (out if groups == 1 else 2 * out)
        work = cols + macs + out
    else:  # one product per tap: the tap's (copied) window and its product, added to out
        window = positions * cin
        peak = padded + 2 * out + window + (out if groups > 1 else 0)
        work = taps * (window + 2 * out + product_work(out, ci))
    return Cost(padded + work, F8 * peak, F8 * out), (n, *outs, cout)


def conv_transpose2d_cost(shape: Shape, kernel: Sequence[int], cout: int, *,
                          stride: Sequence[int] | None = None,
                          pads: Sequence[int] | None = None,
                          dilation: Sequence[int] | None = None,
                          output_padding: Sequence[int] | None = None,
                          groups: int = 1) -> tuple[Cost, Shape]:
    """``conv.conv_transpose2d``: the uncropped output, one product per tap added into it, then
    the cropped copy; keeps the (N, H', W', Cout) result (any number of spatial axes)."""
    n, cin = shape[0], shape[-1]
    size = shape[1:-1]
    axes = range(len(size))
    stride, pads, dilation = _defaults(len(size), stride, pads, dilation)
    output_padding = output_padding or (0,) * len(size)
    outs = [conv_transpose_size(size[a], kernel[a], stride[a], dilation[a], pads[2 * a],
                                pads[2 * a + 1], output_padding[a]) for a in axes]
    full = n * math.prod(outs[a] + pads[2 * a] + pads[2 * a + 1] for a in axes) * cout
    product = n * math.prod(size) * cout
    out = n * math.prod(outs) * cout
    per_tap = product_work(product, cin // groups)  # one tap's product
    peak = max(full + product * (2 if groups > 1 else 1), full + out)
    work = full + math.prod(kernel[a] for a in axes) * (per_tap + 2 * product) + out
    return Cost(work, F8 * peak, F8 * out), (n, *outs, cout)


def pool_cost(shape: Shape, kernel: Sequence[int], *, stride: Sequence[int],
              pads: Sequence[int], dilation: Sequence[int] | None = None,
              ceil_mode: bool = False) -> tuple[Cost, Shape]:
    """``conv.max_pool2d`` or ``avg_pool2d``: the padded copy and the output, updated in place
    once per tap; keeps the output (any number of spatial axes)."""
    n, c = shape[0], shape[-1]
    outs, padded_size = _pool_geometry(shape[1:-1], kernel, stride, pads, dilation, ceil_mode)
    padded = n * math.prod(padded_size) * c
    out = n * math.prod(outs) * c
    taps = math.prod(kernel[: len(outs)])
    return (Cost(padded + out + 2 * taps * out, F8 * (padded + out), F8 * out),
            (n, *outs, c))


def _defaults(ndim: int, stride: Sequence[int] | None, pads: Sequence[int] | None,
              dilation: Sequence[int] | None) -> tuple[Sequence[int], Sequence[int], Sequence[int]]:
    """Stride 1, no padding and dilation 1 along every one of ``ndim`` axes where not given."""
    return (stride or (1,) * ndim, pads or (0,) * (2 * ndim), dilation or (1,) * ndim)


def _pool_geometry(size: Sequence[int], kernel: Sequence[int], stride: Sequence[int],
                   pads: Sequence[int], dilation: Sequence[int] | None,
                   ceil_mode: bool) -> tuple[list[int], list[int]]:
    """(output sizes, padded sizes) per axis as ``conv._PoolGeometry`` computes them."""
    axes = range(len(size))
    dilation = dilation or (1,) * len(size)
    out = [pool_size(size[a], kernel[a], stride[a], dilation[a], pads[2 * a], pads[2 * a + 1],
                     ceil_mode) for a in axes]
    padded = [max(size[a] + pads[2 * a] + pads[2 * a + 1],
                  (out[a] - 1) * stride[a] + dilation[a] * (kernel[a] - 1) + 1) for a in axes]
    return out, padded


def pool_backward_cost(op: str, shape: Shape, kernel: Sequence[int], *,
                       stride: Sequence[int], pads: Sequence[int],
                       dilation: Sequence[int] | None = None,
                       ceil_mode: bool = False) -> Cost:
    """``conv.max_pool2d_backward`` (op 'maxpool': the padded input, running maxima and their
    taps, then the scattered gradient) or ``avg_pool2d_backward``; keeps the input-sized
    gradient."""
    n, c = shape[0], shape[-1]
    outs, padded_size = _pool_geometry(shape[1:-1], kernel, stride, pads, dilation, ceil_mode)
    padded = n * math.prod(padded_size) * c
    out = n * math.prod(outs) * c
    x = _size(shape)
    taps = math.prod(kernel[: len(outs)])
    if op == "maxpool":
        peak = 2 * padded + 3 * out + x
        work = 2 * padded + taps * 10 * out + x
    else:
        peak = 2 * x + out + padded
        work = padded + out + 2 * taps * out + x
    return Cost(work, F8 * peak, F8 * x)


# --------------------------------------------------------------------------- whole networks

#: Ops whose backward pass hands the gradient on as it is or as views of it (``erf._backward``:
#: add's and concat's inputs share it, pad crops it); in the uniform-weight pass
#: (``erf._uniform_backward``) every pointwise op and a product too (linearised as a sum).
BACKWARD_HANDED = ("identity", "add", "concat", "pad")
UNIFORM_HANDED = (*POINTWISE_OPS, "add", "mul", "concat", "pad")


def _size(shape: tuple[int, ...]) -> int:
    total = 1
    for dim in shape:
        total *= dim
    return total


#: Per pointwise op: arrays of the input's size it holds at once besides its result, forward
#: and backward (``forward._pointwise``, ``erf._pointwise_backward``: np.where's operands,
#: sigmoid's exponential and quotient, GELU's float64 erfc), and operations per value.
POINTWISE_COSTS: dict[str, tuple[int, int, int]] = {
    "relu": (0, 1, 1), "leakyrelu": (1, 2, 3), "prelu": (1, 2, 3), "sigmoid": (2, 2, 5),
    "tanh": (0, 2, 5), "clip": (1, 2, 2), "hardsigmoid": (1, 4, 3), "hardswish": (1, 5, 4),
    "gelu": (8, 9, 90), "softmax": (2, 3, 6), "batchnorm": (0, 1, 2), "affine": (1, 1, 2),
}


def pointwise_cost(op: str, shape: Shape, *, backward: bool = False) -> Cost:
    """A pointwise op (or its gradient) on an (N, H, W, C) array: its temporaries and the new
    result it keeps (identity hands its input on)."""
    if op == "identity":
        return Cost()
    forward_tmp, backward_tmp, per = POINTWISE_COSTS.get(op, (2, 3, 4))
    size = _size(shape)
    tmp = backward_tmp if backward else forward_tmp
    return Cost((FRESH + per) * size, F8 * (1 + tmp) * size + size, F8 * size)  # + a mask


def upsample_cost(shape: Shape, factor: Sequence[int], mode: str) -> tuple[Cost, Shape]:
    """``ops.upsample``: rows then columns (one spatial axis after another), each a new array (a
    linear axis also pads its input by edge copies and multiplies one input-sized slice at a
    time); keeps the result."""
    total = Cost()
    current = shape
    for axis, f in enumerate(factor[: len(shape) - 2], 1):
        if f == 1:
            continue
        out = list(current)
        out[axis] *= f
        grown = tuple(out)
        size, new = _size(current), _size(grown)
        if mode == "nearest":
            step = alloc(F8 * new, FRESH * new)
        else:
            edged = size // current[axis] * (current[axis] + 3)
            step = Cost(edged + 4 * new, F8 * (edged + new + size), F8 * new)
        total = total.then(step)
        if current != shape:  # the first axis' result, freed once the second is made
            total = total.freeing(F8 * size)
        current = grown
    return total, current


def upsample_backward_cost(grad: Shape, factor: Sequence[int], mode: str) -> Cost:
    """``ops.upsample_backward`` of an (N, H f, W f, C) gradient: columns then rows, each a new
    array (nearest: a sum over each source's copies; linear: an edge-padded accumulator and one
    weighted slice at a time); keeps the input-sized gradient."""
    total = Cost()
    current = grad
    for axis, f in reversed(list(enumerate(factor[: len(grad) - 2], 1))):
        if f == 1:
            continue
        out = list(current)
        out[axis] //= f
        shrunk = tuple(out)
        size, new = _size(current), _size(shrunk)
        if mode == "nearest":
            step = Cost(size + FRESH * new, F8 * new, F8 * new)
        else:
            edged = new // shrunk[axis] * (shrunk[axis] + 3)
            step = Cost(edged + 4 * size, F8 * (edged + 3 * new // 2), F8 * new)
        total = total.then(step)
        if current != grad:
            total = total.freeing(F8 * size)
        current = shrunk
    return total


def _merged(inputs: Sequence[Shape]) -> Shape:
    """The shape of an elementwise merge (broadcasting)."""
    return tuple(max(s[i] for s in inputs) for i in range(len(inputs[0])))


def _layer_cost(layer: Layer, inputs: Sequence[Shape], max_bytes: int) -> tuple[Cost, Shape]:
    """``forward.apply_layer``: the layer's transient arrays; keeps its output."""
    x = inputs[0]
    op = layer.op
    if op == "identity" or (op == "clip" and layer.min is None and layer.max is None):
        return Cost(), x
    if op == "relu":
        return alloc(F8 * _size(x), FRESH * _size(x)), x
    if op in POINTWISE_OPS:
        return pointwise_cost(op, x), x
    if op in ("add", "mul", "sub", "div"):  # total = total op other, one new array per step
        out = _merged(inputs)
        k = len(inputs) - 1
        return Cost((2 + FRESH) * k * _size(out), F8 * _size(out) * min(k, 2),
                    F8 * _size(out)), out
    ones = (1,) * (len(x) - 2)
    if op == "concat":
        out = (*x[:-1], sum(s[-1] for s in inputs))
        return alloc(F8 * _size(out), FRESH * _size(out)), out
    if op == "pad":
        p = resolve_pads(layer, x[1:-1])
        out = (x[0], *(n + p[2 * a] + p[2 * a + 1] for a, n in enumerate(x[1:-1])), x[-1])
        return alloc(F8 * _size(out), FRESH * _size(out)), out
    if op == "upsample":
        return upsample_cost(x, layer.factor, layer.mode)
    if op in ("globalavgpool", "globalmaxpool"):
        out = (x[0], *ones, x[-1])
        return alloc(F8 * _size(out), 2 * _size(x)), out
    if op == "flatten":  # a transposed, contiguous copy
        out = (x[0], *ones, _size(x) // x[0])
        return alloc(F8 * _size(out), FRESH * _size(out)), out
    if op == "dense":
        assert layer.filters is not None
        out = (x[0], *ones, layer.filters)
        return alloc(F8 * _size(out), product_work(_size(out), _size(x) // x[0])), out
    pads = resolve_pads(layer, x[1:-1])
    if op == "conv":
        assert layer.filters is not None
        return conv2d_cost(x, layer.kernel, layer.filters, stride=layer.stride, pads=pads,
                           dilation=layer.dilation, groups=layer.groups, max_bytes=max_bytes)
    if op == "deconv":
        assert layer.filters is not None
        return conv_transpose2d_cost(x, layer.kernel, layer.filters, stride=layer.stride,
                                     pads=pads, dilation=layer.dilation,
                                     output_padding=layer.output_padding)
    return pool_cost(x, layer.kernel, stride=layer.stride, pads=pads, dilation=layer.dilation,
                     ceil_mode=layer.ceil_mode)


def _shapes(analysis: Analysis, n: int) -> dict[str, Shape]:
    return {node.name: (n, *node.shape) for node in analysis}


def weights_bytes(analysis: Analysis) -> int:
    """Bytes of every conv, deconv and dense weight (``forward.init_weights``)."""
    shapes = _shapes(analysis, 1)
    total = 0
    for node in analysis.layers:
        layer = node.layer
        if layer is None or layer.filters is None:
            continue
        cin = shapes[layer.inputs[0]][-1]
        if layer.op == "dense":
            total += cin * layer.filters + layer.filters
        elif layer.op in ("conv", "deconv"):
            per = cin if layer.op == "deconv" else cin // layer.groups
            total += math.prod(layer.kernel[: analysis.input.ndim]) * per * layer.filters
    return F8 * total


def forward_cost(analysis: Analysis, n: int = 1, max_bytes: int = DEFAULT_MAX_BYTES) -> Cost:
    """``forward.forward``: every activation is kept (the input is the caller's)."""
    shapes = _shapes(analysis, n)
    total = Cost()
    for node in analysis.layers:
        layer = node.layer
        assert layer is not None
        step, _ = _layer_cost(layer, [shapes[name] for name in layer.inputs], max_bytes)
        total = total.then(step)
    return total


def _backward_cost(layer: Layer, shapes: dict[str, Shape], grad: Shape,
                   max_bytes: int) -> Cost:
    """``erf._backward`` of one layer: its transients; keeps the input gradient(s) it makes."""
    op = layer.op
    x = shapes[layer.inputs[0]]
    if op in BACKWARD_HANDED:
        return Cost()  # the same array (or views of it) handed on
    if op == "relu":  # g * (x > 0)
        return Cost((2 + FRESH) * _size(x), F8 * _size(x) + _size(x), F8 * _size(x))
    if op in POINTWISE_OPS:
        return pointwise_cost(op, x, backward=True)
    if op in ("sub", "mul", "div"):  # -g; g times the other inputs; g / b and -g a / b^2
        out = _size(grad)
        made = {"sub": 1, "mul": len(layer.inputs), "div": 2}[op]
        extra = {"sub": 0, "mul": 1 if len(layer.inputs) > 2 else 0, "div": 3}[op]
        return Cost((2 + FRESH) * (made + extra) * out, F8 * (made + extra) * out,
                    F8 * made * out)
    if op == "upsample":
        return upsample_backward_cost(grad, layer.factor, layer.mode)
    if op in ("globalmaxpool", "flatten"):  # a scattered or transposed copy, input-sized
        return alloc(F8 * _size(x), FRESH * _size(x))
    if op in ("globalavgpool", "dense"):  # g / (H W) broadcast (a view); g @ W.T (1x1)
        return alloc(F8 * _size(x) // math.prod(x[1:-1]), product_work(_size(x), _size(grad)))
    pads = resolve_pads(layer, x[1:-1])
    if op == "conv":
        assert layer.filters is not None
        rest = tuple(x[1 + a] + pads[2 * a] + pads[2 * a + 1]
                     - layer.dilation[a] * (layer.kernel[a] - 1) - 1
                     - (grad[1 + a] - 1) * layer.stride[a] for a in range(len(x) - 2))
        cost, _ = conv_transpose2d_cost(grad, layer.kernel, x[-1], stride=layer.stride,
                                        pads=pads, dilation=layer.dilation,
                                        output_padding=rest, groups=layer.groups)
        return cost
    if op == "deconv":
        cost, _ = conv2d_cost(grad, layer.kernel, x[-1], stride=layer.stride, pads=pads,
                              dilation=layer.dilation, max_bytes=max_bytes)
        return cost
    return pool_backward_cost(op, x, layer.kernel, stride=layer.stride, pads=pads,
                              dilation=layer.dilation, ceil_mode=layer.ceil_mode)


def _walk_back(layers: Sequence[Layer], target: str, shapes: dict[str, Shape],
               step_cost: Callable[[Layer], Cost], handed: Sequence[str]) -> Cost:
    """The backward loop of ``erf`` from ``target``: the seed, then per layer its gradient step
    (``step_cost``; ``handed`` ops pass the same array on), a new sum where a gradient meets one
    already there; a gradient no input owns is freed when the loop variable moves on."""
    upto = [layer.name for layer in layers].index(target) + 1 if target != INPUT_NAME else 0
    size = {name: F8 * _size(shape) for name, shape in shapes.items()}
    live: dict[str, int] = {target: size[target]}  # bytes each pending gradient owns
    total = alloc(size[target], size[target] // F8)
    previous = 0  # bytes referenced only by the loop's variables, freed at the next layer
    for layer in reversed(layers[:upto]):
        if layer.name not in live:
            continue
        g = live.pop(layer.name)
        total = total.freeing(previous)
        if layer.op in handed:
            step, contribution, previous = Cost(), g, 0
        else:  # the seed stays referenced to the end
            step = step_cost(layer)
            contribution, previous = step.kept, 0 if layer.name == target else g
        for name in layer.inputs:
            if name in live:  # the sum replaces the gradient already there
                step = step.then(Cost(3 * size[name] // F8, size[name], size[name]))
                step = step.freeing(live[name])
                live[name] = size[name]
            else:
                live[name], contribution = contribution, 0
        previous += contribution
        total = total.then(step)
    return total


def backward_cost(analysis: Analysis, target: str, n: int = 1,
                  max_bytes: int = DEFAULT_MAX_BYTES) -> Cost:
    """The backward pass of ``erf.input_gradient`` from ``target`` (the activations are the
    caller's)."""
    shapes = _shapes(analysis, n)
    layers = [node.layer for node in analysis.layers if node.layer is not None]
    return _walk_back(layers, target, shapes,
                      lambda layer: _backward_cost(layer, shapes, shapes[layer.name], max_bytes),
                      BACKWARD_HANDED)


def input_gradient_cost(analysis: Analysis, target: str, n: int = 1,
                        max_bytes: int = DEFAULT_MAX_BYTES) -> Cost:
    """``erf.input_gradient``: the forward pass (all activations kept) and the backward pass."""
    return forward_cost(analysis, n, max_bytes).then(backward_cost(analysis, target, n, max_bytes))


def erf_random_cost(net: Network, target: str, samples: int,
                    max_bytes: int = DEFAULT_MAX_BYTES) -> Cost:
    """``samples`` runs of ``erf.erf_random`` on ``net`` (filters already capped): weights, a
    random input, the forward and backward passes, the |gradient| summed into one map."""
    analysis = analyze(net)
    c = net.input[-1]
    px = math.prod(net.input[:-1])  # H W (T; D H W)
    image = F8 * px * c
    one = chain([alloc(weights_bytes(analysis), weights_bytes(analysis) // F8),
                 alloc(image, NORMAL * px * c),
                 input_gradient_cost(analysis, target, 1, max_bytes),
                 temporary(F8 * px * (c + 2), 4 * px * c)])
    total_map = alloc(F8 * px, px)
    return total_map.then(Cost(one.work, one.peak, 0).times(samples))


def _uniform_step(layer: Layer, single: dict[str, Shape], pads: Sequence[int]) -> Cost:
    """``erf._uniform_backward`` of one window layer on single-channel maps: a transposed (for a
    deconv, a plain) convolution with an all-ones kernel, or a pool's backward, then scaled."""
    x, g = single[layer.inputs[0]], single[layer.name]
    if layer.op in ("sub", "div"):  # the second input's map negated
        return alloc(F8 * _size(g), FRESH * _size(g))
    if layer.op == "upsample":
        return upsample_backward_cost(g, layer.factor, layer.mode)
    if layer.op in ("globalavgpool", "globalmaxpool", "flatten"):  # spread over the input
        return alloc(F8 * _size(x), FRESH * _size(x))
    if layer.op == "dense":  # g times a number, 1x1
        return alloc(F8 * _size(g), _size(g))
    if layer.op in ("maxpool", "avgpool"):
        return pool_backward_cost("avgpool", x, layer.kernel, stride=layer.stride, pads=pads,
                                  dilation=layer.dilation, ceil_mode=layer.ceil_mode)
    if layer.op == "conv":
        rest = tuple(x[1 + a] + pads[2 * a] + pads[2 * a + 1]
                     - layer.dilation[a] * (layer.kernel[a] - 1) - 1
                     - (g[1 + a] - 1) * layer.stride[a] for a in range(len(x) - 2))
        step, _ = conv_transpose2d_cost(g, layer.kernel, 1, stride=layer.stride, pads=pads,
                                        dilation=layer.dilation, output_padding=rest)
        scaled = F8 * _size(x)
    else:
        step, out = conv2d_cost(g, layer.kernel, 1, stride=layer.stride, pads=pads,
                                dilation=layer.dilation)
        scaled = F8 * _size(x)
        step = Cost(step.work, step.peak, step.kept) if out[1:-1] == x[1:-1] else step
    return step.then(alloc(scaled, scaled // F8)).freeing(step.kept)


def erf_uniform_cost(net: Network, target: str) -> Cost:
    """``erf.erf_uniform``: one single-channel gradient map per node, back from ``target``."""
    analysis = analyze(net)
    single = {node.name: (1, *node.shape[:-1], 1) for node in analysis}
    layers = [node.layer for node in analysis.layers if node.layer is not None]

    def step(layer: Layer) -> Cost:
        x = single[layer.inputs[0]]
        return _uniform_step(layer, single, resolve_pads(layer, x[1:-1]))

    walk = _walk_back(layers, target, single, step, UNIFORM_HANDED)
    px = math.prod(net.input[:-1])
    return walk.then(temporary(2 * F8 * px, 2 * px))


# --------------------------------------------------------------------------- images


def decode_cost(height: int, width: int, bands: int, channels: int, alpha: bool) -> Cost:
    """``images.read_image``: Pillow's decoded image and its orientation-corrected copy, the
    converted copy and its bytes, two float64 arrays of ``channels`` (three more compositing
    an alpha channel); keeps the float64 H×W×C result."""
    px = height * width
    pillow = px * max(bands, 1)
    floats = F8 * px * (channels + (1 if alpha else 0))
    composite = 3 * F8 * px * channels if alpha else 0
    peak = 3 * pillow + 2 * floats + composite
    return Cost(4 * pillow + 4 * px * channels, peak, F8 * px * channels)


def array_image_cost(height: int, width: int, channels: int) -> Cost:
    """``images.as_image_array`` of an in-memory H×W×C array: a float64 copy, its finiteness
    mask, and with an alpha channel the composited colour."""
    px = height * width
    out = F8 * px * min(channels, 3)
    peak = F8 * px * channels + px * channels + (3 * out if channels == 4 else 0)
    return Cost(5 * px * channels, peak, out)


def grey_cost(height: int, width: int, channels: int) -> Cost:
    """``images.to_grey``: the luma map (a colour image is freed by the caller)."""
    if channels == 1:
        return Cost()
    return alloc(F8 * height * width, 6 * height * width)


def resize_cost(shape: tuple[int, int, int], out: tuple[int, int]) -> Cost:
    """``images.resize_area``: the two area-weight matrices (and their temporaries), the
    einsum's contraction over rows, its transposed copy, the result and its clipped copy."""
    h, w, c = shape
    height, width = out
    if (h, w) == (height, width):
        return Cost()
    rows, cols = height * h, width * w
    weights = 4 * max(rows, cols) + min(rows, cols)
    middle = height * w * c
    result = height * width * c
    peak = max(weights, rows + cols + 2 * middle + 2 * result)
    # two dense products (BLAS at its best: deep sums, a few hundredths of a nanosecond each)
    work = 8 * (rows + cols) + (height * h * w * c + middle * width) // 16 + 2 * middle + 3 * result
    return Cost(work, F8 * peak, F8 * result)


__all__ = ["DEFAULT_MAX_MEMORY", "DEFAULT_MAX_WORK", "Budget", "BudgetError", "Cost", "alloc",
           "array_image_cost", "backward_cost", "bytes_text", "chain", "conv2d_cost",
           "conv_transpose2d_cost", "decode_cost", "erf_random_cost", "erf_uniform_cost",
           "forward_cost", "grey_cost", "input_gradient_cost", "pool_backward_cost", "pool_cost",
           "resize_cost", "temporary", "weights_bytes", "work_text"]
