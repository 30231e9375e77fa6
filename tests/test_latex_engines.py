"""rfdocs' LaTeX output typesets every character rfdocs writes with pdflatex, xelatex and
lualatex, with nothing in the project's own ``latex_elements``: compiled as Read the Docs does
(``make`` in the output folder: Sphinx's own Makefile and latexmkrc, stopping at the first
error), then read back with pdftotext and checked against the engines' logs.

Seven small projects, compiled two at a time: each engine with Sphinx's default fonts; xelatex
and lualatex with Latin Modern (fontspec's default, which lacks some of the characters); and
projects that still carry the ``newunicodechar`` lines rfdocs' manual used to recommend."""

from __future__ import annotations

import ast
import io
import re
import shutil
import subprocess
import time
import tokenize
import unicodedata
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rfdocs.sphinxext.latex import CHARACTERS, PACKAGE
from tests.sphinx_util import build, write_project

ROOT = Path(__file__).resolve().parent.parent
CHARS = "".join(c.char for c in CHARACTERS)
#: What pdftotext may read instead of a character, where a math-font fallback or Sphinx's own
#: rewriting for pdflatex (² -> \(\sp{\text{2}}\)) typeset it.  Only for cases marked fallback.
FALLBACK_TEXT = {"\u2026": ("...",), "\u00b2": ("2",), "\u03c3": ("\U0001d70e",),
                 "\u039c": ("M",)}
#: rfdocs' own text (role, table cells, error box) as it must read in every PDF.
RFDOCS_TEXT = ("212×212", "20×20×3", "18×18×8", "9×9kernel", "atmost7×7")
#: Characters LaTeX's own UTF-8 support leaves undeclared for pdflatex (rfdocs declares them).
UNDECLARED_BY_LATEX = "\u2212\u2248\u2264\u2265\u221a\u03c3"

PAGE = f"""# Characters {CHARS} here

Prose: {CHARS} and the field {{rf}}`vgg16:pool5:rf`.

```{{rf-block}}
:caption: Figure caption {CHARS} ends.
:name: fig-block

input 20x20x3
conv 3x3 /1 x8
```

```{{rf-table}}
:caption: Table caption {CHARS} ends.

input 20x20x3
c1: conv 3x3 /1 x8
```

```{{rf-steps}}
:kernel: box(9)
```

```text
code {CHARS} ends
```
"""
INDEX = "# Engines\n\n```{toctree}\nchars\n```\n"
#: Where the page's characters stand in the PDF text (spaces and line breaks removed).
SEGMENTS = {"contents": ("1Characters", "here"), "prose": ("Prose:", "andthefield"),
            "figure caption": ("Figurecaption", "ends."), "table caption": ("Tablecaption", "ends."),
            "code": ("code", "ends")}

#: What docs/conf.py and the manual told users to add before rfdocs did it itself, and one
#: more line whose output shows that the project's own definition wins over rfdocs'.
OLD_LINES = {"×": r"\ensuremath{\times}", "→": r"\ensuremath{\rightarrow}", "−": r"\ensuremath{-}",
             "≤": r"\ensuremath{\leq}", "≥": r"\ensuremath{\geq}", "≈": r"\ensuremath{\approx}",
             "·": r"\ensuremath{\cdot}", "√": r"\ensuremath{\surd}", "σ": "sigma"}
OLD_PREAMBLE = "\n".join([r"\usepackage{newunicodechar}", *(
    rf"\newunicodechar{{{char}}}{{{tex}}}" for char, tex in OLD_LINES.items())])


@dataclass(frozen=True)
class Case:
    name: str
    engine: str
    latin_modern: bool = False  # fontspec's default fonts instead of Sphinx's FreeSerif & co.
    user_preamble: bool = False  # the project keeps its old \newunicodechar lines
    control: bool = False  # also compile without rfdocs.sty: the log must then miss glyphs

    @property
    def fallback(self) -> bool:
        """Some characters may come from math fonts (or Sphinx's pdflatex rewriting)."""
        return self.engine == "pdflatex" or self.latin_modern

    @property
    def unicode(self) -> bool:
        return self.engine in ("xelatex", "lualatex")


CASES = (
    Case("pdflatex", "pdflatex"),
    Case("pdflatex-user", "pdflatex", user_preamble=True),
    Case("xelatex", "xelatex"),
    Case("xelatex-lm", "xelatex", latin_modern=True, control=True),
    Case("xelatex-lm-user", "xelatex", latin_modern=True, user_preamble=True),
    Case("lualatex", "lualatex"),
    Case("lualatex-lm", "lualatex", latin_modern=True),
)


