"""The rfdocs command: receptive-field tables and figure rendering (a thin front over the library).

    rfdocs rf SPEC [--json]                      per-layer shapes and receptive fields
    rfdocs render KIND [--OPTION VALUE ...] -o FILE [--spec SPEC] [--theme light|dark]
    rfdocs render FIGURE.yaml -o FILE            a figure file: kind, options and network
    rfdocs render-all DIR                        every DIR/*.yaml to DIR/NAME.svg and NAME.dark.svg
    rfdocs kinds                                 figure kinds and their options

SPEC is a YAML/JSON spec file, a compact spec file or a zoo model name. Bad input exits with
status 2 and one message naming what is wrong and what is allowed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rfdocs.compute import ZOO_NAMES, Network, SpecError, analyze, load_spec, parse_spec, zoo_network


class UsageError(Exception):
    """Bad command-line input: reported as one line, exit status 2."""


@dataclass(frozen=True)
class FigureFile:
    """A figure file: which kind, its options and its network."""

    kind: str
    options: Mapping[str, Any]
    network: Network | None


FIGURE_KEYS = ("kind", "options", "network", "model", "spec")


def read_figure_file(path: Path) -> FigureFile:
    """Parse ``kind``/``options`` and one of ``network`` (inline spec), ``model`` or ``spec``."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise UsageError(f"{path}: cannot read figure file: {err}") from None
    if not isinstance(data, dict) or "kind" not in data:
        raise UsageError(f"{path}: a figure file is a mapping with 'kind', 'options' and one of "
                         "'network', 'model' or 'spec'")
    unknown = sorted(set(data) - set(FIGURE_KEYS))
    if unknown:
        raise UsageError(f"{path}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(FIGURE_KEYS)}")
    options = data.get("options") or {}
    if not isinstance(options, dict):
        raise UsageError(f"{path}: 'options' must be a mapping of option names to values")
    network: Network | None = None
    try:
        if "network" in data:
            raw = data["network"]
            network = parse_spec(raw if isinstance(raw, str) else json.dumps(raw))
        elif "model" in data:
            network = zoo_network(str(data["model"]))
        elif "spec" in data:
            network = load_spec(path.parent / str(data["spec"]))
    except SpecError as err:
        raise UsageError(f"{path}: network: {err}") from None
    return FigureFile(str(data["kind"]), options, network)


def _kind_options(extra: Sequence[str]) -> dict[str, str]:
    """``--name value`` / ``--flag`` pairs left over by argparse, as option text."""
    out: dict[str, str] = {}
    i = 0
    while i < len(extra):
        tok = extra[i]
        if not tok.startswith("--") or len(tok) < 3:
            raise UsageError(f"unexpected argument {tok!r}; figure options are written --name value")
        name, _, value = tok[2:].partition("=")
        name = name.replace("-", "_")
        if not _ and i + 1 < len(extra) and not extra[i + 1].startswith("--"):
            value = extra[i + 1]
            i += 1
        out[name] = value
        i += 1
    return out


def render_to_file(kind_name: str, options: Mapping[str, Any], network: Network | None,
                   out: Path, theme_name: str = "light") -> str:
    """Render a figure to ``out`` (format from the suffix); returns its alt text."""
    from rfdocs.figures import THEMES, get_kind
    from rfdocs.figures.output import figure_bytes, format_of
    from rfdocs.files import write_atomic

    fmt = format_of(out)
    kind = get_kind(kind_name)
    rendered = kind.render(network, options, THEMES[theme_name])
    if fmt == "gif":
        from rfdocs.figures.steps import animation_bytes

        data = animation_bytes(rendered, "gif")
    else:
        data = figure_bytes(rendered.figure, fmt)
    write_atomic(out, data)
    return rendered.alt


def _network_arg(spec: str | None) -> Network | None:
    if spec is None:
        return None
    try:
        return load_spec(spec)
    except SpecError as err:
        raise UsageError(f"{spec}: {err}") from None
    except OSError as err:
        raise UsageError(f"{spec}: {err.strerror}") from None


