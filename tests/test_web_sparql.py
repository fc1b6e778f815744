"""The SPARQL endpoint over real HTTP, on real records, with real query processes."""

from __future__ import annotations

import csv
import io
import json
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from flask import Flask
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF

from server.dataset import SD
from server.load import load_paths
from server.store import store_of

from .conftest import STUDIES, LiveServer, make_app
from .sparql_support import BY_STATUS, index_app, indexed_app, sql_status_counts, stop_queries

SCHEMA = "PREFIX schema: <https://schema.org/>\n"
RESULTS_NS = "{http://www.w3.org/2005/sparql-results#}"
# Cubic in the number of triples: never finishes on the fixture trials.
EXPENSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """All fixture trials, indexed, behind a live server; shared by the read-only tests here."""
    tmp = tmp_path_factory.mktemp("sparql")
    # Every test here asks from 127.0.0.1: the minute's limit (tested in test_web_security) is off.
    app = make_app(tmp, f"sqlite:///{tmp / 'test.sqlite3'}", sparql_client_per_minute=0)
    load_paths(store_of(app), [STUDIES])
    index_app(app)
    with LiveServer(app) as live:
        yield live
    stop_queries(app)
    store_of(app).engine.dispose()


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def json_rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    data = response.json()
    return [{k: v["value"] for k, v in row.items()} for row in data["results"]["bindings"]]


def test_counts_by_status_equal_the_sql_stores(app: Flask, live_server: LiveServer):
    load_paths(store_of(app), [STUDIES])
    index_app(app)
    expected = sql_status_counts(store_of(app), app.config["BASE_URL"])
    response = httpx.get(f"{live_server.url}/sparql", params={"query": BY_STATUS}, timeout=60)
    stop_queries(app)
    assert {row["status"]: int(row["n"]) for row in json_rows(response)} == expected
    assert sum(expected.values()) == len(list(STUDIES.glob("*.json")))
    assert len(expected) >= 8


def parse_rows(media_type: str, text: str) -> dict[str, int]:
    """Read the status counts back out of any results format."""
    if media_type == "application/sparql-results+json":
        rows = [(b["status"]["value"], b["n"]["value"]) for b in json.loads(text)["results"]["bindings"]]
    elif media_type == "application/sparql-results+xml":
        rows = []
        for result in ET.fromstring(text).iter(f"{RESULTS_NS}result"):
            # Each binding holds one <uri> or <literal>.
            cells = {b.get("name"): next(iter(b)).text for b in result.iter(f"{RESULTS_NS}binding")}
            rows.append((cells["status"], cells["n"]))
    elif media_type == "text/csv":
        rows = [(r["status"], r["n"]) for r in csv.DictReader(io.StringIO(text))]
    else:
        table = list(csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))
        assert table[0] == ["?status", "?n"]
        rows = [(status.strip("<>"), n) for status, n in table[1:]]
    return {status: int(n) for status, n in rows}


RESULTS_TYPES = ["application/sparql-results+json", "application/sparql-results+xml", "text/csv", "text/tab-separated-values"]


@pytest.mark.parametrize("media_type", RESULTS_TYPES)
def test_every_results_format_by_accept_and_by_format_parses(client, media_type):
    reference = {r["status"]: int(r["n"]) for r in json_rows(client.get("/sparql", params={"query": BY_STATUS}))}
    by_accept = client.get("/sparql", params={"query": BY_STATUS}, headers={"Accept": media_type})
    assert by_accept.headers["content-type"].split(";")[0] == media_type
    assert parse_rows(media_type, by_accept.text) == reference
    by_format = client.get("/sparql", params={"query": BY_STATUS, "format": media_type})
    assert parse_rows(media_type, by_format.text) == reference


def test_post_form_and_post_query_body_answer_alike(client):
    form = client.post("/sparql", data={"query": BY_STATUS})
    body = client.post("/sparql", content=BY_STATUS.encode(), headers={"Content-Type": "application/sparql-query"})
    get = client.get("/sparql", params={"query": BY_STATUS})
    assert sorted(json_rows(form), key=str) == sorted(json_rows(body), key=str) == sorted(json_rows(get), key=str)


GRAPH_TYPES = {"text/turtle": "turtle", "application/n-triples": "nt", "application/ld+json": "json-ld", "application/rdf+xml": "xml"}


