"""Drawing figures for the Sphinx layer: validate a directive's options against its kind, draw
every theme, store the files; and, in parallel builds, draw the figures of all pages in one
process pool after reading (Sphinx's uneven read chunks would otherwise bound the speed-up)."""

from __future__ import annotations

import os
import signal
import sys
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rfdocs.compute.spec import Network, SpecError, network_from_data
from rfdocs.figure_keys import jsonable
from rfdocs.sphinxext.cache import FigureCache
from rfdocs.sphinxext.errors import FigureProblem

#: Kinds that take longest first, so the pool's last task is a short one.
_COST_ORDER = {"erf": 0, "featuremaps": 1, "steps": 2, "growth": 3, "block": 4, "stack": 5}


@dataclass(frozen=True)
class Limits:
    png_dpi: int
    max_pixels: int
    max_work: int
    max_memory: int


def load_image(path: Path, text: str, option: str, limits: Limits) -> Any:
    """A page's image, its pixels counted against rfdocs_max_pixels and its decoding against
    rfdocs_max_memory before decoding."""
    from rfdocs.compute.images import ImageError, read_image

    try:
        return read_image(path, max_pixels=limits.max_pixels, max_memory=limits.max_memory)
    except ImageError as err:
        message = str(err).replace(str(path), text)
        if "pixels" in message and "allowed" in message:
            message += " (raise rfdocs_max_pixels in conf.py to allow it)"
        over = ("pixels" in message and "allowed" in message) or "more than the limit of" in message
        raise FigureProblem(f":{option}: {message}", "limit" if over else "file") from None


def prepare(kind_name: str, given: Mapping[str, str], net: Network | None,
            paths: Mapping[str, Path], allowed: Sequence[str], limits: Limits) -> tuple[Any, dict[str, Any]]:
    """The figure kind and its resolved options; FigureProblem (or SpecError) when the
    directive asks for something its kind does not allow."""
    from rfdocs.figures import OptionError, get_kind

    kind = get_kind(kind_name)
    kind_names = {o.name for o in kind.options}
    unknown = sorted(set(given) - kind_names)
    if unknown:
        names = sorted({*allowed, *kind_names})
        raise FigureProblem(f"unknown option :{unknown[0]}:; allowed: "
                            + ", ".join(f":{o}:" for o in names), "option")
    if net is not None:
        if not kind.uses_network:
            raise FigureProblem("this figure takes no network (remove the body, :model:, "
                                ":spec: or :network:)", "option")
        from rfdocs.compute.receptive import analyze
        from rfdocs.figures.base import DimensionError

        analyze(net)

        try:
            kind.check_dimensions(net)
        except DimensionError as err:
            # the warning names the directive already: 'rf-growth: draws 2-D networks ...'
            raise FigureProblem(str(err).removeprefix(f"rf-{kind_name} "), "dimension") from None
    options: dict[str, Any] = dict(given)
    for budget, value in (("max_work", limits.max_work), ("max_memory", limits.max_memory)):
        if budget in kind_names and budget not in options:  # the configured budget
            options[budget] = value
    for name, path in paths.items():
        options[name] = load_image(path, given[name], name, limits)
    try:
        return kind, kind.resolve(options)
    except OptionError as err:
        raise FigureProblem(f":{err.option}: {err.message}", "option") from None


def draw(kind: Any, net: Network | None, resolved: Mapping[str, Any], themes: Sequence[str],
         fmt: str, limits: Limits) -> tuple[dict[tuple[str, str], bytes], dict[str, Any], list[str]]:
    """Files per (theme, format), the metadata (alt text, numbers) and Python warnings raised.
    One theme's figure at a time: the previous one is let go before the next is drawn."""
    from rfdocs.compute.budget import BudgetError
    from rfdocs.figures import THEMES, OptionError
    from rfdocs.figures.output import figure_bytes

    files: dict[tuple[str, str], bytes] = {}
    alt = ""
    numbers: Mapping[str, Any] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            for theme in themes:
                rendered = kind.render_function(net, resolved, THEMES[theme])
                if fmt == "gif":
                    from rfdocs.figures.steps import animation_bytes

                    files[(theme, fmt)] = animation_bytes(rendered, "gif")
                else:
                    files[(theme, fmt)] = figure_bytes(rendered.figure, fmt, dpi=limits.png_dpi,
                                                       budget=rendered.budget)
                alt, numbers = rendered.alt, rendered.numbers
                del rendered
        except OptionError as err:
            raise FigureProblem(f":{err.option}: {err.message}", "option") from None
        except BudgetError as err:
            raise FigureProblem(f":{err.option}: {err.message}", "option") from None
        except (ValueError, MemoryError) as err:
            raise FigureProblem(str(err), "render") from None
    return files, {"alt": alt, "numbers": jsonable(numbers)}, [str(w.message) for w in caught]


