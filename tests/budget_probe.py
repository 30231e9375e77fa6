"""Measure one figure in a fresh process: its budget estimate against the memory it really took.

    python -m tests.budget_probe KIND OPTIONS_JSON FORMAT [SPEC] [--traced]

prints one JSON line: ``estimate_bytes`` and ``estimate_work`` (``FigureKind.estimate``, for
the animated GIF the steps animation as well), ``vm_bytes`` (the growth of the process's peak
virtual size, ``VmPeak``, over its size before the figure: what ``prlimit --as`` limits),
``traced_bytes`` (with ``--traced``, the peak that ``tracemalloc`` saw: every Python object
and numpy array, whether or not the heap had room left by earlier figures; for PNG plus Agg's
RGBA canvas at 150 dpi, which is allocated in C++), their larger,
``measured_bytes``, and ``seconds`` (slower with ``--traced``).  The kind draws a default
figure first, so that fonts, caches and lazily imported modules are not counted.
"""

from __future__ import annotations

import gc
import json
import sys
import time
import tracemalloc
from pathlib import Path


def _status() -> dict[str, int]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmPeak", "VmSize", "VmHWM", "VmRSS"):
            out[key] = int(value.split()[0]) * 1024
    return out


def main(argv: list[str]) -> int:
    traced = "--traced" in argv
    argv = [a for a in argv if a != "--traced"]
    kind_name, options, fmt = argv[0], json.loads(argv[1]), argv[2]
    spec = argv[3] if len(argv) > 3 else None
    from rfdocs.compute import load_spec
    from rfdocs.figures import THEMES, get_kind
    from rfdocs.figures.output import figure_bytes
    from rfdocs.figures.steps import animation_bytes
    from rfdocs.figures.steps import estimate as steps_estimate

    network = load_spec(spec) if spec else None
    kind = get_kind(kind_name)
    warm = kind.render(None, {}, THEMES["light"])
    figure_bytes(warm.figure, "png")
    figure_bytes(warm.figure, "svg")
    if kind_name == "steps":
        animation_bytes(warm, "gif")
    del warm
    cost = kind.estimate(network, options)
    if fmt == "gif":
        cost = steps_estimate(kind.resolve(options), animated=True)
    gc.collect()
    if traced:
        tracemalloc.start()
    before = _status()
    started = time.perf_counter()
    rendered = kind.render(network, options, THEMES["light"])
    data = animation_bytes(rendered, "gif") if fmt == "gif" else figure_bytes(rendered.figure, fmt)
    seconds = time.perf_counter() - started
    after = _status()
    traced_peak = tracemalloc.get_traced_memory()[1] if traced else 0
    if traced and fmt == "png":
        # Agg's RGBA canvas is allocated in C++, where tracemalloc does not see it; the VM growth
        # may miss it too when the heap reuses what the warm-up figure freed.
        width, height = rendered.figure.get_size_inches()
        traced_peak += round(width * 150) * round(height * 150) * 4
    vm = after["VmPeak"] - before["VmSize"]
    print(json.dumps({
        "estimate_bytes": cost.peak, "estimate_work": cost.work,
        "measured_bytes": max(vm, traced_peak), "vm_bytes": vm, "traced_bytes": traced_peak,
        "rss_bytes": after["VmHWM"] - before["VmRSS"], "seconds": round(seconds, 3),
        "output_bytes": len(data)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