@pytest.mark.parametrize(("media_type", "rdflib_format"), GRAPH_TYPES.items())
def test_construct_and_describe_in_every_graph_format(client, media_type, rdflib_format):
    trial = "NCT00001908"
    graph_iri = f"http://127.0.0.1:8000/trials/{trial}"
    construct = client.get("/sparql", params={"query": f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph_iri}> {{ ?s ?p ?o }} }}"}, headers={"Accept": media_type})
    assert construct.status_code == 200 and construct.headers["content-type"].startswith(media_type)
    got = Graph().parse(data=construct.content, format=rdflib_format)
    count = client.get("/sparql", params={"query": f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph_iri}> {{ ?s ?p ?o }} }}"})
    assert len(got) == int(json_rows(count)[0]["n"]) > 3
    # What the store holds of a trial is what its own document says.
    document = client.get(f"/trials/{trial}.ttl")
    assert document.status_code == 200
    assert isomorphic(got, Graph().parse(data=document.content, format="turtle"))
    describe = client.get("/sparql", params={"query": f"DESCRIBE <{graph_iri}#trial>"}, headers={"Accept": media_type})
    described = Graph().parse(data=describe.content, format=rdflib_format)
    assert (URIRef(f"{graph_iri}#trial"), RDF.type, URIRef("https://schema.org/MedicalObservationalStudy")) in described


def test_ask_in_json_and_xml(client):
    # Plain strings in the graphs match plain strings in queries.
    yes = client.get("/sparql", params={"query": SCHEMA + 'ASK { ?t schema:identifier/schema:value "NCT00001908" ; schema:name "T Cell Cytokine Changes During IL-4 Receptor Treatment for Asthma" }'})
    assert yes.json() == {"head": {}, "boolean": True}
    no = client.get("/sparql", params={"query": SCHEMA + 'ASK { ?t schema:identifier/schema:value "NCT99999999" }'}, headers={"Accept": "application/sparql-results+xml"})
    assert ET.fromstring(no.text).find(f"{RESULTS_NS}boolean").text == "false"


def test_protocol_graph_parameters(client):
    query = "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s ?p ?o }"
    one = ["http://127.0.0.1:8000/trials/NCT00001908"]
    assert json_rows(client.get("/sparql", params={"query": query, "default-graph-uri": one}))[0]["n"] != json_rows(client.get("/sparql", params={"query": query}))[0]["n"]
    named = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    two = [*one, "http://127.0.0.1:8000/trials/NCT00001909"]
    rows = json_rows(client.get("/sparql", params={"query": named, "named-graph-uri": two}))
    assert sorted(r["g"] for r in rows) == two


@pytest.mark.parametrize(
    ("request_kwargs"),
    [
        {"method": "POST", "data": {"update": "INSERT DATA { <http://e/a> <http://e/b> <http://e/c> }"}},
        {"method": "POST", "content": b"DROP ALL", "headers": {"Content-Type": "application/sparql-update"}},
        {"method": "GET", "params": {"query": "CLEAR ALL"}},
        {"method": "GET", "params": {"update": "CLEAR ALL"}},
    ],
)
def test_updates_are_refused_and_change_nothing(client, request_kwargs):
    before = json_rows(client.get("/sparql", params={"query": BY_STATUS}))
    response = client.request(url="/sparql", **request_kwargs)
    assert response.status_code == 403
    assert "read-only" in response.text
    assert json_rows(client.get("/sparql", params={"query": BY_STATUS})) == before


