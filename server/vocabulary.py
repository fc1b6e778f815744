"""Our vocabulary, JSON-LD context and SHACL shapes, read from ``vocab/`` and rebased on the site.

The files write every IRI of ours under a placeholder base, ``https://base.trialpub.invalid``
(``.invalid`` can never resolve, so a file read on its own cannot be mistaken for a live
site); loading puts the configured base URL in its place, so terms live at ``<BASE>/vocab#``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from rdflib import OWL, RDF, RDFS, SKOS, Graph, URIRef
from rdflib.term import Node

from .resources import resource_path

PLACEHOLDER = "https://base.trialpub.invalid"
TERMS_FILE = "trialpub.ttl"
CONTEXT_FILE = "context.jsonld"
SHAPES_FILE = "shapes.ttl"
PREFIX = "tp"


@dataclass(frozen=True)
class Vocabulary:
    """The vocabulary files of one site, rebased on its base URL."""

    base_url: str
    turtle: str
    context: dict[str, Any]  # the value of "@context"
    shapes_turtle: str

    @property
    def namespace(self) -> str:
        """Return the IRI every term of ours starts with."""
        return f"{self.base_url}/vocab#"

    @property
    def document(self) -> str:
        """Return the IRI of the vocabulary itself (the /vocab page)."""
        return f"{self.base_url}/vocab"

    @functools.cached_property
    def graph(self) -> Graph:
        """Return the vocabulary as a graph, parsed once."""
        return Graph().parse(data=self.turtle, format="turtle")

    def shapes(self) -> Graph:
        """Return the SHACL shapes of a trial description."""
        return Graph().parse(data=self.shapes_turtle, format="turtle")


@functools.lru_cache(maxsize=4)
def load_vocabulary(base_url: str) -> Vocabulary:
    """Read the vocabulary files and rebase them on ``base_url``."""
    base = base_url.rstrip("/")

    def read(name: str) -> str:
        return resource_path("vocab", name).read_text(encoding="utf-8")

    # Substitute inside the JSON text with the base escaped as a JSON string would be.
    context_text = read(CONTEXT_FILE).replace(PLACEHOLDER, json.dumps(base)[1:-1])
    return Vocabulary(
        base_url=base,
        turtle=read(TERMS_FILE).replace(PLACEHOLDER, base),
        context=json.loads(context_text)["@context"],
        shapes_turtle=read(SHAPES_FILE).replace(PLACEHOLDER, base),
    )


@dataclass(frozen=True)
class TermLink:
    """A term another term points to, written short, with where it resolves."""

    text: str
    href: str


@dataclass(frozen=True)
class Term:
    """One term of our vocabulary, as the /vocab page shows it."""

    name: str  # the local name, which is also its anchor on the page
    iri: str
    label: str
    comment: str
    facts: tuple[tuple[str, tuple[TermLink, ...]], ...]  # ("Range", (schema:Place,)), ...


_FACTS = (
    ("Type", RDF.type),
    ("Subclass of", RDFS.subClassOf),
    ("Subproperty of", RDFS.subPropertyOf),
    ("Domain", RDFS.domain),
    ("Range", RDFS.range),
    ("Close match", SKOS.closeMatch),
)
_SHORT = {
    "https://schema.org/": "schema:",
    "http://www.w3.org/2001/XMLSchema#": "xsd:",
    "http://www.w3.org/2000/01/rdf-schema#": "rdfs:",
    "http://www.w3.org/2002/07/owl#": "owl:",
    "http://purl.obolibrary.org/obo/NCIT_": "ncit:",
}


def vocabulary_terms(vocab: Vocabulary) -> list[tuple[str, list[Term]]]:
    """Group the vocabulary's terms for display: classes, properties, then values by their class."""
    g = vocab.graph
    sections: dict[str, list[Term]] = {"Classes": [], "Properties": []}
    for subject in sorted({s for s in g.subjects(RDFS.label, None) if isinstance(s, URIRef)}):
        if not str(subject).startswith(vocab.namespace):
            continue
        types = set(g.objects(subject, RDF.type))
        if types & {OWL.Class, RDFS.Class}:
            heading = "Classes"
        elif types & {OWL.ObjectProperty, OWL.DatatypeProperty, RDF.Property}:
            heading = "Properties"
        else:
            heading = "Values of " + ", ".join(sorted(_link(t, vocab).text for t in types))
        sections.setdefault(heading, []).append(_term(g, subject, vocab))
    return [(heading, terms) for heading, terms in sections.items() if terms]


def _term(g: Graph, subject: URIRef, vocab: Vocabulary) -> Term:
    facts = []
    for title, predicate in _FACTS:
        links = tuple(sorted((_link(o, vocab) for o in g.objects(subject, predicate)), key=lambda t: t.text))
        if links and not (predicate == RDF.type and links[0].text.startswith("owl:")):
            facts.append((title, links))
    return Term(
        name=str(subject)[len(vocab.namespace):],
        iri=str(subject),
        label=str(g.value(subject, RDFS.label) or ""),
        comment=str(g.value(subject, RDFS.comment) or ""),
        facts=tuple(facts),
    )


def _link(node: Node, vocab: Vocabulary) -> TermLink:
    iri = str(node)
    if iri.startswith(vocab.namespace):
        name = iri[len(vocab.namespace):]
        return TermLink(f"{PREFIX}:{name}", f"#{name}")
    for long, short in _SHORT.items():
        if iri.startswith(long):
            return TermLink(short + iri[len(long):], iri)
    return TermLink(iri, iri)
