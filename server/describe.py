"""A trial described as a JSON-LD node tree: schema.org where it has a term, our vocabulary where not.

Keys and values are written for our JSON-LD context (vocab/context.jsonld): bare names are
schema.org terms, ``tp:`` names are ours. vocab/MAPPING.md explains each choice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import codes, mesh
from . import literals as lit
from .dates import PartialDate
from .trials import DateStruct, Location, MeshTerm, Outcome, Trial

LICENSE = "https://creativecommons.org/publicdomain/mark/1.0/"
CTGOV_STUDY = "https://clinicaltrials.gov/study/"
IDENTIFIERS_ORG = "https://identifiers.org/clinicaltrials:"
MESH = "http://id.nlm.nih.gov/mesh/"
PUBMED = "https://pubmed.ncbi.nlm.nih.gov/"
_AGE = re.compile(r"^(\d+)\s+(year|month|week|day|hour|minute)s?$", re.IGNORECASE)

Node = dict[str, Any]


@dataclass(frozen=True)
class Source:
    """What a trial description says about itself: where it lives and which version it shows."""

    base_url: str
    content_hash: str
    last_update: str | None  # the version's last-update date, YYYY-MM-DD
    registry_url: str  # where the registry serves this record


def document_url(base_url: str, nct_id: str) -> str:
    """Return the URL of a trial's document (the IRI of the trial adds ``#trial``)."""
    return f"{base_url}/trials/{nct_id}"


def describe(trial: Trial, source: Source) -> Node:
    """Describe one trial version as a JSON-LD node, the document about it nested inside."""
    page = document_url(source.base_url, trial.nct_id)
    design = trial.design
    study_type = codes.STUDY_TYPES.get(design.study_type or "", codes.DEFAULT_STUDY_TYPE)
    interventions = _interventions(trial, page)
    study: Node = {
        "@id": f"{page}#trial",
        "@type": study_type,
        "name": lit.text(trial.brief_title),
        "alternateName": lit.distinct([trial.acronym, trial.official_title], exclude=trial.brief_title),
        "description": lit.text(trial.brief_summary),
        "tp:detailedDescription": lit.text(trial.detailed_description),
        "identifier": _identifiers(trial, page),
        "url": page,
        "sameAs": [CTGOV_STUDY + trial.nct_id, IDENTIFIERS_ORG + trial.nct_id],
        "mainEntityOfPage": _page(trial, source, page),
        "status": _status(trial.overall_status),
        "tp:lastKnownStatus": codes.STATUSES.get(trial.last_known_status or ""),
        "tp:whyStopped": lit.text(trial.why_stopped),
        "tp:hasResults": trial.has_results,
        "tp:phase": [codes.PHASES[p] for p in design.phases if p in codes.PHASES],
        "tp:primaryPurpose": codes.PURPOSES.get(design.primary_purpose or ""),
        "trialDesign": _trial_design(trial) if study_type == "MedicalTrial" else None,
        "studyDesign": _study_design(trial) if study_type == "MedicalObservationalStudy" else None,
        "tp:enrollment": design.enrollment,
        "tp:enrollmentType": codes.ACTUAL_OR_ESTIMATED.get(design.enrollment_type or ""),
        **_dated("tp:startDate", trial.start),
        **_dated("tp:primaryCompletionDate", trial.primary_completion),
        **_dated("tp:completionDate", trial.completion),
        "tp:statusVerifiedDate": lit.date(trial.status_verified),
        "tp:firstPostedDate": lit.date(trial.first_posted.date if trial.first_posted else None),
        "tp:resultsFirstPostedDate": lit.date(trial.results_first_posted.date if trial.results_first_posted else None),
        "healthCondition": _conditions(trial, page),
        "studySubject": interventions,
        "tp:arm": _arms(trial, page, interventions),
        "sponsor": _organization(trial.lead_sponsor.name, f"{page}#sponsor") if trial.lead_sponsor else None,
        "tp:collaborator": [
            _organization(org.name, f"{page}#collaborator-{n}") for n, org in enumerate(trial.collaborators, 1)
        ],
        "studyLocation": [
            {"@id": f"{page}#country-{n}", "@type": "Country", "name": c}
            for n, c in enumerate(lit.distinct(trial.countries), 1)
        ],
        "tp:site": [_site(loc, f"{page}#site-{n}") for n, loc in enumerate(trial.locations, 1)],
        **_eligibility(trial, page),
        "tp:primaryOutcome": _outcomes(trial.primary_outcomes, f"{page}#primary-outcome"),
        "tp:secondaryOutcome": _outcomes(trial.secondary_outcomes, f"{page}#secondary-outcome"),
        "tp:otherOutcome": _outcomes(trial.other_outcomes, f"{page}#other-outcome"),
        **_references(trial, page),
    }
    node: Node = lit.compact(study)
    return node


