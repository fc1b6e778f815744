"""The dataset described: VoID + DCAT at /.well-known/void, and a schema.org Dataset on the home page."""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cache
from pathlib import Path

import httpx
import pyshacl
import pytest
from flask import Flask
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, VOID

from server.dataset import SPDX, DatasetFacts, dataset_jsonld
from server.dumps import make_dumps
from server.load import load_paths
from server.store import store_of

from .conftest import DATA, STUDIES, LiveServer, make_app
from .sparql_support import index_app, renderers, study_type_counts

SOME = sorted(STUDIES.glob("*.json"))[:12]
BASE = "http://127.0.0.1:8000"
FORMATS = {"text/turtle": "turtle", "application/ld+json": "json-ld", "application/rdf+xml": "xml", "application/n-triples": "nt"}


@pytest.mark.parametrize(("accept", "rdflib_format"), [(None, "turtle"), *FORMATS.items()])
def test_void_parses_and_counts_what_is_there(app: Flask, live_server: LiveServer, accept, rdflib_format):
    load_paths(store_of(app), SOME)
    index_app(app)
    made = make_dumps(app.config, store_of(app), renderers(BASE)[1], dt.date(2026, 3, 9))
    response = httpx.get(f"{live_server.url}/.well-known/void", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(accept or "text/turtle")
    g = Graph().parse(data=response.content, format=rdflib_format)
    ds = URIRef(f"{BASE}/.well-known/void#dataset")
    assert (ds, RDF.type, VOID.Dataset) in g and (ds, RDF.type, DCAT.Dataset) in g
    assert g.value(ds, VOID.entities) == Literal(12)
    from server.indexstate import get_state

    assert g.value(ds, VOID.triples) == Literal(get_state(store_of(app), "statistics")["quads"])
    assert g.value(ds, VOID.sparqlEndpoint) == URIRef(f"{BASE}/sparql")
    assert g.value(ds, DCTERMS.license) == URIRef(app.config["DATASET_LICENSE"])
    assert g.value(ds, DCTERMS.modified) is not None
    assert URIRef("https://schema.org/") in set(g.objects(ds, VOID.vocabulary))
    partitions = {g.value(p, VOID["class"]): g.value(p, VOID.entities) for p in g.objects(ds, VOID.classPartition)}
    expected = study_type_counts(SOME, BASE)
    assert {str(c): int(n) for c, n in partitions.items() if str(c) in expected} == expected
    examples = set(g.objects(ds, VOID.exampleResource))
    assert URIRef(f"{BASE}/trials/{SOME[0].stem}#trial") in examples
    sums = {str(g.value(g.value(dist, SPDX.checksum), SPDX.checksumValue)) for dist in g.objects(ds, DCAT.distribution)}
    assert {dump.sha256 for dump in made} <= sums
    assert {URIRef(f"{BASE}/dumps/{dump.name}") for dump in made} == set(g.objects(ds, VOID.dataDump))


def dataset_script(html: str) -> dict:
    scripts = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    datasets = [doc for doc in map(json.loads, scripts) if doc.get("@type") == "Dataset"]
    assert len(datasets) == 1
    return datasets[0]


@cache
def shapes() -> tuple[Graph, Graph]:
    folder = DATA / "schemaorg"
    return (
        Graph().parse(folder / "schemaorg-shapes-datatypes-fixed.shacl", format="turtle"),
        Graph().parse(folder / "schemaorg-subclasses.shacl", format="turtle"),
    )


def schemaorg_report(doc: dict) -> tuple[bool, str]:
    """Validate against schema.org's own shapes, reading the context from the local copy."""
    context = json.loads((DATA / "schemaorg" / "schemaorgcontext.jsonld").read_text())["@context"]
    assert doc["@context"] == "https://schema.org"
    data = Graph().parse(data=json.dumps({**doc, "@context": context}), format="json-ld")
    shape_graph, ontology = shapes()
    conforms, _, text = pyshacl.validate(data, shacl_graph=shape_graph, ont_graph=ontology, inference="none")
    return conforms, text


def test_the_home_page_embeds_a_valid_dataset(tmp_path: Path, database_url: str):
    # A licence IRI with markup in it checks the escaping of the embedded JSON.
    app = make_app(tmp_path, database_url, dataset_license="https://licence.example/</script><b>x</b>&")
    load_paths(store_of(app), SOME)
    index_app(app)
    made = make_dumps(app.config, store_of(app), renderers(BASE)[1], dt.date(2026, 3, 9))
    with LiveServer(app) as live:
        html = httpx.get(live.url + "/").text
    assert "</script><b>" not in html and "\\u003c/script\\u003e" in html
    doc = dataset_script(html)
    assert doc["license"] == "https://licence.example/</script><b>x</b>&"
    assert doc["creator"]["name"] == "U.S. National Library of Medicine"
    assert {d["contentUrl"] for d in doc["distribution"]} == {f"{BASE}/dumps/{d.name}" for d in made}
    first, last = doc["temporalCoverage"].split("/")
    assert dt.date.fromisoformat(first) <= dt.date.fromisoformat(last)
    conforms, text = schemaorg_report(doc)
    assert conforms, text


def test_the_shapes_catch_a_broken_dataset():
    facts = DatasetFacts(base_url=BASE, license="https://creativecommons.org/publicdomain/mark/1.0/")
    assert schemaorg_report(dataset_jsonld(facts))[0]
    # schema.org's shapes leave literals unchecked but want nodes where a type is expected.
    conforms, text = schemaorg_report({**dataset_jsonld(facts), "distribution": "a file"})
    assert not conforms and "distribution" in text
