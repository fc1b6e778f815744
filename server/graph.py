"""A trial as linked data: its JSON-LD document, the graph that document means, and its formats.

The JSON-LD document is the single source: every other format is written from the triples it
stands for, so all of them say the same thing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from .describe import Source, describe, document_url
from .trials import Trial, parse_trial

if TYPE_CHECKING:
    from .store import StoredTrial

__all__ = [
    "BY_EXTENSION",
    "BY_MIMETYPE",
    "FORMATS",
    "RENDITION_VERSION",
    "Format",
    "Source",
    "document_url",
    "jsonld_document",
    "script_json",
    "serialize",
    "stored_document",
    "to_rdflib",
    "trial_graph",
    "trial_triples",
]

# Bump when the output for the same record changes, so ETags of earlier renditions go stale.
RENDITION_VERSION = "1"

PREFIXES = {
    "schema": "https://schema.org/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "prov": "http://www.w3.org/ns/prov#",
}


@dataclass(frozen=True)
class Format:
    """One representation of a trial document."""

    extension: str
    mimetype: str
    rdflib: str | None  # rdflib's name for the format; None for HTML, which the pages render
    label: str
    aliases: tuple[str, ...] = ()  # other media types that ask for this format


# The one table behind content negotiation; HTML comes first, as the default.
FORMATS: tuple[Format, ...] = (
    Format("html", "text/html", None, "HTML", ("application/xhtml+xml",)),
    Format("jsonld", "application/ld+json", "json-ld", "JSON-LD", ("application/json",)),
    Format("ttl", "text/turtle", "turtle", "Turtle"),
    Format("nt", "application/n-triples", "nt", "N-Triples"),
    Format("rdf", "application/rdf+xml", "xml", "RDF/XML"),
)
BY_EXTENSION: Mapping[str, Format] = {f.extension: f for f in FORMATS}
BY_MIMETYPE: Mapping[str, Format] = {m: f for f in FORMATS for m in (f.mimetype, *f.aliases)}
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_FORMATS: tuple[Format, ...] = tuple(f for f in FORMATS if f.rdflib)


def jsonld_document(trial: Trial, source: Source, context: Mapping[str, Any]) -> dict[str, Any]:
    """Describe one trial version as a JSON-LD document that carries ``context`` inline.

    ``context`` is the value of ``@context`` in vocab/context.jsonld, rebased on the site
    (``server.vocabulary.load_vocabulary(base_url).context``); inline, it needs no fetching.
    """
    return {"@context": dict(context), **describe(trial, source)}


def stored_document(
    stored: StoredTrial, base_url: str, registry_url: str, context: Mapping[str, Any], trial: Trial | None = None
) -> dict[str, Any]:
    """Describe a trial version as the store holds it: ``jsonld_document`` with its ``Source``."""
    source = Source(
        base_url=base_url,
        content_hash=stored.content_hash,
        last_update=stored.last_update,
        registry_url=f"{registry_url}/studies/{stored.nct_id}",
    )
    return jsonld_document(trial or parse_trial(stored.record), source, context)


def trial_triples(document: Mapping[str, Any]) -> list[ox.Triple]:
    """Return the triples a JSON-LD document stands for, subjects together."""
    quads = ox.parse(orjson.dumps(document), format=ox.RdfFormat.JSON_LD)
    triples = [ox.Triple(q.subject, q.predicate, q.object) for q in quads]
    triples.sort(key=lambda t: (str(t.subject), str(t.predicate)))
    return triples


def trial_graph(document: Mapping[str, Any]) -> Graph:
    """Return the rdflib graph a JSON-LD document stands for."""
    graph = Graph()
    for prefix, namespace in _prefixes(document).items():
        graph.bind(prefix, namespace, replace=True)
    for triple in trial_triples(document):
        graph.add((to_rdflib(triple.subject), to_rdflib(triple.predicate), to_rdflib(triple.object)))
    return graph


def serialize(document: Mapping[str, Any], fmt: Format) -> bytes:
    """Write a trial's JSON-LD document in one RDF format."""
    if fmt.extension == "jsonld":
        return orjson.dumps(document, option=orjson.OPT_INDENT_2)
    if fmt.rdflib is None:
        raise ValueError(f"{fmt.label} is not an RDF format")
    output = ox.serialize(
        trial_triples(document), format=ox.RdfFormat.from_media_type(fmt.mimetype), prefixes=_prefixes(document)
    )
    assert output is not None  # without an output file, serialize returns the bytes
    if fmt.extension == "rdf":
        # XML parsers read a raw carriage return as a line feed; a character reference keeps it.
        output = output.replace(b"\r", b"&#13;")
    return output


def script_json(document: Mapping[str, Any] | str) -> str:
    """Write JSON for an HTML ``<script>`` element, with ``<``, ``>`` and ``&`` as \\u escapes.

    Inside a JSON string these escapes mean the same characters, and outside strings JSON has
    none of them, so the data is unchanged while no ``</script>`` or ``<!--`` can end the element.
    """
    text = document if isinstance(document, str) else json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _prefixes(document: Mapping[str, Any]) -> dict[str, str]:
    return {**PREFIXES, "tp": document["@context"]["tp"]}


def to_rdflib(term: Any) -> Node:
    """Turn a pyoxigraph term into the rdflib term it stands for."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    # rdflib tells a plain literal from one typed xsd:string; RDF 1.1 and the parsers do not.
    if term.datatype.value == _XSD_STRING:
        return Literal(term.value)
    return Literal(term.value, datatype=URIRef(term.datatype.value))
