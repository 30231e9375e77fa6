"""Bad input in a page: exactly one warning, at the page's file and the right line (reST and MyST
alike), typed ``rfdocs.<subtype>``; an error box in the page; the rest of the page still builds."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from rfdocs.sphinxext.errors import RfdocsError
from tests.sphinx_util import Built, build, line_of, write_project

OUTSIDE_SPEC = "input 20x20x3\nconv 3x3 /1 x8\n"
BAD_SPEC_FILE = "input 20x20x3\nconv 3x3 /1 x8\nconv 3x3 /0 x8\n"


@dataclass(frozen=True)
class Case:
    """One bad input: a directive (or, with ``role``, a paragraph using the role)."""

    name: str
    subtype: str
    message: str  # a fragment the warning must contain
    directive: str = ""
    argument: str = ""
    options: tuple[tuple[str, str], ...] = ()
    body: tuple[str, ...] = ()
    role: str = ""  # the role's text, e.g. "vgg16:nolayer:rf"
    at: str = "directive"  # where the warning points: "directive", "role" or a body line
    extra_files: dict[str, str] = field(default_factory=dict)


CASES = (
    Case("unknown-option", "option", "unknown option :colour:", "rf-block",
         options=(("colour", "red"),)),
    Case("bad-align", "option", ":align:", "rf-block", options=(("align", "middle"),)),
    Case("bad-kind-option", "option", ":neuron:", "rf-block", options=(("neuron", "abc"),)),
    Case("bad-layer", "spec", "stride", "rf-block",
         body=("input 20x20x3", "conv 3x3 /1 x8", "conv 3x3 /0 x8  # BAD"), at="# BAD"),
    Case("impossible-shape-table", "spec", "impossible shape", "rf-table",
         body=("input 4x4x3", "conv 3x3 /1 x8", "conv 7x7 /1 x8  # BAD"), at="# BAD"),
    Case("impossible-shape-figure", "spec", "impossible shape", "rf-block",
         body=("input 4x4x3", "conv 3x3 /1 x8", "conv 7x7 /1 x8  # BAD"), at="# BAD"),
    Case("missing-spec", "file", "missing.yaml", "rf-table", options=(("spec", "nets/missing.yaml"),)),
    Case("spec-escapes", "path", "outside the source directory", "rf-table",
         options=(("spec", "../outside.yaml"),)),
    Case("spec-absolute", "path", "absolute", "rf-table", options=(("spec", "{outside}"),)),
    Case("spec-symlink", "path", "outside the source directory", "rf-table",
         options=(("spec", "nets/link.yaml"),)),
    Case("bad-spec-file", "spec", "in nets/bad.yaml, line 3: layer 'conv2'", "rf-table",
         options=(("spec", "nets/bad.yaml"),),
         extra_files={"nets/bad.yaml": BAD_SPEC_FILE}),
    Case("unknown-model", "network", "nosuchnet", "rf-block", options=(("model", "nosuchnet"),)),
    Case("unknown-network", "network", "nosuch", "rf-table", options=(("network", "nosuch"),)),
    Case("two-sources", "network", "give the network once", "rf-table",
         options=(("model", "vgg16"),), body=("input 8x8x1", "conv 3x3 /1 x2")),
    Case("table-without-network", "network", "needs a network", "rf-table"),
    Case("bad-network-name", "option", "must be a word", "rf-network", argument="bad name!",
         body=("input 8x8x1", "conv 3x3 /1 x2")),
    Case("role-unknown-source", "role", "nope", role="nope:pool5:rf", at="role"),
    Case("role-unknown-layer", "role", "no layer 'nolayer'", role="vgg16:nolayer:rf", at="role"),
    Case("role-bad-syntax", "role", "SOURCE:LAYER:FIELD", role="just-text", at="role"),
    Case("role-bad-field", "role", "field 'colour'", role="vgg16:pool5:colour", at="role"),
)

SENTINEL = "After the problem."
GOOD_TABLE = ("input 8x8x1", "ok: conv 3x3 /1 x2")  # its output, 6×6×2, shows the page went on


def _directive(flavour: str, name: str, argument: str, options: tuple[tuple[str, str], ...],
               body: tuple[str, ...]) -> str:
    if flavour == "rst":
        lines = [f".. {name}:: {argument}".rstrip(), *(f"   :{k}: {v}" for k, v in options)]
        if body:
            lines += ["", *(f"   {b}" for b in body)]
        return "\n".join(lines) + "\n"
    lines = [f"```{{{name}}} {argument}".rstrip(), *(f":{k}: {v}" for k, v in options)]
    if body:
        lines += ["", *body] if options else list(body)
    return "\n".join([*lines, "```"]) + "\n"


def page(case: Case, flavour: str, outside: Path) -> str:
    if flavour == "rst":
        title, role = "Problem\n=======\n", f"The value :rf:`{case.role}` should be here."
    else:
        title, role = "# Problem\n", f"The value {{rf}}`{case.role}` should be here."
    if case.role:
        problem = role + "\n"
    else:
        options = tuple((k, v.format(outside=outside)) for k, v in case.options)
        problem = _directive(flavour, case.directive, case.argument, options, case.body)
    good = _directive(flavour, "rf-table", "", (), GOOD_TABLE)
    return f"{title}\nBefore the problem.\n\n{problem}\n{SENTINEL}\n\n{good}"


def expected_line(case: Case, text: str) -> int:
    if case.at == "directive":  # the first directive on the page is the bad one
        return next(i for i, line in enumerate(text.splitlines(), 1) if case.directive in line)
    if case.at == "role":
        return line_of(text, case.role)
    return line_of(text, case.at)


@dataclass
class ErrorProject:
    built: Built
    pages: dict[str, str]  # file name -> text


def _write(root: Path, flavour: str) -> tuple[Path, dict[str, str]]:
    outside = root / "outside.yaml"
    outside.write_text(OUTSIDE_SPEC, encoding="utf-8")
    suffix = ".rst" if flavour == "rst" else ".md"
    pages = {f"{case.name}{suffix}": page(case, flavour, outside) for case in CASES}
    src = write_project(root / "src", pages)
    (src / "nets").mkdir(exist_ok=True)
    for case in CASES:
        for name, content in case.extra_files.items():
            (src / name).write_text(content, encoding="utf-8")
    (src / "nets" / "link.yaml").symlink_to(outside)
    return src, pages


@pytest.fixture(scope="module", params=["rst", "md"])
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> ErrorProject:
    flavour = request.param
    src, pages = _write(tmp_path_factory.mktemp(f"errors-{flavour}"), flavour)
    return ErrorProject(build(src, "html"), pages)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_one_located_typed_warning(project: ErrorProject, case: Case) -> None:
    built = project.built
    assert built.statuscode == 0
    (file_name, text), = ((n, t) for n, t in project.pages.items() if n.startswith(case.name + "."))
    warnings = [w for w in built.parsed_warnings() if Path(w["location"]).name == file_name]
    assert len(warnings) == 1, built.warnings
    warning = warnings[0]
    assert warning["type"] == f"rfdocs.{case.subtype}", warning
    assert case.message in warning["message"], warning
    assert int(warning["line"]) == expected_line(case, text), (warning, text)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_error_box_and_rest_of_page(project: ErrorProject, case: Case) -> None:
    html = project.built.text(f"{case.name}.html")
    body = html[html.index("Before the problem."):]
    assert re.search(r'class="[^"]*rfdocs-error', body)
    assert SENTINEL in body
    assert "6×6×2" in body  # the good table after the problem was built
    if case.role:
        assert "should be here." in body


def test_no_warning_outside_the_cases(project: ErrorProject) -> None:
    assert len(project.built.warning_lines()) == len(CASES), project.built.warnings


def test_role_error_stays_inline(project: ErrorProject) -> None:
    """A bad role marks the text in its paragraph, it does not put a block inside it."""
    html = project.built.text("role-unknown-source.html")
    paragraph = re.search(r"<p>The value (.*?)should be here\.</p>", html, re.S)
    assert paragraph, html
    assert "<div" not in paragraph.group(1) and "<p" not in paragraph.group(1)
    assert "rfdocs-error" in paragraph.group(1)


# ---------------------------------------------------------------------------------- policies

ONE_BAD = {"index.rst": "Index\n=====\n\n.. toctree::\n\n   bad\n   good\n",
           "bad.rst": "Bad\n===\n\n.. rf-table::\n   :colour: red\n\n   input 8x8x1\n\n"
                      "The value :rf:`vgg16:nolayer:rf` should be here.\n",
           "good.rst": "Good\n====\n\nFine.\n"}


def test_warnings_as_errors_fail_the_build(tmp_path: Path) -> None:
    built = build(write_project(tmp_path / "src", ONE_BAD), "html", warningiserror=True)
    assert built.statuscode != 0
    assert len(built.parsed_warnings()) == 2


def test_raise_stops_at_the_first_problem(tmp_path: Path) -> None:
    src = write_project(tmp_path / "src", ONE_BAD)
    with pytest.raises(RfdocsError) as caught:
        build(src, "html", confoverrides={"rfdocs_on_error": "raise"})
    message = str(caught.value)
    assert "bad.rst:4" in message and "unknown option :colour:" in message
    assert "nolayer" not in message


def test_suppress_warnings_by_subtype(tmp_path: Path) -> None:
    src = write_project(tmp_path / "src", ONE_BAD)
    built = build(src, "html", confoverrides={"suppress_warnings": ["rfdocs.option"]})
    types = [w["type"] for w in built.parsed_warnings()]
    assert types == ["rfdocs.role"]
    assert "rfdocs-error" in built.text("bad.html")  # the page still shows the problem


def test_suppress_all_rfdocs_warnings(tmp_path: Path) -> None:
    src = write_project(tmp_path / "src", ONE_BAD)
    built = build(src, "html", warningiserror=True, confoverrides={"suppress_warnings": ["rfdocs"]})
    assert built.warning_lines() == []
    assert built.statuscode == 0


@pytest.mark.parametrize("builder", ["text", "latex"])
def test_problems_build_in_other_builders(tmp_path: Path, builder: str) -> None:
    built = build(write_project(tmp_path / "src", ONE_BAD), builder)
    assert built.statuscode == 0
    assert len(built.parsed_warnings()) == 2
    out = "\n".join(data.decode() for name, data in built.files().items()
                    if name.endswith((".txt", ".tex")))
    assert "vgg16:nolayer:rf" in out and "should be here." in out


def test_parallel_build_reports_the_same_warnings(project: ErrorProject, tmp_path: Path) -> None:
    serial = project.built
    parallel = build(serial.srcdir, "html", outdir=tmp_path / "html", parallel=2)
    assert sorted(parallel.warning_lines()) == sorted(serial.warning_lines())
