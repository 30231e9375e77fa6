"""LaTeX output: a small package, rfdocs.sty, that lets every LaTeX engine typeset the characters
rfdocs itself writes (the × of 5×5×3, the − of −2.1, the → of conv → pool, ...), so that a
user's PDF needs nothing of their own in ``latex_elements``.

How each engine is handled (all from the one table ``CHARACTERS``):

* pdflatex reads UTF-8 through ``inputenc`` and stops with "Unicode character ... not set up for
  use with LaTeX" for a character nobody declared.  LaTeX itself declares some (× · ÷ ² ± µ § …
  →, from the text-companion fonts) and Sphinx rewrites some more in running text (± → § ²);
  at the end of the preamble rfdocs.sty declares each character of the table that is still
  undeclared then, with ``\\DeclareUnicodeCharacter`` and a math-font fallback.  Declaring last
  and only what is missing means a project's own ``\\newunicodechar`` lines (older rfdocs
  manuals suggested them) win, without a "Redefining Unicode character" warning.
* xelatex and lualatex read Unicode and take glyphs from OpenType fonts (Sphinx's defaults,
  FreeSerif, FreeSans and FreeMono, Debian's fonts-freefont-otf, have every character of the
  table).  At the end of the preamble (before the .aux file, whose labels may hold these
  characters, is read) rfdocs.sty asks each font family the document uses (roman upright,
  italic and bold, sans upright and bold, typewriter) for each character; only a character
  some font lacks (Latin Modern, fontspec's default, has no ≈ ≤ ≥ σ) becomes an active
  character that prints the font's glyph where it has one and the math-font fallback where it
  does not, also in PDF bookmarks.  A character the project already made active (its own
  ``\\newunicodechar``) is left alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform

import rfdocs
from rfdocs.files import write_atomic

PACKAGE = "rfdocs"  # \usepackage{rfdocs}: the file rfdocs.sty in the LaTeX output folder


class Character(NamedTuple):
    char: str
    fallback: str  # LaTeX for an engine or font without the character; math fonts have them all
    use: str  # where rfdocs (or its manual) writes it


#: Every non-ASCII character in rfdocs' own strings (tests/test_latex_engines.py checks that
#: the package's source has no other), and those its manual and README use beside them.
CHARACTERS = (
    Character("\u00d7", r"\ensuremath{\times}", "dimensions 5×5×3, rf role, tables, captions"),
    Character("\u2212", r"\ensuremath{-}", "negative numbers in labels, alt text, help"),
    Character("\u2192", r"\ensuremath{\rightarrow}", "conv → activation → pool, output shapes"),
    Character("\u2026", r"\ensuremath{\ldots}", "ranges −2.1…3.4, shortened descriptions"),
    Character("\u00b7", r"\ensuremath{\cdot}", "size²·depth in kernel descriptions"),
    Character("\u2248", r"\ensuremath{\approx}", "rounded sums in step-by-step figures"),
    Character("\u00f7", r"\ensuremath{\div}", "|gradient| ÷ peak"),
    Character("\u00b2", r"\ensuremath{^{2}}", "size² in kernel descriptions"),
    Character("\u00b1", r"\ensuremath{\pm}", "±1 in option help"),
    Character("\u00b5", r"\ensuremath{\mu}", "timings (µs) in docstrings"),
    Character("\u00a7", r"\ensuremath{\S}", "§ in the sample image's licence note"),
    Character("\u03c3", r"\ensuremath{\sigma}", "the Gaussian kernel's σ"),
    Character("\u039c", r"\ensuremath{\mathrm{M}}", "µ upper-cased (chapter titles, running heads)"),
    Character("\u03a3", r"\ensuremath{\Sigma}", "σ upper-cased (chapter titles, running heads)"),
    Character("\u2264", r"\ensuremath{\leq}", "limits in the README"),
    Character("\u2265", r"\ensuremath{\geq}", "limits in the README"),
    Character("\u221a", r"\ensuremath{\surd}", "√ in the manual"),
    Character("\u2013", r"\textendash{}", "runs of steps 0–2 in rf-stack's alt text"),
)

_TEMPLATE = r"""%% rfdocs.sty, written by rfdocs @VERSION@ (rfdocs/sphinxext/latex.py) for Sphinx's
%% LaTeX output: the characters rfdocs writes, for pdflatex, xelatex and lualatex alike.
\NeedsTeXFormat{LaTeX2e}
\ProvidesPackage{rfdocs}[2026/01/01 v@VERSION@ characters rfdocs writes]
%% An rfdocs figure leaves room for its caption: Sphinx scales an image down to at most
%% \spx@image@maxheight, the whole text height, which left a tall figure's caption over the
%% page foot; within the figure (a group) the image may be the text height less #1 lines.
\newcommand\rfdocsfigurelines[1]{\ifdefined\spx@image@maxheight
  \spx@image@maxheight\dimexpr\textheight-#1\baselineskip\relax\fi}
\newif\ifrfdocs@unicode
\ifdefined\XeTeXversion\rfdocs@unicodetrue\fi
\ifdefined\directlua\rfdocs@unicodetrue\fi
%% At the end of the preamble, before the .aux file is read (labels hold these characters).
\ifdefined\AddToHook
  \def\rfdocs@atbegin{\AddToHook{begindocument/before}}
\else
  \let\rfdocs@atbegin\AtBeginDocument
\fi
\ifrfdocs@unicode
%% xelatex, lualatex: a character becomes active only when a font family in use lacks it.
\def\rfdocs@chars{%
@CHARS@}
\def\rfdocs@scan#1#2{\iffontchar\font"#1 \else
  \global\expandafter\let\csname rfdocs@lacks@#1\endcsname\@empty\fi}
\def\rfdocs@scanfont#1{\begingroup#1\let\rfdocs@c\rfdocs@scan\rfdocs@chars\endgroup}
\protected\def\rfdocs@glyph#1#2{\ifmmode#2\else\iffontchar\font#1 \char#1 \else#2\fi\fi}
\def\rfdocs@pdfstrings{}
\def\rfdocs@activate#1#2{%
  \ifnum\catcode"#1=\active\else
    \ifcsname rfdocs@lacks@#1\endcsname
      \global\catcode"#1=\active
      \begingroup\lccode`\~="#1\relax
      \lowercase{\endgroup\protected\gdef~}{\rfdocs@glyph{"#1}{#2}}%
      \g@addto@macro\rfdocs@pdfstrings{%
        \begingroup\lccode`\~="#1\relax\lowercase{\endgroup\def~}{\Uchar"#1 }}%
    \fi
  \fi}
