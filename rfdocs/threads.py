"""Thread pools of the loaded BLAS (OpenBLAS, as numpy's wheels bundle it), set from Python.

A parallel build draws in one forked process per core; each process's BLAS would otherwise start
as many threads as there are cores, and two workers on two cores then run four busy threads
that wait on each other. Workers are set to one BLAS thread each, as joblib's workers are.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

#: Entry points OpenBLAS builds export to set their thread count (plain, 64-bit integer
#: interface, and the ``scipy_openblas`` builds numpy >= 2 ships).
_SETTERS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
            "openblas_set_num_threads64_", "openblas_set_num_threads")


def loaded_openblas() -> list[Path]:
    """The OpenBLAS libraries mapped into this process (Linux; empty elsewhere)."""
    try:
        maps = Path("/proc/self/maps").read_text(encoding="ascii", errors="replace")
    except OSError:
        return []
    found: dict[str, None] = {}
    for line in maps.splitlines():
        path = line.split(maxsplit=5)[-1] if line.count(" ") >= 5 else ""
        if "openblas" in os.path.basename(path).lower() and ".so" in path:
            found.setdefault(path)
    return [Path(p) for p in found]


def limit_blas_threads(count: int) -> int:
    """Set every loaded OpenBLAS to ``count`` threads; returns how many libraries were set.
    Nothing is loaded that was not loaded already, and a library without a known entry point
    is left as it is."""
    done = 0
    for path in loaded_openblas():
        try:
            library = ctypes.CDLL(str(path))
        except OSError:
            continue
        for name in _SETTERS:
            setter = getattr(library, name, None)
            if setter is not None:
                setter.argtypes = [ctypes.c_int]
                setter.restype = None
                setter(count)
                done += 1
                break
    return done
