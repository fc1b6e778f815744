"""Faults while ``trialpub serve`` (gunicorn) runs: the database goes away and comes back; the triple store is out."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from .conftest import STUDIES
from .processes import free_port, served, trialpub
from .tcpproxy import TcpProxy

pytestmark = pytest.mark.slow

SAMPLE = sorted(STUDIES.glob("NCT*.json"))[:12]


def loaded(tmp_path: Path, database_url: str, **settings: Any) -> tuple[dict[str, Any], str]:
    """Load a few real records with the real command; return the settings and one trial's id."""
    folder = tmp_path / "records"
    folder.mkdir()
    for path in SAMPLE:
        shutil.copy(path, folder)
    config = {"data_dir": tmp_path / "data", "database_url": database_url, "load_workers": 1, **settings}
    done = trialpub("load", str(folder), settings=config)
    assert done.returncode == 0, done.stderr
    return config, SAMPLE[0].stem


def condition_slug(database_url: str) -> str:
    from server.store import engine_for

    engine = engine_for(database_url)
    with engine.connect() as conn:
        slug = conn.execute(sa.text("SELECT slug FROM trial_conditions ORDER BY slug LIMIT 1")).scalar_one()
    engine.dispose()
    return str(slug)


def site_paths(nct_id: str, slug: str) -> list[str]:
    """Pages, feeds and RDF documents: everything the SQL store serves."""
    return [
        "/", f"/trials/{nct_id}", f"/trials/{nct_id}.ttl", f"/trials/{nct_id}.jsonld", f"/trials/{nct_id}.nt",
        "/conditions", f"/conditions/{slug}", f"/conditions/{slug}.atom", "/changes.atom", "/changes", "/status",
    ]


def through(proxy: TcpProxy, database_url: str) -> str:
    return database_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}", 1)


def test_database_restart_answers_503_then_recovers(tmp_path: Path, postgresql_url: str) -> None:
    """The PostgreSQL server goes away mid-service (a proxy cuts every connection and refuses new
    ones) and comes back: requests meanwhile fail fast with 503 and a page that says why, and the
    same workers answer again once it is back, without a restart."""
    database_url = postgresql_url
    assert "127.0.0.1:5432" in database_url
    config, nct_id = loaded(tmp_path, database_url)
    paths = site_paths(nct_id, condition_slug(database_url))
    proxy = TcpProxy("127.0.0.1", 5432)
    with proxy, served({**config, "database_url": through(proxy, database_url)}) as url, \
            httpx.Client(base_url=url, timeout=30) as client:
        for path in paths:
            assert client.get(path).status_code == 200, path
        proxy.stop()
        for path in paths:
            started = time.monotonic()
            answer = client.get(path)
            took = time.monotonic() - started
            assert answer.status_code == 503, (path, answer.status_code)
            assert took < 5, (path, took)
            assert "The database cannot be reached" in answer.text
            assert answer.headers["Retry-After"].isdigit()
            assert answer.headers["Content-Type"].startswith("text/html")
        proxy.start()
        for path in paths:
            assert client.get(path).status_code == 200, path


def triple_store_faults(data_dir: Path) -> list[tuple[str, dict[str, Any], Any]]:
    """(name, settings, how to break it) for each way the triple store can be out."""

    def replaced_by_file() -> None:
        shutil.rmtree(data_dir / "oxigraph")
        (data_dir / "oxigraph").write_text("not a store\n")

    def corrupt() -> None:
        for path in (data_dir / "oxigraph").rglob("*"):
            if path.is_file() and path.name != "current" and not path.name.endswith(".lock"):
                path.write_bytes(b"\0garbage\0" * 100)

    closed = f"http://127.0.0.1:{free_port()}/trialpub"
    remote = {"triplestore": "remote", "triplestore_query_url": f"{closed}/sparql",
              "triplestore_graph_store_url": f"{closed}/data"}
    return [("corrupt", {}, corrupt), ("replaced by a file", {}, replaced_by_file), ("remote closed", remote, None)]


@pytest.mark.parametrize("fault", ["corrupt", "replaced by a file", "remote closed"])
def test_triple_store_out_leaves_the_site_up(tmp_path: Path, database_url: str, fault: str) -> None:
    """The triple store is out: pages, feeds and RDF documents still come from the SQL store,
    and /sparql answers 503 with a message that says the SPARQL store is unavailable."""
    config, nct_id = loaded(tmp_path, database_url)
    name, settings, breaking = next(f for f in triple_store_faults(Path(config["data_dir"])) if f[0] == fault)
    if breaking is not None:
        breaking()
    with served({**config, **settings}) as url, httpx.Client(base_url=url, timeout=30) as client:
        for path in site_paths(nct_id, condition_slug(database_url)):
            assert client.get(path).status_code == 200, (name, path)
        for _ in range(2):  # the second query finds the endpoint as the first left it
            started = time.monotonic()
            answer = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 1"},
                                headers={"Accept": "application/sparql-results+json"})
            assert answer.status_code == 503, (name, answer.status_code, answer.text[:500])
            assert time.monotonic() - started < 15
            assert answer.text.startswith("the SPARQL store is unavailable: "), answer.text
            assert answer.headers["Retry-After"].isdigit()
