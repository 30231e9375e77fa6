"""The convolution engine against the loop-based reference, PyTorch (when present) and itself
(adjoint identities, finite differences)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rfdocs.compute import conv
from rfdocs.compute.receptive import window_size
from rfdocs.compute.spec import Layer
from tests import reference as ref

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def close(got: Any, want: Any) -> None:
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-9)


@dataclass(frozen=True)
class Geometry:
    """One random window configuration (sizes, pads and channels)."""

    h: int
    w: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pads: tuple[int, int, int, int]
    cin: int
    cout: int
    groups: int
    seed: int


@st.composite
def geometries(draw: st.DrawFn, max_size: int = 8, max_kernel: int = 4) -> Geometry:
    kernel = (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
    stride = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))  # may exceed the kernel
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pads = tuple(draw(st.integers(0, 3)) for _ in range(4))
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    cin = groups * draw(st.integers(1, 3))
    cout = groups * draw(st.integers(1, 2))
    if draw(st.booleans()) and groups > 1:  # depthwise: one input channel per group
        cin = groups
    h = draw(st.integers(1, max_size))
    w = draw(st.integers(1, max_size))
    return Geometry(h, w, kernel, stride, dilation, (pads[0], pads[1], pads[2], pads[3]),
                    cin, cout, groups, draw(st.integers(0, 2**31)))


def fits(g: Geometry) -> bool:
    return all(conv.conv_size(n, g.kernel[a], g.stride[a], g.dilation[a], g.pads[2 * a],
                              g.pads[2 * a + 1]) >= 1 for a, n in enumerate((g.h, g.w)))


# --------------------------------------------------------------------------- conv2d


@SETTINGS
@given(geometries(), st.booleans())
def test_conv2d_matches_reference(g: Geometry, with_bias: bool) -> None:
    assume(fits(g))
    rng = np.random.default_rng(g.seed)
    x = rng.standard_normal((g.h, g.w, g.cin))
    w = rng.standard_normal((*g.kernel, g.cin // g.groups, g.cout))
    b = rng.standard_normal(g.cout) if with_bias else None
    got = conv.conv2d(x, w, b, stride=g.stride, pads=g.pads, dilation=g.dilation,
                      groups=g.groups)
    close(got, ref.conv2d(x, w, b, g.stride, g.pads, g.dilation, g.groups))


@SETTINGS
@given(geometries(), st.integers(1, 2))
def test_conv2d_strategies_agree(g: Geometry, batch: int) -> None:
    """im2col, the per-tap fallback and (for depthwise) the in-place taps give the same result."""
    assume(fits(g))
    rng = np.random.default_rng(g.seed)
    xp = rng.standard_normal((batch, g.h + g.pads[0] + g.pads[1], g.w + g.pads[2] + g.pads[3],
                              g.cin))
    w = rng.standard_normal((*g.kernel, g.cin // g.groups, g.cout))
    ho = conv.conv_size(g.h, g.kernel[0], g.stride[0], g.dilation[0], g.pads[0], g.pads[1])
    wo = conv.conv_size(g.w, g.kernel[1], g.stride[1], g.dilation[1], g.pads[2], g.pads[3])
    geometry = (ho, wo, *g.stride, *g.dilation)
    taps = conv._correlate_taps(xp, w, geometry, g.groups)
    assert taps.shape == (batch, ho, wo, g.cout)
    close(conv._correlate_im2col(xp, w, geometry, g.groups), taps)
    if g.cin == g.groups:
        close(conv._correlate_depthwise(xp, w, geometry, g.groups), taps)


def test_conv2d_falls_back_to_taps_under_a_small_max_bytes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((10, 10, 4)).astype(np.float32)
    w = rng.standard_normal((3, 3, 4, 2)).astype(np.float32)
    roomy = conv.conv2d(x, w)
    # 8000 bytes hold the padded input and the output, not the 64 x 36 column matrix

    def refuse(*args: Any) -> Any:
        raise AssertionError("im2col used above max_bytes")

    monkeypatch.setattr(conv, "_correlate_im2col", refuse)
    small = conv.conv2d(x, w, max_bytes=8_000)
    assert small.dtype == roomy.dtype == np.float32
    np.testing.assert_allclose(small, roomy, rtol=1e-5, atol=1e-5)
    close(roomy, ref.conv2d(x.astype(np.float64), w.astype(np.float64), None, (1, 1),
                            (0, 0, 0, 0), (1, 1), 1))


def test_conv2d_batch_axis_and_one_by_one() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 5, 4, 6))
    w = rng.standard_normal((1, 1, 6, 2))
    got = conv.conv2d(x, w, stride=(2, 1), pads=(1, 0, 0, 2))
    assert got.shape == (3, 3, 6, 2)
    for k in range(3):
        close(got[k], ref.conv2d(x[k], w, None, (2, 1), (1, 0, 0, 2), (1, 1), 1))


def test_conv2d_keeps_float32_and_promotes_ints() -> None:
    x32 = np.ones((4, 4, 2), np.float32)
    assert conv.conv2d(x32, np.ones((3, 3, 2, 1), np.float32)).dtype == np.float32
    y = conv.conv2d(np.ones((4, 4, 2), np.int64), np.ones((3, 3, 2, 1), np.int64))
    assert y.dtype == np.float64
    close(y, np.full((2, 2, 1), 18.0))


def test_conv2d_rejects_bad_shapes_and_huge_work() -> None:
    with pytest.raises(ValueError, match="groups"):
        conv.conv2d(np.zeros((4, 4, 3)), np.zeros((3, 3, 2, 2)), groups=1)
    with pytest.raises(ValueError, match="does not fit"):
        conv.conv2d(np.zeros((2, 2, 1)), np.zeros((3, 3, 1, 1)))
    with pytest.raises(ValueError, match="max_bytes"):
        conv.conv2d(np.zeros((64, 64, 8)), np.zeros((3, 3, 8, 8)), max_bytes=100_000)


# --------------------------------------------------------------------------- transposed


@SETTINGS
@given(geometries(max_size=6), st.data())
def test_conv_transpose2d_matches_reference(g: Geometry, data: st.DataObject) -> None:
    op = tuple(data.draw(st.integers(0, max(g.stride[a], g.dilation[a]) - 1)) for a in range(2))
    sizes = [conv.conv_transpose_size(n, g.kernel[a], g.stride[a], g.dilation[a], g.pads[2 * a],
                                      g.pads[2 * a + 1], op[a]) for a, n in enumerate((g.h, g.w))]
    assume(min(sizes) >= 1)
    rng = np.random.default_rng(g.seed)
    x = rng.standard_normal((g.h, g.w, g.cin))
    w = rng.standard_normal((*g.kernel, g.cin, g.cout // g.groups))
    b = rng.standard_normal(g.cout)
    got = conv.conv_transpose2d(x, w, b, stride=g.stride, pads=g.pads, dilation=g.dilation,
                                output_padding=(op[0], op[1]), groups=g.groups)
    assert got.shape == (*sizes, g.cout)
    close(got, ref.conv_transpose2d(x, w, b, g.stride, g.pads, g.dilation, (op[0], op[1]),
                                    g.groups))


@SETTINGS
@given(geometries(max_size=12, max_kernel=5))
def test_conv_transpose_is_the_adjoint_of_conv(g: Geometry) -> None:
    """<conv(x), y> == <x, convT(y)> with the transposed weight, convT sized back to x."""
    assume(fits(g))
    rng = np.random.default_rng(g.seed)
    x = rng.standard_normal((2, g.h, g.w, g.cin))
    w = rng.standard_normal((*g.kernel, g.cin // g.groups, g.cout))
    kw: dict[str, Any] = {"stride": g.stride, "pads": g.pads, "dilation": g.dilation,
                          "groups": g.groups}
    y = conv.conv2d(x, w, **kw)
    dy = rng.standard_normal(y.shape)
    rest = tuple(n + g.pads[2 * a] + g.pads[2 * a + 1] - g.dilation[a] * (g.kernel[a] - 1) - 1
                 - (y.shape[1 + a] - 1) * g.stride[a] for a, n in enumerate((g.h, g.w)))
    back = conv.conv_transpose2d(dy, w.transpose(0, 1, 3, 2), output_padding=rest, **kw)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.vdot(y, dy), np.vdot(x, back), rtol=1e-9, atol=1e-9)


def test_conv_transpose2d_rejects_cropping_everything() -> None:
    with pytest.raises(ValueError, match="crop"):
        conv.conv_transpose2d(np.zeros((1, 1, 1)), np.zeros((1, 1, 1, 1)), pads=(1, 1, 0, 0))


# --------------------------------------------------------------------------- pooling


@st.composite
def pool_cases(draw: st.DrawFn) -> tuple[Geometry, bool]:
    g = draw(geometries(max_size=9))
    return g, draw(st.booleans())


def pool_fits(g: Geometry, ceil_mode: bool) -> bool:
    return all(conv.pool_size(n, g.kernel[a], g.stride[a], g.dilation[a], g.pads[2 * a],
                              g.pads[2 * a + 1], ceil_mode) >= 1
               for a, n in enumerate((g.h, g.w)))


def has_empty_window(g: Geometry, ceil_mode: bool) -> bool:
    """Some max-pool window lies wholly in the padding (the engine refuses those)."""
    return any(conv.empty_window(n, g.kernel[a], g.stride[a], g.dilation[a], g.pads[2 * a],
                                 conv.pool_size(n, g.kernel[a], g.stride[a], g.dilation[a],
                                                g.pads[2 * a], g.pads[2 * a + 1], ceil_mode))
               is not None for a, n in enumerate((g.h, g.w)))


@SETTINGS
@given(pool_cases())
def test_max_pool2d_matches_reference(case: tuple[Geometry, bool]) -> None:
    g, ceil_mode = case
    assume(pool_fits(g, ceil_mode))
    x = np.random.default_rng(g.seed).standard_normal((g.h, g.w, g.cin))
    want = ref.max_pool2d(x, g.kernel, g.stride, g.pads, g.dilation, ceil_mode)
    if has_empty_window(g, ceil_mode):  # the reference has -inf there: no input to take
        assert np.any(np.isneginf(want))
        with pytest.raises(ValueError, match="wholly in the padding"):
            conv.max_pool2d(x, g.kernel, stride=g.stride, pads=g.pads, dilation=g.dilation,
                            ceil_mode=ceil_mode)
        return
    got = conv.max_pool2d(x, g.kernel, stride=g.stride, pads=g.pads, dilation=g.dilation,
                          ceil_mode=ceil_mode)
    assert got.shape == want.shape and np.all(np.isfinite(want))
    close(got, want)


def test_max_pool2d_propagates_nan() -> None:
    """As PyTorch does (ONNX Runtime keeps the first NaN only)."""
    x = np.array([[[1.0], [np.nan], [3.0], [2.0]]])
    got = conv.max_pool2d(x, (1, 2), stride=(1, 2), pads=(0, 0, 0, 0))
    np.testing.assert_array_equal(got[0, :, 0], [np.nan, 3.0])
    np.testing.assert_array_equal(ref.max_pool2d(x, (1, 2), (1, 2), (0, 0, 0, 0), (1, 1),
                                                 False)[0, :, 0], [np.nan, 3.0])


@SETTINGS
@given(pool_cases(), st.booleans())
def test_avg_pool2d_matches_reference(case: tuple[Geometry, bool], include: bool) -> None:
    g, ceil_mode = case
    assume(pool_fits(g, ceil_mode))
    x = np.random.default_rng(g.seed).standard_normal((g.h, g.w, g.cin))
    got = conv.avg_pool2d(x, g.kernel, stride=g.stride, pads=g.pads, dilation=g.dilation,
                          ceil_mode=ceil_mode, count_include_pad=include)
    close(got, ref.avg_pool2d(x, g.kernel, g.stride, g.pads, g.dilation, ceil_mode, include))


@SETTINGS
@given(pool_cases(), st.sampled_from(["conv", "maxpool", "avgpool", "deconv"]))
def test_output_sizes_agree_with_the_shape_analysis(case: tuple[Geometry, bool], op: str) -> None:
    g, ceil_mode = case
    layer = Layer(name="l", op=op, kernel=g.kernel, stride=g.stride, padding=g.pads,
                  dilation=g.dilation, ceil_mode=ceil_mode and op in ("maxpool", "avgpool"),
                  output_padding=(0, 0))
    for a, n in enumerate((g.h, g.w)):
        before, after = g.pads[2 * a], g.pads[2 * a + 1]
        k, s, d = g.kernel[a], g.stride[a], g.dilation[a]
        if op == "conv":
            mine = conv.conv_size(n, k, s, d, before, after)
        elif op == "deconv":
            mine = conv.conv_transpose_size(n, k, s, d, before, after, 0)
        else:
            mine = conv.pool_size(n, k, s, d, before, after, layer.ceil_mode)
        assert mine == window_size(layer, n, a, before, after)
        if mine >= 1 and op != "deconv":
            assert mine == ref.out_size(n, k, s, d, before, after, layer.ceil_mode)


@SETTINGS
@given(pool_cases(), st.booleans())
def test_avg_pool2d_backward_is_the_adjoint(case: tuple[Geometry, bool], include: bool) -> None:
    g, ceil_mode = case
    assume(pool_fits(g, ceil_mode))
    rng = np.random.default_rng(g.seed)
    x = rng.standard_normal((2, g.h, g.w, g.cin))
    kw: dict[str, Any] = {"stride": g.stride, "pads": g.pads, "dilation": g.dilation,
                          "ceil_mode": ceil_mode, "count_include_pad": include}
    y = conv.avg_pool2d(x, g.kernel, **kw)
    dy = rng.standard_normal(y.shape)
    back = conv.avg_pool2d_backward(dy, (g.h, g.w), g.kernel, **kw)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.vdot(y, dy), np.vdot(x, back), rtol=1e-9, atol=1e-9)


@SETTINGS
@given(pool_cases())
def test_max_pool2d_backward_matches_finite_differences(case: tuple[Geometry, bool]) -> None:
    g, ceil_mode = case
    assume(pool_fits(g, ceil_mode) and not has_empty_window(g, ceil_mode))
    rng = np.random.default_rng(g.seed)
    x = rng.standard_normal((g.h, g.w, 1))
    kw: dict[str, Any] = {"stride": g.stride, "pads": g.pads, "dilation": g.dilation,
                          "ceil_mode": ceil_mode}
    y = ref.max_pool2d(x, g.kernel, g.stride, g.pads, g.dilation, ceil_mode)
    dy = rng.standard_normal(y.shape)
    got = conv.max_pool2d_backward(x, dy, g.kernel, **kw)
    finite = np.isfinite(y)
    eps = 1e-6
    want = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        bumped = x.copy()
        bumped[idx] += eps
        yb = ref.max_pool2d(bumped, g.kernel, g.stride, g.pads, g.dilation, ceil_mode)
        want[idx] = np.sum((np.where(finite, yb, 0.0) - np.where(finite, y, 0.0)) * dy) / eps
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_max_pool2d_backward_picks_the_first_tie() -> None:
    x = np.zeros((2, 2, 1))
    got = conv.max_pool2d_backward(x, np.ones((1, 1, 1)), (2, 2), stride=(2, 2),
                                   pads=(0, 0, 0, 0))
    np.testing.assert_array_equal(got[..., 0], [[1, 0], [0, 0]])


def test_pools_refuse_huge_work_and_windows_that_do_not_fit() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        conv.max_pool2d(np.zeros((64, 64, 8)), (2, 2), stride=(2, 2), pads=(0, 0, 0, 0),
                        max_bytes=10_000)
    with pytest.raises(ValueError, match="does not fit"):
        conv.avg_pool2d(np.zeros((2, 2, 1)), (3, 3), stride=(1, 1), pads=(0, 0, 0, 0))


# --------------------------------------------------------------------------- PyTorch


def torch_functional() -> Any:
    return pytest.importorskip("torch").nn.functional


def to_torch(x: Any) -> Any:
    """(H, W, C) numpy -> (1, C, H, W) torch."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))


