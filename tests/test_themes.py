"""Light and dark figures in real Sphinx themes, judged from a headless browser's pixels.

One small site per theme (furo, pydata-sphinx-theme, sphinx-book-theme, sphinx-rtd-theme,
alabaster; and a few with rfdocs_dark_mode = "media" and "off") is built once and served over
HTTP. For each theme and mode (switched the way the theme does it: its own localStorage key,
read by its own script as the page loads, and the reader's system emulated through
``prefers-color-scheme``), loaded at 1280 px and then narrowed to 400 px, every figure must show
exactly one variant, the right one (its own neuron colour in the pixels, not the other's), on
the page's own background (not dimmed, not on a box; the screenshot with the figure hidden is
the reference), with labels in their colour contrasting at least 4.5:1, placed as the theme
places figures, and within the width, unclipped, in its own proportions.

Set RFDOCS_SCREENSHOTS to a folder to keep the screenshots. Skips (saying what to install) where
chromium, chromedriver or selenium is missing.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from rfdocs.figures.style import DARK, LIGHT
from tests.browser import Browser, chromium, serve
from tests.sphinx_util import build, write_project

PAGE = """\
# Figures in this theme

Some text before the figures, in the page's own colours.

```{rf-block}
:caption: One neuron of a small network and the part of the input it sees.
:name: fig-block
input 50x50x3
conv1: conv 5x5 /1 x100
```

```{rf-growth}
:caption: The field traced layer by layer.
input 16x16x1
conv1: conv 3x3 x4
conv2: conv 3x3 /2 x4
```

Text after the figures.
"""

#: site name -> (html_theme, rfdocs_dark_mode)
SITES = {
    "furo": ("furo", "auto"),
    "pydata": ("pydata_sphinx_theme", "auto"),
    "book": ("sphinx_book_theme", "auto"),
    "rtd": ("sphinx_rtd_theme", "auto"),
    "alabaster": ("alabaster", "auto"),
    "pydata-media": ("pydata_sphinx_theme", "media"),
    "rtd-media": ("sphinx_rtd_theme", "media"),
    "furo-off": ("furo", "off"),
    "pydata-off": ("pydata_sphinx_theme", "off"),
}
#: how each theme keeps the reader's choice: furo "theme" (light, dark, auto) on body[data-theme];
#: pydata and book "mode" (light, dark, auto) on html[data-mode], resolved to html[data-theme]
SWITCH = {"furo": "theme", "pydata": "mode", "book": "mode", "pydata-media": "mode",
          "furo-off": "theme", "pydata-off": "mode"}
DARK_CARD = "#131416"  # rfdocs-media.css: behind a dark figure on a page that stays light
LIGHT_CARD = "#ffffff"  # rfdocs.css: behind a lone light figure ("off") on a dark page


@dataclass(frozen=True)
class Case:
    site: str
    choice: str | None  # the theme's own switch (None: the theme has none, or left at default)
    system: str  # the reader's system: prefers-color-scheme
    variant: str  # the figure variant that must show: "light" or "dark"
    page: str  # the page: "light" or "dark"
    card: str | None = None  # None: the page shows through; else the colour rfdocs puts behind

    @property
    def id(self) -> str:
        return f"{self.site}-{self.choice or 'default'}-system-{self.system}"


CASES = [
    Case("furo", "light", "light", "light", "light"),
    Case("furo", "dark", "light", "dark", "dark"),
    Case("furo", "light", "dark", "light", "light"),  # the reader's choice beats the system
    Case("furo", "auto", "light", "light", "light"),
    Case("furo", "auto", "dark", "dark", "dark"),
    Case("pydata", "light", "light", "light", "light"),
    Case("pydata", "dark", "light", "dark", "dark"),
    Case("pydata", "auto", "dark", "dark", "dark"),
    Case("pydata", "auto", "light", "light", "light"),
    Case("book", "light", "light", "light", "light"),
    Case("book", "dark", "light", "dark", "dark"),
    Case("book", "auto", "dark", "dark", "dark"),
    # no dark mode: the page stays light whatever the system says, and so does the figure
    Case("rtd", None, "light", "light", "light"),
    Case("rtd", None, "dark", "light", "light"),
    Case("alabaster", None, "light", "light", "light"),
    Case("alabaster", None, "dark", "light", "light"),
    # "media": no only-light/only-dark classes; the theme's switch and the system decide
    Case("pydata-media", "dark", "light", "dark", "dark"),
    Case("pydata-media", "light", "dark", "light", "light"),
    Case("pydata-media", "auto", "dark", "dark", "dark"),
    Case("rtd-media", None, "dark", "dark", "light", card=DARK_CARD),
    # "off": only light figures; on a dark page they sit on a white card
    Case("furo-off", "dark", "light", "light", "dark", card=LIGHT_CARD),
    Case("furo-off", "auto", "dark", "light", "dark", card=LIGHT_CARD),
    Case("pydata-off", "dark", "light", "light", "dark", card=LIGHT_CARD),
]
WIDTHS = (1280, 400)
HEIGHT = 1000  # both figures in view at once in most themes: fewer screenshots


# --------------------------------------------------------------------------- colour maths


def rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)


def luminance(colour: np.ndarray) -> float:
    """WCAG relative luminance of an sRGB colour (0-255)."""
    c = np.asarray(colour, dtype=float) / 255
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(lin @ np.array([0.2126, 0.7152, 0.0722]))


def contrast(a: np.ndarray, b: np.ndarray) -> float:
    """WCAG contrast ratio (1 to 21); 4.5 is the minimum for normal text (AA)."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def near(pixels: np.ndarray, colour: np.ndarray, tol: float) -> np.ndarray:
    return np.linalg.norm(pixels.astype(float) - colour, axis=-1) <= tol


