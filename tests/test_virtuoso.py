"""The external store for real: trialpub writing to and answering from Virtuoso Open Source."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from flask import Flask
from rdflib.compare import isomorphic
from werkzeug.serving import make_server

from server import tables as t
from server.indexer import reconcile_app
from server.load import load_paths
from server.sparql import GRAPH_FORMATS, RESULTS_FORMATS, rdflib_format
from server.store import store_of
from server.triplestore import export_ntriples, open_triplestore

from .conftest import STUDIES, SYNC_SETTINGS, VERSIONS, LiveServer, ServerThread, make_app
from .fake_registry import NEW_IDS, STATUS_CHANGES, snapshot_b
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
OTHER_GRAPH = "http://elsewhere.example/graph"


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Virtuoso]:
    """One server for the tests that only read what the ``loaded`` app wrote."""
    with Virtuoso(tmp_path_factory.mktemp("virtuoso")) as server:
        yield server


@pytest.fixture
def own_virtuoso(tmp_path: Path) -> Iterator[Virtuoso]:
    """A server of the test's own, for tests that write: queries see the union of all graphs."""
    with Virtuoso(tmp_path / "virtuoso") as server:
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


def test_a_new_version_replaces_the_graph(own_virtuoso, tmp_path: Path, database_url: str):
    first, *_, last = sorted((VERSIONS / "NCT05935098").glob("*.json"))
    app = make_app(tmp_path, database_url, base_url=BASE, **own_virtuoso.settings())
    store = store_of(app)
    load_paths(store, [first, *SOME[2:5]])
    index_app(app)
    # Someone else's graph in the same store, which ours must leave alone.
    triples = open_triplestore(app.config)
    triples.replace_graphs({OTHER_GRAPH: b'<http://elsewhere.example/a> <http://elsewhere.example/p> "theirs" .\n'})
    trial = rdflib.URIRef(f"{BASE}/trials/NCT05935098#trial")
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        before = construct(client, f"{BASE}/trials/NCT05935098")
        assert before.value(trial, SCHEMA.status) == SCHEMA.ActiveNotRecruiting
        load_paths(store, [last])
        assert index_app(app).written == 1
        after = construct(client, f"{BASE}/trials/NCT05935098")
        assert isomorphic(after, published(client, "NCT05935098"))
        assert after.value(trial, SCHEMA.status) == SCHEMA.Terminated
        assert (trial, SCHEMA.status, SCHEMA.ActiveNotRecruiting) not in after
        # The change is an event in the changes graph too.
        events = client.get("/sparql", params={"query": f"ASK {{ GRAPH <{BASE}/changes> {{ ?e ?p <{trial}> }} }}"})
        assert events.json()["boolean"] is True
    # A trial taken off the registry loses its graph (DELETE); a rebuild spares other graphs.
    gone = SOME[2].stem
    with store.engine.begin() as conn:
        conn.execute(t.trials.update().where(t.trials.c.nct_id == gone).values(removed_at=dt.datetime.now(dt.UTC)))
    assert index_app(app).removed == 1
    assert f"{BASE}/trials/{gone}" not in our_graphs(own_virtuoso, BASE)
    assert reconcile_app(app.config, store, rebuild=True).rebuilt
    kept = {"NCT05935098", *(path.stem for path in SOME[3:5])}
    assert our_graphs(own_virtuoso, BASE) == {f"{BASE}/trials/{n}" for n in kept} | {f"{BASE}/vocab", f"{BASE}/changes"}
    assert own_virtuoso.select(f"SELECT ?o WHERE {{ GRAPH <{OTHER_GRAPH}> {{ ?s ?p ?o }} }}")[0]["o"]["value"] == "theirs"
    triples.close()
    stop_queries(app)
    store.engine.dispose()


def test_every_format_reads_back(client):
    nct_id = SOME[2].stem
    graph = f"{BASE}/trials/{nct_id}"
    expected = published(client, nct_id)
    for extension, media_type in GRAPH_FORMATS.items():
        query = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
        answer = client.get("/sparql", params={"query": query}, headers={"Accept": media_type})
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(media_type), extension
        assert isomorphic(rdflib.Graph().parse(data=answer.content, format=rdflib_format(media_type)), expected)
    # Blank nodes, typed and plain literals in one table.
    select = f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    rows = len(expected)
    for media_type in RESULTS_FORMATS.values():
        answer = client.get("/sparql", params={"query": select}, headers={"Accept": media_type})
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(media_type), media_type
        if media_type == RESULTS_FORMATS["csv"]:  # lossy: Oxigraph will not read it
            assert len(list(csv.reader(io.StringIO(answer.text)))) == rows + 1
            continue
        solutions = ox.parse_query_results(answer.content, ox.QueryResultsFormat.from_media_type(media_type))
        assert isinstance(solutions, ox.QuerySolutions) and len(list(solutions)) == rows, media_type
    for pattern, truth in ((f"<{graph}#trial> ?p ?o", True), (f"<{graph}#nothing> ?p ?o", False)):
        for media_type in (RESULTS_FORMATS["json"], RESULTS_FORMATS["xml"]):
            answer = client.get("/sparql", params={"query": f"ASK {{ {pattern} }}"}, headers={"Accept": media_type})
            boolean = ox.parse_query_results(answer.content, ox.QueryResultsFormat.from_media_type(media_type))
            assert isinstance(boolean, ox.QueryBoolean) and bool(boolean) is truth


