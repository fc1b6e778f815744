"""Run one measured step in a child process and read its wall time and peak memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The last line a step prints on stdout is its JSON result.
RESULT_PREFIX = "BENCH-RESULT "


class StepFailed(RuntimeError):
    """A measured step exited non-zero; its output says why."""


@dataclass(frozen=True)
class Measured:
    """What running one step cost, and what it reported."""

    wall_s: float
    peak_rss_mb: float  # the child's own high-water mark (ru_maxrss)
    cpu_s: float  # user + system time of the child
    result: dict[str, Any]
    stdout_tail: str  # the last lines the step printed, e.g. a command's summary


def run_step(argv: list[str], env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Measured:
    """Run ``python -m <argv>`` in a child process; its peak RSS comes from wait4, not sampling."""
    full_env = {**os.environ, **(env or {})}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", *argv],
        env=full_env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = _drain(proc)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = (err or out).decode(errors="replace")[-3000:]
        raise StepFailed(f"{' '.join(argv)} exited {proc.returncode}:\n{tail}")
    result: dict[str, Any] = {}
    lines = out.decode(errors="replace").splitlines()
    for line in lines:
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX):])
    return Measured(
        wall_s=wall,
        peak_rss_mb=usage.ru_maxrss / 1024,  # kilobytes on Linux
        cpu_s=usage.ru_utime + usage.ru_stime,
        result=result,
        stdout_tail="\n".join(line for line in lines[-3:] if not line.startswith(RESULT_PREFIX)),
    )


def _drain(proc: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    # Read both pipes to the end without reaping the child (Popen.communicate would wait()).
    chunks: dict[str, bytes] = {}

    def read(name: str, stream: Any) -> None:
        chunks[name] = stream.read()

    pipes = (("out", proc.stdout), ("err", proc.stderr))
    readers = [threading.Thread(target=read, args=pipe) for pipe in pipes]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    return chunks.get("out", b""), chunks.get("err", b"")


def report(result: Mapping[str, Any]) -> None:
    """Print a step's result where ``run_step`` finds it."""
    print(RESULT_PREFIX + json.dumps(dict(result)), flush=True)


def disk_usage(path: Path) -> int:
    """Count the bytes of every file under a path; hard links (the store's snapshots) once."""
    if path.is_file():
        return path.stat().st_size
    sizes = {}
    for file in path.rglob("*"):
        if file.is_file():
            stat = file.stat()
            sizes[(stat.st_dev, stat.st_ino)] = stat.st_size
    return sum(sizes.values())


def peak_rss_of(pid: int) -> float | None:
    """Read a running process's high-water RSS in MB (Linux), or None."""
    return status_mb(pid, "VmHWM")


def status_mb(pid: int, key: str) -> float | None:
    """Read one memory figure of a running process from /proc (Linux) in MB, e.g. VmRSS; or None."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
