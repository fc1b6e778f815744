"""``Trial``: a frozen, typed view of one ClinicalTrials.gov API v2 study record.

This is the only module that knows the registry's JSON paths.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from .dates import PartialDate
from .errors import InvalidRecord
from .fields import Fields

# ASCII digits and \Z: \d takes other scripts' digits and $ a trailing newline, neither an NCT ID.
NCT_ID = re.compile(r"NCT[0-9]{8}\Z")
_LOOSE_NCT_ID = re.compile(r"nct[0-9]{8}\Z", re.IGNORECASE)
# The widths of the store's listing columns: a longer code is no registry code, and PostgreSQL
# would refuse the whole batch for it.
CODE_WIDTH = 32  # overall status, study type
PHASES_WIDTH = 80  # the phases, joined by spaces
MESH_ID_WIDTH = 16


def canonical_nct_id(text: str) -> str | None:
    """Return the canonical spelling of an NCT ID written in any case, or None."""
    text = text.strip()
    return text.upper() if _LOOSE_NCT_ID.match(text) else None


@dataclass(frozen=True)
class DateStruct:
    """A registry date with its ACTUAL/ESTIMATED type."""

    date: PartialDate
    type: str | None = None  # ACTUAL or ESTIMATED; absent on old records


@dataclass(frozen=True)
class SecondaryId:
    id: str
    type: str | None = None
    domain: str | None = None
    link: str | None = None


@dataclass(frozen=True)
class Organization:
    name: str
    kind: str | None = None  # the registry's class: INDUSTRY, NIH, FED, OTHER, ...


@dataclass(frozen=True)
class ResponsibleParty:
    type: str | None
    name: str | None = None
    title: str | None = None
    affiliation: str | None = None


@dataclass(frozen=True)
class Oversight:
    has_dmc: bool | None = None
    fda_regulated_drug: bool | None = None
    fda_regulated_device: bool | None = None
    unapproved_device: bool | None = None
    us_export: bool | None = None


@dataclass(frozen=True)
class Design:
    study_type: str | None = None  # INTERVENTIONAL, OBSERVATIONAL, EXPANDED_ACCESS
    phases: tuple[str, ...] = ()
    allocation: str | None = None
    intervention_model: str | None = None
    intervention_model_description: str | None = None
    primary_purpose: str | None = None
    observational_model: str | None = None
    time_perspective: str | None = None
    masking: str | None = None
    who_masked: tuple[str, ...] = ()
    masking_description: str | None = None
    enrollment: int | None = None
    enrollment_type: str | None = None  # ACTUAL or ESTIMATED
    patient_registry: bool | None = None
    target_duration: str | None = None
    expanded_access_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Arm:
    label: str
    type: str | None = None
    description: str | None = None
    intervention_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Intervention:
    type: str | None
    name: str
    description: str | None = None
    arm_labels: tuple[str, ...] = ()
    other_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    measure: str
    description: str | None = None
    time_frame: str | None = None


@dataclass(frozen=True)
class Eligibility:
    criteria: str | None = None
    healthy_volunteers: bool | None = None
    sex: str | None = None
    gender_based: bool | None = None
    gender_description: str | None = None
    minimum_age: str | None = None  # as written, e.g. "18 Years"
    maximum_age: str | None = None
    std_ages: tuple[str, ...] = ()
    study_population: str | None = None
    sampling_method: str | None = None


@dataclass(frozen=True)
class Contact:
    name: str | None = None
    role: str | None = None
    phone: str | None = None
    phone_ext: str | None = None
    email: str | None = None
    affiliation: str | None = None


@dataclass(frozen=True)
class GeoPoint:
    lat: float
    lon: float


@dataclass(frozen=True)
class Location:
    facility: str | None = None
    status: str | None = None
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    geo: GeoPoint | None = None
    contacts: tuple[Contact, ...] = ()


@dataclass(frozen=True)
class Reference:
    citation: str | None = None
    pmid: str | None = None
    type: str | None = None


@dataclass(frozen=True)
class Link:
    label: str | None
    url: str


@dataclass(frozen=True)
class IpdSharing:
    sharing: str | None = None
    description: str | None = None
    info_types: tuple[str, ...] = ()
    time_frame: str | None = None
    access_criteria: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class MeshTerm:
    id: str
    term: str


@dataclass(frozen=True)
class MeshBrowse:
    """Derived MeSH terms: the record's own terms and their ancestors."""

    terms: tuple[MeshTerm, ...] = ()
    ancestors: tuple[MeshTerm, ...] = ()


