"""Helpers for the triple store and SPARQL tests: a stand-in trial graph and a remote store server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Flask
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SDO

from server.indexer import ReconcileSummary, reconcile
from server.store import StoredTrial, store_of
from server.trials import parse_trial
from server.triplestore import open_triplestore
from server.web.sparql import EXTENSION as QUERY_SERVICE


def standin_render(base_url: str) -> Callable[[StoredTrial], bytes]:
    """A small trial graph (name, status, conditions, site countries) until the real mapping lands."""

    def render(stored: StoredTrial) -> bytes:
        trial = parse_trial(stored.record)
        g = Graph()
        node = URIRef(f"{base_url}/trials/{trial.nct_id}#trial")
        g.add((node, RDF.type, SDO.MedicalTrial))
        g.add((node, SDO.identifier, Literal(trial.nct_id)))
        g.add((node, SDO.name, Literal(trial.brief_title)))
        if trial.overall_status:
            g.add((node, SDO.status, Literal(trial.overall_status)))
        for condition in trial.conditions:
            g.add((node, SDO.healthCondition, Literal(condition)))
        for number, location in enumerate(trial.locations):
            if location.country:
                site = URIRef(f"{base_url}/trials/{trial.nct_id}#site-{number}")
                g.add((node, SDO.location, site))
                g.add((site, SDO.addressCountry, Literal(location.country)))
        return g.serialize(format="nt", encoding="utf-8")

    return render


def index_app(app: Flask) -> ReconcileSummary:
    """Bring the app's triple store in line with its SQL store, as load and sync do."""
    triples = open_triplestore(app.config)
    try:
        return reconcile(store_of(app), triples, standin_render(app.config["BASE_URL"]), app.config["BASE_URL"])
    finally:
        triples.close()


def stop_queries(app: Flask) -> None:
    """Stop the app's query processes."""
    service = app.extensions.pop(QUERY_SERVICE, None)
    if service is not None and hasattr(service, "close"):
        service.close()


def oxigraph_dir(app: Flask) -> Path:
    return Path(app.config["DATA_DIR"]) / "oxigraph"
