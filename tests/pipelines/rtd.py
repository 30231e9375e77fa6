"""Run exactly the commands Read the Docs runs for a Sphinx project, then check every output.

Read the Docs (readthedocs.org, ``readthedocs/doc_builder/backends/sphinx.py`` and
``director.py``) builds, from the folder holding ``conf.py`` and sharing ONE doctrees folder:

1. html:  python -m sphinx -T [-W --keep-going] -b html -d _build/doctrees -D language=en . $OUT/html
2. htmlzip (if asked): the same with -b singlehtml into $OUT/htmlzip
3. pdf:   python -m sphinx -T -b latex -d _build/doctrees -D language=en . $OUT/pdf   (never -W)
          then, in $OUT/pdf: extractbb on every PNG/GIF/JPEG there, and
          latexmk -r latexmkrc -pdf -f -dvi- -ps- -jobname=<project slug> -interaction=nonstopmode
4. epub:  python -m sphinx -T [-W --keep-going] -b epub -d _build/doctrees -D language=en . $OUT/epub

``$OUT`` is ``<checkout>/_readthedocs``. The repository mode copies the files git knows (tracked,
and untracked ones not ignored) into a scratch checkout, as a fresh clone would hold them, reads
``.readthedocs.yaml`` there, and leaves the user's own ``docs/_build`` alone. After each step the
output is checked (tests/pipelines/checks.py); warnings of the LaTeX step, which Read the Docs
would let pass, count as problems too. Exit status 1 on any problem.

    python -m tests.pipelines.rtd --repo . --scratch build/rtd --slug rfdocs
    python -m tests.pipelines.rtd --docs SITE --output OUT --slug demo --formats pdf,epub -W
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.pipelines import checks

DOCTREES = "_build/doctrees"


def sphinx(builder: str, out: Path, *, fail_on_warning: bool, language: str) -> list[str]:
    """The sphinx-build command line of one Read the Docs builder (cwd: the conf.py folder)."""
    strict = ["-W", "--keep-going"] if fail_on_warning else []
    return [sys.executable, "-m", "sphinx", "-T", *strict, "-b", builder, "-d", DOCTREES,
            "-D", f"language={language}", ".", str(out)]


class Runner:
    """Runs commands, logs their output to files, gathers problems."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.problems: list[str] = []
        logs.mkdir(parents=True, exist_ok=True)

    def run(self, name: str, cmd: list[str], cwd: Path) -> tuple[int, str]:
        shown = " ".join(["python" if c == sys.executable else c for c in cmd])
        print(f"rtd: [{name}] (cd {cwd} && {shown})", flush=True)
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, text=True, errors="replace")
        log = self.logs / f"{name}.log"
        log.write_text(proc.stdout, encoding="utf-8")
        print(f"rtd: [{name}] exit {proc.returncode} in {time.perf_counter() - start:.1f} s "
              f"(output in {log})", flush=True)
        return proc.returncode, proc.stdout

    def fail(self, name: str, output: str, why: str) -> None:
        """A failed command: its warnings, or else the end of its output."""
        shown = warnings_of(output)[:20] or output.splitlines()[-20:]
        self.problems.append(f"[{name}] {why}:\n" + "\n".join("    " + line for line in shown))

    def check(self, name: str, found: checks.Found) -> set[str]:
        for problem in found.problems:
            self.problems.append(f"[{name}] {problem}")
        print(f"rtd: [{name}] {len(found.images)} figure image(s) checked, "
              f"{len(found.problems)} problem(s)", flush=True)
        return found.images


def warnings_of(output: str) -> list[str]:
    return [line for line in output.splitlines() if "WARNING:" in line or "ERROR:" in line]