@dataclass(frozen=True)
class Trial:
    """One study record, every module the API returns, typed."""

    nct_id: str
    brief_title: str
    official_title: str | None
    acronym: str | None
    org_study_id: str | None
    organization: Organization | None
    secondary_ids: tuple[SecondaryId, ...]
    nct_id_aliases: tuple[str, ...]
    overall_status: str | None
    last_known_status: str | None
    why_stopped: str | None
    status_verified: PartialDate | None
    has_expanded_access: bool | None
    start: DateStruct | None
    primary_completion: DateStruct | None
    completion: DateStruct | None
    first_submitted: PartialDate | None
    first_posted: DateStruct | None
    results_first_posted: DateStruct | None
    last_update_submitted: PartialDate | None
    last_update_posted: DateStruct | None
    lead_sponsor: Organization | None
    collaborators: tuple[Organization, ...]
    responsible_party: ResponsibleParty | None
    oversight: Oversight
    brief_summary: str | None
    detailed_description: str | None
    conditions: tuple[str, ...]
    keywords: tuple[str, ...]
    design: Design
    arms: tuple[Arm, ...]
    interventions: tuple[Intervention, ...]
    primary_outcomes: tuple[Outcome, ...]
    secondary_outcomes: tuple[Outcome, ...]
    other_outcomes: tuple[Outcome, ...]
    eligibility: Eligibility
    central_contacts: tuple[Contact, ...]
    officials: tuple[Contact, ...]
    locations: tuple[Location, ...]
    references: tuple[Reference, ...]
    see_also: tuple[Link, ...]
    ipd_sharing: IpdSharing | None
    condition_mesh: MeshBrowse
    intervention_mesh: MeshBrowse
    has_results: bool
    version_holder: PartialDate | None

    @property
    def countries(self) -> tuple[str, ...]:
        """Return the countries of the sites, in order of first appearance."""
        return tuple(dict.fromkeys(loc.country for loc in self.locations if loc.country))


