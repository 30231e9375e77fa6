"""``make bench``: build, render and compute timings against their goals, as a table on stdout
and as JSON in ``build/bench.json``.  Medians over several runs; every ratio compares runs made
in this same invocation.  Nothing here fails: a missed goal is reported, never raised."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.timing import START, Samples, log, median, parallel_ceiling

REPO = Path(__file__).resolve().parent.parent
SECTIONS = ("render", "compute", "diamonds", "conv", "models", "site", "scale", "docs")
KINDS = ("block", "growth", "featuremaps", "steps", "erf", "filters", "stack", "architecture")


@dataclass
class Row:
    """One line of the table: what was measured, its value, the goal and whether it is met."""

    section: str
    figure: str
    value: float | None
    unit: str
    shown: str
    goal: str = ""
    met: bool | None = None  # None: no goal (for information)
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"section": self.section, "figure": self.figure, "value": self.value,
                "unit": self.unit, "shown": self.shown, "goal": self.goal, "met": self.met,
                **({"detail": self.detail} if self.detail else {})}


def at_most(value: float, limit: float) -> bool:
    return value <= limit


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 0.1 else f"{seconds * 1000:.0f} ms"


@dataclass
class Settings:
    pages: int
    per_page: int
    noop_runs: int
    clean_runs: int
    cold_runs: int
    docs_runs: int
    repeat: int
    theme: str
    sections: tuple[str, ...]
    keep: bool
    json_path: Path
    torch_path: str | None
    budget: float
    scale_pages: int = 400
    working_tree: bool = False


class SiteRuns:
    """The timed builds of one or more sites, by ``<site>-<kind>-j<jobs>``, and what was asked
    of the one-page edits."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.builds: dict[str, list[Any]] = {}
        self.edits: list[tuple[Any, str, Any]] = []  # (site, page name, build) per rfdocs edit

    def go(self, site: Any, kind: str, jobs: int = 1, *, quiet: bool = True) -> Any:
        from benchmarks.builds import build

        done = build(site, kind, jobs=jobs, logs=self.logs, quiet=quiet)
        self.builds.setdefault(f"{site.label}-{kind}-j{jobs}", []).append(done)
        return done

    def edit_round(self, plan: Any, round_: int, sites: dict[str, Any]) -> None:
        """Edit the same page of every site (each figure's parameters changed, a sentence added;
        the static twin only gets the sentence, having no figures to draw), then build each."""
        from benchmarks.peer import write_peer_site_page
        from benchmarks.site import edited_page, rfdocs_page, static_page_edit

        index = len(plan.pages) // 2
        page = edited_page(plan.pages[index], round_)
        for label, site in sites.items():
            target = site.src / f"{page.name}.md"
            if label.endswith("rfdocs"):
                target.write_text(rfdocs_page(page))
            elif "static" in label:
                static_page_edit(target, round_)
            else:
                write_peer_site_page(page, site.src, index, plan)
            done = self.go(site, "edit")
            if label.endswith("rfdocs"):
                self.edits.append((site, page.name, done))

    def edit_check(self, plan: Any) -> str:
        """Whether each rfdocs edit redrew exactly the edited page's figures (one cache key each,
        read from the files the build wrote) and no other page's."""
        problems = []
        for _, name, done in self.edits:
            figures = len(next(p for p in plan.pages if p.name == name).figures)
            keys = {w.split(".")[0].removesuffix("-meta").removesuffix("-dark") for w in done.written}
            if len(keys) != figures or not all(f"({name})" in line for line in done.run.output
                                                   .splitlines() if "rfdocs: rendered" in line):
                problems.append(f"{name}: {len(keys)} figure(s) drawn for {figures}")
        pages = sorted({d.pages_written for _, _, d in self.edits})
        # Sphinx itself writes the edited page and its toctree parent (index), static or not.
        written = f"{'/'.join(map(str, pages))} HTML page(s) written"
        if problems:
            return f"NOT only the page's figures: {'; '.join(problems)} ({written})"
        return (f"redrew exactly the edited page's figures in each of {len(self.edits)} edit(s) "
                f"({written})")

    def keys(self) -> list[str]:
        return list(self.builds)

    def t(self, key: str) -> float:
        return median([b.run.seconds for b in self.builds[key]])

    def cpu(self, key: str) -> float:
        return median([b.run.cpu_seconds for b in self.builds[key]])

    def memory(self, key: str) -> float:
        """Peak summed PSS of the build's processes (the largest one's RSS where PSS is not
        sampled)."""
        return max(b.run.tree_pss_mib or b.run.max_rss_mib for b in self.builds[key])

    def vs(self, a: str, b: str) -> tuple[float, str]:
        """Wall-clock ratio a/b of medians, shown with both times and the CPU-time ratio."""
        ratio = self.t(a) / self.t(b)
        return ratio, (f"{ratio:.2f}× ({self.t(a):.2f} s vs {self.t(b):.2f} s; "
                       f"CPU {self.cpu(a) / max(self.cpu(b), 1e-9):.2f}×)")

    def draw_times(self, key: str) -> dict[str, list[float]]:
        """Milliseconds each figure took to draw, by kind, from the builds' own log lines
        (``rfdocs: rendered <kind>-<hash> (<page>) in N ms``)."""
        import re

        times: dict[str, list[float]] = {}
        for b in self.builds.get(key, []):
            for kind, value in re.findall(r"rfdocs: rendered ([a-z]+)-[0-9a-f]+ \([^)]*\) in (\d+) ms",
                                          b.run.output):
                times.setdefault(kind, []).append(float(value))
        return times

    def to_json(self) -> dict[str, Any]:
        return {k: [b.to_json() for b in v] for k, v in self.builds.items()}


