"""The same page written in reST and in MyST (backtick and colon fences) reads to the same
doctree: rfdocs directives and the role do not depend on the parser."""

from __future__ import annotations

import pytest

from tests.sphinx_util import Built, build, normalised, write_project

RST = """\
Title
=====

.. rf-block::
   :caption: A *small* block.
   :name: fig-small
   :width: 80%
   :align: center

   input 20x20x3
   conv 3x3 /1 x8

.. rf-table::
   :caption: Layers.
   :name: tab-layers

   input 20x20x3
   c1: conv 3x3 /1 x8

The output field of VGG-16 is :rf:`vgg16:pool5:rf` wide.
"""

MD_BACKTICKS = """\
# Title

```{rf-block}
:caption: A *small* block.
:name: fig-small
:width: 80%
:align: center

input 20x20x3
conv 3x3 /1 x8
```

```{rf-table}
:caption: Layers.
:name: tab-layers

input 20x20x3
c1: conv 3x3 /1 x8
```

The output field of VGG-16 is {rf}`vgg16:pool5:rf` wide.
"""

MD_COLONS = """\
# Title

:::{rf-block}
:caption: A *small* block.
:name: fig-small
:width: 80%
:align: center

input 20x20x3
conv 3x3 /1 x8
:::

:::{rf-table}
---
caption: Layers.
name: tab-layers
---
input 20x20x3
c1: conv 3x3 /1 x8
:::

The output field of VGG-16 is {rf}`vgg16:pool5:rf` wide.
"""

PAGES = {"rst": ("index.rst", RST), "md-backticks": ("index.md", MD_BACKTICKS),
         "md-colons": ("index.md", MD_COLONS)}


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    root = tmp_path_factory.mktemp("myst")
    cache = root / "cache"  # shared, so every project names the same figure files
    out = {}
    for flavour, (name, text) in PAGES.items():
        src = write_project(root / flavour / "src", {name: text})
        out[flavour] = build(src, "html", warningiserror=True,
                             confoverrides={"rfdocs_cache_dir": str(cache)})
    return out


def test_every_flavour_builds_cleanly(builds: dict[str, Built]) -> None:
    for built in builds.values():
        assert built.statuscode == 0
        assert built.warning_lines() == []
    assert len(builds["rst"].rendered_lines()) == 1
    assert builds["md-backticks"].rendered_lines() == []  # same figure, from the shared cache


@pytest.mark.parametrize("flavour", ["md-backticks", "md-colons"])
def test_myst_doctree_equals_rest(builds: dict[str, Built], flavour: str) -> None:
    # Candidates are what Sphinx's image collector found on disk when the page was read (the
    # first build found an empty cache); the files come when the page is written.
    rst = normalised(builds["rst"].doctree("index"), drop=("source", "candidates"))
    md = normalised(builds[flavour].doctree("index"), drop=("source", "candidates"))
    assert "<figure" in rst and "<table" in rst and "212×212" in rst
    assert md == rst


def test_caption_and_name_reach_the_figure(builds: dict[str, Built]) -> None:
    tree = normalised(builds["rst"].doctree("index"))
    assert 'ids="fig-small"' in tree and 'ids="tab-layers"' in tree
    assert "<emphasis>" in tree  # the caption was parsed as inline markup
    assert 'width="80%"' in tree and 'align="center"' in tree


def test_html_is_the_same(builds: dict[str, Built]) -> None:
    def body(built: Built) -> str:
        html = built.text("index.html")
        return html[html.index('<section id="title">'):html.index("</section>")]

    assert body(builds["md-backticks"]) == body(builds["rst"])
    assert body(builds["md-colons"]) == body(builds["rst"])

