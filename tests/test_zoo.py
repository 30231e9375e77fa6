"""The model zoo against the architectures' published shapes and receptive fields.

Receptive-field numbers come from Araujo, Norris & Sim, "Computing Receptive Fields of
Convolutional Neural Networks", Distill 2019 (https://distill.pub/2019/computing-receptive-fields/),
whose table of modern networks is also the README of their library
(https://github.com/google-research/receptive_field, cited below as [README]); the per-end-point
values are from that repository's receptive_field/RECEPTIVE_FIELD_TABLE.md ([TABLE], the rows at
resolution 224).  Those numbers were computed on the TF-Slim models
(https://github.com/tensorflow/models/tree/master/research/slim); where the zoo follows
torchvision or Keras and their geometry differs from TF-Slim, the test says how and checks that
making the spec TF-Slim's reproduces the published number exactly.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from importlib import resources
from typing import Any

import pytest

from rfdocs.compute.receptive import Analysis, analyze
from rfdocs.compute.spec import Network
from rfdocs.compute.zoo import ZOO_NAMES, zoo_network


@cache
def _analysis(name: str) -> Analysis:
    return analyze(zoo_network(name))


def _variant(net: Network, changes: dict[str, dict[str, Any]]) -> Network:
    """``net`` with the named layers' fields replaced (canonical values: pairs, 4-tuples of pads)."""
    assert set(changes) <= {layer.name for layer in net.layers}
    return replace(net, layers=tuple(replace(layer, **changes[layer.name]) if layer.name in changes
                                     else layer for layer in net.layers))


def _square(value: tuple[Any, Any]) -> Any:
    assert value[0] == value[1]
    return value[0]


# --------------------------------------------------------------------------- the files


#: The image classifiers, whose fields Araujo et al. published (the 1-D and 3-D models cite
#: their own papers: see the end of this file).
IMAGE_ZOO = ("alexnet", "vgg16", "resnet50", "inceptionv3", "mobilenetv1")


def test_zoo_names() -> None:
    assert set(ZOO_NAMES) == {*IMAGE_ZOO, "wavenet", "tcn", "c3d"}


@pytest.mark.parametrize("name", IMAGE_ZOO)
def test_spec_file_cites_its_sources(name: str) -> None:
    text = (resources.files("rfdocs") / "zoo" / f"{name}.yaml").read_text(encoding="utf-8")
    header = text.split("\ninput:")[0]
    assert all(line.startswith("#") for line in header.splitlines())
    assert "Distill 2019" in header and "arXiv" in header
    assert "torchvision" in header or "Keras" in header


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize(("name", "layer", "shape"), [
    # torchvision AlexNet: 55 -> 27 -> 27 -> 13 -> 13 -> 6 (its AdaptiveAvgPool2d((6, 6)) input).
    ("alexnet", "conv1", (55, 55, 64)),
    ("alexnet", "pool2", (13, 13, 192)),
    ("alexnet", "pool5", (6, 6, 256)),
    # VGG-16 (Simonyan & Zisserman, Table 1, configuration D): 7x7x512 into fc6.
    ("vgg16", "conv1_2", (224, 224, 64)),
    ("vgg16", "conv5_3", (14, 14, 512)),
    ("vgg16", "pool5", (7, 7, 512)),
    # ResNet-50 (He et al., Table 1): conv1 112, conv2_x 56, conv3_x 28, conv4_x 14, conv5_x 7.
    ("resnet50", "conv1", (112, 112, 64)),
    ("resnet50", "pool1", (56, 56, 64)),
    ("resnet50", "res2c", (56, 56, 256)),
    ("resnet50", "res3d", (28, 28, 512)),
    ("resnet50", "res4f", (14, 14, 1024)),
    ("resnet50", "res5c", (7, 7, 2048)),
    # Inception-v3 (Szegedy et al., Table 1; torchvision's shape comments in inception.py).
    ("inceptionv3", "Conv2d_1a_3x3", (149, 149, 32)),
    ("inceptionv3", "Conv2d_2b_3x3", (147, 147, 64)),
    ("inceptionv3", "maxpool1", (73, 73, 64)),
    ("inceptionv3", "Conv2d_4a_3x3", (71, 71, 192)),
    ("inceptionv3", "maxpool2", (35, 35, 192)),
    ("inceptionv3", "Mixed_5b", (35, 35, 256)),
    ("inceptionv3", "Mixed_5d", (35, 35, 288)),
    ("inceptionv3", "Mixed_6a", (17, 17, 768)),
    ("inceptionv3", "Mixed_6e", (17, 17, 768)),
    ("inceptionv3", "Mixed_7a", (8, 8, 1280)),
    ("inceptionv3", "Mixed_7c", (8, 8, 2048)),
    # MobileNet v1 (Howard et al., Table 1).
    ("mobilenetv1", "conv1", (112, 112, 32)),
    ("mobilenetv1", "conv_pw_1", (112, 112, 64)),
    ("mobilenetv1", "conv_pw_2", (56, 56, 128)),
    ("mobilenetv1", "conv_pw_4", (28, 28, 256)),
    ("mobilenetv1", "conv_pw_6", (14, 14, 512)),
    ("mobilenetv1", "conv_pw_11", (14, 14, 512)),
    ("mobilenetv1", "conv_pw_13", (7, 7, 1024)),
])
def test_published_shapes(name: str, layer: str, shape: tuple[int, int, int]) -> None:
    assert _analysis(name)[layer].shape == shape


