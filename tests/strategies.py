"""Hypothesis strategies: random valid network specs, sequential and multi-path."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from rfdocs.compute import SpecError, analyze
from rfdocs.compute.spec import POINTWISE_OPS, network_from_data

MAX_SIDE = 40  # keep brute force cheap: nodes stay at most this many units a side


def _shapes(spec: dict[str, Any]) -> dict[str, tuple[int, int, int]] | None:
    try:
        analysis = analyze(network_from_data(spec))
    except SpecError:
        return None
    if any(max(n.shape[:2]) > MAX_SIDE for n in analysis):
        return None
    return {n.name: n.shape for n in analysis}


@st.composite
def window_layer(draw: st.DrawFn, op: str, deconv_ok: bool = True,
                 new_ops: bool = False) -> dict[str, Any]:
    if op == "deconv" and not deconv_ok:
        op = "conv"
    k = draw(st.tuples(st.integers(1, 4), st.integers(1, 4)))
    s = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    d = draw(st.tuples(st.integers(1, 2), st.integers(1, 2)))
    layer: dict[str, Any] = {"op": op, "kernel": list(k), "stride": list(s), "dilation": list(d)}
    spans = [d[a] * (k[a] - 1) for a in range(2)]
    if op == "deconv":
        # Padding never crops past the kernel's span, so no unit reads a cropped-away value.
        limit = [max(spans[a] + 1 - s[a], 0) for a in range(2)]
        layer["padding"] = [draw(st.integers(0, limit[0])), draw(st.integers(0, limit[0])),
                            draw(st.integers(0, limit[1])), draw(st.integers(0, limit[1]))]
        layer["output_padding"] = [draw(st.integers(0, max(s[a], d[a]) - 1)) for a in range(2)]
        layer["filters"] = draw(st.integers(1, 3))
        return layer
    layer["padding"] = draw(st.one_of(
        st.sampled_from(["same", "valid", "same_lower"] if new_ops else ["same", "valid"]),
        st.integers(0, max(spans)),
        st.lists(st.integers(0, 3), min_size=4, max_size=4),
    ))
    if op == "conv":
        layer["filters"] = draw(st.integers(1, 3))
    else:
        layer["ceil_mode"] = draw(st.booleans())
    if op == "avgpool" and new_ops:
        layer["count_include_pad"] = draw(st.booleans())
    return layer


@st.composite
def network_specs(draw: st.DrawFn, multipath: bool = True, deconv: bool = True,
                  max_layers: int = 7, new_ops: bool = False) -> dict[str, Any]:
    """A long-form spec dict that analyses without error.  ``new_ops``: also pad, upsample
    (nearest and linear), every pointwise op, global pools, same_lower padding, avgpool without
    the pads, squeeze-excitation-like branches (a global pool, a dense layer and a gate merged
    back by mul, div, sub or add, broadcasting) and a classifier head (flatten or a global pool,
    then dense layers) that ends the network."""
    spec: dict[str, Any] = {
        "input": [draw(st.integers(6, 28)), draw(st.integers(6, 28)), draw(st.integers(1, 3))],
        "layers": [],
    }
    shapes: dict[str, tuple[int, int, int]] = {"input": tuple(spec["input"])}
    current = "input"
    n = draw(st.integers(1, max_layers))
    counter = 0
    for _ in range(n * 3):
        if len(spec["layers"]) >= n:
            break
        kind = draw(st.sampled_from(
            ["conv", "conv", "maxpool", "avgpool", "deconv", "relu"]
            + (["branch", "branch", "skip", "shrink"] if multipath else [])
            + (["pad", "upsample", "upsample", "pointwise", "global", "head"] if new_ops else [])
            + (["se", "se"] if new_ops and multipath else [])))
        new: list[dict[str, Any]] = []
        counter += 1
        tag = f"L{counter}"
        if kind in ("conv", "maxpool", "avgpool", "deconv"):
            layer = draw(window_layer(kind, deconv, new_ops))
            layer.update(name=tag, inputs=[current])
            new = [layer]
        elif kind == "pad":
            new = [{"name": tag, "op": "pad", "inputs": [current],
                    "padding": draw(st.lists(st.integers(0, 3), min_size=4, max_size=4)),
                    "value": draw(st.sampled_from([0.0, -1.5]))}]
        elif kind == "upsample":
            new = [{"name": tag, "op": "upsample", "inputs": [current],
                    "factor": [draw(st.integers(1, 3)), draw(st.integers(1, 3))],
                    "mode": draw(st.sampled_from(["nearest", "linear"]))}]
        elif kind == "pointwise":
            new = [{"name": tag, "op": draw(st.sampled_from(POINTWISE_OPS)), "inputs": [current]}]
        elif kind == "global":  # one unit: what follows sees the whole input
            new = [{"name": tag, "op": draw(st.sampled_from(["globalavgpool", "globalmaxpool"])),
                    "inputs": [current]}]
        elif kind == "head":  # flatten or a global pool, dense layers: the end of the network
            first = draw(st.sampled_from(["flatten", "globalavgpool", "globalmaxpool"]))
            new = [{"name": f"{tag}f", "op": first, "inputs": [current]},
                   {"name": f"{tag}d", "op": "dense", "units": draw(st.integers(1, 4)),
                    "inputs": [f"{tag}f"]},
                   {"name": f"{tag}r", "op": "relu", "inputs": [f"{tag}d"]},
                   {"name": tag, "op": "dense", "units": draw(st.integers(1, 3)),
                    "inputs": [f"{tag}r"]}]
        elif kind == "se":
            # squeeze-excitation: x * gate(dense(global pool(x))), the 1x1 gate broadcast over
            # every position (and, with one unit, over every channel); either operand order
            ch = shapes[current][2]
            gate = draw(st.sampled_from(["sigmoid", "hardsigmoid", "relu"]))
            merge = draw(st.sampled_from(["mul", "mul", "div", "sub", "add"]))
            operands = [current, f"{tag}s"]
            if draw(st.booleans()):
                operands.reverse()
            new = [{"name": f"{tag}g", "op": draw(st.sampled_from(["globalavgpool",
                                                                   "globalmaxpool"])),
                    "inputs": [current]},
                   {"name": f"{tag}d", "op": "dense", "units": draw(st.sampled_from([1, ch])),
                    "inputs": [f"{tag}g"]},
                   {"name": f"{tag}s", "op": gate, "inputs": [f"{tag}d"]},
                   {"name": tag, "op": merge, "inputs": operands}]
        elif kind == "relu":
            new = [{"name": tag, "op": draw(st.sampled_from(["relu", "identity"])), "inputs": [current]}]
        elif kind == "branch":
            # two "same"-padded paths of one stride: equal output sizes, different fields
            s = draw(st.integers(1, 2))
            ch = shapes[current][2]
            a = {"name": f"{tag}a", "op": "conv", "kernel": draw(st.integers(1, 4)), "stride": s,
                 "dilation": draw(st.integers(1, 2)), "padding": "same", "filters": ch,
                 "inputs": [current]}
            b_op = draw(st.sampled_from(["conv", "maxpool", "identity"]))
            if b_op == "identity" and s != 1:
                b_op = "maxpool"
            if b_op == "identity":
                b: dict[str, Any] = {"name": f"{tag}b", "op": "identity", "inputs": [current]}
            else:
                b = {"name": f"{tag}b", "op": b_op, "kernel": draw(st.integers(1, 3)), "stride": s,
                     "padding": "same", "inputs": [current]}
                if b_op == "conv":
                    b["filters"] = ch
            merge = draw(st.sampled_from(["add", "concat"]))
            new = [a, b, {"name": tag, "op": merge, "inputs": [f"{tag}a", f"{tag}b"]}]
        elif kind == "skip":
            # add an earlier node of the same shape (a ResNet shortcut)
            same = [name for name, shp in shapes.items() if shp == shapes[current] and name != current]
            if not same:
                continue
            other = draw(st.sampled_from(sorted(same)))
            new = [{"name": tag, "op": "add", "inputs": [current, other]}]
        elif kind == "shrink":
            # a stride-2 path and a stride-1 "valid" path of equal size: different jumps
            h, w, ch = shapes[current]
            kh, kw = h - (h + 1) // 2 + 1, w - (w + 1) // 2 + 1
            if kh > 12 or kw > 12:
                continue
            new = [
                {"name": f"{tag}a", "op": "conv", "kernel": 1, "stride": 2, "filters": ch,
                 "inputs": [current]},
                {"name": f"{tag}b", "op": "conv", "kernel": [kh, kw], "filters": ch,
                 "inputs": [current]},
                {"name": tag, "op": "add", "inputs": [f"{tag}a", f"{tag}b"]},
            ]
        trial = {**spec, "layers": spec["layers"] + new}
        got = _shapes(trial)
        if got is None:
            continue
        spec = trial
        shapes = got
        current = new[-1]["name"]
        if kind == "head":
            break
    if not spec["layers"]:
        spec["layers"] = [{"name": "only", "op": "conv", "kernel": 3, "filters": 1}]
    return spec


# --------------------------------------------------------------------------- hostile input
# What a careless or hostile page, spec or command line may hold (issue 12): digits and letters
# of every script, integers of any length, deep nesting, NaN, infinities and overflow, huge
# values. Parsers must answer each with one message naming the problem, quickly.

#: Characters Python calls digits or numbers besides 0-9: '²' passes str.isdigit() but not
#: int(); '٣' and '３' pass both; 'Ⅻ' and '½' are numeric.
unicode_digits = st.characters(categories=("Nd", "No", "Nl"), exclude_characters="0123456789")
#: Letters and digits of any script, ASCII included.
unicode_words = st.text(st.characters(categories=("L", "N", "Pc")), min_size=1, max_size=12)

#: Decimal digit strings of any length, up to beyond Python's 4,300-digit conversion limit.
long_digits = st.one_of(
    st.integers(0, 10**40).map(str),
    st.integers(4200, 6000).map(lambda n: "9" * n),
    st.integers(1, 400).map(lambda n: "1" + "0" * n),
)

#: Numbers as text, the way a page would write them: ordinary, huge, non-finite, overflowing,
#: underflowing, in other scripts, with Python-only syntax.
number_texts = st.one_of(
    st.integers(-5, 300).map(str),
    long_digits,
    long_digits.map(lambda d: "-" + d),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "NaN", "inf", "-inf", "infinity", "1e308", "1e309", "-1e400",
                     "1e-400", "5e-324", "-0", "0.0", "1_000", "0x10", "1e", ".", "+", "1/0",
                     "1e99999", "9" * 400 + ".5"]),
    st.lists(unicode_digits, min_size=1, max_size=4).map("".join),
    st.tuples(st.integers(0, 99).map(str), unicode_digits).map("".join),
)

#: Text of up to 300 KB (a page option, a spec value, a layer name).
huge_texts = st.one_of(
    st.integers(100, 300_000).map(lambda n: "x" * n),
    st.tuples(unicode_words, st.integers(1, 20_000)).map(lambda t: t[0] * t[1]),
)


def nested(depth: int, opening: str = "[", closing: str = "]") -> str:
    """``depth`` nested empty lists (or objects), as text."""
    return opening * depth + closing * depth


#: Nesting depths from harmless to far past every recursion limit.
nesting_depths = st.one_of(st.integers(1, 80), st.integers(900, 1100), st.integers(1, 100_000))


# --------------------------------------------------------------------------- 1-D and 3-D

#: Largest node side per number of spatial axes (brute force holds every unit times every
#: input position: a 3-D input of 7x7x7 has 343 positions).
ND_SIDE = {1: 64, 2: MAX_SIDE, 3: 12}
ND_INPUT = {1: (6, 40), 2: (6, 20), 3: (3, 7)}


def _shapes_nd(spec: dict[str, Any], ndim: int) -> dict[str, tuple[int, ...]] | None:
    try:
        analysis = analyze(network_from_data(spec))
    except SpecError:
        return None
    if any(max(n.shape[:ndim]) > ND_SIDE[ndim] for n in analysis):
        return None
    return {n.name: n.shape for n in analysis}


def _per_axis(draw: st.DrawFn, ndim: int, lo: int, hi: int) -> Any:
    """An integer for every axis, or a list of one per axis."""
    if draw(st.booleans()):
        return draw(st.integers(lo, hi))
    return draw(st.lists(st.integers(lo, hi), min_size=ndim, max_size=ndim))


def _axes(value: Any, ndim: int) -> list[int]:
    return list(value) if isinstance(value, list) else [value] * ndim


@st.composite
def window_layer_nd(draw: st.DrawFn, op: str, ndim: int) -> dict[str, Any]:
    k = _per_axis(draw, ndim, 1, 4 if ndim < 3 else 3)
    s = _per_axis(draw, ndim, 1, 3 if ndim < 3 else 2)
    d = _per_axis(draw, ndim, 1, 4 if ndim == 1 else 2)
    layer: dict[str, Any] = {"op": op, "kernel": k, "stride": s, "dilation": d}
    ks, ss, ds = _axes(k, ndim), _axes(s, ndim), _axes(d, ndim)
    spans = [ds[a] * (ks[a] - 1) for a in range(ndim)]
    if op == "deconv":
        limit = [max(spans[a] + 1 - ss[a], 0) for a in range(ndim)]
        layer["padding"] = [draw(st.integers(0, limit[a // 2])) for a in range(2 * ndim)]
        layer["output_padding"] = [draw(st.integers(0, max(ss[a], ds[a]) - 1))
                                   for a in range(ndim)]
        layer["filters"] = draw(st.integers(1, 3))
        return layer
    rules = ["same", "valid", "same_lower"] + (["causal", "causal"] if ndim == 1 else [])
    layer["padding"] = draw(st.one_of(
        st.sampled_from(rules),
        st.integers(0, max(spans)),
        st.lists(st.integers(0, 3), min_size=ndim, max_size=ndim),
        st.lists(st.integers(0, 3), min_size=2 * ndim, max_size=2 * ndim),
    ))
    if op == "conv":
        layer["filters"] = draw(st.integers(1, 3))
    else:
        layer["ceil_mode"] = draw(st.booleans())
    if op == "avgpool":
        layer["count_include_pad"] = draw(st.booleans())
    return layer


@st.composite
def network_specs_nd(draw: st.DrawFn, ndim: int, max_layers: int = 7) -> dict[str, Any]:
    """A long-form spec of a ``ndim``-D network (input [T, C] or [D, H, W, C]) that analyses
    without error: windows of every kind (causal padding in 1-D), pad, upsample, pointwise ops,
    branches of different kernels merged by add or concat, shortcuts, paths of different
    jumps, squeeze-excitation gates and a classifier head."""
    lo, hi = ND_INPUT[ndim]
    spec: dict[str, Any] = {
        "input": [*(draw(st.integers(lo, hi)) for _ in range(ndim)), draw(st.integers(1, 3))],
        "layers": [],
    }
    shapes: dict[str, tuple[int, ...]] = {"input": tuple(spec["input"])}
    current = "input"
    n = draw(st.integers(1, max_layers))
    counter = 0
    for _ in range(n * 3):
        if len(spec["layers"]) >= n:
            break
        kind = draw(st.sampled_from(
            ["conv", "conv", "maxpool", "avgpool", "deconv", "relu", "branch", "branch", "skip",
             "shrink", "pad", "upsample", "pointwise", "global", "head", "se"]))
        new: list[dict[str, Any]] = []
        counter += 1
        tag = f"L{counter}"
        ch = shapes[current][-1]
        if kind in ("conv", "maxpool", "avgpool", "deconv"):
            layer = draw(window_layer_nd(kind, ndim))
            layer.update(name=tag, inputs=[current])
            new = [layer]
        elif kind == "pad":
            new = [{"name": tag, "op": "pad", "inputs": [current],
                    "padding": draw(st.lists(st.integers(0, 3), min_size=2 * ndim,
                                             max_size=2 * ndim))}]
        elif kind == "upsample":
            new = [{"name": tag, "op": "upsample", "inputs": [current],
                    "factor": _per_axis(draw, ndim, 1, 3 if ndim < 3 else 2),
                    "mode": draw(st.sampled_from(["nearest", "linear"]))}]
        elif kind == "pointwise":
            new = [{"name": tag, "op": draw(st.sampled_from(POINTWISE_OPS)), "inputs": [current]}]
        elif kind == "global":
            new = [{"name": tag, "op": draw(st.sampled_from(["globalavgpool", "globalmaxpool"])),
                    "inputs": [current]}]
        elif kind == "head":
            first = draw(st.sampled_from(["flatten", "globalavgpool", "globalmaxpool"]))
            new = [{"name": f"{tag}f", "op": first, "inputs": [current]},
                   {"name": tag, "op": "dense", "units": draw(st.integers(1, 4)),
                    "inputs": [f"{tag}f"]}]
        elif kind == "se":
            operands = [current, f"{tag}s"]
            if draw(st.booleans()):
                operands.reverse()
            new = [{"name": f"{tag}g", "op": "globalavgpool", "inputs": [current]},
                   {"name": f"{tag}d", "op": "dense", "units": draw(st.sampled_from([1, ch])),
                    "inputs": [f"{tag}g"]},
                   {"name": f"{tag}s", "op": "sigmoid", "inputs": [f"{tag}d"]},
                   {"name": tag, "op": draw(st.sampled_from(["mul", "add", "sub", "div"])),
                    "inputs": operands}]
        elif kind == "relu":
            new = [{"name": tag, "op": "relu", "inputs": [current]}]
        elif kind == "branch":
            # two paths of one stride, each padded to keep ceil(n / s) (causal ones too in
            # 1-D): equal output sizes, different fields
            s = draw(st.integers(1, 2))
            rule = "causal" if ndim == 1 and draw(st.booleans()) else "same"
            a = {"name": f"{tag}a", "op": "conv", "kernel": _per_axis(draw, ndim, 1, 3),
                 "stride": s, "dilation": _per_axis(draw, ndim, 1, 2), "padding": rule,
                 "filters": ch, "inputs": [current]}
            b_op = draw(st.sampled_from(["conv", "maxpool", "identity"]))
            if b_op == "identity" and s != 1:
                b_op = "maxpool"
            if b_op == "identity":
                b: dict[str, Any] = {"name": f"{tag}b", "op": "identity", "inputs": [current]}
            else:
                b = {"name": f"{tag}b", "op": b_op, "kernel": _per_axis(draw, ndim, 1, 3),
                     "stride": s, "padding": "same", "inputs": [current]}
                if b_op == "conv":
                    b["filters"] = ch
            merge = draw(st.sampled_from(["add", "concat"]))
            new = [a, b, {"name": tag, "op": merge, "inputs": [f"{tag}a", f"{tag}b"]}]
        elif kind == "skip":
            same = [m for m, shp in shapes.items() if shp == shapes[current] and m != current]
            if not same:
                continue
            new = [{"name": tag, "op": "add",
                    "inputs": [current, draw(st.sampled_from(sorted(same)))]}]
        elif kind == "shrink":
            # a stride-2 path and a stride-1 "valid" path of equal size: different jumps
            sizes = shapes[current][:-1]
            ks = [m - (m + 1) // 2 + 1 for m in sizes]
            if max(ks) > 12:
                continue
            new = [{"name": f"{tag}a", "op": "conv", "kernel": 1, "stride": 2, "filters": ch,
                    "inputs": [current]},
                   {"name": f"{tag}b", "op": "conv", "kernel": ks, "filters": ch,
                    "inputs": [current]},
                   {"name": tag, "op": "add", "inputs": [f"{tag}a", f"{tag}b"]}]
        trial = {**spec, "layers": spec["layers"] + new}
        got = _shapes_nd(trial, ndim)
        if got is None:
            continue
        spec = trial
        shapes = got
        current = new[-1]["name"]
        if kind == "head":
            break
    if not spec["layers"]:
        spec["layers"] = [{"name": "only", "op": "conv", "kernel": 1, "filters": 1}]
    return spec
