"""The dataset described for machines: VoID + DCAT, the SPARQL service description, schema.org Dataset."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SDO, VOID, XSD

from .dumps import DumpFile
from .sparql import GRAPH_FORMATS, RESULTS_FORMATS

SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS = Namespace("http://www.w3.org/ns/formats/")
SPDX = Namespace("http://spdx.org/rdf/terms#")
IANA = "https://www.iana.org/assignments/media-types/"

TITLE = "ClinicalTrials.gov as linked data"
DESCRIPTION = (
    "Every study registered on ClinicalTrials.gov as schema.org linked data, with every recruiting-status "
    "change and other change to a record as its own event."
)
SOURCE = "https://clinicaltrials.gov/"
CREATOR = {"@type": "Organization", "name": "U.S. National Library of Medicine", "url": "https://www.nlm.nih.gov/"}

# W3C format IRIs for the service description, by media type.
_FORMAT_IRIS = {
    "application/sparql-results+json": FORMATS.SPARQL_Results_JSON,
    "application/sparql-results+xml": FORMATS.SPARQL_Results_XML,
    "text/csv": FORMATS.SPARQL_Results_CSV,
    "text/tab-separated-values": FORMATS.SPARQL_Results_TSV,
    "text/turtle": FORMATS.Turtle,
    "application/n-triples": FORMATS["N-Triples"],
    "application/ld+json": FORMATS["JSON-LD"],
    "application/rdf+xml": FORMATS.RDF_XML,
}


@dataclass(frozen=True)
class DatasetFacts:
    """What the descriptions say about the data as it is now."""

    base_url: str
    license: str
    statistics: Mapping[str, Any] = field(default_factory=dict)  # as the last reconcile counted
    dumps: Sequence[DumpFile] = ()
    last_sync: str | None = None  # ISO datetime of the last successful load or sync
    examples: Sequence[str] = ()  # NCT IDs

    def iri(self, path: str) -> URIRef:
        return URIRef(f"{self.base_url}{path}")

    @property
    def dataset(self) -> URIRef:
        return self.iri("/.well-known/void#dataset")

    @property
    def endpoint(self) -> URIRef:
        return self.iri("/sparql")


def void_graph(facts: DatasetFacts) -> Graph:
    """Describe the dataset in VoID and DCAT."""
    g = Graph()
    g.bind("void", VOID)
    g.bind("dcat", DCAT)
    g.bind("dcterms", DCTERMS)
    g.bind("spdx", SPDX)
    g.bind("sd", SD)
    doc, ds, endpoint = facts.iri("/.well-known/void"), facts.dataset, facts.endpoint
    g.add((doc, RDF.type, VOID.DatasetDescription))
    g.add((doc, DCTERMS.title, Literal(f"Description of {TITLE}", lang="en")))
    g.add((doc, FOAF.primaryTopic, ds))
    g.add((ds, RDF.type, VOID.Dataset))
    g.add((ds, RDF.type, DCAT.Dataset))
    g.add((ds, DCTERMS.title, Literal(TITLE, lang="en")))
    g.add((ds, DCTERMS.description, Literal(DESCRIPTION, lang="en")))
    g.add((ds, DCTERMS.license, URIRef(facts.license)))
    g.add((ds, DCTERMS.source, URIRef(SOURCE)))
    g.add((ds, FOAF.homepage, facts.iri("/")))
    g.add((ds, DCAT.landingPage, facts.iri("/")))
    g.add((ds, VOID.sparqlEndpoint, endpoint))
    g.add((ds, VOID.uriSpace, Literal(f"{facts.base_url}/trials/")))
    g.add((ds, VOID.vocabulary, URIRef(str(SDO))))
    g.add((ds, VOID.vocabulary, facts.iri("/vocab#")))
    g.add((ds, VOID.feature, FORMATS.Turtle))
    if facts.last_sync:
        g.add((ds, DCTERMS.modified, Literal(facts.last_sync, datatype=XSD.dateTime)))
    stats = facts.statistics
    if stats:
        g.add((ds, VOID.triples, Literal(int(stats["quads"]))))
        g.add((ds, VOID.entities, Literal(int(stats["trials"]))))
        classes: Mapping[str, int] = stats.get("classes", {})
        g.add((ds, VOID.classes, Literal(len(classes))))
        for iri, count in sorted(classes.items()):
            partition = BNode()
            g.add((ds, VOID.classPartition, partition))
            g.add((partition, VOID["class"], URIRef(iri)))
            g.add((partition, VOID.entities, Literal(int(count))))
    for nct_id in facts.examples:
        g.add((ds, VOID.exampleResource, facts.iri(f"/trials/{nct_id}#trial")))
    g.add((endpoint, RDF.type, DCAT.DataService))
    g.add((endpoint, DCAT.endpointURL, endpoint))
    g.add((endpoint, DCAT.endpointDescription, endpoint))
    g.add((endpoint, DCAT.servesDataset, ds))
    g.add((ds, DCAT.distribution, _sparql_distribution(g, facts)))
    for dump in facts.dumps:
        url = facts.iri(f"/dumps/{dump.name}")
        dist = facts.iri(f"/.well-known/void#{dump.name}")
        g.add((ds, VOID.dataDump, url))
        g.add((ds, DCAT.distribution, dist))
        g.add((dist, RDF.type, DCAT.Distribution))
        g.add((dist, DCTERMS.title, Literal(f"{dump.description}, {dump.date}", lang="en")))
        g.add((dist, DCTERMS.issued, Literal(dump.date, datatype=XSD.date)))
        g.add((dist, DCAT.downloadURL, url))
        g.add((dist, DCAT.mediaType, URIRef(IANA + dump.media_type)))
        g.add((dist, DCAT.compressFormat, URIRef(IANA + "application/gzip")))
        g.add((dist, DCAT.byteSize, Literal(dump.size, datatype=XSD.nonNegativeInteger)))
        checksum = BNode()
        g.add((dist, SPDX.checksum, checksum))
        g.add((checksum, RDF.type, SPDX.Checksum))
        g.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        g.add((checksum, SPDX.checksumValue, Literal(dump.sha256, datatype=XSD.hexBinary)))
    return g


def _sparql_distribution(g: Graph, facts: DatasetFacts) -> URIRef:
    dist = facts.iri("/.well-known/void#sparql")
    g.add((dist, RDF.type, DCAT.Distribution))
    g.add((dist, DCTERMS.title, Literal("SPARQL 1.1 endpoint", lang="en")))
    g.add((dist, DCAT.accessURL, facts.endpoint))
    g.add((dist, DCAT.accessService, facts.endpoint))
    return dist


def service_description(facts: DatasetFacts) -> Graph:
    """Describe the SPARQL endpoint in the SPARQL 1.1 Service Description vocabulary."""
    g = Graph()
    g.bind("sd", SD)
    g.bind("void", VOID)
    g.bind("formats", FORMATS)
    service, endpoint = facts.iri("/sparql#service"), facts.endpoint
    g.add((service, RDF.type, SD.Service))
    g.add((service, SD.endpoint, endpoint))
    g.add((service, SD.supportedLanguage, SD.SPARQL11Query))
    g.add((service, SD.feature, SD.UnionDefaultGraph))
    g.add((service, SD.defaultEntailmentRegime, URIRef("http://www.w3.org/ns/entailment/Simple")))
    for media_type in [*RESULTS_FORMATS.values(), *GRAPH_FORMATS.values()]:
        g.add((service, SD.resultFormat, _FORMAT_IRIS[media_type]))
    dataset = BNode()
    default = BNode()
    g.add((service, SD.defaultDataset, dataset))
    g.add((dataset, RDF.type, SD.Dataset))
    g.add((dataset, DCTERMS.source, facts.dataset))
    g.add((dataset, SD.defaultGraph, default))
    g.add((default, RDF.type, SD.Graph))
    g.add((default, DCTERMS.description, Literal("the union of every named graph", lang="en")))
    if facts.statistics:
        g.add((default, VOID.triples, Literal(int(facts.statistics["quads"]))))
    for path, what in (("/vocab", "the trialpub vocabulary"), ("/changes", "every change event")):
        named = BNode()
        g.add((dataset, SD.namedGraph, named))
        g.add((named, SD.name, facts.iri(path)))
        g.add((named, DCTERMS.description, Literal(what, lang="en")))
    trials = BNode()
    g.add((dataset, SD.namedGraph, trials))
    g.add((trials, DCTERMS.description, Literal(f"one graph per trial, named {facts.base_url}/trials/NCT…", lang="en")))
    return g


def dataset_jsonld(facts: DatasetFacts) -> dict[str, Any]:
    """Describe the dataset as a schema.org Dataset, for dataset search engines."""
    distribution: list[dict[str, Any]] = [
        {
            "@type": "DataDownload",
            "name": dump.description,
            "contentUrl": f"{facts.base_url}/dumps/{dump.name}",
            "encodingFormat": dump.media_type,
            "contentSize": f"{dump.size} B",
            "uploadDate": dump.date,
        }
        for dump in facts.dumps
    ]
    doc: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "@id": str(facts.dataset),
        "name": TITLE,
        "description": DESCRIPTION,
        "url": f"{facts.base_url}/",
        "license": facts.license,
        "creator": CREATOR,
        "isBasedOn": SOURCE,
        "isAccessibleForFree": True,
        "keywords": ["clinical trials", "ClinicalTrials.gov", "linked data", "SPARQL"],
        "distribution": distribution,
    }
    first, last = facts.statistics.get("first_update"), facts.statistics.get("last_update")
    if first and last:
        doc["temporalCoverage"] = f"{first}/{last}"
    if facts.last_sync:
        doc["dateModified"] = facts.last_sync
    return doc