@dataclass
class Compiled:
    case: Case
    folder: Path
    returncode: int = -1
    output: str = ""
    seconds: float = 0.0
    control_log: str = ""
    skip: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def pdf(self) -> Path:
        return self.folder / "rftest.pdf"

    @property
    def log(self) -> str:
        path = self.folder / "rftest.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""


def _has_font(family: str) -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    found = subprocess.run([fc_list, f":family={family}", "file"], capture_output=True,
                           text=True, check=False)
    return bool(found.stdout.strip())


def _missing_tools(case: Case) -> str:
    """Why ``case`` cannot be compiled here ('' when it can)."""
    tools = ["make", "latexmk", case.engine]
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        return (f"{', '.join(missing)} not installed (Debian: latexmk texlive-latex-extra "
                "texlive-fonts-recommended tex-gyre texlive-xetex texlive-luatex)")
    if case.unicode and not case.latin_modern and not _has_font("FreeSerif"):
        return ("Sphinx's default fonts for xelatex/lualatex (FreeSerif, FreeSans, FreeMono) are "
                "not installed (Debian: fonts-freefont-otf)")
    return ""


def _make(folder: Path) -> subprocess.CompletedProcess[str]:
    """Sphinx's Makefile in the LaTeX output folder, stopping at the first TeX error."""
    return subprocess.run(["make", "LATEXOPTS=-halt-on-error -interaction=nonstopmode"],
                          cwd=folder, capture_output=True, text=True, timeout=900,
                          stdin=subprocess.DEVNULL, check=False)


def _compile(item: Compiled) -> None:
    start = time.perf_counter()
    done = _make(item.folder)
    item.seconds = time.perf_counter() - start
    item.returncode, item.output = done.returncode, done.stdout[-4000:] + done.stderr[-2000:]


def _compile_control(item: Compiled) -> None:
    control = item.folder.with_name(item.folder.name + "-without-rfdocs")
    shutil.copytree(item.folder, control, dirs_exist_ok=True)
    tex = control / "rftest.tex"
    text = tex.read_text(encoding="utf-8")
    assert f"\\usepackage{{{PACKAGE}}}\n" in text
    tex.write_text(text.replace(f"\\usepackage{{{PACKAGE}}}\n", ""), encoding="utf-8")
    _make(control)
    log = control / "rftest.log"
    item.control_log = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Compiled]:
    """Every case built with Sphinx (in this process, one after the other), then compiled
    with ``make``, two at a time (lualatex is the slow one)."""
    root = tmp_path_factory.mktemp("engines")
    results: dict[str, Compiled] = {}
    jobs = []
    for case in CASES:
        conf = (f'extensions.append("rfdocs.sphinxext.latex")\nlatex_engine = "{case.engine}"\n'
                f"rfdocs_cache_dir = {str(root / 'figures')!r}\n")  # one drawing for all cases
        elements = {}
        if case.latin_modern:
            elements["fontpkg"] = ""
        if case.user_preamble:
            elements["preamble"] = OLD_PREAMBLE
        conf += f"latex_elements = {elements!r}\n"
        src = write_project(root / case.name / "src", {"index.md": INDEX, "chars.md": PAGE}, conf)
        (src / "index.rst").unlink(missing_ok=True)
        built = build(src, "latex")
        item = Compiled(case, built.outdir, warnings=built.warning_lines())
        item.skip = _missing_tools(case)
        results[case.name] = item
        if not item.skip:
            jobs.append((_compile, item))
            if case.control:
                jobs.append((_compile_control, item))
    jobs.sort(key=lambda job: ("lualatex", "xelatex", "pdflatex").index(job[1].case.engine))
    with ThreadPoolExecutor(max_workers=2) as pool:
        for future in [pool.submit(job, item) for job, item in jobs]:
            future.result()
    return results


def _get(compiled: dict[str, Compiled], name: str) -> Compiled:
    item = compiled[name]
    if item.skip:
        pytest.skip(f"{name}: {item.skip}")
    return item


