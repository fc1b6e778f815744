"""A SPARQL client (SPARQLWrapper) asks the demo for recruiting trials of a condition by country."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterator

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import SDO
from SPARQLWrapper import CSV, JSON, JSONLD, N3, RDFXML, TSV, TURTLE, XML, SPARQLWrapper

from server.load import load_paths
from server.resources import resource_path
from server.store import store_of
from server.trials import parse_trial

from .conftest import LiveServer, make_app
from .sparql_support import index_app, stop_queries

BY_COUNTRY = """PREFIX schema: <https://schema.org/>
SELECT ?country (COUNT(DISTINCT ?trial) AS ?trials) WHERE {
  ?trial schema:status schema:%(status)s ;
         schema:healthCondition/schema:name ?condition ;
         schema:studyLocation/schema:name ?country .
  FILTER(CONTAINS(LCASE(?condition), "%(word)s"))
}
GROUP BY ?country
ORDER BY ?country"""

# The bundled sample holds three myeloma trials, none of them recruiting: that question's right
# answer is "none", and the same question for the statuses they do have answers with rows (one
# trial in 36 countries, one in 4). Other conditions check answers with many trials per country.
QUESTIONS = [
    ("myeloma", "RECRUITING"),
    ("myeloma", "NOT_YET_RECRUITING"),
    ("myeloma", "TERMINATED"),
    ("leukemia", "RECRUITING"),
    ("cancer", "RECRUITING"),
    ("diabetes", "NOT_YET_RECRUITING"),
]
# The registry's status codes as schema.org names them.
STATUS_TERMS = {"RECRUITING": "Recruiting", "NOT_YET_RECRUITING": "NotYetRecruiting", "TERMINATED": "Terminated"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict]]:
    """The demo's data, loaded as `trialpub demo` loads it, and the answers the SQL store gives."""
    tmp = tmp_path_factory.mktemp("demo")
    app = make_app(tmp, f"sqlite:///{tmp / 'demo.sqlite3'}")
    load_paths(store_of(app), [resource_path("sample", "history"), resource_path("sample", "studies")])
    index_app(app)
    expected: dict[tuple[str, str], dict[str, int]] = {}
    for word, status in QUESTIONS:
        trials_by_country: dict[str, set[str]] = defaultdict(set)
        for stored in store_of(app).iter_current():
            trial = parse_trial(stored.record)
            # The record's conditions and the MeSH terms the registry derived from them.
            named = [*trial.conditions, *(term.term for term in trial.condition_mesh.terms)]
            if trial.overall_status == status and any(word in c.lower() for c in named):
                for country in trial.countries:
                    trials_by_country[country].add(trial.nct_id)
        expected[(word, status)] = {country: len(ids) for country, ids in trials_by_country.items()}
    with LiveServer(app) as live:
        yield live, expected
    stop_queries(app)
    store_of(app).engine.dispose()


def client(url: str, query: str, return_format: str) -> SPARQLWrapper:
    sparql = SPARQLWrapper(f"{url}/sparql")
    sparql.setQuery(query)
    sparql.setReturnFormat(return_format)
    return sparql


def answer(url: str, query: str, return_format: str) -> dict[str, int]:
    """Ask, and read the answer back with the parser each format calls for."""
    result = client(url, query, return_format).query()
    converted = result.convert()
    if return_format == JSON:
        rows = [(b["country"]["value"], b["trials"]["value"]) for b in converted["results"]["bindings"]]
    elif return_format == XML:
        rows = []
        for node in converted.getElementsByTagName("result"):
            cells = {b.getAttribute("name"): b.getElementsByTagName("literal")[0].firstChild.data for b in node.getElementsByTagName("binding")}
            rows.append((cells["country"], cells["trials"]))
    elif return_format == CSV:
        rows = [(r["country"], r["trials"]) for r in csv.DictReader(io.StringIO(converted.decode()))]
    else:
        table = list(csv.reader(io.StringIO(converted.decode()), delimiter="\t", quoting=csv.QUOTE_NONE))
        assert table[0] == ["?country", "?trials"]
        rows = [(country[1:-1], n) for country, n in table[1:]]
    return {country: int(n) for country, n in rows}


@pytest.mark.parametrize("return_format", [JSON, XML, CSV, TSV])
@pytest.mark.parametrize(("word", "status"), QUESTIONS)
def test_trials_by_country_in_every_results_format(demo, word, status, return_format):
    live, expected = demo
    query = BY_COUNTRY % {"word": word, "status": STATUS_TERMS[status]}
    assert answer(live.url, query, return_format) == expected[(word, status)]


def test_the_questions_with_rows_have_rows(demo):
    _, expected = demo
    assert expected[("myeloma", "RECRUITING")] == {}
    assert all(expected[q] for q in QUESTIONS[1:])
    assert len(expected[("myeloma", "NOT_YET_RECRUITING")]) == 36
    assert expected[("myeloma", "TERMINATED")] == {"Belgium": 1, "France": 1, "Spain": 1, "United States": 1}
    assert len(expected[("cancer", "RECRUITING")]) > 3


CONSTRUCT = """PREFIX schema: <https://schema.org/>
CONSTRUCT { ?trial schema:status ?status ; schema:studyLocation ?place . ?place schema:name ?country }
WHERE {
  ?trial schema:status ?status ; schema:healthCondition/schema:name ?condition ; schema:studyLocation ?place .
  ?place schema:name ?country .
  FILTER(?status = schema:Recruiting && CONTAINS(LCASE(?condition), "cancer"))
}"""


@pytest.mark.parametrize("return_format", [TURTLE, N3, RDFXML, JSONLD, XML, JSON])
def test_graph_answers_in_every_format(demo, return_format):
    live, expected = demo
    graph = client(live.url, CONSTRUCT, return_format).queryAndConvert()
    if not isinstance(graph, Graph):  # SPARQLWrapper hands Turtle over as bytes, JSON as a dict
        data = graph if isinstance(graph, bytes | str) else json.dumps(graph)
        graph = Graph().parse(data=data, format="json-ld" if return_format in (JSONLD, JSON) else "turtle")
    countries: dict[str, set] = defaultdict(set)
    for trial in graph.subjects(SDO.status, SDO.Recruiting):
        for place in graph.objects(trial, SDO.studyLocation):
            countries[str(graph.value(place, SDO.name))].add(trial)
    assert {country: len(trials) for country, trials in countries.items()} == expected[("cancer", "RECRUITING")]
    assert all(isinstance(t, URIRef) for t in graph.subjects(SDO.status, SDO.Recruiting))
