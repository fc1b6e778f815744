"""Every fixture trial's description: one graph in every format, valid schema.org, valid against our shapes.

The checks run a batch of trials at a time (one data graph per batch for the SHACL validators)
in two worker processes; each batch reports back, and the tests below read the reports.
"""

from __future__ import annotations

import functools
import multiprocessing
import time
import warnings
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pyoxigraph as ox
import pytest
from pyshacl import validate
from rdflib import OWL, RDF, RDFS, SH, BNode, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.compare import isomorphic

from server import graph
from server.trials import content_hash, parse_trial
from server.vocabulary import load_vocabulary

from .conftest import DATA, STUDIES

# rdflib's JSON-LD parser builds a ConjunctiveGraph internally; pyshacl notes where schema.org's
# shapes nest CreativeWork in CreativeWork. Neither is ours to change.
pytestmark = [
    pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Warning, A Recursive Shape"),
]

# A plain namespace: rdflib's SDO warns about the missing terms the tests name on purpose.
SDO = Namespace("https://schema.org/")
# A base with a path: our IRIs must follow it wherever the site lives.
BASE = "https://trials.example.org/registry"
SCHEMAORG = DATA / "schemaorg"
BATCHES = 8
WORKERS = 2
FORMATS = {"ttl": "turtle", "nt": "nt", "rdf": "xml"}
# Structured values: parts of a node a person looks at, not things of their own.
VALUE_TYPES = {SDO.PropertyValue, SDO.PostalAddress, SDO.MedicalCode, SDO.QuantitativeValue}


@functools.cache
def schema_org_graph(name: str) -> Graph:
    """Read one of schema.org's files, its http://schema.org/ terms written as https, as we write them."""
    text = (SCHEMAORG / name).read_text(encoding="utf-8").replace("http://schema.org/", "https://schema.org/")
    return Graph().parse(data=text, format="turtle")


# The only constraints schema.org's shapes use. None of them is a cardinality, so a property
# shape whose path a node lacks is met, and an sh:node naming a shape with no constraint of its
# own is met by anything: ``relevant_shapes`` drops both, which cannot change a verdict and
# spares pyshacl most of its work (see test_relevant_shapes_give_the_same_verdict).
SCHEMA_CONSTRAINTS = {SH.node, SH.nodeKind, SH["or"], SH.property}


def relevant_shapes(shapes: Graph, predicates: set[Any]) -> Graph:
    """Return schema.org's shapes without the property shapes that cannot fail on data using ``predicates``."""

    def vacuous(shape: Any) -> bool:
        return not any(shapes.value(shape, c) is not None for c in SCHEMA_CONSTRAINTS)

    def always_met(alternative: Any) -> bool:
        others = [p for p in shapes.predicates(alternative) if p in SCHEMA_CONSTRAINTS - {SH.node}]
        return not others and all(vacuous(n) for n in shapes.objects(alternative, SH.node))

    def can_fail(prop: Any) -> bool:
        if shapes.value(prop, SH.path) not in predicates:
            return False
        nodes = [n for n in shapes.objects(prop, SH.node) if not vacuous(n)]
        ors = [o for o in shapes.objects(prop, SH["or"]) if not any(map(always_met, Collection(shapes, o)))]
        return bool(nodes or ors or shapes.value(prop, SH.nodeKind) is not None)

    dropped: set[Any] = set()

    def drop(node: Any) -> None:
        for p, o in shapes.predicate_objects(node):
            dropped.add((node, p, o))
            if isinstance(o, BNode):
                drop(o)

    for shape, prop in shapes.subject_objects(SH.property):
        if not can_fail(prop):
            dropped.add((shape, SH.property, prop))
            drop(prop)
    kept = Graph()
    for triple in shapes:
        if triple not in dropped:
            kept.add(triple)
    return kept


