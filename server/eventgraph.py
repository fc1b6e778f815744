"""Change events as RDF: each event an ``schema:UpdateAction`` on the trial, in the changes graph."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import pyoxigraph as ox

from .events import Event

SCHEMA = "https://schema.org/"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDF_JSON = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON")
XSD = "http://www.w3.org/2001/XMLSchema#"
DATE_TIME = ox.NamedNode(XSD + "dateTime")
DATE = ox.NamedNode(XSD + "date")


def changes_graph(base_url: str) -> str:
    """Return the IRI of the graph that holds every change event."""
    return f"{base_url}/changes"


def event_iri(base_url: str, event: Event) -> str:
    """Return an event's IRI: a fragment of the changes page, stable across rebuilds."""
    return f"{base_url}/changes#{event.event_id}"


def trial_iri(base_url: str, nct_id: str) -> str:
    """Return the IRI of a trial itself (the document describes it)."""
    return f"{base_url}/trials/{nct_id}#trial"


def _value(value: Any) -> ox.Literal:
    if isinstance(value, bool):
        return ox.Literal(str(value).lower(), datatype=ox.NamedNode(XSD + "boolean"))
    if isinstance(value, int):
        return ox.Literal(str(value), datatype=ox.NamedNode(XSD + "integer"))
    if isinstance(value, str):
        return ox.Literal(value)
    return ox.Literal(json.dumps(value, sort_keys=True, ensure_ascii=False), datatype=RDF_JSON)


def event_triples(events: Iterable[Event], base_url: str) -> Iterator[ox.Triple]:
    """Describe events in RDF; plain strings stay plain literals, so queries match them."""
    vocab = f"{base_url}/vocab#"
    for event in events:
        node = ox.NamedNode(event_iri(base_url, event))

        def says(predicate: str, value: ox.NamedNode | ox.Literal, node: ox.NamedNode = node) -> ox.Triple:
            return ox.Triple(node, ox.NamedNode(predicate), value)

        yield ox.Triple(node, RDF_TYPE, ox.NamedNode(SCHEMA + "UpdateAction"))
        yield ox.Triple(node, RDF_TYPE, ox.NamedNode(vocab + "Change"))
        yield says(vocab + "changeKind", ox.Literal(event.kind))
        yield says(SCHEMA + "object", ox.NamedNode(trial_iri(base_url, event.nct_id)))
        yield says(SCHEMA + "endTime", ox.Literal(event.detected_at.isoformat(), datatype=DATE_TIME))
        if event.registry_last_update:
            yield says(vocab + "registryLastUpdate", ox.Literal(event.registry_last_update, datatype=DATE))
        if event.old is not None:
            yield says(vocab + "fromValue", _value(event.old))
        if event.new is not None:
            yield says(vocab + "toValue", _value(event.new))
        if event.detail:
            yield says(vocab + "changeDetail", _value(event.detail))

