"""Shared fixtures: real SQLite files, a real PostgreSQL schema, a real HTTP server."""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import settings
from werkzeug.serving import make_server

from server import create_app
from server.store import Store, engine_for, store_of

DATA = Path(__file__).parent / "data"
STUDIES = DATA / "studies"
VERSIONS = DATA / "versions"
PARTIAL = DATA / "partial"

# Property tests: a few examples each by default; CI raises them with HYPOTHESIS_PROFILE=ci
# (see hostile.examples). No deadline: a shared machine's pauses are no bug.
settings.register_profile("default", deadline=None)
settings.register_profile("ci", deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

PG_URL = os.environ.get("TRIALPUB_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema of this test's own."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def postgresql_url(tmp_path: Path) -> Iterator[str]:
    """A fresh PostgreSQL schema, for cases only a database server has (it can go away and come back)."""
    if PG_URL is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the PostgreSQL tests: set TRIALPUB_TEST_DATABASE_URL")
        pytest.skip("needs PostgreSQL: set TRIALPUB_TEST_DATABASE_URL")
    with fresh_database("postgresql", tmp_path) as url:
        yield url


@contextlib.contextmanager
def fresh_database(backend: str, folder: Path) -> Iterator[str]:
    """Make an empty database on a backend (a SQLite file in ``folder``, or a PostgreSQL schema); drop it after."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'test.sqlite3'}"
        return
    assert PG_URL is not None
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = engine_for(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def make_app(tmp_path: Path, database_url: str, **settings: Any) -> Flask:
    """Build an app on its own data dir and database, with the tables created."""
    config = {"data_dir": str(tmp_path / "data"), "database_url": database_url, **settings}
    app = create_app(config)
    store_of(app).create()
    return app


@pytest.fixture
def app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    app = make_app(tmp_path, database_url)
    yield app
    store_of(app).engine.dispose()


@pytest.fixture
def store(app: Flask) -> Store:
    return store_of(app)


class ServerThread:
    """A real HTTP server on 127.0.0.1, serving in a thread while the ``with`` block runs."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.url = f"http://127.0.0.1:{server.server_port}"
        self.thread = threading.Thread(target=server.serve_forever, daemon=True)

    def __enter__(self) -> Any:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class LiveServer(ServerThread):
    """The app under a real WSGI server on 127.0.0.1, in a thread."""

    def __init__(self, app: Flask) -> None:
        super().__init__(make_server("127.0.0.1", 0, app, threaded=True))


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


# -- the registry sync ---------------------------------------------------------

# Small waits and pages, so that faults, retries and paging all happen in a short test.
SYNC_SETTINGS: dict[str, Any] = {
    "registry_rate_limit": 0.0,
    "registry_backoff": 0.01,
    "registry_backoff_max": 2.0,
    "registry_retries": 3,
    "registry_timeout": 0.5,
    "registry_connect_timeout": 2.0,
    "registry_page_size": 7,
    "load_batch_size": 5,
    "sync_overlap_days": 10,
    "sync_lock_poll": 0.05,
}


@pytest.fixture
def fake_registry() -> Iterator[Any]:
    """A fake ClinicalTrials.gov on 127.0.0.1 serving snapshot A (see tests/fake_registry.py)."""
    from .fake_registry import FakeRegistry, snapshot_a

    with FakeRegistry(*snapshot_a()) as fake:
        yield fake


@pytest.fixture
def sync_app(tmp_path: Path, database_url: str, fake_registry: Any) -> Iterator[Flask]:
    """An app on a fresh store whose registry is the fake one."""
    app = make_app(tmp_path, database_url, registry_url=fake_registry.url, **SYNC_SETTINGS)
    yield app
    store_of(app).engine.dispose()