class Bench:
    def __init__(self, settings: Settings, work: Path) -> None:
        self.s = settings
        self.work = work
        self.logs = work / "logs"
        self.rows: list[Row] = []
        self.details: dict[str, Any] = {}
        self.notes: list[str] = []
        self.kinds: tuple[str, ...] = KINDS

    def warned(self, key: str, builds: Sequence[Any]) -> None:
        warnings = sum(b.warnings for b in builds)
        if warnings:
            first = next(line for b in builds for line in b.warning_lines)
            self.notes.append(f"{key}: {warnings} warning(s) in {len(builds)} build(s), e.g. "
                              f"{first[-200:]}" + (f" (logs in {self.logs})" if self.s.keep else ""))

    def time_left(self) -> float:
        return self.s.budget - (time.perf_counter() - START)

    def add(self, *rows: Row) -> None:
        self.rows.extend(rows)

    def section(self, name: str, fn: Callable[[], None]) -> None:
        if name not in self.s.sections:
            return
        started = time.perf_counter()
        try:
            fn()
        except Exception as err:  # report and go on: the bench never fails on what it measures
            log(f"{name}: error: {err}")
            self.notes.append(f"{name}: error: {type(err).__name__}: {err}")
            self.details.setdefault("errors", {})[name] = traceback.format_exc()
            self.add(Row(name, f"{name} section", None, "", "error (see notes)"))
        self.details.setdefault("section_seconds", {})[name] = time.perf_counter() - started

    # ----------------------------------------------------------------------- renders

    def render(self) -> None:
        from benchmarks.micro import render_kinds

        timings = render_kinds(KINDS, self.s.repeat)
        self.kinds = tuple(t.name for t in timings if t.samples is not None)
        self.details["render"] = {t.name: ({"first_s": t.first_s, **t.samples.to_json()}
                                           if t.samples else {"error": t.error}) for t in timings}
        medians = []
        for t in timings:
            label = f"render {t.name} (defaults, light, SVG)"
            if t.name == "block":
                label = "render block: 46×46×100 feature block (defaults)"
            if t.samples is None:
                self.add(Row("render", label, None, "s", "unavailable", "", None, {"error": t.error}))
                continue
            limit = 0.25 if t.name == "block" else 0.1
            medians.append(t.samples.median)
            self.add(Row("render", label, t.samples.median, "s", ms(t.samples.median),
                         f"≤ {limit * 1000:.0f} ms", at_most(t.samples.median, limit),
                         {"first_render_incl_imports_s": t.first_s}))
        if medians:
            value = median(medians)
            self.add(Row("render", f"render: median over {len(medians)} kind(s)", value, "s", ms(value),
                         "≤ 100 ms", at_most(value, 0.1)))
        from benchmarks.micro import stack_wavenet

        stack = stack_wavenet(self.s.repeat)
        self.details["render"]["stack_wavenet30"] = stack.to_json()
        self.add(Row("render", "render stack: 30-layer WaveNet, 16,000 steps (light, SVG)",
                     stack.median, "s", ms(stack.median), "≤ 150 ms", at_most(stack.median, 0.15)))
        from benchmarks.micro import architecture_inception

        arch = architecture_inception(self.s.repeat)
        self.details["render"]["architecture_inceptionv3"] = arch.to_json()
        self.add(Row("render", "render architecture: Inception-v3, 122 layers, every stage "
                     "expanded (light, SVG)", arch.median, "s", ms(arch.median), "≤ 1 s",
                     at_most(arch.median, 1.0)))
        missing = [k for k in KINDS if k not in self.kinds]
        if missing:
            self.notes.append("figure kinds not available yet (left out of the site): "
                              + ", ".join(missing))

    # ----------------------------------------------------------------------- compute

    def compute(self) -> None:
        from benchmarks.micro import compute_timings

        r = compute_timings(self.s.repeat)
        self.details["compute"] = {k: (v.to_json() if isinstance(v, Samples) else v) for k, v in r.items()}
        a, e = r["analyze_1000"].median, r["erf_uniform_resnet50"].median
        self.add(
            Row("compute", f"analyze: {r['multipath_layers']}-layer multi-path graph", a, "s", ms(a),
                "≤ 20 ms", at_most(a, 0.02)),
            Row("compute", f"analyze: {r['volume_layers']}-layer 3-D network (16×112×112 clips, "
                "residual blocks)", r["analyze_3d_100"].median, "s", ms(r["analyze_3d_100"].median),
                "≤ 20 ms", at_most(r["analyze_3d_100"].median, 0.02)),
            Row("compute", "parse_spec: the same graph, compact form", r["parse_1000_compact"].median,
                "s", ms(r["parse_1000_compact"].median)),
            Row("compute", "zoo_network('resnet50') (YAML parse, per call)",
                r["zoo_resnet50_parse"].median, "s", ms(r["zoo_resnet50_parse"].median)),
            Row("compute", "analyze(resnet50)", r["analyze_resnet50"].median, "s",
                ms(r["analyze_resnet50"].median)),
            Row("compute", "erf_uniform(resnet50), 224×224, exact", e, "s", f"{e:.3f} s", "≤ 0.5 s",
                at_most(e, 0.5)),
        )

    # ----------------------------------------------------------------------- exploding paths

    def diamonds(self) -> None:
        """Issue 12: a 1,000-layer graph with 300 diamonds of distinct strides (2^300 paths)."""
        from benchmarks.diamonds import analysis_timings, sphinx_timings

        a = analysis_timings(self.s.repeat)
        value = a["diamonds"]["samples"].median
        self.add(Row("diamonds", "analyze: 1,000 layers, 300 diamonds of distinct strides "
                     "(2^300 paths)", value, "s", f"{ms(value)} ({a['diamonds']['boxes']} boxes held)",
                     "≤ 100 ms", at_most(value, 0.1)))
        for key, label in (("padded", "analyze: 1,000 layers, 40 diamonds on 7×7 with padding "
                                      "(growing envelopes)"),
                           ("parsed", "analyze: the 45-line chain the parser accepts "
                                      "(3^11 jumps; 31 s when each kept a box)")):
            value = a[key]["samples"].median
            self.add(Row("diamonds", label, value, "s", f"{ms(value)} ({a[key]['boxes']} boxes held)"))
        s = sphinx_timings(self.work / "diamonds", max(self.s.repeat, 3))
        self.details["diamonds"] = {
            "analysis": {k: {**v, "samples": v["samples"].to_json()} for k, v in a.items()},
            "sphinx": {"inside": {k: v.to_json() for k, v in s["inside"].items()},
                       "builds": {k: v.to_json() for k, v in s["builds"].items()},
                       "over_plain_s": s["over_plain_s"], "html_bytes": s["html_bytes"],
                       "warnings": s["warnings"]}}
        labels = {"role": "rf role on it (one role, real build)",
                  "table": "rf-table on it (1,001 rows, real build)",
                  "explorer": "rf-explorer on it (40 layers drawn, real build)"}
        for key, label in labels.items():
            value = s["inside"][key].median
            build_s = s["builds"][key].median
            self.add(Row("diamonds", label, value, "s",
                         f"{ms(value)} in the {key}; page {build_s:.2f} s, "
                         f"{s['over_plain_s'][key]:+.2f} s over the page without it",
                         "≤ 1 s", at_most(value, 1.0)))
        for key, text in s["warnings"].items():
            self.notes.append(f"diamonds page '{key}' warned: {text.strip()[-300:]}")

    # ----------------------------------------------------------------------- convolution

    def conv(self) -> None:
        if self.s.torch_path:
            sys.path.append(self.s.torch_path)
        from benchmarks.micro import SINGLE_THREAD_ENV, blas_info, conv_timings

        blas = blas_info()
        self.details["blas"] = blas
        pools = blas.get("pools")
        shown = "; ".join(f"{p.get('internal_api')} {p.get('version')} kernel {p.get('architecture')}, "
                          f"{p.get('num_threads')} threads" for p in pools) if pools else (
            f"not reported: no threadpoolctl ({blas.get('build', '?')})")
        self.add(Row("conv", "numpy BLAS (OPENBLAS_CORETYPE="
                     f"{blas['OPENBLAS_CORETYPE'] or 'unset'})", None, "", shown))
        r = conv_timings(self.s.repeat)
        # The same in a process with one BLAS/OpenMP thread: on two busy cores, thread pools that
        # spin while waiting make the default-thread figures swing from run to run.
        out = self.work / "conv-1-thread.json"
        cmd = [sys.executable, "-m", "benchmarks.micro", "conv", str(out), "--repeat", str(self.s.repeat),
               "--rfdocs-path", str(self.work / "snapshot")]
        if self.s.torch_path:
            cmd += ["--torch-path", self.s.torch_path]
        one = None
        done = subprocess.run(cmd, cwd=REPO, env={**os.environ, **SINGLE_THREAD_ENV},
                              capture_output=True, text=True)
        if done.returncode == 0:
            one = json.loads(out.read_text())
        else:
            self.notes.append("conv: the one-thread run failed: " + done.stderr.strip()[-300:])
        self.details["conv"] = {"default_threads": r, "one_thread": one}
        small = r["loop_small"]
        speed = small["loop"]["median_s"] / small["rfdocs"]["median_s"]
        self.add(Row("conv", f"conv2d vs loop reference ({small['label']}), speed-up", speed, "x",
                     f"{speed:.0f}× (max |diff| {small['max_abs_diff']:.1e})"))
        if r["torch"] is None:
            self.notes.append("torch is not installed: the conv2d-vs-torch goal was not measured "
                              "(pip install --target DIR torch, then pass --torch-path DIR)")

        def ratio(res: dict[str, Any] | None, n: int, other: str, tag: str = "float64") -> float | None:
            if res is None or f"{tag}_{other}" not in res["cases"][n]:
                return None
            case = res["cases"][n]
            return float(case[f"{tag}_rfdocs"]["median_s"] / case[f"{tag}_{other}"]["median_s"])

        for n, case in enumerate(r["cases"]):
            ours = case["float64_rfdocs"]["median_s"]
            for other in ("im2col", "torch"):
                value = ratio(r, n, other)
                if value is None:
                    continue
                single = ratio(one, n, other)
                agree = case[f"float64_agrees_with_{other}"]
                text = (f"{value:.2f}× ({ms(ours)} vs {ms(case[f'float64_{other}']['median_s'])}"
                        + (f"; 1 thread {single:.2f}×" if single is not None else "") + ")"
                        + ("" if agree else " DISAGREE"))
                goal = "≤ 2×" if other == "torch" else ""
                self.add(Row("conv", f"conv2d {case['label']} float64: rfdocs / {other}", value, "x",
                             text, goal, at_most(value, 2.0) if goal else None,
                             {"one_thread": single, "float32": ratio(r, n, other, "float32"),
                              "float32_one_thread": ratio(one, n, other, "float32")}))

    # ----------------------------------------------------------------------- real models

    def models(self) -> None:
        """Issue 13: ONNX import of a 200-node model; the forward pass of ResNet-18 at 224x224
        against onnxruntime on one thread (the goal compares rfdocs on one BLAS thread, run in
        a process of its own, as the conv section does; the default-thread ratio is shown)."""
        from benchmarks.micro import SINGLE_THREAD_ENV
        from benchmarks.models import forward_timings, import_timings

        imp = import_timings(self.s.repeat)
        chain, resnet = imp["chain"], imp["resnet18"]
        value = chain["samples"].median
        self.add(
            Row("models", f"ONNX import: {chain['nodes']}-node model (conv, relu, add blocks)",
                value, "s", f"{ms(value)} ({chain['layers']} layers)", "≤ 100 ms",
                at_most(value, 0.1)),
            Row("models", f"ONNX import: ResNet-18 ({resnet['nodes']} nodes, "
                f"{resnet['bytes'] / 2**20:.0f} MiB of weights)", resnet["samples"].median, "s",
                ms(resnet["samples"].median)))
        out = self.work / "models-forward-1-thread.json"
        cmd = [sys.executable, "-m", "benchmarks.models", "forward", str(out), "--repeat",
               str(self.s.repeat), "--rfdocs-path", str(self.work / "snapshot")]
        done = subprocess.run(cmd, cwd=REPO, env={**os.environ, **SINGLE_THREAD_ENV},
                              capture_output=True, text=True)
        one = json.loads(out.read_text()) if done.returncode == 0 else None
        if one is None:
            self.notes.append("models: the one-thread forward run failed: "
                              + done.stderr.strip()[-300:])
        default = forward_timings(self.s.repeat)
        self.details["models"] = {
            "import": {k: {**v, "samples": v["samples"].to_json()} for k, v in imp.items()},
            "forward_default_threads": {**default, "samples": {
                k: v.to_json() for k, v in default["samples"].items()}},
            "forward_one_thread": one}
        ours, ort = (default["samples"][k].median for k in ("rfdocs", "onnxruntime_1_thread"))
        also = (f"default BLAS threads {default['ratio']:.2f}× ({ms(ours)} vs {ms(ort)}); "
                f"max rel. diff {default['max_relative_difference']:.0e}")
        if one is not None:
            o = one["samples"]
            self.add(Row("models", "forward ResNet-18 224×224×3 float32: rfdocs (1 thread) / "
                         "onnxruntime (1 thread)", one["ratio"], "x",
                         f"{one['ratio']:.2f}× ({ms(o['rfdocs']['median_s'])} vs "
                         f"{ms(o['onnxruntime_1_thread']['median_s'])}; {also})", "≤ 3×",
                         at_most(one["ratio"], 3.0)))
        else:
            self.add(Row("models", "forward ResNet-18 224×224×3 float32: rfdocs / onnxruntime "
                         "(1 thread)", default["ratio"], "x", f"{default['ratio']:.2f}× ({also})",
                         "≤ 3×", at_most(default["ratio"], 3.0)))

    # ----------------------------------------------------------------------- sites

    def site(self) -> None:
        """The 40-page site: rfdocs beside its static twin (the floor) and beside the peer a
        user would otherwise pick, matplotlib's plot_directive, in its default formats and with
        one format; cold, clean, no-op and one-page-edit builds, peak memory, -j 2."""
        from benchmarks.builds import Site
        from benchmarks.peer import write_peer_site
        from benchmarks.site import plan_site, write_rfdocs_site, write_static_site
        from rfdocs.figures import get_kind

        s = self.s
        plan = plan_site([get_kind(k) for k in self.kinds], s.pages, s.per_page)
        rf = Site("rfdocs", self.work / "rfdocs-src", self.work / "rfdocs-out")
        static = Site("static", self.work / "static-src", self.work / "static-out")
        peers = {fmt: Site(f"peer-{fmt}", self.work / f"peer-{fmt}-src", self.work / f"peer-{fmt}-out")
                 for fmt in ("default", "one")}
        write_rfdocs_site(plan, rf.src, s.theme)
        what = (f"{s.pages} pages, {plan.figure_count} figures ({', '.join(plan.kinds)}), "
                f"{plan.explorer_count} explorers, an rf-table and 4 rf roles a page")
        log(f"site: {what}")
        runs = SiteRuns(self.logs)
        runs.go(rf, "cold", quiet=False)  # also fills the cache the twins are made from
        images = write_static_site(plan, static.src, rf.html, s.theme)
        for fmt, peer in peers.items():
            write_peer_site(plan, peer.src, s.theme, formats=fmt, built_html=rf.html)
        runs.go(static, "cold")  # also warms the static site
        for peer in peers.values():  # the peers' cold builds (they draw every figure)
            runs.go(peer, "cold", quiet=False)
        for _ in range(s.clean_runs):  # interleaved, so drift hits all alike
            for site in (rf, static, *peers.values()):
                runs.go(site, "clean")
        for _ in range(s.noop_runs):
            for site in (rf, static, *peers.values()):
                runs.go(site, "noop")
        for n in range(1, s.noop_runs // 2 + 2):  # one-page edits, the same page each time
            runs.edit_round(plan, n, {"rfdocs": rf, "static": static, **{p.label: p for p in peers.values()}})
        ceilings = [parallel_ceiling()]
        runs.go(rf, "cold", 2, quiet=False)
        pair = runs.t("rfdocs-cold-j1") + runs.t("rfdocs-cold-j2")
        for n in range(1, s.cold_runs):
            if n >= 2 and self.time_left() < pair * 1.2 + 600:
                self.notes.append(f"cold builds of the figure site cut to {n} pair(s) to stay "
                                  f"within the time budget ({s.budget:.0f} s)")
                break
            runs.go(rf, "cold", quiet=False)
            ceilings.append(parallel_ceiling())
            runs.go(rf, "cold", 2, quiet=False)
        ceilings.append(parallel_ceiling())
        log("two CPU-bound processes against one, now: " + ", ".join(f"{c:.2f}×" for c in ceilings))
        per_kind = runs.draw_times("rfdocs-cold-j1")
        self.details["site"] = {"plan": what, "static_images": images, "parallel_ceiling": ceilings,
                                "draw_ms_by_kind": per_kind, "builds": runs.to_json()}
        label = f"{s.pages}-page site"
        t, vs = runs.t, runs.vs
        cold = t("rfdocs-cold-j1")
        per_figure = cold / max(plan.figure_count, 1)
        self.details["site"]["cold_s_per_figure"] = per_figure
        kind_medians = {k: median(v) for k, v in per_kind.items() if v}
        drawn = median(list(kind_medians.values())) / 1000 if kind_medians else float("nan")
        speed = cold / t("rfdocs-cold-j2")
        ceiling = median(ceilings)
        noop, noop_text = vs("rfdocs-noop-j1", "static-noop-j1")
        clean, clean_text = vs("rfdocs-clean-j1", "static-clean-j1")
        self.add(
            Row("site", f"no-op rebuild, {label}: rfdocs / static", noop, "x", noop_text, "≤ 1.05×",
                at_most(noop, 1.05)),
            Row("site", f"clean rebuild (cache kept), {label}: rfdocs / static", clean, "x",
                clean_text, "≤ 1.25×", at_most(clean, 1.25)),
            Row("site", f"cold build, {label}, -j 1: seconds a figure (wall / figures, Sphinx's own "
                "work included)", per_figure, "s",
                f"{ms(per_figure)} ({cold:.1f} s for {plan.figure_count} figures; the static twin's "
                f"cold build {t('static-cold-j1'):.1f} s, so rfdocs adds "
                f"{ms((cold - t('static-cold-j1')) / max(plan.figure_count, 1))} a figure)"),
            Row("site", f"cold drawing, {label}: median over kinds of each kind's median time a "
                "figure (light + dark, files written)", drawn, "s",
                f"{ms(drawn)} (" + ", ".join(f"{k} {v:.0f}" for k, v in kind_medians.items()) + " ms)",
                "≤ 100 ms", at_most(drawn, 0.1)),
            Row("site", f"cold build, {label}: -j 1 / -j 2", speed, "x",
                f"{speed:.2f}× ({cold:.1f} s vs {t('rfdocs-cold-j2'):.1f} s; CPU "
                f"{runs.cpu('rfdocs-cold-j1'):.1f} s vs {runs.cpu('rfdocs-cold-j2'):.1f} s)",
                "≥ 1.7×", speed >= 1.7),
            Row("site", "machine: 2 CPU-bound processes vs 1 (the most -j 2 can gain now)",
                ceiling, "x", f"{ceiling:.2f}× (medians over the cold builds: " +
                ", ".join(f"{c:.2f}" for c in ceilings) + ")"),
            Row("site", f"parallel efficiency, {label}: (-j 1 / -j 2) / the machine's own", speed / ceiling,
                "x", f"{speed / ceiling:.2f} ({speed:.2f}× of {ceiling:.2f}×)", "≥ 0.95",
                speed / ceiling >= 0.95),
        )
        for peer in peers.values():
            name = f"{peer.label.replace('peer-', 'plot_directive, ')} formats"
            for what_, key in (("cold build", "cold"), ("clean rebuild", "clean"), ("no-op rebuild", "noop"),
                               ("one-page edit", "edit")):
                value, text = vs(f"rfdocs-{key}-j1", f"{peer.label}-{key}-j1")
                self.add(Row("peers", f"{what_}, {label}: rfdocs / {name}", value, "x", text))
            pm = runs.memory("rfdocs-cold-j1") / runs.memory(f"{peer.label}-cold-j1")
            self.add(Row("peers", f"peak memory, cold, {label}: rfdocs / {name}", pm, "x",
                         f"{pm:.2f}× ({runs.memory('rfdocs-cold-j1'):.0f} MiB vs "
                         f"{runs.memory(peer.label + '-cold-j1'):.0f} MiB)"))
        edit_ratio, edit_text = vs("rfdocs-edit-j1", "static-edit-j1")
        self.add(Row("site", f"one-page edit, {label}: rfdocs / static (its figures redrawn)",
                     edit_ratio, "x", edit_text + "; " + runs.edit_check(plan)))
        for key in runs.keys():
            self.add(Row("memory", f"peak memory, {key.replace('-', ' ')} (all processes, PSS)",
                         runs.memory(key), "MiB", f"{runs.memory(key):.0f} MiB"))
        for key, builds in runs.builds.items():
            self.warned(key, builds)
        if any(b.cache_files_written for b in runs.builds["rfdocs-clean-j1"]):
            self.notes.append("clean rebuilds wrote figure cache files (figures re-rendered?)")
        if any(b.pages_written for b in runs.builds["rfdocs-noop-j1"] + runs.builds["static-noop-j1"]):
            self.notes.append("a no-op rebuild rewrote HTML pages (it was not a no-op)")
        self.site_per_figure = per_figure
        self.site_own_per_figure = (cold - t("static-cold-j1")) / max(plan.figure_count, 1)

    def scale(self) -> None:
        """Issue 17: a site ten times larger (400 pages, 1,200 figures of every kind, tables,
        roles, explorers): the cost a figure, no-op and one-page edit, and memory as it grows."""
        from benchmarks.builds import Site
        from benchmarks.site import plan_site, write_rfdocs_site, write_static_site
        from rfdocs.figures import get_kind

        s = self.s
        pages = s.scale_pages
        plan = plan_site([get_kind(k) for k in self.kinds], pages, s.per_page)
        rf = Site("scale-rfdocs", self.work / "scale-rfdocs-src", self.work / "scale-rfdocs-out")
        static = Site("scale-static", self.work / "scale-static-src", self.work / "scale-static-out")
        write_rfdocs_site(plan, rf.src, s.theme)
        what = (f"{pages} pages, {plan.figure_count} figures ({', '.join(plan.kinds)}), "
                f"{plan.explorer_count} explorers, an rf-table and 4 rf roles a page")
        log(f"scale: {what}")
        runs = SiteRuns(self.logs)
        runs.go(rf, "cold", quiet=False)
        write_static_site(plan, static.src, rf.html, s.theme)
        runs.go(static, "cold")
        for _ in range(s.noop_runs):
            runs.go(rf, "noop")
            runs.go(static, "noop")
        for n in range(1, 4):
            runs.edit_round(plan, n, {"scale-rfdocs": rf, "scale-static": static})
        ceilings = [parallel_ceiling()]
        runs.go(rf, "cold", 2, quiet=False)
        ceilings.append(parallel_ceiling())
        label = f"{pages}-page site"
        t, vs = runs.t, runs.vs
        per_figure = t("scale-rfdocs-cold-j1") / max(plan.figure_count, 1)
        small = getattr(self, "site_per_figure", None)
        small_own = getattr(self, "site_own_per_figure", None)
        own = (t("scale-rfdocs-cold-j1") - t("scale-static-cold-j1")) / max(plan.figure_count, 1)
        rows = [Row("scale", f"cold build, {label}, -j 1: seconds a figure", per_figure, "s",
                    f"{ms(per_figure)} ({t('scale-rfdocs-cold-j1'):.0f} s for {plan.figure_count} "
                    f"figures; the static twin's cold build {t('scale-static-cold-j1'):.0f} s)")]
        if small and small_own:
            grow = per_figure / small
            rows.append(Row("scale", f"cold build a figure, {label} / {s.pages}-page site (Sphinx's "
                            "own cost included)", grow, "x", f"{grow:.2f}× ({ms(per_figure)} vs "
                            f"{ms(small)})"))
            grow_own = own / small_own
            rows.append(Row("scale", f"rfdocs' cold cost a figure ((rfdocs - static twin) / figures), "
                            f"{label} / {s.pages}-page site", grow_own, "x",
                            f"{grow_own:.2f}× ({ms(own)} vs {ms(small_own)})", "≤ 1.10×",
                            at_most(grow_own, 1.10)))
        noop, noop_text = vs("scale-rfdocs-noop-j1", "scale-static-noop-j1")
        edit_s = t("scale-rfdocs-edit-j1")
        check = runs.edit_check(plan)
        only = check.startswith("redrew exactly")
        m1, m2 = runs.memory("scale-rfdocs-cold-j1"), runs.memory("scale-rfdocs-cold-j2")
        j1, j2 = t("scale-rfdocs-cold-j1"), t("scale-rfdocs-cold-j2")
        rows += [
            Row("scale", f"no-op rebuild, {label}: rfdocs / static", noop, "x", noop_text, "≤ 1.05×",
                at_most(noop, 1.05)),
            Row("scale", f"one-page edit, {label} (every figure on the page changed)", edit_s, "s",
                f"{edit_s:.2f} s; {check}", "≤ 2 s, only that page's figures redrawn",
                edit_s <= 2.0 and only),
            Row("scale", f"one-page edit, {label}: the static twin (a sentence added), for the floor",
                t("scale-static-edit-j1"), "s",
                f"{t('scale-static-edit-j1'):.2f} s (rfdocs adds {edit_s - t('scale-static-edit-j1'):.2f} s: "
                f"{len(plan.pages[0].figures)} figures drawn)"),
            Row("scale", f"peak memory, cold build, {label}, -j 1 (all processes, PSS)", m1, "MiB",
                f"{m1:.0f} MiB", "≤ 500 MiB", at_most(m1, 500)),
            Row("scale", f"peak memory, cold build, {label}: -j 2 / -j 1", m2 / m1, "x",
                f"{m2 / m1:.2f}× ({m2:.0f} MiB vs {m1:.0f} MiB)", "≤ 1.5×", at_most(m2 / m1, 1.5)),
            Row("scale", f"cold build, {label}: -j 1 / -j 2", j1 / j2, "x",
                f"{j1 / j2:.2f}× ({j1:.0f} s vs {j2:.0f} s; the machine's own two-process "
                f"speed-up around it: {', '.join(f'{c:.2f}×' for c in ceilings)})"),
        ]
        self.add(*rows)
        self.details["scale"] = {"plan": what, "builds": runs.to_json(),
                                 "draw_ms_by_kind": runs.draw_times("scale-rfdocs-cold-j1")}
        for key, builds in runs.builds.items():
            self.warned(key, builds)

    def docs(self) -> None:
        from benchmarks.builds import Build, Site, build

        root = self.work / "docs-copy"
        site = Site("docs", root / "docs", root / "out")
        runs: dict[str, list[Build]] = {"cold": [], "noop": []}
        for n in range(self.s.docs_runs):
            if n >= 1 and self.time_left() < runs["cold"][0].run.seconds * 1.2 + 15:
                self.notes.append(f"cold builds of docs/ cut to {n} to stay within the time budget "
                                  f"({self.s.budget:.0f} s)")
                break
            runs["cold"].append(build(site, "cold", logs=self.logs))
        for _ in range(self.s.docs_runs):
            runs["noop"].append(build(site, "noop", logs=self.logs))
        pages = len(list(site.html.rglob("*.html")))
        figures = len([p for p in site.cache.iterdir() if p.suffix == ".json"]) if site.cache.is_dir() else 0
        self.details["docs"] = {"pages": pages, "figures": figures,
                                "builds": {k: [b.to_json() for b in v] for k, v in runs.items()}}
        cold = median([b.run.seconds for b in runs["cold"]])
        noop = median([b.run.seconds for b in runs["noop"]])
        self.add(
            Row("docs", f"cold build of docs/ ({pages} HTML files, {figures} figures), -j 1", cold,
                "s", f"{cold:.1f} s"),
            Row("docs", "no-op rebuild of docs/", noop, "s", f"{noop:.2f} s"),
        )
        for key, builds in runs.items():
            peak = max(b.run.max_rss_mib for b in builds)
            self.add(Row("memory", f"peak RSS, docs {key} j1", peak, "MiB", f"{peak:.0f} MiB"))
        self.warned("docs cold", runs["cold"])


def machine_info() -> dict[str, Any]:
    import matplotlib
    import numpy
    import sphinx

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu or platform.processor(), "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "sphinx": sphinx.__version__,
            "numpy": numpy.__version__, "matplotlib": matplotlib.__version__}