def _page(trial: Trial, source: Source, page: str) -> Node:
    last_update = PartialDate.parse(source.last_update) if source.last_update else None
    return {
        "@id": page,
        "@type": ["WebPage", "foaf:Document"],
        "name": f"{lit.text(trial.brief_title) or trial.nct_id} ({trial.nct_id})",
        "foaf:primaryTopic": {"@id": f"{page}#trial"},
        "dateModified": lit.date(last_update),
        "version": source.content_hash,
        "license": LICENSE,
        "isBasedOn": source.registry_url,
        "prov:wasDerivedFrom": source.registry_url,
        "keywords": lit.distinct(trial.keywords),
        "relatedLink": lit.distinct(lit.iri(link.url) for link in trial.see_also),
    }


def _identifiers(trial: Trial, page: str) -> list[Node]:
    ids: list[tuple[str, str, str | None]] = [("ClinicalTrials.gov", trial.nct_id, None)]
    ids += [("ClinicalTrials.gov (former ID)", alias, None) for alias in trial.nct_id_aliases]
    if trial.org_study_id:
        org = lit.text(trial.organization.name) if trial.organization else None
        ids.append((f"{org or 'sponsor'} study ID", trial.org_study_id, None))
    for sid in trial.secondary_ids:
        ids.append((lit.text(sid.domain) or lit.text(sid.type) or "secondary ID", sid.id, lit.iri(sid.link)))
    return [
        {**_property_value(f"{page}#identifier-{n}", kind, value), "url": link}
        for n, (kind, value, link) in enumerate(ids, 1)
    ]


def _property_value(iri: str, kind: str, value: str) -> Node:
    return {"@id": iri, "@type": "PropertyValue", "propertyID": kind, "value": lit.text(value)}


def _status(code: str | None) -> str | Node | None:
    if code is None:
        return None
    # A registry status we do not know yet stays a text value, which schema:status allows.
    return codes.STATUSES.get(code) or {"@value": lit.text(code) or code}


def _trial_design(trial: Trial) -> list[str]:
    design = trial.design
    designs = [codes.ALLOCATIONS.get(design.allocation or "")]
    designs += codes.MASKINGS.get(design.masking or "", ())
    designs.append(codes.INTERVENTION_MODELS.get(design.intervention_model or ""))
    if any(arm.type == "PLACEBO_COMPARATOR" for arm in trial.arms):
        designs.append("PlaceboControlledTrial")
    if trial.locations:
        designs.append("MultiCenterTrial" if len(trial.locations) > 1 else "SingleCenterTrial")
    if len(trial.countries) > 1:
        designs.append("InternationalTrial")
    return [d for d in designs if d]


def _study_design(trial: Trial) -> list[str]:
    design = trial.design
    designs = ["Observational", codes.OBSERVATIONAL_MODELS.get(design.observational_model or "")]
    designs.append(codes.TIME_PERSPECTIVES.get(design.time_perspective or ""))
    if design.patient_registry:
        designs.append("Registry")
    return [d for d in designs if d]


def _conditions(trial: Trial, page: str) -> list[Node]:
    nodes = []
    for n, (label, term) in enumerate(mesh.conditions(trial), 1):
        code = _mesh_code(term, page)
        nodes.append({
            "@id": f"{page}#condition-{n}",
            "@type": "MedicalCondition",
            "name": lit.text(label),
            "code": code,
            "sameAs": MESH + code["codeValue"] if code else None,
        })
    return nodes


def _interventions(trial: Trial, page: str) -> list[Node]:
    per_intervention, unmatched = mesh.intervention_terms(trial)
    nodes: list[Node] = []
    for n, (item, terms) in enumerate(zip(trial.interventions, per_intervention, strict=True), 1):
        schema_type, ours = codes.INTERVENTIONS.get(item.type or "", (codes.DEFAULT_INTERVENTION, None))
        nodes.append({
            "@id": f"{page}#intervention-{n}",
            "@type": schema_type,
            "name": lit.text(item.name),
            "alternateName": lit.distinct(item.other_names, exclude=item.name),
            "description": lit.text(item.description),
            "tp:interventionType": ours,
            "code": [_mesh_code(t, page) for t in terms],
        })
    for n, term in enumerate(unmatched, 1):
        nodes.append({
            "@id": f"{page}#intervention-mesh-{n}",
            "@type": codes.DEFAULT_INTERVENTION,
            "name": lit.text(term.term),
            "code": _mesh_code(term, page),
        })
    return nodes


