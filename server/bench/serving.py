"""Requests per second under gunicorn, from a load generator on 127.0.0.1, bounded in time."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .measure import peak_rss_of


@dataclass(frozen=True)
class Target:
    """One kind of request: the paths it cycles through and the headers it sends."""

    name: str
    paths: Sequence[str]
    headers: Mapping[str, str]
    expect: int = 200


def free_port() -> int:
    """Ask the kernel for a free port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def gunicorn(env: Mapping[str, str], workers: int = 2) -> Iterator[tuple[str, int]]:
    """Serve the benchmark app with gunicorn; yield its base URL and the master's pid."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "server.bench.wsgi:app"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(port, proc)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_until_up(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise RuntimeError(f"gunicorn exited {proc.returncode}: {err[-2000:]}")
        try:
            status, _headers, _body = fetch(port, "/bench/ping")
            if status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 60 s")


def fetch(port: int, path: str, headers: Mapping[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """Make one GET request to 127.0.0.1."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=dict(headers or {}))
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def worker_pids(master: int) -> list[int]:
    """List the child processes of a gunicorn master, its workers (Linux)."""
    try:
        return [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    except OSError:
        return []


def worker_peak_rss(master: int) -> list[float]:
    """Read the peak RSS of each gunicorn worker of a master (Linux)."""
    return [rss for pid in worker_pids(master) if (rss := peak_rss_of(pid)) is not None]


def hammer(port: int, target: Target, seconds: float, connections: int = 8) -> dict[str, Any]:
    """Send requests for a while; report req/s, latency and how many answers were not as expected."""
    status, _headers, _body = fetch(port, target.paths[0], target.headers)
    if status != target.expect:
        return {"unavailable": f"HTTP {status} for {target.paths[0]}"}
    if shutil.which("wrk"):
        return _wrk(port, target, seconds, connections)
    return _threads(port, target, seconds, connections)


_WRK_SCRIPT = """
paths = {%s}
headers_in = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1], headers_in)
end
"""


def _lua(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _wrk(port: int, target: Target, seconds: float, connections: int) -> dict[str, Any]:
    paths = ", ".join(_lua(path) for path in target.paths)
    headers = ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in target.headers.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT % (paths, headers))
    try:
        out = subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "-s", script.name,
             f"http://127.0.0.1:{port}"],
            capture_output=True, text=True, check=True, timeout=seconds + 60,
        ).stdout
    finally:
        os.unlink(script.name)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result: dict[str, Any] = {"tool": "wrk", "req_s": float(rate.group(1)) if rate else 0.0}
    for pct in ("50", "90", "99"):
        match = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out)
        if match:
            factor = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
            result[f"p{pct}_ms"] = float(match.group(1)) * factor
    result["bad_answers"] = int(errors.group(1)) if errors else 0
    return result


def _threads(port: int, target: Target, seconds: float, connections: int) -> dict[str, Any]:
    # Without wrk: plain threads, one connection per request (gunicorn's sync workers close them).
    stop = time.monotonic() + seconds
    counts: list[int] = [0] * connections
    bad: list[int] = [0] * connections

    def run(slot: int) -> None:
        n = slot
        while time.monotonic() < stop:
            status, _h, _b = fetch(port, target.paths[n % len(target.paths)], target.headers)
            counts[slot] += 1
            bad[slot] += status != target.expect
            n += connections

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"tool": "python threads", "req_s": sum(counts) / (time.monotonic() - started), "bad_answers": sum(bad)}
