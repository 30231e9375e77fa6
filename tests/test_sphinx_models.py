"""ONNX models on pages: every network-taking directive and the rf role read them (:onnx:,
:spec: by suffix, :until:), figures show the learned weights and redraw when the file changes,
hostile files warn once at their line and the build goes on."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.sphinx_util import build, line_of, write_project

onnx = pytest.importorskip("onnx", reason="the onnx package is not installed (pip install "
                                          "'rfdocs[onnx]')")

from rfdocs.compute import parse_spec  # noqa: E402
from tests.onnx_build import full_params, network_to_onnx, save  # noqa: E402

SPEC = "input 24x24x3\nconv1: conv 3x3 x4\nrelu1: relu\nconv2: conv 3x3 x6\nrelu2: relu\n"

PAGE = """\
# Model

```{rf-filters}
:onnx: models/tiny.onnx
:name: filters
```

```{rf-featuremaps}
:spec: models/tiny.onnx
:layer: relu1
```

```{rf-network} tiny
:onnx: models/tiny.onnx
:until: relu1
```

```{rf-erf}
:network: tiny
:samples: 2
```

```{rf-steps}
:onnx: models/tiny.onnx
:static:
```

```{rf-table}
:onnx: models/tiny.onnx
:until: conv2
```

The field of conv2 is {rf}`models/tiny.onnx:conv2:rf`; tiny has {rf}`tiny::layers` layers.
"""


def write_model(path: Path, seed: int) -> dict[str, dict[str, np.ndarray]]:
    net = parse_spec(SPEC)
    params = full_params(net, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    save(network_to_onnx(net, params), path)
    return params


def project(tmp: Path, page: str = PAGE, conf: str = "") -> Path:
    src = write_project(tmp / "src", {"index.md": page}, conf)
    write_model(src / "models" / "tiny.onnx", seed=1)
    return src


def metas(built: object) -> dict[str, dict[str, object]]:
    return {p.name.split("-")[0]: json.loads(p.read_text(encoding="utf-8"))
            for p in built.cache_files() if p.name.endswith("-meta.json")}  # type: ignore[attr-defined]


def test_an_onnx_page_builds_in_html_and_latex(tmp_path: Path) -> None:
    src = project(tmp_path)
    html = build(src, "html")
    assert html.statuscode == 0 and html.warnings == "", html.warnings
    meta = metas(html)
    assert set(meta) == {"filters", "featuremaps", "erf", "steps"}
    assert "The 4 learned kernels of layer conv1 (conv, 3×3, 3 input channels)" in \
        str(meta["filters"]["alt"])
    assert "(2 layers, learned weights) up to layer relu1" in str(meta["featuremaps"]["alt"])
    assert "the network's trained weights" in str(meta["erf"]["alt"])
    assert "the 3×3 kernel of conv1 (filter 0, channel 0)" in str(meta["steps"]["alt"])
    page = html.text("index.html")
    assert "The field of conv2 is <span class=\"rfdocs-number\">5×5</span>" in page
    assert "tiny has <span class=\"rfdocs-number\">2</span> layers" in page
    assert page.count("rfdocs-table") >= 1 and "conv2" in page
    images = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len([i for i in images if "rfdocs-cache" in i or "_images" in i]) >= 8  # light+dark
    latex = build(src, "latex")
    assert latex.statuscode == 0 and latex.warnings == "", latex.warnings
    tex = next(latex.outdir.glob("*.tex")).read_text(encoding="utf-8")
    included = re.findall(r"\\sphinxincludegraphics(?:\[[^]]*\])?\{\{([^}]+)\}", tex)
    assert len(included) == 4, included
    assert all((latex.outdir / f"{name}.pdf").is_file() for name in included)


def test_editing_the_model_redraws_its_figures(tmp_path: Path) -> None:
    page = "# Model\n\n```{rf-filters}\n:onnx: models/tiny.onnx\n:scale: shared\n```\n"
    src = project(tmp_path, page)
    first = build(src, "html")
    before = metas(first)["filters"]
    key_before = {p.name for p in first.cache_files()}
    params = write_model(src / "models" / "tiny.onnx", seed=2)
    second = build(src, "html")
    assert second.warnings == ""
    after = metas(second)["filters"]
    assert {p.name for p in second.cache_files()} != key_before
    weights = params["conv1"]["weight"]
    assert after["numbers"]["min"] == pytest.approx(float(weights.min()))  # type: ignore[index]
    assert after["numbers"]["max"] == pytest.approx(float(weights.max()))  # type: ignore[index]
    assert before["numbers"]["min"] != after["numbers"]["min"]  # type: ignore[index]



def test_external_weights_next_to_the_model_are_read_and_keyed(tmp_path: Path) -> None:
    """A model whose weights live in an external file beside it (in a folder below the source
    root): the file is found relative to the model, and editing only it redraws the figure."""
    page = "# Model\n\n```{rf-filters}\n:onnx: models/big/tiny.onnx\n:scale: shared\n```\n"
    src = write_project(tmp_path / "src", {"index.md": page}, "")
    folder = src / "models" / "big"
    folder.mkdir(parents=True)
    net = parse_spec(SPEC)
    onnx.save_model(network_to_onnx(net, full_params(net, seed=1)), str(folder / "tiny.onnx"),
                    save_as_external_data=True, all_tensors_to_one_file=True,
                    location="tiny.data", size_threshold=0)
    model_bytes = (folder / "tiny.onnx").read_bytes()
    first = build(src, "html")
    assert first.warnings == ""
    # New weights written into the external file in place; the model file stays as it was.
    params = full_params(net, seed=2)
    stored = onnx.load(str(folder / "tiny.onnx"), load_external_data=False)
    data = bytearray((folder / "tiny.data").read_bytes())
    for tensor in stored.graph.initializer:
        info = {e.key: e.value for e in tensor.external_data}
        layer, kind = tensor.name.split(".")
        value = params[layer][kind]
        if kind == "weight":  # channels-last (kh, kw, ci, co) -> ONNX's (co, ci, kh, kw)
            value = value.transpose(3, 2, 0, 1)
        raw = np.ascontiguousarray(value, dtype=np.float32).tobytes()
        offset = int(info["offset"])
        assert len(raw) == int(info["length"])
        data[offset:offset + len(raw)] = raw
    (folder / "tiny.data").write_bytes(bytes(data))
    assert (folder / "tiny.onnx").read_bytes() == model_bytes
    weights = params["conv1"]["weight"]
    second = build(src, "html")
    assert second.warnings == ""
    after = metas(second)["filters"]
    assert after["numbers"]["min"] == pytest.approx(float(weights.min()))  # type: ignore[index]
    assert after["numbers"]["max"] == pytest.approx(float(weights.max()))  # type: ignore[index]


HOSTILE = """\
# Hostile

