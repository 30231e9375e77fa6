"""rf-architecture: the structure it draws holds every drawn layer exactly once, its cuts are the
brute-force articulation layers, the zoo's stages and repeats are the published ones (ResNet-50's
3-4-6-3 blocks, Inception-v3's modules, VGG-16's conv groups, MobileNet's five 14×14 pairs,
WaveNet's 30 skip taps), block sizes follow the shapes, every zoo model and a U-Net fit a page
with no label over another, the range options cut the graph as brute force does, and the output
is deterministic."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfdocs.compute import ZOO_NAMES, Network, analyze, load_spec, parse_spec, zoo_network
from rfdocs.compute.architecture import (
    Graph,
    Item,
    Node,
    Parallel,
    Repeat,
    Stage,
    Unit,
    _Decomposer,
    drawn_graph,
    structure,
)
from rfdocs.compute.spec import INPUT_NAME, POINTWISE_OPS, network_from_data
from rfdocs.figures import DARK, LIGHT, OptionError, get_kind
from rfdocs.figures.layout import text_overlaps, texts_outside
from rfdocs.figures.output import figure_bytes
from tests.strategies import network_specs, network_specs_nd

EXAMPLES = int(os.environ.get("RFDOCS_HYPOTHESIS_EXAMPLES", "60"))
KIND = get_kind("architecture")
UNET = Path(__file__).parent.parent / "docs" / "tutorial" / "models" / "unet.yaml"


def unet() -> Network:
    return load_spec(UNET)


def nodes_of(items: tuple[Item, ...] | list[Item]) -> Iterator[str]:
    """Every layer name the items stand for (all copies of a repeat, pendants included)."""
    for item in items:
        if isinstance(item, Stage):
            yield from nodes_of(list(item.items))
            continue
        units = item.units if isinstance(item, Repeat) else (item,)
        for unit in units:
            for part in unit.parts:
                yield from _part_nodes(part)


def _part_nodes(part: Node | Parallel | Graph) -> Iterator[str]:
    if isinstance(part, Node):
        yield part.name
        yield from part.pendants
    elif isinstance(part, Graph):
        for col in part.columns:
            yield from col
    else:
        for branch in part.branches:
            yield from nodes_of(list(branch))


def on_paths(net: Network, source: str, sink: str) -> set[str]:
    """Brute force: the non-elementwise layers some path from source to sink passes."""
    preds = {INPUT_NAME: ()} | {layer.name: layer.inputs for layer in net.layers}
    ops = {layer.name: layer.op for layer in net.layers}

    def reaches(a: str, b: str, seen: set[str]) -> bool:
        if a == b:
            return True
        return any(p not in seen and (seen.add(p) or True) and reaches(p, b, seen)
                   for p in [q for q in preds if a in preds[q]])

    names = [n for n in preds if reaches(source, n, set()) and reaches(n, sink, set())]
    return {n for n in names if ops.get(n) not in POINTWISE_OPS}


# --------------------------------------------------------------------------- the structure


@pytest.mark.parametrize("name", [*ZOO_NAMES, "unet"])
def test_every_drawn_layer_appears_exactly_once(name: str) -> None:
    net = unet() if name == "unet" else zoo_network(name)
    st_ = structure(analyze(net))
    drawn = list(nodes_of(list(st_.items)))
    assert len(drawn) == len(set(drawn)), "a layer drawn twice"
    want = on_paths(net, INPUT_NAME, net.layers[-1].name)
    # the last layer may be elementwise (WaveNet's softmax): it is folded into its input
    assert set(drawn) == want | ({INPUT_NAME} - want)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(network_specs(max_layers=9))
def test_random_networks_cover_their_layers_once(spec: dict[str, Any]) -> None:
    net = network_from_data(spec)
    st_ = structure(analyze(net))
    drawn = list(nodes_of(list(st_.items)))
    assert len(drawn) == len(set(drawn))
    assert set(drawn) == set(st_.drawn)


def _brute_cuts(preds: dict[str, tuple[str, ...]], a: str, b: str, nodes: set[str]) -> list[str]:
    """Nodes whose removal disconnects a from b (a and b included)."""
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for n in nodes:
        for p in preds[n]:
            if p in nodes:
                succ[p].append(n)

    def connected(without: str) -> bool:
        todo, seen = [a], {a}
        while todo:
            n = todo.pop()
            if n == b:
                return True
            for s in succ[n]:
                if s != without and s not in seen:
                    seen.add(s)
                    todo.append(s)
        return False

    return [n for n in nodes if n in (a, b) or not connected(n)]


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(network_specs(max_layers=10))
def test_cut_layers_are_the_brute_force_articulation_layers(spec: dict[str, Any]) -> None:
    analysis = analyze(network_from_data(spec))
    preds, _ = drawn_graph(analysis, True)
    order = {info.name: i for i, info in enumerate(analysis.nodes)}
    sink = max(preds, key=order.__getitem__)
    from rfdocs.compute.architecture import _between
    keep = _between(preds, order, INPUT_NAME, sink)
    sub = {n: tuple(p for p in ps if p in keep) for n, ps in preds.items() if n in keep}
    dec = _Decomposer(sub, order, analysis)
    cuts = dec.cuts(INPUT_NAME, sink, set(keep), None)
    assert sorted(cuts, key=order.__getitem__) == cuts
    assert set(cuts) == set(_brute_cuts(sub, INPUT_NAME, sink, set(keep)))


def _stage(items: tuple[Item, ...], name: str) -> Stage:
    found = [i for i in items if isinstance(i, Stage) and i.name == name]
    assert found, [getattr(i, "name", i) for i in items]
    return found[0]


def test_resnet50_stages_are_the_papers_3_4_6_3_blocks() -> None:
    items = structure(analyze(zoo_network("resnet50"))).items
    stages = [i for i in items if isinstance(i, Stage)]
    assert [(s.name, s.blocks) for s in stages] == [("res2", 3), ("res3", 4), ("res4", 6),
                                                    ("res5", 3)]
    for s in stages:  # the first block projects (no identity), the others repeat it
        first, rest = s.items
        assert isinstance(first, Unit) and isinstance(first.parts[0], Parallel)
        assert not first.parts[0].identity and len(first.parts[0].branches) == 2
        assert isinstance(rest, Repeat) and rest.count == s.blocks - 1
        par = rest.first[0].parts[0]
        assert isinstance(par, Parallel) and par.identity and len(par.branches) == 1


def test_inception_v3_modules_are_grouped_by_grid_size() -> None:
    items = structure(analyze(zoo_network("inceptionv3"))).items
    assert [(i.name, i.blocks) for i in items if isinstance(i, Stage)] == [
        ("Mixed_5", 3), ("Mixed_6", 5), ("Mixed_7", 3)]
    mixed5b = _stage(items, "Mixed_5").items[0]
    assert isinstance(mixed5b, Unit) and mixed5b.output == "Mixed_5b"
    par = mixed5b.parts[0]
    assert isinstance(par, Parallel) and len(par.branches) == 4 and not par.identity


def test_vgg16_repeats_are_its_conv_groups() -> None:
    items = structure(analyze(zoo_network("vgg16"))).items
    assert [i.count for i in items if isinstance(i, Repeat)] == [2, 2, 3, 3, 3]


def test_mobilenet_v1_repeats_its_five_14x14_pairs() -> None:
    """Howard et al. 2017, table 1: '5×' conv dw / conv pw at 14×14×512."""
    items = structure(analyze(zoo_network("mobilenetv1"))).items
    reps = [i for i in items if isinstance(i, Repeat)]
    assert len(reps) == 1 and reps[0].count == 5 and reps[0].period == 2
    assert [u.output for u in reps[0].first] == ["conv_dw_7", "conv_pw_7"]


def test_wavenet_skips_are_30_taps_into_one_sum() -> None:
    items = structure(analyze(zoo_network("wavenet"))).items
    block = [i for i in items if isinstance(i, Unit) and i.output == "skips"]
    assert block
    par = block[0].parts[0]
    assert isinstance(par, Parallel)
    pendants = [n for n in nodes_of([block[0]]) if n.endswith("_skip")]
    assert len(pendants) == 30 and len(par.taps) == 29  # the deepest is the chain's own exit
    assert [(s.name, s.blocks) for s in par.branches[0] if isinstance(s, Stage)] == [
        ("s1", 10), ("s2", 10), ("s3", 10)]


def test_unet_skips_nest_four_levels() -> None:
    items = structure(analyze(unet())).items
    depth = 0
    part: Any = next(i for i in items if isinstance(i, Unit) and i.is_block).parts[0]
    while isinstance(part, Parallel) and part.identity:
        depth += 1
        inner = [i for i in part.branches[0] if isinstance(i, Unit) and i.is_block]
        part = inner[0].parts[0] if inner else None
    assert depth == 4


def _centre_y(box: tuple[float, float, float, float]) -> float:
    return box[1] + box[3] / 2


@pytest.mark.parametrize("style", ["3d", "flat"])
def test_unet_is_drawn_as_a_u_with_its_outer_skip_on_the_top_row(style: str) -> None:
    rendered = KIND.render(unet(), {"style": style}, LIGHT)
    boxes = rendered.numbers["boxes"]
    assert rendered.numbers["rows"] == 1  # not wrapped: the U itself fits the page
    top = _centre_y(boxes["input"])
    # the outermost level: input, its convolutions, the join and the output on one line
    for name in ("enc1_1", "cat1", "out"):
        assert _centre_y(boxes[name]) == pytest.approx(top)
    # every level lower than the one above it, its way down left of its way up, and each
    # level's join on the line of the level above (where its shortcut comes from)
    previous = top
    for level in (1, 2, 3, 4):
        pool, up = boxes[f"pool{level}"], boxes[f"up{level}"]
        assert _centre_y(pool) == pytest.approx(_centre_y(up))
        assert _centre_y(pool) < previous - 0.3
        assert pool[0] + pool[2] < up[0]
        if level > 1:
            assert _centre_y(boxes[f"cat{level}"]) > _centre_y(pool)
        previous = _centre_y(pool)
    x0, x1 = min(b[0] for b in boxes.values()), max(b[0] + b[2] for b in boxes.values())
    assert x1 - x0 <= 6.3
    assert text_overlaps(rendered.figure) == []


def test_a_u_that_does_not_fit_wraps_into_rows() -> None:
    rendered = KIND.render(unet(), {"width": 3.0}, LIGHT)
    assert rendered.numbers["rows"] > 1
    assert set(rendered.numbers["boxes"]) >= {"cat1", "cat4", "bottom_1"}


@pytest.mark.parametrize(("start", "end"), [("res3a", "res4b"), ("res3a_branch2b", "res3c"),
                                            (None, "pool1"), ("res5a", None)])
def test_from_and_to_draw_the_layers_on_paths_between(start: str | None, end: str | None) -> None:
    net = zoo_network("resnet50")
    st_ = structure(analyze(net), start=start, end=end)
    want = on_paths(net, start or INPUT_NAME, end or net.layers[-1].name)
    assert set(nodes_of(list(st_.items))) == want


# --------------------------------------------------------------------------- the figure


@pytest.mark.parametrize("name", [*ZOO_NAMES, "unet"])
@pytest.mark.parametrize("theme", [LIGHT, DARK], ids=["light", "dark"])
def test_zoo_fits_a_page_with_no_label_over_another(name: str, theme: Any) -> None:
    net = unet() if name == "unet" else zoo_network(name)
    rendered = KIND.render(net, {}, theme)
    fig = rendered.figure
    assert text_overlaps(fig) == []
    assert texts_outside(fig) == []
    assert fig.get_size_inches()[0] <= 6.3 + 0.2
    for text in fig.findobj(lambda a: hasattr(a, "get_fontsize")):
        if getattr(text, "get_text", lambda: "")().strip():
            assert float(text.get_fontsize()) >= 8


def test_expanded_stages_draw_every_block_layer() -> None:
    rendered = KIND.render(zoo_network("resnet50"), {"expand": "res3"}, LIGHT)
    boxes = rendered.numbers["boxes"]
    assert {"res3a_branch1", "res3a_branch2a", "res3a_branch2b", "res3a_branch2c"} <= set(boxes)
    assert "res4" in boxes and "res4a_branch1" not in boxes  # still collapsed
    assert text_overlaps(rendered.figure) == []


def _texts(fig: Any) -> set[str]:
    return {t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))}


@pytest.mark.parametrize(("model", "stage", "joins"), [("resnet50", "res3", "add"),
                                                       ("inceptionv3", "Mixed_5", "concat")])
def test_expanded_stages_name_their_blocks(model: str, stage: str, joins: str) -> None:
    net = zoo_network(model)
    # the blocks of the stage, from the spec: its joins in order
    names = [layer.name for layer in net.layers if layer.op == joins
             and layer.name.startswith(stage)]
    rendered = KIND.render(net, {"expand": stage}, LIGHT)
    texts = _texts(rendered.figure)
    # each block named by its join, a run of identical blocks by its first and last
    shown = {n for n in names if n in texts}
    runs = [t for t in texts if "\u2013" in t and t.startswith(stage)]
    covered = set(shown)
    for run in runs:
        a, b = run.split("\u2013")
        covered |= set(names[names.index(a):names.index(b) + 1])
    assert covered == set(names) and shown
    assert text_overlaps(rendered.figure) == []
    assert rendered.numbers["width_in"] <= 6.5


def test_stages_can_be_given_their_papers_names() -> None:
    net = zoo_network("resnet50")
    paper = {"res2": "conv2_x", "res3": "conv3_x", "res4": "conv4_x", "res5": "conv5_x"}
    plain = KIND.render(net, {"expand": "res3"}, LIGHT)
    named = KIND.render(net, {"stages": " ".join(f"{a}={b}" for a, b in paper.items()),
                              "expand": "conv3_x"}, LIGHT)
    assert named.numbers["stages"] == {paper[k]: v for k, v in plain.numbers["stages"].items()}
    assert named.numbers["expanded"] == ("conv3_x",)
    texts = _texts(named.figure)
    assert "conv3_x: 4 blocks" in texts and "conv4_x" in texts and "res4" not in texts
    assert "stage conv5_x (3 blocks)" in named.alt and "res5 (" not in named.alt
    # the old name still expands it; the drawing is the same
    again = KIND.render(net, {"stages": {"res3": "conv3_x"}, "expand": "res3"}, LIGHT)
    assert again.numbers["expanded"] == ("conv3_x",)
    assert {"res3a_branch1", "res4"} <= set(again.numbers["boxes"])


@pytest.mark.parametrize(("value", "words"), [("res9=x", "no stage called 'res9'"),
                                              ("res2=res3", "already names another stage"),
                                              ("res2", "expected name=new pairs"),
                                              ("res2=a res3=a", "expected name=new pairs")])
def test_bad_stage_names_are_refused_by_name(value: str, words: str) -> None:
    with pytest.raises(OptionError) as err:
        KIND.render(zoo_network("resnet50"), {"stages": value}, LIGHT)
    assert err.value.option == "stages" and words in str(err.value)


@pytest.mark.parametrize(("model", "axes"), [("tcn", "length"), ("vgg16", "spatial size"),
                                             ("c3d", "height")])
def test_the_note_says_which_axes_the_sizes_show(model: str, axes: str) -> None:
    rendered = KIND.render(zoo_network(model), {}, LIGHT)
    note = " ".join(t.get_text() for t in rendered.figure.findobj(
        lambda a: hasattr(a, "get_gid") and a.get_gid() == "note"))
    assert f"logarithm of each output's {axes}," in note
    assert ("first axis (depth or time) is in its label only" in note) == (model == "c3d")
    assert ("depths with its width" in note) == (model != "tcn")


def test_block_heights_follow_the_logarithm_of_the_spatial_size() -> None:
    net = zoo_network("vgg16")
    analysis = analyze(net)
    boxes = KIND.render(net, {"style": "flat"}, LIGHT).numbers["boxes"]
    sized = sorted((analysis[n].spatial[0], h) for n, (_, _, _, h) in boxes.items()
                   if n in analysis.index)
    # equal sizes equal heights; the height is affine in log2(size)
    (s0, h0), (s1, h1) = sized[0], sized[-1]
    for s, h in sized:
        expect = h0 + (h1 - h0) * (math.log2(s) - math.log2(s0)) / (math.log2(s1) - math.log2(s0))
        assert h == pytest.approx(expect, abs=1e-9)


def test_alt_text_names_stages_and_shapes() -> None:
    rendered = KIND.render(zoo_network("resnet50"), {}, LIGHT)
    analysis = analyze(zoo_network("resnet50"))
    for stage, last, blocks in (("res2", "res2c", 3), ("res5", "res5c", 3)):
        shape = "×".join(str(v) for v in analysis[last].shape)
        assert f"stage {stage} ({blocks} blocks) {shape}" in rendered.alt


def test_misaligned_merge_is_marked() -> None:
    net = parse_spec("input 8x8x1\na: conv 2x2 /2 x4\nb: conv 1x1 /2 x4 from input\nm: add a b\n")
    assert not analyze(net)["m"].aligned
    rendered = KIND.render(net, {}, LIGHT)
    assert rendered.numbers["misaligned"] == ("m",)
    assert "not aligned" in rendered.alt
    fine = KIND.render(parse_spec("input 8x8x1\na: conv 3x3 x4 pad 1\nm: add a input\n"), {},
                       LIGHT)
    assert fine.numbers["misaligned"] == ()


def test_fields_write_the_analysis_numbers() -> None:
    net = zoo_network("alexnet")
    rendered = KIND.render(net, {"fields": True}, LIGHT)
    texts = {t.get_text() for t in rendered.figure.findobj(lambda a: hasattr(a, "get_text"))}
    info = analyze(net)["pool5"]
    assert f"r {info.rf[0]}, j {info.jump[0]}" in texts


def shown(items: list[Item]) -> Iterator[str]:
    """The layers drawn when every stage is expanded: a repeat's first copy only."""
    for item in items:
        if isinstance(item, Stage):
            yield from shown(list(item.items))
            continue
        for unit in item.first if isinstance(item, Repeat) else (item,):
            for part in unit.parts:
                if isinstance(part, Parallel):
                    for branch in part.branches:
                        yield from shown(list(branch))
                else:
                    yield from _part_nodes(part)


