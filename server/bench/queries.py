"""Ten typical SPARQL queries over the trial graphs, with parameters taken from the data."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from ..trials import Trial


@dataclass(frozen=True)
class Parameters:
    """Values the queries ask about, chosen among the most common in the data."""

    base_url: str
    nct_id: str
    mesh_id: str
    country: str
    sponsor: str
    city: str


def choose_parameters(base_url: str, trials: Iterable[Trial]) -> Parameters:
    """Pick each query's value: the most frequent in a sample of trials."""
    meshes, countries, sponsors, cities = Counter[str](), Counter[str](), Counter[str](), Counter[str]()
    first = ""
    for trial in trials:
        first = first or trial.nct_id
        meshes.update(term.id for term in trial.condition_mesh.terms)
        countries.update(trial.countries)
        if trial.lead_sponsor and trial.lead_sponsor.name:
            sponsors[trial.lead_sponsor.name] += 1
        cities.update(site.city for site in trial.locations if site.city)

    def top(counter: Counter[str]) -> str:
        return counter.most_common(1)[0][0] if counter else "none"

    return Parameters(base_url, first, top(meshes), top(countries), top(sponsors), top(cities))


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def typical_queries(p: Parameters) -> dict[str, str]:
    """Return the queries by name: lookups, filters, joins, aggregates and the change log."""
    prologue = f"PREFIX schema: <https://schema.org/>\nPREFIX tp: <{p.base_url}/vocab#>\n"
    prologue += "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\n"
    queries = {
        "one trial, every property": f"SELECT ?p ?o WHERE {{ <{p.base_url}/trials/{p.nct_id}#trial> ?p ?o }}",
        "trials by condition (MeSH)": (
            "SELECT ?trial ?name WHERE { ?trial schema:healthCondition ?c . ?c schema:code ?code .\n"
            f"  ?code schema:codeValue {_literal(p.mesh_id)} . ?trial schema:name ?name }} LIMIT 100"
        ),
        "recruiting trials in a country": (
            "SELECT ?trial ?name WHERE { ?trial schema:status schema:Recruiting ; schema:studyLocation ?country ;\n"
            f"  schema:name ?name . ?country schema:name {_literal(p.country)} }} LIMIT 100"
        ),
        "trials of a sponsor": (
            f"SELECT ?trial ?status WHERE {{ ?trial schema:sponsor ?s . ?s schema:name {_literal(p.sponsor)} .\n"
            "  ?trial schema:status ?status } LIMIT 100"
        ),
        "sites recruiting in a city": (
            "SELECT ?trial ?site WHERE { ?trial tp:site ?site . ?site tp:recruitmentStatus schema:Recruiting ;\n"
            f"  schema:address ?a . ?a schema:addressLocality {_literal(p.city)} }} LIMIT 100"
        ),
        "latest status changes": (
            'SELECT ?trial ?from ?to ?posted WHERE { ?change tp:changeKind "status" ; tp:fromValue ?from ;\n'
            "  tp:toValue ?to ; tp:registryLastUpdate ?posted ; schema:object ?trial }\n"
            "ORDER BY DESC(?posted) LIMIT 50"
        ),
        "count by phase": (
            "SELECT ?phase (COUNT(DISTINCT ?trial) AS ?n) WHERE { ?trial tp:phase ?phase } GROUP BY ?phase"
        ),
        "count by status": (
            "SELECT ?status (COUNT(?trial) AS ?n) WHERE { ?trial schema:status ?status } GROUP BY ?status"
        ),
        "top sponsors of phase 3 trials": (
            "SELECT ?sponsor (COUNT(?trial) AS ?n) WHERE { ?trial tp:phase tp:Phase3 ; schema:sponsor ?s .\n"
            "  ?s schema:name ?sponsor } GROUP BY ?sponsor ORDER BY DESC(?n) LIMIT 10"
        ),
        "recent starts in a country": (
            f"SELECT ?trial ?start WHERE {{ ?trial schema:studyLocation ?c . ?c schema:name {_literal(p.country)} .\n"
            '  ?trial tp:startDate ?start FILTER(?start >= "2020-01-01"^^xsd:date) } LIMIT 100'
        ),
    }
    return {name: prologue + query for name, query in queries.items()}