```{rf-filters}
:onnx: models/tiny.onnx
```

```{rf-filters}
:onnx: ../outside.onnx
```

```{rf-featuremaps}
:spec: models/garbage.onnx
```

```{rf-erf}
:onnx: models/tiny.onnx
:until: nosuchlayer
```

```{rf-table}
:onnx: models/missing.onnx
```

Inline {rf}`models/garbage.onnx::rf`.
"""


def test_hostile_models_warn_once_at_their_line(tmp_path: Path) -> None:
    src = project(tmp_path, HOSTILE)
    shutil.copy(src / "models" / "tiny.onnx", src.parent / "outside.onnx")
    (src / "models" / "garbage.onnx").write_bytes(b"\x08\x07not a protobuf\xff" * 50)
    built = build(src, "html")
    assert built.statuscode == 0
    warnings = built.parsed_warnings()
    by_line = {int(w["line"]): w for w in warnings}
    assert len(warnings) == 5, built.warnings
    outside = by_line[line_of(HOSTILE, "../outside.onnx") - 1]
    assert "rf-filters: :onnx: '../outside.onnx' leads outside the source directory" in \
        outside["message"]
    garbage = by_line[line_of(HOSTILE, ":spec: models/garbage.onnx") - 1]
    assert garbage["message"].startswith("rf-featuremaps: :spec: cannot use the model "
                                         "models/garbage.onnx")
    until = by_line[line_of(HOSTILE, ":until: nosuchlayer") - 2]
    assert "nosuchlayer" in until["message"] and until["message"].startswith("rf-erf: :onnx:")
    missing = by_line[line_of(HOSTILE, "models/missing.onnx") - 1]
    assert "no file" in missing["message"]
    inline = by_line[line_of(HOSTILE, "Inline")]
    assert inline["message"].startswith("rf role: cannot use the model models/garbage.onnx")
    assert all(w["location"].endswith("index.md") for w in warnings)
    assert len(metas(built)) == 1  # the good figure is drawn


def test_the_model_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    page = "# Big\n\n```{rf-filters}\n:onnx: models/tiny.onnx\n```\n\nText.\n"
    src = project(tmp_path, page, "rfdocs_max_model_bytes = 200\n")
    size = (src / "models" / "tiny.onnx").stat().st_size
    built = build(src, "html")
    (warning,) = built.parsed_warnings()
    assert int(warning["line"]) == 3 and warning["type"] == "rfdocs.limit"
    assert warning["message"] == (f"rf-filters: :onnx: 'models/tiny.onnx' is {size:,} bytes, "
                                  "more than rfdocs_max_model_bytes (200); raise it in conf.py "
                                  "to read this model")
    assert built.statuscode == 0 and "Text." in built.text("index.html")