@pytest.mark.parametrize(("name", "last"), [
    ("alexnet", "pool5"), ("vgg16", "pool5"), ("resnet50", "res5c"),
    ("inceptionv3", "Mixed_7c"), ("mobilenetv1", "conv_pw_13"),
])
def test_the_last_layer_is_the_final_feature_layer(name: str, last: str) -> None:
    assert _analysis(name).output.name == last


# --------------------------------------------------------------------------- completeness


def _count(net: Network, op: str) -> int:
    return sum(layer.op == op for layer in net.layers)


def test_alexnet_and_vgg16_layer_counts() -> None:
    alexnet, vgg = zoo_network("alexnet"), zoo_network("vgg16")
    assert (_count(alexnet, "conv"), _count(alexnet, "maxpool")) == (5, 3)
    assert (_count(vgg, "conv"), _count(vgg, "maxpool")) == (13, 5)  # the "16" adds 3 FC layers


def test_resnet50_has_all_16_bottlenecks_and_4_projections() -> None:
    net = zoo_network("resnet50")
    adds = [layer for layer in net.layers if layer.op == "add"]
    assert [a.name for a in adds] == [f"res{stage}{block}" for stage, blocks in
                                      ((2, "abc"), (3, "abcd"), (4, "abcdef"), (5, "abc"))
                                      for block in blocks]
    projections = [layer.name for layer in net.layers if layer.name.endswith("_branch1")]
    assert projections == ["res2a_branch1", "res3a_branch1", "res4a_branch1", "res5a_branch1"]
    # conv1 + 16 blocks x 3 + 4 projections = 53 convolutions (the "50" counts conv1, 48, fc).
    assert _count(net, "conv") == 53
    for add in adds:
        residual, shortcut = add.inputs
        assert residual == f"{add.name}_branch2c"
        assert shortcut in (f"{add.name}_branch1", adds[adds.index(add) - 1].name)
    # Down-sampling blocks stride on branch2a and on the projection (the Keras / Caffe design).
    for block in ("res3a", "res4a", "res5a"):
        assert net.layer(f"{block}_branch2a").stride == (2, 2)
        assert net.layer(f"{block}_branch1").stride == (2, 2)


