"""Issue 12's exploding paths: a 1,000-layer graph with 300 diamonds of distinct strides (2^300
paths, as many distinct jumps), analysed in process, and the rf role, rf-table and rf-explorer
on it in real Sphinx builds, side by side.

The builds run in this process (one fresh Sphinx application a build, HTML, nothing cached):
a page defining the network alone, and the same page plus one role, one table or one
explorer; a directive's cost is its page's median minus the plain page's median.  The graph
is built directly (``tests.bruteforce.diamond_network``): its strides multiply to far more
than the spec parser accepts along one path, and a conf.py directive hands it to the page.
"""

from __future__ import annotations

import io
import shutil
import time
from pathlib import Path
from typing import Any

from benchmarks.timing import Samples, log, measure, median
from rfdocs.compute import Network

LAYERS = 1000
DIAMONDS = 300
SHOWN = 40  # layers an explorer may draw


def diamond_graph() -> Network:
    """1,000 layers: a stem, 300 diamonds (a conv of the n-th prime stride, added to its
    input) and relu layers between them, on one pixel, as in issue 12."""
    from tests.bruteforce import diamond_network, primes

    return diamond_network(primes(DIAMONDS), layers=LAYERS)


def padded_graph() -> Network:
    """40 diamonds on 7x7 with kernel 3 and the padding that keeps the shape, a third of them
    transposed: envelopes that grow by about one box a diamond."""
    from tests.bruteforce import diamond_network, primes

    return diamond_network(primes(40), size=7, kernel=3, up=set(range(1, 40, 3)), layers=LAYERS)


def parsed_chain() -> Network:
    """45 lines the spec parser accepts: 22 diamonds, 11 striding down and 11 up by the first
    11 primes (3^11 distinct jumps; 31 s to analyse when each kept a box)."""
    from rfdocs.compute import format_compact, parse_spec
    from tests.bruteforce import diamond_network, primes

    return parse_spec(format_compact(diamond_network(primes(11) * 2, up=set(range(11, 22)))))


def held_boxes(analysis: Any) -> int:
    """Boxes the analysis holds (each hull once)."""
    hulls = {id(rf.hull): rf.hull for node in analysis for rf in node.axes if rf.hull is not None}
    return sum(len(h.boxes) for h in hulls.values())


def analysis_timings(repeat: int) -> dict[str, Any]:
    from rfdocs.compute import analyze

    out: dict[str, Any] = {}
    for key, net in (("diamonds", diamond_graph()), ("padded", padded_graph()),
                     ("parsed", parsed_chain())):
        analysis = analyze(net)

        def once(net: Network = net) -> object:
            return analyze(net)

        out[key] = {"layers": len(net.layers), "boxes": held_boxes(analysis),
                    "samples": measure(once, repeat=max(repeat, 7))}
        log(f"analyze {key} ({len(net.layers)} layers): "
            f"{out[key]['samples'].median * 1000:.1f} ms, {out[key]['boxes']} boxes held")
    return out


# --------------------------------------------------------------------------- Sphinx pages

CONF = '''\
extensions = ["rfdocs"]
exclude_patterns = ["_build"]


def setup(app):
    from sphinx.util.docutils import SphinxDirective

    from benchmarks.diamonds import diamond_graph
    from rfdocs.sphinxext.sources import page_networks

    graph = diamond_graph()

    class BenchNetwork(SphinxDirective):
        """Names the bench's graph ``diamonds`` on this page (a :network: for the others)."""

        def run(self):
            page_networks(self.env)["diamonds"] = graph
            return []

    app.add_directive("bench-network", BenchNetwork)
'''


def pages() -> dict[str, str]:
    """One page per measurement, each starting like the plain one."""
    graph = diamond_graph()
    names = ["input", *(layer.name for layer in graph.layers)]
    shown = [names[round(i * (len(names) - 1) / (SHOWN - 1))] for i in range(SHOWN)][1:]
    head = "Diamonds\n========\n\n.. bench-network::\n\n1,000 layers, 300 diamonds.\n"
    return {
        "plain": head,
        "role": head + "\nThe output's field: :rf:`diamonds::rf`.\n",
        "table": head + "\n.. rf-table::\n   :network: diamonds\n",
        "explorer": head + f"\n.. rf-explorer::\n   :network: diamonds\n   :layers: {' '.join(shown)}\n",
    }


class Stopwatch:
    """Seconds spent inside the rf role's and the rf-table and rf-explorer directives' ``run``
    during a build (patched onto their classes while the bench runs)."""

    def __init__(self) -> None:
        from rfdocs.sphinxext.directives import RfTableDirective
        from rfdocs.sphinxext.explorer import RfExplorerDirective
        from rfdocs.sphinxext.roles import RfRole

        self.seconds: dict[str, float] = {}
        for key, cls in (("role", RfRole), ("table", RfTableDirective),
                         ("explorer", RfExplorerDirective)):
            original = cls.run

            def timed(obj: Any, *args: Any, _key: str = key, _run: Any = original) -> Any:
                started = time.perf_counter()
                try:
                    return _run(obj, *args)
                finally:
                    self.seconds[_key] = (self.seconds.get(_key, 0.0)
                                          + time.perf_counter() - started)

            cls.run = timed  # type: ignore[method-assign, assignment]


def _build(src: Path, out: Path) -> tuple[float, str]:
    """One HTML build of ``src`` from nothing; (seconds, warnings)."""
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace

    shutil.rmtree(out, ignore_errors=True)
    warnings = io.StringIO()
    started = time.perf_counter()
    with docutils_namespace():
        app = Sphinx(str(src), str(src), str(out / "html"), str(out / "doctrees"), "html",
                     status=None, warning=warnings, freshenv=True)
        app.build()
    return time.perf_counter() - started, warnings.getvalue()


def sphinx_timings(work: Path, repeat: int) -> dict[str, Any]:
    """Each page's build, taken in turn (plain, role, table, explorer, plain, ...): its
    seconds, and the seconds spent inside the role or directive it adds."""
    projects = {}
    for name, text in pages().items():
        src = work / name / "src"
        src.mkdir(parents=True, exist_ok=True)
        (src / "conf.py").write_text(CONF, encoding="utf-8")
        (src / "index.rst").write_text(text, encoding="utf-8")
        projects[name] = src
    watch = Stopwatch()
    builds: dict[str, list[float]] = {name: [] for name in projects}
    inside: dict[str, list[float]] = {name: [] for name in projects if name != "plain"}
    warnings: dict[str, str] = {}
    for name, src in projects.items():  # warm-up: imports, first calls
        _, warnings[name] = _build(src, work / name / "out")
    for _ in range(repeat):
        for name, src in projects.items():
            watch.seconds.clear()
            took, _ = _build(src, work / name / "out")
            builds[name].append(took)
            if name in inside:
                inside[name].append(watch.seconds.get(name, 0.0))
    html = {name: (work / name / "out" / "html" / "index.html").stat().st_size for name in projects}
    base = median(builds["plain"])
    out: dict[str, Any] = {
        "inside": {k: Samples(v, 1) for k, v in inside.items()},
        "builds": {k: Samples(v, 1) for k, v in builds.items()},
        "over_plain_s": {k: median(v) - base for k, v in builds.items()},
        "html_bytes": html, "warnings": {k: v for k, v in warnings.items() if v}}
    for name in projects:
        log(f"diamonds page '{name}': build {median(builds[name]):.2f} s "
            f"({out['over_plain_s'][name]:+.2f} s over the plain page)"
            + (f", {median(inside[name]) * 1000:.0f} ms inside {name}" if name in inside else "")
            + f", {html[name]:,} bytes")
    return out
