"""Pool workers of a parallel build run one BLAS thread each (rfdocs.threads)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

CHECK = textwrap.dedent("""
    import ctypes, json, os
    import numpy as np
    np.ones((64, 64)) @ np.ones((64, 64))  # BLAS loaded and its threads started
    from rfdocs.threads import limit_blas_threads, loaded_openblas

    def counts():
        out = []
        for path in loaded_openblas():
            lib = ctypes.CDLL(str(path))
            for name in ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_",
                         "openblas_get_num_threads"):
                getter = getattr(lib, name, None)
                if getter is not None:
                    getter.restype = ctypes.c_int
                    out.append(getter())
                    break
        return out

    before = counts()
    set_ = limit_blas_threads(1)
    after = counts()
    pools = None
    try:
        from threadpoolctl import threadpool_info  # an independent reader, where installed
        pools = [p["num_threads"] for p in threadpool_info() if p["internal_api"] == "openblas"]
    except ImportError:
        pass
    print(json.dumps({"before": before, "set": set_, "after": after, "pools": pools}))
""")


def test_limit_blas_threads_sets_the_loaded_openblas_to_one_thread() -> None:
    import json

    env = {"OPENBLAS_NUM_THREADS": "2", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, env=env,
                          check=True)
    result = json.loads(done.stdout)
    if not result["before"]:
        pytest.skip("numpy here does not use OpenBLAS: nothing to limit")
    assert result["before"] == [2] * len(result["before"])  # the thread count it started with
    assert result["set"] == len(result["before"])
    assert result["after"] == [1] * len(result["before"])
    if result["pools"] is not None:
        assert result["pools"] and set(result["pools"]) == {1}


def test_parallel_build_workers_start_with_their_share_of_blas_threads(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """run_jobs gives each of N workers cores // N BLAS threads (at least one)."""
    import rfdocs.sphinxext.render as render

    seen: list[tuple[int, ...]] = []

    class Pool:
        def __init__(self, *, initializer: object, initargs: tuple[int, ...], **_: object) -> None:
            seen.append(initargs)

        def __enter__(self) -> Pool:
            return self

        def __exit__(self, *_: object) -> None:
            return None

        def map(self, fn: object, jobs: list[object]) -> list[object]:
            return []

    import concurrent.futures

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Pool)
    monkeypatch.setattr(render.os, "cpu_count", lambda: 8)
    from types import SimpleNamespace

    request = SimpleNamespace(kind="not-a-kind")  # no kind module to load before forking
    jobs = [render.FigureJob(request, f"key{n}", "svg", ("light",), "/nonexistent")  # type: ignore[arg-type]
            for n in range(3)]
    render.run_jobs(jobs, 2)
    render.run_jobs(jobs, 16)
    assert [args[1] for args in seen] == [4, 1]