@pytest.mark.parametrize("ndim", [1, 2, 3])
@settings(max_examples=max(EXAMPLES // 4, 5), deadline=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_shown_layer_gets_exactly_one_box(ndim: int, data: st.DataObject) -> None:
    spec = data.draw(network_specs(max_layers=9) if ndim == 2 else network_specs_nd(ndim))
    net = network_from_data(spec)
    rendered = KIND.render(net, {"expand": "all"}, LIGHT)
    want = set(shown(list(structure(analyze(net)).items)))
    assert set(rendered.numbers["boxes"]) == want
    assert text_overlaps(rendered.figure) == []


@pytest.mark.parametrize(("options", "option", "words"), [
    ({"from": "nope"}, "from", "names no layer"),
    ({"to": "conv1", "from": "conv3"}, "from", "does not come before"),
    ({"expand": "conv9_x"}, "expand", "no stage called 'conv9_x'"),
    ({"style": "round"}, "style", "3d or flat"),
    ({"width": 1}, "width", "from 3 to 30"),
])
def test_bad_options_name_the_option(options: dict[str, Any], option: str, words: str) -> None:
    with pytest.raises(OptionError) as err:
        KIND.render(None, options, LIGHT)
    assert err.value.option == option
    assert words in str(err.value)


@pytest.mark.parametrize("fmt", ["svg", "pdf", "png"])
def test_deterministic_bytes(fmt: str) -> None:
    net = zoo_network("inceptionv3")
    first = figure_bytes(KIND.render(net, {}, DARK).figure, fmt)
    second = figure_bytes(KIND.render(net, {}, DARK).figure, fmt)
    assert first == second