def build(docs: Path, out: Path, *, slug: str, formats: list[str], fail_on_warning: bool,
          language: str, logs: Path) -> list[str]:
    """Read the Docs' builds of the project whose conf.py is in ``docs``; the problems found."""
    runner = Runner(logs)
    figures: list[tuple[str, set[str]]] = []

    def sphinx_step(name: str, builder: str, outdir: Path, strict: bool) -> tuple[int, str]:
        """One sphinx-build as Read the Docs runs it; a non-zero exit is a problem."""
        code, output = runner.run(name, sphinx(builder, outdir, fail_on_warning=strict,
                                               language=language), docs)
        if code:
            runner.fail(name, output, f"sphinx exited with {code}")
        return code, output

    sphinx_step("html", "html", out / "html", fail_on_warning)
    figures.append(("html", runner.check("html", checks.check_html(out / "html"))))

    if "htmlzip" in formats:
        sphinx_step("htmlzip", "singlehtml", out / "htmlzip", fail_on_warning)
        figures.append(("htmlzip", runner.check("htmlzip", checks.check_html(out / "htmlzip"))))

    if "pdf" in formats:
        pdf = out / "pdf"
        code, output = sphinx_step("latex", "latex", pdf, False)
        if not code and (warned := warnings_of(output)):
            runner.problems += [f"[latex] {w}" for w in warned]
            runner.problems.append("[latex] the warnings above: Read the Docs runs this step "
                                   "without -W, so it would publish the PDF anyway")
        figures.append(("latex", runner.check("latex", checks.check_latex(pdf))))
        if shutil.which("latexmk") is None:
            print("rtd: [pdf] SKIPPED: latexmk is not installed (`make tex` installs TeX Live "
                  "where it can); the PDF was not compiled", flush=True)
        else:
            if shutil.which("extractbb"):
                for image in sorted(p for ext in ("png", "gif", "jpg", "jpeg")
                                    for p in pdf.glob(f"*.{ext}")):
                    runner.run(f"extractbb-{image.name}", ["extractbb", image.name], pdf)
            code, output = runner.run("pdf", ["latexmk", "-r", "latexmkrc", "-pdf", "-f", "-dvi-",
                                              "-ps-", f"-jobname={slug}", "-interaction=nonstopmode"],
                                      pdf)
            # Read the Docs counts the step as passed when LaTeX wrote a file, whatever the code.
            if code and "Output written on" not in output:
                runner.fail("pdf", output, f"latexmk exited with {code} and wrote no PDF")
            figures.append(("pdf", runner.check("pdf", checks.check_pdf(pdf, slug))))

    if "epub" in formats:
        sphinx_step("epub", "epub", out / "epub", fail_on_warning)
        books = sorted((out / "epub").glob("*.epub"))
        if len(books) != 1:
            runner.problems.append(f"[epub] expected one .epub in {out / 'epub'}, found {len(books)}")
        else:
            figures.append(("epub", runner.check("epub", checks.check_epub(books[0]))))

    runner.problems += [f"[all] {p}" for p in checks.compare(figures)]
    if not any(images for _, images in figures):
        runner.problems.append("[all] no figure image in any output")
    return runner.problems


def copy_checkout(repo: Path, dest: Path) -> None:
    """The files a fresh clone would have (plus untracked, not ignored ones) copied to ``dest``."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=repo, check=True, stdout=subprocess.PIPE).stdout
    for rel in sorted(set(listed.decode().split("\0")) - {""}):
        source = repo / rel
        if source.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / rel)


def read_config(checkout: Path) -> tuple[Path, bool, list[str]]:
    """(conf.py folder, fail_on_warning, formats) from the checkout's .readthedocs.yaml."""
    import yaml  # rfdocs depends on PyYAML, so every rfdocs environment has it

    config = yaml.safe_load((checkout / ".readthedocs.yaml").read_text(encoding="utf-8"))
    build_section = config.get("build", {})
    if "commands" in build_section or "build" in build_section.get("jobs", {}):
        raise SystemExit("rtd: .readthedocs.yaml overrides the build commands; not mirrored here")
    sphinx_section = config.get("sphinx", {})
    conf = checkout / sphinx_section.get("configuration", "docs/conf.py")
    formats = config.get("formats", [])
    formats = ["htmlzip", "pdf", "epub"] if formats == "all" else list(formats)
    return conf.parent, bool(sphinx_section.get("fail_on_warning", False)), formats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, help="repository with .readthedocs.yaml to copy and build")
    parser.add_argument("--scratch", type=Path, default=Path("build/rtd"))
    parser.add_argument("--docs", type=Path, help="build this conf.py folder in place instead")
    parser.add_argument("--output", type=Path, help="with --docs: the output folder ($READTHEDOCS_OUTPUT)")
    parser.add_argument("--formats", default="pdf,epub", help="with --docs: extra formats")
    parser.add_argument("-W", dest="fail_on_warning", action="store_true",
                        help="with --docs: fail_on_warning: true")
    parser.add_argument("--slug", default="rfdocs", help="the Read the Docs project slug (PDF name)")
    parser.add_argument("--language", default="en")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    if args.repo:
        scratch = args.scratch.resolve()
        shutil.rmtree(scratch, ignore_errors=True)
        checkout = scratch / "checkout"
        copy_checkout(args.repo.resolve(), checkout)
        docs, fail_on_warning, formats = read_config(checkout)
        out, logs = checkout / "_readthedocs", scratch / "logs"
    elif args.docs and args.output:
        docs, out = args.docs.resolve(), args.output.resolve()
        fail_on_warning = args.fail_on_warning
        formats = [f for f in args.formats.split(",") if f]
        shutil.rmtree(docs / DOCTREES, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
        logs = out / "logs"
    else:
        parser.error("give --repo, or --docs and --output")
    problems = build(docs, out, slug=args.slug, formats=formats, fail_on_warning=fail_on_warning,
                     language=args.language, logs=logs)
    took = time.perf_counter() - start
    if problems:
        print(f"rtd: FAILED ({len(problems)} problem(s), {took:.0f} s):")
        for problem in problems:
            print("  " + problem)
        return 1
    print(f"rtd: Read the Docs' builds ({', '.join(['html', *formats])}) passed every check "
          f"in {took:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
