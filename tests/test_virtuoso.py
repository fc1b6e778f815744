"""The external store for real: trialpub writing to and answering from Virtuoso Open Source."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import rdflib
from flask import Flask
from rdflib.compare import isomorphic

from server.load import load_paths
from server.store import store_of

from .conftest import STUDIES, VERSIONS, LiveServer, make_app
from .sparql_support import BY_STATUS, index_app, sql_status_counts, stop_queries
from .virtuoso import VIRTUOSO, Virtuoso

pytestmark = pytest.mark.skipif(
    VIRTUOSO is None, reason="virtuoso-t is not installed (Debian package virtuoso-opensource)"
)

BASE = "http://127.0.0.1:8000"
# The two largest records (their graphs run to many thousand triples) among the first ones.
BIG = [STUDIES / "NCT04047862.json", STUDIES / "NCT03793179.json"]
SOME = [*BIG, *sorted(set(STUDIES.glob("*.json")) - set(BIG))[:48]]
SCHEMA = rdflib.Namespace("https://schema.org/")


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtuoso]:
    with Virtuoso(tmp_path_factory.mktemp("virtuoso")) as server:
        yield server


@pytest.fixture(scope="module")
def loaded(virtuoso: Virtuoso, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app on SQLite whose trials, vocabulary and events went to Virtuoso."""
    folder = tmp_path_factory.mktemp("site")
    # Room for the largest graph in one CONSTRUCT answer.
    settings = {"base_url": BASE, "sparql_max_rows": 50_000, **virtuoso.settings()}
    app = make_app(folder, f"sqlite:///{folder / 'site.sqlite3'}", **settings)
    # A trial seen twice, so that there are change events too.
    first, *_, last = sorted((VERSIONS / "NCT07227597").glob("*.json"))
    load_paths(store_of(app), [*SOME, first])
    load_paths(store_of(app), [last])
    summary = index_app(app)
    assert summary.written == len(SOME) + 1 and summary.events > 0 and not summary.failed
    yield app
    stop_queries(app)
    store_of(app).engine.dispose()


@pytest.fixture(scope="module")
def client(loaded: Flask) -> Iterator[httpx.Client]:
    with LiveServer(loaded) as live, httpx.Client(base_url=live.url, timeout=60) as http:
        yield http


def our_graphs(virtuoso: Virtuoso, base: str) -> set[str]:
    rows = virtuoso.select(
        f'SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), "{base}/")) }}'
    )
    return {row["g"]["value"] for row in rows}


def construct(client: httpx.Client, graph: str) -> rdflib.Graph:
    """CONSTRUCT one named graph through our endpoint, parsed back."""
    answer = client.get(
        "/sparql",
        params={"query": f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"},
        headers={"Accept": "text/turtle"},
    )
    assert answer.status_code == 200, answer.text
    return rdflib.Graph().parse(data=answer.content, format="turtle")


def published(client: httpx.Client, nct_id: str) -> rdflib.Graph:
    answer = client.get(f"/trials/{nct_id}.ttl")
    assert answer.status_code == 200
    return rdflib.Graph().parse(data=answer.content, format="turtle")


def test_each_trial_has_its_graph_beside_the_vocabulary_and_the_events(virtuoso, loaded):
    graphs = our_graphs(virtuoso, BASE)
    trials = {f"{BASE}/trials/{nct_id}" for nct_id in [*(path.stem for path in SOME), "NCT07227597"]}
    assert trials <= graphs
    assert graphs - trials == {f"{BASE}/vocab", f"{BASE}/changes"}
    vocab = virtuoso.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{BASE}/vocab> {{ ?s ?p ?o }} }}")
    assert int(vocab[0]["n"]["value"]) > 20


def test_counts_by_status_agree_with_the_sql_store(loaded, client):
    answer = client.get("/sparql", params={"query": BY_STATUS})
    assert answer.status_code == 200, answer.text
    counted = {row["status"]["value"]: int(row["n"]["value"]) for row in answer.json()["results"]["bindings"]}
    assert counted == sql_status_counts(store_of(loaded), BASE)


def test_a_trial_graph_comes_back_as_published(client):
    for path in SOME[:6]:
        graph = f"{BASE}/trials/{path.stem}"
        assert isomorphic(construct(client, graph), published(client, path.stem)), path.stem


def test_a_plain_string_finds_its_literal(client):
    nct_id = SOME[3].stem
    name = published(client, nct_id).value(rdflib.URIRef(f"{BASE}/trials/{nct_id}#trial"), SCHEMA.name)
    assert isinstance(name, rdflib.Literal)
    literal = rdflib.Literal(str(name)).n3()
    # Not STRDT(…, xsd:string): Virtuoso 7 keeps that apart from the plain literal the graphs hold.
    for test in (f"?name = {literal}", f"STR(?name) = {literal}", f"STRSTARTS(?name, {literal[:20]}\")"):
        query = (
            "PREFIX schema: <https://schema.org/>\n"
            f'SELECT ?t WHERE {{ ?t schema:name ?name FILTER(({test}) && STRENDS(STR(?t), "#trial")) }}'
        )
        answer = client.get("/sparql", params={"query": query})
        assert answer.status_code == 200, answer.text
        found = {row["t"]["value"] for row in answer.json()["results"]["bindings"]}
        assert found == {f"{BASE}/trials/{nct_id}#trial"}, test


def test_updates_are_refused_before_virtuoso_sees_them(virtuoso, client):
    before = our_graphs(virtuoso, BASE)
    drop = f"DROP GRAPH <{BASE}/vocab>"
    assert client.get("/sparql", params={"query": drop}).status_code == 403
    assert client.post("/sparql", data={"update": drop}).status_code == 403
    assert client.post("/sparql", content=drop, headers={"Content-Type": "application/sparql-update"}).status_code == 403
    insert = f"PREFIX x: <http://x/>\nINSERT DATA {{ GRAPH <{BASE}/vocab> {{ x:a x:b x:c }} }}"
    assert client.post("/sparql", data={"query": insert}).status_code == 403
    assert our_graphs(virtuoso, BASE) == before


def test_a_new_version_replaces_the_graph(virtuoso, tmp_path: Path, database_url: str):
    base = "http://versions.example"
    first, *_, last = sorted((VERSIONS / "NCT05935098").glob("*.json"))
    app = make_app(tmp_path, database_url, base_url=base, **virtuoso.settings())
    load_paths(store_of(app), [first, *SOME[:3]])
    index_app(app)
    trial = rdflib.URIRef(f"{base}/trials/NCT05935098#trial")
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        before = construct(client, f"{base}/trials/NCT05935098")
        assert before.value(trial, SCHEMA.status) == SCHEMA.ActiveNotRecruiting
        load_paths(store_of(app), [last])
        assert index_app(app).written == 1
        after = construct(client, f"{base}/trials/NCT05935098")
        assert isomorphic(after, published(client, "NCT05935098"))
        assert after.value(trial, SCHEMA.status) == SCHEMA.Terminated
        assert (trial, SCHEMA.status, SCHEMA.ActiveNotRecruiting) not in after
        # The change is an event in the changes graph too.
        events = client.get(
            "/sparql",
            params={"query": f"ASK {{ GRAPH <{base}/changes> {{ ?e ?p <{trial}> }} }}"},
        )
        assert events.json()["boolean"] is True
    stop_queries(app)
    store_of(app).engine.dispose()