def from_torch(t: Any) -> Any:
    return t[0].numpy().transpose(1, 2, 0)


@st.composite
def symmetric(draw: st.DrawFn, max_size: int = 10) -> Geometry:
    """A geometry with PyTorch's symmetric pads."""
    g = draw(geometries(max_size=max_size))
    return replace(g, pads=(g.pads[0], g.pads[0], g.pads[2], g.pads[2]))


@SETTINGS
@given(symmetric())
def test_conv2d_against_torch(g: Geometry) -> None:
    functional = torch_functional()
    assume(fits(g))
    rng = np.random.default_rng(g.seed)
    x = rng.standard_normal((g.h, g.w, g.cin))
    w = rng.standard_normal((*g.kernel, g.cin // g.groups, g.cout))
    b = rng.standard_normal(g.cout)
    import torch

    want = functional.conv2d(to_torch(x), torch.from_numpy(w.transpose(3, 2, 0, 1).copy()),
                             torch.from_numpy(b), stride=g.stride,
                             padding=(g.pads[0], g.pads[2]), dilation=g.dilation,
                             groups=g.groups)
    close(conv.conv2d(x, w, b, stride=g.stride, pads=g.pads, dilation=g.dilation,
                      groups=g.groups), from_torch(want))


@SETTINGS
@given(symmetric(max_size=7), st.data())
def test_conv_transpose2d_against_torch(g: Geometry, data: st.DataObject) -> None:
    functional = torch_functional()
    op = tuple(data.draw(st.integers(0, max(g.stride[a], g.dilation[a]) - 1)) for a in range(2))
    assume(all(conv.conv_transpose_size(n, g.kernel[a], g.stride[a], g.dilation[a],
                                        g.pads[2 * a], g.pads[2 * a], op[a]) >= 1
               for a, n in enumerate((g.h, g.w))))
    rng = np.random.default_rng(g.seed)
    x = rng.standard_normal((g.h, g.w, g.cin))
    w = rng.standard_normal((*g.kernel, g.cin, g.cout // g.groups))
    import torch

    want = functional.conv_transpose2d(
        to_torch(x), torch.from_numpy(w.transpose(2, 3, 0, 1).copy()), stride=g.stride,
        padding=(g.pads[0], g.pads[2]), output_padding=op, dilation=g.dilation,
        groups=g.groups)
    close(conv.conv_transpose2d(x, w, stride=g.stride, pads=g.pads, dilation=g.dilation,
                                output_padding=(op[0], op[1]), groups=g.groups),
          from_torch(want))


@st.composite
def torch_pools(draw: st.DrawFn) -> tuple[Geometry, bool]:
    """Pooling geometries within PyTorch's limit (pad at most half the kernel)."""
    g = draw(geometries(max_size=10))
    ph = draw(st.integers(0, g.kernel[0] // 2))
    pw = draw(st.integers(0, g.kernel[1] // 2))
    return replace(g, pads=(ph, ph, pw, pw)), draw(st.booleans())


@SETTINGS
@given(torch_pools())
def test_max_pool2d_against_torch(case: tuple[Geometry, bool]) -> None:
    functional = torch_functional()
    g, ceil_mode = case
    assume(pool_fits(g, ceil_mode) and not has_empty_window(g, ceil_mode))
    x = np.random.default_rng(g.seed).standard_normal((g.h, g.w, g.cin))
    want = functional.max_pool2d(to_torch(x), g.kernel, g.stride, (g.pads[0], g.pads[2]),
                                 g.dilation, ceil_mode=ceil_mode)
    close(conv.max_pool2d(x, g.kernel, stride=g.stride, pads=g.pads, dilation=g.dilation,
                          ceil_mode=ceil_mode), from_torch(want))


@SETTINGS
@given(torch_pools(), st.booleans())
def test_avg_pool2d_against_torch(case: tuple[Geometry, bool], include: bool) -> None:
    functional = torch_functional()
    g, ceil_mode = case
    g = replace(g, dilation=(1, 1))  # PyTorch's avg_pool2d has no dilation
    assume(pool_fits(g, ceil_mode))
    x = np.random.default_rng(g.seed).standard_normal((g.h, g.w, g.cin))
    want = functional.avg_pool2d(to_torch(x), g.kernel, g.stride, (g.pads[0], g.pads[2]),
                                 ceil_mode=ceil_mode, count_include_pad=include)
    close(conv.avg_pool2d(x, g.kernel, stride=g.stride, pads=g.pads, ceil_mode=ceil_mode,
                          count_include_pad=include), from_torch(want))


@SETTINGS
@given(torch_pools())
def test_max_pool2d_backward_against_torch(case: tuple[Geometry, bool]) -> None:
    torch = pytest.importorskip("torch")
    g, ceil_mode = case
    assume(pool_fits(g, ceil_mode) and not has_empty_window(g, ceil_mode))
    rng = np.random.default_rng(g.seed)
    x = rng.standard_normal((g.h, g.w, g.cin))
    tx = to_torch(x).requires_grad_(True)
    ty = torch.nn.functional.max_pool2d(tx, g.kernel, g.stride, (g.pads[0], g.pads[2]),
                                        g.dilation, ceil_mode=ceil_mode)
    # a window wholly in the padding has no input to hand its gradient to (PyTorch then
    # credits an arbitrary element); leave those out
    assume(bool(torch.isfinite(ty).all()))
    dy = rng.standard_normal(ty.shape[2:] + (g.cin,))
    ty.backward(to_torch(dy))
    got = conv.max_pool2d_backward(x, dy, g.kernel, stride=g.stride, pads=g.pads,
                                   dilation=g.dilation, ceil_mode=ceil_mode)
    close(got, from_torch(tx.grad))
