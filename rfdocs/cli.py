"""The rfdocs command: receptive-field tables and figure rendering (a thin front over the library).

    rfdocs rf MODEL [--json]                     per-layer shapes and receptive fields
    rfdocs import MODEL.onnx -o SPEC.yaml        an ONNX model as a spec (canonical long form)
    rfdocs activations MODEL --input X.npy [--layer NAME] -o OUT.npy
                                                 one layer's output for an H x W x C array
    rfdocs render KIND [--OPTION VALUE ...] -o FILE [--spec SPEC] [--theme light|dark]
    rfdocs render FIGURE.yaml -o FILE            a figure file: kind, options and network
    rfdocs render-all DIR                        every DIR/*.yaml to DIR/NAME.svg and NAME.dark.svg
    rfdocs kinds                                 figure kinds and their options

SPEC is a YAML/JSON spec file, a compact spec file or a zoo model name; MODEL is a SPEC or an
ONNX model file (``.onnx``; reading it needs ``pip install "rfdocs[onnx]"``). ``--until NAME``
keeps the layers up to NAME (to stop before an operator rfdocs does not support) and
``--input-shape HxW`` gives the input size of a model that leaves it open.

Every failure (bad input, a file that cannot be read or written, a full disk) exits with status
2 and one line on standard error, ``rfdocs: <what is wrong>``. When the reader of standard
output goes away (``rfdocs rf resnet50 | head -1``), rfdocs stops quietly as the classic Unix
tools do: it ends by SIGPIPE, which a shell reports as status 141 (where there is no SIGPIPE,
Windows, it exits with status 1, as Python's documentation suggests).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from rfdocs.compute import ZOO_NAMES, Network, SpecError, analyze, parse_spec, zoo_network
from rfdocs.compute.spec import MAX_DIM, load_yaml, read_spec_text
from rfdocs.importers import load_network, spec_text
from rfdocs.messages import shorten, tidy

#: Set to 1 to get Python's traceback for an unexpected error instead of one line.
TRACEBACK_ENV = "RFDOCS_TRACEBACK"


class UsageError(Exception):
    """Bad command-line input: reported as one line, exit status 2."""


class OutputError(Exception):
    """Standard output cannot be written (a full disk, a closed pipe)."""

    def __init__(self, error: OSError) -> None:
        self.error = error
        super().__init__(error.strerror or str(error))


def emit(text: str) -> None:
    """Print a line to standard output; failures become OutputError (not a traceback)."""
    try:
        print(text)
    except OSError as err:
        raise OutputError(err) from None


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
        data = load_yaml(read_spec_text(path))
    except SpecError as err:
        raise UsageError(f"{shorten(str(path))}: cannot read figure file: {err}") from None
    if not isinstance(data, dict) or "kind" not in data:
        raise UsageError(f"{path}: a figure file is a mapping with 'kind', 'options' and one of "
                         "'network', 'model' or 'spec'")
    unknown = sorted(set(data) - set(FIGURE_KEYS))
    if unknown:
        raise UsageError(f"{path}: unknown key(s) {shorten(', '.join(map(str, unknown)))}; "
                         f"allowed: {', '.join(FIGURE_KEYS)}")
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
            network = load_network(path.parent / str(data["spec"]), base_dir=path.parent)
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
            raise UsageError(f"unexpected argument {shorten(repr(tok))}; figure options are "
                             "written --name value")
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
        data = figure_bytes(rendered.figure, fmt, budget=rendered.budget)
    try:
        write_atomic(out, data)
    except OSError as err:
        raise UsageError(f"{shorten(str(out))}: cannot write it: {_why_not_writable(out, err)}") from None
    return rendered.alt


def _why_not_writable(out: Path, err: OSError) -> str:
    """What stands in the way of writing ``out``, in words."""
    if out.is_dir():
        return "it is a folder; give a file name, such as figure.svg, inside it"
    for parent in out.parents:
        if parent.exists() and not parent.is_dir():
            return f"{shorten(str(parent))} is a file, not a folder"
    return err.strerror or str(err)


def _network_arg(spec: str | None, until: str | None = None,
                 input_shape: tuple[int, ...] | None = None) -> Network | None:
    if spec is None:
        return None
    try:
        return load_network(spec, until=until, input_shape=input_shape)
    except SpecError as err:
        raise UsageError(f"{shorten(spec)}: {err}") from None
    except OSError as err:
        raise UsageError(f"{shorten(spec)}: {err.strerror}") from None


_AXES = {1: ("T",), 2: ("H", "W"), 3: ("D", "H", "W")}


def _shape_arg(text: str) -> tuple[int, ...]:
    """The input's spatial sizes, optionally then channels (argparse type): T, HxW, DxHxW, each
    with an optional xC; which it is, the model's dimension decides."""
    parts = text.lower().split("x")
    if len(parts) not in (1, 2, 3, 4) or not all(p.isascii() and p.isdigit() and len(p) <= 7
                                                 for p in parts):
        raise argparse.ArgumentTypeError(f"expected sizes such as 224x224 (HxW), 16000 (T) or "
                                         f"16x112x112 (DxHxW), got {text!r}")
    dims = tuple(int(p) for p in parts)
    if not all(1 <= d <= MAX_DIM for d in dims):
        raise argparse.ArgumentTypeError(f"sizes must be between 1 and {MAX_DIM}, got {text!r}")
    return dims