@dataclass(frozen=True)
class FigureRequest:
    """One figure a page asks for, whichever builder reads the page (plain, picklable data).
    Each builder draws the variant it shows: the animation (``animated_key``, GIF) on the web
    where the kind animates, else the still figure (``static_key``) in its own format."""

    kind: str
    given: dict[str, str]
    network: dict[str, Any] | None
    paths: dict[str, str]
    allowed: tuple[str, ...]
    limits: Limits
    directive: str
    location: str
    static_key: str
    animated_key: str | None = None
    serial: int = 0  # the figure's number on its page: the same figure may stand twice
    #: The model file the network came from (``sources.ModelRef.as_dict``): its learned
    #: numbers are imported again where the figure is drawn, never stored in the doctree.
    model: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        """Names the request in its page's record (the same in Markdown and reST)."""
        return f"{self.static_key}@{self.serial}"

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.static_key,) if self.animated_key is None else (self.static_key, self.animated_key)

    def job(self, html: bool, image_format: str, themes: tuple[str, ...], cache_dir: Path) -> FigureJob:
        """The files a builder needs: ``html`` builders show animations, others the still
        figure in ``image_format``."""
        if html and self.animated_key is not None:
            return FigureJob(self, self.animated_key, "gif", themes, str(cache_dir))
        return FigureJob(self, self.static_key, image_format, themes, str(cache_dir))


@dataclass(frozen=True)
class FigureJob:
    """Everything a worker process needs to draw one figure's files for one builder."""

    request: FigureRequest
    key: str
    fmt: str
    themes: tuple[str, ...]
    cache_dir: str

    @property
    def kind(self) -> str:
        return self.request.kind


@dataclass
class JobResult:
    key: str
    seconds: float = 0.0
    problem: tuple[str, str] | None = None  # (message, subtype)
    warnings: list[str] = field(default_factory=list)


def request_network(request: FigureRequest) -> Network | None:
    """The network a request draws: its spec, or, for a model file, the model imported again
    (with its params) after checking that the file is the one the page was read with."""
    if request.model is None:
        return None if request.network is None else network_from_data(request.network)
    from rfdocs.sphinxext.sources import ModelRef, import_model, model_digest

    ref = ModelRef(**{**request.model, "external": tuple(request.model.get("external", ()))})
    try:
        digest = model_digest(ref.path, ref.external)
    except OSError as err:
        raise FigureProblem(f"cannot read the model {ref.path}: {err.strerror or err}",
                            "model") from None
    if digest != ref.sha256:
        raise FigureProblem(f"the model {ref.path} changed while the build ran; build again",
                            "model")
    try:
        return import_model(ref)
    except SpecError as err:
        raise FigureProblem(f"cannot use the model {ref.path}: {err}", "model") from None


def run_job(job: FigureJob) -> JobResult:
    """Draw and store one figure; problems come back as data, never as exceptions."""
    started = time.perf_counter()
    request = job.request
    try:
        net = request_network(request)
        kind, resolved = prepare(request.kind, request.given, net,
                                 {k: Path(v) for k, v in request.paths.items()},
                                 request.allowed, request.limits)
        files, meta, caught = draw(kind, net, resolved, job.themes, job.fmt, request.limits)
        FigureCache(Path(job.cache_dir)).store(job.key, files, meta)
    except FigureProblem as problem:
        return JobResult(job.key, time.perf_counter() - started, (str(problem), problem.subtype))
    except SpecError as err:
        return JobResult(job.key, time.perf_counter() - started, (f"bad network spec: {err}", "spec"))
    except OSError as err:  # a full disk, a folder made read-only while the build runs
        return JobResult(job.key, time.perf_counter() - started,
                         (f"cannot write the figure into the cache folder {job.cache_dir} "
                          f"(rfdocs_cache_dir): {err.strerror or err}", "cache"))
    return JobResult(job.key, time.perf_counter() - started, None, caught)


def _start_worker(parent: int, blas_threads: int) -> None:
    """Pool worker start: ask the kernel (Linux) to kill this worker when the build dies, even
    by SIGKILL, rather than leave it waiting for work forever; give the worker its share of
    the cores for BLAS threads (two workers of two BLAS threads each on two cores would run
    four busy threads)."""
    from rfdocs.threads import limit_blas_threads

    limit_blas_threads(blas_threads)
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:  # the build died before the request took effect
        os._exit(1)


def run_jobs(jobs: Sequence[FigureJob], workers: int) -> list[JobResult]:
    """Draw ``jobs`` in a pool of ``workers`` forked processes (in this process when one)."""
    import multiprocessing  # only parallel builds that draw need these
    from concurrent.futures import ProcessPoolExecutor

    ordered = sorted(jobs, key=lambda j: (_COST_ORDER.get(j.kind, 9), j.key))
    if workers <= 1 or len(ordered) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [run_job(job) for job in ordered]
    from rfdocs.figures import KIND_MODULES, get_kind

    for kind in {job.kind for job in ordered} & set(KIND_MODULES):
        get_kind(kind)  # load matplotlib once, before forking
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=min(workers, len(ordered)), mp_context=context,
                             initializer=_start_worker,
                             initargs=(os.getpid(), max(1, (os.cpu_count() or 1) // workers))) as pool:
        return list(pool.map(run_job, ordered))
