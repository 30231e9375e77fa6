"""The model zoo: real architectures as long-form specs shipped in ``rfdocs/zoo/*.yaml``: image
classifiers (2-D), sequence models (1-D: WaveNet, TCN) and a video network (3-D: C3D)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from rfdocs.compute.spec import Network, SpecError, parse_long

ZOO_NAMES = ("alexnet", "vgg16", "resnet50", "inceptionv3", "mobilenetv1", "wavenet", "tcn", "c3d")


@cache
def _zoo_text(name: str) -> str:
    return (resources.files("rfdocs") / "zoo" / f"{name}.yaml").read_text(encoding="utf-8")


def zoo_network(name: str) -> Network:
    """The zoo model ``name`` (case-insensitive)."""
    key = name.lower()
    if key not in ZOO_NAMES:
        raise SpecError(f"unknown zoo model {name!r}; choose one of {', '.join(ZOO_NAMES)}",
                        field="model")
    return _parsed(key)


@cache
def _parsed(key: str) -> Network:
    """Parsed once per process: a Network is immutable, so every caller may share it."""
    return parse_long(_zoo_text(key))