def parse_trial(record: Any, source: str = "record") -> Trial:
    """Parse one API v2 study object; raise InvalidRecord naming record and field."""
    if not isinstance(record, Mapping):
        raise InvalidRecord(source, "(top level)", "expected a JSON object")
    if not isinstance(record.get("protocolSection"), Mapping):
        raise InvalidRecord(source, "protocolSection", "missing: this is not a study record")
    top = Fields(record, "", source)
    protocol = top.obj("protocolSection")
    ident = protocol.obj("identificationModule")
    nct_id = ident.text("nctId")
    if nct_id is None:
        raise InvalidRecord(source, "protocolSection.identificationModule.nctId", "missing")
    if not NCT_ID.match(nct_id):
        raise InvalidRecord(source, "protocolSection.identificationModule.nctId", f"not an NCT ID: {nct_id!r}")
    # From here on, errors name the study rather than the file it came from.
    top = Fields(record, "", record_name(source, nct_id))
    protocol = top.obj("protocolSection")
    ident = protocol.obj("identificationModule")
    status = protocol.obj("statusModule")
    sponsors = protocol.obj("sponsorCollaboratorsModule")
    description = protocol.obj("descriptionModule")
    conditions = protocol.obj("conditionsModule")
    arms = protocol.obj("armsInterventionsModule")
    outcomes = protocol.obj("outcomesModule")
    contacts = protocol.obj("contactsLocationsModule")
    references = protocol.obj("referencesModule")
    derived = top.obj("derivedSection")
    brief_title = ident.text("briefTitle") or ident.text("officialTitle") or nct_id
    has_results = top.flag("hasResults")
    return Trial(
        nct_id=nct_id,
        brief_title=brief_title,
        official_title=ident.text("officialTitle"),
        acronym=ident.text("acronym"),
        org_study_id=ident.obj("orgStudyIdInfo").text("id"),
        organization=_organization(ident.obj("organization"), "fullName"),
        secondary_ids=tuple(
            SecondaryId(id=i, type=s.text("type"), domain=s.text("domain"), link=s.text("link"))
            for s in ident.objs("secondaryIdInfos")
            if (i := s.text("id"))
        ),
        nct_id_aliases=ident.texts("nctIdAliases"),
        overall_status=status.code("overallStatus", CODE_WIDTH),
        last_known_status=status.text("lastKnownStatus"),
        why_stopped=status.text("whyStopped"),
        status_verified=status.date("statusVerifiedDate"),
        has_expanded_access=status.obj("expandedAccessInfo").flag("hasExpandedAccess"),
        start=_date_struct(status.obj("startDateStruct")),
        primary_completion=_date_struct(status.obj("primaryCompletionDateStruct")),
        completion=_date_struct(status.obj("completionDateStruct")),
        first_submitted=status.date("studyFirstSubmitDate"),
        first_posted=_date_struct(status.obj("studyFirstPostDateStruct")),
        results_first_posted=_date_struct(status.obj("resultsFirstPostDateStruct")),
        last_update_submitted=status.date("lastUpdateSubmitDate"),
        last_update_posted=_date_struct(status.obj("lastUpdatePostDateStruct")),
        lead_sponsor=_organization(sponsors.obj("leadSponsor"), "name"),
        collaborators=tuple(
            org for c in sponsors.objs("collaborators") if (org := _organization(c, "name"))
        ),
        responsible_party=_responsible_party(sponsors.obj("responsibleParty")),
        oversight=_oversight(protocol.obj("oversightModule")),
        brief_summary=description.text("briefSummary"),
        detailed_description=description.text("detailedDescription"),
        conditions=conditions.texts("conditions"),
        keywords=conditions.texts("keywords"),
        design=_design(protocol.obj("designModule")),
        arms=tuple(
            Arm(
                label=label,
                type=a.text("type"),
                description=a.text("description"),
                intervention_names=a.texts("interventionNames"),
            )
            for a in arms.objs("armGroups")
            if (label := a.text("label"))
        ),
        interventions=tuple(
            Intervention(
                type=i.text("type"),
                name=name,
                description=i.text("description"),
                arm_labels=i.texts("armGroupLabels"),
                other_names=i.texts("otherNames"),
            )
            for i in arms.objs("interventions")
            if (name := i.text("name"))
        ),
        primary_outcomes=_outcomes(outcomes, "primaryOutcomes"),
        secondary_outcomes=_outcomes(outcomes, "secondaryOutcomes"),
        other_outcomes=_outcomes(outcomes, "otherOutcomes"),
        eligibility=_eligibility(protocol.obj("eligibilityModule")),
        central_contacts=tuple(_contact(c) for c in contacts.objs("centralContacts")),
        officials=tuple(_contact(c) for c in contacts.objs("overallOfficials")),
        locations=tuple(_location(loc) for loc in contacts.objs("locations")),
        references=tuple(
            Reference(citation=r.text("citation"), pmid=r.text("pmid"), type=r.text("type"))
            for r in references.objs("references")
        ),
        see_also=tuple(
            Link(label=s.text("label"), url=url)
            for s in references.objs("seeAlsoLinks")
            if (url := s.text("url"))
        ),
        ipd_sharing=_ipd_sharing(protocol.obj("ipdSharingStatementModule")),
        condition_mesh=_mesh(derived.obj("conditionBrowseModule")),
        intervention_mesh=_mesh(derived.obj("interventionBrowseModule")),
        has_results=bool(has_results),
        version_holder=derived.obj("miscInfoModule").date("versionHolder"),
    )