def validate_schema_org(data: Graph, relevant: bool = True) -> tuple[bool, str]:
    """Validate against schema.org's shapes, with its class hierarchy so subclasses are targeted."""
    shapes = schema_org_graph("schemaorg-shapes-datatypes-fixed.shacl")
    if relevant:
        shapes = relevant_shapes(shapes, set(data.predicates()))
    conforms, _, report = validate(
        data, shacl_graph=shapes, ont_graph=schema_org_graph("schemaorg-subclasses.shacl"), inference="none"
    )
    return conforms, report


def describe_file(path: Path) -> dict[str, Any]:
    record = orjson.loads(path.read_bytes())
    trial = parse_trial(record)
    posted = trial.last_update_posted
    source = graph.Source(
        base_url=BASE,
        content_hash=content_hash(record),
        last_update=posted.date.isoformat() if posted else None,
        registry_url=f"https://clinicaltrials.gov/api/v2/studies/{trial.nct_id}",
    )
    return graph.jsonld_document(trial, source, load_vocabulary(BASE).context)


def check_batch(paths: list[str]) -> dict[str, Any]:
    """Write, read back and validate one batch of trials; report plain data to the parent."""
    # pyshacl notes each time schema.org's shapes recurse (CreativeWork within CreativeWork); no fault of ours.
    warnings.filterwarnings("ignore", message="Warning, A Recursive Shape")
    started = time.process_time()
    graphs = {name: Graph() for name in ("jsonld-rdflib", "jsonld-oxigraph", *FORMATS)}
    outputs: dict[str, dict[str, bytes]] = {}
    for path in map(Path, paths):
        document = describe_file(path)
        written = {f.extension: graph.serialize(document, f) for f in graph.FORMATS if f.rdflib}
        outputs[path.stem] = written
        graphs["jsonld-rdflib"].parse(data=written["jsonld"], format="json-ld")
        for t in ox.parse(written["jsonld"], format=ox.RdfFormat.JSON_LD):
            graphs["jsonld-oxigraph"].add((graph.to_rdflib(t.subject), graph.to_rdflib(t.predicate), graph.to_rdflib(t.object)))
        for ext, name in FORMATS.items():
            graphs[ext].parse(data=written[ext], format=name)
    reference = graphs["jsonld-rdflib"]
    differing = sorted(name for name, g in graphs.items() if g is not reference and not isomorphic(reference, g))
    # Name the trials behind a difference (our graphs have no blank nodes, so sets compare them).
    culprits = sorted({
        iri.split("/trials/")[1].split("#")[0]
        for name in differing
        for s, _, _ in set(reference) ^ set(graphs[name])
        if "/trials/" in (iri := str(s))
    })
    shapes_started = time.process_time()
    schema_conforms, schema_report = validate_schema_org(reference)
    ours_conforms, _, ours_report = validate(reference, shacl_graph=load_vocabulary(BASE).shapes(), inference="none")
    return {
        "trials": sorted(outputs),
        "triples": len(reference),
        "blank_nodes": sum(isinstance(x, BNode) for t in reference for x in t),
        "differing_formats": differing,
        "differing_trials": culprits,
        "schema_conforms": schema_conforms,
        "schema_report": schema_report[:4000],
        "ours_conforms": ours_conforms,
        "ours_report": ours_report[:4000],
        "usage": sorted(usage(reference)),
        "unnamed": sorted(unnamed_nodes(reference)),
        "cpu_seconds": time.process_time() - started,
        "shacl_cpu_seconds": time.process_time() - shapes_started,
    }


def usage(data: Graph) -> set[tuple[tuple[str, ...], str, tuple[str, ...] | str | None]]:
    """Summarise how terms are used: (subject's types, predicate, object's types or vocabulary IRI)."""
    types = {s: tuple(sorted(str(o) for o in data.objects(s, RDF.type))) for s in set(data.subjects())}
    seen = set()
    for s, p, o in data:
        if p == RDF.type:
            seen.add(((), str(p), str(o)))
            continue
        obj: tuple[str, ...] | str | None = None
        if isinstance(o, URIRef):
            obj = types.get(o) or (str(o) if str(o).startswith((str(SDO), f"{BASE}/vocab#")) else None)
        seen.add((types.get(s, ()), str(p), obj))
    return seen