def test_inceptionv3_has_every_module_and_branch() -> None:
    net = zoo_network("inceptionv3")
    modules = ["Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d",
               "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c"]
    concats = [layer.name for layer in net.layers if layer.op == "concat"]
    assert [c for c in concats if "." not in c] == modules
    # InceptionE concatenates its 1x3 and 3x1 convolutions inside two branches.
    assert sorted(c for c in concats if "." in c) == sorted(
        f"{m}.{b}" for m in ("Mixed_7b", "Mixed_7c") for b in ("branch3x3", "branch3x3dbl"))
    branches = {m: len(net.layer(m).inputs) for m in modules}
    assert branches == {m: 3 if m in ("Mixed_6a", "Mixed_7a") else 4 for m in modules}
    # torchvision's Inception3 has 94 BasicConv2d outside AuxLogits (so does Keras' InceptionV3).
    assert _count(net, "conv") == 94
    assert _count(net, "avgpool") == 9 and _count(net, "maxpool") == 4


def test_mobilenetv1_depthwise_convolutions() -> None:
    net = zoo_network("mobilenetv1")
    info = analyze(net)
    assert _count(net, "conv") == 27  # conv1 + 13 x (depthwise + pointwise)
    for i in range(1, 14):
        dw, pw = net.layer(f"conv_dw_{i}"), net.layer(f"conv_pw_{i}")
        channels = info[dw.inputs[0]].shape[2]
        assert dw.groups == dw.filters == channels and dw.kernel == (3, 3)
        assert pw.kernel == (1, 1) and pw.groups == 1


# --------------------------------------------------------------------------- receptive fields


@pytest.mark.parametrize(("name", "layer", "r", "j", "p"), [
    # [README] row vgg_16: r 212, stride 32, padding 90; [TABLE] end-point vgg_16/pool5.
    ("vgg16", "pool5", 212, 32, 90),
    # [TABLE] vgg_16/conv5/conv5_2 (164, 16, 74) and vgg_16/pool4 (100, 16, 42).
    ("vgg16", "conv5_2", 164, 16, 74),
    ("vgg16", "pool4", 100, 16, 42),
    # [README] row inception_v3: r 1311, stride 32, padding 618; [TABLE] end-point Mixed_7c.
    ("inceptionv3", "Mixed_7c", 1311, 32, 618),
    # [TABLE] inception_v3 at 224 (the same at 321: the geometry does not depend on the size).
    ("inceptionv3", "maxpool1", 15, 4, 2),  # MaxPool_3a_3x3
    ("inceptionv3", "Conv2d_4a_3x3", 23, 4, 2),
    ("inceptionv3", "maxpool2", 31, 8, 2),  # MaxPool_5a_3x3
    ("inceptionv3", "Mixed_5b", 63, 8, 18),
    ("inceptionv3", "Mixed_5d", 127, 8, 50),
    ("inceptionv3", "Mixed_6a", 159, 16, 58),
    ("inceptionv3", "Mixed_6b", 351, 16, 154),
    ("inceptionv3", "Mixed_6e", 927, 16, 442),
    ("inceptionv3", "Mixed_7a", 1055, 32, 490),
    ("inceptionv3", "Mixed_7b", 1183, 32, 554),
    # [README] row mobilenet_v1: r 315, stride 32, padding 126; [TABLE] Conv2d_13_pointwise, 224.
    ("mobilenetv1", "conv_pw_13", 315, 32, 126),
    # [TABLE] mobilenet_v1 at 224: Conv2d_1/2/5/11/12_pointwise.
    ("mobilenetv1", "conv_pw_1", 7, 2, 2),
    ("mobilenetv1", "conv_pw_2", 11, 4, 2),
    ("mobilenetv1", "conv_pw_5", 43, 8, 14),
    ("mobilenetv1", "conv_pw_11", 219, 16, 94),
    ("mobilenetv1", "conv_pw_12", 251, 32, 94),
])
def test_published_receptive_fields(name: str, layer: str, r: int, j: int, p: int) -> None:
    info = _analysis(name)[layer]
    assert (_square(info.rf), _square(info.jump), _square(info.padding)) == (r, j, p)


