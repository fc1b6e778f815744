"""Example SPARQL queries shown on the query form; each one runs against the site's own data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    """A query with a title."""

    title: str
    query: str


def prefixes(base_url: str) -> dict[str, str]:
    """Return the prefixes answers and examples use."""
    return {
        "schema": "https://schema.org/",
        "tp": f"{base_url}/vocab#",
        "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
        "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
        "xsd": "http://www.w3.org/2001/XMLSchema#",
    }


def _prologue(base_url: str, *names: str) -> str:
    known = prefixes(base_url)
    return "".join(f"PREFIX {name}: <{known[name]}>\n" for name in names)


def example_queries(base_url: str) -> list[Example]:
    """List the examples, written for this site's base URL."""
    return [
        Example(
            "Trials that started recruiting, most recent first",
            _prologue(base_url, "schema", "tp")
            + "SELECT ?trial ?from ?posted WHERE {\n"
            '  ?change tp:changeKind "status" ; tp:toValue "RECRUITING" ;\n'
            "          tp:fromValue ?from ; tp:registryLastUpdate ?posted ; schema:object ?trial .\n"
            "}\nORDER BY DESC(?posted)\nLIMIT 50",
        ),
        Example(
            "Change events by kind",
            _prologue(base_url, "tp")
            + "SELECT ?kind (COUNT(?change) AS ?changes) WHERE {\n"
            "  ?change tp:changeKind ?kind .\n"
            "}\nGROUP BY ?kind\nORDER BY DESC(?changes)",
        ),
        Example(
            "The largest trial graphs",
            "SELECT ?graph (COUNT(*) AS ?triples) WHERE {\n"
            "  GRAPH ?graph { ?s ?p ?o }\n"
            "}\nGROUP BY ?graph\nORDER BY DESC(?triples)\nLIMIT 20",
        ),
        Example(
            "Terms of the trialpub vocabulary",
            _prologue(base_url, "rdfs")
            + f"SELECT ?term ?label ?comment FROM <{base_url}/vocab> WHERE {{\n"
            "  ?term rdfs:label ?label .\n"
            "  OPTIONAL { ?term rdfs:comment ?comment }\n"
            "}\nORDER BY ?term",
        ),
    ]