def unnamed_nodes(data: Graph) -> set[str]:
    """List typed nodes a person could look at that have neither schema:name nor rdfs:label."""
    return {
        str(s)
        for s in set(data.subjects(RDF.type, None))
        if not set(data.objects(s, RDF.type)) & VALUE_TYPES
        and data.value(s, SDO.name) is None
        and data.value(s, RDFS.label) is None
    }


@pytest.fixture(scope="module")
def reports() -> list[dict[str, Any]]:
    files = sorted(STUDIES.glob("NCT*.json"), key=lambda p: p.stat().st_size, reverse=True)
    batches = [[str(p) for p in files[i::BATCHES]] for i in range(BATCHES)]
    started = time.perf_counter()
    with ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(check_batch, batches))
    elapsed = time.perf_counter() - started
    triples = sum(r["triples"] for r in results)
    shacl = sum(r["shacl_cpu_seconds"] for r in results)
    cpu = sum(r["cpu_seconds"] for r in results)
    print(f"\nchecked {sum(len(r['trials']) for r in results)} trials ({triples} triples) in {elapsed:.1f}s "
          f"on {WORKERS} workers: {cpu:.1f}s of CPU, {shacl:.1f}s of it in SHACL validation")
    return results


@pytest.fixture(scope="module")
def schema_org() -> Graph:
    return schema_org_graph("schemaorg-current-https.ttl")


def test_every_fixture_trial_is_checked(reports):
    checked = [t for r in reports for t in r["trials"]]
    assert sorted(checked) == sorted(p.stem for p in STUDIES.glob("NCT*.json"))


def test_every_format_is_the_same_graph(reports):
    for report in reports:
        assert report["differing_formats"] == [], (report["differing_formats"], report["differing_trials"])
        assert report["blank_nodes"] == 0


def test_schema_org_shapes_find_no_violation(reports):
    for report in reports:
        assert report["schema_conforms"], report["schema_report"]


def test_our_shapes_find_no_violation(reports):
    for report in reports:
        assert report["ours_conforms"], report["ours_report"]


def test_every_node_a_person_looks_at_is_named(reports):
    assert [n for r in reports for n in r["unnamed"]] == []


def misused_terms(usages: Iterable[tuple[Any, ...]], schema_org: Graph, vocab: Graph) -> list[str]:
    """List every schema.org term that does not exist, or is used outside its domain or range."""
    both = schema_org + vocab
    known = set(both.subjects(RDF.type, None))

    def kinds(types: Iterable[str]) -> set[URIRef]:
        found: set[URIRef] = set()
        for t in types:
            found |= set(both.transitive_objects(URIRef(t), RDFS.subClassOf))
        return found

    def member_types(iri: str) -> set[URIRef]:
        return kinds(str(t) for t in both.objects(URIRef(iri), RDF.type))

    problems = []
    for subject_types, predicate, obj in usages:
        p = URIRef(predicate)
        if p == RDF.type:
            if obj.startswith(str(SDO)) and (URIRef(obj), RDF.type, RDFS.Class) not in schema_org:
                problems.append(f"class {obj} is not in schema.org")
            continue
        if isinstance(obj, str) and URIRef(obj) not in known:
            problems.append(f"{obj} (value of {predicate}) is not defined")
        if not predicate.startswith(str(SDO)):
            continue
        if (p, RDF.type, RDF.Property) not in schema_org:
            problems.append(f"property {predicate} is not in schema.org")
            continue
        domains = set(schema_org.objects(p, SDO.domainIncludes))
        if not kinds(subject_types) & domains:
            problems.append(f"{predicate} used on {subject_types}, outside its domain")
        ranges = set(schema_org.objects(p, SDO.rangeIncludes))
        object_kinds = member_types(obj) if isinstance(obj, str) else kinds(obj or ())
        # Any IRI is a schema:URL, whatever else it names.
        if object_kinds and not object_kinds & ranges and SDO.URL not in ranges:
            problems.append(f"{predicate} has a value of {sorted(object_kinds)}, outside its range")
    return problems


