"""The scale-out path: graphs pushed to a real HTTP SPARQL store, and /sparql answered by it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from server import tables as t
from server.errors import TripleStoreUnavailable
from server.indexer import reconcile
from server.load import load_paths
from server.remotestore import RemoteStore
from server.store import store_of
from server.triplestore import OxigraphStore, open_triplestore

from .conftest import STUDIES, LiveServer, make_app
from .sparql_support import (
    BY_STATUS,
    RemoteStoreServer,
    index_app,
    renderers,
    sql_status_counts,
    stop_queries,
    study_type_counts,
)

BASE = "http://127.0.0.1:8000"
SOME = sorted(STUDIES.glob("*.json"))[:25]
OTHER_GRAPH = "http://elsewhere.example/graph"


@pytest.fixture
def remote() -> Iterator[RemoteStoreServer]:
    with RemoteStoreServer() as server:
        # Someone else's data in the same store, which ours must leave alone.
        server.store.load(b'<http://elsewhere.example/a> <http://elsewhere.example/p> "theirs" .', ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(OTHER_GRAPH))
        yield server


def quads(store: ox.Store, prefix: str) -> set[tuple[str, ...]]:
    return {
        tuple("_" if isinstance(term, ox.BlankNode) else str(term) for term in (q.subject, q.predicate, q.object, q.graph_name))
        for q in store.quads_for_pattern(None, None, None, None)
        if q.graph_name.value.startswith(prefix)
    }


def test_remote_store_holds_what_the_embedded_one_does(store, remote, tmp_path: Path):
    load_paths(store, SOME)
    config = {k.upper(): v for k, v in remote.settings().items()} | {"BASE_URL": BASE, "DATA_DIR": str(tmp_path)}
    triples = open_triplestore(config)
    assert isinstance(triples, RemoteStore)
    summary = reconcile(store, triples, renderers(BASE)[0], BASE)
    assert summary.written == 25 and summary.rebuilt
    assert ("PUT", "/data") in remote.requests
    # Removal through the Graph Store Protocol, and a rebuild that spares other graphs.
    with store.engine.begin() as conn:
        conn.execute(t.trials.update().where(t.trials.c.nct_id == SOME[0].stem).values(removed_at=dt.datetime.now(dt.UTC)))
    assert reconcile(store, triples, renderers(BASE)[0], BASE).removed == 1
    assert not remote.store.contains_named_graph(ox.NamedNode(f"{BASE}/trials/{SOME[0].stem}"))
    reconcile(store, triples, renderers(BASE)[0], BASE, rebuild=True)
    assert remote.store.contains_named_graph(ox.NamedNode(OTHER_GRAPH))
    stats = triples.statistics()
    exported = ox.Store()
    for chunk in triples.iter_graph_ntriples():
        exported.load(chunk, ox.RdfFormat.N_TRIPLES)
    triples.close()
    # The same SQL store indexed into the embedded store gives the same quads.
    embedded = OxigraphStore(tmp_path / "ox")
    reconcile(store, embedded, renderers(BASE)[0], BASE)
    assert quads(remote.store, BASE) == quads(embedded.store, BASE)
    assert stats.quads == len(embedded.store) == len(exported)
    expected = study_type_counts(SOME[1:], BASE)
    assert {c: n for c, n in stats.classes.items() if c in expected} == expected
    embedded.close()


def test_wrong_credentials_are_a_clear_error(store, remote, tmp_path: Path):
    load_paths(store, SOME[:2])
    settings = {k.upper(): v for k, v in remote.settings().items()} | {"BASE_URL": BASE, "TRIPLESTORE_PASSWORD": "wrong"}
    triples = open_triplestore(settings)
    with pytest.raises(TripleStoreUnavailable, match="401"):
        reconcile(store, triples, renderers(BASE)[0], BASE)
    triples.close()


def test_an_unreachable_store_is_a_clear_error(store):
    load_paths(store, SOME[:2])
    settings = {"TRIPLESTORE": "remote", "TRIPLESTORE_QUERY_URL": "http://127.0.0.1:1/sparql", "TRIPLESTORE_GRAPH_STORE_URL": "http://127.0.0.1:1/data",
                "TRIPLESTORE_USER": "", "TRIPLESTORE_PASSWORD": "", "TRIPLESTORE_AUTH": "basic", "BASE_URL": BASE}
    triples = open_triplestore(settings)
    with pytest.raises(TripleStoreUnavailable, match="cannot reach"):
        reconcile(store, triples, renderers(BASE)[0], BASE)
    triples.close()


def test_the_endpoint_answers_from_the_remote_store(tmp_path: Path, database_url: str, remote):
    app = make_app(tmp_path, database_url, sparql_timeout=2.0, **remote.settings())
    load_paths(store_of(app), SOME)
    index_app(app)
    expected = sql_status_counts(store_of(app), BASE)
    query = BY_STATUS
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        answer = client.get("/sparql", params={"query": query})
        assert answer.status_code == 200
        assert {b["status"]["value"]: int(b["n"]["value"]) for b in answer.json()["results"]["bindings"]} == expected
        csv_answer = client.get("/sparql", params={"query": query}, headers={"Accept": "text/csv"})
        assert csv_answer.headers["content-type"].startswith("text/csv") and csv_answer.text.startswith("status,n")
        graph = client.get("/sparql", params={"query": f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{BASE}/trials/{SOME[1].stem}> {{ ?s ?p ?o }} }}"}, headers={"Accept": "application/n-triples"})
        assert graph.headers["content-type"].startswith("application/n-triples") and graph.text.count(" .\n") > 3
        bad = client.get("/sparql", params={"query": "SELECT ?s WHERE { ?s ?p }"})
        assert bad.status_code == 400 and "Parse error" in bad.text
        assert client.get("/sparql", params={"query": "DROP ALL"}).status_code == 403
        slow = client.get("/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o } #sleep"})
        assert slow.status_code == 503 and "time limit" in slow.text
        void = client.get("/.well-known/void")
        assert "void:entities 25" in void.text
    stop_queries(app)
