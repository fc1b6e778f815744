"""Example SPARQL queries shown on the query form; each one runs against the site's own data."""

from __future__ import annotations

import datetime as dt
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


def example_queries(base_url: str, today: dt.date) -> list[Example]:
    """List the examples, written for this site's base URL (and, for "last month", the date)."""
    month_start = today.replace(day=1)
    last_month = (month_start - dt.timedelta(days=1)).replace(day=1)
    return [
        Example(
            "Trials by overall status",
            _prologue(base_url, "schema")
            + "SELECT ?status (COUNT(?trial) AS ?trials) WHERE {\n"
            "  ?trial schema:status ?status .\n"
            "}\nGROUP BY ?status\nORDER BY DESC(?trials)",
        ),
        Example(
            "Recruiting cancer trials, by country",
            _prologue(base_url, "schema")
            + "SELECT ?country (COUNT(DISTINCT ?trial) AS ?trials) WHERE {\n"
            "  ?trial schema:status schema:Recruiting ;\n"
            "         schema:healthCondition/schema:name ?condition ;\n"
            "         schema:studyLocation/schema:name ?country .\n"
            '  FILTER(CONTAINS(LCASE(?condition), "cancer"))\n'
            "}\nGROUP BY ?country\nORDER BY DESC(?trials)",
        ),
        Example(
            "Trials in Spain that started recruiting last month",
            _prologue(base_url, "schema", "tp", "xsd")
            + "SELECT ?trial ?name ?posted WHERE {\n"
            '  ?change tp:changeKind "status" ; tp:toValue "RECRUITING" ;\n'
            "          tp:registryLastUpdate ?posted ; schema:object ?trial .\n"
            f'  FILTER(?posted >= "{last_month}"^^xsd:date && ?posted < "{month_start}"^^xsd:date)\n'
            '  ?trial schema:studyLocation/schema:name "Spain" ; schema:name ?name .\n'
            "}\nORDER BY DESC(?posted)",
        ),
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