def cmd_rf(args: argparse.Namespace) -> int:
    from rfdocs.figures.table import layer_table

    net = _network_arg(args.spec)
    assert net is not None
    try:
        analysis = analyze(net)
    except SpecError as err:
        raise UsageError(f"{args.spec}: {err}") from None
    if args.json:
        print(json.dumps(analysis.to_json(), indent=2))
    else:
        print(layer_table(analysis).to_text())
    return 0


def cmd_render(args: argparse.Namespace, extra: Sequence[str]) -> int:
    from rfdocs.figures import KIND_MODULES, OptionError

    target = args.what
    if target.endswith((".yaml", ".yml")):
        if extra or args.spec:
            raise UsageError("with a figure file, put options and the network in the file")
        fig = read_figure_file(Path(target))
        kind, options, network = fig.kind, dict(fig.options), fig.network
    elif target in KIND_MODULES:
        kind, options, network = target, _kind_options(extra), _network_arg(args.spec)
    else:
        raise UsageError(f"{target!r} is neither a figure kind ({', '.join(KIND_MODULES)}) "
                         "nor a .yaml figure file")
    try:
        alt = render_to_file(kind, options, network, Path(args.output), args.theme)
    except OptionError as err:
        raise UsageError(f"{kind}: {err}") from None
    except (SpecError, ValueError) as err:
        raise UsageError(f"{kind}: {err}") from None
    if not args.quiet:
        print(alt)
    return 0


def cmd_render_all(args: argparse.Namespace) -> int:
    from rfdocs.figures import OptionError

    folder = Path(args.folder)
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise UsageError(f"{folder}: no *.yaml figure files")
    for path in files:
        fig = read_figure_file(path)
        for theme, suffix in (("light", ".svg"), ("dark", ".dark.svg")):
            out = path.with_name(path.stem + suffix)
            try:
                render_to_file(fig.kind, fig.options, fig.network, out, theme)
            except (OptionError, SpecError, ValueError) as err:
                raise UsageError(f"{path}: {err}") from None
            print(f"wrote {out}")
    return 0


def cmd_kinds(_: argparse.Namespace) -> int:
    from rfdocs.figures import KIND_MODULES, get_kind

    for name in KIND_MODULES:
        kind = get_kind(name)
        print(f"{name}: {kind.summary}")
        for option in kind.options:
            print(f"  --{option.name}  {option.allowed}  (default {option.default!r}): {option.help}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rfdocs", description="Receptive-field tables and computed figures of convolutional "
        "networks.", epilog="SPEC is a YAML/JSON spec file, a compact spec file or a zoo model "
        f"name ({', '.join(ZOO_NAMES)}). Bad input exits with status 2.")
    sub = parser.add_subparsers(dest="command", required=True)
    rf = sub.add_parser("rf", help="per-layer shapes and receptive fields of a spec")
    rf.add_argument("spec", help=f"spec file (YAML, JSON or compact) or zoo model: {', '.join(ZOO_NAMES)}")
    rf.add_argument("--json", action="store_true", help="print JSON instead of a table")
    render = sub.add_parser("render", help="render one figure to .svg, .png or .pdf")
    render.add_argument("what", help="a figure kind, or a figure file (.yaml)")
    render.add_argument("-o", "--output", required=True, help="output file; format from its suffix")
    render.add_argument("--spec", help="network: spec file or zoo model name")
    render.add_argument("--theme", choices=("light", "dark"), default="light")
    render.add_argument("-q", "--quiet", action="store_true", help="do not print the alt text")
    render_all = sub.add_parser("render-all", help="render every figure file in a folder")
    render_all.add_argument("folder")
    sub.add_parser("kinds", help="list figure kinds and their options")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    try:
        if args.command != "render" and extra:
            raise UsageError(f"unexpected argument(s): {' '.join(extra)}")
        if args.command == "rf":
            return cmd_rf(args)
        if args.command == "render":
            return cmd_render(args, extra)
        if args.command == "render-all":
            return cmd_render_all(args)
        return cmd_kinds(args)
    except UsageError as err:
        print(f"rfdocs: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