def record_name(source: str, nct_id: str) -> str:
    """Name a record in errors: its NCT ID, with the file it came from when known."""
    return nct_id if source == "record" else f"{source} ({nct_id})"


def _organization(f: Fields, name_key: str) -> Organization | None:
    name = f.text(name_key)
    return Organization(name=name, kind=f.text("class")) if name else None


def _date_struct(f: Fields) -> DateStruct | None:
    date = f.date("date")
    return DateStruct(date=date, type=f.text("type")) if date else None


def _responsible_party(f: Fields) -> ResponsibleParty | None:
    kind = f.text("type")
    name = f.text("investigatorFullName")
    if kind is None and name is None:
        return None
    return ResponsibleParty(
        type=kind,
        name=name,
        title=f.text("investigatorTitle"),
        affiliation=f.text("investigatorAffiliation"),
    )


def _oversight(f: Fields) -> Oversight:
    return Oversight(
        has_dmc=f.flag("oversightHasDmc"),
        fda_regulated_drug=f.flag("isFdaRegulatedDrug"),
        fda_regulated_device=f.flag("isFdaRegulatedDevice"),
        unapproved_device=f.flag("isUnapprovedDevice"),
        us_export=f.flag("isUsExport"),
    )


def _design(f: Fields) -> Design:
    info = f.obj("designInfo")
    masking = info.obj("maskingInfo")
    enrollment = f.obj("enrollmentInfo")
    return Design(
        study_type=f.code("studyType", CODE_WIDTH),
        phases=f.codes("phases", PHASES_WIDTH),
        allocation=info.text("allocation"),
        intervention_model=info.text("interventionModel"),
        intervention_model_description=info.text("interventionModelDescription"),
        primary_purpose=info.text("primaryPurpose"),
        observational_model=info.text("observationalModel"),
        time_perspective=info.text("timePerspective"),
        masking=masking.text("masking"),
        who_masked=masking.texts("whoMasked"),
        masking_description=masking.text("maskingDescription"),
        enrollment=enrollment.integer("count"),
        enrollment_type=enrollment.text("type"),
        patient_registry=f.flag("patientRegistry"),
        target_duration=f.text("targetDuration"),
        expanded_access_types=tuple(
            key for key in ("individual", "intermediate", "treatment")
            if f.obj("expandedAccessTypes").flag(key)
        ),
    )


def _outcomes(f: Fields, key: str) -> tuple[Outcome, ...]:
    return tuple(
        Outcome(measure=measure, description=o.text("description"), time_frame=o.text("timeFrame"))
        for o in f.objs(key)
        if (measure := o.text("measure"))
    )


def _eligibility(f: Fields) -> Eligibility:
    return Eligibility(
        criteria=f.text("eligibilityCriteria"),
        healthy_volunteers=f.flag("healthyVolunteers"),
        sex=f.text("sex"),
        gender_based=f.flag("genderBased"),
        gender_description=f.text("genderDescription"),
        minimum_age=f.text("minimumAge"),
        maximum_age=f.text("maximumAge"),
        std_ages=f.texts("stdAges"),
        study_population=f.text("studyPopulation"),
        sampling_method=f.text("samplingMethod"),
    )


def _contact(f: Fields) -> Contact:
    return Contact(
        name=f.text("name"),
        role=f.text("role"),
        phone=f.text("phone"),
        phone_ext=f.text("phoneExt"),
        email=f.text("email"),
        affiliation=f.text("affiliation"),
    )


def _location(f: Fields) -> Location:
    point = f.obj("geoPoint")
    lat, lon = point.number("lat"), point.number("lon")
    return Location(
        facility=f.text("facility"),
        status=f.text("status"),
        city=f.text("city"),
        state=f.text("state"),
        zip=f.text("zip"),
        country=f.text("country"),
        geo=GeoPoint(lat, lon) if lat is not None and lon is not None else None,
        contacts=tuple(_contact(c) for c in f.objs("contacts")),
    )