def _pdf_text(pdf: Path) -> str:
    """The PDF's text in content order, without spaces or line breaks (pdftotext -raw)."""
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.skip("pdftotext not installed (Debian: poppler-utils)")
    done = subprocess.run([pdftotext, "-raw", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                          check=True)
    return re.sub(r"\s+", "", done.stdout.decode("utf-8"))


def _chars_pattern(case: Case) -> str:
    """A regular expression for the page's characters as ``case`` may typeset them."""
    parts = []
    for char in CHARS:
        if case.user_preamble and char in OLD_LINES and OLD_LINES[char].isalpha():
            readings: tuple[str, ...] = (OLD_LINES[char],)  # the project's own definition
        elif case.fallback:
            readings = (char, *FALLBACK_TEXT.get(char, ()))
        else:
            readings = (char,)
        parts.append("(?:" + "|".join(map(re.escape, readings)) + ")")
    return "".join(parts)


def _lost_glyphs(log: str) -> list[str]:
    """What the engines report as not typeset: xetex/luatex 'Missing character', pdftex's
    lost characters and inputenc's undeclared Unicode."""
    found = re.findall(r"Missing character: There is no .*|Unicode character .* not set up.*", log)
    return sorted(set(found))


@pytest.mark.parametrize("name", [case.name for case in CASES])
def test_pdf_is_made(compiled: dict[str, Compiled], name: str) -> None:
    item = _get(compiled, name)
    (warning,) = item.warnings  # only the one the page asks for: its error box shows a ×
    assert "chars.md:20: WARNING: rf-steps: :kernel: a 9×9 kernel" in warning, warning
    assert item.returncode == 0, item.output
    assert item.pdf.read_bytes()[:5] == b"%PDF-"
    assert f"Package: {PACKAGE} 2026/01/01 v" in item.log, "rfdocs.sty was not read"


@pytest.mark.parametrize("name", [case.name for case in CASES])
def test_no_glyph_is_lost(compiled: dict[str, Compiled], name: str) -> None:
    item = _get(compiled, name)
    assert item.returncode == 0, item.output
    assert _lost_glyphs(item.log) == []
    assert "Label(s) may have changed" not in item.log  # labels hold the characters too
    if item.case.unicode and not item.case.user_preamble:
        assert "Token not allowed in a PDF string" not in item.log  # the bookmarks


@pytest.mark.parametrize("name", [case.name for case in CASES])
def test_characters_read_back_from_the_pdf(compiled: dict[str, Compiled], name: str) -> None:
    item = _get(compiled, name)
    assert item.returncode == 0, item.output
    text = _pdf_text(item.pdf)
    for needle in RFDOCS_TEXT:
        assert needle in text, f"{needle!r} not in the PDF text"
    chars = _chars_pattern(item.case)
    for where, (before, after) in SEGMENTS.items():
        assert re.search(re.escape(before) + chars + re.escape(after), text), \
            f"{where}: {CHARS} not read back; PDF text: {text[:1500]}"


@pytest.mark.parametrize("name", [c.name for c in CASES if c.unicode and not c.user_preamble])
def test_bookmarks_hold_the_characters(compiled: dict[str, Compiled], name: str) -> None:
    """hyperref's bookmark of the chapter (UTF-16 octal escapes in the .out file), also where
    rfdocs.sty made characters active for a font that lacks them."""
    item = _get(compiled, name)
    assert item.returncode == 0, item.output
    out = (item.folder / "rftest.out").read_text(encoding="ascii")
    (title,) = re.findall(r"\\BOOKMARK \[0\]\[-\]\{chapter\.1\}\{(.*)\}\{\}", out)
    raw = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), title).encode("latin-1")
    assert raw.decode("utf-16") == f"Characters {CHARS} here"


def test_without_rfdocs_latin_modern_misses_exactly_its_absent_glyphs(
        compiled: dict[str, Compiled]) -> None:
    """The control: the same xelatex document without \\usepackage{rfdocs} loses the glyphs
    Latin Modern lacks (read from the font file), so the log check above can fail."""
    item = _get(compiled, "xelatex-lm")
    ttlib = pytest.importorskip("fontTools.ttLib")
    kpsewhich = shutil.which("kpsewhich")
    assert kpsewhich is not None
    font = subprocess.run([kpsewhich, "lmroman10-regular.otf"], capture_output=True, text=True,
                          check=True).stdout.strip()
    cmap = ttlib.TTFont(font, lazy=True).getBestCmap()
    absent = {char for char in CHARS if ord(char) not in cmap}
    assert absent, "Latin Modern now has every character: pick another font for this control"
    lost = set(re.findall(r"Missing character: There is no (.) \(U\+", item.control_log))
    assert lost == absent


