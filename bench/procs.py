"""Running one step as its own process: wall time and peak resident memory (VmHWM).

The peak is read from /proc while the process runs: getrusage's figure for a child would start
from the benchmark's own size, and a process's VmHWM is its own address space's high-water mark.
A step that starts processes of its own (the audit's workers) counts theirs too: the sum of
every process's own peak, an upper bound of what they held at once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: Every step runs with Beancount's pickle cache off, so that no load is served from a cache
#: an earlier step wrote (beancount.loader reads this at import time).
UNCACHED_ENV = {"BEANCOUNT_DISABLE_LOAD_CACHE": "1"}


class StepFailed(RuntimeError):
    """A step exited with a status it should not have; the message carries its stderr."""


@dataclass
class Measured:
    """One step: what ran, its wall seconds, its peak resident memory, what it printed."""

    step: str
    argv: list[str]
    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "step": self.step,
            "argv": self.argv,
            "seconds": round(self.seconds, 4),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "returncode": self.returncode,
            **self.extra,
        }


def high_water_kb(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in KiB; 0 once it has gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """The process's children, theirs, and so on (/proc/<pid>/task/*/children)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as children:
                kids = [int(kid) for kid in children.read().split()]
        except OSError:
            continue
        for kid in kids:
            found += [kid, *descendants(kid)]
    return found


class TreePeak:
    """Each process's own peak in a process tree, polled: their sum (KiB)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peaks: dict[int, int] = {}

    def poll(self) -> int:
        for pid in (self.pid, *descendants(self.pid)):
            self.peaks[pid] = max(self.peaks.get(pid, 0), high_water_kb(pid))
        return sum(self.peaks.values())


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(UNCACHED_ENV)
    # No progress bars, wide plain output: what a script would see.
    env.pop("FORCE_COLOR", None)
    env.update(extra or {})
    return env


def mzledger(*args: str) -> list[str]:
    """The argv of the real command, run by this venv's Python."""
    return [sys.executable, "-m", "mzledger", *args]


def run(
    step: str,
    argv: Sequence[str],
    cwd: Path,
    *,
    ok: tuple[int, ...] = (0,),
    env: Mapping[str, str] | None = None,
    quiet: bool = False,
) -> Measured:
    """Run ``argv`` to its end; wall time from start to exit, peak memory polled every 10 ms."""
    if not quiet:
        print(f"  {step} ...", end="", flush=True, file=sys.stderr)
    started = time.perf_counter()
    peak_kb = 0
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            list(argv), cwd=cwd, stdout=stdout, stderr=stderr, env=environment(env)
        )
        tree = TreePeak(process.pid)
        while process.poll() is None:
            peak_kb = max(peak_kb, tree.poll())
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        stdout.seek(0)
        out = stdout.read().decode("utf-8", "replace")
        if process.returncode not in ok:
            stderr.seek(0)
            tail = stderr.read().decode("utf-8", "replace")[-4000:]
            raise StepFailed(
                f"{step} failed (exit {process.returncode}): {' '.join(argv)}\n{out[-2000:]}{tail}"
            )
    if not quiet:
        print(f" {seconds:.2f} s, {peak_kb / 1024:.0f} MB", file=sys.stderr)
    return Measured(step, list(argv), seconds, peak_kb / 1024, process.returncode, out)


class Background:
    """A long-running process (Fava): started now, its peak memory polled until :meth:`stop`."""

    def __init__(self, step: str, argv: Sequence[str], cwd: Path, log: Path) -> None:
        self.step = step
        self.argv = list(argv)
        self._log = log.open("wb")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            self.argv, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT, env=environment()
        )
        self.peak_kb = 0
        self._done = threading.Event()
        self._poller = threading.Thread(target=self._poll, daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while not self._done.is_set():
            self.peak_kb = max(self.peak_kb, high_water_kb(self.process.pid))
            self._done.wait(0.01)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> Measured:
        """Terminate the process (this one only, by its id) and give its figures."""
        self.peak_kb = max(self.peak_kb, high_water_kb(self.process.pid))
        self._done.set()
        self._poller.join()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        seconds = time.perf_counter() - self.started
        return Measured(
            self.step, self.argv, seconds, self.peak_kb / 1024, self.process.returncode or 0
        )
