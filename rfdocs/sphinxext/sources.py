"""Where a directive's network and files come from: its body, a zoo model, a spec file, or a
network defined earlier on the page; paths stay inside the source directory."""

from __future__ import annotations

import errno
import stat
from dataclasses import dataclass
from pathlib import Path

from sphinx.environment import BuildEnvironment

from rfdocs.compute import ZOO_NAMES, Network, SpecError, parse_spec, zoo_network
from rfdocs.compute.spec import read_spec_text
from rfdocs.messages import quote, shorten, tidy

NETWORKS_KEY = "rfdocs_networks"  # env.temp_data: networks defined on the page being read
SOURCE_OPTIONS = ("model", "spec", "network")


class SourceError(ValueError):
    """A network or file a page asked for that cannot be had; ``subtype`` for the warning."""

    def __init__(self, message: str, subtype: str, line_offset: int | None = None) -> None:
        self.subtype = subtype
        self.line_offset = line_offset  # line within the directive body, where known
        super().__init__(tidy(message))


def safe_path(env: BuildEnvironment, text: str, option: str) -> Path:
    """A file named by a page, relative to the page; refused if absolute or outside the sources."""
    raw = text.strip()
    if not raw:
        raise SourceError(f":{option}: needs a path", "path")
    if Path(raw).is_absolute() or raw.startswith(("/", "\\")):
        raise SourceError(f":{option}: {quote(raw)} is absolute; give a path relative to the "
                          "page, inside the source directory", "path")
    srcdir = Path(env.srcdir).resolve()
    page_dir = Path(env.doc2path(env.docname)).parent
    try:
        target = (page_dir / raw).resolve()  # resolves symlinks too
    except RuntimeError:  # Python before 3.13: a symbolic link loop
        raise SourceError(f":{option}: a loop of symbolic links at {quote(raw)}", "file") from None
    except (OSError, ValueError) as err:  # a loop (3.13), a NUL byte, a name too long
        raise SourceError(f":{option}: {quote(raw)} is not a usable path "
                          f"({getattr(err, 'strerror', None) or err})", "file") from None
    if not target.is_relative_to(srcdir):
        raise SourceError(f":{option}: {quote(raw)} leads outside the source directory; only "
                          "files inside it may be read", "path")
    problem = _not_a_file(target)
    if problem:
        looked = shorten(str(target.relative_to(srcdir)))
        raise SourceError(f":{option}: {problem} {quote(raw)} (looked for {looked} in the source "
                          "directory)", "file")
    env.note_dependency(str(target))
    return target


def _not_a_file(path: Path) -> str:
    """Why ``path`` is not a readable regular file ('' when it is one)."""
    try:
        info = path.stat()
    except OSError as err:
        return "a loop of symbolic links at" if err.errno == errno.ELOOP else "no file"
    except ValueError:  # a NUL byte
        return "no file"
    if stat.S_ISDIR(info.st_mode):
        return "a folder, not a file, at"
    return "" if stat.S_ISREG(info.st_mode) else "not a regular file at"


@dataclass(frozen=True)
class NetworkSource:
    network: Network
    description: str  # for messages: 'the directive body', 'zoo model vgg16', ...


def page_networks(env: BuildEnvironment) -> dict[str, Network]:
    networks = env.temp_data.setdefault(NETWORKS_KEY, {})
    assert isinstance(networks, dict)
    return networks


def resolve_network(env: BuildEnvironment, body: str, options: dict[str, str],
                    max_layers: int) -> NetworkSource | None:
    """The one network a directive names (None when it names none)."""
    given = [name for name in SOURCE_OPTIONS if options.get(name)]
    if body.strip():
        given.insert(0, "body")
    if len(given) > 1:
        raise SourceError(f"give the network once: body, :model:, :spec: or :network:, "
                          f"not {' and '.join(given)}", "network")
    if not given:
        return None
    source = given[0]
    try:
        if source == "body":
            net, what = parse_spec(body, max_layers=max_layers), "the directive body"
        elif source == "model":
            name = options["model"].strip()
            if name.lower() not in ZOO_NAMES:
                raise SourceError(f":model: {quote(name)} is not a zoo model; choose one of "
                                  f"{', '.join(ZOO_NAMES)}", "network")
            net, what = zoo_network(name), f"zoo model {name}"
        elif source == "spec":
            path = safe_path(env, options["spec"], "spec")
            text = read_spec_text(path)
            net, what = parse_spec(text, max_layers=max_layers), f"spec file {shorten(options['spec'])}"
        else:
            name = options["network"].strip()
            networks = page_networks(env)
            if name not in networks:
                known = ", ".join(sorted(networks)) or "none yet"
                raise SourceError(f":network: {quote(name)} is not defined on this page before this "
                                  f"point (defined: {known}); define it with rf-network", "network")
            net, what = networks[name], f"network {name}"
    except SpecError as err:
        where = {"body": "in the directive body",
                 "spec": f"in {shorten(options.get('spec', '').strip())}"}.get(source, "")
        offset = err.line if source == "body" else None
        if source == "spec" and err.line is not None:
            where += f", line {err.line}"
        err_text = str(err)
        if err.line is not None and err_text.startswith(f"line {err.line}: "):
            err_text = err_text[len(f"line {err.line}: "):]
        if err.field == "layers" and "at most" in err_text:
            raise SourceError(f"the network {err_text.removeprefix('field ' + repr('layers') + ': ')} "
                              "(raise rfdocs_max_layers in conf.py)", "limit", offset) from None
        raise SourceError(f"bad network spec {where}: {err_text}".replace("  ", " "), "spec",
                          offset) from None
    if len(net.layers) > max_layers:
        raise SourceError(f"the network has {len(net.layers)} layers; at most {max_layers} are "
                          "allowed (raise rfdocs_max_layers in conf.py)", "limit")
    return NetworkSource(net, what)
