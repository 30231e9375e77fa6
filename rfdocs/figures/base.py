"""What every figure kind provides: its options, a render function and computed alt text."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar

from matplotlib.figure import Figure

from rfdocs.compute import Network
from rfdocs.compute.budget import Budget, Cost
from rfdocs.figures.options import Option, resolve_options
from rfdocs.figures.style import Theme


@dataclass(frozen=True)
class Rendered:
    """A drawn figure with the alt text and the numbers it was drawn from; a kind that animates
    gives its frames, or ``frame_source`` to draw them only when asked (``animation_frames``)."""

    figure: Figure
    alt: str
    numbers: Mapping[str, Any] = field(default_factory=dict)
    frames: tuple[Figure, ...] = ()  # animation frames, where the kind animates
    frame_source: Callable[[], tuple[Figure, ...]] | None = field(
        default=None, compare=False, repr=False)
    budget: Budget | None = field(default=None, compare=False)  # for writing it (figure_bytes)

    def animation_frames(self) -> tuple[Figure, ...]:
        """The animation frames: ``frames``, else freshly drawn by ``frame_source``, else none."""
        if self.frames or self.frame_source is None:
            return self.frames
        return self.frame_source()


RenderFunction = Callable[[Network | None, Mapping[str, Any], Theme], Rendered]
EstimateFunction = Callable[[Network | None, Mapping[str, Any]], Cost]


@dataclass(frozen=True)
class FigureKind:
    """A kind of figure: ``render(network, options, theme)``; network may be None (the default)."""

    name: str
    summary: str
    options: tuple[Option, ...]
    render_function: RenderFunction
    uses_network: bool = True
    #: What rendering costs (the estimate ``render_function`` checks against the budget).
    estimate_function: EstimateFunction | None = None
    #: The network dimensions (spatial axes: 1 sequences, 2 images, 3 volumes) it draws.
    dimensions: tuple[int, ...] = (2,)
    #: What it draws, in a few words, for the message refusing another dimension.
    draws: str = ""

    def check_dimensions(self, network: Network | None) -> None:
        """Refuse a network of a dimension this kind does not draw (DimensionError)."""
        if network is not None:
            require_dimensions(self.name, network, self.dimensions, self.draws)

    def resolve(self, given: Mapping[str, Any]) -> dict[str, Any]:
        return resolve_options(self.options, given)

    def estimate(self, network: Network | None, given: Mapping[str, Any]) -> Cost:
        """What rendering ``given`` would cost, without rendering it."""
        if self.estimate_function is None:
            return Cost()
        return self.estimate_function(network, self.resolve(given))

    def render(self, network: Network | None, given: Mapping[str, Any], theme: Theme) -> Rendered:
        self.check_dimensions(network)
        return self.render_function(network, self.resolve(given), theme)


class DimensionError(ValueError):
    """A network of a dimension a figure kind does not draw; names the kind, the network's
    dimension and what the kind draws."""


DIMENSION_WORDS = {1: "1-D (a sequence)", 2: "2-D (an image)", 3: "3-D (a volume)"}


def require_dimensions(kind: str, network: Network, allowed: tuple[int, ...], draws: str) -> None:
    """DimensionError unless ``network`` has one of the ``allowed`` numbers of spatial axes."""
    ndim = len(network.input) - 1
    if ndim in allowed:
        return
    can = " or ".join(f"{d}-D" for d in allowed)
    shape = "×".join(str(v) for v in network.input)
    what = f" ({draws})" if draws else ""
    raise DimensionError(f"rf-{kind} draws {can} networks{what}; this network is "
                         f"{DIMENSION_WORDS.get(ndim, f'{ndim}-D')}, input {shape}")


Result = TypeVar("Result")


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    maxsize: int
    currsize: int


class LastResult(Generic[Result]):
    """A one-entry memo of ``function`` (with ``functools.lru_cache``'s ``cache_info`` and
    ``cache_clear``) that forgets its entry *before* computing another, so that two large
    results never share memory; the Sphinx layer draws light, then dark, of the same one."""

    def __init__(self, function: Callable[..., Result]) -> None:
        self.function = function
        self._key: tuple[Hashable, ...] | None = None
        self._value: Result | None = None
        self._hits = self._misses = 0

    def __call__(self, *key: Hashable) -> Result:
        if self._key is not None and self._key == key:
            self._hits += 1
            assert self._value is not None
            return self._value
        self._key = self._value = None  # freed before the next is computed
        self._misses += 1
        value = self.function(*key)
        self._key, self._value = key, value
        return value

    def cache_info(self) -> CacheInfo:
        return CacheInfo(self._hits, self._misses, 1, 0 if self._key is None else 1)

    def cache_clear(self) -> None:
        """Forget the entry and the statistics."""
        self._key = self._value = None
        self._hits = self._misses = 0
