"""Reproducible EPUB archives: member timestamps from SOURCE_DATE_EPOCH, as Sphinx already does
for the dates inside the book."""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

from sphinx.application import Sphinx

ZIP_EPOCH = 315532800  # 1980-01-01, the earliest time a zip archive can hold


def restamp_zip(path: Path, epoch: int) -> None:
    """Rewrite the archive with every member dated ``epoch`` (order and compression kept)."""
    when = time.gmtime(max(epoch, ZIP_EPOCH))[:6]
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w") as dst:
            for info in src.infolist():
                member = zipfile.ZipInfo(info.filename, date_time=when)
                member.compress_type = info.compress_type
                member.external_attr = info.external_attr
                dst.writestr(member, src.read(info.filename))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def stamp_epub(app: Sphinx, exception: Exception | None) -> None:
    """build-finished: date the EPUB's members by SOURCE_DATE_EPOCH when it is set."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if exception is not None or not app.builder.name.startswith("epub") or not epoch.isdigit():
        return
    archive = Path(app.outdir) / f"{app.config.epub_basename}.epub"
    if archive.is_file():
        restamp_zip(archive, int(epoch))


def setup_reproducible(app: Sphinx) -> None:
    app.connect("build-finished", stamp_epub)
