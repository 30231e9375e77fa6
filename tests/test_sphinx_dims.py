"""Pages about sequences and volumes: a 1-D page (MyST) with rf-network, rf-stack, rf-table and
the role builds in HTML and LaTeX; a 3-D page's table reads the analysis; a kind that does not
draw the network's dimension warns once, at its line, naming the kind and the dimension."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from rfdocs.compute import analyze, parse_spec
from tests.sphinx_util import build, line_of, write_project

WAVENET = "\n".join(["input 64x1", *(f"d{2 ** i}: conv 2 x16 dil {2 ** i} causal"
                                      for i in range(5))])

SEQUENCE = f"""# Time

```{{rf-network}} wave
{WAVENET}
```

```{{rf-stack}}
:network: wave
:caption: The dilated stack.
:name: fig-stack
```

```{{rf-table}}
:network: wave
```

```{{rf-block}}
:network: wave
```
"""

VOLUME = """Volume
======

.. rf-network:: clip

   input 8x16x16x3
   c1: conv 3 /1 x8 pad 1
   p1: maxpool 1x2x2 /1x2x2
   c2: conv 3 /2 x16 pad 1

.. rf-table::
   :network: clip

.. rf-explorer::
   :network: clip

.. rf-block::
   :network: clip
"""


def test_sequence_and_volume_pages(tmp_path: Path) -> None:
    src = write_project(tmp_path / "src", {"time.md": SEQUENCE, "volume.rst": VOLUME},
                        "numfig = True\n")
    built = build(src)
    warnings = built.parsed_warnings()
    # a kind that does not draw a dimension refuses, once, at its own line, naming kind,
    # dimension and input; rf-explorer on a volume gives its numbers instead (no warning)
    assert len(warnings) == 1, built.warnings
    block1 = warnings[0]
    assert Path(block1["location"]).name == "time.md"
    assert int(block1["line"]) == line_of(SEQUENCE, "{rf-block}")
    assert block1["message"].startswith("rf-block: draws 2-D or 3-D networks (images and volumes)")
    assert "this network is 1-D (a sequence), input 64×1" in block1["message"]
    assert block1["type"] == "rfdocs.dimension"

    html = built.text("time.html")
    images = re.findall(r'<img [^>]*?alt="([^"]+)"[^>]*?src="([^"]+)"', html)
    stack = [(alt, src) for alt, src in images if "stack" in src or "Stack" in alt]
    assert len(stack) == 2 and all(src.endswith(".svg") for _, src in stack)
    alt = unescape(stack[0][0])
    assert "unit 63 of d16 has a receptive field of 32 input steps, 32–63" in alt
    # the table's numbers are the analysis', one per spatial axis
    net = parse_spec(WAVENET)
    out = analyze(net).output
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)
    last = [unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", rows[-1], re.S)]
    assert last[:4] == ["d16", "conv", "64×16", str(out.rf[0])]

    volume = built.text("volume.html")
    blocks = re.findall(r'<img [^>]*?alt="([^"]+)"[^>]*?src="([^"]*block[^"]+)"', volume)
    assert blocks and "receptive field" in unescape(blocks[0][0])  # the volume's block is drawn
    # the volume's explorer: no script data, a sentence with the centre unit's field from the
    # analysis, then the growth slices and the table in its figure
    figure = volume.split('rfdocs-explorer-figure')[1].split("block-")[0]  # up to rf-block
    assert 'class="rfx-data"' not in figure and "rfdocs-explorer.js" not in volume
    c2info = analyze(parse_spec(VOLUME.split("clip\n\n")[1].split("\n\n")[0].replace("   ", ""))
                     )["c2"]
    centre = tuple(n // 2 for n in c2info.spatial)
    box = c2info.box(*centre)
    said = unescape(re.sub(r"<[^>]+>", "", figure))
    assert (f"Unit ({', '.join(map(str, centre))}) of c2 sees {'×'.join(map(str, c2info.rf))} "
            "input units (depths, rows, columns "
            + ", ".join(f"{lo}–{hi}" for lo, hi in box) + ") of the 8×16×16 input.") in said
    assert "_images/growth-" in figure and "<table" in figure
    vrows = re.findall(r"<tr[^>]*>(.*?)</tr>", volume, re.S)
    c2 = [unescape(re.sub(r"<[^>]+>", "", c)).strip()
          for c in re.findall(r"<td[^>]*>(.*?)</td>", vrows[-1], re.S)]
    info = analyze(parse_spec(VOLUME.split("clip\n\n")[1].split("\n\n")[0].replace("   ", "")
                              )).output
    assert c2[:5] == ["c2", "conv", "×".join(map(str, info.shape)),
                      "×".join(map(str, info.rf)), "2×4×4"]


def test_sequence_page_in_latex(tmp_path: Path) -> None:
    page = SEQUENCE.split("```{rf-block}")[0]
    built = build(write_project(tmp_path / "src", {"time.md": page}), "latex",
                  warningiserror=True)
    assert built.warning_lines() == [], built.warnings
    tex = "\n".join(data.decode() for name, data in built.files().items() if name.endswith(".tex"))
    included = re.findall(r"\\sphinxincludegraphics(?:\[[^\]]*\])?\{\{([^}]+)\}(\.\w+)\}", tex)
    assert [ext for _, ext in included] == [".pdf"]
    assert (built.outdir / "".join(included[0])).read_bytes().startswith(b"%PDF")