def test_a_malformed_query_gets_the_parsers_message(client):
    response = client.get("/sparql", params={"query": "SELECT ?s WHERE { ?s ?p }"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith("error at 1:")


def test_an_oversize_query_gets_413(client):
    query = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 30_000
    assert client.post("/sparql", data={"query": query}).status_code == 413
    assert client.post("/sparql", content=query.encode() * 5, headers={"Content-Type": "application/sparql-query"}).status_code == 413


def test_federated_queries_are_refused(client):
    response = client.get("/sparql", params={"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"})
    assert response.status_code == 400 and "SERVICE" in response.text


def test_cors_is_open(client):
    assert client.get("/sparql", params={"query": BY_STATUS}).headers["access-control-allow-origin"] == "*"
    preflight = client.options("/sparql", headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert client.get("/sparql", params={"query": "nonsense"}).headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize(("accept", "rdflib_format"), [(None, "turtle"), ("text/turtle", "turtle"), ("application/ld+json", "json-ld"), ("application/rdf+xml", "xml"), ("application/n-triples", "nt")])
def test_the_service_description_parses(client, accept, rdflib_format):
    response = client.get("/sparql", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    graph = Graph().parse(data=response.content, format=rdflib_format)
    service = next(graph.subjects(RDF.type, SD.Service))
    assert (service, SD.endpoint, URIRef("http://127.0.0.1:8000/sparql")) in graph
    assert (service, SD.feature, SD.UnionDefaultGraph) in graph


def test_a_browser_gets_a_form_whose_examples_run(client):
    page = client.get("/sparql", headers={"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"})
    assert page.status_code == 200 and "<form" in page.text and "<textarea" in page.text
    from html.parser import HTMLParser

    class Links(HTMLParser):
        def __init__(self):
            super().__init__()
            self.links = []

        def handle_starttag(self, tag, attrs):
            href = dict(attrs).get("href") or ""
            if tag == "a" and href.startswith("/sparql?query="):
                self.links.append(href)

    parser = Links()
    parser.feed(page.text)
    assert len(parser.links) >= 4
    answers = [client.get(link, headers={"Accept": "text/html"}) for link in parser.links]
    for link, answer in zip(parser.links, answers, strict=True):
        assert answer.status_code == 200, link
        assert "<table>" in answer.text and "The query was not run" not in answer.text
    # The vocabulary example lists our terms (examples about events have rows once events exist).
    assert any('<a href="http://127.0.0.1:8000/vocab#changeKind">' in answer.text for answer in answers)


def test_a_browser_sees_syntax_errors_on_the_form(client):
    page = client.get("/sparql", params={"query": "SELECT ?s WHERE {"}, headers={"Accept": "text/html"})
    assert page.status_code == 400
    assert "The query was not run" in page.text and "error at 1:" in page.text


def test_row_cap_is_announced(tmp_path: Path, database_url: str):
    app = indexed_app(tmp_path, database_url, 10, sparql_max_rows=5)
    with LiveServer(app) as live:
        response = httpx.get(f"{live.url}/sparql", params={"query": "SELECT * WHERE { ?s ?p ?o }", "format": "csv"}, timeout=60)
    stop_queries(app)
    assert response.headers["x-sparql-maxrows"] == "5"
    assert len(list(csv.reader(io.StringIO(response.text)))) == 6


def test_before_any_index_the_endpoint_says_so(app: Flask, live_server: LiveServer):
    response = httpx.get(f"{live_server.url}/sparql", params={"query": BY_STATUS}, timeout=60)
    stop_queries(app)
    assert response.status_code == 503
    assert "not built yet" in response.text


@pytest.mark.parametrize(("slots", "while_slow"), [(2, 200), (1, 503)])
def test_an_expensive_query_is_stopped_and_the_server_keeps_answering(tmp_path: Path, database_url: str, slots, while_slow):
    # One client here stands for many: the machine-wide slots are under test, not the per-client ones.
    app = indexed_app(
        tmp_path, database_url, 60, sparql_timeout=3.0, sparql_max_concurrent=slots, sparql_client_max_concurrent=0
    )
    results: dict[str, httpx.Response] = {}
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=60) as client:
        started = time.monotonic()
        slow = threading.Thread(target=lambda: results.setdefault("slow", client.get("/sparql", params={"query": EXPENSIVE})))
        slow.start()
        time.sleep(1.0)
        # With a slot free, others are answered meanwhile; with none, they are told to come back.
        during = client.get("/sparql", params={"query": BY_STATUS})
        slow.join()
        elapsed = time.monotonic() - started
        assert during.status_code == while_slow
        assert while_slow == 200 or "busy" in during.text
        assert results["slow"].status_code == 503
        assert "ran longer than 3 s" in results["slow"].text
        assert results["slow"].headers["retry-after"]
        assert elapsed < 30
        # The killed query process is replaced.
        assert client.get("/sparql", params={"query": BY_STATUS}).status_code == 200
    stop_queries(app)
