"""A generated figure-heavy site (MyST pages with rfdocs figures, rf-table, rf-network and the
``rf`` role) and its static twin: the same pages with each figure as plain ``figure``/``image``
directives pointing at pre-rendered files, each table a ``list-table`` and each number text."""

from __future__ import annotations

import random
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from rfdocs.compute import Network, analyze, parse_spec, zoo_network

WORDS = ("receptive field kernel stride padding dilation neuron layer input output channel map "
         "feature block jump start convolution pooling network depth width height unit pixel "
         "tensor weight filter gradient effective shape window sum product image edge").split()

#: Roles on every page: (source, layer, field); "{net}" is the page's own network.
ROLES = (("vgg16", "pool5", "rf"), ("resnet50", "", "jump"), ("{net}", "", "rf"),
         ("{net}", "conv2", "shape"))


@dataclass(frozen=True)
class FigureRequest:
    kind: str
    options: dict[str, str]
    body: str
    caption: str
    name: str


@dataclass
class Page:
    name: str
    title: str
    network_name: str
    network_body: str
    prose: list[str]
    figures: list[FigureRequest] = field(default_factory=list)
    explorer: bool = False  # an rf-explorer of the page's network


@dataclass
class SitePlan:
    pages: list[Page]
    kinds: tuple[str, ...]

    @property
    def figure_count(self) -> int:
        return sum(len(p.figures) for p in self.pages)

    @property
    def explorer_count(self) -> int:
        return sum(p.explorer for p in self.pages)


def figure_request(kind: Any, n: int, name: str) -> FigureRequest:
    """The ``n``-th distinct request for figure kind ``kind`` (a FigureKind): every request
    differs (a layer name or seed of its own), so a cold build renders each one, while sizes
    cycle through ten values, so a figure costs the same on a site of 40 pages or of 400."""
    options: dict[str, str] = {}
    body = ""
    size = n % 10
    first = f"c{n}"  # the first layer's name: the request's own
    if kind.name == "block":
        body = f"input {40 + size}x{40 + size}x3\n{first}: conv 5x5 /1 x100\n"
    elif kind.name == "featuremaps":
        options["size"] = str(64 + 4 * size)
        options["seed"] = str(n)
    elif kind.name == "steps":
        options["seed"] = str(n)
        if n % 3:  # one in three animated (HTML default), the others the static strip
            options["static"] = ""
    elif kind.name == "stack":  # draws 1-D networks: a dilated stack over a sequence
        body = (f"input {96 + 4 * size}x1\n{first}: conv 3 x8 pad 1\nconv2: conv 3 x8 dil 2 pad 2\n"
                "conv3: conv 3 x8 dil 4 pad 4\n")
    elif kind.uses_network:
        s = 48 + 2 * size
        body = (f"input {s}x{s}x3\n{first}: conv 3x3 /1 x16 pad 1\npool1: maxpool 2x2\n"
                "conv2: conv 3x3 /1 x32 pad 1\npool2: maxpool 2x2\nconv3: conv 3x3 /1 x64 pad 1\n")
        if kind.name == "filters":
            options["seed"] = str(n)
    elif "seed" in {o.name for o in kind.options}:
        options["seed"] = str(n)
    caption = f"Figure {n + 1} of kind *{kind.name}*, computed when the page was built."
    return FigureRequest(kind.name, options, body, caption, name)


