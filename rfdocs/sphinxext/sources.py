"""Where a directive's network and files come from: its body, a zoo model, a spec file, an ONNX
model, or a network defined earlier on the page; paths stay inside the source directory.

A model file is data from the page: its size is checked against ``rfdocs_max_model_bytes``
before it is read, it is imported by ``rfdocs.importers.load_network`` (external weight files
only from inside the source directory, no custom operator domains), and figures that need its
learned weights get its path and sha256 (``ModelRef``), never the weights themselves: the
drawing worker imports it again."""

from __future__ import annotations

import errno
import stat
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sphinx.environment import BuildEnvironment

from rfdocs.compute.spec import Network, SpecError, parse_spec, read_spec_text
from rfdocs.compute.zoo import ZOO_NAMES, zoo_network
from rfdocs.messages import quote, shorten, tidy

NETWORKS_KEY = "rfdocs_networks"  # env.temp_data: networks defined on the page being read
MODELS_KEY = "rfdocs_network_models"  # env.temp_data: their model files (ModelRef), by name
READ_KEY = "rfdocs_models_read"  # env.temp_data: models imported while reading the page
SOURCE_OPTIONS = ("model", "spec", "onnx", "network", "until")
#: The options that name the network (``until`` only cuts it).
NAMING_OPTIONS = ("model", "spec", "onnx", "network")


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
class ModelRef:
    """A model file a figure's network came from: what a drawing worker needs to import it
    again (plain, picklable data; the digest keys the figure)."""

    path: str
    sha256: str  # of the model file and its external weight files (model_digest)
    until: str | None
    base_dir: str
    max_bytes: int
    external: tuple[str, ...] = ()  # the external weight files the model read

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "until": self.until,
                "base_dir": self.base_dir, "max_bytes": self.max_bytes,
                "external": list(self.external)}


def model_digest(path: str | Path, external: Sequence[str | Path]) -> str:
    """sha256 over a model file's digest and those of its external weight files, in order."""
    import hashlib

    from rfdocs.sphinxext.cache import file_digest

    digest = file_digest(Path(path))
    if not external:
        return digest
    combined = hashlib.sha256(digest.encode())
    for extra in external:
        combined.update(f"\n{Path(extra).name}:{file_digest(Path(extra))}".encode())
    return combined.hexdigest()


@dataclass(frozen=True)
class NetworkSource:
    network: Network
    description: str  # for messages: 'the directive body', 'zoo model vgg16', ...
    model: ModelRef | None = None  # the model file whose params the network carries


def is_model_path(text: str) -> bool:
    """A page's :spec: value that names an ONNX model (by its suffix)."""
    return text.strip().lower().endswith(".onnx")


def load_model(env: BuildEnvironment, text: str, option: str, until: str | None,
               max_bytes: int) -> tuple[Network, ModelRef]:
    """An ONNX model named by a page: inside the source directory, no larger than
    ``max_bytes`` (checked before reading), imported with its learned weights."""
    from rfdocs.sphinxext.cache import file_digest

    path = safe_path(env, text, option)
    size = path.stat().st_size
    shown = shorten(text.strip())
    if size > max_bytes:
        raise SourceError(f":{option}: {quote(text.strip())} is {size:,} bytes, more than "
                          f"rfdocs_max_model_bytes ({max_bytes:,}); raise it in conf.py to read "
                          "this model", "limit")
    srcdir = str(Path(env.srcdir).resolve())
    read = env.temp_data.setdefault(READ_KEY, {})  # one import per page and model
    assert isinstance(read, dict)
    key = (str(path), file_digest(path), until)
    if key not in read:
        external: list[Path] = []
        try:
            net = import_model(ModelRef(str(path), "", until, srcdir, max_bytes), external)
        except SpecError as err:
            raise SourceError(f":{option}: cannot use the model {shown}: {err}",
                              "model") from None
        for extra in external:
            env.note_dependency(str(extra))
        ref = ModelRef(str(path), model_digest(path, external), until, srcdir, max_bytes,
                       tuple(str(extra) for extra in external))
        read[key] = (net, ref)
    net, ref = read[key]
    assert isinstance(net, Network) and isinstance(ref, ModelRef)
    return net, ref


def import_model(ref: ModelRef, external: list[Path] | None = None) -> Network:
    """The network of a model file, with its params (``rfdocs.importers.load_network``);
    ``external`` gets the external weight files it read."""
    from rfdocs.importers import load_network

    return load_network(ref.path, base_dir=ref.base_dir, max_bytes=ref.max_bytes,
                        until=ref.until, external_files=external)


def page_models(env: BuildEnvironment) -> dict[str, ModelRef]:
    models = env.temp_data.setdefault(MODELS_KEY, {})
    assert isinstance(models, dict)
    return models


def page_networks(env: BuildEnvironment) -> dict[str, Network]:
    networks = env.temp_data.setdefault(NETWORKS_KEY, {})
    assert isinstance(networks, dict)
    return networks


def resolve_network(env: BuildEnvironment, body: str, options: dict[str, str],
                    max_layers: int, max_model_bytes: int | None = None) -> NetworkSource | None:
    """The one network a directive names (None when it names none), cut after layer
    ``:until:`` where given."""
    from rfdocs.importers import DEFAULT_MAX_MODEL_BYTES

    max_model = DEFAULT_MAX_MODEL_BYTES if max_model_bytes is None else max_model_bytes
    given = [name for name in NAMING_OPTIONS if options.get(name)]
    if body.strip():
        given.insert(0, "body")
    if len(given) > 1:
        raise SourceError(f"give the network once: body, :model:, :spec:, :onnx: or :network:, "
                          f"not {' and '.join(given)}", "network")
    until = (options.get("until") or "").strip() or None
    if not given:
        if until is not None:
            raise SourceError(":until: cuts a network; give one (a body, :model:, :spec:, "
                              ":onnx: or :network:)", "option")
        return None
    source = given[0]
    model: ModelRef | None = None
    try:
        if source == "body":
            net, what = parse_spec(body, max_layers=max_layers), "the directive body"
        elif source == "model":
            name = options["model"].strip()
            if name.lower() not in ZOO_NAMES:
                raise SourceError(f":model: {quote(name)} is not a zoo model; choose one of "
                                  f"{', '.join(ZOO_NAMES)}", "network")
            net, what = zoo_network(name), f"zoo model {name}"
        elif source == "onnx" or (source == "spec" and is_model_path(options["spec"])):
            net, model = load_model(env, options[source], source, until, max_model)
            what = f"model {shorten(options[source].strip())}"
            until = None  # the importer cut it
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
            model = page_models(env).get(name)
        if until is not None:
            net = _cut(net, until)
            if model is not None:
                model = replace(model, until=_joined_until(model.until, until))
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
    return NetworkSource(net, what, model)


def _cut(net: Network, until: str) -> Network:
    """The part of ``net`` layer ``until`` depends on (``rfdocs.importers.truncate``)."""
    from rfdocs.importers import truncate

    try:
        return truncate(net, until)
    except SpecError as err:
        raise SourceError(f":until: {err}".replace("field 'until': ", ""), "option") from None


def _joined_until(first: str | None, second: str) -> str:
    """Cutting after ``second`` within a network already cut after ``first``: ``second``."""
    del first
    return second