def print_table(rows: Sequence[Row], notes: Sequence[str]) -> None:
    header = ("figure", "value", "goal", "met")
    cells = [header] + [(r.figure, r.shown, r.goal or "—",
                         "—" if r.met is None else ("yes" if r.met else "NO")) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    for n, c in enumerate(cells):
        print("  ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    for note in notes:
        print(f"note: {note}")


def parse_args(argv: Sequence[str] | None) -> Settings:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    p.add_argument("--pages", type=int, default=40, help="pages of the generated site (40)")
    p.add_argument("--figures-per-page", type=int, default=3, help="rfdocs figures a page (3)")
    p.add_argument("--runs", type=int, default=None,
                   help="runs of every build (default: 7 no-op, 5 clean, 3 cold, 3 docs)")
    p.add_argument("--repeat", type=int, default=5, help="samples of each in-process timing (5)")
    p.add_argument("--scale-pages", type=int, default=400,
                   help="pages of the scale site (400, i.e. 1,200 figures at 3 a page)")
    p.add_argument("--budget", type=float, default=2400,
                   help="seconds the whole bench aims to stay within (2400); repeated cold builds "
                        "stop early when the machine is too slow for all of them")
    p.add_argument("--theme", default="alabaster", help="HTML theme of the generated sites")
    p.add_argument("--only", default=",".join(SECTIONS),
                   help="comma-separated sections: " + ", ".join(SECTIONS))
    p.add_argument("--quick", action="store_true", help="a small site and few runs (smoke test)")
    p.add_argument("--keep", action="store_true", help="keep the scratch folder with sites and logs")
    p.add_argument("--working-tree", action="store_true",
                   help="measure rfdocs/ as it is in the working tree (default: as committed at HEAD)")
    p.add_argument("--json", default=str(REPO / "build" / "bench.json"), help="where the JSON goes")
    p.add_argument("--torch-path", default=None,
                   help="a folder holding torch (pip install --target DIR torch), appended to "
                        "sys.path for the conv section; torch is not a dependency")
    a = p.parse_args(argv)
    sections = tuple(x.strip() for x in a.only.split(",") if x.strip())
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        p.error(f"unknown section(s) {', '.join(sorted(unknown))}; choose from {', '.join(SECTIONS)}")
    if {"site", "scale"} & set(sections) and "render" not in sections:
        sections = ("render", *sections)  # the site uses the kinds that render
    runs = (7, 5, 3, 3) if a.runs is None else (a.runs,) * 4
    pages, per_page, repeat, scale = a.pages, a.figures_per_page, a.repeat, a.scale_pages
    if a.quick:
        runs, pages, per_page, repeat = (2, 2, 1, 1), min(pages, 8), min(per_page, 2), 2
        scale = min(scale, 16)
    return Settings(pages, per_page, runs[0], runs[1], runs[2], runs[3], repeat, a.theme, sections,
                    a.keep, Path(a.json), a.torch_path, a.budget, scale, a.working_tree)


def snapshot(work: Path, committed: bool) -> Path:
    """Copies of the rfdocs package (imported by this process and by every build; as committed
    at HEAD, or as it is in the working tree) and of docs/."""
    from benchmarks.builds import use_snapshot

    docs = work / "docs-copy"  # docs/ as it is now, never built in place
    shutil.copytree(REPO / "docs", docs / "docs",
                    ignore=shutil.ignore_patterns("_build", ".rfdocs-cache", "__pycache__"))
    for entry in REPO.iterdir():  # what docs/ may refer to with ../ (README, figures/)
        if entry.name not in ("docs", "build", "rfdocs", ".git", ".venv") \
                and not entry.name.endswith(".egg-info"):
            (docs / entry.name).symlink_to(entry)
    folder = work / "snapshot"
    if committed:  # the package as committed: files being edited meanwhile are not measured
        import io
        import tarfile

        data = subprocess.run(["git", "archive", "--format=tar", "HEAD", "rfdocs"], cwd=REPO,
                              capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            archive.extractall(folder, filter="data")
    else:
        shutil.copytree(REPO / "rfdocs", folder / "rfdocs",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # As pip does when it installs rfdocs: byte-compiled once, so no build pays for compiling
    # the package (PYTHONDONTWRITEBYTECODE, set on some machines, would make every build do so).
    import compileall

    compileall.compile_dir(folder / "rfdocs", quiet=1)
    if "rfdocs" in sys.modules:
        raise RuntimeError("rfdocs was imported before the snapshot was taken")
    sys.path.insert(0, str(folder))
    use_snapshot(folder)
    import rfdocs

    assert Path(rfdocs.__file__).is_relative_to(folder), rfdocs.__file__
    return folder


def git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                                  timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    status = git("status", "--porcelain", "--", "rfdocs", "docs")
    return {"commit": git("rev-parse", "HEAD"), "uncommitted_changes_in_rfdocs_or_docs": bool(status)}


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="rfdocs-bench-"))
    bench = Bench(settings, work)
    log(f"scratch folder {work}")
    source = git_state()  # what the snapshot below measures (HEAD may move while the bench runs)
    snapshot(work, committed=not settings.working_tree and (REPO / ".git").exists())
    load_before = os.getloadavg()
    bench.section("render", bench.render)
    bench.section("compute", bench.compute)
    bench.section("diamonds", bench.diamonds)
    bench.section("conv", bench.conv)
    bench.section("models", bench.models)
    bench.section("site", bench.site)
    bench.section("scale", bench.scale)
    bench.section("docs", bench.docs)
    total = time.perf_counter() - START
    load_after = os.getloadavg()
    cores = os.cpu_count() or 1
    if max(load_before[0], load_after[0], load_after[1]) > cores * 1.25:
        bench.notes.append(f"the machine was busy (load average {load_before[0]:.1f} at the start, "
                           f"{load_after[1]:.1f} over the last 5 minutes, on {cores} cores): "
                           "timings are noisy")
    print_table(bench.rows, bench.notes)
    print(f"bench took {total:.0f} s; JSON in {settings.json_path}")
    settings.json_path.parent.mkdir(parents=True, exist_ok=True)
    settings.json_path.write_text(json.dumps({
        "machine": {**machine_info(), "load_average_start": load_before,
                    "load_average_end": load_after},
        "source": source,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(settings).items()},
        "seconds": total,
        "rows": [r.to_json() for r in bench.rows],
        "notes": bench.notes,
        "details": bench.details,
    }, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if settings.keep:
        print(f"scratch folder kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
