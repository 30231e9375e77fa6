"""Figures in notebooks: the manual's example (docs/manual/notebooks.md) executed cell by cell in a
real kernel (nbclient, this environment's ipykernel), and a MyST-NB page whose code cell calls
rfdocs.figure, built by Sphinx; what they display is compared with the API in this process."""

from __future__ import annotations

import base64
import json
import re
import sys
from pathlib import Path

import pytest

import rfdocs
from tests.sphinx_util import build

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed: pip install -e '.[test]'")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed: pip install -e '.[test]'")
pytest.importorskip("ipykernel", reason="ipykernel is not installed: pip install -e '.[test]'")

MANUAL = Path(__file__).parent.parent / "docs" / "manual" / "notebooks.md"
KERNEL = "rfdocs-test"


def manual_cells() -> list[str]:
    """The manual's ``python`` blocks, in order, one code cell each."""
    example = MANUAL.read_text(encoding="utf-8")
    return [block.rstrip("\n") for block in re.findall(r"^```python\n(.*?)^```$", example,
                                                       re.MULTILINE | re.DOTALL)]


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kernelspec running this interpreter, found through JUPYTER_PATH (not whatever kernel
    the machine calls python3)."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "rfdocs tests", "language": "python"}), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def executed(kernel_env: Path, tmp_path_factory: pytest.TempPathFactory) -> object:
    cwd = tmp_path_factory.mktemp("notebook")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code) for code in manual_cells()]
    mp = pytest.MonkeyPatch()
    mp.setenv("JUPYTER_PATH", str(kernel_env))
    try:
        client = nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=300,
                                         resources={"metadata": {"path": str(cwd)}})
        client.execute()
    finally:
        mp.undo()
    nb.metadata["rfdocs_cwd"] = str(cwd)
    return nb


def _outputs(nb: object, cell: int) -> list[dict[str, object]]:
    outputs = nb.cells[cell].outputs  # type: ignore[attr-defined]
    assert not [o for o in outputs if o.output_type == "error"], outputs
    return list(outputs)


def _net() -> object:
    source = manual_cells()[0]
    return rfdocs.network(source.split('"""')[1])


def test_the_manuals_example_runs_and_shows_computed_svg(executed: object) -> None:
    cells = manual_cells()
    assert len(cells) >= 6
    net = _net()
    assert _outputs(executed, 0)[0]["data"]["text/plain"] == repr(rfdocs.analyze(net).output.rf)  # type: ignore[index]
    fig = rfdocs.figure("block", net, layer="conv1", neuron=(12, 30))
    data = _outputs(executed, 1)[0]["data"]
    assert data["image/svg+xml"] == fig.svg()  # type: ignore[index]
    html = data["text/html"]  # type: ignore[index]
    assert f'alt="{fig.alt}"' in html
    light = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert light is not None and base64.b64decode(light.group(1)).decode() == fig.svg()
    printed = _outputs(executed, 2)
    assert printed[0]["text"] == fig.alt + "\n"
    assert printed[1]["data"]["text/plain"] == repr(list(fig.numbers["field"]))  # type: ignore[index]
    assert fig.numbers["field"] == [5, 5, 3]
    cwd = Path(executed.metadata["rfdocs_cwd"])  # type: ignore[attr-defined]
    assert (cwd / "block.svg").read_text(encoding="utf-8") == fig.svg()
    assert (cwd / "block.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (cwd / "growth-dark.pdf").read_bytes() == rfdocs.figure(
        "growth", net, layer="conv2", theme="dark").to_bytes("pdf")
    values = _outputs(executed, 4)[0]["data"]["text/plain"]  # type: ignore[index]
    assert values == repr(("212×212", rfdocs.rf_value("n:conv2:jump", {"n": net})))
    explorer = _outputs(executed, 5)[0]["data"]
    growth = rfdocs.figure("growth", net, layer="conv2", neuron="4,4")
    assert explorer["image/svg+xml"] == growth.svg()  # type: ignore[index]
    assert 'class="rfdocs-explorer"' in explorer["text/html"] and "<script>" in explorer["text/html"]  # type: ignore[index]
    printed_error = _outputs(executed, 6)[0]["text"]
    with pytest.raises(rfdocs.RfdocsError) as caught:
        rfdocs.figure("block", net, neuron="99,99")
    assert printed_error == f"{caught.value}\n"
    assert str(caught.value) in MANUAL.read_text(encoding="utf-8").replace("\n", " ")


MYST_NB_PAGE = '''\
---
file_format: mystnb
kernelspec:
  name: {kernel}
  display_name: rfdocs tests
---
# Computed in a code cell

```{{code-cell}} python
import rfdocs
rfdocs.figure("growth", "input 32x32x3\\nconv1: conv 3x3 /1 x8\\nconv2: conv 3x3 /2 x8")
```

```{{rf-growth}}
:caption: The same figure, drawn by the directive.

input 32x32x3
conv1: conv 3x3 /1 x8
conv2: conv 3x3 /2 x8
```

A conv2 unit sees {{rf}}`vgg16:pool5:rf`.
'''


def test_myst_nb_page_with_a_code_cell_calling_rfdocs_figure(kernel_env: Path, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("myst_nb", reason="myst-nb is not installed: pip install -e '.[test]'")
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_env))
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(
        'project = "nb"\nextensions = ["myst_nb", "rfdocs"]\nnb_execution_mode = "force"\n'
        'nb_execution_raise_on_error = True\nexclude_patterns = ["_build"]\n', encoding="utf-8")
    (src / "index.md").write_text(MYST_NB_PAGE.format(kernel=KERNEL), encoding="utf-8")
    out = build(src, "html")
    page = (out.outdir / "index.html").read_text(encoding="utf-8")
    fig = rfdocs.figure("growth", "input 32x32x3\nconv1: conv 3x3 /1 x8\nconv2: conv 3x3 /2 x8")
    uris = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert fig.svg() in [base64.b64decode(u).decode() for u in uris]  # the code cell's output
    assert f'alt="{fig.alt}"' in page
    assert page.count(f'alt="{fig.alt}"') >= 2  # and the directive's figure says the same
    assert "212×212" in page