def _mesh_code(term: MeshTerm | None, page: str) -> Node | None:
    ui = mesh.mesh_ui(term.id) if term else None
    if ui is None:
        return None
    return {"@id": f"{page}#mesh-{ui}", "@type": "MedicalCode", "codeValue": ui, "codingSystem": "MeSH"}


def _arms(trial: Trial, page: str, interventions: list[Node]) -> list[Node]:
    arms = []
    for n, arm in enumerate(trial.arms, 1):
        # Arms name interventions as "Type: name"; interventions name their arms by label.
        names = {entry.partition(": ")[2] or entry for entry in arm.intervention_names}
        given = [
            {"@id": node["@id"]}
            for item, node in zip(trial.interventions, interventions, strict=False)
            if item.name in names or arm.label in item.arm_labels
        ]
        arms.append({
            "@id": f"{page}#arm-{n}",
            "@type": "tp:Arm",
            "name": lit.text(arm.label),
            "description": lit.text(arm.description),
            "tp:armType": codes.ARM_TYPES.get(arm.type or ""),
            "tp:armIntervention": given,
        })
    return arms


def _organization(name: str, iri: str) -> Node:
    return {"@id": iri, "@type": "Organization", "name": lit.text(name)}


def _site(loc: Location, iri: str) -> Node:
    place = ", ".join(p for p in (loc.city, loc.state, loc.country) if p)
    return {
        "@id": iri,
        "@type": ["tp:StudySite", "Place"],
        "name": lit.text(loc.facility) or lit.text(place) or "Study site",
        "address": {
            "@id": f"{iri}-address",
            "@type": "PostalAddress",
            "addressLocality": lit.text(loc.city),
            "addressRegion": lit.text(loc.state),
            "postalCode": lit.text(loc.zip),
            "addressCountry": lit.text(loc.country),
        },
        "latitude": lit.decimal(loc.geo.lat) if loc.geo else None,
        "longitude": lit.decimal(loc.geo.lon) if loc.geo else None,
        "tp:recruitmentStatus": codes.STATUSES.get(loc.status or ""),
    }


def _eligibility(trial: Trial, page: str) -> Node:
    rules = trial.eligibility
    return {
        "tp:eligibilityCriteria": lit.text(rules.criteria),
        "tp:acceptsHealthyVolunteers": rules.healthy_volunteers,
        "tp:eligibleSex": list(codes.SEXES.get(rules.sex or "", ())),
        "tp:minimumAge": _age(rules.minimum_age, f"{page}#minimum-age"),
        "tp:maximumAge": _age(rules.maximum_age, f"{page}#maximum-age"),
        "tp:studyPopulation": lit.text(rules.study_population),
    }


def _age(written: str | None, iri: str) -> Node | None:
    """Read an age as the registry writes it ("18 Years") into a value with a UN/CEFACT unit."""
    match = _AGE.match(written.strip()) if written else None
    if match is None:
        return {"@id": iri, "@type": "QuantitativeValue", "description": lit.text(written)}
    number, unit = int(match[1]), match[2].lower()
    return {
        "@id": iri,
        "@type": "QuantitativeValue",
        "value": number,
        "unitCode": codes.AGE_UNITS[unit],
        "unitText": unit if number == 1 else f"{unit}s",
    }


def _outcomes(outcomes: Iterable[Outcome], prefix: str) -> list[Node]:
    return [
        {
            "@id": f"{prefix}-{n}",
            "@type": "tp:OutcomeMeasure",
            "name": lit.text(o.measure),
            "description": lit.text(o.description),
            "tp:timeFrame": lit.text(o.time_frame),
        }
        for n, o in enumerate(outcomes, 1)
    ]


def _references(trial: Trial, page: str) -> Node:
    """Split publications: those reporting the study's results are about it, the rest background."""
    results: list[Node] = []
    background: list[Node] = []
    for n, ref in enumerate(trial.references, 1):
        pmid = ref.pmid if ref.pmid and ref.pmid.isdigit() else None
        name = lit.text(ref.citation) or (f"PubMed {pmid}" if pmid else None)
        if name is None:
            continue
        iri = f"{page}#reference-{n}"
        article = {
            "@id": iri,
            "@type": "ScholarlyArticle",
            "name": name,
            "identifier": _property_value(f"{iri}-pmid", "PMID", pmid) if pmid else None,
            "sameAs": f"{PUBMED}{pmid}/" if pmid else None,
        }
        (results if ref.type in ("RESULT", "DERIVED") else background).append(article)
    return {"subjectOf": results, "tp:backgroundReference": background}


def _dated(key: str, value: DateStruct | None) -> Node:
    if value is None:
        return {}
    return {key: lit.date(value.date), f"{key}Type": codes.ACTUAL_OR_ESTIMATED.get(value.type or "")}