def test_alexnet_receptive_field() -> None:
    # [README] row alexnet_v2: r 195, stride 32, padding 64 (end-point alexnet_v2/pool5 in [TABLE]).
    pool5 = _analysis("alexnet")["pool5"]
    assert (_square(pool5.rf), _square(pool5.jump)) == (195, 32)
    # torchvision pads conv1 by 2 pixels, at jump 1, where TF-Slim's alexnet_v2 (the network of
    # the table) uses 'VALID': 2 more pixels of effective padding than published, 64 + 2.
    assert _square(pool5.padding) == 66


def test_alexnet_with_tf_slim_conv1_padding_matches_every_published_end_point() -> None:
    slim = analyze(_variant(zoo_network("alexnet"), {"conv1": {"padding": (0, 0, 0, 0)}}))
    # [TABLE] alexnet_v2 at 224: conv1 .. pool5.
    published = {"conv1": (11, 4, 0), "pool1": (19, 8, 0), "conv2": (51, 8, 16),
                 "conv3": (99, 16, 32), "conv4": (131, 16, 48), "conv5": (163, 16, 64),
                 "pool5": (195, 32, 64)}
    for layer, numbers in published.items():
        info = slim[layer]
        assert (_square(info.rf), _square(info.jump), _square(info.padding)) == numbers, layer
    assert slim["pool5"].shape == (5, 5, 256)  # TF-Slim's fc6 is a 5x5 'VALID' convolution


# ResNet-50 block ends: [TABLE] resnet_v1_50/block1..block4 at 224 have r 35, 99, 291, 483 and
# padding 15, 47, 143, 239.  TF-Slim strides in the *last* unit of a block, Keras in the first
# unit of the next, so a block end has half the jump in Keras (block1: 8 there, 4 at res2c) while
# r and p are the same numbers.
RESNET_BLOCK_ENDS = {"res2c": (35, 4, 15), "res3d": (99, 8, 47), "res4f": (291, 16, 143),
                     "res5c": (483, 32, 239)}


def test_resnet50_receptive_field() -> None:
    info = _analysis("resnet50")
    # [README] row resnet_v1_50: r 483, stride 32, padding 239.
    res5c = info["res5c"]
    assert (_square(res5c.rf), _square(res5c.jump)) == (483, 32)
    for layer, (r, j, _) in RESNET_BLOCK_ENDS.items():
        assert (_square(info[layer].rf), _square(info[layer].jump)) == (r, j), layer
    # Keras pads pool1 by 1 pixel at jump 2; TF-Slim's max pool is 'SAME', which at 112x112
    # pads only at the bottom/right: 2 more pixels of effective padding than published.
    assert [_square(info[layer].padding) for layer in RESNET_BLOCK_ENDS] == [17, 49, 145, 241]


@pytest.mark.parametrize("pool1", [
    {"padding": "same"},  # TF-Slim's resnet_v1_50
    {"padding": (0, 0, 0, 0), "ceil_mode": True},  # the paper's Caffe model (ResNet-50-deploy)
], ids=["tf-slim", "caffe"])
def test_resnet50_with_unpadded_pool1_matches_every_published_block_end(pool1: dict[str, Any]) -> None:
    info = analyze(_variant(zoo_network("resnet50"), {"pool1": pool1}))
    assert info["pool1"].shape == (56, 56, 64)
    for layer, (r, j, p) in RESNET_BLOCK_ENDS.items():
        assert (_square(info[layer].rf), _square(info[layer].jump),
                _square(info[layer].padding)) == (r, j, p), layer


# --------------------------------------------------------------------------- alignment


@pytest.mark.parametrize("name", IMAGE_ZOO)
def test_zoo_models_are_aligned(name: str) -> None:
    # Araujo et al.'s library refuses unaligned graphs ("Graph is not aligned since center shift
    # from different paths is different", receptive_field_computation.py) and publishes numbers
    # for all five TF-Slim models at 224 and 321, so all five are aligned.  The zoo versions
    # are too: every multi-path stride is unpadded (1x1 projections, 'valid' Inception
    # reductions) or symmetrically padded, so all branches keep one centre.
    info = _analysis(name)
    assert all(node.aligned for node in info.nodes)