def _ipd_sharing(f: Fields) -> IpdSharing | None:
    sharing = f.text("ipdSharing")
    if sharing is None:
        return None
    return IpdSharing(
        sharing=sharing,
        description=f.text("description"),
        info_types=f.texts("infoTypes"),
        time_frame=f.text("timeFrame"),
        access_criteria=f.text("accessCriteria"),
        url=f.text("url"),
    )


def _mesh(f: Fields) -> MeshBrowse:
    def terms(key: str) -> tuple[MeshTerm, ...]:
        return tuple(
            MeshTerm(id=i, term=t)
            for m in f.objs(key)
            if (i := m.code("id", MESH_ID_WIDTH)) and (t := m.text("term"))
        )

    return MeshBrowse(terms=terms("meshes"), ancestors=terms("ancestors"))


def content_hash(record: Mapping[str, Any]) -> str:
    """Hash a record's content, leaving out what the registry changes every day.

    ``derivedSection.miscInfoModule.versionHolder`` is the data-release date, bumped on every
    record daily; it must not make an unchanged record look new.
    """
    derived = record.get("derivedSection")
    misc = derived.get("miscInfoModule") if isinstance(derived, Mapping) else None
    if isinstance(misc, Mapping) and "versionHolder" in misc:
        misc = {k: v for k, v in misc.items() if k != "versionHolder"}
        record = {**record, "derivedSection": {**derived, "miscInfoModule": misc}}  # type: ignore[dict-item]
    canonical = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def release_of(record: Mapping[str, Any]) -> str:
    """Return the data release a record comes from (``derivedSection.miscInfoModule.versionHolder``), or ""."""
    derived = record.get("derivedSection")
    misc = derived.get("miscInfoModule") if isinstance(derived, Mapping) else None
    holder = misc.get("versionHolder") if isinstance(misc, Mapping) else None
    return holder if isinstance(holder, str) else ""


def checked_hash(record: Mapping[str, Any], trial: Trial, source: str = "record") -> str:
    """Return ``content_hash``; raise InvalidRecord naming a string JSON cannot encode (a lone surrogate)."""
    try:
        return content_hash(record)
    except orjson.JSONEncodeError:
        where = _unencodable(record, "") or "(whole record)"
        problem = "text JSON cannot encode (a lone surrogate)"
        raise InvalidRecord(record_name(source, trial.nct_id), where, problem) from None


def _unencodable(value: Any, path: str) -> str | None:
    """Return the path of the first key or string in a value that JSON cannot encode, or None."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return path or "(top level)"
        return None
    children = value.items() if isinstance(value, Mapping) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        where = f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key)
        found = _unencodable(key, where) if isinstance(key, str) else None
        found = found or _unencodable(child, where)
        if found:
            return found
    return None


# The registry writes the key once, in derivedSection.miscInfoModule; inside a string value its
# quotes would be escaped, so the pattern cannot match free text.
_VERSION_HOLDER = re.compile(rb'"versionHolder"\s*:\s*"[^"]*"')


def raw_hash(data: bytes) -> str:
    """Hash a record's bytes as a bulk file holds them, with the daily versionHolder blanked.

    Cheaper than ``content_hash`` (no parsing), but it depends on how the bytes are laid out:
    equal raw hashes mean equal content; different ones prove nothing.
    """
    return hashlib.sha256(_VERSION_HOLDER.sub(b'"versionHolder":""', data.strip())).hexdigest()


def record_nct_id(record: Any) -> str | None:
    """Return the NCT ID a record claims, without parsing the rest, or None."""
    if not isinstance(record, Mapping):
        return None
    protocol = record.get("protocolSection")
    ident = protocol.get("identificationModule") if isinstance(protocol, Mapping) else None
    nct_id = ident.get("nctId") if isinstance(ident, Mapping) else None
    return nct_id if isinstance(nct_id, str) and NCT_ID.match(nct_id) else None
