"""The engine on sequences (1-D) and volumes (3-D): convolutions, transposed convolutions and
pools against loop references written from the definitions (tests/reference.py), every op of
small 1-D and 3-D networks against onnxruntime (the network written out as ONNX node by node,
tests/forward_models.py), the backward pass against finite differences and torch autograd,
and the ERF maps' shapes and supports against the receptive-field analysis."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rfdocs.compute import conv
from rfdocs.compute.erf import erf_random, erf_uniform, input_gradient
from rfdocs.compute.forward import forward, forward_cost, layer_weights
from rfdocs.compute.receptive import analyze
from rfdocs.compute.spec import Network, parse_spec
from tests import reference as ref

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
Arr = np.ndarray[Any, Any]


def close(got: Any, want: Any) -> None:
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)


# --------------------------------------------------------------------------- window ops


@st.composite
def windows(draw: st.DrawFn, ndim: int, max_size: int) -> dict[str, Any]:
    def axes(lo: int, hi: int) -> tuple[int, ...]:
        return tuple(draw(st.integers(lo, hi)) for _ in range(ndim))

    groups = draw(st.sampled_from([1, 1, 2]))
    return {"size": axes(1, max_size), "kernel": axes(1, 3), "stride": axes(1, 3),
            "dilation": axes(1, 2), "pads": axes(0, 2) + axes(0, 2), "groups": groups,
            "cin": groups * draw(st.integers(1, 2)), "cout": groups * draw(st.integers(1, 2)),
            "seed": draw(st.integers(0, 2**31))}


def interleave(pads: tuple[int, ...]) -> tuple[int, ...]:
    """(b0, b1, .., a0, a1, ..) -> (b0, a0, b1, a1, ..)."""
    n = len(pads) // 2
    return tuple(v for a in range(n) for v in (pads[a], pads[n + a]))


def conv_fits(g: dict[str, Any], pads: tuple[int, ...]) -> bool:
    return all(conv.conv_size(n, g["kernel"][a], g["stride"][a], g["dilation"][a], pads[2 * a],
                              pads[2 * a + 1]) >= 1 for a, n in enumerate(g["size"]))


@SETTINGS
@given(st.sampled_from([1, 3]).flatmap(lambda nd: windows(nd, 7 if nd == 1 else 4)),
       st.booleans())
def test_conv_and_its_transpose_match_the_reference(g: dict[str, Any], batch: bool) -> None:
    pads = interleave(g["pads"])
    assume(conv_fits(g, pads))
    rng = np.random.default_rng(g["seed"])
    x = rng.standard_normal((*g["size"], g["cin"]))
    w = rng.standard_normal((*g["kernel"], g["cin"] // g["groups"], g["cout"]))
    b = rng.standard_normal(g["cout"])
    kw = {"stride": g["stride"], "pads": pads, "dilation": g["dilation"]}
    got = conv.conv(x[None] if batch else x, w, b, groups=g["groups"], **kw)
    want = ref.conv_nd(x, w, g["stride"], pads, g["dilation"], g["groups"]) + b
    close(got[0] if batch else got, want)
    # the transpose: against its scatter reference, and the adjoint of the conv
    rest = tuple(n + pads[2 * a] + pads[2 * a + 1] - g["dilation"][a] * (g["kernel"][a] - 1)
                 - 1 - (want.shape[a] - 1) * g["stride"][a] for a, n in enumerate(g["size"]))
    dy = rng.standard_normal(want.shape)
    wt = np.swapaxes(w, -1, -2)
    back = conv.conv_transpose(dy, wt, output_padding=rest, groups=g["groups"], **kw)
    close(back, ref.conv_transpose_nd(dy, wt, g["stride"], pads, g["dilation"], rest,
                                      g["groups"]))
    assert back.shape == x.shape
    np.testing.assert_allclose(np.vdot(want - b, dy), np.vdot(x, back), rtol=1e-9, atol=1e-9)


@SETTINGS
@given(st.sampled_from([1, 3]).flatmap(lambda nd: windows(nd, 7 if nd == 1 else 4)),
       st.booleans(), st.booleans())
def test_pools_match_the_reference_and_their_backward(g: dict[str, Any], ceil_mode: bool,
                                                      include: bool) -> None:
    pads = interleave(g["pads"])
    sizes = [conv.pool_size(n, g["kernel"][a], g["stride"][a], g["dilation"][a], pads[2 * a],
                            pads[2 * a + 1], ceil_mode) for a, n in enumerate(g["size"])]
    assume(min(sizes) >= 1)
    rng = np.random.default_rng(g["seed"])
    x = rng.standard_normal((*g["size"], g["cin"]))
    kw: dict[str, Any] = {"stride": g["stride"], "pads": pads, "dilation": g["dilation"],
                          "ceil_mode": ceil_mode}
    avg = conv.avg_pool(x, g["kernel"], count_include_pad=include, **kw)
    close(avg, ref.pool_nd(x, g["kernel"], g["stride"], pads, g["dilation"], ceil_mode, "avg",
                           include))
    dy = rng.standard_normal(avg.shape)
    back = conv.avg_pool_backward(dy, g["size"], g["kernel"], count_include_pad=include, **kw)
    np.testing.assert_allclose(np.vdot(avg, dy), np.vdot(x, back), rtol=1e-9, atol=1e-9)
    want = ref.pool_nd(x, g["kernel"], g["stride"], pads, g["dilation"], ceil_mode, "max")
    if np.isneginf(want).any():  # a window wholly in the padding: refused
        with pytest.raises(ValueError, match="wholly in the padding"):
            conv.max_pool(x, g["kernel"], **kw)
        return
    close(conv.max_pool(x, g["kernel"], **kw), want)
    # backward: each window's gradient to its maximum (ties have probability 0)
    got = conv.max_pool_backward(x, dy, g["kernel"], **kw)
    eps = 1e-6
    numeric = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        bumped = x.copy()
        bumped[idx] += eps
        numeric[idx] = np.vdot(ref.pool_nd(bumped, g["kernel"], g["stride"], pads,
                                           g["dilation"], ceil_mode, "max") - want, dy) / eps
    np.testing.assert_allclose(got, numeric, rtol=1e-4, atol=1e-5)


def test_one_dimensional_ops_are_two_dimensional_ones_of_unit_height() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 11, 4))
    w = rng.standard_normal((3, 2, 6))
    one = conv.conv(x, w, stride=2, pads=(2, 1), dilation=2, groups=2)
    two = conv.conv2d(x[:, None], w[None], stride=(1, 2), pads=(0, 0, 2, 1), dilation=(1, 2),
                      groups=2)[:, 0]
    np.testing.assert_array_equal(one, two)
    pooled = conv.max_pool(x, (3,), stride=(2,), pads=(1, 1), ceil_mode=True)
    np.testing.assert_array_equal(pooled, conv.max_pool2d(
        x[:, None], (1, 3), stride=(1, 2), pads=(0, 0, 1, 1), ceil_mode=True)[:, 0])


def test_window_ops_refuse_wrong_dimensions() -> None:
    with pytest.raises(ValueError, match=r"\(D, H, W, C\) or \(N, D, H, W, C\)"):
        conv.conv(np.zeros((4, 4, 2)), np.zeros((1, 1, 1, 2, 2)))
    with pytest.raises(ValueError, match="stride must be an integer or 3 integers"):
        conv.conv(np.zeros((4, 4, 4, 2)), np.zeros((1, 1, 1, 2, 2)), stride=(1, 1))
    with pytest.raises(ValueError, match="pads must be 2 "):
        conv.conv(np.zeros((4, 2)), np.zeros((1, 2, 2)), pads=(0, 0, 0, 0))
    with pytest.raises(ValueError, match="does not fit the 2x4x4 input"):
        conv.conv3d(np.zeros((2, 4, 4, 1)), np.zeros((3, 1, 1, 1, 1)))
    with pytest.raises(ValueError, match="output slice 0 lies wholly in the padding"):
        conv.max_pool(np.zeros((2, 4, 4, 1)), (1, 1, 1), stride=1, pads=(1, 0, 0, 0, 0, 0))
    with pytest.raises(ValueError, match="max_bytes"):
        conv.conv3d(np.zeros((16, 32, 32, 8)), np.zeros((3, 3, 3, 8, 8)), max_bytes=100_000)


# --------------------------------------------------------------------------- onnxruntime

CASES_1D = {
    "conv_pads_stride_dilation": "input 17x3\nconv 3 /2 x4 pad 1,2 dil 2\nconv 4 /1 x5 pad 0,3",
    "conv_groups_depthwise": "input 12x4\nconv 3 /1 x6 pad 1 groups 2\nconv 5 /2 x6 pad 2 "
                             "groups 6 dil 2\nconv 1 /2 x3",
    "conv_causal_stack": "input 20x2\nconv 2 /1 x4 dil 1 causal\nconv 2 /1 x4 dil 2 causal\n"
                         "conv 2 /1 x4 dil 4 causal\nconv 3 /2 x4 pad same\nconv 3 /1 x4 pad same_lower",
    "deconv": "input 7x3\ndeconv 3 /2 x4 pad 1 outpad 1\ndeconv 4 /3 x2 pad 0,2 dil 2 "
              "outpad 2",
    "maxpool": "input 17x3\nmaxpool 3 /2 pad 1\nmaxpool 2 /2 ceil\nmaxpool 3 /1 dil 2",
    "avgpool": "input 13x3\navgpool 3 /2 pad 1\navgpool 3 /2 pad 1 exclude_pad ceil\n"
               "avgpool 2 /2 ceil",
    "pad_upsample": "input 6x3\npad 1,2 value 0.5\nupsample 3\nupsample 2 mode linear",
    "pointwise_batchnorm": "input 9x4\nbatchnorm\nprelu\nleakyrelu alpha 0.2\nsoftmax",
    "global_flatten_dense": "input 9x4\nc: conv 3 x5 pad 1\nga: globalavgpool\nmx: globalmaxpool "
                            "from c\nadd ga mx\nf: flatten from c\nd: dense x3",
    "broadcast_merges": "input 8x4\nc: conv 3 x4 pad 1\nga: globalavgpool\none: conv 1 x1 from c\n"
                        "add c ga one\nsub c one\nmul c ga\nconcat c input",
}

CASES_3D = {
    "conv_pads_stride_dilation": "input 5x6x7x2\nconv 3x3x2 /2x1x2 x3 pad 1,0,2,1,0,1 "
                                 "dil 1x2x1\nconv 1x2x3 /1 x4 pad 0,1,1",
    "conv_groups": "input 4x5x5x4\nconv 3x3x3 /1 x6 pad 1 groups 2\nconv 3 /2 x6 pad 1 groups 6",
    "conv_pointwise_same": "input 4x6x6x3\nconv 1 /2 x4\nconv 3x2x3 /2 x3 pad same",
    "deconv": "input 3x3x4x3\ndeconv 3x3x3 /2 x2 pad 1 outpad 1\ndeconv 2x3x2 /1x2x2 x2 "
              "pad 0,1,1,0,0,1 dil 2x1x1",
    "maxpool": "input 5x7x6x2\nmaxpool 3 /2 pad 1\nmaxpool 2x2x1 /1x2x1 ceil",
    "avgpool": "input 5x7x6x2\navgpool 3 /2 pad 1\navgpool 2 /2 pad 1,0,0 exclude_pad ceil",
    "pad_upsample": "input 2x3x3x2\npad 1,0,2,1,0,1 value -1\nupsample 2x1x3\nupsample 1x2x1",
    "global_flatten_dense": "input 3x4x4x3\nc: conv 3 x4 pad 1\nga: globalavgpool\nmx: "
                            "globalmaxpool from c\nadd ga mx\nf: flatten from c\nd: dense x3",
    "broadcast_merges": "input 3x4x4x2\nc: conv 3 x3 pad 1\nga: globalavgpool\none: conv 1 x1 "
                        "from c\nadd c ga one\ndiv c one\nmul c ga",
}


def onnx_reference() -> Any:
    pytest.importorskip("onnx", reason="onnx is not installed (pip install onnx): no reference")
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed: no reference")
    from tests.forward_models import ort_forward, random_params

    return ort_forward, random_params


def assert_close(got: Arr, want: Arr, what: str) -> None:
    assert got.shape == want.shape, what
    scale = float(np.abs(want).max()) if want.size else 0.0
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * max(scale, 1e-30),
                               err_msg=what)


@pytest.mark.parametrize("case", [f"1d:{k}" for k in CASES_1D] + [f"3d:{k}" for k in CASES_3D])
def test_every_op_in_one_and_three_dimensions_matches_onnxruntime(case: str) -> None:
    ort_forward, random_params = onnx_reference()
    dims, name = case.split(":")
    spec = (CASES_1D if dims == "1d" else CASES_3D)[name]
    net = random_params(parse_spec(spec), 0)
    x = np.random.default_rng(1).standard_normal((2, *net.input)).astype(np.float32)
    got, want = forward(net, x), ort_forward(net, x)
    assert set(want) <= set(got)
    shapes = {node.name: node.shape for node in analyze(net)}
    for layer, value in want.items():
        assert got[layer].shape[1:] == shapes[layer], layer
        assert got[layer].dtype == np.float32
        assert_close(got[layer], value, f"{case}: layer {layer}")


def test_linear_upsampling_in_three_dimensions_matches_onnxruntime() -> None:
    ort_forward, random_params = onnx_reference()
    net = random_params(parse_spec("input 2x3x4x2\nupsample 2x3x2 mode linear"), 0)
    x = np.random.default_rng(1).standard_normal((1, *net.input)).astype(np.float32)
    try:
        want = ort_forward(net, x)
    except Exception as err:  # noqa: BLE001 - an onnxruntime build without 5-D linear Resize
        pytest.skip(f"onnxruntime cannot run a trilinear Resize here: {err}")
    assert_close(forward(net, x)["upsample1"], want["upsample1"], "trilinear")


# --------------------------------------------------------------------------- backward

GRAD_NETS = {
    "1d": "input 10x2\nc: conv 3 /1 x3 pad 1 dil 2\nr: relu\nm: maxpool 2 /2 ceil\n"
          "a: avgpool 3 /1 pad 1 exclude_pad\nd: deconv 3 /2 x2 pad 1 outpad 1\n"
          "p: pad 1,0 value 0.2\nu: upsample 2 mode linear\nga: globalavgpool from a\n"
          "s: sigmoid\nmul a s\nc2: conv 2 x2 causal dil 2\nflatten\ndense x2",
    "3d": "input 4x4x5x2\nc: conv 3x2x3 /1 x3 pad 1,1,0,1,1,1\nr: relu\nm: maxpool 2 /1x2x2 "
          "ceil\na: avgpool 3 /1 pad 1 exclude_pad\nd: deconv 2x3x3 /2x1x2 x2 pad 0,1,1 outpad "
          "1x0x1\np: pad 1,0,0,1,0,1\nu: upsample 1x2x1 mode linear\ngm: globalmaxpool from a\n"
          "mul a gm\nflatten\ndense x2",
}


@pytest.mark.parametrize("dims", sorted(GRAD_NETS))
def test_input_gradient_matches_finite_differences(dims: str) -> None:
    net = parse_spec(GRAD_NETS[dims])
    weights = layer_weights(net, seed=2)
    x = np.random.default_rng(0).standard_normal(net.input)
    got = input_gradient(net, x, weights, unit=(0,) * net.ndim)
    out = net.layers[-1].name

    def total(image: Arr) -> float:
        return float(forward(net, image, weights)[out].sum())

    eps = 1e-6
    numeric = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += eps
        down[idx] -= eps
        numeric[idx] = (total(up) - total(down)) / (2 * eps)
    assert np.abs(got).max() > 0
    np.testing.assert_allclose(got, numeric, rtol=1e-5, atol=1e-7)


def test_input_gradient_against_torch_autograd() -> None:
    torch = pytest.importorskip("torch", reason="torch is not installed: no autograd reference")
    functional = torch.nn.functional
    rng = np.random.default_rng(5)
    for spec, build in (
        ("input 12x3\nc: conv 3 /2 x4 pad 1,1 dil 2\nrelu\nm: maxpool 2 /2\n"
         "d: deconv 3 /2 x2 pad 1", "1d"),
        ("input 6x6x5x3\nc: conv 3 /2 x4 pad 1,1,1\nrelu\nm: maxpool 2 /1\n"
         "d: deconv 3 /2 x2 pad 1", "3d"),
    ):
        net = parse_spec(spec)
        weights = layer_weights(net, seed=1)
        x = rng.standard_normal(net.input)
        nd = net.ndim
        got = input_gradient(net, x, weights, unit=(1,) * nd)
        conv_f = functional.conv1d if nd == 1 else functional.conv3d
        deconv_f = functional.conv_transpose1d if nd == 1 else functional.conv_transpose3d
        pool_f = functional.max_pool1d if nd == 1 else functional.max_pool3d
        move = (nd + 1, nd, *range(nd))
        t = torch.tensor(np.moveaxis(x, -1, 0)[None], requires_grad=True)
        wc = torch.tensor(weights["c"]["weight"].transpose(move))
        wd = torch.tensor(weights["d"]["weight"].transpose(nd, nd + 1, *range(nd)))
        y = functional.relu(conv_f(t, wc, stride=2, padding=1, dilation=2 if nd == 1 else 1))
        y = pool_f(y, 2, stride=2 if nd == 1 else 1)
        y = deconv_f(y, wd, stride=2, padding=1)
        y[(0, slice(None), *(1,) * nd)].sum().backward()
        want = np.moveaxis(t.grad[0].numpy(), 0, -1)
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-10, err_msg=build)


# --------------------------------------------------------------------------- ERF maps


def wavenet(blocks: int = 4) -> Network:
    lines = ["input 40x1", "conv 2 /1 x4 causal"]
    lines += [f"conv 2 /1 x4 dil {2 ** i} causal\nrelu" for i in range(blocks)]
    return parse_spec("\n".join(lines))


def test_erf_of_a_causal_stack_is_its_receptive_field() -> None:
    net = wavenet(4)  # kernel 2, dilations 1, 2, 4, 8 after a causal conv: 1 + 1 + 15 = 17
    last = analyze(net).output
    for unit in (39, 20, 3):
        uniform = erf_uniform(net, unit=(unit,))
        assert uniform.shape == (40,)
        lo, hi = last.box(unit)[0]
        support = np.flatnonzero(uniform)
        assert (support.min(), support.max()) == (max(int(lo), 0), int(hi)) == (
            max(unit - 16, 0), unit)
        if unit >= 16:  # the whole field inside: 4 filters, each an average
            np.testing.assert_allclose(uniform.sum(), 4.0)
        else:  # part of it in the causal padding, which adds nothing
            assert 0 < uniform.sum() < 4.0
    random = erf_random(net, unit=(39,))
    assert random.shape == (40,) and not random[:39 - 16].any() and random[39] != 0


def test_erf_maps_of_volumes_have_the_input_shape_and_the_field_as_support() -> None:
    net = parse_spec("input 6x9x8x2\nconv 3 /1 x3 pad 1\nconv 3x1x3 /2 x3 pad 1,0,1\n"
                     "maxpool 2 /1")
    info = analyze(net).output
    unit = (1, 2, 1)
    uniform = erf_uniform(net, unit=unit)
    assert uniform.shape == (6, 9, 8)
    nonzero = np.nonzero(uniform)
    box = info.box(*unit)
    for axis in range(3):
        lo, hi = (max(int(v), 0) for v in box[axis])
        hi = min(hi, net.input[axis] - 1)
        assert (nonzero[axis].min(), nonzero[axis].max()) == (lo, hi), axis
    random = erf_random(net, unit=unit)
    assert random.shape == (6, 9, 8)
    assert set(zip(*np.nonzero(random), strict=True)) <= set(zip(*nonzero, strict=True))
    with pytest.raises(ValueError, match="outside the 2x4x3 output"):
        erf_uniform(net, unit=(3, 0, 0))


def test_forward_cost_counts_three_dimensional_work() -> None:
    net = parse_spec("input 4x6x6x3\nconv 3x3x3 /1 x5 pad 1\nmaxpool 2 /2\nflatten\ndense x2")
    work, peak = forward_cost(net, batch=2)
    conv_work = 2 * 4 * 6 * 6 * 5 * 27 * 3
    pool_work = 2 * 2 * 3 * 3 * 5 * 8
    dense_work = 2 * (2 * 3 * 3 * 5) * 2
    flatten_work = 2 * 2 * 3 * 3 * 5
    assert work == conv_work + pool_work + dense_work + flatten_work
    x = np.random.default_rng(0).standard_normal((2, *net.input))
    acts = forward(net, x)
    assert peak >= sum(a.nbytes for a in acts.values())


def test_forward_refuses_inputs_of_another_dimension() -> None:
    net = parse_spec("input 8x2\nconv 3 x2")
    with pytest.raises(ValueError, match=r"\(T, C\) or \(N, T, C\) input for this 1-D network"):
        forward(net, np.zeros((1, 8, 8, 2)))
    with pytest.raises(ValueError, match="takes 2 input channels"):
        forward(net, np.zeros((8, 3)))
    assert forward(replace(net), np.zeros((8, 2)))["conv1"].shape == (6, 2)