\rfdocs@atbegin{%
  \rfdocs@scanfont{\rmfamily\mdseries\upshape}\rfdocs@scanfont{\rmfamily\mdseries\itshape}%
  \rfdocs@scanfont{\rmfamily\bfseries\upshape}\rfdocs@scanfont{\sffamily\mdseries\upshape}%
  \rfdocs@scanfont{\sffamily\bfseries\upshape}\rfdocs@scanfont{\ttfamily\mdseries\upshape}%
  \let\rfdocs@c\rfdocs@activate\rfdocs@chars
  \ifdefined\pdfstringdefDisableCommands
    \expandafter\pdfstringdefDisableCommands\expandafter{\rfdocs@pdfstrings}%
  \fi}
\else
%% pdflatex: declare, at \begin{document}, what neither LaTeX nor the document declared.
\ifdefined\DeclareUnicodeCharacter
\def\rfdocs@declare#1#2#3{%
  \@ifundefined{u8:\detokenize{#2}}{\DeclareUnicodeCharacter{#1}{#3}}{}}
\rfdocs@atbegin{%
@DECLARATIONS@}
\fi
\fi
\endinput
"""


def _hex(char: str) -> str:
    return f"{ord(char):04X}"


def package_text() -> str:
    """The text of rfdocs.sty."""
    chars = "".join(f"  \\rfdocs@c{{{_hex(c.char)}}}{{{c.fallback}}}%\n" for c in CHARACTERS)
    declarations = "".join(f"  \\rfdocs@declare{{{_hex(c.char)}}}{{{c.char}}}{{{c.fallback}}}%\n"
                           for c in CHARACTERS)
    return (_TEMPLATE.replace("@VERSION@", rfdocs.__version__).replace("@CHARS@", chars)
            .replace("@DECLARATIONS@", declarations))


def write_package(app: Sphinx) -> None:
    """builder-inited: put rfdocs.sty beside the .tex files of a LaTeX builder (rewritten only
    when its text changes, so latexmk does not see a new dependency every build)."""
    if app.builder.format != "latex":
        return
    path = Path(app.outdir) / f"{PACKAGE}.sty"
    data = package_text().encode("utf-8")
    if not path.is_file() or path.read_bytes() != data:
        write_atomic(path, data)


CAPTION_CHARS = 80  # characters of a caption line at the text width, a little under
ROOM_LINES = 3  # besides the caption's lines: the space above it and the float's separation


class LeaveRoomForCaptions(SphinxPostTransform):
    """LaTeX: an rfdocs figure with a caption asks for its image to leave the caption's lines
    free on the page (counted from its text, generously)."""

    default_priority = 60
    formats = ("latex",)

    def run(self, **kwargs: Any) -> None:
        for figure in list(self.document.findall(nodes.figure)):
            if "rfdocs" not in figure.get("classes", []):
                continue
            captions = [c for c in figure.children if isinstance(c, nodes.caption)]
            if not captions:
                continue
            text = captions[0].astext()
            lines = -(-(len(text) + len("Fig. 10.10: ")) // CAPTION_CHARS) + ROOM_LINES
            figure.insert(0, nodes.raw("", f"\\rfdocsfigurelines{{{lines}}}\n",
                                       format="latex"))


def setup_latex(app: Sphinx) -> None:
    if app.registry.has_latex_package(PACKAGE):
        return  # done already: rfdocs and this module both listed in ``extensions``
    app.add_latex_package(PACKAGE)
    app.connect("builder-inited", write_package)
    app.add_post_transform(LeaveRoomForCaptions)


def setup(app: Sphinx) -> dict[str, Any]:
    """Lets a project (or a test) list this module in ``extensions`` on its own (``rfdocs``
    itself calls ``setup_latex``)."""
    setup_latex(app)
    return {"version": rfdocs.__version__, "parallel_read_safe": True,
            "parallel_write_safe": True}
