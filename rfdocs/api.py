"""The Python API: networks, their numbers and computed figures for notebooks and scripts.

    import rfdocs
    net = rfdocs.network("input 50x50x3\\nconv1: conv 5x5 /1 x100")
    rfdocs.analyze(net).output.rf           # (5, 5)
    fig = rfdocs.figure("block", net, neuron=(12, 30))
    fig.alt, fig.numbers                     # computed alt text and the numbers it states
    fig.save("block.svg")                    # .svg .png .pdf (.gif for animated kinds)
    rfdocs.rf_value("vgg16:pool5:rf")        # '212×212', as the rf role prints it

A notebook shows a figure as SVG (``_repr_svg_``) or as HTML with its dark variant for readers
whose system is dark (``_repr_html_``); ``rfdocs.figure("explorer", net)`` is the interactive
explorer as one self-contained piece of HTML.  Every bad input raises ``RfdocsError`` with the
one line the ``rfdocs`` command prints for it.  The same options as the directives take, as the
page would write them (text) or as Python values (numbers, flags, lists).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rfdocs.errors import RfdocsError
from rfdocs.messages import shorten

if TYPE_CHECKING:
    from rfdocs.compute import Analysis, Network
    from rfdocs.figures.base import Rendered

#: Kinds drawn outside the figure kinds of ``rfdocs.figures``: the interactive explorer and the
#: per-layer table.
EXTRA_KINDS = ("explorer", "table")
THEME_NAMES = ("light", "dark")


def _label(source: Any) -> str:
    """How messages name a network source (the CLI names a file or zoo model by its text)."""
    from rfdocs.compute import Network

    if isinstance(source, Network):
        return "network"
    if isinstance(source, Mapping) or (isinstance(source, str) and "\n" in source):
        return "network spec"
    return shorten(os.fspath(source)) if isinstance(source, str | os.PathLike) else "network"


def network(source: Network | str | os.PathLike[str] | Mapping[str, Any], *,
            until: str | None = None, input_shape: Sequence[int] | None = None,
            base_dir: str | os.PathLike[str] | None = None) -> Network:
    """The one ``Network`` every figure and number is computed from.

    ``source``: a ``Network`` (returned as it is); a spec text in the compact or long (YAML,
    JSON) form, told apart from a file name by its line break; a mapping in the long form
    (``{"input": [32, 32, 3], "layers": [...]}``); a spec file; a zoo model name
    (``resnet50``); an ONNX model file (``.onnx``, needs ``pip install "rfdocs[onnx]"``).
    ``until``: keep the layers up to this one; ``input_shape``: the input's spatial sizes
    ((T,), (H, W) or (D, H, W)), optionally then channels; ``base_dir`` (ONNX): the folder
    external weight files must lie in.  Raises ``RfdocsError``.
    """
    from rfdocs.compute import Network, SpecError, parse_spec
    from rfdocs.importers import load_network, truncate

    label = _label(source)
    try:
        if isinstance(source, Network | Mapping) or (isinstance(source, str) and "\n" in source):
            if isinstance(source, Network):
                net = source
            elif isinstance(source, Mapping):
                net = parse_spec(json.dumps(dict(source)))
            else:
                net = parse_spec(source)
            if input_shape is not None:
                from rfdocs.importers import _full_shape

                net = net.with_input(_full_shape(input_shape, net))
            return net if until is None else truncate(net, until)
        if not isinstance(source, str | os.PathLike):
            raise RfdocsError(f"a network is a spec text, a spec file, a zoo model name, an ONNX "
                              f"file or a Network, not {type(source).__name__}")
        return load_network(os.fspath(source), until=until,
                            base_dir=None if base_dir is None else Path(base_dir),
                            input_shape=None if input_shape is None else tuple(input_shape))
    except SpecError as err:
        raise RfdocsError(f"{label}: {err}") from None
    except OSError as err:
        raise RfdocsError(f"{label}: {err.strerror or err}") from None
    except TypeError as err:  # a mapping that is no spec (numbers JSON cannot write)
        raise RfdocsError(f"{label}: {err}") from None


_as_network = network  # figure() names its argument ``network``


def analyze(source: Network | str | os.PathLike[str] | Mapping[str, Any]) -> Analysis:
    """Per-layer shapes and receptive fields (size ``rf``, jump ``j``, start ``u``, effective
    padding ``p``) of a network or anything ``network`` takes; ``.to_json()`` is what
    ``rfdocs rf --json`` prints.  Raises ``RfdocsError``."""
    from rfdocs.compute import SpecError
    from rfdocs.compute import analyze as analyze_network

    net = network(source)
    try:
        return analyze_network(net)
    except SpecError as err:
        raise RfdocsError(f"{_label(source)}: {err}") from None


def rf_value(query: str, networks: Mapping[str, Network] | None = None) -> str:
    """The text the ``rf`` role prints for ``query`` (``SOURCE:LAYER:FIELD[.AXIS]``, e.g.
    ``vgg16:pool5:rf`` -> ``212×212``): SOURCE is one of ``networks`` (names you give, as
    rf-network names a page's), a zoo model or an ONNX file.  Raises ``RfdocsError`` with the
    message the role's warning gives after ``rf role:``."""
    from rfdocs.queries import answer

    try:
        return answer(query.strip(), networks or {}, _query_model)
    except RfdocsError:
        raise
    except ValueError as err:
        raise RfdocsError(str(err)) from None


def _query_model(path: str) -> Network:
    from rfdocs.compute import SpecError
    from rfdocs.importers import load_network

    try:
        return load_network(path)
    except SpecError as err:
        raise RfdocsError(f"cannot use the model {shorten(path)}: {err}") from None
    except OSError as err:
        raise RfdocsError(f"{shorten(path)}: {err.strerror or err}") from None


def _kind_names() -> tuple[str, ...]:
    from rfdocs.figures import KIND_MODULES

    return (*KIND_MODULES, *EXTRA_KINDS)


def figure(kind: str, network: Network | str | os.PathLike[str] | Mapping[str, Any] | None = None,
           *, theme: str = "light", **options: Any) -> FigureResult:
    """A computed figure: ``kind`` is any figure kind (``block``, ``growth``, ``featuremaps``,
    ``steps``, ``erf``, ``filters``, ``stack``, ... as ``rfdocs kinds`` lists them), ``explorer``
    (the interactive explorer, as HTML) or ``table`` (the per-layer numbers).  ``network``: what
    ``rfdocs.network`` takes, or None for the kind's default.  ``options``: the directive's
    options (``neuron="12,30"`` or ``neuron=(12, 30)``; ``-`` in a name may be written ``_``);
    ``theme``: ``light`` or ``dark``, what ``svg()``, ``save()`` and the notebook show (the
    notebook's HTML adds the dark variant for dark systems when it is ``light``).

    The figure is drawn now in ``theme`` (so bad input raises ``RfdocsError`` here, not when
    the notebook shows it) and in the other theme when first asked for; each once."""
    from rfdocs.figures import KIND_MODULES

    if kind not in KIND_MODULES and kind not in EXTRA_KINDS:
        raise RfdocsError(f"{shorten(repr(kind))} is not a figure kind; allowed: "
                          f"{', '.join(_kind_names())}")
    if theme not in THEME_NAMES:
        raise RfdocsError(f"theme {shorten(repr(theme))}: allowed: {', '.join(THEME_NAMES)}")
    net = None if network is None else _as_network(network)
    given = {name.replace("-", "_"): value for name, value in options.items()}
    result = FigureResult(kind, net, given, theme)
    result.check()
    if kind not in EXTRA_KINDS:
        result.rendered()
    return result


class FigureResult:
    """A figure computed by rfdocs: ``alt`` and ``numbers`` from the computation, ``svg()``,
    ``save(path)`` and the notebook's rich display.  Drawn at most once per theme."""

    def __init__(self, kind: str, network: Network | None, options: Mapping[str, Any],
                 theme: str = "light") -> None:
        self.kind = kind
        self.network = network
        self.options: Mapping[str, Any] = dict(options)
        self.theme = theme
        self._rendered: dict[str, Rendered] = {}
        self._svg: dict[str, str] = {}

    def __repr__(self) -> str:
        net = "default network" if self.network is None else \
            f"input {'×'.join(map(str, self.network.input))}, {len(self.network.layers)} layers"
        return f"<rfdocs {self.kind} figure ({net}); .alt, .numbers, .svg(), .save(path)>"

    # ------------------------------------------------------------------ checking and drawing

    def _fail(self, err: Exception) -> RfdocsError:
        """The CLI's message for an error while checking or drawing (``KIND: message``)."""
        return RfdocsError(f"{self.kind}: {err}")

    def check(self) -> None:
        """Check the options and the network against the kind now (``RfdocsError``)."""
        from rfdocs.compute import SpecError
        from rfdocs.compute import analyze as analyze_network
        from rfdocs.figures import get_kind

        if self.kind in EXTRA_KINDS:
            self._check_extra()
            return
        kind = get_kind(self.kind)
        try:
            if self.network is not None:
                if not kind.uses_network:
                    raise ValueError("this figure takes no network (leave out the network)")
                analyze_network(self.network)
                kind.check_dimensions(self.network)
            kind.resolve(self.options)
        except (SpecError, ValueError) as err:
            raise self._fail(err) from None

    def rendered(self, theme: str | None = None) -> Rendered:
        """The drawn figure (a matplotlib ``Figure`` with its alt text and numbers) for ``theme``."""
        from rfdocs.compute import SpecError
        from rfdocs.figures import THEMES, get_kind

        name = self._theme(theme)
        if self.kind in EXTRA_KINDS:
            raise RfdocsError(f"{self.kind}: is not drawn as one image; use html() or save() "
                              "to .html")
        if name not in self._rendered:
            try:
                self._rendered[name] = get_kind(self.kind).render(self.network, self.options,
                                                                  THEMES[name])
            except (SpecError, ValueError) as err:
                raise self._fail(err) from None
            except MemoryError:
                raise self._fail(ValueError("not enough memory")) from None
        return self._rendered[name]

    def _theme(self, theme: str | None) -> str:
        name = self.theme if theme is None else theme
        if name not in THEME_NAMES:
            raise RfdocsError(f"theme {shorten(repr(name))}: allowed: {', '.join(THEME_NAMES)}")
        return name

    # ------------------------------------------------------------------ what it says

    @property
    def alt(self) -> str:
        """The alt text, stating the computed result (the directive's default alt text)."""
        if self.kind in EXTRA_KINDS:
            return self._extra_alt()
        return self.rendered().alt

    @property
    def numbers(self) -> Mapping[str, Any]:
        """The numbers the figure was drawn from (plain JSON values)."""
        if self.kind in EXTRA_KINDS:
            return self._analysis().to_json()
        return {str(key): _plain(value) for key, value in self.rendered().numbers.items()}

    # ------------------------------------------------------------------ files

    def to_bytes(self, fmt: str, *, theme: str | None = None, dpi: float | None = None) -> bytes:
        """The figure encoded as ``fmt`` (svg, png, pdf; gif for animated kinds; html for the
        explorer and the table), byte for byte what ``rfdocs render`` writes."""
        from rfdocs.compute import SpecError

        if self.kind in EXTRA_KINDS:
            if fmt != "html":
                raise RfdocsError(f"{self.kind}: is saved as .html, not .{fmt}")
            return self.html(theme=theme).encode("utf-8")
        rendered = self.rendered(theme)
        try:
            if fmt == "gif":
                from rfdocs.figures.steps import animation_bytes

                if dpi is None:
                    return animation_bytes(rendered, "gif")
                return animation_bytes(rendered, "gif", dpi=dpi)
            from rfdocs.figures.output import figure_bytes

            if fmt == "html":
                raise ValueError("cannot tell the format of '.html': use a .svg, .png, .pdf (or, "
                                 "for animated figures, .gif) suffix")
            return figure_bytes(rendered.figure, fmt, dpi=150 if dpi is None else dpi,
                                budget=rendered.budget)
        except (SpecError, ValueError) as err:
            raise self._fail(err) from None

    def svg(self, theme: str | None = None) -> str:
        """The SVG text of the figure in ``theme`` (default: the figure's)."""
        name = self._theme(theme)
        if name not in self._svg:
            self._svg[name] = self.to_bytes("svg", theme=name).decode("utf-8")
        return self._svg[name]

    def save(self, path: str | os.PathLike[str], *, theme: str | None = None,
             dpi: float | None = None) -> Path:
        """Write the figure to ``path``, its format from the suffix (.svg .png .pdf, .gif for
        animated kinds, .html for the explorer and the table); written atomically.  Returns the
        path."""
        from rfdocs.files import write_atomic

        out = Path(path)
        suffix = out.suffix.lower().lstrip(".")
        if self.kind in EXTRA_KINDS:
            fmt = suffix
        else:
            from rfdocs.figures.output import format_of

            try:
                fmt = format_of(out)
            except ValueError as err:
                raise self._fail(err) from None
        data = self.to_bytes(fmt, theme=theme, dpi=dpi)
        try:
            write_atomic(out, data)
        except OSError as err:
            from rfdocs.cli import _why_not_writable

            raise RfdocsError(f"{shorten(str(out))}: cannot write it: "
                              f"{_why_not_writable(out, err)}") from None
        return out

    # ------------------------------------------------------------------ notebooks

    def _repr_svg_(self) -> str | None:
        """The figure as SVG (what notebooks and nbconvert show; None for the explorer and the
        table, which are HTML)."""
        if self.kind == "explorer":
            fallback = self._explorer_growth()
            return None if fallback is None else fallback.svg(self.theme)
        if self.kind in EXTRA_KINDS:
            return None
        return self.svg()

    def _repr_html_(self) -> str:
        """Self-contained HTML: the figure as an image with its alt text, and its dark variant
        for dark systems; the explorer as the whole widget (script and stylesheet inline)."""
        return self.html()

    def html(self, theme: str | None = None) -> str:
        """The HTML the notebook shows (``_repr_html_``), with ``theme`` as the light one."""
        if self.kind == "table":
            return self._table_html()
        if self.kind == "explorer":
            return self._explorer_html()
        name = self._theme(theme)
        light = _data_uri(self.svg(name))
        alt = html.escape(self.alt, quote=True)
        dark = ""
        if name == "light":
            dark = (f'<source media="(prefers-color-scheme: dark)" '
                    f'srcset="{_data_uri(self.svg("dark"))}">')
        return (f'<figure class="rfdocs rfdocs-{self.kind}" style="margin:0">'
                f'<picture>{dark}<img alt="{alt}" src="{light}" style="max-width:100%"></picture>'
                "</figure>")

    # ------------------------------------------------------------------ explorer and table

    def _analysis(self) -> Analysis:
        from rfdocs.compute import SpecError
        from rfdocs.compute import analyze as analyze_network

        net = self.network
        if net is None:
            raise RfdocsError(f"{self.kind}: needs a network (a spec text, a spec file, a zoo "
                              "model name or an ONNX file)")
        try:
            return analyze_network(net)
        except SpecError as err:
            raise self._fail(err) from None

    def _check_extra(self) -> None:
        allowed = {"explorer": ("layers", "max_cells", "select"),
                   "table": ("layers", "no_input")}[self.kind]
        unknown = sorted(set(self.options) - set(allowed))
        if unknown:
            raise RfdocsError(f"{self.kind}: option {shorten(repr(unknown[0]), 40)}: unknown "
                              f"option; allowed: {', '.join(allowed)}")
        if self.kind == "explorer":
            self._explorer_parts()
        else:
            self._table()

    def _explorer_parts(self) -> tuple[Analysis, list[str], int, tuple[Any, ...]]:
        from rfdocs.explorer import ExplorerProblem, max_cells, selected, shown_layers

        analysis = self._analysis()
        try:
            shown = shown_layers(analysis, self.options.get("layers"))
            cells = max_cells(self.options.get("max_cells"), analysis.input.ndim)
            select = selected(analysis, shown, self.options.get("select"))
        except ExplorerProblem as err:
            raise self._fail(err) from None
        return analysis, shown, cells, select

    def _explorer_growth(self) -> FigureResult | None:
        """The growth figure of the explorer's first unit: its static fallback."""
        from rfdocs.compute.spec import INPUT_NAME
        from rfdocs.figures import KIND_MODULES

        analysis, shown, _, select = self._explorer_parts()
        layer, coords = select[0], select[1:]
        if layer == INPUT_NAME:
            layer = shown[-1]
            if layer == INPUT_NAME or "growth" not in KIND_MODULES:
                return None
            coords = tuple(n // 2 for n in analysis[layer].spatial)
        try:
            return figure("growth", self.network, theme=self.theme, layer=layer,
                          neuron=",".join(map(str, coords)))
        except RfdocsError:
            return None

    def _explorer_html(self) -> str:
        from rfdocs.explorer import DRAWN, ExplorerProblem, data_text, standalone_html, volume_sentence

        analysis, shown, cells, select = self._explorer_parts()
        ndim = analysis.input.ndim
        try:
            data = data_text(analysis, shown, cells, select) if ndim in DRAWN else ""
        except ExplorerProblem as err:
            raise self._fail(err) from None
        growth = self._explorer_growth()
        parts = []
        if ndim not in DRAWN:
            parts.append(f"<p>{html.escape(volume_sentence(analysis, shown, select))}</p>")
        if growth is not None:
            parts.append(growth.html())
        every = len(shown) == len(analysis.nodes)
        parts.append(FigureResult("table", self.network, {} if every else {"layers": shown})
                     ._table_html())
        digest = hashlib.sha1((data or repr(select)).encode(), usedforsecurity=False).hexdigest()
        return standalone_html(f"rfx-nb-{digest[:12]}", data, ndim, "".join(parts))

    def _extra_alt(self) -> str:
        analysis = self._analysis() if self.kind == "table" else self._explorer_parts()[0]
        shape = "×".join(map(str, analysis.input.shape))
        what = ("Interactive receptive fields" if self.kind == "explorer"
                else "Per-layer output shape, receptive field, jump, start and padding")
        return f"{what} of a network of {len(analysis.layers)} layers on a {shape} input"

    def _table(self) -> Any:
        from rfdocs.figures.options import flag
        from rfdocs.figures.table import layer_table

        analysis = self._analysis()
        layers = self.options.get("layers")
        wanted = None
        if layers:
            wanted = (layers.replace(",", " ").split() if isinstance(layers, str)
                      else [str(w) for w in layers])
            names = {n.name for n in analysis}
            missing = [w for w in wanted if w not in names]
            if missing:
                raise RfdocsError(f"table: :layers: no layer {missing[0]!r}; layers are "
                                  + shorten(", ".join(n.name for n in analysis), 300))
        try:
            no_input = flag(self.options.get("no_input", False))
        except ValueError:
            raise RfdocsError("table: option 'no_input': expected a flag (yes/no), got "
                              f"{shorten(repr(self.options.get('no_input')))}") from None
        return layer_table(analysis, include_input=not no_input, layers=wanted)

    def _table_html(self) -> str:
        table = self._table()
        head = "".join(f"<th>{html.escape(c)}</th>" for c in table.header)
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                       for row in table.rows)
        return (f'<table class="rfdocs-table"><thead><tr>{head}</tr></thead>'
                f"<tbody>{rows}</tbody></table>")

    def text(self) -> str:
        """The per-layer table as plain text (what ``rfdocs rf`` prints), for ``table``."""
        if self.kind != "table":
            raise RfdocsError(f"{self.kind}: text() is for the table")
        text: str = self._table().to_text()
        return text


def _data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _plain(value: Any) -> Any:
    """Plain Python values: mappings, lists, ints, floats, text (numpy scalars and fractions
    converted)."""
    from fractions import Fraction

    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else float(value)
    if isinstance(value, str | bool | int | float) or value is None:
        return value
    item = getattr(value, "item", None)  # a numpy scalar
    if callable(item) and getattr(value, "shape", None) == ():
        return item()
    tolist = getattr(value, "tolist", None)  # a numpy array
    return tolist() if callable(tolist) else str(value)


__all__ = ["EXTRA_KINDS", "FigureResult", "RfdocsError", "analyze", "figure", "network", "rf_value"]