def _prose(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def plan_site(kinds: Sequence[Any], pages: int, per_page: int, seed: int = 1, *,
              explorer_every: int = 10) -> SitePlan:
    """``pages`` pages with ``per_page`` figures each, kinds taken in turn so all appear, and an
    ``rf-explorer`` on every ``explorer_every``-th page (0: none)."""
    if not kinds:
        raise ValueError("no figure kind renders, so there is no figure site to build")
    rng = random.Random(seed)
    counters = {k.name: 0 for k in kinds}
    plan = SitePlan([], tuple(k.name for k in kinds))
    slot = 0
    for p in range(pages):
        size = 64 + p
        page = Page(
            name=f"page{p + 1:03d}", title=f"Page {p + 1}", network_name=f"net{p + 1}",
            network_body=(f"input {size}x{size}x3\nconv1: conv 3x3 /1 x16 pad 1\n"
                          "pool1: maxpool 2x2\nconv2: conv 3x3 /1 x32 pad 1\npool2: maxpool 2x2\n"
                          "conv3: conv 3x3 /1 x64 pad 1\n"),
            prose=[_prose(rng, 90) for _ in range(per_page + 2)],
            explorer=bool(explorer_every) and p % explorer_every == explorer_every - 1)
        for j in range(per_page):
            kind = kinds[slot % len(kinds)]
            slot += 1
            n = counters[kind.name]
            counters[kind.name] += 1
            page.figures.append(figure_request(kind, n, f"fig-p{p + 1}-{j + 1}"))
        plan.pages.append(page)
    return plan


CONF = '''"""Generated by benchmarks/site.py."""
project = "rfdocs-bench"
extensions = {extensions!r}
numfig = True
html_theme = {theme!r}
exclude_patterns = ["_build"]
'''


def _fence(name: str, argument: str, options: dict[str, str], body: str) -> str:
    lines = [f"```{{{name}}}" + (f" {argument}" if argument else "")]
    lines += [f":{k}:" + (f" {v}" if v else "") for k, v in options.items()]
    if body:
        lines += ["", body.rstrip("\n")] if not options else [body.rstrip("\n")]
    lines.append("```")
    return "\n".join(lines)


def _roles(page: Page, render: Any) -> str:
    parts = [render(src.replace("{net}", page.network_name), layer, fld) for src, layer, fld in ROLES]
    return (f"VGG-16's pool5 sees {parts[0]} pixels; ResNet-50's output jumps by {parts[1]}. "
            f"This page's network sees {parts[2]} pixels and conv2 has shape {parts[3]}.")


def _index(plan: SitePlan) -> str:
    toc = "\n".join(p.name for p in plan.pages)
    return f"# Bench site\n\n```{{toctree}}\n:maxdepth: 1\n\n{toc}\n```\n"


def write_rfdocs_site(plan: SitePlan, root: Path, theme: str) -> None:
    """The site with rfdocs directives (``extensions = ["myst_parser", "rfdocs"]``)."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / "conf.py").write_text(CONF.format(extensions=["myst_parser", "rfdocs"], theme=theme))
    (root / "index.md").write_text(_index(plan))
    for page in plan.pages:
        (root / f"{page.name}.md").write_text(rfdocs_page(page))


def rfdocs_page(page: Page) -> str:
    """The Markdown of one page of the rfdocs site."""
    out = [f"# {page.title}", "", page.prose[0], "",
           _fence("rf-network", page.network_name, {}, page.network_body), "",
           _roles(page, lambda s, lay, f: f"{{rf}}`{s}:{lay}:{f}`"), "",
           _fence("rf-table", "", {"network": page.network_name, "caption": "Layer by layer."},
                  ""), ""]
    for j, fig in enumerate(page.figures):
        options = {"caption": fig.caption, "name": fig.name, **fig.options}
        out += [f"## Figure {j + 1}", "", page.prose[j + 1], "",
                _fence(f"rf-{fig.kind}", "", options, fig.body), ""]
    if page.explorer:
        out += ["## Explorer", "", _fence("rf-explorer", "", {"network": page.network_name}, ""),
                ""]
    out += [page.prose[-1], ""]
    return "\n".join(out)


def edited_request(fig: FigureRequest, round_: int) -> FigureRequest:
    """``fig`` changed as a user would in edit ``round_`` (a renamed layer, a size or seed no
    other request uses) at about the same drawing cost, so it must be drawn again."""
    options = dict(fig.options)
    if "seed" in options and not fig.body:
        options["seed"] = str(int(options["seed"]) + 100_000 * round_)
    body = re.sub(r"^(?!input\b)(\w+):", rf"\1e{round_}:", fig.body, count=1, flags=re.M)
    return replace(fig, options=options, body=body)


def edited_page(page: Page, round_: int) -> Page:
    """``page`` as a user edits it: a sentence added and every figure's parameters changed, so
    each figure on it must be drawn again, and nothing else."""
    figures = [edited_request(f, round_) for f in page.figures]
    prose = [*page.prose[:-1], page.prose[-1] + f" Edited ({round_})."]
    return replace(page, figures=figures, prose=prose)


_EXPLORER_START = re.compile(r'<figure\b[^>]*\brfdocs-explorer-figure\b[^>]*>')
_FIGURE_TAG = re.compile(r"<(/?)figure\b")


def explorer_block(html_page: Path) -> str:
    """The HTML of the (first) explorer on a built page: its ``<figure>`` element, whole."""
    text = html_page.read_text(encoding="utf-8")
    start = _EXPLORER_START.search(text)
    if start is None:
        raise RuntimeError(f"{html_page}: no rf-explorer in the built page")
    depth = 0
    for tag in _FIGURE_TAG.finditer(text, start.start()):
        depth += -1 if tag[1] else 1
        if depth == 0:
            return text[start.start():text.index(">", tag.end()) + 1]
    raise RuntimeError(f"{html_page}: the explorer's <figure> is not closed")


def copy_explorer_assets(plan: SitePlan, root: Path, built_html: Path) -> str:
    """For a twin site: the explorer's script, stylesheet and images copied from the built rfdocs
    site into ``root``; returns the conf.py lines that load them (empty without explorers)."""
    if not plan.explorer_count:
        return ""
    (root / "_static").mkdir(exist_ok=True)
    for name in ("rfdocs-explorer.js", "rfdocs-explorer.css"):
        shutil.copyfile(built_html / "_static" / name, root / "_static" / name)
    return ('html_static_path = ["_static"]\nhtml_js_files = ["rfdocs-explorer.js"]\n'
            'html_css_files = ["rfdocs-explorer.css"]\n')


def explorer_twin(page: Page, built_html: Path, root: Path) -> list[str]:
    """The Markdown lines of a twin page's explorer: the built explorer as raw HTML (its
    fallback images copied into ``root/figs`` and pointed at from ``_images``)."""
    if not page.explorer:
        return []
    block = explorer_block(built_html / f"{page.name}.html")
    for name in set(re.findall(r'src="(?:\./)?_images/([^"]+)"', block)):
        shutil.copyfile(built_html / "_images" / name, root / "_static" / name)
    block = re.sub(r'src="(?:\./)?_images/', 'src="_static/', block)
    return ["## Explorer", "", _fence("raw", "html", {}, "\n" + block), ""]


_IMG = re.compile(r'<img\b[^>]*\bsrc="(?:\./)?_images/([^"]+)"')


def figure_files(html_page: Path) -> list[list[str]]:
    """Image files of each rfdocs figure on a built page, in page order (light first); the
    explorer's own images are not figures."""
    text = html_page.read_text(encoding="utf-8")
    if _EXPLORER_START.search(text):
        text = text.replace(explorer_block(html_page), "")
    groups: dict[str, list[str]] = {}
    for name in _IMG.findall(text):
        key = name.rsplit(".", 1)[0].removesuffix("-dark")
        groups.setdefault(key, []).append(name)
    return list(groups.values())