def cmd_rf(args: argparse.Namespace) -> int:
    from rfdocs.figures.table import layer_table

    net = _network_arg(args.spec, args.until, args.input_shape)
    assert net is not None
    try:
        analysis = analyze(net)
    except SpecError as err:
        raise UsageError(f"{shorten(args.spec)}: {err}") from None
    if args.json:
        emit(json.dumps(analysis.to_json(), indent=2))
    else:
        emit(layer_table(analysis).to_text())
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    net = _network_arg(args.model, args.until, args.input_shape)
    assert net is not None
    text = spec_text(net, compact=args.compact, source=Path(args.model).name)
    out = Path(args.output)
    from rfdocs.files import write_atomic

    try:
        write_atomic(out, text.encode("utf-8"))
    except OSError as err:
        raise UsageError(f"{shorten(str(out))}: cannot write it: {_why_not_writable(out, err)}") from None
    if not args.quiet:
        emit(f"wrote {out}: {len(net.layers)} layers, input {'x'.join(map(str, net.input))} "
             "(learned weights stay in the model)")
    return 0


def _read_array(name: str) -> Any:
    """An H x W x C (or H x W) array from a .npy file, as float32; never unpickles."""
    import numpy as np

    try:
        array = np.load(name, allow_pickle=False)
    except OSError as err:
        raise UsageError(f"{shorten(name)}: cannot read it: {err.strerror or err}") from None
    except (ValueError, EOFError) as err:
        raise UsageError(f"{shorten(name)}: not a .npy array of numbers ({shorten(str(err))})") \
            from None
    if not isinstance(array, np.ndarray):
        raise UsageError(f"{shorten(name)}: holds several arrays (.npz); give one .npy array")
    if array.ndim not in (2, 3, 4) or min(array.shape) < 1:
        raise UsageError(f"{shorten(name)}: an array of shape {array.shape}; give an H x W x C "
                         "array (channels last; T x C for a sequence, D x H x W x C for a volume)")
    if not (np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)):
        raise UsageError(f"{shorten(name)}: an array of {array.dtype}; give numbers (float32)")
    values = array.astype(np.float32)
    if not np.all(np.isfinite(values)):
        raise UsageError(f"{shorten(name)}: holds NaN or infinite values")
    return values


