"""The ``trialpub`` command and ``trialpub serve`` as real subprocesses, and what they left in the stores."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox
import sqlalchemy as sa

from server import tables as t
from server.store import engine_for

# The installed command, beside the interpreter running the tests.
TRIALPUB = [str(Path(sys.executable).with_name("trialpub"))]


def environment(settings: Mapping[str, Any]) -> dict[str, str]:
    """The environment of a subprocess: ours without TRIALPUB_ settings, plus these as TRIALPUB_ variables."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TRIALPUB_")}
    env["PYTHONPATH"] = str(Path(__file__).parent.parent)
    for key, value in settings.items():
        env[f"TRIALPUB_{key.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def trialpub(*args: str, settings: Mapping[str, Any], timeout: float = 120, **popen: Any) -> subprocess.CompletedProcess[str]:
    """Run one ``trialpub`` command to its end."""
    return subprocess.run(
        [*TRIALPUB, *args], env=environment(settings), capture_output=True, text=True, timeout=timeout, **popen
    )


def start(*args: str, settings: Mapping[str, Any], **popen: Any) -> subprocess.Popen[str]:
    """Start a ``trialpub`` command and return at once."""
    return subprocess.Popen(
        [*TRIALPUB, *args], env=environment(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        **popen,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def served(settings: Mapping[str, Any], workers: int = 1) -> Iterator[str]:
    """Run ``trialpub serve`` (gunicorn) until the block ends; yield its base URL."""
    port = free_port()
    process = start("serve", "--port", str(port), "--workers", str(workers), settings=settings)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise AssertionError(f"trialpub serve ended: {process.communicate()[1]}")
            with contextlib.suppress(httpx.TransportError):
                httpx.get(f"{url}/robots.txt", timeout=2)
                break
            if time.monotonic() > deadline:
                raise AssertionError("trialpub serve did not answer within 30 s")
            time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


# -- what the stores hold, by content ------------------------------------------------


def sql_content(database_url: str) -> dict[str, Any]:
    """The SQL store's trials, versions, conditions and events, without ids, run ids or timestamps.

    Row ids differ between runs that did the same work (PostgreSQL sequences do not roll back),
    so versions are named by (trial, content hash) and events by their content-derived id.
    """
    engine = engine_for(database_url)
    try:
        with engine.connect() as conn:
            hashes = {row.id: (row.nct_id, row.content_hash) for row in conn.execute(
                sa.select(t.versions.c.id, t.versions.c.nct_id, t.versions.c.content_hash))}
            versions = sorted(
                (row.nct_id, row.content_hash, row.last_update, zlib.decompress(row.raw))
                for row in conn.execute(sa.select(t.versions))
            )
            trials = sorted(
                (row.nct_id, hashes[row.version_id], row.content_hash, row.last_update, row.overall_status,
                 row.study_type, row.phases, row.countries, row.title, row.removed_at is None)
                for row in conn.execute(sa.select(t.trials))
            )
            conditions = sorted(tuple(row) for row in conn.execute(sa.select(t.trial_conditions)))
            events = sorted(
                (row.event_id, row.nct_id, row.kind, row.old_value, row.new_value, row.detail,
                 hashes.get(row.version_id), row.registry_last_update)
                for row in conn.execute(sa.select(t.events))
            )
            indexed = sorted(tuple(row) for row in conn.execute(sa.select(t.indexed_trials)))
            running = conn.execute(
                sa.select(sa.func.count()).select_from(t.runs).where(t.runs.c.outcome == "running")
            ).scalar_one()
    finally:
        engine.dispose()
    return {"trials": trials, "versions": versions, "conditions": conditions, "events": events,
            "indexed": indexed, "runs left running": running}


# When an event was detected: the moment of the run that found it, which differs from run to run.
DETECTED_AT = "<https://schema.org/endTime>"


def triple_content(data_dir: Path) -> dict[str, tuple[int, frozenset[tuple[str, str, str]]]]:
    """Each named graph of the embedded store: its triple count, and its triples without blank nodes
    or detection times."""
    store = ox.Store(str(data_dir / "oxigraph" / "primary"))
    graphs: dict[str, list[Any]] = {}
    try:
        for quad in store.quads_for_pattern(None, None, None, None):
            graphs.setdefault(str(quad.graph_name), []).append(quad)
    finally:
        del store
    return {
        name: (
            len(quads),
            frozenset(
                (str(q.subject), str(q.predicate), str(q.object))
                for q in quads
                if not any(isinstance(term, ox.BlankNode) for term in (q.subject, q.object))
                and str(q.predicate) != DETECTED_AT
            ),
        )
        for name, quads in graphs.items()
    }