def _resnet50_v1_5(padding: tuple[int, int, int, int] | str) -> Network:
    """The stride moved from branch2a to the 3x3 branch2b, as in torchvision's resnet50."""
    changes: dict[str, dict[str, Any]] = {}
    for block in ("res3a", "res4a", "res5a"):
        changes[f"{block}_branch2a"] = {"stride": (1, 1)}
        changes[f"{block}_branch2b"] = {"stride": (2, 2), "padding": padding}
    return _variant(zoo_network("resnet50"), changes)


def test_resnet50_v1_5_is_aligned_with_symmetric_padding() -> None:
    info = analyze(_resnet50_v1_5((1, 1, 1, 1)))
    assert all(node.aligned for node in info.nodes)
    # Derived by hand: 11 + 3*8 (layer1) + 8 + 3*16 + 16 + 5*32 + 32 + 2*64 = 427.
    assert (_square(info.output.rf), _square(info.output.jump)) == (427, 32)


def test_resnet50_v1_5_with_tf_same_padding_is_not_aligned() -> None:
    # The alignment caveat of Araujo et al. (FAQ of [TABLE]): TF 'SAME' padding depends on the
    # input size and may shift one path.  On even inputs a stride-2 3x3 'SAME' convolution pads
    # only at the bottom/right, so its units are centred one input unit (4 pixels at res3a)
    # off the 1x1 projection shortcut.
    info = analyze(_resnet50_v1_5("same"))
    assert info["res3a_branch2b"].pads == (0, 1, 0, 1)
    assert info["res3a_branch2b"].aligned and info["res3a_branch1"].aligned
    assert _square(info["res3a_branch2b"].center) - _square(info["res3a_branch1"].center) == 4
    assert not info["res3a"].aligned and not info.output.aligned
    assert all(node.aligned for node in info.nodes[: [n.name for n in info.nodes].index("res3a")])


# --------------------------------------------------------------------------- sequences and volumes


def _header(name: str) -> str:
    text = (resources.files("rfdocs") / "zoo" / f"{name}.yaml").read_text(encoding="utf-8")
    header = text.split("\ninput:")[0]
    assert all(line.startswith("#") for line in header.splitlines())
    return header


@pytest.mark.parametrize(("name", "cites"), [
    ("wavenet", ["van den Oord", "arXiv:1609.03499", "1024", "1,025"]),
    ("tcn", ["Bai, Kolter and Koltun", "arXiv:1803.01271", "locuslab/TCN", "(k - 1) d"]),
    ("c3d", ["Tran, Bourdev, Fergus, Torresani and Paluri", "arXiv:1412.0767", "1 x 2 x 2"]),
])
def test_sequence_and_volume_specs_cite_their_sources(name: str, cites: list[str]) -> None:
    header = _header(name)
    for words in cites:
        assert words in header, words


def test_wavenet_published_receptive_fields() -> None:
    """van den Oord et al. 2016, Section 2.1: kernel 2, dilations 1, 2, ..., 512 repeated;
    "each 1, 2, 4, ..., 512 block has receptive field of size 1024"; 1,025 with the initial
    causal convolution (of width 2)."""
    net = zoo_network("wavenet")
    info = _analysis("wavenet")
    assert net.ndim == 1 and info.input.shape == (16000, 256)
    dilated = [layer for layer in net.layers if layer.name.endswith("_filter")]
    assert [layer.dilation[0] for layer in dilated] == [2 ** i for i in range(10)] * 3
    assert all(layer.kernel == (2,) and layer.padding == "causal" for layer in dilated)
    assert info["causal"].rf == (2,)
    ends = [info[f"s{s}_d512_gated"].rf[0] for s in (1, 2, 3)]
    assert ends[0] == 1025  # one stack after the initial causal convolution
    # one stack alone: the field of its last unit in the stack's own input is 1 + 1023 = 1024
    assert ends[1] - ends[0] + 1 == 1024 and ends[2] - ends[1] + 1 == 1024
    assert info.output.rf == (3071,) and info.output.name == "softmax"
    # causal: every unit sees itself and only earlier samples
    for node in info.layers:
        for t in (0, 5000, 15999):
            lo, hi = node.box(t)[0]
            assert hi == t and lo == t - node.rf[0] + 1, node.name
    # the gated unit, the residual and the skip connections of every one of the 30 layers
    assert _count(net, "mul") == 30 and _count(net, "tanh") == 30 and _count(net, "sigmoid") == 30
    assert len(net.layer("skips").inputs) == 30 and _count(net, "add") == 30  # 29 residual