def test_schema_org_terms_exist_and_fit_their_domain_and_range(reports, schema_org):
    usages = {u for r in reports for u in r["usage"]}
    assert misused_terms(usages, schema_org, load_vocabulary(BASE).graph) == []


def test_the_domain_check_catches_misuse(schema_org):
    trial = (str(SDO.MedicalObservationalStudy),)
    usages = [
        (trial, str(SDO.trialDesign), str(SDO.RandomizedTrial)),  # trialDesign is for MedicalTrial only
        (trial, str(SDO.status), str(SDO.RandomizedTrial)),  # a design is no status
        ((), str(RDF.type), str(SDO.ClinicalTrialPhase)),  # no such class
        (trial, str(SDO.phase), None),  # no such property since v7
    ]
    problems = misused_terms(usages, schema_org, load_vocabulary(BASE).graph)
    assert len(problems) == 4, problems


def test_our_terms_are_defined_in_the_vocabulary(reports):
    vocab = load_vocabulary(BASE)
    defined = {str(s) for s in vocab.graph.subjects(RDFS.label, None)}
    used = set()
    for report in reports:
        for subject_types, predicate, obj in report["usage"]:
            terms = [*subject_types, predicate, *(obj if isinstance(obj, tuple) else [obj or ""])]
            used |= {t for t in terms if t.startswith(vocab.namespace)}
    assert used, "the descriptions use no term of ours"
    assert sorted(used - defined) == []


def test_every_term_of_the_code_tables_is_defined():
    from server.codes import vocabulary_terms

    vocab = load_vocabulary(BASE)
    defined = set(vocab.graph.subjects(RDFS.label, None))
    missing = [t for t in vocabulary_terms() if URIRef(vocab.namespace + t.removeprefix("tp:")) not in defined]
    assert missing == []


def test_the_vocabulary_defines_each_term_fully():
    vocab = load_vocabulary(BASE)
    g = vocab.graph
    for term in {s for s in g.subjects() if str(s).startswith(vocab.namespace)}:
        assert g.value(term, RDFS.label) and g.value(term, RDFS.comment), term
        assert (term, RDFS.isDefinedBy, URIRef(vocab.document)) in g, term
        if set(g.objects(term, RDF.type)) & {OWL.ObjectProperty, OWL.DatatypeProperty}:
            assert g.value(term, RDFS.domain) and g.value(term, RDFS.range), term


def test_shapes_report_a_broken_description(schema_org):
    document = describe_file(STUDIES / "NCT00202163.json")
    broken = Graph().parse(data=graph.serialize(document, graph.BY_EXTENSION["nt"]), format="nt")
    trial = URIRef(f"{BASE}/trials/NCT00202163#trial")
    broken.remove((trial, SDO.name, None))
    broken.add((trial, SDO.trialDesign, Literal("randomised")))
    ours, _, _ = validate(broken, shacl_graph=load_vocabulary(BASE).shapes(), inference="none")
    theirs, report = validate_schema_org(broken)
    assert not ours and not theirs
    assert "trialDesign" in report


def test_schema_org_shapes_use_only_the_constraints_relevant_shapes_expects():
    shapes = schema_org_graph("schemaorg-shapes-datatypes-fixed.shacl")
    used = {p for p in shapes.predicates() if str(p).startswith(str(SH))}
    assert used <= SCHEMA_CONSTRAINTS | {SH.path, SH.targetClass}


@pytest.mark.parametrize("name", ["NCT00202163", "NCT00001908"])
def test_relevant_shapes_give_the_same_verdict(name):
    written = graph.serialize(describe_file(STUDIES / f"{name}.json"), graph.BY_EXTENSION["nt"])
    data = Graph().parse(data=written, format="nt")
    assert validate_schema_org(data, relevant=True)[0] == validate_schema_org(data, relevant=False)[0] is True
    trial = URIRef(f"{BASE}/trials/{name}#trial")
    data.add((trial, SDO.trialDesign, Literal("open label")))
    data.add((trial, SDO.sponsor, Literal("a sponsor by name only")))
    assert validate_schema_org(data, relevant=True)[0] == validate_schema_org(data, relevant=False)[0] is False
