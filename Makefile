# rfdocs: `make html` builds the site, `make test` runs every test. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPHINXOPTS ?= -W --keep-going

.PHONY: html test clean bench bench-readme figures pdf latex epub fuzz venv docs-check rtd browser tex mystmd \
	test-lowest test-newest

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,docs]'
	touch $(STAMP)

# One doctrees folder for every builder, as sphinx-quickstart's Makefile and Read the Docs have it.
html: $(STAMP)
	$(BIN)/sphinx-build -b html $(SPHINXOPTS) -d docs/_build/doctrees docs docs/_build/html

latex: $(STAMP)
	$(BIN)/sphinx-build -b latex $(SPHINXOPTS) -d docs/_build/doctrees docs docs/_build/latex

epub: $(STAMP)
	$(BIN)/sphinx-build -b epub $(SPHINXOPTS) -d docs/_build/doctrees docs docs/_build/epub

pdf: latex
	cd docs/_build/latex && latexmk -pdf -interaction=nonstopmode -halt-on-error rfdocs.tex

test: $(STAMP) browser tex mystmd
	$(BIN)/ruff check rfdocs tests
	$(BIN)/mypy
	$(MAKE) --no-print-directory rtd
	$(BIN)/python -m pytest

# Headless Chromium for the explorer's browser test: installed where we can (root with apt),
# else the test skips and says why.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } || \
	  echo "rfdocs: chromium not installed; the browser test will be skipped"

# mystmd (MyST-MD, Jupyter Book 2's engine) from the npm registry at the version tests/mystmd pins,
# for tests/test_mystmd.py; without npm that test skips and says why.
mystmd:
	@if command -v npm >/dev/null; then \
	  test -x tests/mystmd/node_modules/.bin/myst && \
	    [ tests/mystmd/node_modules/.package-lock.json -nt tests/mystmd/package-lock.json ] || \
	    (cd tests/mystmd && npm ci --no-audit --no-fund --loglevel=error); \
	else echo "rfdocs: npm not found; the mystmd test will be skipped"; fi

# TeX Live (pdflatex, xelatex, lualatex, latexmk, the fonts Sphinx uses) and poppler-utils for the
# PDF steps: installed where we can (root with apt), else those steps skip and say why.
TEX_PACKAGES := latexmk texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended \
	texlive-plain-generic texlive-pictures tex-gyre lmodern texlive-xetex texlive-luatex \
	fonts-freefont-otf xindy poppler-utils
tex:
	@missing=""; for tool in latexmk pdflatex xelatex lualatex extractbb pdftotext pdftoppm; do \
	  command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u 2>/dev/null)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "rfdocs: installing TeX Live and poppler-utils (missing:$$missing)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $(TEX_PACKAGES) >/dev/null && exit 0; \
	fi; \
	echo "rfdocs: not installed:$$missing (installing needs root and apt-get); the PDF steps will be skipped"

# Exactly the commands Read the Docs runs (.readthedocs.yaml: html, then latex and latexmk for the
# PDF, then epub, all sharing docs/_build/doctrees), in a scratch copy of the checkout under
# build/rtd, each output checked: every image exists and is real, every builder has every figure.
rtd: $(STAMP)
	$(BIN)/python -m tests.pipelines.rtd --repo . --scratch build/rtd --slug rfdocs

docs-check: rtd

# A small site built as Read the Docs would, with the lowest versions pyproject.toml declares
# (build/venv-lowest, reused while the declared dependencies are unchanged), or the newest releases.
test-lowest test-newest: test-%: $(STAMP) tex
	$(BIN)/python -m tests.pipelines.versions $* build/venv-$*
	rm -rf build/$*
	build/venv-$*/bin/python -m tests.pipelines.demo_site build/$*/site
	build/venv-$*/bin/python -m tests.pipelines.rtd --docs build/$*/site --output build/$*/out --slug demo -W

figures: $(STAMP)
	$(BIN)/python -m rfdocs.cli render-all figures

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

bench-readme: $(STAMP)
	$(BIN)/python -m benchmarks.readme

fuzz: $(STAMP)
	RFDOCS_FUZZ=long $(BIN)/python -m pytest tests -k fuzz

clean:
	rm -rf docs/_build build .pytest_cache .mypy_cache .ruff_cache