def test_the_cap_on_rows_holds(loaded, client, monkeypatch):
    monkeypatch.setitem(loaded.config, "SPARQL_MAX_ROWS", 100)
    for query in ("SELECT * WHERE { ?s ?p ?o } LIMIT 500", "CONSTRUCT WHERE { ?s ?p ?o } LIMIT 500"):
        answer = client.get("/sparql", params={"query": query}, headers={"Accept": "application/n-triples, */*;q=0.1"})
        assert answer.status_code == 200 and answer.headers["X-SPARQL-MaxRows"] == "100"
        if query.startswith("SELECT"):
            assert len(answer.json()["results"]["bindings"]) == 100
        else:
            assert len(rdflib.Graph().parse(data=answer.content, format="nt")) == 100


def test_the_dataset_description_counts_what_virtuoso_holds(client):
    void = rdflib.Graph().parse(data=client.get("/.well-known/void", headers={"Accept": "text/turtle"}).content)
    entities = {int(o) for o in void.objects(None, rdflib.URIRef("http://rdfs.org/ns/void#entities"))}
    assert len(SOME) + 1 in entities


def test_a_sync_keeps_virtuoso_in_step(own_virtuoso, fake_registry, tmp_path: Path, database_url: str):
    base = "http://sync.example"
    settings = {**SYNC_SETTINGS, **own_virtuoso.settings(), "base_url": base, "registry_url": fake_registry.url}
    app = make_app(tmp_path, database_url, **settings)
    env = {**os.environ, **{f"TRIALPUB_{key.upper()}": str(value) for key, value in settings.items()}}
    env |= {"TRIALPUB_DATABASE_URL": database_url, "TRIALPUB_DATA_DIR": app.config["DATA_DIR"]}

    def trialpub(*args: str) -> None:
        done = subprocess.run([sys.executable, "-m", "server.cli", *args], capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr

    trialpub("sync")
    fake_registry.snapshot(*snapshot_b())
    trialpub("sync")
    graphs = our_graphs(own_virtuoso, base)
    assert {f"{base}/trials/{nct_id}" for nct_id in NEW_IDS} <= graphs
    assert len(graphs) == len(snapshot_b()[0]) + 2  # and the vocabulary and the events
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        answer = client.get("/sparql", params={"query": BY_STATUS})
        counted = {row["status"]["value"]: int(row["n"]["value"]) for row in answer.json()["results"]["bindings"]}
        assert counted == sql_status_counts(store_of(app), base)
        for nct_id, _, _ in STATUS_CHANGES:
            assert isomorphic(construct(client, f"{base}/trials/{nct_id}"), published(client, nct_id)), nct_id
    stop_queries(app)
    store_of(app).engine.dispose()


def test_virtuoso_s_own_time_limit_is_a_timeout(tmp_path: Path, database_url: str):
    with Virtuoso(tmp_path / "virtuoso", query_seconds=1) as impatient:
        app = make_app(tmp_path, database_url, sparql_timeout=60.0, **impatient.settings())
        with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=90) as client:
            # Virtuoso's own graphs are enough for a product that does not end within a second.
            query = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
            answer = client.get("/sparql", params={"query": query})
            assert answer.status_code == 503 and "time limit" in answer.text
        stop_queries(app)
        store_of(app).engine.dispose()


def test_the_dump_reads_every_graph_back(virtuoso, loaded):
    dumped = ox.Store()
    for chunk in export_ntriples(loaded.config):
        dumped.load(chunk, ox.RdfFormat.N_TRIPLES)
    ours = f'FILTER(STRSTARTS(STR(?g), "{BASE}/"))'
    held = virtuoso.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {ours} }}")
    assert len(dumped) == int(held[0]["n"]["value"]) > 20_000


def test_virtuoso_s_own_functions_fetch_nothing(virtuoso, client):
    fetched: list[str] = []

    def site(environ, start_response):  # type: ignore[no-untyped-def]
        fetched.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/turtle")])
        return [b'<http://a.example/s> <http://a.example/p> "fetched" .']

    with ServerThread(make_server("127.0.0.1", 0, site)) as other:
        url = f"{other.url}/x.ttl"
        # Virtuoso itself would: the anonymous user may call bif:http_get.
        assert "fetched" in virtuoso.select(f'SELECT (bif:http_get("{url}") AS ?x) WHERE {{}}')[0]["x"]["value"]
        fetched.clear()
        for query in (
            f'SELECT (bif:http_get("{url}") AS ?x) WHERE {{}}',
            f'PREFIX b: <bif:>\nSELECT (b:http_get("{url}") AS ?x) WHERE {{}}',
            f'SELECT (<\\u0062if:http_get>("{url}") AS ?x) WHERE {{}}',
            f'DEFINE get:soft "soft" SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}',
            f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        ):
            answer = client.post("/sparql", data={"query": query})
            assert answer.status_code == 400 and "not accepted" in answer.text, query
        assert fetched == []
