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
