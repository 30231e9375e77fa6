# rfdocs: `make html` builds the site, `make test` runs every test. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPHINXOPTS ?= -W --keep-going

.PHONY: html test clean bench figures pdf latex epub fuzz venv docs-check browser

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,docs]'
	touch $(STAMP)

html: $(STAMP)
	$(BIN)/sphinx-build -b html $(SPHINXOPTS) -d docs/_build/doctrees/html docs docs/_build/html

latex: $(STAMP)
	$(BIN)/sphinx-build -b latex $(SPHINXOPTS) -d docs/_build/doctrees/latex docs docs/_build/latex

epub: $(STAMP)
	$(BIN)/sphinx-build -b epub $(SPHINXOPTS) -d docs/_build/doctrees/epub docs docs/_build/epub

pdf: latex
	cd docs/_build/latex && latexmk -pdf -interaction=nonstopmode -halt-on-error rfdocs.tex

test: $(STAMP) browser
	$(BIN)/ruff check rfdocs tests
	$(BIN)/mypy
	$(MAKE) --no-print-directory docs-check
	$(BIN)/python -m pytest

# Headless Chromium for the explorer's browser test: installed where we can (root with apt),
# else the test skips and says why.
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; } || \
	  echo "rfdocs: chromium not installed; the browser test will be skipped"

# The builds Read the Docs runs, warnings as errors, into a scratch folder.
docs-check: $(STAMP)
	rm -rf build/docs-check
	$(BIN)/sphinx-build -b html -W --keep-going -q -d build/docs-check/doctrees/html docs build/docs-check/html
	$(BIN)/sphinx-build -b latex -W --keep-going -q -d build/docs-check/doctrees/latex docs build/docs-check/latex
	$(BIN)/sphinx-build -b epub -W --keep-going -q -d build/docs-check/doctrees/epub docs build/docs-check/epub

figures: $(STAMP)
	$(BIN)/python -m rfdocs.cli render-all figures

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

fuzz: $(STAMP)
	RFDOCS_FUZZ=long $(BIN)/python -m pytest tests -k fuzz

clean:
	rm -rf docs/_build build .pytest_cache .mypy_cache .ruff_cache