def _role_text(networks: dict[str, Network], source: str, layer: str, fld: str) -> str:
    from rfdocs.sphinxext.roles import format_field

    net = networks[source] if source in networks else zoo_network(source)
    analysis = analyze(net)
    node = analysis.output if layer in ("", "output") else analysis[layer]
    return format_field(net, node, fld, None)


def _list_table(net: Network, caption: str) -> str:
    from rfdocs.figures.table import layer_table

    table = layer_table(analyze(net))
    rows = []
    for row in (table.header, *table.rows):
        rows.append("* - " + row[0])
        rows += [f"  - {cell}" for cell in row[1:]]
    return _fence("list-table", caption, {"header-rows": "1"}, "\n".join(rows))


def write_static_site(plan: SitePlan, root: Path, built_html: Path, theme: str) -> int:
    """The static twin of a built rfdocs site: its rendered files copied into ``figs/`` and shown
    with plain directives, no rfdocs extension.  Returns the number of image directives."""
    if root.exists():
        shutil.rmtree(root)
    (root / "figs").mkdir(parents=True)
    (root / "conf.py").write_text(CONF.format(extensions=["myst_parser"], theme=theme)
                                  + copy_explorer_assets(plan, root, built_html))
    (root / "index.md").write_text(_index(plan))
    images = 0
    for page in plan.pages:
        files = figure_files(built_html / f"{page.name}.html")
        if len(files) != len(page.figures):
            raise RuntimeError(f"{page.name}: {len(page.figures)} figure directives but "
                               f"{len(files)} rendered figures in the HTML (a figure failed?)")
        net = parse_spec(page.network_body)
        networks = {page.network_name: net}
        out = [f"# {page.title}", "", page.prose[0], "",
               _roles(page, partial(_role_text, networks)), "",
               _list_table(net, "Layer by layer."), ""]
        for j, (fig, names) in enumerate(zip(page.figures, files, strict=True)):
            for name in names:
                shutil.copyfile(built_html / "_images" / name, root / "figs" / name)
            out += [f"## Figure {j + 1}", "", page.prose[j + 1], ""]
            first, *rest = names
            out.append(_fence("figure", f"figs/{first}", {"name": fig.name, "class": "rfdocs-light"},
                              "\n" + fig.caption))
            for name in rest:
                out += ["", _fence("image", f"figs/{name}", {"class": "rfdocs-dark"}, "")]
            images += len(names)
            out.append("")
        out += explorer_twin(page, built_html, root)
        out += [page.prose[-1], ""]
        (root / f"{page.name}.md").write_text("\n".join(out))
    return images


def static_page_edit(path: Path, round_: int) -> None:
    """The static twin's side of a one-page edit: the same sentence added to its last paragraph
    (it has no figure parameters to change: its images are files)."""
    text = path.read_text(encoding="utf-8")
    path.write_text(text.rstrip("\n") + f" Edited ({round_}).\n", encoding="utf-8")
