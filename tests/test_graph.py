"""The trial -> linked data mapping, read back as RDF: what each registry field becomes."""

from __future__ import annotations

import dataclasses
import json

import extruct
import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic

from server import graph, literals
from server.dates import PartialDate
from server.mesh import mesh_ui
from server.trials import Arm, DateStruct, GeoPoint, Link, Location, Outcome, Trial, parse_trial
from server.vocabulary import load_vocabulary

from .conftest import STUDIES

# rdflib's JSON-LD parser builds a ConjunctiveGraph internally: not ours to change.
pytestmark = [pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")]

BASE = "https://example.org/ct"
# Plain namespaces: pytest's collection probes module globals, and rdflib's closed ones warn.
SDO = Namespace("https://schema.org/")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
TP = Namespace(f"{BASE}/vocab#")
FOAF = Namespace("http://xmlns.com/foaf/0.1/")
PAGE = URIRef(f"{BASE}/trials/NCT00202163")
TRIAL = URIRef(f"{PAGE}#trial")
RDF_FORMATS = [f for f in graph.FORMATS if f.rdflib]
READERS = {"jsonld": "json-ld", "ttl": "turtle", "nt": "nt", "rdf": "xml"}


def fixture_trial(nct_id: str = "NCT00202163") -> Trial:
    return parse_trial(orjson.loads((STUDIES / f"{nct_id}.json").read_bytes()))


def document(trial: Trial, last_update: str | None = "2016-01-13") -> dict:
    source = graph.Source(BASE, "ab" * 32, last_update, f"https://clinicaltrials.gov/api/v2/studies/{trial.nct_id}")
    return graph.jsonld_document(trial, source, load_vocabulary(BASE).context)


def described(trial: Trial, fmt: str = "ttl") -> Graph:
    """Write the trial in one format and read it back with rdflib."""
    written = graph.serialize(document(trial), graph.BY_EXTENSION[fmt])
    return Graph().parse(data=written, format=READERS[fmt])


def values(g: Graph, subject: URIRef, predicate: URIRef) -> set:
    return set(g.objects(subject, predicate))


def test_a_real_trial_reads_back_as_schema_org_and_our_terms():
    g = described(fixture_trial())
    assert values(g, TRIAL, RDF.type) == {SDO.MedicalTrial}
    assert values(g, TRIAL, SDO.name) == {
        Literal("ANDRO 2002: Dehydroepiandrosterone (DHEA) or Testosterone Versus Placebo in Men With Sexual Dysfunction")
    }
    assert values(g, TRIAL, SDO.status) == {SDO.Completed}
    assert values(g, TRIAL, TP.phase) == {TP.Phase2}
    assert values(g, TRIAL, SDO.trialDesign) == {
        SDO.RandomizedTrial, SDO.DoubleBlindedTrial, TP.ParallelAssignment, SDO.SingleCenterTrial
    }
    assert values(g, TRIAL, TP.enrollment) == {Literal(120)}
    assert values(g, TRIAL, TP.enrollmentType) == {TP.Estimated}
    # Dates keep the registry's precision; a struct without a type says nothing about it.
    assert values(g, TRIAL, TP.startDate) == {Literal("2006-12", datatype=XSD.gYearMonth)}
    assert values(g, TRIAL, TP.startDateType) == set()
    assert values(g, TRIAL, TP.completionDate) == {Literal("2007-09", datatype=XSD.gYearMonth)}
    assert values(g, TRIAL, TP.completionDateType) == {TP.Actual}
    assert values(g, TRIAL, TP.eligibleSex) == {SDO.Female, SDO.Male}
    assert values(g, TRIAL, TP.acceptsHealthyVolunteers) == {Literal(False)}
    age = g.value(TRIAL, TP.minimumAge)
    assert (g.value(age, SDO.value), g.value(age, SDO.unitCode)) == (Literal(18), Literal("ANN"))
    assert values(g, TRIAL, SDO.sameAs) == {
        URIRef("https://clinicaltrials.gov/study/NCT00202163"),
        URIRef("https://identifiers.org/clinicaltrials:NCT00202163"),
    }
    ids = {(str(g.value(i, SDO.propertyID)), str(g.value(i, SDO.value))) for i in g.objects(TRIAL, SDO.identifier)}
    assert ("ClinicalTrials.gov", "NCT00202163") in ids
    assert ("Queen's University study ID", "DHEA-RCT") in ids


def test_the_document_says_what_it_describes_where_it_came_from_and_its_licence():
    g = described(fixture_trial())
    assert values(g, TRIAL, SDO.mainEntityOfPage) == {PAGE}
    assert values(g, TRIAL, SDO.url) == {PAGE}
    assert values(g, PAGE, RDF.type) == {SDO.WebPage, FOAF.Document}
    assert values(g, PAGE, FOAF.primaryTopic) == {TRIAL}
    assert values(g, PAGE, SDO.dateModified) == {Literal("2016-01-13", datatype=XSD.date)}
    assert values(g, PAGE, SDO.version) == {Literal("ab" * 32)}
    assert values(g, PAGE, SDO.isBasedOn) == {URIRef("https://clinicaltrials.gov/api/v2/studies/NCT00202163")}
    assert values(g, PAGE, SDO.license) == {URIRef("https://creativecommons.org/publicdomain/mark/1.0/")}
    assert values(g, PAGE, SDO.keywords) == {Literal("ED"), Literal("DHEA"), Literal("testosterone")}


def test_conditions_and_interventions_carry_their_mesh_codes_and_links():
    g = described(fixture_trial())
    (condition,) = g.objects(TRIAL, SDO.healthCondition)
    assert values(g, condition, SDO.name) == {Literal("Erectile Dysfunction")}
    # The registry writes D000007172; NLM's descriptor is D007172.
    assert values(g, condition, SDO.sameAs) == {URIRef("http://id.nlm.nih.gov/mesh/D007172")}
    code = g.value(condition, SDO.code)
    assert (g.value(code, SDO.codeValue), g.value(code, SDO.codingSystem)) == (Literal("D007172"), Literal("MeSH"))
    subjects = {str(g.value(s, SDO.name)): s for s in g.objects(TRIAL, SDO.studySubject)}
    assert set(subjects) == {"DHEA", "Testosterone"}
    assert values(g, subjects["DHEA"], RDF.type) == {SDO.Drug}
    assert values(g, subjects["DHEA"], TP.interventionType) == {TP.DrugIntervention}
    assert values(g, subjects["DHEA"], SDO.code) == set()
    (testosterone_code,) = g.objects(subjects["Testosterone"], SDO.code)
    assert g.value(testosterone_code, SDO.codeValue) == Literal("D013739")


@pytest.mark.parametrize(
    ("registry", "nlm"),
    [
        ("D000000230", "D000230"),  # an old descriptor the registry padded
        ("D007172", "D007172"),
        ("D000086382", "D000086382"),  # a descriptor of the 10-character series (COVID-19)
        ("C000024352", "C024352"),
        ("C000591245", "C000591245"),
        ("Q000009", None),
        ("D12", None),
        ("", None),
    ],
)
def test_mesh_ids_are_written_as_nlm_writes_them(registry, nlm):
    assert mesh_ui(registry) == nlm


# The registry's 14 statuses: schema.org's members where it has one, ours for the rest.
STATUSES = {
    "ACTIVE_NOT_RECRUITING": SDO.ActiveNotRecruiting,
    "COMPLETED": SDO.Completed,
    "ENROLLING_BY_INVITATION": SDO.EnrollingByInvitation,
    "NOT_YET_RECRUITING": SDO.NotYetRecruiting,
    "RECRUITING": SDO.Recruiting,
    "SUSPENDED": SDO.Suspended,
    "TERMINATED": SDO.Terminated,
    "WITHDRAWN": SDO.Withdrawn,
    "AVAILABLE": TP.Available,
    "NO_LONGER_AVAILABLE": TP.NoLongerAvailable,
    "TEMPORARILY_NOT_AVAILABLE": TP.TemporarilyNotAvailable,
    "APPROVED_FOR_MARKETING": TP.ApprovedForMarketing,
    "WITHHELD": TP.Withheld,
    "UNKNOWN": TP.UnknownStatus,
}


@pytest.mark.parametrize(("code", "term"), STATUSES.items())
def test_every_registry_status_maps_to_one_status_term(code, term):
    trial = fixture_trial()
    site = dataclasses.replace(trial.locations[0], status=code)
    g = described(dataclasses.replace(trial, overall_status=code, locations=(site,)), "nt")
    assert values(g, TRIAL, SDO.status) == {term}
    # A site's status is its own property: schema:status belongs to the trial alone.
    assert values(g, URIRef(f"{PAGE}#site-1"), TP.recruitmentStatus) == {term}
    assert set(g.subjects(SDO.status, None)) == {TRIAL}
    if str(term).startswith(str(TP)):
        assert (term, RDF.type, SDO.MedicalStudyStatus) in load_vocabulary(BASE).graph


def test_a_status_the_registry_adds_later_stays_as_text():
    g = described(dataclasses.replace(fixture_trial(), overall_status="PAUSED"))
    assert values(g, TRIAL, SDO.status) == {Literal("PAUSED")}


def test_design_fields_become_trial_designs():
    trial = fixture_trial()
    design = dataclasses.replace(trial.design, allocation="NON_RANDOMIZED", masking="QUADRUPLE", intervention_model="CROSSOVER")
    sites = (Location(facility="A", country="France"), Location(facility="B", country="Spain"))
    arms = (Arm(label="Placebo", type="PLACEBO_COMPARATOR"), Arm(label="Drug", type="EXPERIMENTAL"))
    g = described(dataclasses.replace(trial, design=design, locations=sites, arms=arms))
    assert values(g, TRIAL, SDO.trialDesign) == {
        TP.NonRandomizedTrial, SDO.TripleBlindedTrial, TP.QuadrupleBlindedTrial, TP.CrossoverAssignment,
        SDO.PlaceboControlledTrial, SDO.MultiCenterTrial, SDO.InternationalTrial,
    }
    assert {str(g.value(c, SDO.name)) for c in g.objects(TRIAL, SDO.studyLocation)} == {"France", "Spain"}
    assert {g.value(a, TP.armType) for a in g.objects(TRIAL, TP.arm)} == {TP.PlaceboComparatorArm, TP.ExperimentalArm}


def test_observational_and_expanded_access_studies_take_their_own_types():
    trial = fixture_trial()
    observational = dataclasses.replace(
        trial.design, study_type="OBSERVATIONAL", observational_model="CASE_CONTROL", time_perspective="PROSPECTIVE",
        patient_registry=True,
    )
    g = described(dataclasses.replace(trial, design=observational))
    assert values(g, TRIAL, RDF.type) == {SDO.MedicalObservationalStudy}
    assert values(g, TRIAL, SDO.trialDesign) == set()  # schema:trialDesign is for trials only
    assert values(g, TRIAL, SDO.studyDesign) == {SDO.Observational, TP.CaseControlStudy, TP.ProspectiveStudy, SDO.Registry}
    expanded = dataclasses.replace(trial.design, study_type="EXPANDED_ACCESS")
    g = described(dataclasses.replace(trial, design=expanded, overall_status="AVAILABLE"))
    assert values(g, TRIAL, RDF.type) == {SDO.MedicalStudy}
    assert values(g, TRIAL, SDO.status) == {TP.Available}


def test_sites_have_an_address_coordinates_and_a_name_even_without_a_facility():
    trial = fixture_trial()
    nameless = Location(city="Lyon", country="France", status="RECRUITING", geo=GeoPoint(45.75, 4.85))
    g = described(dataclasses.replace(trial, locations=(*trial.locations, nameless)))
    first, second = URIRef(f"{PAGE}#site-1"), URIRef(f"{PAGE}#site-2")
    assert values(g, first, RDF.type) == {TP.StudySite, SDO.Place}
    assert values(g, first, SDO.name) == {Literal("Centre for Advanced Urological Research")}
    assert values(g, first, SDO.latitude) == {Literal("44.22976", datatype=XSD.decimal)}
    address = g.value(first, SDO.address)
    assert (str(g.value(address, SDO.addressLocality)), str(g.value(address, SDO.postalCode))) == ("Kingston", "K7L 3N6")
    assert values(g, second, SDO.name) == {Literal("Lyon, France")}
    assert values(g, second, TP.recruitmentStatus) == {SDO.Recruiting}


def test_outcomes_dates_and_ages_keep_what_the_registry_says():
    trial = fixture_trial()
    outcome = Outcome(measure="Change in IIEF score", description="Questionnaire", time_frame="Baseline and week 12")
    rules = dataclasses.replace(trial.eligibility, minimum_age="6 Months", maximum_age="1 Year")
    g = described(dataclasses.replace(
        trial, primary_outcomes=(outcome,), eligibility=rules,
        start=DateStruct(PartialDate(2025), "ESTIMATED"), status_verified=PartialDate(2024, 5, 3),
    ))
    measured = g.value(TRIAL, TP.primaryOutcome)
    assert values(g, measured, RDF.type) == {TP.OutcomeMeasure}
    assert values(g, measured, TP.timeFrame) == {Literal("Baseline and week 12")}
    assert values(g, TRIAL, TP.startDate) == {Literal("2025", datatype=XSD.gYear)}
    assert values(g, TRIAL, TP.startDateType) == {TP.Estimated}
    assert values(g, TRIAL, TP.statusVerifiedDate) == {Literal("2024-05-03", datatype=XSD.date)}
    youngest, oldest = g.value(TRIAL, TP.minimumAge), g.value(TRIAL, TP.maximumAge)
    assert (g.value(youngest, SDO.value), g.value(youngest, SDO.unitCode), g.value(youngest, SDO.unitText)) == (
        Literal(6), Literal("MON"), Literal("months"))
    assert (g.value(oldest, SDO.value), g.value(oldest, SDO.unitCode)) == (Literal(1), Literal("ANN"))


def test_links_that_are_not_http_iris_are_left_out():
    trial = dataclasses.replace(fixture_trial(), see_also=(
        Link("ok", "https://example.org/study info"), Link("ok", "www.example.org"), Link("ok", "https://example.org/a?b=1"),
        Link("ok", "https://example.org/100%zz"), Link("ok", "https://example.org/a#b#c"), Link("ok", "https://[host"),
    ))
    g = described(trial, "rdf")
    assert values(g, PAGE, SDO.relatedLink) == {URIRef("https://example.org/a?b=1")}


HOSTILE = 'Ends </script><script>alert("x")</script> & <b>bold</b> <!-- c --> \'single\' """triple""" back\\slash ]]> \u2028 é'


def hostile_trial() -> Trial:
    trial = fixture_trial()
    site = dataclasses.replace(trial.locations[0], facility=HOSTILE)
    return dataclasses.replace(trial, brief_title=HOSTILE, brief_summary=HOSTILE, keywords=(HOSTILE,), locations=(site,))


@pytest.mark.parametrize("fmt", RDF_FORMATS, ids=lambda f: f.extension)
def test_registry_text_with_markup_and_quotes_comes_back_unchanged(fmt):
    g = described(hostile_trial(), fmt.extension)
    assert values(g, TRIAL, SDO.name) == {Literal(HOSTILE)}
    assert values(g, TRIAL, SDO.description) == {Literal(HOSTILE)}
    assert values(g, PAGE, SDO.keywords) == {Literal(HOSTILE)}
    assert values(g, URIRef(f"{PAGE}#site-1"), SDO.name) == {Literal(HOSTILE)}


def test_json_ld_for_a_script_element_is_escaped_and_means_the_same():
    doc = document(hostile_trial())
    embedded = graph.script_json(doc)
    assert not {"<", ">", "&"} & set(embedded)
    assert json.loads(embedded) == doc
    page = f'<html><head><script type="application/ld+json">{embedded}</script></head><body><p>x</p></body></html>'
    (found,) = extruct.extract(page, syntaxes=["json-ld"])["json-ld"]
    assert found == doc
    assert isomorphic(Graph().parse(data=json.dumps(found), format="json-ld"), graph.trial_graph(doc))
    # The same escaping applies to JSON-LD already written out.
    written = graph.serialize(doc, graph.BY_EXTENSION["jsonld"]).decode()
    assert json.loads(graph.script_json(written)) == doc


def test_characters_xml_cannot_carry_are_dropped_from_every_format():
    trial = dataclasses.replace(fixture_trial(), brief_title="Line\x0bbreak\x1f study\x00")
    for fmt in RDF_FORMATS:
        assert values(described(trial, fmt.extension), TRIAL, SDO.name) == {Literal("Linebreak study")}


def test_the_graph_follows_the_base_url_and_html_is_no_rdf_format():
    g = graph.trial_graph(document(fixture_trial()))
    assert (TRIAL, RDF.type, SDO.MedicalTrial) in g
    assert all(str(s).startswith(f"{BASE}/trials/NCT00202163") for s in g.subjects())
    with pytest.raises(ValueError, match="HTML"):
        graph.serialize(document(fixture_trial()), graph.BY_EXTENSION["html"])


def test_the_negotiation_table_has_one_row_per_format():
    assert [f.extension for f in graph.FORMATS] == ["html", "jsonld", "ttl", "nt", "rdf"]
    assert graph.BY_MIMETYPE["text/turtle"].extension == "ttl"
    assert graph.BY_MIMETYPE["application/json"].extension == "jsonld"
    assert len(set(graph.BY_MIMETYPE)) == sum(1 + len(f.aliases) for f in graph.FORMATS)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(min_size=1, max_size=40))
@example(text="a\r\nb\rc\td")  # XML parsers turn a raw CR into LF unless it is escaped
@example(text="\x00\x1f")
def test_any_registry_text_reads_back_the_same_from_every_format(text):
    trial = dataclasses.replace(fixture_trial(), brief_summary=text)
    expected = {Literal(cleaned)} if (cleaned := literals.text(text)) else set()
    for fmt in RDF_FORMATS:
        assert values(described(trial, fmt.extension), TRIAL, SDO.description) == expected, fmt.extension