def ring(pixels: np.ndarray, k: int = 3) -> np.ndarray:
    """The outer ``k`` pixels all round an image (a figure's transparent margin)."""
    return np.concatenate([pixels[:k].reshape(-1, 3), pixels[-k:].reshape(-1, 3),
                           pixels[:, :k].reshape(-1, 3), pixels[:, -k:].reshape(-1, 3)])


def decode(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


def crop(shot: np.ndarray, rect: dict[str, float], clip: bool = False) -> np.ndarray:
    """The whole pixels inside ``rect`` (CSS px; the browser runs at a device scale of 1),
    which must be in the viewport unless ``clip``."""
    top, left = int(np.ceil(rect["top"])), int(np.ceil(rect["left"]))
    bottom, right = int(np.floor(rect["bottom"])), int(np.floor(rect["right"]))
    if clip:
        top, left = max(top, 0), max(left, 0)
        bottom, right = min(bottom, shot.shape[0]), min(right, shot.shape[1])
    assert 0 <= top < bottom <= shot.shape[0] and 0 <= left < right <= shot.shape[1], \
        f"{rect} is not inside the {shot.shape[1]}x{shot.shape[0]} viewport"
    return shot[top:bottom, left:right]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as web:
        yield web


@pytest.fixture(scope="module")
def site_url(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Every site built once (one shared figure cache), served from one folder."""
    root = tmp_path_factory.mktemp("themes")
    cache = root / "figure-cache"
    for name, (theme, dark_mode) in SITES.items():
        src = write_project(root / "src" / name, {"index.md": PAGE},
                            f'html_theme = "{theme}"\nnumfig = True\n'
                            f'rfdocs_dark_mode = "{dark_mode}"\nrfdocs_cache_dir = r"{cache}"\n')
        built = build(src, outdir=root / "html" / name, doctreedir=root / "doctrees" / name)
        assert built.statuscode == 0 and built.warning_lines() == [], built.warnings
    (root / "html" / "blank.html").write_text("<!doctype html><title>blank</title>\n")
    with serve(root / "html") as url:
        yield url


# --------------------------------------------------------------------------- the page

SHOWN = """
return Array.from(document.querySelectorAll('figure.rfdocs'), figure => {
  const imgs = Array.from(figure.querySelectorAll('.rfdocs-images > img'));
  const shown = imgs.filter(i => getComputedStyle(i).display !== 'none'
                                 && getComputedStyle(i).visibility !== 'hidden'
                                 && i.getBoundingClientRect().width > 0);
  return {variants: shown.map(i => i.classList.contains('rfdocs-dark') ? 'dark' : 'light'),
          all: imgs.length, loaded: imgs.every(i => i.complete && i.naturalWidth > 0)};
});
"""

MEASURE = """
const scrollTo = arguments[0];
const box = e => { const r = e.getBoundingClientRect();
                   return {top: r.top, left: r.left, bottom: r.bottom, right: r.right,
                           width: r.width, height: r.height}; };
return Array.from(document.querySelectorAll('figure.rfdocs'), (figure, index) => {
  const img = Array.from(figure.querySelectorAll('.rfdocs-images > img'))
    .find(i => getComputedStyle(i).display !== 'none');
  if (index === scrollTo) img.scrollIntoView({block: 'center', behavior: 'instant'});
  const clippedBy = [];
  for (let e = img.parentElement; e && e !== document.documentElement; e = e.parentElement) {
    const ox = getComputedStyle(e).overflowX, r = e.getBoundingClientRect(), i = box(img);
    if (ox !== 'visible' && (i.left < r.left - 0.5 || i.right > r.right + 0.5)
        && !((ox === 'auto' || ox === 'scroll') && e.scrollWidth > e.clientWidth))
      clippedBy.push(e.tagName + '.' + e.className);
  }
  return {img: box(img), images: box(figure.querySelector('.rfdocs-images')),
          align: getComputedStyle(figure).textAlign, natural: [img.naturalWidth, img.naturalHeight],
          scrollY: window.scrollY, clippedBy,
          viewport: [document.documentElement.clientWidth, window.innerHeight]};
});
"""
ANIMATING = """
return document.getAnimations().filter(a => a.playState === 'running'
  && isFinite(a.effect.getComputedTiming().endTime)).length;
"""
HIDE = """document.querySelectorAll('figure.rfdocs .rfdocs-images')
            .forEach(e => { e.style.visibility = arguments[0] ? 'hidden' : ''; });"""


def switch(browser: Browser, url: str, case: Case) -> None:
    """Open the page as a reader with ``case.system`` who chose ``case.choice`` in the theme."""
    browser.prefer_colour_scheme(case.system)
    browser.open(url.rsplit("/", 2)[0] + "/blank.html")  # the same origin: its localStorage
    key = SWITCH.get(case.site)
    browser.run("localStorage.clear(); if (arguments[0]) localStorage.setItem(arguments[0], arguments[1]);",
                key, case.choice)
    browser.open(url)  # the theme's own script reads its key as the page loads
    if key == "theme":
        assert browser.run("return document.body.dataset.theme") == case.choice
    elif key == "mode":
        state = browser.run("return [document.documentElement.dataset.mode, "
                            "document.documentElement.dataset.theme]")
        assert state == [case.choice, case.page], state
    deadline = time.monotonic() + 10
    while not all(f["loaded"] for f in browser.run(SHOWN)):
        assert time.monotonic() < deadline, "figure images did not load"
        time.sleep(0.05)


def settled(browser: Browser, scroll_to: int | None = None) -> list[dict[str, Any]]:
    """Where every figure's image is, once the layout stops moving (themes animate their bars
    and sidebars after a resize)."""
    where = browser.run(MEASURE, scroll_to)
    deadline = time.monotonic() + 5
    while True:
        time.sleep(0.05)
        again = browser.run(MEASURE, None)
        if again == where and browser.run(ANIMATING) == 0:
            return list(where)
        assert time.monotonic() < deadline, "the page keeps moving"
        where = again


def in_view(where: dict[str, Any]) -> bool:
    return bool(where["img"]["top"] >= 0 and where["img"]["bottom"] <= where["viewport"][1])


def shots(browser: Browser) -> Iterator[tuple[int, dict[str, Any], np.ndarray, np.ndarray]]:
    """Each figure (scrolled into view if need be): where it is, a screenshot as the reader
    sees it, and one with the figures hidden (the page behind them)."""
    done: set[int] = set()
    wheres = settled(browser)
    while len(done) < len(wheres):
        todo = [i for i, w in enumerate(wheres) if i not in done and in_view(w)]
        if not todo:
            wheres = settled(browser, scroll_to=min(set(range(len(wheres))) - done))
            continue
        shown = decode(browser.png())
        browser.run(HIDE, True)
        behind = decode(browser.png())
        browser.run(HIDE, False)
        if browser.run(MEASURE, None) != wheres:  # moved while photographed: again
            wheres = settled(browser)
            continue
        for i in todo:
            yield i, wheres[i], shown, behind
        done.update(todo)


def check_figure(case: Case, label: str, where: dict[str, Any], shown: np.ndarray,
                 behind: np.ndarray, width: int) -> None:
    """Assert on one figure's pixels: ``shown`` as the reader sees it, ``behind`` with the
    figures hidden (the page behind them)."""
    # fits: inside the viewport (or a scrolling box), not clipped, natural aspect kept
    vw = where["viewport"][0]
    assert vw <= width, f"{label}: viewport {vw} px"
    img = where["img"]
    assert img["left"] >= -0.5 and img["right"] <= vw + 0.5, f"{label}: {img} outside {vw} px"
    assert where["clippedBy"] == [], f"{label}: clipped by {where['clippedBy']}"
    nat_w, nat_h = where["natural"]
    assert img["width"] / img["height"] == pytest.approx(nat_w / nat_h, rel=0.02), label
    if where["align"] == "center":  # the theme centres figures (furo, pydata, book, alabaster)
        box = where["images"]
        assert abs(img["left"] + img["right"] - box["left"] - box["right"]) <= 2, \
            f"{label}: image {img} not centred in {box}"

    # the figure's background is the page's: its transparent margin shows what is behind it
    figure_px, behind_px = crop(shown, img), crop(behind, img)
    page_bg = np.median(ring(behind_px), axis=0)
    behind_spread = np.abs(ring(behind_px).astype(float) - page_bg).max()
    assert behind_spread <= 8, f"{label}: the page behind the figure is not one colour"
    figure_bg = np.median(ring(figure_px), axis=0)
    page_lum = luminance(page_bg)
    assert (page_lum < 0.1) if case.page == "dark" else (page_lum > 0.7), \
        f"{label}: page background {page_bg} is not {case.page}"
    if case.card is None:
        assert np.abs(figure_bg - page_bg).max() <= 6, \
            f"{label}: figure background {figure_bg} on a page of {page_bg} (a box or a filter)"
    else:
        assert np.abs(figure_bg - rgb(case.card)).max() <= 6, f"{label}: card {figure_bg}"

    # the right variant, unaltered: its own neuron colour, not the other's; labels drawn in
    # its text colour, contrasting with what is behind them
    theme, other = (DARK, LIGHT) if case.variant == "dark" else (LIGHT, DARK)
    own = int(near(figure_px, rgb(theme.neuron), 12).sum())
    foreign = int(near(figure_px, rgb(other.neuron), 12).sum())
    assert own >= 10 and foreign == 0, f"{label}: neuron pixels {case.variant} {own}, other {foreign}"
    text = near(figure_px, rgb(theme.fg), 32)
    assert text.sum() >= 10, f"{label}: only {text.sum()} pixels in the label colour {theme.fg}"
    ratio = contrast(figure_px[text].mean(axis=0), figure_bg)
    assert ratio >= 4.5, f"{label}: labels {figure_px[text].mean(axis=0)} on {figure_bg}: {ratio:.1f}"

    # exactly one image's worth of pixels: nothing but background elsewhere in the container
    images_px = crop(shown, where["images"], clip=True).copy()
    top, left = max(0, int(np.ceil(where["images"]["top"]))), max(0, int(np.ceil(where["images"]["left"])))
    ys = slice(max(0, int(np.floor(img["top"])) - top), int(np.ceil(img["bottom"])) - top)
    xs = slice(max(0, int(np.floor(img["left"])) - left), int(np.ceil(img["right"])) - left)
    images_px[ys, xs] = page_bg
    stray = int((~near(images_px, page_bg, 12)).sum())
    assert stray <= 4, f"{label}: {stray} figure pixels outside the one image shown"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_figures_follow_the_theme(browser: Browser, site_url: str, case: Case) -> None:
    """Loaded at 1280 px, then narrowed to 400 px (the page follows without a reload)."""
    folder = os.environ.get("RFDOCS_SCREENSHOTS")
    try:
        browser.window(WIDTHS[0], HEIGHT)
        switch(browser, f"{site_url}/{case.site}/index.html", case)
        for width in WIDTHS:
            browser.window(width, HEIGHT)
            figures = browser.run(SHOWN)
            assert len(figures) == 2
            for figure in figures:
                assert figure["all"] == (1 if SITES[case.site][1] == "off" else 2), figure
                assert figure["variants"] == [case.variant], (case.id, width, figure)
            for index, where, shown, behind in shots(browser):
                if folder:
                    Image.fromarray(shown).save(Path(folder) / f"theme-{case.id}-{width}-{index + 1}.png")
                check_figure(case, f"{case.id} at {width} px, figure {index + 1}", where,
                             shown, behind, width)
    finally:
        browser.window(WIDTHS[0], HEIGHT)
