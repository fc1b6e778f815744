"""Query processes that can be killed: Oxigraph cannot cancel a running query, the kernel can.

Each web worker keeps its own few query processes, started on first use. A query that runs past
the time limit gets its process killed and replaced. How many queries run at once on the machine
is capped by lock files under the data dir, shared by every web worker.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .sparql import EndpointBusy, EndpointUnavailable, QueryAnswer, QueryProblem, QueryRequest, QueryTimeout

log = logging.getLogger(__name__)

# How long a query waits for a free slot before the endpoint says it is busy.
SLOT_WAIT_SECONDS = 1.0


@contextlib.contextmanager
def query_slot(slots_dir: Path, slots: int, wait: float = SLOT_WAIT_SECONDS) -> Iterator[int]:
    """Hold one of ``slots`` machine-wide query slots (file locks, freed even if the process dies)."""
    slots_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    while True:
        for number in range(slots):
            handle = (slots_dir / f"slot-{number}.lock").open("a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                yield number
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
            return
        if time.monotonic() >= deadline:
            raise EndpointBusy(f"all {slots} query slots are busy; please retry in a few seconds")
        time.sleep(0.05)


class _Worker:
    """A query process: a fresh interpreter, so it inherits no lock, thread or connection of the web worker.

    Started as ``python -m server.queryworker`` rather than by multiprocessing, which would import
    the parent's main module again (gunicorn's, a test runner's) in the child.
    """

    def __init__(self, root: Path) -> None:
        ours, theirs = socket.socketpair()
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "server.queryworker", str(theirs.fileno()), str(root)],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
            )
        self.conn = Connection(ours.detach())

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=5)
        self.conn.close()


class QueryPool:
    """Runs queries on the embedded store's snapshots in worker processes."""

    def __init__(self, root: Path, slots_dir: Path, slots: int, timeout: float) -> None:
        self.root = root
        self.slots_dir = slots_dir
        self.slots = slots
        self.timeout = timeout
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
                worker.kill()
        return _Worker(self.root)

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            self._idle.append(worker)

    def run(self, request: QueryRequest) -> QueryAnswer:
        """Run one query; raise QueryTimeout past the time limit, having killed its process."""
        with query_slot(self.slots_dir, self.slots):
            worker = self._take()
            try:
                worker.conn.send(request)
                if not worker.conn.poll(self.timeout):
                    worker.kill()
                    raise QueryTimeout(
                        f"the query ran longer than {self.timeout:g} s and was stopped; "
                        "narrow it down, or add a LIMIT"
                    )
                status, payload = worker.conn.recv()
            except (EOFError, OSError) as exc:
                worker.kill()
                raise EndpointUnavailable(f"the query process stopped ({type(exc).__name__}); please retry") from None
            self._give_back(worker)
        return _reply(status, payload)

    def close(self) -> None:
        """Stop every idle query process."""
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


def _reply(status: str, payload: Any) -> QueryAnswer:
    if status == "ok":
        answer: QueryAnswer = payload
        return answer
    if status == "problem":
        problem: QueryProblem = payload
        raise problem
    log.error("query process failed: %s", payload)
    raise EndpointUnavailable(
        "the SPARQL store is unavailable: the triple store could not be read; "
        "pages, feeds and RDF documents still work"
    )
