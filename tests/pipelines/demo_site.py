"""A small Markdown page using every kind of output rfdocs makes: a still figure, an animated
one (rf-steps is a GIF in HTML), a table and the role. Used by the quickstart test and by the
lowest/newest-versions builds."""

from __future__ import annotations

from pathlib import Path

PAGE = """\
# Demo

```{rf-network} tiny
input 20x20x3
conv1: conv 3x3 x8
pool1: maxpool 2 /2
conv2: conv 3x3 x8
```

The last layer of `tiny` sees {rf}`tiny:conv2:rf` pixels; VGG-16's output sees
{rf}`vgg16:pool5:rf`.

```{rf-block}
:network: tiny
:caption: Blocks of a tiny network.
:name: fig-demo-block
```

```{rf-growth}
:network: tiny
:caption: The field, layer by layer.
:name: fig-demo-growth
```

```{rf-steps}
:input: 4x4
:kernel: [[1,0],[0,1]]
:caption: A convolution step by step (an animation in HTML).
:name: fig-demo-steps
```

```{rf-steps}
:input: 3x3
:kernel: [[1,2],[3,4]]
:stride: 2
:transposed:
:static:
:caption: A transposed convolution, as a static strip.
:name: fig-demo-steps-static
```

```{rf-table}
:network: tiny
:caption: Every layer of the tiny network.
:name: tab-demo
```

See {numref}`fig-demo-block` and {numref}`tab-demo`.
"""

#: Figures on the page, so the checks know how many images each output must hold.
FIGURES = 4

CONF = """\
project = "Demo"
author = "Demo"
copyright = "2026, Demo"
version = release = "1.0"
extensions = ["myst_parser", "rfdocs"]
numfig = True
exclude_patterns = ["_build"]
"""

INDEX = """\
Demo
====

.. toctree::

   demo
"""


def write(srcdir: Path) -> Path:
    """A complete small project (conf.py, index.rst, demo.md) in ``srcdir``."""
    srcdir.mkdir(parents=True, exist_ok=True)
    (srcdir / "conf.py").write_text(CONF, encoding="utf-8")
    (srcdir / "index.rst").write_text(INDEX, encoding="utf-8")
    (srcdir / "demo.md").write_text(PAGE, encoding="utf-8")
    return srcdir


if __name__ == "__main__":
    import sys

    print(write(Path(sys.argv[1])))
