"""Timing helpers: medians of repeated calls, and subprocesses timed with their own peak memory."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

START = time.perf_counter()


def log(message: str) -> None:
    """Progress on stderr, stamped with the seconds since the bench started."""
    print(f"[{time.perf_counter() - START:6.1f} s] {message}", file=sys.stderr, flush=True)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


@dataclass
class Samples:
    """Seconds per call of ``repeat`` samples (each the mean of ``number`` calls)."""

    seconds: list[float]
    number: int

    @property
    def median(self) -> float:
        return median(self.seconds)

    def to_json(self) -> dict[str, Any]:
        return {"median_s": self.median, "samples_s": self.seconds, "calls_per_sample": self.number}


def measure(fn: Callable[[], object], *, repeat: int = 5, min_sample_s: float = 0.02,
            warmup: int = 1) -> Samples:
    """Median-friendly samples of ``fn()``: fast calls are batched so a sample lasts at least
    ``min_sample_s`` (timer resolution and noise stay small against it)."""
    for _ in range(warmup):
        fn()
    number = 1
    while True:
        started = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - started
        if elapsed >= min_sample_s or number >= 1 << 16:
            break
        number *= max(2, min(10, int(min_sample_s / max(elapsed, 1e-9)) + 1))
    seconds = [elapsed / number]
    for _ in range(repeat - 1):
        started = time.perf_counter()
        for _ in range(number):
            fn()
        seconds.append((time.perf_counter() - started) / number)
    return Samples(seconds, number)


def measure_interleaved(fns: Mapping[str, Callable[[], object]], *, repeat: int = 9,
                        min_sample_s: float = 0.05, pause_s: float = 0.1) -> dict[str, Samples]:
    """Samples of several functions taken in turn (A B C A B C ...), so load that comes and goes
    hits them alike; a pause before each sample lets the thread pools of the previous library
    (OpenBLAS, OpenMP) stop spinning before the next one is timed."""
    numbers = {}
    for name, fn in fns.items():
        fn()
        fn()
        number = 1
        while True:
            started = time.perf_counter()
            for _ in range(number):
                fn()
            elapsed = time.perf_counter() - started
            if elapsed >= min_sample_s or number >= 1 << 16:
                break
            number *= max(2, min(10, int(min_sample_s / max(elapsed, 1e-9)) + 1))
        numbers[name] = number
    seconds: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            time.sleep(pause_s)
            started = time.perf_counter()
            for _ in range(numbers[name]):
                fn()
            seconds[name].append((time.perf_counter() - started) / numbers[name])
    return {name: Samples(seconds[name], numbers[name]) for name in fns}


def _burn(n: int) -> float:
    started = time.perf_counter()
    total = 0
    for i in range(n):
        total += i
    return time.perf_counter() - started


def parallel_ceiling(workers: int = 2, n: int = 5_000_000) -> float:
    """How much faster ``workers`` CPU-bound processes finish than one doing the same work in
    turn, right now: the most a ``-j`` build could gain while others share the machine."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    _burn(n)
    started = time.perf_counter()
    for _ in range(workers):
        _burn(n)
    serial = time.perf_counter() - started
    with ctx.Pool(workers) as pool:
        pool.map(_burn, [1000] * workers)  # start the workers before timing
        started = time.perf_counter()
        pool.map(_burn, [n] * workers, chunksize=1)
        parallel = time.perf_counter() - started
    return serial / parallel


@dataclass
class ProcessRun:
    """One subprocess: wall seconds, exit code, peak resident memory (of the largest process of
    its tree: the command itself or one of its workers), and its output."""

    seconds: float
    returncode: int
    max_rss_mib: float
    output: str = field(repr=False)
    rss_source: str = ""
    cpu_seconds: float = 0.0  # user + system time of the command and its reaped workers
    tree_pss_mib: float = 0.0  # peak of the summed PSS of the command and all its workers

    def to_json(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "cpu_seconds": self.cpu_seconds, "returncode": self.returncode,
                "max_rss_mib": self.max_rss_mib, "rss_source": self.rss_source,
                "tree_pss_mib": self.tree_pss_mib}


GNU_TIME = Path("/usr/bin/time")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read().decode("ascii", "replace")
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _pss_kib(pid: int) -> int:
    """Proportional set size: pages shared by forked workers counted once across them."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as handle:
            for line in handle:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class TreeMemory:
    """Samples the summed PSS of a process and all its descendants (a parallel build's workers
    included) every ``interval`` seconds, keeping the peak; Linux only (0 elsewhere)."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        import threading

        self.pid, self.interval, self.peak_kib = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        if Path("/proc/self/smaps_rollup").exists():
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            tree, pids, total = _children(), [self.pid], 0
            while pids:
                pid = pids.pop()
                total += _pss_kib(pid)
                pids += tree.get(pid, [])
            self.peak_kib = max(self.peak_kib, total)
            self._stop.wait(self.interval)

    def stop(self) -> float:
        """Stop sampling; the peak in MiB."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        return self.peak_kib / 1024


def run_process(cmd: Sequence[str], *, cwd: Path | None = None, log_path: Path,
                env: Mapping[str, str] | None = None) -> ProcessRun:
    """Run ``cmd`` with the given environment and time it.

    Peak memory: a child forked from this (large) process starts with this process's resident
    set as its high-water mark, so ``os.wait4`` alone would report at least our own size.  Where
    GNU time exists it runs the command instead and reports the command's own ``%M`` (a small
    process forks it); otherwise ``os.wait4``'s figure is kept and marked as an upper bound.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    rss_file = log_path.with_suffix(".rss")
    use_time = GNU_TIME.exists()
    full = [str(GNU_TIME), "-f", "%M %U %S", "-o", str(rss_file), *cmd] if use_time else list(cmd)
    with log_path.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(full, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=None if env is None else dict(env))
        memory = TreeMemory(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        tree_pss = memory.stop()
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = log_path.read_text(encoding="utf-8", errors="replace")
    rss_kib, source = float(usage.ru_maxrss), "wait4 (upper bound: includes the bench's own size)"
    cpu = usage.ru_utime + usage.ru_stime
    if use_time:
        try:
            rss, user, system = rss_file.read_text().split()[-3:]
            rss_kib, source, cpu = float(rss), "GNU time %M", float(user) + float(system)
        except (OSError, ValueError):
            pass
    return ProcessRun(seconds, proc.returncode, rss_kib / 1024, text, source, cpu, tree_pss)