def test_wavenet_paper_figure_3_stack() -> None:
    """Figure 3 of the paper: dilations 1, 2, 4, 8 give a receptive field of 16."""
    from rfdocs.compute import parse_spec

    text = "input 64x1\n" + "\n".join(f"conv 2 x1 dil {d} causal" for d in (1, 2, 4, 8))
    assert analyze(parse_spec(text)).output.rf == (16,)


def test_tcn_receptive_field() -> None:
    """Bai et al. 2018, Section 3.2: one dilated causal layer looks (k - 1) d steps back, d = 2^i
    at level i, two layers a residual block: 1 + 2 (k - 1)(2^n - 1) with the authors' sequential
    MNIST configuration k = 7, n = 8 (3,061 >= 784, the whole image reaches the classifier)."""
    net = zoo_network("tcn")
    info = _analysis("tcn")
    k, n = 7, 8
    convs = [layer for layer in net.layers if layer.op == "conv" and layer.kernel == (k,)]
    assert len(convs) == 2 * n
    assert [layer.dilation[0] for layer in convs] == [2 ** (i // 2) for i in range(2 * n)]
    assert all(layer.filters == 25 and layer.padding == "causal" for layer in convs)
    for level in range(1, n + 1):
        assert info[f"block{level}"].rf == (1 + 2 * (k - 1) * (2 ** level - 1),)
    out = info.output
    assert out.name == "block8" and out.shape == (784, 25) and out.rf == (3061,)
    assert out.box(783) == ((783 - 3060, 783),)  # the classifier's unit sees every pixel
    assert _count(net, "add") == n


def test_c3d_published_shapes_and_fields() -> None:
    """Tran et al. 2015, Section 3.3 and Figure 3: 16x112x112 clips, 3x3x3 convolutions, pool1
    1x2x2, the other pools 2x2x2; fc6, fc7 of 4096; 487 Sports-1M classes."""
    net = zoo_network("c3d")
    info = _analysis("c3d")
    assert net.ndim == 3 and info.input.shape == (16, 112, 112, 3)
    convs = [layer for layer in net.layers if layer.op == "conv"]
    assert len(convs) == 8 and all(layer.kernel == (3, 3, 3) and layer.stride == (1, 1, 1)
                                   for layer in convs)
    assert [c.filters for c in convs] == [64, 128, 256, 256, 512, 512, 512, 512]
    pools = [layer for layer in net.layers if layer.op == "maxpool"]
    assert [p.kernel for p in pools] == [(1, 2, 2)] + [(2, 2, 2)] * 4
    assert [info[p.name].shape[:3] for p in pools] == [
        (16, 56, 56), (8, 28, 28), (4, 14, 14), (2, 7, 7), (1, 4, 4)]
    assert info["flatten"].shape == (1, 1, 1, 8192)
    assert [info[n].shape[-1] for n in ("fc6", "fc7", "fc8")] == [4096, 4096, 487]
    # closed form per axis (Araujo et al. eq. 2, 3): r += (k - 1) j, j *= s
    r, j = [1, 1, 1], [1, 1, 1]
    for layer in net.layers:
        if layer.op in ("conv", "maxpool"):
            for a in range(3):
                r[a] += (layer.kernel[a] - 1) * j[a]
                j[a] *= layer.stride[a]
        if layer.name == "pool5":
            break
    assert info["pool5"].rf == tuple(r) == (76, 150, 150)
    assert info["pool5"].jump == tuple(j) == (16, 32, 32)
    assert all(node.aligned for node in info.nodes)