def cmd_activations(args: argparse.Namespace) -> int:
    import io

    import numpy as np

    from rfdocs.compute.forward import forward
    from rfdocs.files import write_atomic

    x = _read_array(args.input)
    if x.ndim == 2:  # T x C for a sequence model; H x W (one channel) for an image model
        try:
            probe = load_network(args.model, until=args.layer)
        except (SpecError, OSError):
            probe = None
        if probe is None or probe.ndim != 1:
            x = x[:, :, None]
    net = _network_arg(args.model, args.layer, args.input_shape or x.shape[:-1])
    assert net is not None
    if net.ndim != x.ndim - 1:
        raise UsageError(f"{shorten(args.input)}: an array of shape {x.shape} for a {net.ndim}-D "
                         f"network; give {' x '.join(_AXES[net.ndim])} x C")
    try:
        acts = forward(net, x)
    except SpecError as err:
        raise UsageError(f"{shorten(args.model)}: {err}") from None
    except ValueError as err:
        raise UsageError(f"{shorten(args.model)}: {err}") from None
    out_array = np.ascontiguousarray(acts[net.layers[-1].name], dtype=np.float32)
    buffer = io.BytesIO()
    np.save(buffer, out_array, allow_pickle=False)
    out = Path(args.output)
    try:
        write_atomic(out, buffer.getvalue())
    except OSError as err:
        raise UsageError(f"{shorten(str(out))}: cannot write it: {_why_not_writable(out, err)}") from None
    if not args.quiet:
        emit(f"wrote {out}: layer {net.layers[-1].name}, "
             f"{'x'.join(map(str, out_array.shape))} float32")
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
        raise UsageError(f"{shorten(repr(target))} is neither a figure kind ({', '.join(KIND_MODULES)}) "
                         "nor a .yaml figure file")
    try:
        alt = render_to_file(kind, options, network, Path(args.output), args.theme)
    except OptionError as err:
        raise UsageError(f"{kind}: {err}") from None
    except (SpecError, ValueError) as err:
        raise UsageError(f"{kind}: {err}") from None
    if not args.quiet:
        emit(alt)
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
            emit(f"wrote {out}")
    return 0


def cmd_kinds(_: argparse.Namespace) -> int:
    from rfdocs.figures import KIND_MODULES, get_kind

    for name in KIND_MODULES:
        kind = get_kind(name)
        emit(f"{name}: {kind.summary}")
        for option in kind.options:
            emit(f"  --{option.name}  {option.allowed}  (default {option.default!r}): {option.help}")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line (``rfdocs: ...``, status 2) like every other."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")

    def print_help(self, file: Any = None) -> None:
        """The help, whose write errors argparse would swallow (a full disk gave status 0)."""
        try:
            (file or sys.stdout).write(self.format_help())
        except OSError as err:
            raise OutputError(err) from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rfdocs", description="Receptive-field tables and computed figures of convolutional "
        "networks.", epilog="SPEC is a YAML/JSON spec file, a compact spec file or a zoo model "
        f"name ({', '.join(ZOO_NAMES)}); MODEL is a SPEC or an ONNX model (.onnx). Every failure "
        "exits with status 2 and one line on standard error. When the reader of the output goes "
        "away (rfdocs rf SPEC | head), rfdocs stops quietly, ended by SIGPIPE like the classic Unix tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    model_help = (f"spec file (YAML, JSON or compact), zoo model ({', '.join(ZOO_NAMES)}) or "
                  "ONNX model (.onnx)")
    until_help = ("the last layer to read (its rfdocs name, or an ONNX node or output name): "
                  "stops before an operator rfdocs does not support")
    shape_help = ("input sizes of a model that leaves them open: HxW (T for a sequence, DxHxW "
                  "for a volume), optionally followed by xC")
    rf = sub.add_parser("rf", help="per-layer shapes and receptive fields of a network")
    rf.add_argument("spec", metavar="MODEL", help=model_help)
    rf.add_argument("--json", action="store_true", help="print JSON instead of a table")
    rf.add_argument("--until", metavar="NAME", help=until_help)
    rf.add_argument("--input-shape", type=_shape_arg, metavar="HxW", help=shape_help)
    imp = sub.add_parser("import", help="write a model (ONNX) as a spec file")
    imp.add_argument("model", metavar="MODEL", help=model_help)
    imp.add_argument("-o", "--output", required=True, help="the spec file to write (.yaml)")
    imp.add_argument("--compact", action="store_true", help="write the compact form")
    imp.add_argument("--until", metavar="NAME", help=until_help)
    imp.add_argument("--input-shape", type=_shape_arg, metavar="HxW", help=shape_help)
    imp.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    act = sub.add_parser("activations", help="one layer's output for an input array (.npy)")
    act.add_argument("model", metavar="MODEL", help=model_help)
    act.add_argument("--input", required=True, metavar="ARRAY.npy",
                     help="H x W x C float32 array, fed to the model as it is")
    act.add_argument("--layer", metavar="NAME", help="the layer (default: the last)")
    act.add_argument("-o", "--output", required=True, metavar="OUT.npy",
                     help="the layer's H' x W' x C' float32 output")
    act.add_argument("--input-shape", type=_shape_arg, metavar="HxW",
                     help="input size the model is read at (default: the array's)")
    act.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    render = sub.add_parser("render", help="render one figure to .svg, .png or .pdf")
    render.add_argument("what", help="a figure kind, or a figure file (.yaml)")
    render.add_argument("-o", "--output", required=True, help="output file; format from its suffix")
    render.add_argument("--spec", help="network: spec file, zoo model name or ONNX model")
    render.add_argument("--theme", choices=("light", "dark"), default="light")
    render.add_argument("-q", "--quiet", action="store_true", help="do not print the alt text")
    render_all = sub.add_parser("render-all", help="render every figure file in a folder")
    render_all.add_argument("folder")
    sub.add_parser("kinds", help="list figure kinds and their options")
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the command; errors are raised, not reported."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
    except SystemExit as done:  # --help prints, then exits
        flush_stdout()
        return done.code if isinstance(done.code, int) else 0
    except OSError as err:  # --help to a closed or full standard output
        raise OutputError(err) from None
    if args.command != "render" and extra:
        raise UsageError(f"unexpected argument(s): {shorten(' '.join(extra))}")
    if args.command == "rf":
        return cmd_rf(args)
    if args.command == "render":
        return cmd_render(args, extra)
    if args.command == "render-all":
        return cmd_render_all(args)
    if args.command == "import":
        return cmd_import(args)
    if args.command == "activations":
        return cmd_activations(args)
    return cmd_kinds(args)


def flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except OSError as err:
        raise OutputError(err) from None


def main(argv: Sequence[str] | None = None) -> int:
    """The ``rfdocs`` command: its exit status (0 done, 2 any failure, with one line on standard
    error; the end of a closed pipe as described in the module documentation)."""
    try:
        code = run(argv)
        flush_stdout()
        return code
    except UsageError as err:
        return fail(str(err))
    except OutputError as err:
        _drop_stdout()
        if err.error.errno == errno.EPIPE:
            return _closed_pipe()
        return fail(f"cannot write to standard output: {err}")
    except KeyboardInterrupt:
        return 130  # as shells report an interrupted command
    except (ValueError, MemoryError, RecursionError, OSError) as err:
        if os.environ.get(TRACEBACK_ENV):
            raise
        what = ("not enough memory" if isinstance(err, MemoryError) else
                f"{err.strerror}: {shorten(str(err.filename))}"
                if isinstance(err, OSError) and err.filename else str(err) or type(err).__name__)
        return fail(what)
    except Exception as err:  # a bug: still one line, with a way to see the traceback
        if os.environ.get(TRACEBACK_ENV):
            raise
        return fail(f"internal error ({type(err).__name__}: {shorten(str(err))}); please report "
                    f"it, with the traceback that {TRACEBACK_ENV}=1 shows")


def fail(message: str) -> int:
    """Report one line on standard error; the exit status of every failure."""
    try:
        print(f"rfdocs: {tidy(' '.join(message.split()))}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass
    return 2


def _drop_stdout() -> None:
    """Point standard output at the null device, so that what is still buffered does not fail
    again when Python exits (Python's documentation, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (tests capture it)
        pass


def _closed_pipe() -> int:
    """Stop as a reader going away stops ``cat`` or ``seq``: by SIGPIPE (status 141 in a shell);
    where there is no SIGPIPE, exit with status 1."""
    sigpipe = getattr(signal, "SIGPIPE", None)
    if sigpipe is not None:
        sys.stderr.flush()
        signal.signal(sigpipe, signal.SIG_DFL)
        os.kill(os.getpid(), sigpipe)
    return 1


if __name__ == "__main__":
    sys.exit(main())