@pytest.mark.parametrize("name", [c.name for c in CASES if c.user_preamble])
def test_the_projects_own_definitions_win(compiled: dict[str, Compiled], name: str) -> None:
    """A project that kept the old \\newunicodechar lines compiles, its definitions are the
    ones used (σ typeset as 'sigma'), and newunicodechar never warns that it redefines one of
    rfdocs' declarations (rfdocs declares only what is still undeclared after the preamble)."""
    item = _get(compiled, name)
    assert item.returncode == 0, item.output
    text = _pdf_text(item.pdf)
    assert text.count("sigma") >= len(SEGMENTS) and "σ" not in text
    tex_lines = (item.folder / "rftest.tex").read_text(encoding="utf-8").splitlines()
    redefined = {tex_lines[int(n) - 1] for n in re.findall(
        r"Redefining Unicode character on input line (\d+)", item.log.replace("\n", ""))}
    redefined_chars = {char for line in redefined for char in UNDECLARED_BY_LATEX
                       if rf"\newunicodechar{{{char}}}" in line}
    assert redefined_chars == set()


def test_rewritten_only_when_changed(tmp_path: Path) -> None:
    """A second LaTeX build leaves rfdocs.sty untouched (latexmk sees no new dependency)."""
    src = write_project(tmp_path / "src", {"index.rst": "Page\n====\n\nText 3×3.\n"},
                        'extensions.append("rfdocs.sphinxext.latex")\n')
    first = build(src, "latex")
    sty = first.outdir / f"{PACKAGE}.sty"
    stamp = sty.stat().st_mtime_ns
    assert rf"\usepackage{{{PACKAGE}}}" in first.text("rftest.tex")
    second = build(src, "latex")
    assert second.warning_lines() == [] and sty.stat().st_mtime_ns == stamp


ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}]+\})")


#: Characters rfdocs reads but never writes.
NOT_WRITTEN = {"\ufeff": "the byte-order mark, removed from the start of spec files"}


def _docstring_starts(source: str) -> set[tuple[int, int]]:
    """(line, column) of every docstring: documentation of the code, never output."""
    starts = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                starts.add((first.lineno, first.col_offset))
    return starts


def _string_characters(path: Path) -> Iterator[str]:
    """Non-ASCII characters in a Python file's string literals, written or escaped (comments
    and docstrings are not output)."""
    fstring_middle = getattr(tokenize, "FSTRING_MIDDLE", None)  # Python 3.12+
    source = path.read_text(encoding="utf-8")
    docstrings = _docstring_starts(source)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.start in docstrings:
            continue
        prefix = token.string[:len(token.string) - len(token.string.lstrip("bBrRuUfF"))].lower()
        if token.type == tokenize.STRING and "f" not in prefix:
            value = ast.literal_eval(token.string)
            yield from (c for c in (value if isinstance(value, str) else "") if ord(c) > 127)
        elif token.type in (tokenize.STRING, fstring_middle):  # an f-string: escapes by hand
            yield from (c for c in token.string if ord(c) > 127)
            if "r" not in prefix:
                for escape in ESCAPE.findall(token.string):
                    yield (unicodedata.lookup(escape[2:-1]) if escape[0] == "N"
                           else chr(int(escape[1:], 16)))


def test_every_character_rfdocs_writes_is_in_the_table() -> None:
    """Each non-ASCII character in rfdocs' strings and data files (not its HTML-only static
    files) has an entry in CHARACTERS."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "rfdocs").rglob("*")):
        if not path.is_file() or "static" in path.parts or "__pycache__" in path.parts:
            continue
        if path.suffix == ".py":
            chars = set(_string_characters(path))
        elif path.suffix in (".yaml", ".yml", ".txt", ".json", ".md"):
            chars = {c for c in path.read_text(encoding="utf-8") if ord(c) > 127}
        else:
            continue
        for char in chars:
            found.setdefault(char, path.relative_to(ROOT).as_posix())
    assert found, "the scan found nothing: it is broken"
    missing = {char: where for char, where in found.items() if char not in CHARS and char not in NOT_WRITTEN}
    assert missing == {}


def test_every_character_of_the_manual_is_typeset() -> None:
    """The manual's own PDF relies on the same table (docs/conf.py has none): each non-ASCII
    character of its pages is in CHARACTERS or one LaTeX's T1 encoding has (– —)."""
    native = "\u2013\u2014"
    found = {char: path.relative_to(ROOT).as_posix()
             for path in sorted((ROOT / "docs").rglob("*"))
             if path.suffix in (".md", ".rst", ".py") and "_build" not in path.parts
             for char in path.read_text(encoding="utf-8") if ord(char) > 127}
    assert {char: where for char, where in found.items() if char not in CHARS + native} == {}
