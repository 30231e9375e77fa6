"""``make bench-readme``: the README's performance table, from the latest ``build/bench.json``.

Rewrites what lies between the two marker lines in README.md with the rows that have a goal (and
the peers' ratios), so the numbers there are always those of one real run, never typed."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
START = "<!-- bench table: written by `make bench-readme` from build/bench.json -->"
END = "<!-- end of bench table -->"
SHOWN = ("render", "compute", "diamonds", "conv", "models", "site", "peers", "scale", "docs")


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def cell(text: str) -> str:
    return ANSI.sub("", text).replace("|", "\\|")


def table(data: dict[str, Any]) -> str:
    m = data["machine"]
    load = m.get("load_average_start", [0])[0], m.get("load_average_end", [0, 0])[1]
    lines = [START, "",
             f"Measured by `make bench` at commit `{data['source']['commit'][:10]}` on {m['cpu']} "
             f"({m['cores']} cores; Python {m['python']}, Sphinx {m['sphinx']}, matplotlib "
             f"{m['matplotlib']}, numpy {m['numpy']}), load average {load[0]:.1f} at the start and "
             f"{load[1]:.1f} at the end; the bench took {data['seconds'] / 60:.0f} minutes. "
             "Ratios compare builds made side by side in that run (medians).", "",
             "| what | measured | goal | met |", "| --- | --- | --- | --- |"]
    for row in data["rows"]:
        if row["section"] not in SHOWN or (not row["goal"] and row["section"] not in ("peers", "scale")):
            continue
        met = "—" if row["met"] is None else ("yes" if row["met"] else "**no**")
        lines.append(f"| {cell(row['figure'])} | {cell(row['shown'])} | {cell(row['goal'] or '—')} "
                     f"| {met} |")
    for note in data.get("notes", []):
        lines += ["", f"Note from the run: {cell(note)}"]
    return "\n".join([*lines, "", END])


def main() -> int:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "build" / "bench.json"
    data = json.loads(source.read_text(encoding="utf-8"))
    readme = REPO / "README.md"
    text = readme.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(f"README.md has no bench table markers ({START!r})", file=sys.stderr)
        return 1
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    readme.write_text(before + table(data) + after, encoding="utf-8")
    print(f"README.md: performance table from {source} ({data['source']['commit'][:10]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
